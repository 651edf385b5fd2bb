//! The email channel's records (`EmailStore`, `0025_email.sql`): inbound records
//! (`inbound_mail`, bytes in `inbound_raw`), the outbox (`outbound_mail`, bytes in
//! `outbound_raw`) and suppressions. Lists never read the bytes.
//!
//! They are written with the change that makes them: [`push_mail`] adds their writes to
//! an operation's statement of CTEs ([`Writes`]). An inbound record whose
//! `(mailbox_id, dedupe_key)` is stored already violates `inbound_mail_dedupe`, which
//! fails the statement, and so the operation, with `Conflict::Duplicate`. Message-IDs are
//! matched on `message_key`, the Message-ID ASCII-lower-cased here. The outbox is
//! claimed like webhook deliveries (`FOR UPDATE SKIP LOCKED`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::StoreError;
use helpdesk_core::archive::{ArchivedInbound, ArchivedOutbound};
use helpdesk_core::email::{
    InboundRecord, InboundResult, InboundWrite, MailEffects, MailRef, OutboundMail, OutboundQuery,
    OutboundStatus, OutboundWrite, Suppression, TicketMail,
};
use helpdesk_core::event::Effects;
use helpdesk_core::page::Cursor;
use helpdesk_core::store::{EmailStore, StoreResult};
use serde_json::Value;
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::PostgresStore;
use crate::effects::Writes;
use crate::error::SqlxResultExt;
use crate::rows::{corrupt, fetch_all_as, fetch_optional_as, i, micros, to_json, u};

/// The serde name of a unit variant (`"smtp"`, `"auto_reply"`), for a text column.
fn name<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    match to_json(v)? {
        Value::String(s) => Ok(s),
        other => Err(StoreError::other(format!("not a name: {other}"))),
    }
}

/// A text column holding a serde name, as its enum.
fn named<T: serde::de::DeserializeOwned>(s: String, what: &str) -> StoreResult<T> {
    serde_json::from_value(Value::String(s)).map_err(|e| corrupt(format!("bad {what}: {e}")))
}

/// A Message-ID as the index compares it.
fn message_key(id: &str) -> String {
    id.to_ascii_lowercase()
}

/// A stored integer as a u16 (an SMTP code).
fn code(v: i32, what: &str) -> StoreResult<u16> {
    u16::try_from(v).map_err(|_| corrupt(format!("bad {what} {v}")))
}

#[derive(FromRow)]
pub(crate) struct InboundRow {
    id: Uuid,
    mailbox_id: Uuid,
    internet_message_id: Option<String>,
    dedupe_key: String,
    from_address: Option<String>,
    to_addresses: Vec<String>,
    cc_addresses: Vec<String>,
    subject: String,
    size: i64,
    via: String,
    auto: bool,
    result: String,
    reason: Option<String>,
    ticket_id: Option<Uuid>,
    message_id: Option<Uuid>,
    left_out: Vec<String>,
    refs: Vec<String>,
    received_at: DateTime<Utc>,
}

/// The columns of an inbound record (a macro, so that the archive's list can add the
/// bytes' column).
macro_rules! inbound_cols {
    () => {
        "id, mailbox_id, internet_message_id, dedupe_key, from_address, to_addresses, \
         cc_addresses, subject, size, via, auto, result, reason, ticket_id, message_id, \
         left_out, refs, received_at"
    };
}

/// The columns of an outbound mail (see [`inbound_cols`]).
macro_rules! outbound_cols {
    () => {
        "id, mailbox_id, kind, ticket_id, message_id, notification_id, to_addresses, \
         cc_addresses, subject, internet_message_id, refs, status, attempts, last_smtp_code, \
         last_error, rejected, next_attempt_at, sent_at, created_at"
    };
}

impl InboundRow {
    pub(crate) const COLS: &str = inbound_cols!();
    /// With the bytes, from `inbound_mail JOIN inbound_raw USING (id)`.
    pub(crate) const ARCHIVE_COLS: &str = concat!(inbound_cols!(), ", raw");
}

impl TryFrom<InboundRow> for InboundRecord {
    type Error = StoreError;
    fn try_from(r: InboundRow) -> StoreResult<InboundRecord> {
        Ok(InboundRecord {
            id: r.id,
            mailbox_id: r.mailbox_id,
            internet_message_id: r.internet_message_id,
            dedupe_key: r.dedupe_key,
            from: r.from_address,
            to: r.to_addresses,
            cc: r.cc_addresses,
            subject: r.subject,
            size: u(r.size),
            via: named(r.via, "inbound via")?,
            auto: r.auto,
            result: InboundResult::parse(&r.result)
                .ok_or_else(|| corrupt(format!("bad inbound result {:?}", r.result)))?,
            reason: r.reason.map(|x| named(x, "ignore reason")).transpose()?,
            ticket_id: r.ticket_id,
            message_id: r.message_id,
            left_out: r.left_out,
            references: r.refs,
            received_at: r.received_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct OutboundRow {
    id: Uuid,
    mailbox_id: Uuid,
    kind: String,
    ticket_id: Option<Uuid>,
    message_id: Option<Uuid>,
    notification_id: Option<Uuid>,
    to_addresses: Vec<String>,
    cc_addresses: Vec<String>,
    subject: String,
    internet_message_id: String,
    refs: Vec<String>,
    status: String,
    attempts: i32,
    last_smtp_code: Option<i32>,
    last_error: Option<String>,
    rejected: Value,
    next_attempt_at: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl OutboundRow {
    pub(crate) const COLS: &str = outbound_cols!();
    /// With the bytes, from `outbound_mail JOIN outbound_raw USING (id)`.
    pub(crate) const ARCHIVE_COLS: &str = concat!(outbound_cols!(), ", raw");
}

impl TryFrom<OutboundRow> for OutboundMail {
    type Error = StoreError;
    fn try_from(r: OutboundRow) -> StoreResult<OutboundMail> {
        Ok(OutboundMail {
            id: r.id,
            mailbox_id: r.mailbox_id,
            kind: named(r.kind, "outbound kind")?,
            ticket_id: r.ticket_id,
            message_id: r.message_id,
            notification_id: r.notification_id,
            to: r.to_addresses,
            cc: r.cc_addresses,
            subject: r.subject,
            internet_message_id: r.internet_message_id,
            references: r.refs,
            status: OutboundStatus::parse(&r.status)
                .ok_or_else(|| corrupt(format!("bad outbound status {:?}", r.status)))?,
            attempts: u32::try_from(r.attempts)
                .map_err(|_| corrupt(format!("bad attempts {}", r.attempts)))?,
            last_smtp_code: r.last_smtp_code.map(|c| code(c, "smtp code")).transpose()?,
            last_error: r.last_error,
            rejected: serde_json::from_value(r.rejected)
                .map_err(|e| corrupt(format!("bad rejected: {e}")))?,
            next_attempt_at: r.next_attempt_at,
            sent_at: r.sent_at,
            created_at: r.created_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct SuppressionRow {
    address: String,
    reason: String,
    detail: String,
    outbound_id: Option<Uuid>,
    created_at: DateTime<Utc>,
}

impl SuppressionRow {
    pub(crate) const COLS: &str = "address, reason, detail, outbound_id, created_at";
}

impl TryFrom<SuppressionRow> for Suppression {
    type Error = StoreError;
    fn try_from(r: SuppressionRow) -> StoreResult<Suppression> {
        Ok(Suppression {
            address: r.address,
            reason: named(r.reason, "suppression reason")?,
            detail: r.detail,
            outbound_id: r.outbound_id,
            created_at: r.created_at,
        })
    }
}

/// Adds the writes of `mail` to `w`: the inbound record and its bytes, new outbound
/// mail and theirs, suppressions (an address suppressed already keeps its row), and
/// the bounces. No two CTEs of one statement may touch the same row: new mail that
/// `bounced` names is inserted `bounced` instead of being updated.
pub(crate) fn push_mail(w: &mut Writes, mail: &MailEffects) -> StoreResult<()> {
    if let Some(inbound) = &mail.inbound {
        push_insert_inbound(w, std::slice::from_ref(inbound))?;
    }
    if !mail.outbound.is_empty() {
        let outbound: Vec<OutboundWrite> = mail
            .outbound
            .iter()
            .map(|o| {
                let mut o = o.clone();
                if mail.bounced.contains(&o.mail.id) {
                    o.mail.status = OutboundStatus::Bounced;
                    o.mail.next_attempt_at = None;
                }
                o
            })
            .collect();
        push_insert_outbound(w, &outbound)?;
    }
    if !mail.suppressions.is_empty() {
        push_insert_suppressions(w, &mail.suppressions, true)?;
    }
    let bounced: Vec<Uuid> = mail
        .bounced
        .iter()
        .filter(|id| !mail.outbound.iter().any(|o| o.mail.id == **id))
        .copied()
        .collect();
    if !bounced.is_empty() {
        w.write(|q| {
            q.push(
                "UPDATE outbound_mail SET status = 'bounced', next_attempt_at = NULL \
                 WHERE id = ANY(",
            )
            .push_bind(bounced)
            .push(")");
        });
    }
    Ok(())
}

/// Inserts inbound records with their bytes (two CTEs).
fn push_insert_inbound(w: &mut Writes, ws: &[InboundWrite]) -> StoreResult<()> {
    let mut rows = Vec::with_capacity(ws.len());
    for x in ws {
        let r = &x.record;
        rows.push((
            r.clone(),
            name(&r.via)?,
            r.reason.as_ref().map(name).transpose()?,
        ));
    }
    w.write(|q| {
        q.push(format!(
            "INSERT INTO inbound_mail ({}, message_key) ",
            InboundRow::COLS
        ));
        q.push_values(rows, |mut row, (r, via, reason)| {
            let key = r.internet_message_id.as_deref().map(message_key);
            row.push_bind(r.id)
                .push_bind(r.mailbox_id)
                .push_bind(r.internet_message_id)
                .push_bind(r.dedupe_key)
                .push_bind(r.from)
                .push_bind(r.to)
                .push_bind(r.cc)
                .push_bind(r.subject)
                .push_bind(i(r.size))
                .push_bind(via)
                .push_bind(r.auto)
                .push_bind(r.result.as_str())
                .push_bind(reason)
                .push_bind(r.ticket_id)
                .push_bind(r.message_id)
                .push_bind(r.left_out)
                .push_bind(r.references)
                .push_bind(r.received_at)
                .push_bind(key);
        });
    });
    let raws: Vec<(Uuid, Vec<u8>)> = ws.iter().map(|x| (x.record.id, x.raw.to_vec())).collect();
    w.write(|q| {
        q.push("INSERT INTO inbound_raw (id, raw) ");
        q.push_values(raws, |mut row, (id, raw)| {
            row.push_bind(id).push_bind(raw);
        });
    });
    Ok(())
}

/// Inserts outbound mail with their bytes (two CTEs).
fn push_insert_outbound(w: &mut Writes, ws: &[OutboundWrite]) -> StoreResult<()> {
    let mut rows = Vec::with_capacity(ws.len());
    for x in ws {
        let m = &x.mail;
        rows.push((m.clone(), name(&m.kind)?, to_json(&m.rejected)?));
    }
    w.write(|q| {
        q.push(format!(
            "INSERT INTO outbound_mail ({}, message_key) ",
            OutboundRow::COLS
        ));
        q.push_values(rows, |mut row, (m, kind, rejected)| {
            let key = message_key(&m.internet_message_id);
            row.push_bind(m.id)
                .push_bind(m.mailbox_id)
                .push_bind(kind)
                .push_bind(m.ticket_id)
                .push_bind(m.message_id)
                .push_bind(m.notification_id)
                .push_bind(m.to)
                .push_bind(m.cc)
                .push_bind(m.subject)
                .push_bind(m.internet_message_id)
                .push_bind(m.references)
                .push_bind(m.status.as_str())
                .push_bind(i32::try_from(m.attempts).unwrap_or(i32::MAX))
                .push_bind(m.last_smtp_code.map(i32::from))
                .push_bind(m.last_error)
                .push_bind(rejected)
                .push_bind(m.next_attempt_at)
                .push_bind(m.sent_at)
                .push_bind(m.created_at)
                .push_bind(key);
        });
    });
    let raws: Vec<(Uuid, Vec<u8>)> = ws.iter().map(|x| (x.mail.id, x.raw.to_vec())).collect();
    w.write(|q| {
        q.push("INSERT INTO outbound_raw (id, raw) ");
        q.push_values(raws, |mut row, (id, raw)| {
            row.push_bind(id).push_bind(raw);
        });
    });
    Ok(())
}

/// Inserts suppressions; with `keep`, an address suppressed already keeps its row (else
/// a second one is `Conflict::Unique`).
fn push_insert_suppressions(w: &mut Writes, ss: &[Suppression], keep: bool) -> StoreResult<()> {
    let mut rows = Vec::with_capacity(ss.len());
    for s in ss {
        rows.push((s.clone(), name(&s.reason)?));
    }
    w.write(|q| {
        q.push(format!(
            "INSERT INTO suppressions ({}) ",
            SuppressionRow::COLS
        ));
        q.push_values(rows, |mut row, (s, reason)| {
            row.push_bind(s.address)
                .push_bind(reason)
                .push_bind(s.detail)
                .push_bind(s.outbound_id)
                .push_bind(s.created_at);
        });
        if keep {
            q.push(" ON CONFLICT (address) DO NOTHING");
        }
    });
    Ok(())
}

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
