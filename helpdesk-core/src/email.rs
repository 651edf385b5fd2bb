//! The email channel's records (API-email.md): the inbound record written for every mail
//! a mailbox receives, the outbound mail of the durable outbox, suppressed addresses,
//! and [`MailEffects`], how an operation writes them with its change.
//!
//! Raw bytes travel beside the records ([`InboundWrite::raw`], [`OutboundWrite::raw`])
//! and are read on their own (`inbound_raw`, `outbound_raw`): listing records never
//! loads mail bodies.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How a mail reached the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboundVia {
    /// The SMTP listener.
    Smtp,
    /// The IMAP poller.
    Imap,
    /// `POST /api/inbound/email/{id}` (raw or Mailgun).
    Http,
    /// `helpdesk mail ingest`.
    Cli,
}

/// What ingesting a mail did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboundResult {
    /// It opened a ticket.
    TicketCreated,
    /// It became a message on a ticket.
    MessageAdded,
    /// It was a delivery report about mail we sent.
    Bounce,
    /// It changed nothing ([`InboundRecord::reason`] says why).
    Ignored,
}

impl InboundResult {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            InboundResult::TicketCreated => "ticket_created",
            InboundResult::MessageAdded => "message_added",
            InboundResult::Bounce => "bounce",
            InboundResult::Ignored => "ignored",
        }
    }

    /// The result an API name names.
    pub fn parse(s: &str) -> Option<Self> {
        [
            InboundResult::TicketCreated,
            InboundResult::MessageAdded,
            InboundResult::Bounce,
            InboundResult::Ignored,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// Why a mail was ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoreReason {
    /// Mail we sent (a mailbox's `From`, our Message-ID, our loop header).
    OwnMail,
    /// No `From` address.
    NoSender,
    /// The sender's account is deactivated.
    SenderInactive,
    /// A staff sender matched a ticket other than through their personal token.
    UnverifiedStaffSender,
    /// A delivery report about mail we did not send.
    UnmatchedBounce,
    /// Over `--mail-max-size` (only its headers were read).
    TooLarge,
}

/// One mail received by one mailbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundRecord {
    /// Id.
    pub id: Uuid,
    /// The receiving mailbox.
    pub mailbox_id: Uuid,
    /// The mail's Message-ID without `<>`, as written.
    pub internet_message_id: Option<String>,
    /// What makes the mail the same mail in its mailbox: the lower-cased Message-ID,
    /// else `sha256:` and the hex digest of the bytes ([`dedupe_key`]).
    pub dedupe_key: String,
    /// The first `From` address.
    pub from: Option<String>,
    /// `To` addresses.
    pub to: Vec<String>,
    /// `Cc` addresses.
    pub cc: Vec<String>,
    /// The decoded Subject.
    pub subject: String,
    /// The raw mail's byte count.
    pub size: u64,
    /// How it came.
    pub via: InboundVia,
    /// Automatic mail (an auto-responder, a list, a bounce).
    pub auto: bool,
    /// What ingesting it did.
    pub result: InboundResult,
    /// Why it was ignored.
    pub reason: Option<IgnoreReason>,
    /// The ticket it made or joined (or, for a bounce, the bounced mail's ticket).
    pub ticket_id: Option<Uuid>,
    /// The message it became.
    pub message_id: Option<Uuid>,
    /// Copied addresses left out beyond the CC limit.
    #[serde(default)]
    pub left_out: Vec<String>,
    /// Its `References` (normalised), for the headers of the replies to it.
    #[serde(default)]
    pub references: Vec<String>,
    /// Received.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub received_at: DateTime<Utc>,
}

/// The dedupe key of a mail: its lower-cased Message-ID, else the SHA-256 of its bytes.
pub fn dedupe_key(internet_message_id: Option<&str>, sha256_hex: &str) -> String {
    match internet_message_id {
        Some(id) if !id.is_empty() => id.to_ascii_lowercase(),
        _ => format!("sha256:{sha256_hex}"),
    }
}

/// An inbound record with the bytes received, written with the change it made.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundWrite {
    /// The record.
    pub record: InboundRecord,
    /// The mail as received.
    pub raw: Arc<[u8]>,
}

/// What an outbound mail is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboundKind {
    /// A public staff message on a ticket.
    Reply,
    /// The answer to a mail that made a ticket.
    AutoReply,
    /// A notification of a user with `email_notifications`.
    Notification,
}

/// Where an outbound mail is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboundStatus {
    /// Waiting for its first attempt.
    Pending,
    /// Taken by the server for at least one recipient.
    Sent,
    /// The last attempt failed for a reason that may pass; retried.
    Failed,
    /// Failed for good: the retry schedule used up, or a permanent rejection.
    Dead,
    /// No recipient could be mailed; never sent.
    Suppressed,
    /// A later delivery report said it failed.
    Bounced,
}

impl OutboundStatus {
    /// Every status, in the order of the contract.
    pub const ALL: [OutboundStatus; 6] = [
        OutboundStatus::Pending,
        OutboundStatus::Sent,
        OutboundStatus::Failed,
        OutboundStatus::Dead,
        OutboundStatus::Suppressed,
        OutboundStatus::Bounced,
    ];

    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboundStatus::Pending => "pending",
            OutboundStatus::Sent => "sent",
            OutboundStatus::Failed => "failed",
            OutboundStatus::Dead => "dead",
            OutboundStatus::Suppressed => "suppressed",
            OutboundStatus::Bounced => "bounced",
        }
    }

    /// The status an API name names.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the worker still has to send it (when `next_attempt_at` comes).
    pub fn is_queued(self) -> bool {
        matches!(self, OutboundStatus::Pending | OutboundStatus::Failed)
    }
}

/// A recipient the server refused at `RCPT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// The address.
    pub address: String,
    /// The SMTP reply code.
    pub code: u16,
    /// The server's text.
    pub text: String,
}

/// One mail of the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundMail {
    /// Id (also the local part of its Message-ID).
    pub id: Uuid,
    /// The mailbox it is sent through.
    pub mailbox_id: Uuid,
    /// What it is.
    pub kind: OutboundKind,
    /// Its ticket.
    pub ticket_id: Option<Uuid>,
    /// The message it carries (replies).
    pub message_id: Option<Uuid>,
    /// The notification it carries.
    pub notification_id: Option<Uuid>,
    /// `To` addresses.
    pub to: Vec<String>,
    /// `Cc` addresses.
    pub cc: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Its Message-ID without `<>`.
    pub internet_message_id: String,
    /// Its `References` (for replies to replies).
    #[serde(default)]
    pub references: Vec<String>,
    /// Where it is.
    pub status: OutboundStatus,
    /// Attempts made.
    pub attempts: u32,
    /// The last SMTP reply code.
    pub last_smtp_code: Option<u16>,
    /// The last error.
    pub last_error: Option<String>,
    /// Recipients refused at `RCPT`.
    pub rejected: Vec<Rejected>,
    /// When the worker tries next (queued statuses only).
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When a server took it.
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub sent_at: Option<DateTime<Utc>>,
    /// Recorded.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
}

impl OutboundMail {
    /// Every recipient, `To` then `Cc`.
    pub fn recipients(&self) -> impl Iterator<Item = &str> {
        self.to.iter().chain(&self.cc).map(String::as_str)
    }
}

/// An outbound mail with its bytes, recorded with the change that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundWrite {
    /// The record.
    pub mail: OutboundMail,
    /// The mail as it is sent.
    pub raw: Arc<[u8]>,
}

/// Why an address is not mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    /// A delivery report said it failed for good.
    Bounce,
    /// Our SMTP server refused it at `RCPT` with a 5xx.
    Rejected,
}

/// An address no mail is sent to until an admin removes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// The (lower-case) address.
    pub address: String,
    /// Why.
    pub reason: SuppressionReason,
    /// The status and diagnostic that caused it.
    pub detail: String,
    /// The mail whose failure caused it.
    pub outbound_id: Option<Uuid>,
    /// Since.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
}

/// The email channel's part of an operation's [`Effects`](crate::event::Effects).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MailEffects {
    /// The inbound record of the mail that caused the change. A record of the same
    /// `(mailbox_id, dedupe_key)` stored already fails the whole operation with
    /// `Conflict::Duplicate`.
    pub inbound: Option<InboundWrite>,
    /// Outbound mail to record.
    pub outbound: Vec<OutboundWrite>,
    /// Suppressions to write (one already there for the address stays as it is).
    pub suppressions: Vec<Suppression>,
    /// Outbound mail a delivery report turned `bounced` (one that is not there is
    /// skipped).
    pub bounced: Vec<Uuid>,
}

impl MailEffects {
    /// True when nothing is to be written.
    pub fn is_empty(&self) -> bool {
        self.inbound.is_none()
            && self.outbound.is_empty()
            && self.suppressions.is_empty()
            && self.bounced.is_empty()
    }

    /// Adds `other`'s writes after these (an inbound record in both: `other`'s wins).
    pub fn extend(&mut self, other: &MailEffects) {
        if other.inbound.is_some() {
            self.inbound.clone_from(&other.inbound);
        }
        self.outbound.extend_from_slice(&other.outbound);
        self.suppressions.extend_from_slice(&other.suppressions);
        self.bounced.extend_from_slice(&other.bounced);
    }
}

/// A mail found by its Message-ID in the index of all mail ingested or sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailRef {
    /// The mailbox that received or sent it.
    pub mailbox_id: Uuid,
    /// Its ticket.
    pub ticket_id: Option<Uuid>,
    /// The outbound mail, if it is one we sent.
    pub outbound_id: Option<Uuid>,
}

/// A ticket's newest mail each way: what a reply's `In-Reply-To` and `References` and
/// its `Re:` follow.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketMail {
    /// The newest inbound mail with a Message-ID.
    pub inbound: Option<InboundRecord>,
    /// The newest outbound mail that is not `suppressed`.
    pub outbound: Option<OutboundMail>,
}

/// The filter of an outbox listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundQuery {
    /// Any of these statuses (empty: all).
    pub statuses: Vec<OutboundStatus>,
    /// This ticket's.
    pub ticket_id: Option<Uuid>,
}

impl OutboundQuery {
    /// True when `m` passes the filter.
    pub fn matches(&self, m: &OutboundMail) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&m.status))
            && self.ticket_id.is_none_or(|t| m.ticket_id == Some(t))
    }
}

impl InboundRecord {
    /// The API shape (API-email.md "Inbound record"), with `left_out` when copied
    /// addresses were left out.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "mailbox_id": self.mailbox_id,
            "internet_message_id": self.internet_message_id,
            "from": self.from,
            "to": self.to,
            "cc": self.cc,
            "subject": self.subject,
            "size": self.size,
            "via": self.via,
            "auto": self.auto,
            "result": self.result,
            "reason": self.reason,
            "ticket_id": self.ticket_id,
            "message_id": self.message_id,
            "left_out": self.left_out,
            "received_at": crate::wire::Ts::from(self.received_at),
        })
    }
}

impl OutboundMail {
    /// The API shape (API-email.md "Outbound mail").
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "mailbox_id": self.mailbox_id,
            "kind": self.kind,
            "ticket_id": self.ticket_id,
            "message_id": self.message_id,
            "notification_id": self.notification_id,
            "to": self.to,
            "cc": self.cc,
            "subject": self.subject,
            "internet_message_id": self.internet_message_id,
            "status": self.status,
            "attempts": self.attempts,
            "last_smtp_code": self.last_smtp_code,
            "last_error": self.last_error,
            "rejected": self.rejected,
            "next_attempt_at": crate::wire::opt_ts(self.next_attempt_at),
            "sent_at": crate::wire::opt_ts(self.sent_at),
            "created_at": crate::wire::Ts::from(self.created_at),
        })
    }
}

impl Suppression {
    /// The API shape.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "address": self.address,
            "reason": self.reason,
            "detail": self.detail,
            "outbound_id": self.outbound_id,
            "created_at": crate::wire::Ts::from(self.created_at),
        })
    }
}

/// The email channel's settings (`--mail-*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// The largest mail ingested whole, in bytes (`--mail-max-size`, 40 MiB); a larger
    /// one is recorded as `too_large` from its headers.
    pub max_size: usize,
    /// At most this many attachments kept from one mail (`--mail-max-attachments`, 20).
    pub max_attachments: usize,
    /// Waits before each retry of a failed outbound mail (`--mail-retry-schedule`).
    pub retry_schedule: Vec<std::time::Duration>,
    /// Auto-replies per sender address within [`MailConfig::auto_reply_window`]
    /// (`--mail-auto-reply-limit`, `3/1h`).
    pub auto_reply_limit: usize,
    /// The window of [`MailConfig::auto_reply_limit`].
    pub auto_reply_window: std::time::Duration,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            max_size: 40 * 1024 * 1024,
            max_attachments: 20,
            retry_schedule: crate::clock::default_retry_schedule(),
            auto_reply_limit: 3,
            auto_reply_window: std::time::Duration::from_secs(3600),
        }
    }
}

/// The SMTP server a mailbox sends through.
#[derive(Debug, Clone, Copy)]
pub struct SmtpTarget<'a> {
    /// lettre's URL form (`smtp://[user@]host[:port][?tls=...]`, `smtps://...`).
    pub url: &'a str,
    /// The password, when the URL names a user.
    pub password: Option<&'a str>,
}

/// How one attempt to send an outbound mail went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailSendOutcome {
    /// The server took it for at least one recipient (`sent`).
    Sent {
        /// Recipients refused with a 5xx (suppressed as `rejected`).
        rejected: Vec<Rejected>,
    },
    /// Worth retrying (`failed`): a 4xx, no connection, TLS, a timeout.
    Temporary {
        /// The server's reply code, if it said one.
        code: Option<u16>,
        /// What went wrong.
        text: String,
        /// Recipients refused with a 5xx before the failure.
        rejected: Vec<Rejected>,
    },
    /// Not worth retrying (`dead`): a 5xx to `MAIL FROM` or `DATA`, every recipient
    /// refused, a setting that cannot work.
    Permanent {
        /// The server's reply code, if it said one.
        code: Option<u16>,
        /// What went wrong.
        text: String,
        /// Recipients refused with a 5xx.
        rejected: Vec<Rejected>,
    },
}

/// Sends the outbox's mail (the `helpdesk-mail` crate's SMTP sender; tests and
/// embedders may bring their own).
#[async_trait::async_trait]
pub trait MailTransport: Send + Sync {
    /// Sends `raw` from the envelope sender `from` to `recipients` through `smtp`,
    /// within the contract's 60 seconds.
    async fn send(
        &self,
        smtp: &SmtpTarget<'_>,
        from: &str,
        recipients: &[String],
        raw: &[u8],
    ) -> MailSendOutcome;
}

/// The mail key (reply tokens) and this installation's loop id (`X-Helpdesk-Loop`),
/// made once and kept in the store's settings.
#[derive(Debug, Clone)]
pub(crate) struct MailSecrets {
    pub(crate) key: crate::mail::MailKey,
    pub(crate) installation_id: String,
}
