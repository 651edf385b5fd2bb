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
    /// A uniqueness constraint or an optimistic precondition failed.
    #[error("conflict: {0}")]
    Conflict(Conflict),
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
    /// True for this conflict.
    pub fn is_conflict(&self, what: Conflict) -> bool {
        matches!(self, StoreError::Conflict(w) if *w == what)
    }
}

/// What a [`StoreError::Conflict`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Conflict {
    /// Another user has the email address.
    Email,
    /// Another article has the slug.
    Slug,
    /// Another group, or another organization, has the name (compared
    /// case-insensitively).
    Name,
    /// Another organization lists one of the domains.
    Domain,
    /// Another canned reply has the shortcut (whatever its scope).
    Shortcut,
    /// Another status, or another custom field, has the key.
    Key,
    /// Another mailbox has the address.
    Address,
    /// The record is still referred to (a group holding tickets or canned replies).
    InUse,
    /// The default group cannot be deleted or lose its flag but to another group.
    Default,
    /// The two users' direct conversation exists.
    Direct,
    /// The record changed since it was read (its version moved): read again and retry.
    Version,
    /// An attachment is missing, attached already, or not the uploader's.
    Attachment,
    /// The store stayed too busy for the operation to finish; it may succeed later.
    Busy,
    /// The mail was ingested in this mailbox already (its inbound record's dedupe key).
    Duplicate,
    /// Another uniqueness rule (an id, a ticket number, a seq): a lost race or a bug.
    Unique,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Conflict::Email => "email",
            Conflict::Slug => "slug",
            Conflict::Name => "name",
            Conflict::Domain => "domain",
            Conflict::Shortcut => "shortcut",
            Conflict::Key => "key",
            Conflict::Address => "address",
            Conflict::InUse => "in_use",
            Conflict::Default => "default",
            Conflict::Direct => "direct",
            Conflict::Version => "version",
            Conflict::Attachment => "attachment",
            Conflict::Busy => "busy",
            Conflict::Duplicate => "duplicate",
            Conflict::Unique => "unique",
        })
    }
}

/// One field-level validation problem.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// An API key that allows none of these scopes (any one would do).
    #[error("the API key needs one of these scopes: {0}")]
    InsufficientScope(crate::scope::Scopes),
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
    /// The name is taken (a group's or an organization's, compared case-insensitively).
    #[error("name already taken")]
    NameTaken,
    /// An email domain is listed by another organization.
    #[error("domain taken: {0}")]
    DomainTaken(String),
    /// Another canned reply has the shortcut (whatever its scope).
    #[error("shortcut already taken")]
    ShortcutTaken,
    /// Another status, or another custom field, has the key.
    #[error("key already taken")]
    KeyTaken,
    /// Another mailbox has the address.
    #[error("address already taken")]
    AddressTaken,
    /// The record is still in use (a group holding tickets or canned replies).
    #[error("in use: {0}")]
    InUse(String),
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
    /// The CSAT survey's token has expired: it takes no more answers.
    #[error("the survey has expired")]
    CsatExpired,
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

/// The category of an [`Error`]: what a caller (an HTTP status, an exit code) decides by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Not authenticated: no, bad, expired or revoked credentials.
    Unauthorized,
    /// Authenticated, but the role may not do this or set this field.
    Forbidden,
    /// No such resource, or one the caller may not see.
    NotFound,
    /// Well-formed but invalid input.
    Invalid,
    /// A duplicate, a state that does not allow the change, or a lost race.
    Conflict,
    /// More bytes than allowed.
    TooLarge,
    /// Too many attempts: retry later.
    RateLimited,
    /// The store cannot be reached now: retry later.
    Unavailable,
    /// A fault of the system, not of the caller.
    Internal,
}

impl Error {
    /// The category of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Unauthorized | Error::TokenExpired => ErrorKind::Unauthorized,
            Error::Forbidden(_) | Error::ForbiddenField(_) | Error::InsufficientScope(_) => {
                ErrorKind::Forbidden
            }
            Error::NotFound | Error::Store(StoreError::NotFound) => ErrorKind::NotFound,
            Error::Validation(_) | Error::UnknownField(_) => ErrorKind::Invalid,
            Error::Conflict(_)
            | Error::EmailTaken
            | Error::SlugTaken
            | Error::NameTaken
            | Error::DomainTaken(_)
            | Error::ShortcutTaken
            | Error::KeyTaken
            | Error::AddressTaken
            | Error::InUse(_)
            | Error::InvalidTransition { .. }
            | Error::TicketClosed
            | Error::CsatExpired
            | Error::Store(StoreError::Conflict(_)) => ErrorKind::Conflict,
            Error::PayloadTooLarge { .. } => ErrorKind::TooLarge,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::Store(StoreError::Unavailable(_)) => ErrorKind::Unavailable,
            Error::Store(_) | Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// A stable snake_case code naming this error more precisely than its kind (API.md's
    /// error codes: `email_taken`, `invalid_transition`, `token_expired`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthorized => "unauthorized",
            Error::TokenExpired => "token_expired",
            Error::Forbidden(_) => "forbidden",
            Error::ForbiddenField(_) => "forbidden_field",
            Error::InsufficientScope(_) => "insufficient_scope",
            Error::NotFound | Error::Store(StoreError::NotFound) => "not_found",
            Error::Validation(_) => "validation_failed",
            Error::UnknownField(_) => "unknown_field",
            Error::Conflict(_) | Error::Store(StoreError::Conflict(_)) => "conflict",
            Error::EmailTaken => "email_taken",
            Error::SlugTaken => "slug_taken",
            Error::NameTaken => "name_taken",
            Error::DomainTaken(_) => "domain_taken",
            Error::ShortcutTaken => "shortcut_taken",
            Error::KeyTaken => "key_taken",
            Error::AddressTaken => "address_taken",
            Error::InUse(_) => "in_use",
            Error::InvalidTransition { .. } => "invalid_transition",
            Error::TicketClosed => "ticket_closed",
            Error::CsatExpired => "csat_expired",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::RateLimited { .. } => "rate_limited",
            Error::Store(StoreError::Unavailable(_)) => "unavailable",
            Error::Store(_) | Error::Internal(_) => "internal",
        }
    }

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
