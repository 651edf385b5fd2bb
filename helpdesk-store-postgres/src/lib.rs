//! # helpdesk-store-postgres
//!
//! The PostgreSQL backend of Helpdesk: [`PostgresStore`] implements every storage trait
//! of [`helpdesk_core::store`] over an sqlx connection pool, so several server instances
//! can share one database.
//!
//! - Every domain operation is one SQL transaction.
//! - Ticket numbers come from a sequence (unique and increasing; a rolled-back creation
//!   leaves a gap), message `seq` from the conversation row locked `FOR UPDATE`.
//! - The event log is the `events` table. An event id is the writing transaction's
//!   `xid8` shifted left by 20 bits plus the event's position in the transaction;
//!   readers return only ids below `pg_snapshot_xmin(pg_current_snapshot()) << 20`, so
//!   a transaction still in flight can never commit an id below one already read.
//!   `NOTIFY helpdesk_events` is sent after commit; [`PostgresStore`] listens for it in
//!   `wait_for_external_events`.
//! - Webhook deliveries are claimed with `FOR UPDATE SKIP LOCKED`.
//! - KB search uses a weighted `tsvector` column with a GIN index and `ts_headline`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), helpdesk_core::StoreError> {
//! use std::sync::Arc;
//! use helpdesk_core::store::Store;
//! use helpdesk_store_postgres::PostgresStore;
//!
//! let store = PostgresStore::connect("postgres://postgres@127.0.0.1:5432/helpdesk").await?;
//! store.migrate().await?;
//! let store: Arc<dyn Store> = Arc::new(store);
//! # let _ = store;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod apikeys;
mod archive;
mod attachments;
mod calendars;
mod canned_replies;
mod conversations;
mod csat;
mod effects;
mod email;
mod ephemeral;
mod error;
mod events;
mod groups;
mod kb;
mod kept;
mod macros;
mod mail_rows;
mod mailboxes;
mod meta;
mod notifications;
mod organizations;
mod rows;
mod rules;
mod schema;
mod scoped;
mod sla;
pub mod testing;
mod ticket_record;
mod tickets;
mod users;
mod views;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use helpdesk_core::StoreError;
use helpdesk_core::store::StoreResult;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

pub use error::map_err;

/// The embedded schema migrations (`migrations/`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a pooled connection may sit idle before it is checked (pinged) again when
/// handed out. A server restart takes longer, so connections from before it are checked.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Pool settings for [`PostgresStore::connect_with`].
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// How long an operation waits for a connection before failing with
    /// [`StoreError::Unavailable`].
    pub acquire_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// The PostgreSQL store. Cheap to clone: clones share the pool and the event listener.
#[derive(Clone)]
pub struct PostgresStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) pool: PgPool,
    pub(crate) listener: events::ListenerHandle,
    pub(crate) notifier: effects::Notifier,
    /// Decoded tickets and messages for lists (see the `kept` module).
    pub(crate) kept_tickets: kept::KeptRows,
    pub(crate) kept_messages: kept::KeptRows,
    /// Whether a webhook endpoint was active when this instance last looked (see
    /// [`PostgresStore::write_alone`]).
    pub(crate) hooks_seen: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects a pool to `url` (`postgres://user@host:port/db`) with default settings.
    /// Connections are opened lazily; an unreachable server surfaces as
    /// [`StoreError::Unavailable`] on the first operation.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, PoolConfig::default()).await
    }

    /// Connects a pool to `url` with the given settings.
    pub async fn connect_with(url: &str, config: PoolConfig) -> StoreResult<Self> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e| StoreError::other(format!("bad database url: {e}")))?;
        Ok(Self::connect_with_options(options, config))
    }

    /// A store over a lazily connecting pool with these connection options.
    ///
    /// A connection idle for more than a second is pinged before it is handed
    /// out (one that fails is replaced); a busy one is not: a ping on every acquire
    /// was one more round trip for each of an operation's statements outside a
    /// transaction.
    pub fn connect_with_options(options: PgConnectOptions, config: PoolConfig) -> Self {
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(config.acquire_timeout)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > PING_AFTER_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_lazy_with(options);
        Self::from_pool(pool)
    }

    /// A store over an existing pool.
    pub fn from_pool(pool: PgPool) -> Self {
        // Tells this store's notifications from other instances' (see `Notifier`).
        let token = uuid::Uuid::now_v7().simple().to_string();
        PostgresStore {
            inner: Arc::new(Inner {
                listener: events::ListenerHandle::new(pool.clone(), token.clone()),
                notifier: effects::Notifier::new(token),
                kept_tickets: Default::default(),
                kept_messages: Default::default(),
                hooks_seen: Default::default(),
                pool,
            }),
        }
    }

    /// Applies the embedded migrations that have not run yet.
    pub async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.inner.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e) => map_err(e),
            other => StoreError::other(other),
        })
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// Closes the pool and stops the event listener.
    pub async fn close(&self) {
        self.inner.listener.stop();
        self.inner.pool.close().await;
        // Lets the NOTIFY task see the closed pool and end.
        self.inner.notifier.wake(&self.inner.pool);
    }

    /// Stops the event listener task (if running) without touching the pool.
    pub fn stop_listener(&self) {
        self.inner.listener.stop();
    }

    pub(crate) fn pool_ref(&self) -> &PgPool {
        &self.inner.pool
    }
}
