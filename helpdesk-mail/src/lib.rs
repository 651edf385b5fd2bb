//! Helpdesk's mail I/O: the network side of the email channel, and nothing else.
//!
//! - [`smtp_listener`]: a plain SMTP server (`--smtp-bind`) that hands each accepted mail to an
//!   [`InboundSink`] and answers `250` only once the sink has committed it.
//! - [`imap`]: one poll of an IMAP folder ([`poll_once`]), handing each new mail to an
//!   [`ImapSink`], then flagging or moving it, then moving the cursor; between polls,
//!   [`wait_for_mail`] waits with IDLE where the server offers it.
//! - [`smtp_send`]: sends one built mail through a mailbox's SMTP server ([`send`]) and tells
//!   which recipients took it, which refused, and whether a failure is worth retrying.
//!
//! What is deliberately absent: parsing, threading, classifying and building mail live in
//! `helpdesk-core` (I/O-free); the ingest pipeline, the stores and the outbox worker live in
//! the caller, which implements the small sink traits here. This crate depends on neither.

#![forbid(unsafe_code)]

pub mod imap;
pub mod smtp_listener;
pub mod smtp_send;
mod tls;

pub use imap::{
    AfterIngest, Backoff, ImapConfig, ImapError, ImapSink, ImapState, ImapTls, PollReport,
    SinkError, Wake, poll_once, test_login, wait_for_mail,
};
pub use smtp_listener::{
    DeliverError, Envelope, InboundSink, ListenerConfig, ListenerError, SmtpListener,
};
pub use smtp_send::{RecipientReply, SEND_TIMEOUT, SendOutcome, send, test_smtp};
