//! Tickets and their timelines: [`TicketStore`].
//!
//! Numbers come from the `ticket_numbers` sequence, taken by the ticket's INSERT, the
//! creation's last step that can fail on the caller's input. `nextval` never waits for
//! another transaction (a counter row locked until commit made creations run one at a
//! time), so numbers are unique and increasing but not gapless: a creation that rolls
//! back after taking its number (a failed commit, a lost connection) leaves a gap.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::StoreError;
use helpdesk_core::attachment::AttachmentParent;
use helpdesk_core::event::Effects;
use helpdesk_core::page::Cursor;
use helpdesk_core::store::{EffectsFn, MemberChange, StoreResult, TicketStore};
use helpdesk_core::ticket::{
    AssigneeFilter, OrganizationMatch, Ticket, TicketEvent, TicketInsert, TicketQuery, TicketSort,
};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::PostgresStore;
use crate::attachments::{attach, delete_blobs_of};
use crate::conversations::{push_join, push_leave, push_new_conversation};
use crate::effects::{Writes, write_effects};
use crate::error::SqlxResultExt;
use crate::kept::fetch_kept;
use crate::rows::{
    TicketEventRow, TicketRow, fetch_all_as, fetch_optional_as, i, micros, priority_rank,
};
use crate::ticket_record::{push_insert_ticket, write_ticket};

fn sort_column(sort: TicketSort) -> &'static str {
    match sort {
        TicketSort::CreatedAt | TicketSort::CreatedAtDesc => "created_at",
        TicketSort::UpdatedAt | TicketSort::UpdatedAtDesc => "updated_at",
        TicketSort::Priority | TicketSort::PriorityDesc => "priority",
        // Without a due time: last in both directions (TicketSort::key).
        TicketSort::SlaDue => {
            "COALESCE((extract(epoch FROM sla_due_at) * 1000000)::bigint, 9223372036854775807)"
        }
        TicketSort::SlaDueDesc => {
            "COALESCE((extract(epoch FROM sla_due_at) * 1000000)::bigint, (-9223372036854775807 - 1))"
        }
    }
}

#[async_trait]
impl TicketStore for PostgresStore {
    async fn create_ticket(
        &self,
        new: &TicketInsert,
        effects: EffectsFn<'_, Ticket>,
    ) -> StoreResult<Ticket> {
        if new.attachment_ids.is_empty() {
            // The number first, then one statement on its own (no transaction) inserts
            // the conversation, the ticket and the effects, which carry the number.
            let mut ticket = new.ticket.clone();
            ticket.number = sqlx::query_scalar("SELECT nextval('ticket_numbers')")
                .fetch_one(self.pool_ref())
                .await
                .store()?;
            let writes = || {
                let mut w = Writes::new();
                push_new_conversation(&mut w, &new.conversation)?;
                w.write(|q| push_insert_ticket(q, &ticket, Some(ticket.number)));
                Ok(w)
            };
            let unchecked = || StoreError::other("no write of a ticket's creation is counted");
            self.write_alone(writes, &effects(&ticket), unchecked)
                .await?;
            return Ok(ticket);
        }
        let mut tx = self.begin().await?;
        // Attachments that are missing or taken fail the creation before it takes a
        // number (they name their ticket without a foreign key, so they can go first).
        // Then one statement inserts the conversation and the ticket with its number,
        // and one more the effects, which need the number.
        attach(
            &mut tx,
            &new.attachment_ids,
            AttachmentParent::Ticket {
                ticket_id: new.ticket.id,
            },
        )
        .await?;
        let mut w = Writes::new();
        push_new_conversation(&mut w, &new.conversation)?;
        let mut ticket = new.ticket.clone();
        ticket.number = w
            .finish(|q| push_insert_ticket(q, &ticket, None))
            .build_query_scalar()
            .fetch_one(&mut *tx)
            .await
            .store()?;
        let wrote = write_effects(&mut tx, &effects(&ticket)).await?;
        self.commit(tx, wrote).await?;
        Ok(ticket)
    }

    async fn update_ticket(
        &self,
        ticket: &Ticket,
        change: Option<&MemberChange>,
        fx: &Effects,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        // The conversation is locked before the ticket, as a message to a ticket's
        // conversation locks them (no deadlock between the two).
        let mut w = Writes::new();
        let conv = ticket.conversation_id;
        let changed = match change {
            Some(MemberChange::Join { member, .. }) => {
                push_join(&mut tx, &mut w, conv, *member).await?
            }
            Some(MemberChange::Leave { user_id, .. }) => {
                push_leave(&mut tx, &mut w, conv, *user_id).await?
            }
            None => false,
        };
        write_ticket(&mut tx, ticket).await?;
        let written = match change.filter(|_| changed) {
            Some(c) => w.run(&mut tx, &c.effects_with(fx)).await?,
            None => w.run(&mut tx, fx).await?,
        };
        self.commit(tx, written.wrote_events).await
    }

    async fn delete_ticket(&self, id: Uuid, fx: &Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let conversation_id: Uuid =
            sqlx::query_scalar("DELETE FROM tickets WHERE id = $1 RETURNING conversation_id")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .store()?
                .ok_or(StoreError::NotFound)?;
        // Merges through it end (API-workflow.md): its sources name nothing, its target
        // lists it no more; their versions move on, `updated_at` stays.
        sqlx::query(
            "UPDATE tickets SET merged_into_id = NULL, pre_merge_status = NULL, \
             version = version + 1 WHERE merged_into_id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await
        .store()?;
        sqlx::query(
            "UPDATE tickets SET merged_ids = array_remove(merged_ids, $1), \
             version = version + 1 WHERE $1 = ANY(merged_ids)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await
        .store()?;
        delete_blobs_of(&mut tx, id, conversation_id).await?;
        // Messages, participants and member rows go with it (ON DELETE CASCADE).
        sqlx::query("DELETE FROM conversations WHERE id = $1")
            .bind(conversation_id)
            .execute(&mut *tx)
            .await
            .store()?;
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await
    }

    async fn update_tickets(&self, tickets: &[Ticket], fx: &Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        // In id order, so two merges touching the same tickets lock them alike.
        let mut sorted: Vec<&Ticket> = tickets.iter().collect();
        sorted.sort_by_key(|t| t.id);
        for t in sorted {
            write_ticket(&mut tx, t).await?;
        }
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await
    }

    async fn get_ticket(&self, id: Uuid) -> StoreResult<Option<Ticket>> {
        let sql = format!("SELECT {} FROM tickets WHERE id = $1", TicketRow::COLS);
        fetch_optional_as::<TicketRow, _>(sqlx::query(&sql).bind(id), self.pool_ref()).await
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<Uuid>> {
        sqlx::query_scalar(
            "UPDATE tickets SET due_held_until = $2 WHERE id IN ( \
                 SELECT id FROM tickets \
                 WHERE next_due_at <= $1 AND (due_held_until IS NULL OR due_held_until <= $1) \
                 ORDER BY next_due_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id",
        )
        .bind(now)
        .bind(hold_until)
        .bind(i(limit as u64))
        .fetch_all(self.pool_ref())
        .await
        .store()
    }

    async fn get_ticket_by_number(&self, number: i64) -> StoreResult<Option<Ticket>> {
        let sql = format!("SELECT {} FROM tickets WHERE number = $1", TicketRow::COLS);
        fetch_optional_as::<TicketRow, _>(sqlx::query(&sql).bind(number), self.pool_ref()).await
    }

    async fn list_tickets(&self, query: &TicketQuery) -> StoreResult<Vec<Ticket>> {
        let kept = &self.inner.kept_tickets;
        let table = ("tickets", TicketRow::COLS);
        fetch_kept::<TicketRow, _>(self.pool_ref(), kept, table, query.limit + 1, |select| {
            list_query(query, select)
        })
        .await
    }

    async fn list_ticket_events(
        &self,
        ticket_id: Uuid,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<TicketEvent>> {
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT {} FROM ticket_events WHERE ticket_id = ",
            TicketEventRow::COLS
        ));
        q.push_bind(ticket_id);
        if let Some(c) = cursor {
            q.push(" AND (at, id) > (")
                .push_bind(micros(c.key))
                .push(", ")
                .push_bind(c.id)
                .push(")");
        }
        q.push(" ORDER BY at, id LIMIT ")
            .push_bind(i(limit as u64 + 1));
        fetch_all_as::<TicketEventRow, _>(q.build(), self.pool_ref()).await
    }
}

/// The statement of [`TicketStore::list_tickets`] with the select list `select`.
fn list_query<'q>(query: &'q TicketQuery, select: &str) -> QueryBuilder<'q, Postgres> {
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT {select} FROM tickets WHERE true"));
    if !query.statuses.is_empty() {
        let statuses: Vec<&str> = query.statuses.iter().map(|s| s.as_str()).collect();
        q.push(" AND status = ANY(").push_bind(statuses).push(")");
    }
    if !query.categories.is_empty() {
        let categories: Vec<&str> = query.categories.iter().map(|s| s.as_str()).collect();
        q.push(" AND status_category = ANY(")
            .push_bind(categories)
            .push(")");
    }
    if let Some(p) = query.priority {
        q.push(" AND priority = ").push_bind(priority_rank(p));
    }
    match query.assignee {
        None => {}
        Some(AssigneeFilter::Nobody) => {
            q.push(" AND assignee_id IS NULL");
        }
        Some(AssigneeFilter::User(u)) => {
            q.push(" AND assignee_id = ").push_bind(u);
        }
    }
    if let Some(r) = query.requester_id {
        q.push(" AND requester_id = ").push_bind(r);
    }
    if let Some(groups) = &query.group_ids {
        q.push(" AND group_id = ANY(")
            .push_bind(groups.clone())
            .push(")");
    }
    if let Some(c) = query.customer {
        q.push(" AND (requester_id = ")
            .push_bind(c.user_id)
            .push(" OR cc @> ARRAY[")
            .push_bind(c.user_id)
            .push("]::uuid[]");
        if let Some(o) = c.organization_id {
            q.push(" OR organization_id = ").push_bind(o);
        }
        q.push(")");
    }
    if let Some(u) = query.cc {
        q.push(" AND cc @> ARRAY[").push_bind(u).push("]::uuid[]");
    }
    if let Some(u) = query.follower {
        q.push(" AND followers @> ARRAY[")
            .push_bind(u)
            .push("]::uuid[]");
    }
    match query.organization {
        None => {}
        Some(OrganizationMatch::Nobody) => {
            q.push(" AND organization_id IS NULL");
        }
        Some(OrganizationMatch::Is(o)) => {
            q.push(" AND organization_id = ").push_bind(o);
        }
    }
    if let Some(tag) = &query.tag {
        q.push(" AND tags @> ARRAY[")
            .push_bind(tag.clone())
            .push("]::text[]");
    }
    if let Some(snoozed) = query.snoozed {
        q.push(if snoozed {
            " AND snooze IS NOT NULL"
        } else {
            " AND snooze IS NULL"
        });
    }
    if let Some(range) = query.sla_due {
        q.push(" AND sla_due_at <= ").push_bind(range.until);
        if let Some(after) = range.after {
            q.push(" AND sla_due_at > ").push_bind(after);
        }
    }
    if let Some(channel) = query.channel {
        q.push(" AND channel = ").push_bind(channel.as_str());
    }
    if let Some(m) = query.mailbox_id {
        q.push(" AND mailbox_id = ").push_bind(m);
    }
    if let Some(text) = &query.q {
        q.push(" AND (strpos(lower(subject), lower(")
            .push_bind(text.clone())
            .push(")) > 0 OR strpos(lower(description), lower(")
            .push_bind(text.clone())
            .push(")) > 0)");
    }
    let col = sort_column(query.sort);
    let (op, dir) = if query.sort.descending() {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(Cursor { key, id }) = query.cursor {
        q.push(format!(" AND ({col}, id) {op} ("));
        match query.sort {
            TicketSort::Priority | TicketSort::PriorityDesc => {
                q.push_bind(i16::try_from(key).unwrap_or(if key < 0 { -1 } else { 4 }));
            }
            TicketSort::SlaDue | TicketSort::SlaDueDesc => {
                q.push_bind(key);
            }
            _ => {
                q.push_bind(micros(key));
            }
        }
        q.push(", ").push_bind(id).push(")");
    }
    q.push(format!(" ORDER BY {col} {dir}, id {dir} LIMIT "))
        .push_bind(i(query.limit as u64 + 1));
    q
}
