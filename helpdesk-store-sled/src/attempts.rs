//! Counted attempts (failed logins, signups) for [`UserStore::recent_attempts`] and
//! [`UserStore::record_attempt`]: `key|at|id` in one tree, `at|id` in another so that
//! forgetting old attempts reads only what it removes.
//!
//! [`UserStore::recent_attempts`]: helpdesk_core::store::UserStore::recent_attempts
//! [`UserStore::record_attempt`]: helpdesk_core::store::UserStore::record_attempt

use chrono::{DateTime, Utc};

use helpdesk_core::store::{AttemptWindow, StoreResult};

use crate::SledStore;
use crate::keys::{Key, tree};

/// The time in an `ATTEMPTS` key: the 8 bytes after the key's prefix.
fn time_after(prefix_len: usize, key: &[u8]) -> Option<DateTime<Utc>> {
    let raw: [u8; 8] = key.get(prefix_len..prefix_len + 8)?.try_into().ok()?;
    // The inverse of `i64_sortable`.
    let micros = (u64::from_be_bytes(raw) ^ (1 << 63)) as i64;
    DateTime::from_timestamp_micros(micros)
}

impl SledStore {
    pub(crate) fn attempts_in(
        &self,
        windows: &[AttemptWindow],
    ) -> StoreResult<Vec<Vec<DateTime<Utc>>>> {
        windows
            .iter()
            .map(|w| {
                let prefix = Key::new().str(&w.key);
                let mut times = Vec::new();
                for entry in self.scan(tree::ATTEMPTS, prefix.bytes(), None, true) {
                    let (k, _) = entry?;
                    match time_after(prefix.bytes().len(), &k) {
                        Some(at) if at > w.since && times.len() < w.limit => times.push(at),
                        _ => break,
                    }
                }
                Ok(times)
            })
            .collect()
    }

    pub(crate) async fn count_attempt(
        &self,
        keys: &[String],
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> StoreResult<()> {
        let old: Vec<_> = self
            .tree(tree::ATTEMPTS_BY_TIME)
            .range(..Key::new().micros(forget_before).0)
            .collect::<Result<_, _>>()
            .map_err(crate::sled_error)?;
        let new: Vec<(Key, Key)> = keys
            .iter()
            .map(|key| {
                let id = helpdesk_core::clock::new_id();
                let by_time = Key::new().micros(at).id(id);
                (Key::new().str(key).micros(at).id(id), by_time)
            })
            .collect();
        self.write(|tx| {
            for (by_time, key) in &old {
                tx.del(tree::ATTEMPTS, key)?;
                tx.del(tree::ATTEMPTS_BY_TIME, by_time)?;
            }
            for (key, by_time) in &new {
                tx.put(tree::ATTEMPTS, key, &[][..])?;
                tx.put(tree::ATTEMPTS_BY_TIME, by_time, key.bytes())?;
            }
            Ok(())
        })
        .await
    }
}
