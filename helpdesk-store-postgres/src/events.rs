//! The event log (`events_after`, `last_event_id`, `append_effects`) and the LISTEN side
//! of `NOTIFY helpdesk_events` behind `wait_for_external_events`.
//!
//! Ids are `xid8 << 20 | position`, so id order is the order of the writing
//! transactions' xids. A reader first observes the lowest xid still in progress in this
//! database (the frontier), then reads only ids below `frontier << 20`: every
//! transaction with a lower xid had finished when it looked, and every transaction still
//! in flight (or yet to start) has an xid at or above the frontier, so it can only add
//! ids above what the reader returned. Nothing committed late is ever skipped.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use helpdesk_core::event::{Effects, Event, EventId};
use helpdesk_core::store::{EventStore, StoreResult};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::PostgresStore;
use crate::effects::{CHANNEL, EVENT_ID_SHIFT};
use crate::error::SqlxResultExt;
use crate::rows::{self, i};

/// The first event id a reader may not return yet, observed *before* the reader's own
/// snapshot is taken (so it must run as a statement of its own, earlier):
/// `min(xids of transactions in progress in this database, next xid) << 20`. Any
/// transaction not yet committed when the reader's snapshot is taken either was in
/// progress here now (so its xid is at least the frontier) or gets its xid later (at
/// least the next xid). Transactions of other databases cannot write this log and do not
/// hold it back. `backend_xid` is a 32-bit xid: it is widened with the epoch of the
/// snapshot's `xmax`, which it cannot exceed.
const FRONTIER_SQL: &str = "\
    WITH s AS (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax) \
    SELECT least(s.xmax, (SELECT min(s.xmax - ((s.xmax % 4294967296 \
                  - a.backend_xid::text::bigint + 4294967296) % 4294967296)) \
                FROM pg_stat_activity a \
                WHERE a.datname = current_database() AND a.backend_xid IS NOT NULL)) << 20 \
    FROM s";

/// How long a read waits for transactions in flight that hide committed events.
const HIDDEN_WAIT: Duration = Duration::from_secs(2);

impl PostgresStore {
    /// The read frontier (see [`FRONTIER_SQL`]), after waiting (bounded) until no
    /// committed event lies at or above it, so a reader sees what was committed before
    /// it asked unless another transaction of this database stays open for long.
    async fn settled_frontier(&self) -> StoreResult<i64> {
        debug_assert_eq!(EVENT_ID_SHIFT, 20);
        let deadline = tokio::time::Instant::now() + HIDDEN_WAIT;
        let mut pause = Duration::from_millis(1);
        loop {
            let frontier: i64 = sqlx::query_scalar(FRONTIER_SQL)
                .fetch_one(self.pool_ref())
                .await
                .store()?;
            let hidden: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM events WHERE id >= $1)")
                    .bind(frontier)
                    .fetch_one(self.pool_ref())
                    .await
                    .store()?;
            if !hidden || tokio::time::Instant::now() >= deadline {
                return Ok(frontier);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

#[async_trait]
impl EventStore for PostgresStore {
    async fn append_effects(&self, fx: &Effects) -> StoreResult<()> {
        self.effects_only(fx).await
    }

    async fn events_after(&self, after: Option<EventId>, limit: usize) -> StoreResult<Vec<Event>> {
        let frontier = self.settled_frontier().await?;
        let after = after.map_or(-1, |a| i(a.0));
        let sql = format!(
            "SELECT {} FROM events WHERE id > $1 AND id < $2 ORDER BY id LIMIT $3",
            rows::EVENT_COLS
        );
        let found = sqlx::query(&sql)
            .bind(after)
            .bind(frontier)
            .bind(i(limit as u64))
            .fetch_all(self.pool_ref())
            .await
            .store()?;
        rows::all(&found, rows::event)
    }

    async fn last_event_id(&self) -> StoreResult<Option<EventId>> {
        // No waiting here: the answer must describe the log as of the call (a tailer
        // starts after it), not include what commits while we wait.
        let frontier: i64 = sqlx::query_scalar(FRONTIER_SQL)
            .fetch_one(self.pool_ref())
            .await
            .store()?;
        let id: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM events WHERE id < $1")
            .bind(frontier)
            .fetch_one(self.pool_ref())
            .await
            .store()?;
        Ok(id.map(|id| EventId(rows::u(id))))
    }

    async fn wait_for_external_events(&self) -> StoreResult<()> {
        self.inner.listener.wait().await
    }
}

/// The store's LISTEN connection: a task started on first use that bumps a watch
/// counter on every notification and on every reconnect (notifications may have been
/// missed meanwhile, so waiters should poll the log).
pub(crate) struct ListenerHandle {
    pool: PgPool,
    state: Mutex<Option<(watch::Receiver<u64>, JoinHandle<()>)>>,
    start: tokio::sync::Mutex<()>,
}

impl ListenerHandle {
    pub(crate) fn new(pool: PgPool) -> Self {
        ListenerHandle {
            pool,
            state: Mutex::new(None),
            start: tokio::sync::Mutex::new(()),
        }
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
            .listen(CHANNEL)
            .await
            .map_err(crate::error::map_err)?;
        let (tx, rx) = watch::channel(0u64);
        let task = tokio::spawn(listen_loop(listener, tx));
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

async fn listen_loop(mut listener: PgListener, tx: watch::Sender<u64>) {
    loop {
        match listener.try_recv().await {
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
