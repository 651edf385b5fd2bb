//! Writing [`Effects`] inside an operation's transaction: events with their ids and
//! webhook deliveries, notifications, ticket timeline entries, surveys, the email
//! channel's records ([`push_mail`]; a duplicate inbound record fails the
//! statement with `Conflict::Duplicate`); and the commit that sends `NOTIFY` afterwards.
//!
//! Effects are written by one statement of data-modifying CTEs (rows passed as arrays
//! and `UNNEST`ed), which may begin with the operation's own writes ([`Writes`]): every
//! statement is a round trip, and a round trip costs more here than the rows it writes.

use std::sync::atomic::Ordering;

use helpdesk_core::csat::Survey;
use helpdesk_core::email::{InboundWrite, MailEffects, OutboundStatus, OutboundWrite, Suppression};
use helpdesk_core::event::{Effects, Event, EventId};
use helpdesk_core::notification::Notification;
use helpdesk_core::store::StoreResult;
use helpdesk_core::ticket::TicketEvent;
use helpdesk_core::webhook::{Delivery, Webhook};
use sqlx::{PgConnection, Postgres, QueryBuilder, Transaction};
use uuid::Uuid;

use crate::PostgresStore;
use crate::error::SqlxResultExt;
use crate::mail_rows::{InboundRow, OutboundRow, SuppressionRow, message_key, name};
use crate::rows::cycle;
use crate::rows::{WebhookRow, delivery_status_str, fetch_all_as, i, to_json, u};

/// Bits of an event id that number the events of one transaction.
pub(crate) const EVENT_ID_SHIFT: u32 = 20;

/// The NOTIFY channel of new events.
pub(crate) const CHANNEL: &str = "helpdesk_events";

/// Whether a webhook endpoint is active, in SQL.
const ACTIVE_HOOKS: &str = "EXISTS (SELECT 1 FROM webhooks WHERE active)";
/// The SQLSTATE of a failed `require` (`0029_require.sql`).
const REQUIRED: &str = "HD001";
/// What a `require` says when a [`Writes::counted`] CTE did not return its rows.
const REQUIRED_COUNTS: &str = "counts";
/// What a `require` says when a webhook endpoint is active.
const NO_HOOKS: &str = "no active webhook";

/// Writes `fx` in the transaction of `conn`. Call it at most once per transaction (event
/// ids are the transaction's xid8 plus a position that starts at 0 here). Returns
/// whether events were written, so the caller sends `NOTIFY` after commit.
pub(crate) async fn write_effects(conn: &mut PgConnection, fx: &Effects) -> StoreResult<bool> {
    if fx.is_empty() {
        return Ok(false);
    }
    Ok(Writes::new().run(conn, fx).await?.wrote_events)
}

/// One statement of data-modifying CTEs: an operation's own writes, then its effects
/// (see [`Writes::run`]). All of them see the same snapshot, so no two may touch the
/// same row, and none sees another's rows unless it reads its `RETURNING`.
pub(crate) struct Writes {
    q: QueryBuilder<'static, Postgres>,
    ctes: usize,
    /// The counted CTEs and the rows each must return.
    counted: Vec<(usize, i64)>,
}

/// What [`Writes::run`] did.
pub(crate) struct Written {
    /// Whether events were written (the caller sends `NOTIFY` after commit).
    pub(crate) wrote_events: bool,
    /// The rows each [`Writes::counted`] CTE returned, in the order they were added.
    pub(crate) counts: Vec<i64>,
    /// Whether each returned the rows it must ([`Writes::counted_rows`]).
    pub(crate) as_counted: bool,
    /// Whether a webhook endpoint was active (always false without events).
    pub(crate) hooks: bool,
}

impl Writes {
    /// No writes yet.
    pub(crate) fn new() -> Self {
        Writes {
            q: QueryBuilder::new(""),
            ctes: 0,
            counted: Vec::new(),
        }
    }

    /// Adds a CTE; `body` pushes its statement (`INSERT`, `UPDATE`, ...).
    pub(crate) fn write(&mut self, body: impl FnOnce(&mut QueryBuilder<'static, Postgres>)) {
        self.q.push(if self.ctes == 0 { "WITH " } else { ", " });
        self.q.push(format!("w{} AS (", self.ctes));
        body(&mut self.q);
        self.q.push(")");
        self.ctes += 1;
    }

    /// Adds a CTE whose statement ends in `RETURNING`; [`Written::counts`] tells how many
    /// rows it returned (e.g. 0 when an `UPDATE`'s condition failed: the caller then
    /// returns an error, which rolls the whole transaction back).
    pub(crate) fn counted(&mut self, body: impl FnOnce(&mut QueryBuilder<'static, Postgres>)) {
        self.counted_rows(1, body);
    }

    /// [`Writes::counted`] of a CTE that must return `rows` rows (one per record of a
    /// batch) for the operation to stand.
    pub(crate) fn counted_rows(
        &mut self,
        rows: usize,
        body: impl FnOnce(&mut QueryBuilder<'static, Postgres>),
    ) {
        self.counted.push((self.ctes, i(rows as u64)));
        self.write(body);
    }

    /// Ends the statement with `main` (e.g. an `INSERT ... RETURNING` whose rows the
    /// caller reads) instead of effects.
    pub(crate) fn finish(
        mut self,
        main: impl FnOnce(&mut QueryBuilder<'static, Postgres>),
    ) -> QueryBuilder<'static, Postgres> {
        if self.ctes > 0 {
            self.q.push(" ");
        }
        main(&mut self.q);
        self.q
    }

    /// Adds the writes of `fx`; false when the statement then writes nothing at all.
    fn push_effects(&mut self, fx: &Effects) -> StoreResult<bool> {
        if fx.events.len() >= 1 << EVENT_ID_SHIFT {
            return Err(helpdesk_core::StoreError::other(
                "too many events in one operation",
            ));
        }
        if !fx.events.is_empty() {
            self.events(fx)?;
        }
        if !fx.notifications.is_empty() {
            self.notifications(&fx.notifications);
        }
        if !fx.ticket_events.is_empty() {
            self.ticket_events(&fx.ticket_events);
        }
        if !fx.surveys.is_empty() {
            self.surveys(&fx.surveys);
        }
        if !fx.mail.is_empty() {
            push_mail(self, &fx.mail)?;
        }
        Ok(self.ctes > 0)
    }

    /// Adds the writes of `fx` and runs the statement in the transaction of `conn`: at
    /// most once per transaction, since event ids are the transaction's xid8 shifted
    /// left by [`EVENT_ID_SHIFT`] plus the event's position, starting at 0 here. Webhook
    /// deliveries take one more statement to read the active endpoints and one to insert
    /// them, only when an endpoint is active.
    pub(crate) async fn run(
        mut self,
        conn: &mut PgConnection,
        fx: &Effects,
    ) -> StoreResult<Written> {
        if !self.push_effects(fx)? {
            return Ok(Written {
                wrote_events: false,
                counts: Vec::new(),
                as_counted: true,
                hooks: false,
            });
        }
        let counts: Vec<String> = self
            .counted
            .iter()
            .map(|(n, _)| format!("(SELECT count(*) FROM w{n})"))
            .collect();
        // The event id base and the webhook check only matter with events.
        let (base, hooks) = if fx.events.is_empty() {
            ("NULL::bigint".to_owned(), "false")
        } else {
            (
                format!("pg_current_xact_id()::text::bigint << {EVENT_ID_SHIFT}"),
                ACTIVE_HOOKS,
            )
        };
        self.q.push(format!(
            " SELECT {base} AS base, {hooks} AS hooks, ARRAY[{}]::bigint[] AS counts",
            counts.join(", ")
        ));
        let (base, hooks, counts): (Option<i64>, bool, Vec<i64>) = self
            .q
            .build_query_as()
            .fetch_one(&mut *conn)
            .await
            .store()?;
        if let Some(base) = base.filter(|_| hooks) {
            let webhooks = active_webhooks(conn).await?;
            let events: Vec<Event> = fx
                .events
                .iter()
                .enumerate()
                .map(|(n, new)| Event::from_new(EventId(u(base + n as i64)), new))
                .collect();
            let deliveries: Vec<Delivery> = events
                .iter()
                .flat_map(|e| {
                    webhooks
                        .iter()
                        .filter(|w| w.wants(e))
                        .map(|w| Delivery::pending(w, e))
                })
                .collect();
            insert_deliveries(conn, &deliveries.iter().collect::<Vec<_>>()).await?;
        }
        Ok(Written {
            wrote_events: !fx.events.is_empty(),
            as_counted: (counts.iter().zip(&self.counted)).all(|(c, (_, rows))| c == rows),
            counts,
            hooks,
        })
    }

    /// Adds the writes of `fx` and ends the statement with the checks that let it run
    /// on its own, outside a transaction (see [`PostgresStore::write_alone`]): every
    /// [`Writes::counted`] CTE returned its rows (else [`REQUIRED_COUNTS`] fails it), and,
    /// with events, no webhook endpoint is active (else [`NO_HOOKS`]). `None` when the
    /// statement would write nothing.
    fn finish_alone(
        mut self,
        fx: &Effects,
    ) -> StoreResult<Option<QueryBuilder<'static, Postgres>>> {
        if !self.push_effects(fx)? {
            return Ok(None);
        }
        let mut checks = Vec::new();
        if !fx.events.is_empty() {
            checks.push(format!("require(NOT {ACTIVE_HOOKS}, '{NO_HOOKS}')"));
        }
        if !self.counted.is_empty() {
            let each: Vec<String> = self
                .counted
                .iter()
                .map(|(n, rows)| format!("(SELECT count(*) FROM w{n}) = {rows}"))
                .collect();
            checks.push(format!(
                "require({}, '{REQUIRED_COUNTS}')",
                each.join(" AND ")
            ));
        }
        checks.push("true".to_owned());
        self.q.push(format!(" SELECT {}", checks.join(", ")));
        Ok(Some(self.q))
    }

    /// Events, with ids from the transaction's xid8 (the same `base` the final SELECT
    /// returns) and their position.
    fn events(&mut self, fx: &Effects) -> StoreResult<()> {
        let audiences = fx
            .events
            .iter()
            .map(|e| to_json(&e.audience))
            .collect::<StoreResult<Vec<_>>>()?;
        let kinds: Vec<&str> = fx.events.iter().map(|e| e.kind.as_str()).collect();
        let ats: Vec<_> = fx.events.iter().map(|e| e.at).collect();
        let data: Vec<_> = fx.events.iter().map(|e| e.data.clone()).collect();
        let only: Vec<_> = fx.events.iter().map(|e| e.only_webhook).collect();
        self.write(|q| {
            q.push(format!(
                "INSERT INTO events (id, kind, at, audience, data, only_webhook) \
                 SELECT (pg_current_xact_id()::text::bigint << {EVENT_ID_SHIFT}) + t.n - 1, \
                 t.kind, t.at, t.audience, t.data, t.only_webhook FROM UNNEST("
            ));
            q.push_bind(kinds).push("::text[], ");
            q.push_bind(ats).push("::timestamptz[], ");
            q.push_bind(audiences).push("::jsonb[], ");
            q.push_bind(data).push("::jsonb[], ");
            q.push_bind(only).push(
                "::uuid[]) WITH ORDINALITY \
                 AS t(kind, at, audience, data, only_webhook, n)",
            );
        });
        Ok(())
    }

    fn notifications(&mut self, ns: &[Notification]) {
        let ids: Vec<_> = ns.iter().map(|n| n.id).collect();
        let users: Vec<_> = ns.iter().map(|n| n.user_id).collect();
        let kinds: Vec<_> = ns.iter().map(|n| n.kind.as_str().to_owned()).collect();
        let titles: Vec<_> = ns.iter().map(|n| n.title.clone()).collect();
        let bodies: Vec<_> = ns.iter().map(|n| n.body.clone()).collect();
        let tickets: Vec<_> = ns.iter().map(|n| n.data.ticket_id).collect();
        let conversations: Vec<_> = ns.iter().map(|n| n.data.conversation_id).collect();
        let messages: Vec<_> = ns.iter().map(|n| n.data.message_id).collect();
        let read: Vec<_> = ns.iter().map(|n| n.read_at).collect();
        let created: Vec<_> = ns.iter().map(|n| n.created_at).collect();
        let tokens: Vec<_> = ns.iter().map(|n| n.data.csat_token.clone()).collect();
        self.write(|q| {
            q.push(
                "INSERT INTO notifications (id, user_id, kind, title, body, ticket_id, \
                 conversation_id, message_id, read_at, created_at, csat_token) \
                 SELECT * FROM UNNEST(",
            );
            q.push_bind(ids).push("::uuid[], ");
            q.push_bind(users).push("::uuid[], ");
            q.push_bind(kinds).push("::text[], ");
            q.push_bind(titles).push("::text[], ");
            q.push_bind(bodies).push("::text[], ");
            q.push_bind(tickets).push("::uuid[], ");
            q.push_bind(conversations).push("::uuid[], ");
            q.push_bind(messages).push("::uuid[], ");
            q.push_bind(read).push("::timestamptz[], ");
            q.push_bind(created).push("::timestamptz[], ");
            q.push_bind(tokens).push("::text[])");
        });
    }

    /// CSAT surveys: one per `(ticket_id, cycle)`, a duplicate skipped.
    fn surveys(&mut self, ss: &[Survey]) {
        let ids: Vec<_> = ss.iter().map(|s| s.id).collect();
        let tickets: Vec<_> = ss.iter().map(|s| s.ticket_id).collect();
        let cycles: Vec<i32> = ss.iter().map(|s| cycle(s.cycle)).collect();
        let assignees: Vec<_> = ss.iter().map(|s| s.assignee_id).collect();
        let groups: Vec<_> = ss.iter().map(|s| s.group_id).collect();
        let ratings: Vec<Option<i16>> = ss.iter().map(|s| s.rating.map(i16::from)).collect();
        let comments: Vec<_> = ss.iter().map(|s| s.comment.clone()).collect();
        let created: Vec<_> = ss.iter().map(|s| s.created_at).collect();
        let expires: Vec<_> = ss.iter().map(|s| s.expires_at).collect();
        let responded: Vec<_> = ss.iter().map(|s| s.responded_at).collect();
        let hashes: Vec<_> = ss.iter().map(|s| s.token_hash.clone()).collect();
        self.write(|q| {
            q.push(format!(
                "INSERT INTO surveys ({}) SELECT * FROM UNNEST(",
                crate::rows::SURVEY_COLS
            ));
            q.push_bind(ids).push("::uuid[], ");
            q.push_bind(tickets).push("::uuid[], ");
            q.push_bind(cycles).push("::integer[], ");
            q.push_bind(assignees).push("::uuid[], ");
            q.push_bind(groups).push("::uuid[], ");
            q.push_bind(ratings).push("::smallint[], ");
            q.push_bind(comments).push("::text[], ");
            q.push_bind(created).push("::timestamptz[], ");
            q.push_bind(expires).push("::timestamptz[], ");
            q.push_bind(responded).push("::timestamptz[], ");
            q.push_bind(hashes)
                .push("::text[]) ON CONFLICT (ticket_id, cycle) DO NOTHING");
        });
    }

    fn ticket_events(&mut self, es: &[TicketEvent]) {
        let ids: Vec<_> = es.iter().map(|e| e.id).collect();
        let tickets: Vec<_> = es.iter().map(|e| e.ticket_id).collect();
        let kinds: Vec<&str> = es.iter().map(|e| e.kind.as_str()).collect();
        let actors: Vec<_> = es.iter().map(|e| e.actor_id).collect();
        let ats: Vec<_> = es.iter().map(|e| e.at).collect();
        let data: Vec<_> = es.iter().map(|e| e.data.clone()).collect();
        let vias: Vec<Option<serde_json::Value>> = es
            .iter()
            .map(|e| e.via.map(|v| serde_json::json!(v)))
            .collect();
        self.write(|q| {
            q.push(
                "INSERT INTO ticket_events (id, ticket_id, kind, actor_id, at, data, via) \
                 SELECT * FROM UNNEST(",
            );
            q.push_bind(ids).push("::uuid[], ");
            q.push_bind(tickets).push("::uuid[], ");
            q.push_bind(kinds).push("::text[], ");
            q.push_bind(actors).push("::uuid[], ");
            q.push_bind(ats).push("::timestamptz[], ");
            q.push_bind(data).push("::jsonb[], ");
            q.push_bind(vias).push("::jsonb[])");
        });
    }
}

async fn active_webhooks(conn: &mut PgConnection) -> StoreResult<Vec<Webhook>> {
    let sql = format!(
        "SELECT {} FROM webhooks WHERE active ORDER BY created_at, id",
        WebhookRow::COLS
    );
    fetch_all_as::<WebhookRow, _>(sqlx::query(&sql), &mut *conn).await
}

pub(crate) async fn insert_event(conn: &mut PgConnection, e: &Event) -> StoreResult<()> {
    insert_events(conn, &[e]).await
}

/// Inserts events with one statement.
pub(crate) async fn insert_events(conn: &mut PgConnection, es: &[&Event]) -> StoreResult<()> {
    if es.is_empty() {
        return Ok(());
    }
    let audiences = es
        .iter()
        .map(|e| to_json(&e.audience))
        .collect::<StoreResult<Vec<_>>>()?;
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new("INSERT INTO events (id, kind, at, audience, data, only_webhook) ");
    q.push_values(es.iter().zip(audiences), |mut row, (e, audience)| {
        row.push_bind(i(e.id.0))
            .push_bind(e.kind.as_str())
            .push_bind(e.at)
            .push_bind(audience)
            .push_bind(e.data.clone())
            .push_bind(e.only_webhook);
    });
    q.build().execute(&mut *conn).await.store()?;
    Ok(())
}

pub(crate) async fn insert_delivery(conn: &mut PgConnection, d: &Delivery) -> StoreResult<()> {
    insert_deliveries(conn, &[d]).await
}

/// Inserts deliveries with one statement.
pub(crate) async fn insert_deliveries(
    conn: &mut PgConnection,
    ds: &[&Delivery],
) -> StoreResult<()> {
    if ds.is_empty() {
        return Ok(());
    }
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
        "INSERT INTO deliveries (id, webhook_id, event_id, event_type, status, attempts, \
         last_status_code, last_error, next_attempt_at, created_at) ",
    );
    q.push_values(ds, |mut row, d| {
        row.push_bind(d.id)
            .push_bind(d.webhook_id)
            .push_bind(i(d.event_id.0))
            .push_bind(d.event_type.as_str())
            .push_bind(delivery_status_str(d.status))
            .push_bind(i32::try_from(d.attempts).unwrap_or(i32::MAX))
            .push_bind(d.last_status_code.map(i32::from))
            .push_bind(d.last_error.clone())
            .push_bind(d.next_attempt_at)
            .push_bind(d.created_at);
    });
    q.build().execute(&mut *conn).await.store()?;
    Ok(())
}

pub(crate) async fn insert_notification(
    conn: &mut PgConnection,
    n: &Notification,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO notifications (id, user_id, kind, title, body, ticket_id, \
         conversation_id, message_id, read_at, created_at, csat_token) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(n.id)
    .bind(n.user_id)
    .bind(n.kind.as_str())
    .bind(&n.title)
    .bind(&n.body)
    .bind(n.data.ticket_id)
    .bind(n.data.conversation_id)
    .bind(n.data.message_id)
    .bind(n.read_at)
    .bind(n.created_at)
    .bind(n.data.csat_token.as_deref())
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

pub(crate) async fn insert_ticket_event(
    conn: &mut PgConnection,
    e: &TicketEvent,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO ticket_events (id, ticket_id, kind, actor_id, at, data, via) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(e.id)
    .bind(e.ticket_id)
    .bind(e.kind.as_str())
    .bind(e.actor_id)
    .bind(e.at)
    .bind(&e.data)
    .bind(e.via.map(|v| serde_json::json!(v)))
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

impl PostgresStore {
    /// Starts an operation's transaction.
    pub(crate) async fn begin(&self) -> StoreResult<Transaction<'static, Postgres>> {
        self.pool_ref().begin().await.store()
    }

    /// Commits, then (outside the transaction, so committers are not serialized on the
    /// notify queue, and in the background, see [`Notifier`]) wakes listeners when
    /// events were written. A lost NOTIFY only delays readers: the table is the truth.
    pub(crate) async fn commit(
        &self,
        tx: Transaction<'static, Postgres>,
        wrote_events: bool,
    ) -> StoreResult<()> {
        tx.commit().await.store()?;
        if wrote_events {
            self.inner.notifier.wake(&self.inner.pool);
        }
        Ok(())
    }

    /// Runs the writes of `writes()` and `fx` as one statement on its own: no `BEGIN`,
    /// no `COMMIT`, one round trip. Every [`Writes::counted`] CTE must return its rows,
    /// else the operation fails with `failed()` and writes nothing.
    ///
    /// The deliveries of events to active webhook endpoints take statements of their
    /// own (see [`Writes::run`]), so while endpoints are active the writes run in a
    /// transaction as before. Whether one is, this instance learns from the statements
    /// themselves: the lone statement fails when it finds one (and writes nothing), the
    /// transaction's statement says whether it found one.
    pub(crate) async fn write_alone(
        &self,
        writes: impl Fn() -> StoreResult<Writes>,
        fx: &Effects,
        failed: impl Fn() -> helpdesk_core::StoreError,
    ) -> StoreResult<()> {
        let hooks_seen = &self.inner.hooks_seen;
        if !hooks_seen.load(Ordering::Relaxed) {
            let Some(mut statement) = writes()?.finish_alone(fx)? else {
                return Ok(());
            };
            match statement.build().execute(self.pool_ref()).await {
                Ok(_) => {
                    if !fx.events.is_empty() {
                        self.inner.notifier.wake(&self.inner.pool);
                    }
                    return Ok(());
                }
                Err(e) => match required_failed(&e) {
                    Some(REQUIRED_COUNTS) => return Err(failed()),
                    Some(NO_HOOKS) => hooks_seen.store(true, Ordering::Relaxed),
                    _ => return Err(crate::map_err(e)),
                },
            }
        }
        let mut tx = self.begin().await?;
        let written = writes()?.run(&mut tx, fx).await?;
        if !fx.events.is_empty() {
            hooks_seen.store(written.hooks, Ordering::Relaxed);
        }
        if !written.as_counted {
            return Err(failed());
        }
        self.commit(tx, written.wrote_events).await
    }

    /// Runs `fx` in a transaction of its own.
    pub(crate) async fn effects_only(&self, fx: &Effects) -> StoreResult<()> {
        if fx.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await
    }
}

/// What the `require` that failed `e` said, if one did.
fn required_failed(e: &sqlx::Error) -> Option<&str> {
    match e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some(REQUIRED) => Some(db.message()),
        _ => None,
    }
}

/// Sends `NOTIFY` from a background task, so a writer's reply never waits for it (a
/// NOTIFY is a transaction of its own, with its own commit), and coalesces: commits that
/// come while one NOTIFY is in flight, or within [`NOTIFY_GAP`] after it, share the next
/// one. Its payload is the store's token, by which the store's own listener tells the
/// notifications of its own writes (the library wakes its tailer for those itself) from
/// those of other instances.
pub(crate) struct Notifier {
    wake: std::sync::Arc<tokio::sync::Notify>,
    started: std::sync::Once,
    token: String,
}

/// The least time between two NOTIFYs of one store: under load, a NOTIFY (a commit)
/// per write cost every listening instance a look at the log per write, and this one's
/// writers several percent of their rate. Another instance hears of a write at most
/// this much later.
const NOTIFY_GAP: std::time::Duration = std::time::Duration::from_millis(2);

impl Notifier {
    /// A notifier whose NOTIFYs carry `token`.
    pub(crate) fn new(token: String) -> Self {
        Notifier {
            wake: Default::default(),
            started: std::sync::Once::new(),
            token,
        }
    }

    /// Requests a NOTIFY; starts the task on first use (inside the caller's runtime).
    pub(crate) fn wake(&self, pool: &sqlx::PgPool) {
        self.started.call_once(|| {
            let wake = self.wake.clone();
            let pool = pool.clone();
            let token = self.token.clone();
            tokio::spawn(async move {
                loop {
                    wake.notified().await;
                    if pool.is_closed() {
                        return;
                    }
                    if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(CHANNEL)
                        .bind(&token)
                        .execute(&pool)
                        .await
                    {
                        tracing::warn!(error = %e, "NOTIFY {CHANNEL} failed; listeners catch up on their next poll");
                    }
                    tokio::time::sleep(NOTIFY_GAP).await;
                }
            });
        });
        self.wake.notify_one();
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
pub(crate) fn push_insert_inbound(w: &mut Writes, ws: &[InboundWrite]) -> StoreResult<()> {
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
pub(crate) fn push_insert_outbound(w: &mut Writes, ws: &[OutboundWrite]) -> StoreResult<()> {
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
pub(crate) fn push_insert_suppressions(
    w: &mut Writes,
    ss: &[Suppression],
    keep: bool,
) -> StoreResult<()> {
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
