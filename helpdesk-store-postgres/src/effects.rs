//! Writing [`Effects`] inside an operation's transaction: events with their ids and
//! webhook deliveries, notifications, ticket timeline entries; and the commit that sends
//! `NOTIFY` afterwards.

use helpdesk_core::event::{Effects, Event, EventId};
use helpdesk_core::notification::Notification;
use helpdesk_core::store::StoreResult;
use helpdesk_core::ticket::TicketEvent;
use helpdesk_core::webhook::{Delivery, Webhook};
use sqlx::{PgConnection, Postgres, QueryBuilder, Transaction};

use crate::PostgresStore;
use crate::error::SqlxResultExt;
use crate::rows::{self, delivery_status_str, i, to_json};

/// Bits of an event id that number the events of one transaction.
pub(crate) const EVENT_ID_SHIFT: u32 = 20;

/// The NOTIFY channel of new events.
pub(crate) const CHANNEL: &str = "helpdesk_events";

/// Writes `fx` in the transaction of `conn`. Call it at most once per transaction (event
/// ids are the transaction's xid8 plus a position that starts at 0 here). Returns
/// whether events were written, so the caller sends `NOTIFY` after commit.
pub(crate) async fn write_effects(conn: &mut PgConnection, fx: &Effects) -> StoreResult<bool> {
    if !fx.events.is_empty() {
        if fx.events.len() >= 1 << EVENT_ID_SHIFT {
            return Err(helpdesk_core::StoreError::other(
                "too many events in one operation",
            ));
        }
        let base: i64 = sqlx::query_scalar(&format!(
            "SELECT pg_current_xact_id()::text::bigint << {EVENT_ID_SHIFT}"
        ))
        .fetch_one(&mut *conn)
        .await
        .store()?;
        let webhooks = active_webhooks(conn).await?;
        for (n, new) in fx.events.iter().enumerate() {
            let id = base + n as i64;
            let event = Event::from_new(EventId(rows::u(id)), new);
            insert_event(conn, &event).await?;
            for w in webhooks.iter().filter(|w| w.wants(&event)) {
                insert_delivery(conn, &Delivery::pending(w, &event)).await?;
            }
        }
    }
    for n in &fx.notifications {
        insert_notification(conn, n).await?;
    }
    for e in &fx.ticket_events {
        insert_ticket_event(conn, e).await?;
    }
    Ok(!fx.events.is_empty())
}

async fn active_webhooks(conn: &mut PgConnection) -> StoreResult<Vec<Webhook>> {
    let sql = format!(
        "SELECT {} FROM webhooks WHERE active ORDER BY created_at, id",
        rows::WEBHOOK_COLS
    );
    let found = sqlx::query(&sql).fetch_all(&mut *conn).await.store()?;
    rows::all(&found, rows::webhook)
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
            .push_bind(e.kind.clone())
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
            .push_bind(d.event_type.clone())
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
         conversation_id, message_id, read_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
        "INSERT INTO ticket_events (id, ticket_id, kind, actor_id, at, data) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(e.id)
    .bind(e.ticket_id)
    .bind(&e.kind)
    .bind(e.actor_id)
    .bind(e.at)
    .bind(&e.data)
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

/// Sends `NOTIFY` from a background task, so a writer's reply never waits for it (a
/// NOTIFY is a transaction of its own, with its own commit), and coalesces: commits that
/// come while one NOTIFY is in flight share the next one.
pub(crate) struct Notifier {
    wake: std::sync::Arc<tokio::sync::Notify>,
    started: std::sync::Once,
}

impl Default for Notifier {
    fn default() -> Self {
        Notifier {
            wake: Default::default(),
            started: std::sync::Once::new(),
        }
    }
}

impl Notifier {
    /// Requests a NOTIFY; starts the task on first use (inside the caller's runtime).
    pub(crate) fn wake(&self, pool: &sqlx::PgPool) {
        self.started.call_once(|| {
            let wake = self.wake.clone();
            let pool = pool.clone();
            tokio::spawn(async move {
                loop {
                    wake.notified().await;
                    if pool.is_closed() {
                        return;
                    }
                    if let Err(e) = sqlx::query("SELECT pg_notify($1, '')")
                        .bind(CHANNEL)
                        .execute(&pool)
                        .await
                    {
                        tracing::warn!(error = %e, "NOTIFY {CHANNEL} failed; listeners catch up on their next poll");
                    }
                }
            });
        });
        self.wake.notify_one();
    }
}
