//! The email channel's records as sled keeps them, written inside an operation's
//! transaction: inbound records and outbound mail with their bytes and index entries,
//! suppressions, and [`write_mail`], which [`crate::effects::write_effects`] calls. A
//! mail its mailbox has already aborts the transaction with `Conflict::Duplicate`. The
//! store's reads are in [`crate::email`].

use uuid::Uuid;

use helpdesk_core::email::{
    InboundRecord, MailEffects, OutboundKind, OutboundMail, OutboundStatus, Suppression,
};
use helpdesk_core::{Conflict, StoreError};

use crate::keys::{Key, tree};
use crate::{Tx, TxResult, abort};

/// Tags of the index entries.
pub(crate) const LIST: u8 = b'l';
pub(crate) const TICKET: u8 = b't';
pub(crate) const AUTO: u8 = b'a';
/// Directions in the Message-ID index: inbound sorts first.
pub(crate) const IN: u8 = 0;
pub(crate) const OUT: u8 = 1;

/// The dedupe entry of a mail in a mailbox: `mailbox|key`.
pub(crate) fn dedupe_entry(mailbox_id: Uuid, key: &str) -> Key {
    Key::new().id(mailbox_id).str(key)
}

/// The prefix of a Message-ID's entries.
pub(crate) fn message_id_prefix(internet_message_id: &str) -> Key {
    Key::new().str(&internet_message_id.to_ascii_lowercase())
}

/// An inbound record's entry in its mailbox's list.
pub(crate) fn inbound_list_key(r: &InboundRecord) -> Key {
    Key::new()
        .tag(LIST)
        .id(r.mailbox_id)
        .micros(r.received_at)
        .id(r.id)
}

/// An inbound record's entry among its ticket's mail (with a Message-ID only).
pub(crate) fn inbound_ticket_key(r: &InboundRecord) -> Option<Key> {
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
pub(crate) fn outbound_keys(m: &OutboundMail) -> Vec<(usize, Key)> {
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
pub(crate) fn auto_prefix(address: &str) -> Key {
    Key::new().tag(AUTO).str(address)
}

/// An outbound mail's entry in the due queue, while queued: `next attempt|id`.
pub(crate) fn due_key(m: &OutboundMail) -> Option<Key> {
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
