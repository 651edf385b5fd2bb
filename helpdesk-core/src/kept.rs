//! Decoded records kept by a store beside a witness of the stored record they were
//! decoded from, for the records that reads go through most (tickets and messages: a
//! ticket list or a message page decodes 50 records, and decoding was the largest part
//! of such a request's time).
//!
//! A read hands in the witness the store holds at the read: sled the record's bytes,
//! PostgreSQL the row version's `xmin`. When a kept record's witness is that one, the
//! read takes a clone of the record instead of decoding again. A write gives the stored
//! record another witness, so a kept record is never stale and no write has to clear one.

use std::any::Any;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::{Mutex, MutexGuard};

/// Shards of the kept records (readers on different shards never wait for each other).
const SHARDS: usize = 16;
/// Records a shard keeps at most: a full shard is emptied. 16 × 1,024 records, about
/// 40 MiB of tickets.
const PER_SHARD: usize = 1024;

/// Decoded records by key `K`, each with the witness `W` of the stored record it was
/// decoded from. Records of any `Clone` type may be kept; a read under another type
/// finds none.
pub struct Kept<K, W> {
    shards: Vec<Mutex<HashMap<K, Entry<W>>>>,
    hasher: RandomState,
}

struct Entry<W> {
    witness: W,
    record: Box<dyn Any + Send>,
}

impl<K, W> Default for Kept<K, W> {
    fn default() -> Self {
        Kept {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl<K, W> std::fmt::Debug for Kept<K, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kept").finish_non_exhaustive()
    }
}

impl<K: Hash + Eq, W: PartialEq> Kept<K, W> {
    /// A clone of the record kept under `key`, if it was decoded from the stored record
    /// whose witness is `witness`.
    pub fn get<Q, T>(&self, key: &Q, witness: &W) -> Option<T>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        T: Clone + 'static,
    {
        let shard = lock(self.shard(key));
        let entry = shard.get(key).filter(|e| e.witness == *witness)?;
        entry.record.downcast_ref::<T>().cloned()
    }

    /// Keeps `record`, decoded from the stored record whose witness is `witness`, under
    /// `key` (in place of any record kept there).
    pub fn keep<T: Send + 'static>(&self, key: K, witness: W, record: T) {
        let mut shard = lock(self.shard(&key));
        if shard.len() >= PER_SHARD {
            shard.clear();
        }
        let record = Box::new(record);
        shard.insert(key, Entry { witness, record });
    }

    fn shard<Q: Hash + ?Sized>(&self, key: &Q) -> &Mutex<HashMap<K, Entry<W>>> {
        &self.shards[self.hasher.hash_one(key) as usize % SHARDS]
    }
}

fn lock<V>(m: &Mutex<V>) -> MutexGuard<'_, V> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_found_under_its_witness_only() {
        let kept: Kept<Vec<u8>, Vec<u8>> = Kept::default();
        kept.keep(b"k".to_vec(), b"one".to_vec(), String::from("one"));
        assert_eq!(
            kept.get(&b"k"[..], &b"one".to_vec()),
            Some(String::from("one"))
        );
        assert_eq!(kept.get::<_, String>(&b"k"[..], &b"two".to_vec()), None);
        kept.keep(b"k".to_vec(), b"two".to_vec(), String::from("two"));
        assert_eq!(kept.get::<_, String>(&b"k"[..], &b"one".to_vec()), None);
        assert_eq!(
            kept.get(&b"k"[..], &b"two".to_vec()),
            Some(String::from("two"))
        );
    }

    #[test]
    fn a_record_kept_as_one_type_is_not_read_as_another() {
        let kept: Kept<u32, i64> = Kept::default();
        kept.keep(1, 7, String::from("seven"));
        assert_eq!(kept.get::<_, String>(&1, &7), Some("seven".into()));
        assert_eq!(kept.get::<_, Vec<u8>>(&1, &7), None);
    }

    #[test]
    fn a_full_shard_is_emptied_and_keeps_the_new_record() {
        let kept: Kept<u32, ()> = Kept::default();
        for n in 0..(SHARDS * PER_SHARD * 2) as u32 {
            kept.keep(n, (), n);
        }
        let held: usize = kept.shards.iter().map(|s| lock(s).len()).sum();
        assert!(held <= SHARDS * PER_SHARD, "{held} records kept");
        let last = (SHARDS * PER_SHARD * 2 - 1) as u32;
        assert_eq!(kept.get(&last, &()), Some(last));
    }
}
