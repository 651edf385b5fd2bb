//! A mailbox's input: the plain fields' checks, and `inbound`, `outbound` and
//! `auto_reply` read from JSON with each problem at its JSON path (`inbound.port`), an
//! unknown key as `unknown_field` (`inbound.state` too: it is read-only).
//!
//! Secrets are optional in what is read: one left out keeps the value the mailbox
//! holds while the kind stays ([`resolve_inbound`], [`resolve_outbound`]).

use serde_json::{Map, Value};
use uuid::Uuid;

use super::*;
use crate::error::{Error, FieldError, Result};

/// Input for creating a mailbox; `inbound`, `outbound` and `auto_reply` are JSON,
/// checked when made.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMailbox {
    /// Address (any case; stored lower-cased).
    pub address: String,
    /// Display name.
    pub name: String,
    /// Group for its new tickets.
    pub group_id: Option<Uuid>,
    /// Default for notification mail (`None`: false).
    pub is_default: Option<bool>,
    /// Inbound (JSON, with its `kind`).
    pub inbound: Value,
    /// Outbound (JSON; `None`: `{"kind": "none"}`).
    pub outbound: Option<Value>,
    /// Auto-reply (JSON; `None`: disabled).
    pub auto_reply: Option<Value>,
}

/// A change to a mailbox; `None` leaves a field alone. `inbound`, `outbound` and
/// `auto_reply` are replaced whole.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MailboxPatch {
    /// Address.
    pub address: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Group (`Some(None)`: the default group).
    pub group_id: Option<Option<Uuid>>,
    /// Default flag.
    pub is_default: Option<bool>,
    /// Inbound (JSON).
    pub inbound: Option<Value>,
    /// Outbound (JSON).
    pub outbound: Option<Value>,
    /// Auto-reply (JSON).
    pub auto_reply: Option<Value>,
}

/// Checks an address: trimmed, lower-cased, a valid address without `+`, at most 254
/// characters.
pub fn validate_address(address: &str) -> Result<String> {
    crate::text::check("address", address)?;
    let a = address.trim().to_lowercase();
    if crate::user::validate_email(&a).is_err() {
        return Err(Error::invalid("address", "is not a valid email address"));
    }
    if a.contains('+') {
        return Err(Error::invalid(
            "address",
            "must not hold `+` (replies use it for ticket tokens)",
        ));
    }
    Ok(a)
}

/// Checks and trims a display name (1..=100 characters).
pub fn validate_name(name: &str) -> Result<String> {
    crate::text::check("name", name)?;
    if name.contains(['\r', '\n']) {
        return Err(Error::invalid("name", "must be one line"));
    }
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 100 {
        return Err(Error::invalid("name", "must be 1 to 100 characters"));
    }
    Ok(n.to_string())
}

/// Inbound as read, its secret optional (see [`resolve_inbound`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundInput {
    /// IMAP; `imap.password` is empty when left out.
    Imap(Imap),
    /// A webhook.
    Webhook {
        /// Provider.
        provider: WebhookProvider,
        /// Mailgun's signing key, if given.
        signing_key: Option<String>,
    },
    /// The SMTP listener.
    Smtp,
    /// A pipe.
    Pipe,
}

/// Outbound as read; `password`: absent (`None`), `null` (`Some(None)`) or a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundInput {
    /// None.
    None,
    /// SMTP.
    Smtp {
        /// The URL, checked.
        url: String,
        /// The password as given.
        password: Option<Option<String>>,
    },
}

/// Reads the keys of one JSON object, gathering problems at `prefix.key`.
struct Fields<'a> {
    obj: &'a Map<String, Value>,
    prefix: &'static str,
    errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    fn new(v: &'a Value, prefix: &'static str) -> Result<Self> {
        match v.as_object() {
            Some(obj) => Ok(Fields {
                obj,
                prefix,
                errors: Vec::new(),
            }),
            None => Err(Error::invalid(prefix, "must be an object")),
        }
    }
    fn path(&self, key: &str) -> String {
        format!("{}.{key}", self.prefix)
    }
    fn only(&self, known: &[&str]) -> Result<()> {
        match self.obj.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(Error::UnknownField(self.path(k))),
            None => Ok(()),
        }
    }
    fn fail(&mut self, key: &str, message: impl Into<String>) {
        let field = self.path(key);
        self.errors.push(FieldError {
            field,
            message: message.into(),
        });
    }
    /// A string of 1..=`max` characters without refused control characters.
    fn text(&mut self, key: &str, max: usize, required: bool) -> Option<String> {
        match self.obj.get(key) {
            None if required => {
                self.fail(key, "is required");
                None
            }
            None => None,
            Some(Value::String(s)) => {
                let ok =
                    !s.is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control);
                if ok {
                    Some(s.clone())
                } else {
                    self.fail(key, format!("must be 1 to {max} characters, one line"));
                    None
                }
            }
            Some(_) => {
                self.fail(key, "must be a string");
                None
            }
        }
    }
    /// A whole number (`4.0` too) in `range`.
    fn whole(&mut self, key: &str, range: std::ops::RangeInclusive<i64>) -> Option<i64> {
        let v = self.obj.get(key)?;
        let n = v.as_i64().or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        });
        match n {
            Some(n) if range.contains(&n) => Some(n),
            _ => {
                let (lo, hi) = (range.start(), range.end());
                self.fail(key, format!("must be a whole number from {lo} to {hi}"));
                None
            }
        }
    }
    /// One of `names` (a string), as its index.
    fn choice(&mut self, key: &str, names: &[&str], required: bool) -> Option<usize> {
        match self.obj.get(key) {
            None if required => {
                self.fail(key, "is required");
                None
            }
            None => None,
            Some(v) => {
                let hit = v.as_str().and_then(|s| names.iter().position(|n| *n == s));
                if hit.is_none() {
                    self.fail(key, format!("must be one of {}", names.join(", ")));
                }
                hit
            }
        }
    }
    fn finish(self) -> Result<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.errors))
        }
    }
}

const INBOUND_KINDS: [&str; 4] = ["imap", "webhook", "smtp", "pipe"];

/// Reads `inbound`.
pub fn parse_inbound(v: &Value) -> Result<InboundInput> {
    let mut f = Fields::new(v, "inbound")?;
    let Some(kind) = f.choice("kind", &INBOUND_KINDS, true) else {
        return Err(Error::Validation(f.errors));
    };
    match INBOUND_KINDS[kind] {
        "imap" => {
            f.only(&[
                "kind",
                "host",
                "port",
                "tls",
                "username",
                "password",
                "folder",
                "after",
                "move_to",
                "poll_interval",
            ])?;
            let host = f.text("host", 253, true);
            if let Some(h) = &host
                && h.contains([' ', '/', '@'])
            {
                f.fail("host", "must be a host name or address");
            }
            let port = f.whole("port", 1..=65535).unwrap_or(993);
            let tls = f
                .choice("tls", &["implicit", "starttls", "none"], false)
                .map_or(ImapTls::Implicit, |i| {
                    [ImapTls::Implicit, ImapTls::StartTls, ImapTls::None][i]
                });
            let username = f.text("username", 320, true);
            let password = f.text("password", 1024, false);
            let folder = f.text("folder", 200, false);
            let after = f.choice("after", &["seen", "move"], false).unwrap_or(0);
            let move_to = f.text("move_to", 200, false);
            let after = match (after, move_to) {
                (1, Some(m)) => Some(After::Move { move_to: m }),
                (1, None) => {
                    if !f.obj.contains_key("move_to") {
                        f.fail("move_to", "is required with `after: \"move\"`");
                    }
                    None
                }
                (_, Some(_)) => {
                    f.fail("move_to", "is only for `after: \"move\"`");
                    None
                }
                (_, None) => Some(After::Seen),
            };
            let poll = f.whole("poll_interval", 1..=i64::from(MAX_POLL_INTERVAL));
            if !f.errors.is_empty() {
                return Err(Error::Validation(f.errors));
            }
            // Each is `None` only with a problem noted.
            let (Some(host), Some(username), Some(after)) = (host, username, after) else {
                return Err(Error::invalid("inbound", "is not a valid IMAP inbound"));
            };
            Ok(InboundInput::Imap(Imap {
                host: host.to_lowercase(),
                port: port as u16,
                tls,
                username,
                password: password.unwrap_or_default(),
                folder: folder.unwrap_or_else(|| DEFAULT_FOLDER.into()),
                after,
                poll_interval: poll.map_or(DEFAULT_POLL_INTERVAL, |p| p as u32),
                state: ImapState::default(),
            }))
        }
        "webhook" => {
            f.only(&["kind", "provider", "signing_key"])?;
            let provider = f.choice("provider", &["raw", "mailgun"], true);
            let signing_key = f.text("signing_key", 1024, false);
            let provider = match provider {
                Some(0) => WebhookProvider::Raw,
                Some(_) => WebhookProvider::Mailgun,
                None => return Err(Error::Validation(f.errors)),
            };
            if provider == WebhookProvider::Raw && f.obj.contains_key("signing_key") {
                f.fail(
                    "signing_key",
                    "is only for provider mailgun (raw uses the mailbox's secret)",
                );
            }
            f.finish()?;
            Ok(InboundInput::Webhook {
                provider,
                signing_key,
            })
        }
        "smtp" => {
            f.only(&["kind"])?;
            Ok(InboundInput::Smtp)
        }
        _ => {
            f.only(&["kind"])?;
            Ok(InboundInput::Pipe)
        }
    }
}

/// The inbound a mailbox gets from `input`, its secret left out taken from `previous`
/// (the mailbox's inbound before, on a change) while the kind stays: the IMAP password
/// from IMAP, Mailgun's signing key from Mailgun. A secret needed and found nowhere:
/// invalid at its path. The IMAP state stays while the folder does
/// ([`Inbound::same_folder`]).
pub fn resolve_inbound(input: InboundInput, previous: Option<&Inbound>) -> Result<Inbound> {
    Ok(match input {
        InboundInput::Imap(mut imap) => {
            let before = match previous {
                Some(Inbound::Imap(b)) => Some(b),
                _ => None,
            };
            if imap.password.is_empty() {
                match before {
                    Some(b) => imap.password = b.password.clone(),
                    None => return Err(Error::invalid("inbound.password", "is required")),
                }
            }
            if let Some(b) = before
                && b.same_folder(&imap)
            {
                imap.state = b.state.clone();
            }
            Inbound::Imap(imap)
        }
        InboundInput::Webhook {
            provider: WebhookProvider::Mailgun,
            signing_key,
        } => {
            let kept = match previous {
                Some(Inbound::Webhook {
                    provider: WebhookProvider::Mailgun,
                    signing_key,
                }) => signing_key.clone(),
                _ => None,
            };
            match signing_key.or(kept) {
                Some(k) => Inbound::Webhook {
                    provider: WebhookProvider::Mailgun,
                    signing_key: Some(k),
                },
                None => return Err(Error::invalid("inbound.signing_key", "is required")),
            }
        }
        InboundInput::Webhook { provider, .. } => Inbound::Webhook {
            provider,
            signing_key: None,
        },
        InboundInput::Smtp => Inbound::Smtp,
        InboundInput::Pipe => Inbound::Pipe,
    })
}

/// Reads `outbound`.
pub fn parse_outbound(v: &Value) -> Result<OutboundInput> {
    let mut f = Fields::new(v, "outbound")?;
    let Some(kind) = f.choice("kind", &["none", "smtp"], true) else {
        return Err(Error::Validation(f.errors));
    };
    if kind == 0 {
        f.only(&["kind"])?;
        return Ok(OutboundInput::None);
    }
    f.only(&["kind", "url", "password"])?;
    let url = f.text("url", 2048, true);
    let password = match f.obj.get("password") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(_) => f.text("password", 1024, false).map(Some),
    };
    let url = match url.as_deref().map(validate_smtp_url) {
        Some(Ok(u)) => Some(u),
        Some(Err(message)) => {
            f.fail("url", message);
            None
        }
        None => None,
    };
    f.finish()?;
    match url {
        Some(url) => Ok(OutboundInput::Smtp { url, password }),
        None => Err(Error::invalid("outbound.url", "is required")),
    }
}

/// The outbound a mailbox gets from `input`: a password left out is kept from an SMTP
/// `previous`; `null` clears it.
pub fn resolve_outbound(input: OutboundInput, previous: Option<&Outbound>) -> Outbound {
    match input {
        OutboundInput::None => Outbound::None,
        OutboundInput::Smtp { url, password } => {
            let password = match password {
                Some(p) => p,
                None => match previous {
                    Some(Outbound::Smtp { password, .. }) => password.clone(),
                    _ => None,
                },
            };
            Outbound::Smtp { url, password }
        }
    }
}

/// Checks an SMTP URL as lettre reads it: `smtp://[user@]host[:port]`, with
/// `?tls=required|opportunistic` (STARTTLS), or `smtps://[user@]host[:port]`; no
/// password (it goes in `password`), path, fragment or other parameter.
pub fn validate_smtp_url(raw: &str) -> std::result::Result<String, String> {
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("is not a URL: {e}"))?;
    let smtps = match url.scheme() {
        "smtp" => false,
        "smtps" => true,
        _ => return Err("must start with smtp:// or smtps://".into()),
    };
    if url.password().is_some() {
        return Err("must not hold a password: set `password` instead".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".into());
    }
    if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
        return Err("must not have a path or a fragment".into());
    }
    for (k, v) in url.query_pairs() {
        match (k.as_ref(), v.as_ref()) {
            ("tls", "required" | "opportunistic") if !smtps => {}
            ("tls", _) if smtps => {
                return Err("smtps:// is TLS already: drop `tls`".into());
            }
            ("tls", _) => return Err("`tls` must be required or opportunistic".into()),
            (other, _) => return Err(format!("has an unknown parameter `{other}`")),
        }
    }
    Ok(raw.trim().to_string())
}

/// Reads `auto_reply` (`enabled` default false, `canned_reply_id` default null).
pub fn parse_auto_reply(v: &Value) -> Result<AutoReply> {
    let mut f = Fields::new(v, "auto_reply")?;
    f.only(&["enabled", "canned_reply_id"])?;
    let enabled = match f.obj.get("enabled") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            f.fail("enabled", "must be a boolean");
            false
        }
    };
    let canned_reply_id = match f.obj.get("canned_reply_id") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_str().and_then(|s| Uuid::try_parse(s).ok()) {
            Some(id) => Some(id),
            None => {
                f.fail("canned_reply_id", "must be a canned reply's id or null");
                None
            }
        },
    };
    f.finish()?;
    Ok(AutoReply {
        enabled,
        canned_reply_id,
    })
}
