//! End-to-end tests: the real server on a loopback port, driven over HTTP with reqwest.
//! One test binary with modules (faster to build than many).

mod helpers;
/// aiosmtpd and dovecot started as the helpdesk-mail tests start them.
#[path = "../../helpdesk-mail/tests/mail/support.rs"]
#[allow(dead_code)]
mod mail_support;

mod access;
mod apikeys;
mod auth;
mod calendars;
mod canned_replies;
mod cc;
mod chat;
mod csat;
mod errors;
mod fields;
mod groups;
mod imap;
mod inbound;
mod macros;
mod mail_flow;
mod mail_log;
mod mailbox_checks;
mod mailboxes;
mod merge;
mod mount;
mod notify_mail;
mod ops;
mod organizations;
mod receipts_v2;
mod rules;
mod scheduler;
mod scopes;
mod shapes;
mod sharing;
mod sla;
mod snooze;
mod socketio;
mod statuses;
mod tickets;
mod users;
mod views;
mod ws;
