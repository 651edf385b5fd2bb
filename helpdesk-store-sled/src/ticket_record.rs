//! A ticket's record with its index entries: the list index's layout, the entries of a
//! ticket and the prefixes a query scans, and the writes that keep them with the record
//! (plain, and under the version check). Below the stores that write tickets:
//! [`TicketStore`], [`ConversationStore`] (a message that updates its ticket) and the
//! archive import.
//!
//! The list index holds one entry per (dimension, sort order) of a ticket:
//! `dimension|sort|key|id`, where the dimension is everything (`a`), a status, a
//! priority, the requester, the group, the assignee (or `n`obody), a tag, a CC, a
//! follower or the organization, and the sort order is
//! created, updated or priority. A query scans the most selective dimension it filters
//! on, forwards or backwards, from its cursor.
//!
//! [`TicketStore`]: helpdesk_core::store::TicketStore
//! [`ConversationStore`]: helpdesk_core::store::ConversationStore

use chrono::{DateTime, Utc};
use helpdesk_core::schedule::next_due_at;
use helpdesk_core::status::StatusCategory;
use helpdesk_core::ticket::{
    AssigneeFilter, OrganizationMatch, Priority, Ticket, TicketQuery, TicketSort,
};
use helpdesk_core::{Conflict, StoreError};

use uuid::Uuid;

use crate::keys::{Key, tree};
use crate::{Tx, TxResult, abort};

/// The sorts the index keeps: the SLA orders each have their own (a ticket without a
/// due time sorts last in both directions, so the two keys differ).
const SORTS: [(u8, TicketSort); 5] = [
    (b'c', TicketSort::CreatedAt),
    (b'u', TicketSort::UpdatedAt),
    (b'p', TicketSort::Priority),
    (b's', TicketSort::SlaDue),
    (b'S', TicketSort::SlaDueDesc),
];

/// The tag of a sort order in the list index.
pub(crate) fn sort_byte(s: TicketSort) -> u8 {
    match s {
        TicketSort::CreatedAt | TicketSort::CreatedAtDesc => b'c',
        TicketSort::UpdatedAt | TicketSort::UpdatedAtDesc => b'u',
        TicketSort::Priority | TicketSort::PriorityDesc => b'p',
        TicketSort::SlaDue => b's',
        TicketSort::SlaDueDesc => b'S',
    }
}

/// A status category's dimension (keys are filtered on the record: a category holds
/// few of them).
fn category_dim(c: StatusCategory) -> Key {
    let b = StatusCategory::ALL
        .iter()
        .position(|x| *x == c)
        .unwrap_or(0) as u8;
    Key::new().tag(b's').tag(b)
}

fn priority_dim(p: Priority) -> Key {
    Key::new().tag(b'p').tag(p.rank() as u8)
}

fn dimensions(t: &Ticket) -> Vec<Key> {
    let mut d = vec![
        Key::new().tag(b'a'),
        category_dim(t.status_category),
        priority_dim(t.priority),
        Key::new().tag(b'r').id(t.requester_id),
        Key::new().tag(b'g').id(t.group_id),
        match t.assignee_id {
            Some(u) => Key::new().tag(b'u').id(u),
            None => Key::new().tag(b'n'),
        },
    ];
    d.extend(t.tags.iter().map(|tag| Key::new().tag(b't').str(tag)));
    d.extend(t.cc.iter().map(|u| Key::new().tag(b'c').id(*u)));
    d.extend(t.followers.iter().map(|u| Key::new().tag(b'f').id(*u)));
    d.extend(t.organization_id.map(|o| Key::new().tag(b'o').id(o)));
    d
}

/// A ticket's list index entries: one per dimension and sort order.
pub(crate) fn index_keys(t: &Ticket) -> Vec<Key> {
    index_keys_of(t, &SORTS)
}

/// A ticket's list index entries of the SLA orders (schema 5 added them).
pub(crate) fn sla_index_keys(t: &Ticket) -> Vec<Key> {
    index_keys_of(t, &SORTS[3..])
}

fn index_keys_of(t: &Ticket, sorts: &[(u8, TicketSort)]) -> Vec<Key> {
    let mut keys = Vec::new();
    for dim in dimensions(t) {
        for (b, sort) in sorts {
            keys.push(dim.clone().tag(*b).i64(sort.key(t)).id(t.id));
        }
    }
    keys
}

/// The dimensions a query scans: one prefix, or one per status.
pub(crate) fn plan(q: &TicketQuery) -> Vec<Key> {
    if let Some(u) = q.cc {
        return vec![Key::new().tag(b'c').id(u)];
    }
    if let Some(u) = q.follower {
        return vec![Key::new().tag(b'f').id(u)];
    }
    if let Some(OrganizationMatch::Is(o)) = q.organization {
        return vec![Key::new().tag(b'o').id(o)];
    }
    if let Some(c) = q.customer {
        // Own, CC, organization: the union of three dimensions.
        let mut dims = vec![
            Key::new().tag(b'r').id(c.user_id),
            Key::new().tag(b'c').id(c.user_id),
        ];
        dims.extend(c.organization_id.map(|o| Key::new().tag(b'o').id(o)));
        return dims;
    }
    if let Some(r) = q.requester_id {
        return vec![Key::new().tag(b'r').id(r)];
    }
    if let Some(AssigneeFilter::User(u)) = q.assignee {
        return vec![Key::new().tag(b'u').id(u)];
    }
    if let Some(tag) = &q.tag {
        return vec![Key::new().tag(b't').str(tag)];
    }
    if let Some(groups) = &q.group_ids {
        let mut g = groups.clone();
        g.sort();
        g.dedup();
        return g.into_iter().map(|g| Key::new().tag(b'g').id(g)).collect();
    }
    if !q.categories.is_empty() {
        let mut c = q.categories.clone();
        c.sort();
        c.dedup();
        return c.into_iter().map(category_dim).collect();
    }
    if let Some(p) = q.priority {
        return vec![priority_dim(p)];
    }
    if let Some(AssigneeFilter::Nobody) = q.assignee {
        return vec![Key::new().tag(b'n')];
    }
    vec![Key::new().tag(b'a')]
}

/// Writes a ticket and moves its index entries, its count in its group's, its
/// mailbox's and its status's ticket counters and its entry under its organization (which must exist), from `old`.
pub(crate) fn put_ticket(tx: &Tx<'_>, t: &Ticket, old: Option<&Ticket>) -> TxResult<()> {
    count_ticket(tx, Some(t), old)?;
    count_mailbox(tx, Some(t), old)?;
    crate::schema::count_status(tx, Some(t), old)?;
    crate::schema::count_fields(tx, Some(t), old)?;
    crate::organization_record::index_ticket(tx, Some(t), old)?;
    if let Some(old) = old {
        for k in index_keys(old) {
            tx.del(tree::TICKET_IDX, k)?;
        }
    }
    tx.put_json(tree::TICKETS, t.id.as_bytes(), t)?;
    tx.put(
        tree::TICKET_NUMBERS,
        Key::new().i64(t.number),
        t.id.as_bytes(),
    )?;
    for k in index_keys(t) {
        tx.put(tree::TICKET_IDX, k, &[][..])?;
    }
    index_due(tx, Some(t), old)
}

/// A ticket's entry in the due index: `due instant|id`.
pub(crate) fn due_key(at: DateTime<Utc>, id: Uuid) -> Key {
    Key::new().i64(at.timestamp_micros()).id(id)
}

/// Moves a ticket's entry in the due index from `old` to `t` (either may be absent).
pub(crate) fn index_due(tx: &Tx<'_>, t: Option<&Ticket>, old: Option<&Ticket>) -> TxResult<()> {
    let (from, to) = (old.and_then(next_due_at), t.and_then(next_due_at));
    if from == to {
        return Ok(());
    }
    if let (Some(at), Some(old)) = (from, old) {
        tx.del(tree::DUE, due_key(at, old.id))?;
    }
    if let (Some(at), Some(t)) = (to, t) {
        tx.put(tree::DUE, due_key(at, t.id), &[][..])?;
    }
    Ok(())
}

/// The stored ticket that `t` replaces: `NotFound` if there is none, `Conflict::Version`
/// unless its version is the one below `t`'s.
fn replaced(tx: &Tx<'_>, t: &Ticket) -> TxResult<Ticket> {
    match tx.get_json::<Ticket>(tree::TICKETS, t.id.as_bytes())? {
        None => abort(StoreError::NotFound),
        Some(old) if old.version + 1 != t.version => abort(StoreError::Conflict(Conflict::Version)),
        Some(old) => Ok(old),
    }
}

/// Writes a ticket under its version check (see [`replaced`]).
pub(crate) fn update_versioned(tx: &Tx<'_>, t: &Ticket) -> TxResult<()> {
    let old = replaced(tx, t)?;
    put_ticket(tx, t, Some(&old))
}

/// Checks a ticket's version (see [`replaced`]) without writing it.
pub(crate) fn check_version(tx: &Tx<'_>, t: &Ticket) -> TxResult<()> {
    replaced(tx, t).map(drop)
}

/// Moves a ticket's count between groups: `old` is the stored ticket it replaces.
pub(crate) fn count_ticket(tx: &Tx<'_>, t: Option<&Ticket>, old: Option<&Ticket>) -> TxResult<()> {
    let (from, to) = (old.map(|o| o.group_id), t.map(|t| t.group_id));
    if from == to {
        return Ok(());
    }
    for (group, up) in [(from, false), (to, true)] {
        let Some(g) = group.filter(|g| !g.is_nil()) else {
            continue;
        };
        let n = tx.get_u64(tree::GROUP_TICKETS, g.as_bytes())?;
        let n = if up { n + 1 } else { n.saturating_sub(1) };
        if n == 0 {
            tx.del(tree::GROUP_TICKETS, g.as_bytes())?;
        } else {
            tx.put_u64(tree::GROUP_TICKETS, g.as_bytes(), n)?;
        }
    }
    Ok(())
}

/// Moves a ticket's count between the mailboxes it names ([`Ticket::mailbox_id`]): `old`
/// is the stored ticket it replaces. A mailbox with a count is in use.
pub(crate) fn count_mailbox(tx: &Tx<'_>, t: Option<&Ticket>, old: Option<&Ticket>) -> TxResult<()> {
    let (from, to) = (old.and_then(|o| o.mailbox_id), t.and_then(|t| t.mailbox_id));
    if from == to {
        return Ok(());
    }
    for (mailbox, up) in [(from, false), (to, true)] {
        let Some(m) = mailbox else { continue };
        let n = tx.get_u64(tree::MAILBOX_TICKETS, m.as_bytes())?;
        let n = if up { n + 1 } else { n.saturating_sub(1) };
        if n == 0 {
            tx.del(tree::MAILBOX_TICKETS, m.as_bytes())?;
        } else {
            tx.put_u64(tree::MAILBOX_TICKETS, m.as_bytes(), n)?;
        }
    }
    Ok(())
}
