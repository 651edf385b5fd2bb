//! Choosing the store from `--store`: `memory`, `sled:PATH` or `postgres://...`.
//! Each backend is one arm of [`open_store`].

use std::sync::Arc;

use helpdesk_core::store::Store;
use helpdesk_core::store::memory::MemoryStore;
use helpdesk_core::{Error, ErrorKind, StoreError};

use crate::cmd::error::{CliError, Exit, with_sources};

/// Why the store named by `--store` could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// `--store` names no known backend.
    UnknownSpec(String),
    /// The backend failed: what was being done, and the store's error (a sled database
    /// held by another process is [`StoreError::Unavailable`]).
    Store {
        /// `cannot open the sled store at PATH`, ...
        doing: String,
        /// The store's error.
        source: StoreError,
    },
}

impl OpenError {
    fn store(doing: String) -> impl FnOnce(StoreError) -> OpenError {
        move |source| OpenError::Store { doing, source }
    }
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::UnknownSpec(spec) => write!(
                f,
                "unknown store `{spec}`: use sled:PATH, postgres://... or memory"
            ),
            OpenError::Store { doing, source } => write!(f, "{doing}: {}", with_sources(source)),
        }
    }
}

impl std::error::Error for OpenError {}

/// Opens the store named by `spec`.
pub async fn open_store(spec: &str) -> Result<Arc<dyn Store>, OpenError> {
    let spec = spec.trim();
    if spec == "memory" {
        return Ok(Arc::new(MemoryStore::new()));
    }
    if let Some(path) = spec.strip_prefix("sled:") {
        let store = helpdesk_store_sled::SledStore::open(path).map_err(OpenError::store(
            format!("cannot open the sled store at {path}"),
        ))?;
        return Ok(Arc::new(store));
    }
    if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        let store = helpdesk_store_postgres::PostgresStore::connect(spec)
            .await
            .map_err(OpenError::store("cannot connect to PostgreSQL".into()))?;
        // The server and every command apply pending migrations first.
        store.migrate().await.map_err(OpenError::store(
            "cannot migrate the PostgreSQL schema".into(),
        ))?;
        return Ok(Arc::new(store));
    }
    Err(OpenError::UnknownSpec(spec.to_string()))
}

/// Creates or upgrades the schema (PostgreSQL); other stores need nothing.
pub async fn migrate(spec: &str) -> Result<(), OpenError> {
    open_store(spec).await.map(|_| ())
}

/// The store kind for logs, without credentials.
pub fn describe(spec: &str) -> &'static str {
    if spec.starts_with("sled:") {
        "sled"
    } else if spec.starts_with("postgres") {
        "postgres"
    } else {
        "memory"
    }
}

impl From<OpenError> for CliError {
    /// The exit code follows the store error's kind, as for every library error: a sled
    /// database held by a server is `Unavailable` (6).
    fn from(e: OpenError) -> Self {
        let message = e.to_string();
        let kind = match e {
            OpenError::UnknownSpec(_) => ErrorKind::Internal,
            OpenError::Store { source, .. } => Error::Store(source).kind(),
        };
        CliError::new(Exit::of(kind), message)
    }
}
