//! Merging a ticket into another and unmerging it (API-workflow.md "Merge"), and reading
//! a ticket's messages with those of the tickets merged into it.
//!
//! A merge is by reference: the source is closed and names its target, the target lists
//! the source; nothing moves, so unmerge can undo it. The statuses a merge reads and sets
//! live in [`crate::ticket::close_for_merge`] and [`crate::ticket::restore_on_unmerge`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::Helpdesk;
use crate::error::{Error, Result};
use crate::event::{Effects, EventKind, NewEvent};
use crate::group::Access;
use crate::message::{AcrossRange, Message, MessagePageQuery, MessageView, across_key};
use crate::notification::NotificationKind;
use crate::ops::rules::{Caused, caused};
use crate::ops::ticket::{
    announce_notifications, ticket_audience, ticket_change_effects, ticket_notification, timeline,
};
use crate::page::{Cursor, Page, limit};
use crate::principal::Principal;
use crate::schema::TicketSchema;
use crate::ticket::{Ticket, TimelineKind, close_for_merge, closed_for_merge, restore_on_unmerge};

/// The invalid `into` of a merge: the caller cannot name this ticket.
fn bad_into(message: &str) -> Error {
    Error::invalid("into", message)
}

/// What a merge or an unmerge writes besides the two tickets' own changes: the source's
/// timeline entry, the target's, the event about the pair.
fn pair_effects(
    kind: EventKind,
    (source_before, source): (&Ticket, &mut Ticket),
    (target_before, target): (&Ticket, &mut Ticket),
    actor: Option<Uuid>,
    at: DateTime<Utc>,
    schema: &TicketSchema,
) -> Effects {
    let merging = kind == EventKind::TicketMerged;
    let mut fx = ticket_change_effects(source_before, source, actor, at, schema, None);
    let target_fx = ticket_change_effects(target_before, target, actor, at, schema, None);
    let (source, target) = (&*source, &*target);
    let (source_kind, source_data, target_kind) = if merging {
        (
            TimelineKind::Merged,
            json!({"into_id": target.id}),
            TimelineKind::MergeReceived,
        )
    } else {
        (
            TimelineKind::Unmerged,
            json!({"from_id": target.id}),
            TimelineKind::MergeRemoved,
        )
    };
    fx.ticket_events
        .push(timeline(source, source_kind, actor, at, source_data));
    fx.ticket_events.push(timeline(
        target,
        target_kind,
        actor,
        at,
        json!({"source_id": source.id}),
    ));
    fx.ticket_events.extend(target_fx.ticket_events);
    fx.notifications.extend(target_fx.notifications);
    // Both `notification.created` events are announced once, below.
    fx.events
        .retain(|e| e.kind != EventKind::NotificationCreated);
    fx.events.extend(
        target_fx
            .events
            .into_iter()
            .filter(|e| e.kind != EventKind::NotificationCreated),
    );
    fx.push(NewEvent::new(
        kind,
        at,
        ticket_audience(source, schema),
        json!({"ticket_id": source.id, "into_id": target.id}),
    ));
    if merging {
        // `ticket_merged` instead of `ticket_status_changed` (ticket_change_effects
        // leaves that out for a merge).
        let mut told: Vec<Uuid> = Vec::new();
        for u in std::iter::once(source.requester_id).chain(source.assignee_id) {
            if Some(u) != actor && !told.contains(&u) {
                told.push(u);
                fx.notifications.push(ticket_notification(
                    u,
                    NotificationKind::TicketMerged,
                    source,
                    format!(
                        "Ticket #{} was merged into #{}",
                        source.number, target.number
                    ),
                    at,
                    None,
                ));
            }
        }
    }
    announce_notifications(&mut fx);
    fx
}

/// What a merge's or an unmerge's write left: the source, and what it caused on each
/// ticket.
struct PairWritten {
    source: Ticket,
    on_source: Caused,
    on_target: (Uuid, Caused),
}

impl Helpdesk {
    /// Merges ticket `id` into `into` (staff with `full` access to both): the source is
    /// closed and names its target, the target lists it. Refused: `into` the source, missing
    /// or invisible (invalid `into`); either closed (`TicketClosed`); different requesters
    /// (`Conflict`). Returns the source.
    pub async fn merge_ticket(&self, p: &Principal, id: Uuid, into: Uuid) -> Result<Ticket> {
        let (_, relation) = self.ticket_as(p, id).await?;
        relation.require_staff(Access::Full)?;
        if into == id {
            return Err(bad_into("must be another ticket"));
        }
        let target = match self.st().get_ticket(into).await? {
            Some(t) => t,
            None => return Err(bad_into("is not a ticket")),
        };
        let target_relation = self.relation(p, &target).await?;
        if !target_relation.sees() {
            return Err(bad_into("is not a ticket"));
        }
        target_relation.require_staff(Access::Full)?;
        let schema = self.ticket_schema().await?;
        let written = self
            .retry_on_version(|| async {
                let source_before = self.visible_ticket(p, id).await?;
                let target_before = self
                    .st()
                    .get_ticket(into)
                    .await?
                    .ok_or_else(|| bad_into("is not a ticket"))?;
                if closed_for_merge(&source_before) || closed_for_merge(&target_before) {
                    return Err(Error::TicketClosed);
                }
                if source_before.requester_id != target_before.requester_id {
                    return Err(Error::Conflict(
                        "only tickets of the same requester can be merged".into(),
                    ));
                }
                let now = self.now();
                let mut source = source_before.clone();
                close_for_merge(&mut source, into, now);
                let mut target = target_before.clone();
                target.merged_ids.push(id);
                let kind = EventKind::TicketMerged;
                let pair = (source_before, source, target_before, target);
                self.write_pair(p, kind, pair, now, &schema).await
            })
            .await?;
        self.pair_triggers(p, written).await
    }

    /// Unmerges ticket `id` from the ticket it was merged into (staff with `full` access
    /// to both): it gets back its status from before the merge and leaves the target's
    /// `merged_ids`; messages posted to the target meanwhile stay there. Not merged:
    /// `Conflict`. Returns the source.
    pub async fn unmerge_ticket(&self, p: &Principal, id: Uuid) -> Result<Ticket> {
        let (source, relation) = self.ticket_as(p, id).await?;
        relation.require_staff(Access::Full)?;
        let not_merged = || Error::Conflict("the ticket is not merged".into());
        let into = source.merged_into_id.ok_or_else(not_merged)?;
        if let Some(target) = self.st().get_ticket(into).await? {
            let r = self.relation(p, &target).await?;
            if r.sees() {
                r.require_staff(Access::Full)?;
            } else {
                return Err(Error::forbidden(
                    "needs full access to the ticket it was merged into",
                ));
            }
        }
        let schema = self.ticket_schema().await?;
        let written = self
            .retry_on_version(|| async {
                let source_before = self.visible_ticket(p, id).await?;
                let into = source_before.merged_into_id.ok_or_else(not_merged)?;
                // A deleted target clears `merged_into_id` in the same write, so it exists.
                let target_before = self.st().get_ticket(into).await?.ok_or_else(not_merged)?;
                let now = self.now();
                let mut source = source_before.clone();
                restore_on_unmerge(&mut source, &schema.statuses, now);
                let mut target = target_before.clone();
                target.merged_ids.retain(|s| *s != id);
                let kind = EventKind::TicketUnmerged;
                let pair = (source_before, source, target_before, target);
                self.write_pair(p, kind, pair, now, &schema).await
            })
            .await?;
        self.pair_triggers(p, written).await
    }

    /// Writes a merge's or an unmerge's two tickets (`source_before`, `source`,
    /// `target_before`, `target`) with their effects in one operation: what the write
    /// caused on each, for [`Helpdesk::pair_triggers`].
    async fn write_pair(
        &self,
        p: &Principal,
        kind: EventKind,
        (source_before, mut source, target_before, mut target): (Ticket, Ticket, Ticket, Ticket),
        now: DateTime<Utc>,
        schema: &TicketSchema,
    ) -> Result<PairWritten> {
        for t in [&mut source, &mut target] {
            t.updated_at = now;
            t.version += 1;
        }
        let mut fx = pair_effects(
            kind,
            (&source_before, &mut source),
            (&target_before, &mut target),
            p.actor(),
            now,
            schema,
        );
        self.mail_notifications(&mut fx, &[&source, &target])
            .await?;
        self.written(
            self.st()
                .update_tickets(&[source.clone(), target.clone()], &fx),
        )
        .await?;
        Ok(PairWritten {
            on_source: caused(&fx, source.id),
            on_target: (target.id, caused(&fx, target.id)),
            source,
        })
    }

    /// Runs the triggers of a merge's or an unmerge's two tickets (the target's first;
    /// a merged source is closed and runs none) and returns the source as they left it.
    async fn pair_triggers(&self, p: &Principal, written: PairWritten) -> Result<Ticket> {
        let (target_id, on_target) = written.on_target;
        self.run_triggers_for(p, target_id, &on_target).await?;
        self.after_triggers(p, written.source, &written.on_source)
            .await
    }

    /// The conversations of a ticket and of the tickets merged into it along chains that
    /// the caller may see, the ticket's first.
    async fn merged_conversations(&self, p: &Principal, ticket: &Ticket) -> Result<Vec<Uuid>> {
        let mut out = vec![ticket.conversation_id];
        let mut seen = vec![ticket.id];
        let mut frontier = ticket.merged_ids.clone();
        while let Some(id) = frontier.pop() {
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            let Some(t) = self.st().get_ticket(id).await? else {
                continue;
            };
            if self.relation(p, &t).await?.sees() {
                out.push(t.conversation_id);
            }
            frontier.extend(t.merged_ids.iter().copied());
        }
        Ok(out)
    }

    /// [`Helpdesk::list_messages`] with `include_merged=true`: on a ticket's conversation,
    /// the visible messages of the tickets merged into it (along chains) as well, by
    /// (`created_at`, `id`); each keeps its own conversation, seq and read state, and
    /// `before`/`after` may name any of them. Cursors are positions in that order. On
    /// another conversation, its own messages in that order.
    pub async fn list_messages_merged(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        q: MessagePageQuery,
    ) -> Result<Page<MessageView>> {
        let limit = limit(q.limit)?;
        let conv = self.readable_conversation(p, conversation_id).await?;
        let ids = match conv.ticket_id {
            Some(t) => match self.st().get_ticket(t).await? {
                Some(ticket) => self.merged_conversations(p, &ticket).await?,
                None => vec![conv.id],
            },
            None => vec![conv.id],
        };
        let internal = p.is_staff();
        let named = |mid: Uuid| {
            let ids = &ids;
            async move {
                for c in ids {
                    if let Some(m) = self.st().get_message(*c, mid).await? {
                        return match m.internal && !internal {
                            true => Err(Error::NotFound),
                            false => Ok(m),
                        };
                    }
                }
                Err(Error::NotFound)
            }
        };
        let at = |m: &Message| {
            let (key, id) = across_key(m);
            Cursor::new(key, id)
        };
        let range = if let Some(before) = q.before {
            AcrossRange::Before(at(&named(before).await?))
        } else if let Some(after) = q.after {
            AcrossRange::After(at(&named(after).await?))
        } else if let Some(c) = q.cursor {
            // As for one conversation: older pages carry a positive key (microseconds),
            // newer ones a negative one.
            if c.key < 0 {
                AcrossRange::After(Cursor::new(c.key.saturating_neg(), c.id))
            } else {
                AcrossRange::Before(c)
            }
        } else {
            AcrossRange::Latest
        };
        let mut messages = self
            .st()
            .list_messages_across(&ids, range, internal, limit + 1)
            .await?;
        let next_cursor = if messages.len() > limit {
            match range {
                AcrossRange::After(_) => {
                    messages.truncate(limit);
                    messages.last().map(|m| {
                        let c = at(m);
                        Cursor::new(-c.key, c.id)
                    })
                }
                _ => {
                    messages.remove(0);
                    messages.first().map(at)
                }
            }
        } else {
            None
        };
        // Read state and delivery stay per conversation.
        let mut by_conv: HashMap<Uuid, Vec<Message>> = HashMap::new();
        for m in &messages {
            by_conv
                .entry(m.conversation_id)
                .or_default()
                .push(m.clone());
        }
        let mut views: HashMap<Uuid, MessageView> = HashMap::new();
        for (cid, msgs) in by_conv {
            let c = if cid == conv.id {
                conv.clone()
            } else {
                match self.st().get_conversation(cid).await? {
                    Some(c) => c,
                    None => continue,
                }
            };
            let max_seq = msgs.iter().map(|m| m.seq).max().unwrap_or(0);
            let me = self.me_in(p, &c).await?;
            for v in self.message_views_as(p, &c, &me, msgs).await? {
                views.insert(v.message.id, v);
            }
            self.delivered_in(p, &c, Some(&me), max_seq).await?;
        }
        let items = messages
            .iter()
            .filter_map(|m| views.remove(&m.id))
            .collect();
        Ok(Page { items, next_cursor })
    }
}
