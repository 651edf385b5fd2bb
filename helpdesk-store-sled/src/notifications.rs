//! [`NotificationStore`]: notifications with per-user indexes (all, unread; newest first
//! by reverse scans) and an unread counter per user.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use helpdesk_core::Cursor;
use helpdesk_core::notification::Notification;
use helpdesk_core::store::{NotificationStore, StoreResult};

use crate::keys::{Key, trailing_id, tree};
use crate::{SledStore, Tx, TxResult};

const ALL: u8 = b'a';
const UNREAD: u8 = b'u';

fn unread_counter(user: Uuid) -> Key {
    Key::new().raw(b"unread:").id(user)
}

fn idx_key(dim: u8, n: &Notification) -> Key {
    Key::new()
        .tag(dim)
        .id(n.user_id)
        .micros(n.created_at)
        .id(n.id)
}

fn remove_index(tx: &Tx<'_>, n: &Notification) -> TxResult<()> {
    tx.del(tree::NOTIF_IDX, idx_key(ALL, n))?;
    if n.read_at.is_none() {
        tx.del(tree::NOTIF_IDX, idx_key(UNREAD, n))?;
        let c = tx.get_u64(tree::META, unread_counter(n.user_id))?;
        tx.put_u64(tree::META, unread_counter(n.user_id), c.saturating_sub(1))?;
    }
    Ok(())
}

/// Inserts or replaces a notification with its index entries and unread counter.
pub(crate) fn put_notification(tx: &Tx<'_>, n: &Notification) -> TxResult<()> {
    if let Some(old) = tx.get_json::<Notification>(tree::NOTIFS, n.id.as_bytes())? {
        remove_index(tx, &old)?;
    }
    tx.put_json(tree::NOTIFS, n.id.as_bytes(), n)?;
    tx.put(tree::NOTIF_IDX, idx_key(ALL, n), &[][..])?;
    if n.read_at.is_none() {
        tx.put(tree::NOTIF_IDX, idx_key(UNREAD, n), &[][..])?;
        let c = tx.get_u64(tree::META, unread_counter(n.user_id))?;
        tx.put_u64(tree::META, unread_counter(n.user_id), c + 1)?;
    }
    Ok(())
}

/// Marks a stored notification read at `at` unless it is; returns it as stored after.
fn mark_read(
    tx: &Tx<'_>,
    mut n: Notification,
    at: DateTime<Utc>,
) -> TxResult<(Notification, bool)> {
    if n.read_at.is_some() {
        return Ok((n, false));
    }
    n.read_at = Some(at);
    put_notification(tx, &n)?;
    Ok((n, true))
}

#[async_trait]
impl NotificationStore for SledStore {
    async fn list_notifications(
        &self,
        user_id: Uuid,
        unread_only: bool,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<Notification>> {
        let prefix = Key::new()
            .tag(if unread_only { UNREAD } else { ALL })
            .id(user_id);
        let after = cursor.map(|c| prefix.clone().i64(c.key).id(c.id));
        self.records_by_index(
            self.scan(
                tree::NOTIF_IDX,
                prefix.bytes(),
                after.as_ref().map(Key::bytes),
                true,
            ),
            tree::NOTIFS,
            limit.saturating_add(1),
            |k, _| trailing_id(k),
            // Skip an entry moved by a concurrent write.
            |k, n: &Notification| {
                n.user_id == user_id
                    && !(unread_only && n.read_at.is_some())
                    && idx_key(0, n).0[1..] == k[1..]
            },
        )
    }

    async fn unread_notifications(&self, user_id: Uuid) -> StoreResult<u64> {
        self.meta_u64(unread_counter(user_id))
    }

    async fn mark_notification_read(
        &self,
        user_id: Uuid,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Notification>> {
        let (n, changed) = self.transact(|tx| {
            match tx.get_json::<Notification>(tree::NOTIFS, id.as_bytes())? {
                Some(n) if n.user_id == user_id => {
                    mark_read(tx, n, at).map(|(n, changed)| (Some(n), changed))
                }
                _ => Ok((None, false)),
            }
        })?;
        if changed {
            self.flush().await?;
        }
        Ok(n)
    }

    async fn mark_all_notifications_read(
        &self,
        user_id: Uuid,
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let prefix = Key::new().tag(UNREAD).id(user_id);
        let ids: Vec<Uuid> = self
            .keys_with_prefix(tree::NOTIF_IDX, prefix.bytes())?
            .iter()
            .filter_map(|k| trailing_id(k))
            .collect();
        if ids.is_empty() {
            return Ok(0);
        }
        self.write(|tx| {
            let mut changed = 0;
            for id in &ids {
                if let Some(n) = tx.get_json::<Notification>(tree::NOTIFS, id.as_bytes())?
                    && n.user_id == user_id
                    && mark_read(tx, n, at)?.1
                {
                    changed += 1;
                }
            }
            Ok(changed)
        })
        .await
    }

    async fn prune_read_notifications(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        // No index by read time: every notification is read once.
        let mut old = Vec::new();
        for entry in self.scan(tree::NOTIFS, &[], None, false) {
            let (_, value) = entry?;
            let n: Notification = crate::decode(&value, "notifications")?;
            if n.read_at.is_some_and(|read| read < before) {
                old.push(n);
            }
        }
        for batch in old.chunks(crate::keys::PRUNE_BATCH) {
            self.write(|tx| {
                for n in batch {
                    remove_index(tx, n)?;
                    tx.del(tree::NOTIFS, n.id.as_bytes())?;
                }
                Ok(())
            })
            .await?;
        }
        Ok(old.len() as u64)
    }
}
