//! Mailboxes (API-email.md "Mailboxes"): the addresses the helpdesk receives and sends
//! mail as, each with one way in ([`Inbound`]), one way out ([`Outbound`]) and an
//! [`AutoReply`] rule. The record and its pure rules are here; reading their JSON input
//! (with problems at JSON paths) is in [`input`]; the operations are in
//! `ops/mailbox.rs`.
//!
//! Secrets (the IMAP and SMTP passwords, Mailgun's signing key, the `raw` provider's
//! `secret`) are kept in the record as given: the store, and an archive of it, hold
//! them; the API shows only whether they are set.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use uuid::Uuid;

pub mod input;

pub use input::{MailboxPatch, NewMailbox};

/// How long a rotated-out `secret` still verifies.
pub const ROTATION_GRACE_HOURS: i64 = 24;
/// The default IMAP port (implicit TLS).
pub const DEFAULT_IMAP_PORT: u16 = 993;
/// The default IMAP folder.
pub const DEFAULT_FOLDER: &str = "INBOX";
/// The default seconds between IMAP polls.
pub const DEFAULT_POLL_INTERVAL: u32 = 60;
/// The longest poll interval, in seconds.
pub const MAX_POLL_INTERVAL: u32 = 3600;

/// A mailbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mailbox {
    /// Id.
    pub id: Uuid,
    /// The address, lower-case and without `+` (unique).
    pub address: String,
    /// The `From` display name (1..=100 characters).
    pub name: String,
    /// The group its new tickets go to (`None`: the default group).
    pub group_id: Option<Uuid>,
    /// Sends notification mail for tickets without a mailbox (one mailbox at most).
    pub is_default: bool,
    /// How mail comes in.
    pub inbound: Inbound,
    /// How mail goes out.
    pub outbound: Outbound,
    /// Answering the mail that makes a ticket.
    pub auto_reply: AutoReply,
    /// The `raw` webhook provider's secret (`whsec_` + base64 of 32 bytes); `None` for
    /// every other inbound kind.
    pub secret: Option<String>,
    /// The secret before the last rotation, verifying until its end.
    pub previous_secret: Option<PreviousSecret>,
    /// Created.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
    /// Last changed.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub updated_at: DateTime<Utc>,
}

/// A rotated-out secret and when it stops verifying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousSecret {
    /// The secret.
    pub secret: String,
    /// The end of its grace.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub until: DateTime<Utc>,
}

/// How a mailbox receives mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Inbound {
    /// Polled from an IMAP folder.
    Imap(Imap),
    /// Posted over HTTP by a provider.
    Webhook {
        /// Who posts it and how it is signed.
        provider: WebhookProvider,
        /// Mailgun's HTTP webhook signing key (`None` for `raw`).
        signing_key: Option<String>,
    },
    /// Delivered to the SMTP listener.
    Smtp,
    /// Piped in by an MTA (`helpdesk mail ingest`).
    Pipe,
}

/// The kinds of [`Inbound`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InboundKind {
    /// [`Inbound::Imap`].
    Imap,
    /// [`Inbound::Webhook`].
    Webhook,
    /// [`Inbound::Smtp`].
    Smtp,
    /// [`Inbound::Pipe`].
    Pipe,
}

impl InboundKind {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            InboundKind::Imap => "imap",
            InboundKind::Webhook => "webhook",
            InboundKind::Smtp => "smtp",
            InboundKind::Pipe => "pipe",
        }
    }
}

impl Inbound {
    /// Its kind.
    pub fn kind(&self) -> InboundKind {
        match self {
            Inbound::Imap(_) => InboundKind::Imap,
            Inbound::Webhook { .. } => InboundKind::Webhook,
            Inbound::Smtp => InboundKind::Smtp,
            Inbound::Pipe => InboundKind::Pipe,
        }
    }

    /// The webhook provider, for webhook mailboxes.
    pub fn provider(&self) -> Option<WebhookProvider> {
        match self {
            Inbound::Webhook { provider, .. } => Some(*provider),
            _ => None,
        }
    }

    /// Whether an IMAP cursor read from `self` still applies to `next`: both IMAP on
    /// the same server, account and folder.
    pub fn same_folder(&self, next: &Inbound) -> bool {
        match (self, next) {
            (Inbound::Imap(a), Inbound::Imap(b)) => a.same_folder(b),
            _ => false,
        }
    }
}

impl Imap {
    /// Whether both name the same server, account and folder.
    pub fn same_folder(&self, other: &Imap) -> bool {
        self.host == other.host
            && self.port == other.port
            && self.username == other.username
            && self.folder == other.folder
    }
}

/// Who posts webhook mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookProvider {
    /// Raw MIME signed as Standard Webhooks with the mailbox's `secret`.
    Raw,
    /// Mailgun's raw-MIME route, signed with its signing key.
    Mailgun,
}

impl WebhookProvider {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookProvider::Raw => "raw",
            WebhookProvider::Mailgun => "mailgun",
        }
    }
}

/// An IMAP account and folder, and the poller's state in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Imap {
    /// Server host name.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// How the connection is secured.
    pub tls: ImapTls,
    /// Login.
    pub username: String,
    /// Password (write-only in the API).
    pub password: String,
    /// The folder read.
    pub folder: String,
    /// What happens to a message once ingested.
    pub after: After,
    /// Seconds between polls when the server offers no IDLE (1..=3600).
    pub poll_interval: u32,
    /// Where the poller is (read-only in the API).
    #[serde(default)]
    pub state: ImapState,
}

/// How an IMAP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImapTls {
    /// TLS from the first byte (port 993).
    Implicit,
    /// `STARTTLS` after connecting.
    #[serde(rename = "starttls")]
    StartTls,
    /// None (loopback and tests).
    None,
}

impl ImapTls {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            ImapTls::Implicit => "implicit",
            ImapTls::StartTls => "starttls",
            ImapTls::None => "none",
        }
    }
}

/// What the poller does with a message it ingested.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum After {
    /// Flags it `\Seen`.
    Seen,
    /// Moves it to another folder.
    Move {
        /// The folder.
        move_to: String,
    },
}

/// The IMAP poller's cursor and health.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImapState {
    /// The folder's UIDVALIDITY when `last_uid` was read.
    pub uidvalidity: Option<u32>,
    /// The highest UID ingested.
    pub last_uid: Option<u32>,
    /// The last poll's start.
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub last_poll_at: Option<DateTime<Utc>>,
    /// The last poll's error (`None` after a good poll).
    pub last_error: Option<String>,
}

/// How a mailbox sends mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outbound {
    /// It sends nothing.
    None,
    /// Through an SMTP server.
    Smtp {
        /// `smtp://[user@]host[:port][?tls=required|opportunistic]` or
        /// `smtps://[user@]host[:port]`, as lettre reads it, without a password.
        url: String,
        /// The SMTP password (write-only in the API).
        password: Option<String>,
    },
}

/// The auto-reply rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoReply {
    /// Whether the mail that makes a ticket is answered.
    pub enabled: bool,
    /// The canned reply sent (`None`: a built-in text).
    pub canned_reply_id: Option<Uuid>,
}

/// A mailbox as written, with the secret the write made, if any (a `raw` provider's,
/// shown once).
#[derive(Debug, Clone, PartialEq)]
pub struct SavedMailbox {
    /// The mailbox.
    pub mailbox: Mailbox,
    /// The new `secret`, if the write made one.
    pub new_secret: Option<String>,
}

/// A new `raw` provider secret: `whsec_` + base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    format!("whsec_{}", B64.encode(raw))
}

impl Mailbox {
    /// The secrets that verify at `now`: the current one, then the previous one while
    /// its grace lasts (the keys a Standard Webhooks signature is checked against).
    pub fn secrets_at(&self, now: DateTime<Utc>) -> Vec<&str> {
        let mut keys: Vec<&str> = self.secret.as_deref().into_iter().collect();
        if let Some(p) = &self.previous_secret
            && now < p.until
        {
            keys.push(&p.secret);
        }
        keys
    }

    /// Whether `candidate` is a secret that verifies at `now` ([`Mailbox::secrets_at`]),
    /// compared in constant time.
    pub fn secret_matches(&self, candidate: &str, now: DateTime<Utc>) -> bool {
        // Every key is compared, so the time does not tell which one matched.
        self.secrets_at(now).iter().fold(false, |hit, key| {
            hit | bool::from(key.as_bytes().ct_eq(candidate.as_bytes()))
        })
    }

    /// Whether a Standard Webhooks `signature` header (a space-separated list of
    /// `v1,<base64>`) holds the signature of `id`, `timestamp` and `body` under a secret
    /// that verifies at `now`; compared in constant time.
    pub fn verify_standard_webhook(
        &self,
        id: &str,
        timestamp: &str,
        signature: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> bool {
        let Ok(ts) = timestamp.parse::<i64>() else {
            return false;
        };
        let expected: Vec<String> = self
            .secrets_at(now)
            .iter()
            .map(|key| crate::webhook::sign(key, id, ts, body))
            .collect();
        signature.split_whitespace().fold(false, |hit, given| {
            expected.iter().fold(hit, |hit, want| {
                hit | bool::from(want.as_bytes().ct_eq(given.as_bytes()))
            })
        })
    }

    /// Whether Mailgun's `signature` is the hex HMAC-SHA256 of `timestamp` + `token`
    /// under the mailbox's signing key; compared in constant time.
    pub fn verify_mailgun(&self, timestamp: &str, token: &str, signature: &str) -> bool {
        use hmac::{Hmac, Mac};
        let Inbound::Webhook {
            signing_key: Some(key),
            ..
        } = &self.inbound
        else {
            return false;
        };
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(timestamp.as_bytes());
        mac.update(token.as_bytes());
        let want = hex::encode(mac.finalize().into_bytes());
        bool::from(
            want.as_bytes()
                .ct_eq(signature.trim().to_ascii_lowercase().as_bytes()),
        )
    }

    /// Replaces the secret: the old one verifies for [`ROTATION_GRACE_HOURS`] more.
    /// `false` (nothing changed) unless the mailbox has one (provider `raw`).
    pub fn rotate_secret(&mut self, now: DateTime<Utc>) -> bool {
        let Some(old) = self.secret.take() else {
            return false;
        };
        self.previous_secret = Some(PreviousSecret {
            secret: old,
            until: now + Duration::hours(ROTATION_GRACE_HOURS),
        });
        self.secret = Some(new_secret());
        true
    }

    /// Brings `secret` in line with `inbound` after a change of it: a `raw` webhook
    /// keeps its secret or gets a new one (returned, to be shown once); any other kind
    /// holds none. Returns the new secret if one was made.
    pub fn settle_secret(&mut self) -> Option<String> {
        if self.inbound.provider() == Some(WebhookProvider::Raw) {
            if self.secret.is_none() {
                let s = new_secret();
                self.secret = Some(s.clone());
                return Some(s);
            }
            None
        } else {
            self.secret = None;
            self.previous_secret = None;
            None
        }
    }
}

/// Sorts mailboxes as they are listed: by address, then id.
pub fn sort_mailboxes(mailboxes: &mut [Mailbox]) {
    mailboxes.sort_by(|a, b| (&a.address, a.id).cmp(&(&b.address, b.id)));
}

#[cfg(test)]
mod tests;
