//! [`CannedReplyStore`]: canned replies by id, a unique index of shortcuts (which is
//! also the list order), and counters kept inside the writing transaction: the replies
//! of each limit (`canned_counts`) and the group replies of each group
//! (`group_canned_replies`, which deleting a group checks).

use async_trait::async_trait;
use uuid::Uuid;

use helpdesk_core::canned_reply::{CannedReply, CannedReplyQuery};
use helpdesk_core::ownership::{Bucket, Scoped};
use helpdesk_core::store::{CannedReplyStore, StoreResult};
use helpdesk_core::{Conflict, StoreError};

use crate::keys::{Key, prefix_end, tree};
use crate::{SledStore, Tx, TxResult, abort};

/// The counter key of a limit (of canned replies or views).
pub(crate) fn limit_key(limit: Bucket) -> Key {
    match limit {
        Bucket::Global => Key::new().tag(b'g'),
        Bucket::Owner(owner) => Key::new().tag(b'o').id(owner.unwrap_or_default()),
    }
}

/// Adds `by` (1 or -1) to a counter, removing it at zero.
pub(crate) fn count(tx: &Tx<'_>, t: usize, key: &[u8], by: i64) -> TxResult<()> {
    let n = tx.get_u64(t, key)?.saturating_add_signed(by);
    if n == 0 {
        tx.del(t, key)
    } else {
        tx.put_u64(t, key, n)
    }
}

/// How many replies of the group `group_id` holds (the delete check of a group).
pub(crate) fn group_replies(tx: &Tx<'_>, group_id: Uuid) -> TxResult<u64> {
    tx.get_u64(tree::GROUP_CANNED, group_id.as_bytes())
}

/// Writes a new canned reply with its shortcut entry and counters (a new reply, or an
/// imported one). Its shortcut must be free.
pub(crate) fn put_new(tx: &Tx<'_>, r: &CannedReply) -> TxResult<()> {
    tx.put_json(tree::CANNED, r.id.as_bytes(), r)?;
    tx.put(
        tree::CANNED_SHORTCUTS,
        r.shortcut.as_bytes(),
        r.id.as_bytes(),
    )?;
    count(tx, tree::CANNED_COUNTS, limit_key(r.bucket()).bytes(), 1)?;
    if let Some(g) = r.group_id {
        count(tx, tree::GROUP_CANNED, g.as_bytes(), 1)?;
    }
    Ok(())
}

/// Whether another reply than `id` has the shortcut.
fn shortcut_taken(tx: &Tx<'_>, shortcut: &str, id: Uuid) -> TxResult<bool> {
    Ok(tx
        .get(tree::CANNED_SHORTCUTS, shortcut.as_bytes())?
        .is_some_and(|owner| owner.as_ref() != id.as_bytes()))
}

#[async_trait]
impl CannedReplyStore for SledStore {
    async fn insert_canned_reply(&self, r: &CannedReply, limit: usize) -> StoreResult<bool> {
        self.write(|tx| {
            if let Some(g) = r.group_id
                && !tx.exists(tree::GROUPS, g.as_bytes())?
            {
                return abort(StoreError::NotFound);
            }
            if tx.exists(tree::CANNED, r.id.as_bytes())? {
                return abort(StoreError::Conflict(Conflict::Unique));
            }
            if shortcut_taken(tx, &r.shortcut, r.id)? {
                return abort(StoreError::Conflict(Conflict::Shortcut));
            }
            let held = tx.get_u64(tree::CANNED_COUNTS, limit_key(r.bucket()).bytes())?;
            if usize::try_from(held).unwrap_or(usize::MAX) >= limit {
                return Ok(false);
            }
            put_new(tx, r)?;
            Ok(true)
        })
        .await
    }

    async fn update_canned_reply(&self, r: &CannedReply) -> StoreResult<()> {
        self.write(|tx| {
            let Some(old) = tx.get_json::<CannedReply>(tree::CANNED, r.id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            if shortcut_taken(tx, &r.shortcut, r.id)? {
                return abort(StoreError::Conflict(Conflict::Shortcut));
            }
            let new = CannedReply {
                title: r.title.clone(),
                shortcut: r.shortcut.clone(),
                body: r.body.clone(),
                updated_at: r.updated_at,
                ..old.clone()
            };
            if old.shortcut != new.shortcut {
                tx.del(tree::CANNED_SHORTCUTS, old.shortcut.as_bytes())?;
                tx.put(
                    tree::CANNED_SHORTCUTS,
                    new.shortcut.as_bytes(),
                    new.id.as_bytes(),
                )?;
            }
            tx.put_json(tree::CANNED, new.id.as_bytes(), &new)
        })
        .await
    }

    async fn delete_canned_reply(&self, id: Uuid) -> StoreResult<bool> {
        self.write(|tx| {
            let Some(r) = tx.get_json::<CannedReply>(tree::CANNED, id.as_bytes())? else {
                return Ok(false);
            };
            tx.del(tree::CANNED, id.as_bytes())?;
            tx.del(tree::CANNED_SHORTCUTS, r.shortcut.as_bytes())?;
            count(tx, tree::CANNED_COUNTS, limit_key(r.bucket()).bytes(), -1)?;
            if let Some(g) = r.group_id {
                count(tx, tree::GROUP_CANNED, g.as_bytes(), -1)?;
            }
            Ok(true)
        })
        .await
    }

    async fn get_canned_reply(&self, id: Uuid) -> StoreResult<Option<CannedReply>> {
        self.get_json(tree::CANNED, id.as_bytes())
    }

    async fn list_canned_replies(&self, q: &CannedReplyQuery) -> StoreResult<Vec<CannedReply>> {
        // Shortcuts are unique: the entry of the cursor's shortcut may be another reply
        // now (renamed), which comes after it by id or not, so the scan starts at it.
        let prefix = q.shortcut_prefix.as_deref().unwrap_or("").as_bytes();
        let start = match &q.cursor {
            Some(c) if c.key.as_bytes() > prefix => c.key.as_bytes(),
            _ => prefix,
        };
        let tree = self.tree(tree::CANNED_SHORTCUTS);
        let entries = match prefix_end(prefix) {
            // A cursor past every shortcut with the prefix: nothing is left.
            Some(end) if start >= end.as_slice() => return Ok(Vec::new()),
            Some(end) => tree.range(start.to_vec()..end),
            None => tree.range(start.to_vec()..),
        }
        .map(|r| r.map_err(crate::sled_error));
        self.records_by_index(
            entries,
            tree::CANNED,
            q.limit.saturating_add(1),
            |_, v| Some(v.clone()),
            |k, r: &CannedReply| r.shortcut.as_bytes() == k && q.matches(r) && q.after_cursor(r),
        )
    }
}
