//! The event log (`events_after`, `last_event_id`, `append_effects`) and the store's
//! LISTEN connection: `helpdesk_events` behind `wait_for_external_events`, and the
//! ephemeral channel's `helpdesk_ephemeral` (see `ephemeral.rs`).
//!
//! Ids are `xid8 << 20 | position`, so id order is the order of the writing
//! transactions' xids. A read takes the lowest xid still in progress in its own
//! snapshot (the frontier) and returns only ids below `frontier << 20`, in the same
//! statement, so with the same snapshot: every transaction with a lower xid had finished
//! when the snapshot was taken, so the snapshot sees all it committed, and every
//! transaction still in flight (or without an xid yet, as one that has not written yet)
//! has an xid at or above the frontier, so it can only add ids above what the reader
//! returned. Nothing committed late is ever skipped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::event::{Effects, Event, EventId};
use helpdesk_core::store::support::SignalBus;
use helpdesk_core::store::{EventStore, SignalReceiver, StoreResult};
use sqlx::postgres::PgListener;
use sqlx::{FromRow, PgPool};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::PostgresStore;
use crate::effects::{CHANNEL, EVENT_ID_SHIFT};
use crate::ephemeral::EPHEMERAL_CHANNEL;
use crate::error::SqlxResultExt;
use crate::rows::{EventRow, corrupt, decode, i, u};

/// A CTE `frontier(id)`: the first event id the statement's snapshot may not return,
/// `min(xids in progress in the snapshot, its xmax) << 20`, leaving out the xids that
/// `pg_stat_activity` shows running in another database (they cannot write this log, and
/// a long transaction there must not hold the log back). Every other xid counts: one
/// that ended before `pg_stat_activity` was read may have been this database's. Among
/// xids running at once the low 32 bits (`backend_xid` is an `xid`) tell them apart.
/// When no committed event lies at or above the snapshot's xmin (the lowest of all those
/// xids) the xmin is the answer, and `pg_stat_activity` (a copy of every backend's
/// status) is not read. Runs inside the reading statement: `pg_current_snapshot()` is
/// that statement's snapshot, the one its reads see.
const FRONTIER_CTE: &str = "\
    frontier AS ( \
        SELECT CASE WHEN pg_snapshot_xmin(s)::text::bigint << 20 \
                         > coalesce((SELECT max(id) FROM events), -1) \
            THEN pg_snapshot_xmin(s)::text::bigint << 20 \
            ELSE least(pg_snapshot_xmax(s)::text::bigint, \
                (SELECT min(x::text::bigint) FROM pg_snapshot_xip(s) AS x \
                 WHERE x::text::bigint % 4294967296 NOT IN ( \
                     SELECT a.backend_xid::text::bigint FROM pg_stat_activity a \
                     WHERE a.backend_xid IS NOT NULL \
                       AND a.datname IS DISTINCT FROM current_database()))) << 20 \
            END AS id \
        FROM pg_current_snapshot() AS s)";

/// Events (and read notifications) deleted per statement when pruning.
pub(crate) const PRUNE_BATCH: u64 = 1000;

/// How long a read waits for transactions in flight that hide events committed before
/// it began.
const HIDDEN_WAIT: Duration = Duration::from_secs(2);
/// The longest pause between two looks while waiting.
const MAX_PAUSE: Duration = Duration::from_millis(8);

/// A row of a look: the frontier and the newest id (alike in every row), and the
/// event's columns, NULL in the one row of a look that found no event.
#[derive(FromRow)]
struct LookRow {
    frontier: i64,
    newest: Option<i64>,
    id: Option<i64>,
}

/// One look at the log (see [`FRONTIER_CTE`]).
struct Look {
    /// The first id not returned.
    frontier: i64,
    /// The newest committed id, returned or not.
    newest: Option<i64>,
    /// Events after the reader's position below the frontier, ascending.
    events: Vec<Event>,
}

impl PostgresStore {
    /// Reads events after `after` (exclusive, `-1`: all) below the frontier, at most
    /// `limit`, with the frontier and the newest id, in one statement.
    async fn look(&self, after: i64, limit: usize) -> StoreResult<Look> {
        // The LEFT JOIN gives one row (frontier and newest, events columns NULL) when no
        // event is readable.
        let sql = format!(
            "WITH {FRONTIER_CTE} \
             SELECT f.id AS frontier, (SELECT max(id) FROM events) AS newest, e.* \
             FROM frontier f LEFT JOIN LATERAL ( \
                 SELECT {} FROM events WHERE id > $1 AND id < f.id ORDER BY id LIMIT $2 \
             ) e ON true",
            EventRow::COLS
        );
        let found = sqlx::query(&sql)
            .bind(after)
            .bind(i(limit as u64))
            .fetch_all(self.pool_ref())
            .await
            .store()?;
        let first = found
            .first()
            .ok_or_else(|| corrupt("the event log query returned no row"))?;
        let head = LookRow::from_row(first).store()?;
        let mut events = Vec::with_capacity(found.len());
        for r in &found {
            if LookRow::from_row(r).store()?.id.is_some() {
                events.push(decode::<EventRow, Event>(r)?);
            }
        }
        Ok(Look {
            frontier: head.frontier,
            newest: head.newest,
            events,
        })
    }
}

#[async_trait]
impl EventStore for PostgresStore {
    async fn append_effects(&self, fx: &Effects) -> StoreResult<()> {
        self.effects_only(fx).await
    }

    /// Waits (bounded by `HIDDEN_WAIT`, 2 s) only while a transaction in flight hides an
    /// event committed before the call, so a caller sees what was committed before it
    /// asked; events committed meanwhile are not waited for (their commits NOTIFY).
    /// Under a steady stream of writes the wait is the life of the oldest transaction
    /// in flight at the call, not until no transaction is in flight.
    async fn events_after(&self, after: Option<EventId>, limit: usize) -> StoreResult<Vec<Event>> {
        debug_assert_eq!(EVENT_ID_SHIFT, 20);
        let after = after.map_or(-1, |a| i(a.0));
        let deadline = tokio::time::Instant::now() + HIDDEN_WAIT;
        let mut pause = Duration::from_millis(1);
        let mut target = None;
        loop {
            let look = self.look(after, limit).await?;
            let target = *target.get_or_insert(look.newest.unwrap_or(-1));
            if target < look.frontier
                || look.events.len() >= limit
                || tokio::time::Instant::now() >= deadline
            {
                return Ok(look.events);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }

    async fn last_event_id(&self) -> StoreResult<Option<EventId>> {
        // No waiting here: the answer must describe the log as of the call (a tailer
        // starts after it), not include what commits while we wait.
        // With the pruning horizon: ids never go back, even with the log pruned empty.
        let id: Option<i64> = sqlx::query_scalar(&format!(
            "WITH {FRONTIER_CTE} SELECT greatest( \
                 (SELECT max(e.id) FROM events e, frontier f WHERE e.id < f.id), \
                 (SELECT through FROM event_horizon))"
        ))
        .fetch_one(self.pool_ref())
        .await
        .store()?;
        Ok(id.map(|id| EventId(u(id))))
    }

    async fn prune_events(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        // A batch per statement; the events deliveries name stay (their redelivery
        // sends them), and the horizon moves in the same statement.
        let mut gone = 0;
        loop {
            let deleted: i64 = sqlx::query_scalar(
                "WITH gone AS ( \
                     DELETE FROM events WHERE id IN ( \
                         SELECT e.id FROM events e WHERE e.at < $1 \
                         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) \
                         ORDER BY e.id LIMIT $2) \
                     RETURNING id), \
                 horizon AS ( \
                     INSERT INTO event_horizon (through) \
                     SELECT max(id) FROM gone HAVING count(*) > 0 \
                     ON CONFLICT (one) DO UPDATE \
                     SET through = greatest(event_horizon.through, EXCLUDED.through)) \
                 SELECT count(*) FROM gone",
            )
            .bind(before)
            .bind(i(PRUNE_BATCH))
            .fetch_one(self.pool_ref())
            .await
            .store()?;
            gone += u(deleted);
            if u(deleted) < PRUNE_BATCH {
                return Ok(gone);
            }
        }
    }

    async fn events_pruned_through(&self) -> StoreResult<Option<EventId>> {
        let through: Option<i64> = sqlx::query_scalar("SELECT through FROM event_horizon")
            .fetch_optional(self.pool_ref())
            .await
            .store()?;
        Ok(through.map(|id| EventId(u(id))))
    }

    async fn wait_for_external_events(&self) -> StoreResult<()> {
        self.inner.listener.wait().await
    }
}

/// The store's LISTEN connection: a task started on first use that bumps a watch
/// counter on every event notification of another instance (its own carry `token`, see
/// `Notifier`) and on every reconnect (notifications may have been missed meanwhile, so
/// waiters should poll the log), and hands the ephemeral channel's signals to its local
/// subscribers.
pub(crate) struct ListenerHandle {
    pool: PgPool,
    token: Arc<str>,
    state: Mutex<Option<(watch::Receiver<u64>, JoinHandle<()>)>>,
    start: tokio::sync::Mutex<()>,
    signals: Arc<SignalBus>,
}

impl ListenerHandle {
    pub(crate) fn new(pool: PgPool, token: String) -> Self {
        ListenerHandle {
            pool,
            token: token.into(),
            state: Mutex::new(None),
            start: tokio::sync::Mutex::new(()),
            signals: Arc::new(SignalBus::new()),
        }
    }

    /// The ephemeral signals heard from now on (the connection is listening when this
    /// returns).
    pub(crate) async fn subscribe_signals(&self) -> StoreResult<SignalReceiver> {
        let signals = self.signals.subscribe();
        self.receiver().await?;
        Ok(signals)
    }

    fn current(&self) -> Option<watch::Receiver<u64>> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match &*state {
            Some((rx, task)) if !task.is_finished() => Some(rx.clone()),
            _ => None,
        }
    }

    /// The watch receiver of a running listener task, starting one if needed. Returns
    /// once the connection is listening.
    async fn receiver(&self) -> StoreResult<watch::Receiver<u64>> {
        if let Some(rx) = self.current() {
            return Ok(rx);
        }
        let _starting = self.start.lock().await;
        if let Some(rx) = self.current() {
            return Ok(rx);
        }
        let mut listener = PgListener::connect_with(&self.pool)
            .await
            .map_err(crate::error::map_err)?;
        listener
            .listen_all([CHANNEL, EPHEMERAL_CHANNEL])
            .await
            .map_err(crate::error::map_err)?;
        let (tx, rx) = watch::channel(0u64);
        let task = tokio::spawn(listen_loop(
            listener,
            tx,
            self.signals.clone(),
            self.token.clone(),
        ));
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, old)) = state.take() {
            old.abort();
        }
        *state = Some((rx.clone(), task));
        Ok(rx)
    }

    /// Returns on the next notification (or reconnect).
    pub(crate) async fn wait(&self) -> StoreResult<()> {
        let mut rx = match self.receiver().await {
            Ok(rx) => rx,
            Err(e) => {
                // Keep callers that loop on errors from spinning while the server is away.
                tokio::time::sleep(Duration::from_millis(500)).await;
                return Err(e);
            }
        };
        rx.borrow_and_update();
        if rx.changed().await.is_err() {
            // The task ended; the next call starts a new one. Let the caller poll.
            return Ok(());
        }
        Ok(())
    }

    /// Stops the listener task.
    pub(crate) fn stop(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, task)) = state.take() {
            task.abort();
        }
    }
}

impl Drop for ListenerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn listen_loop(
    mut listener: PgListener,
    tx: watch::Sender<u64>,
    signals: Arc<SignalBus>,
    token: Arc<str>,
) {
    loop {
        match listener.try_recv().await {
            Ok(Some(n)) if n.channel() == EPHEMERAL_CHANNEL => {
                match serde_json::from_str(n.payload()) {
                    Ok(signal) => {
                        let _ = signals.publish(signal);
                    }
                    Err(e) => tracing::warn!(error = %e, "unreadable ephemeral signal ignored"),
                }
                continue;
            }
            // This store's own write: the library has woken its tailer already.
            Ok(Some(n)) if n.payload() == &*token => continue,
            Ok(Some(_)) => {}
            // The connection was lost; the next `try_recv` reconnects and listens again.
            Ok(None) => tracing::warn!("LISTEN {CHANNEL} connection lost; reconnecting"),
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN {CHANNEL} failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        tx.send_modify(|n| *n = n.wrapping_add(1));
    }
}
