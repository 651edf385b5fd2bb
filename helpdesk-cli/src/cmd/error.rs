//! Errors of the commands, each with its exit code (see the README's table):
//! 1 failure, 2 bad input, 3 not found, 4 conflict, 5 not allowed, 6 unavailable.

use helpdesk_core::{Error, ErrorKind, StoreError};

/// A command's failure: what to print, and the exit code.
#[derive(Debug)]
pub struct CliError {
    /// The exit code.
    pub code: u8,
    /// One or more lines for standard error (without the `error: ` prefix).
    pub message: String,
}

/// A command's result.
pub type CliResult<T = ()> = Result<T, CliError>;

/// Exit codes.
pub mod code {
    /// Anything else.
    pub const FAILURE: u8 = 1;
    /// Bad input: a flag, a file, an archive.
    pub const INVALID: u8 = 2;
    /// No such user, ticket, webhook, ...
    pub const NOT_FOUND: u8 = 3;
    /// Taken, an invalid transition, a non-empty store.
    pub const CONFLICT: u8 = 4;
    /// A bad or missing token, or a role that may not do this.
    pub const FORBIDDEN: u8 = 5;
    /// The store or the server cannot be reached (or a server holds the sled store).
    pub const UNAVAILABLE: u8 = 6;
}

impl CliError {
    /// An error with a code.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
        }
    }
    /// Bad input.
    pub fn invalid(message: impl Into<String>) -> Self {
        CliError::new(code::INVALID, message)
    }
    /// Not found.
    pub fn not_found(message: impl Into<String>) -> Self {
        CliError::new(code::NOT_FOUND, message)
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// The exit code of each kind of library error.
fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Unauthorized | ErrorKind::Forbidden => code::FORBIDDEN,
        ErrorKind::NotFound => code::NOT_FOUND,
        ErrorKind::Invalid | ErrorKind::TooLarge => code::INVALID,
        ErrorKind::Conflict => code::CONFLICT,
        ErrorKind::Unavailable => code::UNAVAILABLE,
        _ => code::FAILURE,
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        let mut message = e.to_string();
        let mut cur = std::error::Error::source(&e);
        while let Some(s) = cur {
            message.push_str(": ");
            message.push_str(&s.to_string());
            cur = s.source();
        }
        CliError::new(exit_code(e.kind()), message)
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        Error::Store(e).into()
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::new(code::FAILURE, e.to_string())
    }
}
