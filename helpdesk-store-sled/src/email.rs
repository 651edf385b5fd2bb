//! [`EmailStore`]: inbound records and outbound mail by id with their bytes in trees of
//! their own (lists never load mail bodies), and the index entries that lists, the
//! dedupe rule, the Message-ID index, the per-ticket newest mail, the outbox's due
//! queue and the auto-reply count read. Everything is written inside the transaction of
//! the operation that makes it ([`write_mail`], called by
//! [`crate::effects::write_effects`]); a mail its mailbox has already aborts that
//! transaction with `Conflict::Duplicate`, so nothing of the operation is written.
//!
//! Index entries are read with range scans outside transactions; reads through them
//! re-check the record they reach (an entry an update moved meanwhile is skipped).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use helpdesk_core::email::{
    InboundRecord, InboundResult, MailEffects, MailRef, OutboundKind, OutboundMail, OutboundQuery,
    OutboundStatus, Suppression, TicketMail,
};
use helpdesk_core::event::Effects;
use helpdesk_core::page::Cursor;
use helpdesk_core::store::{EmailStore, StoreResult};
use helpdesk_core::{Conflict, StoreError};

use crate::effects::write_effects;
use crate::keys::{Key, TREE_NAMES, prefix_end, trailing_id, tree};
use crate::{SledStore, Tx, TxResult, abort, decode, sled_error};

/// Tags of the index entries.
const LIST: u8 = b'l';
const TICKET: u8 = b't';
const AUTO: u8 = b'a';
/// Directions in the Message-ID index: inbound sorts first.
const IN: u8 = 0;
const OUT: u8 = 1;

/// The dedupe entry of a mail in a mailbox: `mailbox|key`.
fn dedupe_entry(mailbox_id: Uuid, key: &str) -> Key {
    Key::new().id(mailbox_id).str(key)
}

/// The prefix of a Message-ID's entries.
fn message_id_prefix(internet_message_id: &str) -> Key {
    Key::new().str(&internet_message_id.to_ascii_lowercase())
}

/// An inbound record's entry in its mailbox's list.
fn inbound_list_key(r: &InboundRecord) -> Key {
    Key::new()
        .tag(LIST)
        .id(r.mailbox_id)
        .micros(r.received_at)
        .id(r.id)
}

/// An inbound record's entry among its ticket's mail (with a Message-ID only).
fn inbound_ticket_key(r: &InboundRecord) -> Option<Key> {
    match (r.ticket_id, &r.internet_message_id) {
        (Some(t), Some(_)) => Some(Key::new().tag(TICKET).id(t).micros(r.received_at).id(r.id)),
        _ => None,
    }
}

/// Writes an inbound record with its bytes and index entries: `Conflict::Duplicate`
/// (aborting the transaction) if its mailbox has a record with its dedupe key.
pub(crate) fn put_inbound(tx: &Tx<'_>, r: &InboundRecord, raw: &[u8]) -> TxResult<()> {
    let dk = dedupe_entry(r.mailbox_id, &r.dedupe_key);
    if tx.exists(tree::INBOUND_KEYS, &dk)? {
        return abort(StoreError::Conflict(Conflict::Duplicate));
    }
    tx.put(tree::INBOUND_KEYS, dk, r.id.as_bytes())?;
    tx.put_json(tree::INBOUND, r.id.as_bytes(), r)?;
    tx.put(tree::INBOUND_RAW, r.id.as_bytes(), raw)?;
    tx.put(tree::INBOUND_IDX, inbound_list_key(r), &[][..])?;
    if let Some(k) = inbound_ticket_key(r) {
        tx.put(tree::INBOUND_IDX, k, &[][..])?;
    }
    if let Some(mid) = &r.internet_message_id {
        let k = message_id_prefix(mid)
            .tag(IN)
            .micros(r.received_at)
            .id(r.id);
        tx.put(tree::MAIL_IDS, k, &[][..])?;
    }
    Ok(())
}

/// An outbound mail's index entries: `(tree, key)`.
fn outbound_keys(m: &OutboundMail) -> Vec<(usize, Key)> {
    let mut keys = vec![
        (
            tree::OUTBOUND_IDX,
            Key::new()
                .tag(LIST)
                .id(m.mailbox_id)
                .micros(m.created_at)
                .id(m.id),
        ),
        (
            tree::MAIL_IDS,
            message_id_prefix(&m.internet_message_id)
                .tag(OUT)
                .micros(m.created_at)
                .id(m.id),
        ),
    ];
    if let Some(t) = m.ticket_id {
        keys.push((
            tree::OUTBOUND_IDX,
            Key::new().tag(TICKET).id(t).micros(m.created_at).id(m.id),
        ));
    }
    if m.kind == OutboundKind::AutoReply {
        for to in &m.to {
            keys.push((
                tree::OUTBOUND_IDX,
                auto_prefix(to).micros(m.created_at).id(m.id),
            ));
        }
    }
    if let Some(k) = due_key(m) {
        keys.push((tree::OUTBOUND_DUE, k));
    }
    keys
}

/// The prefix of the auto-replies to an address.
fn auto_prefix(address: &str) -> Key {
    Key::new().tag(AUTO).str(address)
}

/// An outbound mail's entry in the due queue, while queued: `next attempt|id`.
fn due_key(m: &OutboundMail) -> Option<Key> {
    match m.next_attempt_at {
        Some(at) if m.status.is_queued() => Some(Key::new().exact_time(at).id(m.id)),
        _ => None,
    }
}

/// Writes an outbound mail and moves its index entries from `old` (the stored one).
pub(crate) fn put_outbound(
    tx: &Tx<'_>,
    m: &OutboundMail,
    old: Option<&OutboundMail>,
) -> TxResult<()> {
    if let Some(old) = old {
        for (t, k) in outbound_keys(old) {
            tx.del(t, k)?;
        }
    }
    tx.put_json(tree::OUTBOUND, m.id.as_bytes(), m)?;
    for (t, k) in outbound_keys(m) {
        tx.put(t, k, &[][..])?;
    }
    Ok(())
}

/// Writes a new outbound mail with its bytes (one of its id replaced).
pub(crate) fn insert_outbound(tx: &Tx<'_>, m: &OutboundMail, raw: &[u8]) -> TxResult<()> {
    let old = tx.get_json::<OutboundMail>(tree::OUTBOUND, m.id.as_bytes())?;
    put_outbound(tx, m, old.as_ref())?;
    tx.put(tree::OUTBOUND_RAW, m.id.as_bytes(), raw)
}

/// Writes a suppression unless its address has one.
pub(crate) fn put_suppression(tx: &Tx<'_>, x: &Suppression) -> TxResult<()> {
    if !tx.exists(tree::SUPPRESSIONS, x.address.as_bytes())? {
        tx.put_json(tree::SUPPRESSIONS, x.address.as_bytes(), x)?;
    }
    Ok(())
}

/// Writes an operation's mail effects (see [`MailEffects`]).
pub(crate) fn write_mail(tx: &Tx<'_>, mail: &MailEffects) -> TxResult<()> {
    if let Some(w) = &mail.inbound {
        put_inbound(tx, &w.record, &w.raw)?;
    }
    for w in &mail.outbound {
        insert_outbound(tx, &w.mail, &w.raw)?;
    }
    for x in &mail.suppressions {
        put_suppression(tx, x)?;
    }
    for id in &mail.bounced {
        if let Some(old) = tx.get_json::<OutboundMail>(tree::OUTBOUND, id.as_bytes())? {
            let mut m = old.clone();
            m.status = OutboundStatus::Bounced;
            m.next_attempt_at = None;
            put_outbound(tx, &m, Some(&old))?;
        }
    }
    Ok(())
}

impl SledStore {
    /// The bytes stored under an id in `t`.
    fn raw(&self, t: usize, id: Uuid) -> StoreResult<Option<Vec<u8>>> {
        Ok(self
            .tree(t)
            .get(id.as_bytes())
            .map_err(sled_error)?
            .map(|v| v.to_vec()))
    }

    /// The raw bytes of a record being exported (present with every record).
    pub(crate) fn raw_of(&self, t: usize, id: Uuid) -> StoreResult<Vec<u8>> {
        self.raw(t, id)?
            .ok_or_else(|| StoreError::Corrupt(format!("{} has no bytes for {id}", TREE_NAMES[t])))
    }
}

#[async_trait]
impl EmailStore for SledStore {
    async fn get_inbound(&self, id: Uuid) -> StoreResult<Option<InboundRecord>> {
        self.get_json(tree::INBOUND, id.as_bytes())
    }

    async fn find_inbound(
        &self,
        mailbox_id: Uuid,
        dedupe_key: &str,
    ) -> StoreResult<Option<InboundRecord>> {
        let entry = self
            .tree(tree::INBOUND_KEYS)
            .get(dedupe_entry(mailbox_id, dedupe_key))
            .map_err(sled_error)?;
        match entry {
            None => Ok(None),
            Some(id) => self.get_json(tree::INBOUND, &id),
        }
    }

    async fn inbound_raw(&self, id: Uuid) -> StoreResult<Option<Vec<u8>>> {
        self.raw(tree::INBOUND_RAW, id)
    }

    async fn list_inbound(
        &self,
        mailbox_id: Uuid,
        result: Option<InboundResult>,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<InboundRecord>> {
        let prefix = Key::new().tag(LIST).id(mailbox_id);
        let after = cursor.map(|c| prefix.clone().i64(c.key).id(c.id));
        self.records_by_index(
            self.scan(
                tree::INBOUND_IDX,
                prefix.bytes(),
                after.as_ref().map(Key::bytes),
                true,
            ),
            tree::INBOUND,
            limit.saturating_add(1),
            |k, _| trailing_id(k),
            |k, r: &InboundRecord| {
                inbound_list_key(r).bytes() == k && result.is_none_or(|x| r.result == x)
            },
        )
    }

    async fn mail_by_message_id(&self, internet_message_id: &str) -> StoreResult<Vec<MailRef>> {
        let prefix = message_id_prefix(internet_message_id);
        let mut out = Vec::new();
        for entry in self.scan(tree::MAIL_IDS, prefix.bytes(), None, false) {
            let (k, _) = entry?;
            let (Some(dir), Some(id)) = (k.get(prefix.bytes().len()), trailing_id(&k)) else {
                continue;
            };
            if *dir == IN {
                if let Some(r) = self.get_json::<InboundRecord>(tree::INBOUND, id.as_bytes())? {
                    out.push(MailRef {
                        mailbox_id: r.mailbox_id,
                        ticket_id: r.ticket_id,
                        outbound_id: None,
                    });
                }
            } else if let Some(m) = self.get_json::<OutboundMail>(tree::OUTBOUND, id.as_bytes())?
                && m.internet_message_id
                    .eq_ignore_ascii_case(internet_message_id)
            {
                out.push(MailRef {
                    mailbox_id: m.mailbox_id,
                    ticket_id: m.ticket_id,
                    outbound_id: Some(m.id),
                });
            }
        }
        Ok(out)
    }

    async fn ticket_mail(&self, ticket_id: Uuid) -> StoreResult<TicketMail> {
        let prefix = Key::new().tag(TICKET).id(ticket_id);
        let inbound = self
            .records_by_index(
                self.scan(tree::INBOUND_IDX, prefix.bytes(), None, true),
                tree::INBOUND,
                1,
                |k, _| trailing_id(k),
                |k, r: &InboundRecord| inbound_ticket_key(r).is_some_and(|x| x.bytes() == k),
            )?
            .pop();
        let outbound = self
            .records_by_index(
                self.scan(tree::OUTBOUND_IDX, prefix.bytes(), None, true),
                tree::OUTBOUND,
                1,
                |k, _| trailing_id(k),
                |_, m: &OutboundMail| {
                    m.ticket_id == Some(ticket_id) && m.status != OutboundStatus::Suppressed
                },
            )?
            .pop();
        Ok(TicketMail { inbound, outbound })
    }

    async fn claim_outbound(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboundMail>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Candidates from the due queue, read outside the transaction; the transaction
        // checks each again, so concurrent claimers never both get one.
        let end = Key::new().exact_time(now).raw(&[0xff; 16]);
        let candidates: Vec<Uuid> = self
            .tree(tree::OUTBOUND_DUE)
            .range(..=end.0)
            .keys()
            .take(limit)
            .map(|k| k.map_err(sled_error).map(|k| trailing_id(&k)))
            .collect::<StoreResult<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let claimed = self.transact(|tx| {
            let mut out = Vec::new();
            for id in &candidates {
                let Some(m) = tx.get_json::<OutboundMail>(tree::OUTBOUND, id.as_bytes())? else {
                    continue;
                };
                let due = m.status.is_queued() && m.next_attempt_at.is_some_and(|t| t <= now);
                if !due {
                    continue;
                }
                let mut leased = m.clone();
                leased.next_attempt_at = Some(lease_until);
                put_outbound(tx, &leased, Some(&m))?;
                out.push(leased);
            }
            Ok(out)
        })?;
        if !claimed.is_empty() {
            self.flush().await?;
        }
        Ok(claimed)
    }

    async fn update_outbound(&self, mail: &OutboundMail, fx: &Effects) -> StoreResult<()> {
        self.write(|tx| {
            let Some(old) = tx.get_json::<OutboundMail>(tree::OUTBOUND, mail.id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            put_outbound(tx, mail, Some(&old))?;
            write_effects(tx, fx)
        })
        .await
    }

    async fn get_outbound(&self, id: Uuid) -> StoreResult<Option<OutboundMail>> {
        self.get_json(tree::OUTBOUND, id.as_bytes())
    }

    async fn outbound_raw(&self, id: Uuid) -> StoreResult<Option<Vec<u8>>> {
        self.raw(tree::OUTBOUND_RAW, id)
    }

    async fn list_outbound(
        &self,
        mailbox_id: Uuid,
        query: &OutboundQuery,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<OutboundMail>> {
        let prefix = Key::new().tag(LIST).id(mailbox_id);
        let after = cursor.map(|c| prefix.clone().i64(c.key).id(c.id));
        self.records_by_index(
            self.scan(
                tree::OUTBOUND_IDX,
                prefix.bytes(),
                after.as_ref().map(Key::bytes),
                true,
            ),
            tree::OUTBOUND,
            limit.saturating_add(1),
            |k, _| trailing_id(k),
            |k, m: &OutboundMail| {
                prefix.clone().micros(m.created_at).id(m.id).bytes() == k && query.matches(m)
            },
        )
    }

    async fn count_auto_replies(&self, address: &str, since: DateTime<Utc>) -> StoreResult<usize> {
        let prefix = auto_prefix(address);
        let start = prefix.clone().micros(since).0;
        let keys = match prefix_end(prefix.bytes()) {
            Some(end) => self.tree(tree::OUTBOUND_IDX).range(start..end),
            None => self.tree(tree::OUTBOUND_IDX).range(start..),
        };
        let mut n = 0;
        for k in keys.keys() {
            k.map_err(sled_error)?;
            n += 1;
        }
        Ok(n)
    }

    async fn get_suppression(&self, address: &str) -> StoreResult<Option<Suppression>> {
        self.get_json(tree::SUPPRESSIONS, address.as_bytes())
    }

    async fn list_suppressions(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Suppression>> {
        self.scan(tree::SUPPRESSIONS, &[], after.map(str::as_bytes), false)
            .take(limit.saturating_add(1))
            .map(|item| {
                let (_, v) = item?;
                decode(&v, TREE_NAMES[tree::SUPPRESSIONS])
            })
            .collect()
    }

    async fn delete_suppression(&self, address: &str) -> StoreResult<bool> {
        self.write(|tx| {
            if !tx.exists(tree::SUPPRESSIONS, address.as_bytes())? {
                return Ok(false);
            }
            tx.del(tree::SUPPRESSIONS, address.as_bytes())?;
            Ok(true)
        })
        .await
    }
}
