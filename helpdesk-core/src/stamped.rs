//! Copies an instance keeps of what a store stamp covers
//! ([`crate::store::SchemaStore::schema_stamp`], [`crate::store::KbStore::kb_stamp`]):
//! an entry answers only while the stamp it was read at is the store's.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Entries read at one stamp, at most `capacity` of them.
#[derive(Debug)]
pub(crate) struct Stamped<K, V> {
    held: Mutex<Held<K, V>>,
    capacity: usize,
}

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
        }
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
}
