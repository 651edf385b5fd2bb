//! Group commit: writers wait until their transaction is on disk, and writers that
//! arrive while a flush is running share the next one instead of each paying for an
//! fsync.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use helpdesk_core::StoreError;
use helpdesk_core::store::StoreResult;

/// Coalesces `flush_async` calls of many writers.
///
/// Flushes are numbered. A writer that committed wants the first flush that *starts*
/// after its commit (number `started + 1` at the time it asks). If no flush is running it
/// starts one; otherwise it waits for the running one to end and then starts (or joins)
/// the next. The flush runs in its own task, so a writer whose future is dropped cannot
/// leave the others waiting.
pub struct Flusher {
    db: sled::Db,
    state: Mutex<State>,
    done: Notify,
}

#[derive(Default)]
struct State {
    /// Number of the last flush started.
    started: u64,
    /// Number of the last flush finished.
    finished: u64,
    /// A flush is running.
    running: bool,
    /// The last failed flush and its error.
    failed: Option<(u64, String)>,
}

impl Flusher {
    /// A flusher for `db`.
    pub fn new(db: sled::Db) -> Self {
        Flusher {
            db,
            state: Mutex::new(State::default()),
            done: Notify::new(),
        }
    }

    fn state(&self) -> StoreResult<std::sync::MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| StoreError::Corrupt("flusher state lock poisoned".into()))
    }

    /// Returns once everything committed before the call is on disk.
    pub async fn flush(self: &Arc<Self>) -> StoreResult<()> {
        let target = self.state()?.started + 1;
        loop {
            let mut notified = std::pin::pin!(self.done.notified());
            notified.as_mut().enable();
            {
                let mut s = self.state()?;
                if s.finished >= target {
                    return match &s.failed {
                        Some((flush, msg)) if *flush >= target => Err(StoreError::unavailable(
                            format!("flushing the sled database failed: {msg}"),
                        )),
                        _ => Ok(()),
                    };
                }
                if !s.running {
                    s.running = true;
                    s.started += 1;
                    let number = s.started;
                    let me = Arc::clone(self);
                    tokio::spawn(async move {
                        let result = me.db.flush_async().await;
                        if let Ok(mut s) = me.state.lock() {
                            s.running = false;
                            s.finished = number;
                            if let Err(e) = result {
                                s.failed = Some((number, e.to_string()));
                            }
                        }
                        me.done.notify_waiters();
                    });
                }
            }
            notified.await;
        }
    }
}
