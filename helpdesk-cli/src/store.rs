//! Choosing the store from `--store`: `memory`, `sled:PATH` or `postgres://...`.
//! Each backend is one arm of [`open_store`].

use std::sync::Arc;

use helpdesk_core::store::Store;
use helpdesk_core::store::memory::MemoryStore;

/// A store error for the command line.
pub type StoreSpecError = Box<dyn std::error::Error + Send + Sync>;

/// Opens the store named by `spec`.
pub async fn open_store(spec: &str) -> Result<Arc<dyn Store>, StoreSpecError> {
    let spec = spec.trim();
    if spec == "memory" {
        return Ok(Arc::new(MemoryStore::new()));
    }
    if let Some(path) = spec.strip_prefix("sled:") {
        let store = helpdesk_store_sled::SledStore::open(path).map_err(|e| {
            format!(
                "cannot open the sled store at {path}: {e}{}",
                source_text(&e)
            )
        })?;
        return Ok(Arc::new(store));
    }
    if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        let store = helpdesk_store_postgres::PostgresStore::connect(spec)
            .await
            .map_err(|e| format!("cannot connect to PostgreSQL: {e}{}", source_text(&e)))?;
        // The server and every command apply pending migrations first.
        store.migrate().await.map_err(|e| {
            format!(
                "cannot migrate the PostgreSQL schema: {e}{}",
                source_text(&e)
            )
        })?;
        return Ok(Arc::new(store));
    }
    Err(format!("unknown store `{spec}`: use sled:PATH, postgres://... or memory").into())
}

/// Creates or upgrades the schema (PostgreSQL); other stores need nothing.
pub async fn migrate(spec: &str) -> Result<(), StoreSpecError> {
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

/// The error's source chain as `: a: b`, for one-line messages.
fn source_text(e: &dyn std::error::Error) -> String {
    let mut out = String::new();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}
