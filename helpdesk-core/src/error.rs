//! The two error types of the library: [`Error`] for domain operations and [`StoreError`]
//! for storage backends. Only `helpdesk-http` turns them into HTTP statuses.

use std::error::Error as StdError;

/// A boxed error source kept for `source()` chains.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What went wrong in a storage backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness constraint or an optimistic precondition failed. The string names it
    /// (`"email"`, `"slug"`, `"direct"`, `"version"`, ...).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend cannot be reached right now; the operation may succeed later.
    #[error("store unavailable")]
    Unavailable(#[source] BoxError),
    /// Data in the store cannot be decoded or breaks an invariant.
    #[error("corrupt store data: {0}")]
    Corrupt(String),
    /// Any other backend failure.
    #[error("store error")]
    Other(#[source] BoxError),
}

impl StoreError {
    /// Wraps any error as [`StoreError::Other`].
    pub fn other(e: impl Into<BoxError>) -> Self {
        StoreError::Other(e.into())
    }
    /// Wraps any error as [`StoreError::Unavailable`].
    pub fn unavailable(e: impl Into<BoxError>) -> Self {
        StoreError::Unavailable(e.into())
    }
    /// True for a conflict with the given name.
    pub fn is_conflict(&self, what: &str) -> bool {
        matches!(self, StoreError::Conflict(w) if w == what)
    }
}

/// One field-level validation problem.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// The field, as named in the API (`subject`, `member_ids`, ...).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// What went wrong in a domain operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No credentials, bad credentials, a revoked session or a deactivated user.
    #[error("unauthorized")]
    Unauthorized,
    /// The access token has expired.
    #[error("token expired")]
    TokenExpired,
    /// The role may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A field that the caller's role may not set.
    #[error("field `{0}` may not be set by this role")]
    ForbiddenField(String),
    /// The resource does not exist or the caller may not see it.
    #[error("not found")]
    NotFound,
    /// Well-formed but invalid input.
    #[error("{}", fmt_fields(.0))]
    Validation(Vec<FieldError>),
    /// A field that does not exist.
    #[error("unknown field `{0}`")]
    UnknownField(String),
    /// A duplicate or a lost race.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The email address is taken.
    #[error("email already taken")]
    EmailTaken,
    /// The KB slug is taken.
    #[error("slug already taken")]
    SlugTaken,
    /// A ticket status move the state machine does not allow.
    #[error("cannot move a ticket from {from} to {to}")]
    InvalidTransition {
        /// Current status.
        from: String,
        /// Requested status.
        to: String,
    },
    /// The ticket is closed; its conversation takes no messages.
    #[error("the ticket is closed")]
    TicketClosed,
    /// More bytes than allowed.
    #[error("payload too large (limit {limit} bytes)")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Too many attempts; try again later.
    #[error("too many attempts, retry after {retry_after_secs}s")]
    RateLimited {
        /// Seconds until a new attempt may succeed.
        retry_after_secs: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An unexpected internal failure (a bug, not the caller's fault).
    #[error("internal error: {0}")]
    Internal(String),
}

fn fmt_fields(fields: &[FieldError]) -> String {
    fields
        .iter()
        .map(|f| format!("{} {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// A validation error on one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }
    /// A forbidden error with a reason.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Error::Forbidden(reason.into())
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
