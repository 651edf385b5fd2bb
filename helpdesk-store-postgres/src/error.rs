//! Turning sqlx errors into [`StoreError`]s: missing rows, uniqueness and connection loss.

use helpdesk_core::{Conflict, StoreError};

/// Maps an sqlx error: `RowNotFound` → `NotFound`; a unique violation → `Conflict` named
/// after the constraint (`email`, `slug`, `direct`, ...); connection failures (io, pool
/// timed out or closed, server shutting down) → `Unavailable`; anything else → `Other`.
pub fn map_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_) => StoreError::unavailable(e),
        sqlx::Error::Database(ref db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // A missing parent row (e.g. the conversation of a participant).
            if code == "23503" {
                return StoreError::NotFound;
            }
            if code == "23505" {
                return StoreError::Conflict(conflict_of(db.constraint()));
            }
            // 08: connection exception; 57P01..03: admin/crash shutdown, cannot connect
            // now; 53300: too many connections.
            if code.starts_with("08") || code.starts_with("57P") || code == "53300" {
                return StoreError::unavailable(e);
            }
            StoreError::other(e)
        }
        sqlx::Error::Protocol(ref msg) if is_connection_message(msg) => StoreError::unavailable(e),
        // A column that does not decode (a jsonb record of another shape).
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            StoreError::Corrupt(e.to_string())
        }
        other => StoreError::other(other),
    }
}

fn is_connection_message(msg: &str) -> bool {
    let msg = msg.to_ascii_lowercase();
    msg.contains("connection") || msg.contains("closed") || msg.contains("eof")
}

/// What a unique constraint's violation is about.
fn conflict_of(constraint: Option<&str>) -> Conflict {
    match constraint {
        // A second user with the same id counts as the same account: `Email` too.
        Some("users_email_key" | "users_pkey") => Conflict::Email,
        Some("articles_slug") => Conflict::Slug,
        Some("groups_name" | "organizations_name_key") => Conflict::Name,
        Some("organization_domains_pkey") => Conflict::Domain,
        Some("canned_replies_shortcut") => Conflict::Shortcut,
        Some("ticket_statuses_key" | "ticket_fields_key") => Conflict::Key,
        Some("conversations_direct_key") => Conflict::Direct,
        Some("mailboxes_address") => Conflict::Address,
        // The same mail ingested in the same mailbox again (0025_email.sql).
        Some("inbound_mail_dedupe") => Conflict::Duplicate,
        _ => Conflict::Unique,
    }
}

/// `?`-friendly conversion for sqlx results.
pub(crate) trait SqlxResultExt<T> {
    /// Maps the error with [`map_err`].
    fn store(self) -> Result<T, StoreError>;
}

impl<T> SqlxResultExt<T> for Result<T, sqlx::Error> {
    fn store(self) -> Result<T, StoreError> {
        self.map_err(map_err)
    }
}
