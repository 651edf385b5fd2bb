//! Decoded records kept beside sled's bytes, for the trees that reads go through most
//! (tickets and messages: a ticket list or a message page decodes 50 records, and
//! decoding JSON was about a third of such a request's time).
//!
//! A read that finds under a key the very bytes a kept record was decoded from takes a
//! clone of that record instead of decoding the bytes again. The bytes compared are the
//! ones the tree holds at the read, so a kept record is never stale and no write has to
//! clear one: a record written since has other bytes, and is decoded and kept anew.

use std::any::Any;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

use sled::IVec;

/// Shards of a tree's kept records (readers on different shards never wait for each
/// other).
const SHARDS: usize = 16;
/// Records a shard keeps at most: a full shard is emptied. 16 × 1,024 records of a
/// tree, about 40 MiB of tickets with their bytes.
const PER_SHARD: usize = 1024;

/// One tree's kept records.
pub(crate) struct Kept {
    shards: Vec<Mutex<HashMap<IVec, Entry>>>,
    hasher: RandomState,
}

/// A record and the bytes it was decoded from.
struct Entry {
    bytes: IVec,
    record: Box<dyn Any + Send>,
}

impl Default for Kept {
    fn default() -> Self {
        Kept {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl Kept {
    /// The record of `key` whose bytes are `bytes`: the kept one when it was decoded from
    /// these bytes, else `decode(bytes)`, kept for the next read.
    pub(crate) fn get_or_decode<T, E>(
        &self,
        key: &[u8],
        bytes: IVec,
        decode: impl FnOnce(&[u8]) -> Result<T, E>,
    ) -> Result<T, E>
    where
        T: Clone + Send + 'static,
    {
        let shard = &self.shards[self.hasher.hash_one(key) as usize % SHARDS];
        if let Some(e) = lock(shard).get(key)
            && e.bytes == bytes
            && let Some(record) = e.record.downcast_ref::<T>()
        {
            return Ok(record.clone());
        }
        let record = decode(&bytes)?;
        let mut held = lock(shard);
        if held.len() >= PER_SHARD {
            held.clear();
        }
        held.insert(
            IVec::from(key),
            Entry {
                bytes,
                record: Box::new(record.clone()),
            },
        );
        Ok(record)
    }
}

fn lock<V>(m: &Mutex<V>) -> std::sync::MutexGuard<'_, V> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_counting(calls: &mut u32) -> impl FnOnce(&[u8]) -> Result<String, ()> + '_ {
        |b| {
            *calls += 1;
            Ok(String::from_utf8_lossy(b).into_owned())
        }
    }

    #[test]
    fn the_same_bytes_are_decoded_once_and_new_bytes_again() {
        let kept = Kept::default();
        let mut calls = 0;
        let a = kept.get_or_decode(b"k", IVec::from(&b"one"[..]), decode_counting(&mut calls));
        let b = kept.get_or_decode(b"k", IVec::from(&b"one"[..]), decode_counting(&mut calls));
        assert_eq!((a, b, calls), (Ok("one".into()), Ok("one".into()), 1));
        let c = kept.get_or_decode(b"k", IVec::from(&b"two"[..]), decode_counting(&mut calls));
        assert_eq!((c, calls), (Ok("two".into()), 2));
    }

    #[test]
    fn a_failed_decode_keeps_nothing() {
        let kept = Kept::default();
        let failed: Result<String, &str> =
            kept.get_or_decode(b"k", IVec::from(&b"x"[..]), |_| Err("bad"));
        assert_eq!(failed, Err("bad"));
        let mut calls = 0;
        let _ = kept.get_or_decode(b"k", IVec::from(&b"x"[..]), decode_counting(&mut calls));
        assert_eq!(calls, 1);
    }
}
