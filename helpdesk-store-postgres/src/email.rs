//! The email channel's records (`EmailStore`, `0025_email.sql`): inbound records
//! (`inbound_mail`, bytes in `inbound_raw`), the outbox (`outbound_mail`, bytes in
//! `outbound_raw`) and suppressions. Lists never read the bytes.
//!
//! They are written with the change that makes them: [`crate::effects::push_mail`] adds
//! their writes to an operation's statement of CTEs ([`Writes`]). An inbound record whose
//! `(mailbox_id, dedupe_key)` is stored already violates `inbound_mail_dedupe`, which
//! fails the statement, and so the operation, with `Conflict::Duplicate`. Message-IDs are
//! matched on `message_key`, the Message-ID ASCII-lower-cased here. The outbox is
//! claimed like webhook deliveries (`FOR UPDATE SKIP LOCKED`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::StoreError;
use helpdesk_core::archive::{ArchivedInbound, ArchivedOutbound};
use helpdesk_core::email::{
    InboundRecord, InboundResult, InboundWrite, MailRef, OutboundMail, OutboundQuery,
    OutboundStatus, OutboundWrite, Suppression, TicketMail,
};
use helpdesk_core::event::Effects;
use helpdesk_core::page::Cursor;
use helpdesk_core::store::{EmailStore, StoreResult};
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::PostgresStore;
use crate::effects::{Writes, push_insert_inbound, push_insert_outbound, push_insert_suppressions};
use crate::error::SqlxResultExt;
use crate::mail_rows::*;
use crate::rows::{fetch_all_as, fetch_optional_as, i, micros, to_json};

/// Runs `w` (writes only, no effects) in the transaction of `conn`.
async fn run(conn: &mut PgConnection, w: Writes) -> StoreResult<()> {
    w.run(conn, &Effects::none()).await.map(|_| ())
}

/// Imports an inbound record with its bytes.
pub(crate) async fn import_inbound(
    conn: &mut PgConnection,
    x: &ArchivedInbound,
) -> StoreResult<()> {
    let x = InboundWrite {
        record: x.record.clone(),
        raw: x.raw.as_slice().into(),
    };
    let mut w = Writes::new();
    push_insert_inbound(&mut w, std::slice::from_ref(&x))?;
    run(conn, w).await
}

/// Imports an outbound mail with its bytes.
pub(crate) async fn import_outbound(
    conn: &mut PgConnection,
    x: &ArchivedOutbound,
) -> StoreResult<()> {
    let x = OutboundWrite {
        mail: x.mail.clone(),
        raw: x.raw.as_slice().into(),
    };
    let mut w = Writes::new();
    push_insert_outbound(&mut w, std::slice::from_ref(&x))?;
    run(conn, w).await
}

/// Imports a suppression.
pub(crate) async fn import_suppression(
    conn: &mut PgConnection,
    s: &Suppression,
) -> StoreResult<()> {
    let mut w = Writes::new();
    push_insert_suppressions(&mut w, std::slice::from_ref(s), false)?;
    run(conn, w).await
}

/// `AND (time, id) < (cursor)` for a list newest first.
fn push_before(q: &mut QueryBuilder<'_, Postgres>, col: &str, cursor: Option<Cursor>) {
    if let Some(c) = cursor {
        q.push(format!(" AND ({col}, id) < ("))
            .push_bind(micros(c.key))
            .push(", ")
            .push_bind(c.id)
            .push(")");
    }
}

/// A row of [`EmailStore::mail_by_message_id`].
#[derive(FromRow)]
struct MailRefRow {
    mailbox_id: Uuid,
    ticket_id: Option<Uuid>,
    outbound_id: Option<Uuid>,
}

#[async_trait]
impl EmailStore for PostgresStore {
    async fn get_inbound(&self, id: Uuid) -> StoreResult<Option<InboundRecord>> {
        let sql = format!(
            "SELECT {} FROM inbound_mail WHERE id = $1",
            InboundRow::COLS
        );
        fetch_optional_as::<InboundRow, _>(sqlx::query(&sql).bind(id), self.pool_ref()).await
    }

    async fn find_inbound(
        &self,
        mailbox_id: Uuid,
        dedupe_key: &str,
    ) -> StoreResult<Option<InboundRecord>> {
        let sql = format!(
            "SELECT {} FROM inbound_mail WHERE mailbox_id = $1 AND dedupe_key = $2",
            InboundRow::COLS
        );
        let query = sqlx::query(&sql).bind(mailbox_id).bind(dedupe_key);
        fetch_optional_as::<InboundRow, _>(query, self.pool_ref()).await
    }

    async fn inbound_raw(&self, id: Uuid) -> StoreResult<Option<Vec<u8>>> {
        sqlx::query_scalar("SELECT raw FROM inbound_raw WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool_ref())
            .await
            .store()
    }

    async fn list_inbound(
        &self,
        mailbox_id: Uuid,
        result: Option<InboundResult>,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<InboundRecord>> {
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT {} FROM inbound_mail WHERE mailbox_id = ",
            InboundRow::COLS
        ));
        q.push_bind(mailbox_id);
        if let Some(r) = result {
            q.push(" AND result = ").push_bind(r.as_str());
        }
        push_before(&mut q, "received_at", cursor);
        q.push(" ORDER BY received_at DESC, id DESC LIMIT ")
            .push_bind(i(limit as u64 + 1));
        fetch_all_as::<InboundRow, _>(q.build(), self.pool_ref()).await
    }

    async fn mail_by_message_id(&self, internet_message_id: &str) -> StoreResult<Vec<MailRef>> {
        let rows: Vec<MailRefRow> = sqlx::query_as(
            "SELECT mailbox_id, ticket_id, outbound_id FROM ( \
                 SELECT mailbox_id, ticket_id, NULL::uuid AS outbound_id, 0 AS way, \
                        received_at AS at, id \
                 FROM inbound_mail WHERE message_key = $1 \
                 UNION ALL \
                 SELECT mailbox_id, ticket_id, id, 1, created_at, id \
                 FROM outbound_mail WHERE message_key = $1) AS m \
             ORDER BY way, at, id",
        )
        .bind(message_key(internet_message_id))
        .fetch_all(self.pool_ref())
        .await
        .store()?;
        Ok(rows
            .into_iter()
            .map(|r| MailRef {
                mailbox_id: r.mailbox_id,
                ticket_id: r.ticket_id,
                outbound_id: r.outbound_id,
            })
            .collect())
    }

    async fn ticket_mail(&self, ticket_id: Uuid) -> StoreResult<TicketMail> {
        let mut conn = self.pool_ref().acquire().await.store()?;
        let sql = format!(
            "SELECT {} FROM inbound_mail WHERE ticket_id = $1 \
             AND internet_message_id IS NOT NULL \
             ORDER BY received_at DESC, id DESC LIMIT 1",
            InboundRow::COLS
        );
        let inbound =
            fetch_optional_as::<InboundRow, _>(sqlx::query(&sql).bind(ticket_id), &mut *conn)
                .await?;
        let sql = format!(
            "SELECT {} FROM outbound_mail WHERE ticket_id = $1 AND status <> 'suppressed' \
             ORDER BY created_at DESC, id DESC LIMIT 1",
            OutboundRow::COLS
        );
        let outbound =
            fetch_optional_as::<OutboundRow, _>(sqlx::query(&sql).bind(ticket_id), &mut *conn)
                .await?;
        Ok(TicketMail { inbound, outbound })
    }

    async fn claim_outbound(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboundMail>> {
        // One statement (its own transaction): lock the due mail that no other claimer
        // holds, move their next attempt to the lease's end, return them in due order.
        let sql = format!(
            "WITH due AS ( \
                 SELECT id, next_attempt_at FROM outbound_mail \
                 WHERE status IN ('pending', 'failed') AND next_attempt_at <= $1 \
                 ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED), \
             leased AS ( \
                 UPDATE outbound_mail o SET next_attempt_at = $3 FROM due \
                 WHERE o.id = due.id RETURNING {}) \
             SELECT leased.* FROM leased JOIN due ON due.id = leased.id \
             ORDER BY due.next_attempt_at, due.id",
            crate::rows::prefixed(OutboundRow::COLS, "o")
        );
        let query = sqlx::query(&sql)
            .bind(now)
            .bind(i(limit as u64))
            .bind(lease_until);
        fetch_all_as::<OutboundRow, _>(query, self.pool_ref()).await
    }

    async fn update_outbound(&self, mail: &OutboundMail, fx: &Effects) -> StoreResult<()> {
        // The mail's row and the effects are one statement; a bounce of this very mail
        // in `fx` is applied to the row written (no two CTEs may touch one row).
        let mut next = mail.clone();
        let mut fx = fx.clone();
        if fx.mail.bounced.contains(&mail.id) {
            next.status = OutboundStatus::Bounced;
            next.next_attempt_at = None;
            fx.mail.bounced.retain(|id| *id != mail.id);
        }
        let kind = name(&next.kind)?;
        let rejected = to_json(&next.rejected)?;
        let mut tx = self.begin().await?;
        let mut w = Writes::new();
        w.counted(|q| {
            q.push("UPDATE outbound_mail SET mailbox_id = ")
                .push_bind(next.mailbox_id)
                .push(", kind = ")
                .push_bind(kind)
                .push(", ticket_id = ")
                .push_bind(next.ticket_id)
                .push(", message_id = ")
                .push_bind(next.message_id)
                .push(", notification_id = ")
                .push_bind(next.notification_id)
                .push(", to_addresses = ")
                .push_bind(next.to.clone())
                .push(", cc_addresses = ")
                .push_bind(next.cc.clone())
                .push(", subject = ")
                .push_bind(next.subject.clone())
                .push(", internet_message_id = ")
                .push_bind(next.internet_message_id.clone())
                .push(", message_key = ")
                .push_bind(message_key(&next.internet_message_id))
                .push(", refs = ")
                .push_bind(next.references.clone())
                .push(", status = ")
                .push_bind(next.status.as_str())
                .push(", attempts = ")
                .push_bind(i32::try_from(next.attempts).unwrap_or(i32::MAX))
                .push(", last_smtp_code = ")
                .push_bind(next.last_smtp_code.map(i32::from))
                .push(", last_error = ")
                .push_bind(next.last_error.clone())
                .push(", rejected = ")
                .push_bind(rejected)
                .push(", next_attempt_at = ")
                .push_bind(next.next_attempt_at)
                .push(", sent_at = ")
                .push_bind(next.sent_at)
                .push(", created_at = ")
                .push_bind(next.created_at)
                .push(" WHERE id = ")
                .push_bind(next.id)
                .push(" RETURNING 1");
        });
        let written = w.run(&mut tx, &fx).await?;
        if written.counts.first() != Some(&1) {
            return Err(StoreError::NotFound);
        }
        self.commit(tx, written.wrote_events).await
    }

    async fn get_outbound(&self, id: Uuid) -> StoreResult<Option<OutboundMail>> {
        let sql = format!(
            "SELECT {} FROM outbound_mail WHERE id = $1",
            OutboundRow::COLS
        );
        fetch_optional_as::<OutboundRow, _>(sqlx::query(&sql).bind(id), self.pool_ref()).await
    }

    async fn outbound_raw(&self, id: Uuid) -> StoreResult<Option<Vec<u8>>> {
        sqlx::query_scalar("SELECT raw FROM outbound_raw WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool_ref())
            .await
            .store()
    }

    async fn list_outbound(
        &self,
        mailbox_id: Uuid,
        query: &OutboundQuery,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<OutboundMail>> {
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT {} FROM outbound_mail WHERE mailbox_id = ",
            OutboundRow::COLS
        ));
        q.push_bind(mailbox_id);
        if !query.statuses.is_empty() {
            let statuses: Vec<&str> = query.statuses.iter().map(|s| s.as_str()).collect();
            q.push(" AND status = ANY(").push_bind(statuses).push(")");
        }
        if let Some(t) = query.ticket_id {
            q.push(" AND ticket_id = ").push_bind(t);
        }
        push_before(&mut q, "created_at", cursor);
        q.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(i(limit as u64 + 1));
        fetch_all_as::<OutboundRow, _>(q.build(), self.pool_ref()).await
    }

    async fn count_auto_replies(&self, address: &str, since: DateTime<Utc>) -> StoreResult<usize> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM outbound_mail \
             WHERE kind = 'auto_reply' AND created_at >= $2 AND $1 = ANY(to_addresses)",
        )
        .bind(address)
        .bind(since)
        .fetch_one(self.pool_ref())
        .await
        .store()?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    async fn get_suppression(&self, address: &str) -> StoreResult<Option<Suppression>> {
        let sql = format!(
            "SELECT {} FROM suppressions WHERE address = $1",
            SuppressionRow::COLS
        );
        fetch_optional_as::<SuppressionRow, _>(sqlx::query(&sql).bind(address), self.pool_ref())
            .await
    }

    async fn list_suppressions(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Suppression>> {
        // `address` is `COLLATE "C"`: byte order, as the other stores list them.
        let mut q: QueryBuilder<Postgres> =
            QueryBuilder::new(format!("SELECT {} FROM suppressions", SuppressionRow::COLS));
        if let Some(a) = after {
            q.push(" WHERE address > ").push_bind(a.to_owned());
        }
        q.push(" ORDER BY address LIMIT ")
            .push_bind(i(limit as u64 + 1));
        fetch_all_as::<SuppressionRow, _>(q.build(), self.pool_ref()).await
    }

    async fn delete_suppression(&self, address: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM suppressions WHERE address = $1")
            .bind(address)
            .execute(self.pool_ref())
            .await
            .store()?;
        Ok(done.rows_affected() > 0)
    }
}
