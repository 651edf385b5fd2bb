//! The email channel's I/O-free logic: parse raw MIME into a [`ParsedMail`] (body text,
//! attachments, threading headers), classify it (automatic, own mail, bounce reports),
//! strip quoted replies, make and verify reply tokens, and build the mail we send.
//!
//! Nothing here reads a store or a socket: the ingest pipeline that dedupes, threads
//! against the store and writes tickets, messages and inbound records lives in `ops`, and
//! the SMTP listener, IMAP poller and sender in the `helpdesk-mail` crate. The contract is
//! API-email.md ("Threading", "Content", "Automatic mail, loops, bounces", "Outbound").

mod build;
#[cfg(test)]
mod build_tests;
mod classify;
mod dsn;
mod html;
mod parse;
mod parts;
mod quote;
mod thread;
mod token;

#[cfg(test)]
mod tests;

pub use build::{
    BuiltMail, NotificationMail, OutgoingAttachment, OutgoingMailbox, Recipient, ReplyKind,
    ReplyMail, ThreadRef, build_notification, build_reply, default_auto_reply_text,
};
pub use classify::{OwnMail, from_is_mailbox, has_loop_header, is_automatic, own_mail};
pub use dsn::{DeliveryAction, DeliveryReport, DsnStatus, RecipientReport};
pub use parse::{MailAddress, ParsedMail, parse};
pub use parts::MailAttachment;
pub use parts::ParseLimits;
pub use quote::{REPLY_MARKER, strip_quotes};
pub use thread::{
    MAX_SUBJECT_CHARS, NO_SUBJECT, clean_subject, normalize_message_id, outgoing_subject,
    reply_references, subject_ticket_number, thread_candidates,
};
pub use token::{MAC_CHARS, MailKey, ReplyToken, base_address, reply_address};

/// Why a mail could not be read or built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The bytes are empty or hold no mail headers (the CLI's exit 65).
    #[error("not a mail: {0}")]
    NotAMail(&'static str),
    /// An address we were asked to write into a header is not a plain `local@domain`.
    #[error("invalid mail address: {0:?}")]
    InvalidAddress(String),
}
