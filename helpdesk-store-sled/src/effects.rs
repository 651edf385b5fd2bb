//! Writing [`Effects`] inside a transaction: events with ids from the counter key, their
//! webhook deliveries, notifications, ticket timeline entries, the email channel's
//! records and CSAT surveys.

use helpdesk_core::event::{Effects, Event, EventId};
use helpdesk_core::ticket::TicketEvent;
use helpdesk_core::webhook::{Delivery, DeliveryStatus, Webhook};

use crate::keys::{Key, tree};
use crate::{Tx, TxResult};

/// The counter key of the last event id (`meta`).
pub(crate) const EVENT_SEQ: &[u8] = b"event_seq";
/// Every webhook endpoint as one record (`meta`): read inside each event-writing
/// transaction, since sled transactions cannot scan a tree.
pub(crate) const WEBHOOKS: &[u8] = b"webhooks";

/// Writes `fx` in the order the contract gives: events and their deliveries, then
/// notifications, then ticket timeline entries, then mail ([`crate::mail_record::write_mail`]:
/// an inbound record its mailbox has already aborts the whole transaction with
/// `Conflict::Duplicate`).
pub(crate) fn write_effects(tx: &Tx<'_>, fx: &Effects) -> TxResult<()> {
    if !fx.events.is_empty() {
        let mut seq = tx.get_u64(tree::META, EVENT_SEQ)?;
        let hooks = webhooks(tx)?;
        for new in &fx.events {
            seq += 1;
            let event = Event::from_new(EventId(seq), new);
            tx.put_json(tree::EVENTS, event_key(event.id), &event)?;
            for w in &hooks {
                if w.wants(&event) {
                    put_delivery(tx, &Delivery::pending(w, &event), None)?;
                }
            }
        }
        tx.put_u64(tree::META, EVENT_SEQ, seq)?;
    }
    for n in &fx.notifications {
        crate::notifications::put_notification(tx, n)?;
    }
    for e in &fx.ticket_events {
        tx.put_json(tree::TICKET_EVENTS, ticket_event_key(e), e)?;
    }
    crate::mail_record::write_mail(tx, &fx.mail)?;
    for s in &fx.surveys {
        crate::survey_record::put_new(tx, s)?;
    }
    Ok(())
}

/// Every webhook endpoint, by `(created_at, id)`.
pub(crate) fn webhooks(tx: &Tx<'_>) -> TxResult<Vec<Webhook>> {
    Ok(tx.get_json(tree::META, WEBHOOKS)?.unwrap_or_default())
}

/// The key of an event.
pub(crate) fn event_key(id: EventId) -> [u8; 8] {
    id.0.to_be_bytes()
}

/// The key of a timeline entry: `ticket|at|id`.
pub(crate) fn ticket_event_key(e: &TicketEvent) -> Key {
    Key::new().id(e.ticket_id).micros(e.at).id(e.id)
}

/// The key of a delivery in its endpoint's list: `webhook|created|id`.
pub(crate) fn delivery_list_key(d: &Delivery) -> Key {
    Key::new().id(d.webhook_id).micros(d.created_at).id(d.id)
}

/// The key of a delivery in the due queue, if it is queued: `next attempt|event|id`.
pub(crate) fn delivery_due_key(d: &Delivery) -> Option<Key> {
    match (d.status, d.next_attempt_at) {
        (DeliveryStatus::Pending | DeliveryStatus::Failed, Some(at)) => {
            Some(Key::new().exact_time(at).u64(d.event_id.0).id(d.id))
        }
        _ => None,
    }
}

/// Writes a delivery and moves its index entries from `old` (the stored version).
pub(crate) fn put_delivery(tx: &Tx<'_>, d: &Delivery, old: Option<&Delivery>) -> TxResult<()> {
    if let Some(old) = old {
        tx.del(tree::DELIVERY_IDX, delivery_list_key(old))?;
        if let Some(k) = delivery_due_key(old) {
            tx.del(tree::DELIVERY_DUE, k)?;
        }
    }
    tx.put_json(tree::DELIVERIES, d.id.as_bytes(), d)?;
    tx.put(tree::DELIVERY_IDX, delivery_list_key(d), &[][..])?;
    if let Some(k) = delivery_due_key(d) {
        tx.put(tree::DELIVERY_DUE, k, &[][..])?;
    }
    Ok(())
}

/// Removes a delivery and its index entries.
pub(crate) fn remove_delivery(tx: &Tx<'_>, d: &Delivery) -> TxResult<()> {
    tx.del(tree::DELIVERIES, d.id.as_bytes())?;
    tx.del(tree::DELIVERY_IDX, delivery_list_key(d))?;
    if let Some(k) = delivery_due_key(d) {
        tx.del(tree::DELIVERY_DUE, k)?;
    }
    Ok(())
}
