//! [`TicketStore`]: tickets, their numbers (a counter key), list queries (over the list
//! index of `ticket_record`) and timelines.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use helpdesk_core::Conflict;
use helpdesk_core::StoreError;
use helpdesk_core::attachment::AttachmentParent;
use helpdesk_core::event::Effects;
use helpdesk_core::page::Cursor;
use helpdesk_core::store::{EffectsFn, MemberChange, StoreResult, TicketStore};
use helpdesk_core::ticket::{Ticket, TicketEvent, TicketInsert, TicketQuery, forget_merge_with};

use crate::attachments::{attach, check_attachable, remove_attachment};
use crate::conversations::{
    ConvGather, insert_conversation, join as join_conversation, leave as leave_conversation,
    remove_conversation,
};
use crate::effects::write_effects;
use crate::groups::check_group;
use crate::keys::{Key, trailing_id, tree};
use crate::ticket_record::count_ticket;
use crate::ticket_record::{index_keys, plan, put_ticket, sort_byte, update_versioned};
use crate::{SledStore, abort};

pub(crate) const TICKET_NUMBER: &[u8] = b"ticket_number";

/// What deleting a ticket removes, read outside the transaction.
struct TicketGather {
    version: u64,
    timeline: Vec<sled::IVec>,
    conv: Option<ConvGather>,
    attachments: Vec<(Uuid, Vec<sled::IVec>)>,
}

/// Raised inside the delete transaction when the gathered keys went stale: gather
/// again; after too many tries the answer is `Busy` for the caller.
const STALE: Conflict = Conflict::Busy;

impl SledStore {
    fn gather_ticket(&self, t: &Ticket) -> StoreResult<TicketGather> {
        let mut attachment_ids: Vec<Uuid> = Vec::new();
        for prefix in [
            Key::new().tag(b'T').id(t.id),
            Key::new().tag(b'M').id(t.conversation_id),
        ] {
            for k in self.keys_with_prefix(tree::ATT_IDX, prefix.bytes())? {
                attachment_ids.extend(trailing_id(&k));
            }
        }
        let mut attachments = Vec::new();
        for id in attachment_ids {
            attachments.push((id, self.keys_with_prefix(tree::BLOBS, id.as_bytes())?));
        }
        Ok(TicketGather {
            version: t.version,
            timeline: self.keys_with_prefix(tree::TICKET_EVENTS, t.id.as_bytes())?,
            conv: self.gather_conversation(t.conversation_id)?,
            attachments,
        })
    }
}

#[async_trait]
impl TicketStore for SledStore {
    async fn create_ticket(
        &self,
        new: &TicketInsert,
        effects: EffectsFn<'_, Ticket>,
    ) -> StoreResult<Ticket> {
        self.write(|tx| {
            check_group(tx, new.ticket.group_id)?;
            check_attachable(tx, &new.attachment_ids)?;
            let mut ticket = new.ticket.clone();
            let number = tx.get_u64(tree::META, TICKET_NUMBER)? + 1;
            ticket.number = number as i64;
            insert_conversation(tx, &new.conversation)?;
            tx.put_u64(tree::META, TICKET_NUMBER, number)?;
            attach(
                tx,
                &new.attachment_ids,
                AttachmentParent::Ticket {
                    ticket_id: ticket.id,
                },
            )?;
            put_ticket(tx, &ticket, None)?;
            write_effects(tx, &effects(&ticket))?;
            Ok(ticket)
        })
        .await
    }

    async fn update_ticket(
        &self,
        ticket: &Ticket,
        change: Option<&MemberChange>,
        fx: &Effects,
    ) -> StoreResult<()> {
        self.write(|tx| {
            check_group(tx, ticket.group_id)?;
            update_versioned(tx, ticket)?;
            let changed = match change {
                Some(MemberChange::Join { member, .. }) => {
                    join_conversation(tx, ticket.conversation_id, *member)?
                }
                Some(MemberChange::Leave { user_id, .. }) => {
                    leave_conversation(tx, ticket.conversation_id, *user_id)?
                }
                None => false,
            };
            match change.filter(|_| changed) {
                Some(c) => write_effects(tx, &c.effects_with(fx)),
                None => write_effects(tx, fx),
            }
        })
        .await
    }

    async fn delete_ticket(&self, id: Uuid, fx: &Effects) -> StoreResult<()> {
        // sled cannot scan inside a transaction: read what to remove first, then check
        // inside the transaction that it is still all (the ticket's version and the
        // conversation's counters did not move), else read again.
        let mut attempts = 0;
        let conv_id = loop {
            attempts += 1;
            let Some(t) = self.get_json::<Ticket>(tree::TICKETS, id.as_bytes())? else {
                return Err(StoreError::NotFound);
            };
            let g = self.gather_ticket(&t)?;
            let result = self.transact(|tx| {
                let Some(t) = tx.get_json::<Ticket>(tree::TICKETS, id.as_bytes())? else {
                    return abort(StoreError::NotFound);
                };
                if t.version != g.version {
                    return abort(StoreError::Conflict(STALE));
                }
                // Merges through it end: its sources name nothing, its target lists it
                // no more.
                for other in t.merged_ids.iter().chain(t.merged_into_id.as_ref()) {
                    if let Some(old) = tx.get_json::<Ticket>(tree::TICKETS, other.as_bytes())? {
                        let mut changed = old.clone();
                        if forget_merge_with(&mut changed, id) {
                            put_ticket(tx, &changed, Some(&old))?;
                        }
                    }
                }
                for k in index_keys(&t) {
                    tx.del(tree::TICKET_IDX, k)?;
                }
                count_ticket(tx, None, Some(&t))?;
                crate::ticket_record::count_mailbox(tx, None, Some(&t))?;
                crate::ticket_record::index_due(tx, None, Some(&t))?;
                crate::schema::count_status(tx, None, Some(&t))?;
                crate::schema::count_fields(tx, None, Some(&t))?;
                crate::organization_record::index_ticket(tx, None, Some(&t))?;
                tx.del(tree::TICKETS, id.as_bytes())?;
                tx.del(tree::TICKET_NUMBERS, Key::new().i64(t.number))?;
                for k in &g.timeline {
                    tx.del(tree::TICKET_EVENTS, k)?;
                }
                crate::survey_record::delete_ticket_surveys(tx, id, t.resolved_count)?;
                if let Some(c) = &g.conv
                    && !remove_conversation(tx, c)?
                {
                    return abort(StoreError::Conflict(STALE));
                }
                for (aid, blob_keys) in &g.attachments {
                    remove_attachment(tx, *aid, blob_keys)?;
                }
                write_effects(tx, fx)?;
                Ok(t.conversation_id)
            });
            match result {
                Err(e) if e.is_conflict(STALE) && attempts < 20 => continue,
                Err(e) if e.is_conflict(STALE) => return Err(e),
                other => break other?,
            }
        };
        // Records that a concurrent write added for the deleted ticket after the gather
        // (a timeline entry, a participant) are unreachable now: sweep them.
        self.sweep_prefix(tree::TICKET_EVENTS, id.as_bytes())?;
        self.sweep_prefix(tree::PARTICIPANTS, conv_id.as_bytes())?;
        // Rules forget it: its runs and edge state.
        self.forget_ticket_rules(id)?;
        self.flush().await
    }

    async fn update_tickets(&self, tickets: &[Ticket], fx: &Effects) -> StoreResult<()> {
        self.write(|tx| {
            for t in tickets {
                update_versioned(tx, t)?;
            }
            write_effects(tx, fx)
        })
        .await
    }

    async fn get_ticket(&self, id: Uuid) -> StoreResult<Option<Ticket>> {
        self.get_json(tree::TICKETS, id.as_bytes())
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<Uuid>> {
        // One process holds a sled database: claims are kept in memory, each until its
        // time or until the ticket's version moves (a write releases it).
        let end = crate::ticket_record::due_key(now, Uuid::max());
        let mut claimed = Vec::new();
        let mut holds = self.due_holds();
        holds.retain(|_, (until, _)| *until > now);
        for entry in self.scan(tree::DUE, &[], None, false) {
            let (k, _) = entry?;
            if k.as_ref() > end.bytes() || claimed.len() >= limit {
                break;
            }
            let Some(id) = trailing_id(&k) else { continue };
            let Some(t) = self.get_json::<Ticket>(tree::TICKETS, id.as_bytes())? else {
                continue;
            };
            if holds.get(&id).is_some_and(|(_, v)| *v == t.version) {
                continue;
            }
            holds.insert(id, (hold_until, t.version));
            claimed.push(id);
        }
        Ok(claimed)
    }

    async fn get_ticket_by_number(&self, number: i64) -> StoreResult<Option<Ticket>> {
        let Some(id) = self
            .tree(tree::TICKET_NUMBERS)
            .get(Key::new().i64(number))
            .map_err(crate::sled_error)?
        else {
            return Ok(None);
        };
        let id = Uuid::from_slice(&id)
            .map_err(|_| StoreError::Corrupt("bad ticket number index".into()))?;
        Ok(self
            .get_json::<Ticket>(tree::TICKETS, id.as_bytes())?
            .filter(|t| t.number == number))
    }

    async fn list_tickets(&self, q: &TicketQuery) -> StoreResult<Vec<Ticket>> {
        let desc = q.sort.descending();
        let sb = sort_byte(q.sort);
        // Each dimension's entries are `prefix|sort key|id`: merged by `sort key|id`.
        let sort_key = |t: &Ticket| Key::new().i64(q.sort.key(t)).id(t.id).0;
        let mut found: Vec<(Vec<u8>, Ticket)> = Vec::new();
        for dim in plan(q) {
            let prefix = dim.tag(sb);
            let after = q.cursor.map(|c| prefix.clone().i64(c.key).id(c.id));
            let tickets = self.records_by_index(
                self.scan(
                    tree::TICKET_IDX,
                    prefix.bytes(),
                    after.as_ref().map(Key::bytes),
                    desc,
                ),
                tree::TICKETS,
                q.limit.saturating_add(1),
                |k, _| trailing_id(k),
                // The entry must still be this ticket's current one (a concurrent update
                // may have moved it), and the ticket must pass every filter.
                |k, t: &Ticket| {
                    prefix.clone().i64(q.sort.key(t)).id(t.id).bytes() == k
                        && q.matches(t)
                        && q.after_cursor(t)
                },
            )?;
            found.extend(tickets.into_iter().map(|t| (sort_key(&t), t)));
        }
        found.sort_by(|a, b| if desc { b.0.cmp(&a.0) } else { a.0.cmp(&b.0) });
        found.dedup_by(|a, b| a.1.id == b.1.id);
        Ok(found
            .into_iter()
            .take(q.limit + 1)
            .map(|(_, t)| t)
            .collect())
    }

    async fn list_ticket_events(
        &self,
        ticket_id: Uuid,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<TicketEvent>> {
        let prefix = Key::new().id(ticket_id);
        let after = cursor.map(|c| prefix.clone().i64(c.key).id(c.id));
        self.scan(
            tree::TICKET_EVENTS,
            prefix.bytes(),
            after.as_ref().map(Key::bytes),
            false,
        )
        .take(limit + 1)
        .map(|item| {
            let (_, v) = item?;
            crate::decode(&v, "ticket_events")
        })
        .collect()
    }
}
