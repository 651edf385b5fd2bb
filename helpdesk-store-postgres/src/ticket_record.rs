//! A ticket's row: its INSERT, which takes the ticket's number, and its UPDATE under
//! the version check. Below the stores that write tickets: [`TicketStore`] (creating,
//! updating), [`ConversationStore`] (a message that updates its ticket) and the archive
//! import.
//!
//! [`TicketStore`]: helpdesk_core::store::TicketStore
//! [`ConversationStore`]: helpdesk_core::store::ConversationStore

use helpdesk_core::store::StoreResult;
use helpdesk_core::ticket::Ticket;
use helpdesk_core::{Conflict, StoreError};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use crate::effects::Writes;
use crate::error::SqlxResultExt;
use crate::rows::{i, priority_rank};
use helpdesk_core::schedule::next_due_at;

/// Inserts a ticket with `number`, or with the next number of the sequence when `None`;
/// returns the number it got.
pub(crate) async fn insert_ticket(
    conn: &mut PgConnection,
    t: &Ticket,
    number: Option<i64>,
) -> StoreResult<i64> {
    Writes::new()
        .finish(|q| push_insert_ticket(q, t, number))
        .build_query_scalar()
        .fetch_one(&mut *conn)
        .await
        .store()
}

/// Pushes an `INSERT` of a ticket `RETURNING number` (see [`insert_ticket`]).
pub(crate) fn push_insert_ticket(
    q: &mut QueryBuilder<'static, Postgres>,
    t: &Ticket,
    number: Option<i64>,
) {
    q.push(
        "INSERT INTO tickets (id, number, subject, description, status, status_category, \
         status_changed_at, priority, requester_id, assignee_id, tags, conversation_id, \
         group_id, organization_id, cc, followers, fields, created_at, updated_at, \
         first_response_at, resolved_at, closed_at, version, merged_into_id, merged_ids, \
         pre_merge_status, snooze, next_due_at, sla, sla_due_at, automation_at, \
         resolved_count, channel, mailbox_id, follow_up_of) VALUES (",
    );
    // COALESCE evaluates `nextval` only when no number is given.
    q.push_bind(t.id)
        .push(", COALESCE(")
        .push_bind(number)
        .push(", nextval('ticket_numbers'))");
    let mut row = q.separated(", ");
    row.push_unseparated(", ")
        .push_bind(t.subject.clone())
        .push_bind(t.description.clone())
        .push_bind(t.status.as_str().to_string())
        .push_bind(t.status_category.as_str())
        .push_bind(t.status_changed_at)
        .push_bind(priority_rank(t.priority))
        .push_bind(t.requester_id)
        .push_bind(t.assignee_id)
        .push_bind(t.tags.clone())
        .push_bind(t.conversation_id)
        .push_bind(t.group_id)
        .push_bind(t.organization_id)
        .push_bind(t.cc.clone())
        .push_bind(t.followers.clone())
        .push_bind(sqlx::types::Json(t.fields.clone()))
        .push_bind(t.created_at)
        .push_bind(t.updated_at)
        .push_bind(t.first_response_at)
        .push_bind(t.resolved_at)
        .push_bind(t.closed_at)
        .push_bind(i(t.version))
        .push_bind(t.merged_into_id)
        .push_bind(t.merged_ids.clone())
        .push_bind(t.pre_merge_status.as_ref().map(|s| s.as_str().to_string()))
        .push_bind(t.snooze.map(sqlx::types::Json))
        .push_bind(next_due_at(t))
        .push_bind(sqlx::types::Json(t.sla.clone()))
        .push_bind(t.sla.due_at())
        .push_bind(t.automation_at)
        .push_bind(crate::rows::cycle(t.resolved_count))
        .push_bind(t.channel.as_str())
        .push_bind(t.mailbox_id)
        .push_bind(t.follow_up_of);
    q.push(") RETURNING number");
}

/// Writes a ticket under its version check: `NotFound` if absent, `Conflict::Version`
/// if the stored version is not `version - 1`. Its due instant moves with it, and a
/// claim's hold ends (see `0017_snooze.sql`).
pub(crate) async fn write_ticket(conn: &mut PgConnection, t: &Ticket) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE tickets SET subject = $3, description = $4, status = $5, priority = $6, \
         requester_id = $7, assignee_id = $8, tags = $9, updated_at = $10, \
         first_response_at = $11, resolved_at = $12, closed_at = $13, group_id = $14, \
         organization_id = $15, cc = $16, followers = $17, status_category = $18, \
         status_changed_at = $19, fields = $20, merged_into_id = $21, merged_ids = $22, \
         pre_merge_status = $23, snooze = $24, next_due_at = $25, due_held_until = NULL, \
         sla = $26, sla_due_at = $27, resolved_count = $28, automation_at = $29, \
         channel = $30, mailbox_id = $31, follow_up_of = $32, version = $2 \
         WHERE id = $1 AND version = $2 - 1",
    )
    .bind(t.id)
    .bind(i(t.version))
    .bind(&t.subject)
    .bind(&t.description)
    .bind(t.status.as_str())
    .bind(priority_rank(t.priority))
    .bind(t.requester_id)
    .bind(t.assignee_id)
    .bind(&t.tags)
    .bind(t.updated_at)
    .bind(t.first_response_at)
    .bind(t.resolved_at)
    .bind(t.closed_at)
    .bind(t.group_id)
    .bind(t.organization_id)
    .bind(&t.cc)
    .bind(&t.followers)
    .bind(t.status_category.as_str())
    .bind(t.status_changed_at)
    .bind(sqlx::types::Json(&t.fields))
    .bind(t.merged_into_id)
    .bind(&t.merged_ids)
    .bind(t.pre_merge_status.as_ref().map(|s| s.as_str()))
    .bind(t.snooze.map(sqlx::types::Json))
    .bind(next_due_at(t))
    .bind(sqlx::types::Json(&t.sla))
    .bind(t.sla.due_at())
    .bind(crate::rows::cycle(t.resolved_count))
    .bind(t.automation_at)
    .bind(t.channel.as_str())
    .bind(t.mailbox_id)
    .bind(t.follow_up_of)
    .execute(&mut *conn)
    .await
    .store()?;
    if done.rows_affected() == 1 {
        return Ok(());
    }
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tickets WHERE id = $1)")
        .bind(t.id)
        .fetch_one(&mut *conn)
        .await
        .store()?;
    Err(if exists {
        StoreError::Conflict(Conflict::Version)
    } else {
        StoreError::NotFound
    })
}
