//! Errors of the commands and their exit codes (the README's table). A library error's
//! exit code follows its [`ErrorKind`], through [`Exit::of`], the one table; errors of
//! the command line itself (a flag, a file) name their [`Exit`] directly.

use helpdesk_core::{Error, ErrorKind, StoreError};

/// An exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 1: anything else.
    Failure = 1,
    /// 2: bad input: a flag, a file, an archive.
    Invalid = 2,
    /// 3: no such user, ticket, webhook, ...
    NotFound = 3,
    /// 4: taken, an invalid transition, a non-empty store, an existing file.
    Conflict = 4,
    /// 5: a bad or missing token, or a role that may not do this.
    NotAllowed = 5,
    /// 6: the store or the server cannot be reached (or a server holds the sled store).
    Unavailable = 6,
    /// 65 (`EX_DATAERR`, `mail ingest` only): not a mail, or too large.
    DataErr = 65,
    /// 67 (`EX_NOUSER`, `mail ingest` only): no such mailbox.
    NoUser = 67,
    /// 75 (`EX_TEMPFAIL`, `mail ingest` only): the store or server is unavailable; the
    /// MTA retries.
    TempFail = 75,
    /// 77 (`EX_NOPERM`, `mail ingest` only): denied.
    NoPerm = 77,
}

impl Exit {
    /// The exit code of each kind of library error.
    pub fn of(kind: ErrorKind) -> Exit {
        match kind {
            ErrorKind::Unauthorized | ErrorKind::Forbidden => Exit::NotAllowed,
            ErrorKind::NotFound => Exit::NotFound,
            ErrorKind::Invalid | ErrorKind::TooLarge => Exit::Invalid,
            ErrorKind::Conflict => Exit::Conflict,
            ErrorKind::Unavailable => Exit::Unavailable,
            _ => Exit::Failure,
        }
    }

    /// The sysexits code an MTA reads for this exit (`mail ingest`): anything that is
    /// not the mail's or the caller's fault is temporary, so the mail is tried again.
    pub fn sysexit(self) -> Exit {
        match self {
            Exit::Invalid | Exit::DataErr => Exit::DataErr,
            Exit::NotFound | Exit::NoUser => Exit::NoUser,
            Exit::NotAllowed | Exit::NoPerm => Exit::NoPerm,
            _ => Exit::TempFail,
        }
    }

    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// A command's failure: what to print, and the exit code.
#[derive(Debug)]
pub struct CliError {
    /// The exit code.
    pub exit: Exit,
    /// One or more lines for standard error (without the `error: ` prefix).
    pub message: String,
}

/// A command's result.
pub type CliResult<T = ()> = Result<T, CliError>;

impl CliError {
    /// An error with an exit code.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        CliError {
            exit,
            message: message.into(),
        }
    }
    /// Bad input.
    pub fn invalid(message: impl Into<String>) -> Self {
        CliError::new(Exit::Invalid, message)
    }
    /// Not found.
    pub fn not_found(message: impl Into<String>) -> Self {
        CliError::new(Exit::NotFound, message)
    }
    /// Any other failure.
    pub fn failure(message: impl Into<String>) -> Self {
        CliError::new(Exit::Failure, message)
    }
    /// True when the thing asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        self.exit == Exit::NotFound
    }
    /// The same error with `prefix: ` before its message.
    pub fn context(self, prefix: impl std::fmt::Display) -> Self {
        CliError::new(self.exit, format!("{prefix}: {}", self.message))
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// The error's text followed by its source chain (`text: a: b`), for one-line messages.
pub fn with_sources(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        CliError::new(Exit::of(e.kind()), with_sources(&e))
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        Error::Store(e).into()
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::failure(e.to_string())
    }
}
