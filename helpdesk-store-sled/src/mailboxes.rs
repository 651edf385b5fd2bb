//! [`MailboxStore`]: mailboxes by id, their addresses (unique) in their own tree, and the
//! default mailbox's id in `meta` (read inside the writing transaction, so one at most
//! has the flag). Listing reads every mailbox: an installation has a handful. Each
//! mailbox's count of the tickets naming it (`mailbox_tickets`, kept by every ticket
//! write) makes deleting one in use fail.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use helpdesk_core::mailbox::{ImapState, Inbound, Mailbox, sort_mailboxes};
use helpdesk_core::store::{MailboxStore, StoreResult};
use helpdesk_core::{Conflict, StoreError};

use crate::keys::{TREE_NAMES, tree};
use crate::{SledStore, Tx, TxResult, abort, decode};

/// The `meta` key of the default mailbox's id.
const DEFAULT_MAILBOX: &[u8] = b"default_mailbox";

/// Writes a mailbox with its address entry, under the address rule, moving the default
/// flag to it if it has it (a new mailbox, a change, or an imported one). `old` is the
/// stored record on a change.
pub(crate) fn put_mailbox(tx: &Tx<'_>, m: &Mailbox, old: Option<&Mailbox>) -> TxResult<()> {
    if let Some(holder) = tx.get(tree::MAILBOX_ADDRESSES, m.address.as_bytes())?
        && holder.as_ref() != m.id.as_bytes()
    {
        return abort(StoreError::Conflict(Conflict::Address));
    }
    if let Some(old) = old
        && old.address != m.address
    {
        tx.del(tree::MAILBOX_ADDRESSES, old.address.as_bytes())?;
    }
    tx.put(
        tree::MAILBOX_ADDRESSES,
        m.address.as_bytes(),
        m.id.as_bytes(),
    )?;
    let default = tx.get(tree::META, DEFAULT_MAILBOX)?;
    let holds_flag = default
        .as_ref()
        .is_some_and(|d| d.as_ref() == m.id.as_bytes());
    if m.is_default && !holds_flag {
        if let Some(d) = default
            && let Ok(other) = Uuid::from_slice(&d)
            && let Some(mut o) = tx.get_json::<Mailbox>(tree::MAILBOXES, other.as_bytes())?
        {
            o.is_default = false;
            tx.put_json(tree::MAILBOXES, o.id.as_bytes(), &o)?;
        }
        tx.put(tree::META, DEFAULT_MAILBOX, m.id.as_bytes())?;
    } else if !m.is_default && holds_flag {
        tx.del(tree::META, DEFAULT_MAILBOX)?;
    }
    tx.put_json(tree::MAILBOXES, m.id.as_bytes(), m)
}

#[async_trait]
impl MailboxStore for SledStore {
    async fn insert_mailbox(&self, m: &Mailbox) -> StoreResult<()> {
        self.write(|tx| {
            if tx.exists(tree::MAILBOXES, m.id.as_bytes())? {
                return abort(StoreError::Conflict(Conflict::Unique));
            }
            put_mailbox(tx, m, None)
        })
        .await
    }

    async fn update_mailbox(&self, m: &Mailbox) -> StoreResult<()> {
        self.write(|tx| {
            let Some(old) = tx.get_json::<Mailbox>(tree::MAILBOXES, m.id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            let mut next = m.clone();
            if let (Inbound::Imap(was), Inbound::Imap(new)) = (&old.inbound, &mut next.inbound)
                && was.same_folder(new)
            {
                new.state = was.state.clone();
            }
            put_mailbox(tx, &next, Some(&old))
        })
        .await
    }

    async fn delete_mailbox(&self, id: Uuid) -> StoreResult<bool> {
        self.write(|tx| {
            if tx.get_u64(tree::MAILBOX_TICKETS, id.as_bytes())? > 0 {
                return abort(StoreError::Conflict(Conflict::InUse));
            }
            let Some(old) = tx.get_json::<Mailbox>(tree::MAILBOXES, id.as_bytes())? else {
                return Ok(false);
            };
            tx.del(tree::MAILBOXES, id.as_bytes())?;
            tx.del(tree::MAILBOX_LEASES, id.as_bytes())?;
            tx.del(tree::MAILBOX_ADDRESSES, old.address.as_bytes())?;
            if old.is_default {
                tx.del(tree::META, DEFAULT_MAILBOX)?;
            }
            Ok(true)
        })
        .await
    }

    async fn get_mailbox(&self, id: Uuid) -> StoreResult<Option<Mailbox>> {
        self.get_json(tree::MAILBOXES, id.as_bytes())
    }

    async fn get_mailbox_by_address(&self, address: &str) -> StoreResult<Option<Mailbox>> {
        let Some(id) = self
            .tree(tree::MAILBOX_ADDRESSES)
            .get(address.as_bytes())
            .map_err(crate::sled_error)?
        else {
            return Ok(None);
        };
        self.get_json(tree::MAILBOXES, &id)
    }

    async fn list_mailboxes(&self) -> StoreResult<Vec<Mailbox>> {
        let mut all = Vec::new();
        for entry in self.scan(tree::MAILBOXES, &[], None, false) {
            let (_, value) = entry?;
            all.push(decode(&value, TREE_NAMES[tree::MAILBOXES])?);
        }
        sort_mailboxes(&mut all);
        Ok(all)
    }

    async fn set_mailbox_imap_state(&self, id: Uuid, state: &ImapState) -> StoreResult<bool> {
        self.write(|tx| {
            let Some(mut m) = tx.get_json::<Mailbox>(tree::MAILBOXES, id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            let Inbound::Imap(imap) = &mut m.inbound else {
                return Ok(false);
            };
            imap.state = state.clone();
            tx.put_json(tree::MAILBOXES, id.as_bytes(), &m)?;
            Ok(true)
        })
        .await
    }

    async fn lease_mailbox(
        &self,
        id: Uuid,
        holder: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.write(|tx| {
            if !tx.exists(tree::MAILBOXES, id.as_bytes())? {
                return abort(StoreError::NotFound);
            }
            let free = match tx.get(tree::MAILBOX_LEASES, id.as_bytes())? {
                Some(lease) => {
                    let (held_by, held_until) = decode_lease(&lease);
                    held_by == Some(holder) || held_until <= now.timestamp_micros()
                }
                None => true,
            };
            if free {
                let mut lease = holder.as_bytes().to_vec();
                lease.extend_from_slice(&until.timestamp_micros().to_be_bytes());
                tx.put(tree::MAILBOX_LEASES, id.as_bytes(), lease)?;
            }
            Ok(free)
        })
        .await
    }
}

/// A stored lease's holder and end (Unix µs); an unreadable one counts as ended.
fn decode_lease(bytes: &[u8]) -> (Option<Uuid>, i64) {
    match (bytes.get(..16), bytes.get(16..24)) {
        (Some(holder), Some(until)) => (
            Uuid::from_slice(holder).ok(),
            i64::from_be_bytes(until.try_into().unwrap_or_default()),
        ),
        _ => (None, i64::MIN),
    }
}
