//! # helpdesk-store-sled
//!
//! The embedded storage backend of Helpdesk on [sled] 0.34: [`SledStore`] implements
//! every storage trait of [`helpdesk_core::store`].
//!
//! How it keeps the contract:
//! - **Atomic domain operations**: every mutating method is one sled transaction over
//!   all the store's trees; sled makes a transaction's writes visible, and recovered after
//!   a crash, together or not at all.
//! - **No range reads inside transactions** (sled 0.34 has none): counters and heads are
//!   single keys (ticket number, event id, conversation counters inside the conversation
//!   record, unread notification counts, the webhook list); index entries, keys that
//!   encode sort order, live in their own trees, are written inside the transaction and
//!   read with range scans outside it. Reads through an index re-check the record they
//!   reach, so a concurrently moved entry is skipped, never shown twice.
//! - **Durability**: a write returns after `flush_async`; concurrent writers share
//!   flushes (group commit, see the `flush` module).
//! - **Event ids** come from a counter key read and written inside each transaction, and
//!   sled runs transactions one at a time, so ids increase in commit order and
//!   `events_after` never skips.
//! - A **schema version** record refuses databases written by a newer build; older
//!   ones are migrated when opened.
//! - Operations that must remove a variable set of records (deleting a ticket with its
//!   conversation, a webhook with its deliveries, revoking a user's sessions, marking all
//!   notifications read) read the keys with a scan first, then check inside the
//!   transaction that what they read is still current (a version or a counter), and sweep
//!   records that became unreachable afterwards.
//! - Blob chunks are written outside transactions (sled buffers a transaction in memory);
//!   the attachment metadata that makes them reachable commits after them.
//!
//! sled calls are short and synchronous and run on the calling task; flushes run on
//! sled's own thread pool. Methods must be called inside a tokio runtime.
//!
//! ```no_run
//! use std::sync::Arc;
//! use helpdesk_core::{Config, Helpdesk};
//! use helpdesk_store_sled::SledStore;
//!
//! let store = SledStore::open("./helpdesk-data")?;
//! let hd = Helpdesk::new(Arc::new(store), Config::default());
//! # Ok::<_, helpdesk_core::StoreError>(())
//! ```
#![forbid(unsafe_code)]

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::transaction::{
    ConflictableTransactionError, TransactionError, Transactional, TransactionalTree,
};
use sled::{IVec, Tree};

use helpdesk_core::StoreError;
use helpdesk_core::kept::Kept;
use helpdesk_core::store::StoreResult;

mod apikeys;
mod archive;
mod attachments;
mod attempts;
mod calendars;
mod canned_replies;
mod conversations;
mod csat;
mod effects;
mod email;
mod flush;
mod groups;
mod kb;
mod keys;
mod macros;
mod mail_record;
mod mailboxes;
mod meta;
mod notifications;
mod organization_record;
mod organizations;
mod rules;
mod schema;
mod sla;
mod survey_record;
mod ticket_record;
mod tickets;
mod users;
mod views;
mod webhooks;

use keys::{TREE_NAMES, prefix_end, tree};

/// The schema version this build writes and reads. Opening a database of an older
/// version migrates it (see `migrate`); version 2 added `Message::internal_reply_count`,
/// version 3 groups (the default group holds every older ticket and every agent and
/// admin as a `full` member), version 4 statuses as data (tickets keep their status's
/// category; each status key counts its tickets), version 5 the SLA orders in the
/// ticket list index, version 6 wide conversations (their members' entries in the index
/// of their conversations carry no activity).
pub const SCHEMA_VERSION: u32 = 6;
/// The key of the schema version record in the `meta` tree (a decimal string).
pub const SCHEMA_VERSION_KEY: &[u8] = b"schema_version";
/// The tree holding the schema version record.
pub const META_TREE: &str = "meta";
/// sled's page cache size: sled's own default is 1 GiB.
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// The sled store. Cheap to clone (all clones share one database).
#[derive(Clone)]
pub struct SledStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").finish_non_exhaustive()
    }
}

struct Inner {
    db: sled::Db,
    trees: Vec<Tree>,
    flusher: Arc<flush::Flusher>,
    /// The ephemeral channel: one process holds a sled database, so it stays in process.
    signals: helpdesk_core::store::support::SignalBus,
    /// Claims of due tickets (`claim_due`): held until, while the ticket keeps the
    /// version it had.
    due_holds: std::sync::Mutex<DueHolds>,
    /// [`helpdesk_core::store::SchemaStore::schema_stamp`]: one process holds a sled database, so it lives
    /// here, moved by [`SledStore::write_schema`].
    schema_stamp: AtomicU64,
    /// [`helpdesk_core::store::KbStore::kb_stamp`], moved by [`SledStore::write_kb`].
    kb_stamp: AtomicU64,
    /// Decoded tickets and messages, kept by key with their bytes.
    kept_tickets: Kept<IVec, IVec>,
    kept_messages: Kept<IVec, IVec>,
}

/// Claims of due tickets by ticket id: held until, at version.
type DueHolds = std::collections::HashMap<uuid::Uuid, (chrono::DateTime<chrono::Utc>, u64)>;

impl SledStore {
    /// Opens (or creates) the database in the directory `path`, with a 64 MiB cache.
    /// A database written by a newer, incompatible version is refused with
    /// [`StoreError::Corrupt`]; a database held by another process is
    /// [`StoreError::Unavailable`].
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        Self::open_with(sled::Config::new().path(path))
    }

    /// A store in a temporary directory, removed when the last clone is dropped.
    pub fn temporary() -> StoreResult<Self> {
        Self::open_with(sled::Config::new().temporary(true))
    }

    fn open_with(config: sled::Config) -> StoreResult<Self> {
        let config = config.cache_capacity(DEFAULT_CACHE_BYTES);
        // A store of this process that was just dropped can hold the lock a moment
        // longer (sled's own threads finish their last flush): wait for it briefly.
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        let db = loop {
            match config.open() {
                Ok(db) => break db,
                Err(e) if lock_busy(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => return Err(open_error(e)),
            }
        };
        let found = check_schema(&db)?;
        let trees = TREE_NAMES
            .iter()
            .map(|name| db.open_tree(name))
            .collect::<sled::Result<Vec<_>>>()
            .map_err(sled_error)?;
        let flusher = Arc::new(flush::Flusher::new(db.clone()));
        let store = SledStore {
            inner: Arc::new(Inner {
                db,
                trees,
                flusher,
                signals: Default::default(),
                due_holds: Default::default(),
                schema_stamp: Default::default(),
                kb_stamp: Default::default(),
                kept_tickets: Default::default(),
                kept_messages: Default::default(),
            }),
        };
        if let Some(found) = found {
            migrate(&store, found)?;
        }
        store.ensure_default_group()?;
        store.ensure_default_statuses()?;
        store.inner.db.flush().map_err(sled_error)?;
        Ok(store)
    }

    /// The claims of due tickets (a poisoned lock still holds usable claims).
    pub(crate) fn due_holds(&self) -> std::sync::MutexGuard<'_, DueHolds> {
        self.inner
            .due_holds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The on-disk size of the database in bytes, as sled reports it.
    pub fn size_on_disk(&self) -> StoreResult<u64> {
        self.inner.db.size_on_disk().map_err(sled_error)
    }

    /// Flushes everything written so far to disk (writes do this themselves).
    pub async fn flush(&self) -> StoreResult<()> {
        self.inner.flusher.flush().await
    }

    pub(crate) fn tree(&self, t: usize) -> &Tree {
        &self.inner.trees[t]
    }

    /// Runs `f` as one transaction over every tree, then waits until it is on disk.
    pub(crate) async fn write<R>(&self, f: impl Fn(&Tx<'_>) -> TxResult<R>) -> StoreResult<R> {
        let r = self.transact(f)?;
        self.inner.flusher.flush().await?;
        Ok(r)
    }

    /// [`SledStore::write`] for statuses, fields, calendars, SLA policies and rules: the
    /// schema stamp ([`helpdesk_core::store::SchemaStore::schema_stamp`]) moves once the transaction is done.
    pub(crate) async fn write_schema<R>(
        &self,
        f: impl Fn(&Tx<'_>) -> TxResult<R>,
    ) -> StoreResult<R> {
        let r = self.write(f).await;
        self.inner.schema_stamp.fetch_add(1, Ordering::AcqRel);
        r
    }

    /// [`SledStore::write`] for articles: the KB stamp
    /// ([`helpdesk_core::store::KbStore::kb_stamp`]) moves once the transaction is done.
    pub(crate) async fn write_kb<R>(&self, f: impl Fn(&Tx<'_>) -> TxResult<R>) -> StoreResult<R> {
        let r = self.write(f).await;
        self.inner.kb_stamp.fetch_add(1, Ordering::AcqRel);
        r
    }

    /// Runs `f` as one transaction over every tree, without waiting for the disk.
    pub(crate) fn transact<R>(&self, f: impl Fn(&Tx<'_>) -> TxResult<R>) -> StoreResult<R> {
        let refs: Vec<&Tree> = self.inner.trees.iter().collect();
        <[&Tree] as Transactional<StoreError>>::transaction(&refs[..], |view| f(&Tx { t: view }))
            .map_err(|e| match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(e) => sled_error(e),
            })
    }

    /// A counter in `meta` outside a transaction (0 when absent).
    pub(crate) fn meta_u64(&self, key: impl AsRef<[u8]>) -> StoreResult<u64> {
        match self.tree(keys::tree::META).get(key).map_err(sled_error)? {
            None => Ok(0),
            Some(v) => {
                keys::u64_value(&v).ok_or_else(|| StoreError::Corrupt("bad counter in meta".into()))
            }
        }
    }

    /// A record by key, decoded (tickets and messages: kept decoded beside their bytes,
    /// see [`helpdesk_core::kept`]).
    pub(crate) fn get_json<T: DeserializeOwned + Clone + Send + 'static>(
        &self,
        t: usize,
        key: impl AsRef<[u8]>,
    ) -> StoreResult<Option<T>> {
        let key = key.as_ref();
        let Some(v) = self.tree(t).get(key).map_err(sled_error)? else {
            return Ok(None);
        };
        let kept = match t {
            tree::TICKETS => &self.inner.kept_tickets,
            tree::MESSAGES => &self.inner.kept_messages,
            _ => return decode(&v, TREE_NAMES[t]).map(Some),
        };
        if let Some(record) = kept.get(key, &v) {
            return Ok(Some(record));
        }
        let record: T = decode(&v, TREE_NAMES[t])?;
        kept.keep(IVec::from(key), v, record.clone());
        Ok(Some(record))
    }

    /// Keys and values of `t` starting with `prefix`, strictly after `after` in the scan
    /// direction (ascending: greater; descending: smaller).
    pub(crate) fn scan(
        &self,
        t: usize,
        prefix: &[u8],
        after: Option<&[u8]>,
        descending: bool,
    ) -> impl Iterator<Item = StoreResult<(IVec, IVec)>> + use<> {
        let end = match prefix_end(prefix) {
            Some(e) => Bound::Excluded(e),
            None => Bound::Unbounded,
        };
        let start = Bound::Included(prefix.to_vec());
        let iter: Box<dyn Iterator<Item = sled::Result<(IVec, IVec)>> + Send> = if descending {
            let end = after.map_or(end, |a| Bound::Excluded(a.to_vec()));
            Box::new(self.tree(t).range((start, end)).rev())
        } else {
            let start = after.map_or(start, |a| Bound::Excluded(a.to_vec()));
            Box::new(self.tree(t).range((start, end)))
        };
        iter.map(|r| r.map_err(sled_error))
    }

    /// The records of tree `records` that the index `entries` (from [`SledStore::scan`]
    /// or a range) lead to, in entry order, at most `limit`, reading entries only until
    /// there are that many. `locate` gives an entry's record key (`None`: skip the entry
    /// unread, e.g. for what its value says); a missing record is skipped, and so is one
    /// that `keep(entry key, record)` refuses: an entry that a concurrent write moved
    /// (see the crate docs), or a record a filter leaves out.
    pub(crate) fn records_by_index<T: DeserializeOwned + Clone + Send + 'static, K: AsRef<[u8]>>(
        &self,
        entries: impl Iterator<Item = StoreResult<(IVec, IVec)>>,
        records: usize,
        limit: usize,
        mut locate: impl FnMut(&IVec, &IVec) -> Option<K>,
        mut keep: impl FnMut(&[u8], &T) -> bool,
    ) -> StoreResult<Vec<T>> {
        let mut out = Vec::new();
        for entry in entries {
            if out.len() >= limit {
                break;
            }
            let (k, v) = entry?;
            let Some(key) = locate(&k, &v) else { continue };
            if let Some(record) = self.get_json::<T>(records, key)?
                && keep(&k, &record)
            {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// Removes every key of `t` starting with `prefix`, outside any transaction (for
    /// records that nothing reaches any more).
    pub(crate) fn sweep_prefix(&self, t: usize, prefix: &[u8]) -> StoreResult<()> {
        let keys = self.keys_with_prefix(t, prefix)?;
        if keys.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for k in keys {
            batch.remove(k);
        }
        self.tree(t).apply_batch(batch).map_err(sled_error)
    }

    /// The keys of `t` starting with `prefix`.
    pub(crate) fn keys_with_prefix(&self, t: usize, prefix: &[u8]) -> StoreResult<Vec<IVec>> {
        self.tree(t)
            .scan_prefix(prefix)
            .keys()
            .map(|r| r.map_err(sled_error))
            .collect()
    }
}

/// Checks the schema version record (writing it in a new database); returns the version
/// found when it is older than [`SCHEMA_VERSION`] and must be migrated.
fn check_schema(db: &sled::Db) -> StoreResult<Option<u32>> {
    let meta = db.open_tree(META_TREE).map_err(sled_error)?;
    match meta.get(SCHEMA_VERSION_KEY).map_err(sled_error)? {
        None => {
            meta.insert(SCHEMA_VERSION_KEY, SCHEMA_VERSION.to_string().as_bytes())
                .map_err(sled_error)?;
            db.flush().map_err(sled_error)?;
            Ok(None)
        }
        Some(v) => {
            let found = std::str::from_utf8(&v)
                .ok()
                .and_then(|s| s.parse::<u32>().ok())
                .ok_or_else(|| {
                    StoreError::Corrupt("the schema version record is unreadable".into())
                })?;
            if found > SCHEMA_VERSION {
                Err(StoreError::Corrupt(format!(
                    "the database has schema version {found}, newer than version \
                     {SCHEMA_VERSION} that this build of helpdesk understands; \
                     open it with a newer helpdesk"
                )))
            } else if found < SCHEMA_VERSION {
                Ok(Some(found))
            } else {
                Ok(None)
            }
        }
    }
}

/// Brings a database of schema version `found` up to [`SCHEMA_VERSION`], one version
/// at a time. Each step's writes are on disk before the version record moves past it,
/// and a step run again (after a crash before that) gives the same result.
fn migrate(store: &SledStore, found: u32) -> StoreResult<()> {
    let db = &store.inner.db;
    let meta = db.open_tree(META_TREE).map_err(sled_error)?;
    if found < 4 {
        // Every later step reads tickets as this build does.
        store.upgrade_ticket_records()?;
    }
    for from in found..SCHEMA_VERSION {
        match from {
            1 => conversations::recount_internal_replies(db)?,
            2 => store.migrate_to_groups()?,
            3 => store.count_ticket_statuses()?,
            4 => store.index_sla_orders()?,
            5 => store.index_wide_conversations()?,
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "the database has schema version {found}, older than version \
                     {SCHEMA_VERSION} and no migration exists"
                )));
            }
        }
        db.flush().map_err(sled_error)?;
        meta.insert(SCHEMA_VERSION_KEY, (from + 1).to_string().as_bytes())
            .map_err(sled_error)?;
        db.flush().map_err(sled_error)?;
    }
    Ok(())
}

impl SledStore {
    /// Adds every ticket's list index entries of the SLA orders (schema 5). Running it
    /// again changes nothing.
    pub(crate) fn index_sla_orders(&self) -> StoreResult<()> {
        let idx = self.tree(keys::tree::TICKET_IDX);
        for item in self.tree(keys::tree::TICKETS).iter() {
            let (_, v) = item.map_err(sled_error)?;
            let t: helpdesk_core::ticket::Ticket = decode(&v, "tickets")?;
            for k in ticket_record::sla_index_keys(&t) {
                idx.insert(k.bytes(), &[][..]).map_err(sled_error)?;
            }
        }
        Ok(())
    }

    /// Brings ticket records written before statuses were data up to this build's
    /// record ([`helpdesk_core::ticket::upgrade_record`]). Running it again changes
    /// nothing.
    pub(crate) fn upgrade_ticket_records(&self) -> StoreResult<()> {
        let tickets = self.tree(keys::tree::TICKETS);
        for item in tickets.iter() {
            let (k, v) = item.map_err(sled_error)?;
            let mut record: serde_json::Value = serde_json::from_slice(&v)
                .map_err(|e| StoreError::Corrupt(format!("a ticket record is not JSON: {e}")))?;
            if helpdesk_core::ticket::upgrade_record(&mut record) {
                let bytes =
                    serde_json::to_vec(&record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                tickets.insert(k, bytes).map_err(sled_error)?;
            }
        }
        Ok(())
    }
}

/// The transactional view of every tree, for one domain operation.
pub(crate) struct Tx<'a> {
    t: &'a [TransactionalTree],
}

/// The result of a step inside a transaction.
pub(crate) type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

impl Tx<'_> {
    pub fn get(&self, t: usize, key: impl AsRef<[u8]>) -> TxResult<Option<IVec>> {
        Ok(self.t[t].get(key)?)
    }
    pub fn get_json<T: DeserializeOwned>(
        &self,
        t: usize,
        key: impl AsRef<[u8]>,
    ) -> TxResult<Option<T>> {
        match self.get(t, key)? {
            None => Ok(None),
            Some(v) => decode(&v, TREE_NAMES[t]).map(Some).map_err(abort_with),
        }
    }
    pub fn exists(&self, t: usize, key: impl AsRef<[u8]>) -> TxResult<bool> {
        Ok(self.get(t, key)?.is_some())
    }
    pub fn get_u64(&self, t: usize, key: impl AsRef<[u8]>) -> TxResult<u64> {
        match self.get(t, key)? {
            None => Ok(0),
            Some(v) => keys::u64_value(&v).ok_or_else(|| {
                abort_with(StoreError::Corrupt(format!(
                    "bad counter in {}",
                    TREE_NAMES[t]
                )))
            }),
        }
    }
    pub fn put(&self, t: usize, key: impl AsRef<[u8]>, value: impl Into<IVec>) -> TxResult<()> {
        self.t[t].insert(key.as_ref(), value)?;
        Ok(())
    }
    pub fn put_u64(&self, t: usize, key: impl AsRef<[u8]>, n: u64) -> TxResult<()> {
        self.put(t, key, &n.to_be_bytes()[..])
    }
    pub fn put_json<T: Serialize>(
        &self,
        t: usize,
        key: impl AsRef<[u8]>,
        value: &T,
    ) -> TxResult<()> {
        let bytes = encode(value).map_err(abort_with)?;
        self.put(t, key, bytes)
    }
    pub fn del(&self, t: usize, key: impl AsRef<[u8]>) -> TxResult<()> {
        self.t[t].remove(key.as_ref())?;
        Ok(())
    }
}

/// Aborts a transaction with a store error.
pub(crate) fn abort_with(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

/// Aborts a transaction with a store error.
pub(crate) fn abort<T>(e: StoreError) -> TxResult<T> {
    Err(abort_with(e))
}

/// Decodes a stored record; bad bytes are [`StoreError::Corrupt`].
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> StoreResult<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt(format!("undecodable record in `{what}`: {e}")))
}

/// Encodes a record.
pub(crate) fn encode<T: Serialize>(value: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(StoreError::other)
}

/// Maps a sled error to a store error.
pub(crate) fn sled_error(e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(io) => StoreError::unavailable(io),
        sled::Error::Corruption { at, .. } => {
            StoreError::Corrupt(format!("sled reports corruption at {at:?}"))
        }
        other => StoreError::other(other),
    }
}

/// How long opening waits for a lock that another store holds.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether opening failed because the database's lock is held.
fn lock_busy(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if lock_busy_io(io))
}

/// sled reports a held lock as WouldBlock, or as an error of its own wrapping it.
fn lock_busy_io(io: &std::io::Error) -> bool {
    io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("could not acquire lock")
}

fn open_error(e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(io) if lock_busy_io(&io) => StoreError::unavailable(format!(
            "the sled database is in use by another process ({io}); \
             stop it or talk to it through its server (`--url`)"
        )),
        other => sled_error(other),
    }
}

#[async_trait::async_trait]
impl helpdesk_core::store::EphemeralStore for SledStore {
    async fn publish(&self, signal: &helpdesk_core::ephemeral::Signal) -> StoreResult<()> {
        self.inner.signals.publish(signal.clone())
    }
    async fn subscribe_signals(&self) -> StoreResult<helpdesk_core::store::SignalReceiver> {
        Ok(self.inner.signals.subscribe())
    }
}
