//! Copies an instance keeps of what a store stamp covers
//! ([`crate::store::SchemaStore::schema_stamp`], [`crate::store::KbStore::kb_stamp`]):
//! an entry answers only while the stamp it was read at is the store's.
//!
//! Nearly every request asks for the stamp, so the callers who ask while a read of it
//! runs share the next read ([`Stamped::stamp`]): each still gets a stamp read after it
//! asked, as if it had read alone. A copy made [`Stamped::trusting`] a window answers
//! with the stamp it read last for that long instead: a change made through another
//! instance shows here within the window, one made through this instance at once
//! ([`Stamped::forget`]).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

/// Entries read at one stamp, at most `capacity` of them.
#[derive(Debug)]
pub(crate) struct Stamped<K, V> {
    held: Mutex<Held<K, V>>,
    capacity: usize,
    /// Held by the stamp read running.
    reading: tokio::sync::Mutex<()>,
    /// The callers waiting for the next stamp read, until it begins.
    next: Mutex<Option<Arc<Batch>>>,
    /// How long a stamp read is answered without reading again (zero: never).
    window: Duration,
    /// The last stamp read, and when that read began.
    trusted: Mutex<Option<(u64, Instant)>>,
    /// Moved by [`Stamped::forget`]: a read that began before is not trusted.
    generation: AtomicU64,
}

/// The answer of one stamp read, shared by the callers who asked before it began; `None`
/// when it failed (each then reads alone, for an error of its own).
type Batch = OnceCell<Option<u64>>;

#[derive(Debug)]
struct Held<K, V> {
    stamp: u64,
    entries: HashMap<K, V>,
}

impl<K: Eq + Hash, V: Clone> Stamped<K, V> {
    /// An empty copy of at most `capacity` entries (a full one is emptied).
    pub fn new(capacity: usize) -> Self {
        Stamped {
            held: Mutex::new(Held {
                stamp: 0,
                entries: HashMap::new(),
            }),
            capacity,
            reading: tokio::sync::Mutex::new(()),
            next: Mutex::new(None),
            window: Duration::ZERO,
            trusted: Mutex::new(None),
            generation: AtomicU64::new(0),
        }
    }

    /// The same copy answering with the stamp it read last for `window` after that read
    /// began, without reading it again.
    pub fn trusting(self, window: Duration) -> Self {
        Stamped { window, ..self }
    }

    /// Makes the next caller read the stamp: after a write through this instance that
    /// moves it, so that the write is seen here at once.
    pub fn forget(&self) {
        let mut trusted = self.trusted.lock().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        *trusted = None;
    }

    /// The store's stamp, as `read` gives it, read after this call began (or, for a copy
    /// [`Stamped::trusting`] a window, within the window before it): one read at a
    /// time, shared by every caller who asked while the one before it ran.
    pub async fn stamp<E, F, Fut>(&self, read: F) -> Result<u64, E>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<u64, E>>,
    {
        if let Some(stamp) = self.trusted() {
            return Ok(stamp);
        }
        let read = || self.read_and_trust(&read);
        // No read running: this caller reads, and those who come meanwhile wait for it.
        if let Ok(_reading) = self.reading.try_lock() {
            return read().await;
        }
        let batch = self
            .next_batch()
            .get_or_insert_with(Default::default)
            .clone();
        let shared = batch
            .get_or_init(|| async {
                let _reading = self.reading.lock().await;
                // Closed: whoever asks from now on asked after this read began.
                {
                    let mut next = self.next_batch();
                    if next.as_ref().is_some_and(|b| Arc::ptr_eq(b, &batch)) {
                        *next = None;
                    }
                }
                read().await.ok()
            })
            .await;
        match shared {
            Some(stamp) => Ok(*stamp),
            None => read().await,
        }
    }

    /// The last stamp read, while the window since that read began lasts.
    fn trusted(&self) -> Option<u64> {
        if self.window.is_zero() {
            return None;
        }
        let trusted = self.trusted.lock().unwrap_or_else(|e| e.into_inner());
        trusted
            .filter(|(_, at)| at.elapsed() < self.window)
            .map(|(stamp, _)| stamp)
    }

    /// Reads the stamp and, unless [`Stamped::forget`] came meanwhile, trusts it.
    async fn read_and_trust<E, F, Fut>(&self, read: &F) -> Result<u64, E>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<u64, E>>,
    {
        if self.window.is_zero() {
            return read().await;
        }
        let (generation, began) = (self.generation.load(Ordering::Acquire), Instant::now());
        let stamp = read().await?;
        let mut trusted = self.trusted.lock().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::Acquire) == generation {
            *trusted = Some((stamp, began));
        }
        Ok(stamp)
    }

    /// The entry for `k`, if it was read at `stamp`.
    pub fn get(&self, stamp: u64, k: &K) -> Option<V> {
        let held = self.lock();
        match held.stamp == stamp {
            true => held.entries.get(k).cloned(),
            false => None,
        }
    }

    /// Keeps `v`, read after the stamp was `stamp`. A later stamp replaces every entry;
    /// an earlier one (a reader that raced a write) is not kept.
    pub fn put(&self, stamp: u64, k: K, v: V) {
        let mut held = self.lock();
        if stamp < held.stamp {
            return;
        }
        if stamp > held.stamp || held.entries.len() >= self.capacity {
            held.stamp = stamp;
            held.entries.clear();
        }
        held.entries.insert(k, v);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held<K, V>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn next_batch(&self) -> std::sync::MutexGuard<'_, Option<Arc<Batch>>> {
        self.next.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    use tokio::sync::Semaphore;

    use super::Stamped;

    /// A stamp in a "store": a read takes the stamp when it begins, then waits at `gate`.
    struct Store {
        stamp: AtomicU64,
        reads: AtomicUsize,
        gate: Semaphore,
    }

    impl Store {
        async fn read(&self) -> Result<u64, ()> {
            let stamp = self.stamp.load(Ordering::SeqCst);
            self.reads.fetch_add(1, Ordering::SeqCst);
            let _ = self.gate.acquire().await.map_err(|_| ())?;
            Ok(stamp)
        }
    }

    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn callers_during_a_read_share_the_next_one_and_see_what_came_before_them() {
        let kept = Arc::new(Stamped::<(), ()>::new(1));
        let store = Arc::new(Store {
            stamp: AtomicU64::new(1),
            reads: AtomicUsize::new(0),
            gate: Semaphore::new(0),
        });
        let ask = || {
            let (kept, store) = (kept.clone(), store.clone());
            tokio::spawn(async move { kept.stamp(|| store.read()).await })
        };
        let first = ask();
        settle().await;
        assert_eq!(store.reads.load(Ordering::SeqCst), 1);
        // A write lands while the first read runs; then three more callers ask.
        store.stamp.store(2, Ordering::SeqCst);
        let later: Vec<_> = (0..3).map(|_| ask()).collect();
        settle().await;
        assert_eq!(
            store.reads.load(Ordering::SeqCst),
            1,
            "they wait for it to end"
        );
        store.gate.add_permits(100);
        assert_eq!(first.await.unwrap(), Ok(1));
        for l in later {
            assert_eq!(l.await.unwrap(), Ok(2), "read after they asked");
        }
        assert_eq!(
            store.reads.load(Ordering::SeqCst),
            2,
            "one read for the three"
        );
        assert_eq!(kept.stamp(|| store.read()).await, Ok(2));
        assert_eq!(
            store.reads.load(Ordering::SeqCst),
            3,
            "a caller alone reads"
        );
    }

    #[tokio::test]
    async fn a_failed_shared_read_lets_each_caller_read_alone() {
        let kept = Arc::new(Stamped::<(), ()>::new(1));
        let (calls, gate) = (Arc::new(AtomicUsize::new(0)), Arc::new(Semaphore::new(0)));
        let ask = || {
            let (kept, calls, gate) = (kept.clone(), calls.clone(), gate.clone());
            tokio::spawn(async move {
                let read = || async {
                    match calls.fetch_add(1, Ordering::SeqCst) {
                        0 => gate.acquire().await.map(|_| 1).map_err(|_| "closed"),
                        1 => Err("unreachable store"),
                        _ => Ok(7),
                    }
                };
                kept.stamp(read).await
            })
        };
        let first = ask();
        settle().await;
        let waiting: Vec<_> = (0..2).map(|_| ask()).collect();
        settle().await;
        gate.add_permits(1);
        assert_eq!(first.await.unwrap(), Ok(1));
        for w in waiting {
            assert_eq!(w.await.unwrap(), Ok(7));
        }
        // The first read, the shared one that failed, one more read each.
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_trusting_copy_reads_once_per_window_and_again_after_a_forget() {
        let kept = Arc::new(Stamped::<(), ()>::new(1).trusting(std::time::Duration::from_secs(60)));
        let store = Arc::new(Store {
            stamp: AtomicU64::new(1),
            reads: AtomicUsize::new(0),
            gate: Semaphore::new(1000),
        });
        let reads = || store.reads.load(Ordering::SeqCst);
        assert_eq!(kept.stamp(|| store.read()).await, Ok(1));
        store.stamp.store(2, Ordering::SeqCst);
        assert_eq!(
            kept.stamp(|| store.read()).await,
            Ok(1),
            "within the window"
        );
        assert_eq!(reads(), 1);
        kept.forget();
        assert_eq!(
            kept.stamp(|| store.read()).await,
            Ok(2),
            "read after a forget"
        );
        assert_eq!(reads(), 2);

        // A read that began before a forget answers its caller but is not trusted.
        let gated = Arc::new(Store {
            stamp: AtomicU64::new(3),
            reads: AtomicUsize::new(0),
            gate: Semaphore::new(0),
        });
        kept.forget();
        let racing = {
            let (kept, gated) = (kept.clone(), gated.clone());
            tokio::spawn(async move { kept.stamp(|| gated.read()).await })
        };
        settle().await;
        kept.forget();
        gated.gate.add_permits(1);
        assert_eq!(racing.await.unwrap(), Ok(3));
        store.stamp.store(4, Ordering::SeqCst);
        assert_eq!(
            kept.stamp(|| store.read()).await,
            Ok(4),
            "the raced read was not kept"
        );
    }
}
