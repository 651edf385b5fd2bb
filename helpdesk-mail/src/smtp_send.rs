//! The SMTP sender: one mail through a mailbox's `outbound` server ([`send`]), and the
//! `/test` check ([`test_smtp`]).
//!
//! lettre's transport gives up at the first refused `RCPT`, but the contract sends to the
//! recipients that were taken and reports the others, so the transaction is driven here on
//! lettre's [`AsyncSmtpConnection`], one command at a time.

use std::time::Duration;

use lettre::Address;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use url::Url;

/// The contract's limit on one delivery attempt (connect to the end of `DATA`).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// A server's answer about one recipient (or, with `code: None`, why it was not tried).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientReply {
    /// The recipient as given.
    pub address: String,
    /// The SMTP reply code (`550`); `None` when the address was refused before sending.
    pub code: Option<u16>,
    /// The server's text (or the local reason).
    pub text: String,
}

/// How one delivery attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The server took the mail for at least one recipient (`sent`).
    Sent {
        /// Recipients the server took.
        accepted: Vec<String>,
        /// Recipients refused with 5xx: suppress them (`reason: "rejected"`).
        rejected: Vec<RecipientReply>,
        /// Recipients answered 4xx while others were taken: not delivered; SMTP would have
        /// them retried, the caller decides.
        deferred: Vec<RecipientReply>,
    },
    /// Worth retrying (`failed`): a 4xx anywhere, no connection, TLS, timeout.
    Temporary {
        /// The reply code, when a server said it.
        code: Option<u16>,
        /// What went wrong.
        text: String,
        /// Recipients refused with 5xx before the failure.
        rejected: Vec<RecipientReply>,
    },
    /// Not worth retrying (`dead`): 5xx to MAIL FROM or DATA, every recipient refused, or a
    /// setting that cannot work (bad URL, bad sender address).
    Permanent {
        /// The reply code, when a server said it.
        code: Option<u16>,
        /// What went wrong.
        text: String,
        /// Recipients refused with 5xx.
        rejected: Vec<RecipientReply>,
    },
}

/// TLS as lettre's URL form says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsMode {
    /// `smtp://` without `tls`: plain (25).
    None,
    /// `?tls=opportunistic`: STARTTLS when offered (587).
    Opportunistic,
    /// `?tls=required`: STARTTLS or fail (587).
    Required,
    /// `smtps://`: TLS from the first byte (465).
    Wrapper,
}

/// A parsed `outbound.url`.
#[derive(Debug)]
struct Target {
    host: String,
    port: u16,
    tls: TlsMode,
    username: Option<String>,
    hello: ClientId,
}

/// Reads `smtp://[user@]host[:port][/hello-name][?tls=required|opportunistic]` or
/// `smtps://…` the way lettre's `from_url` does; a password in the URL is refused.
fn parse_url(url: &str) -> Result<Target, String> {
    let url = Url::parse(url).map_err(|err| format!("invalid SMTP URL: {err}"))?;
    if url.password().is_some() {
        return Err("the SMTP URL must not hold a password".to_owned());
    }
    let host = url
        .host_str()
        .filter(|host| !host.is_empty())
        .ok_or("the SMTP URL has no host")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let tls = url
        .query_pairs()
        .find(|(key, _)| key == "tls")
        .map(|(_, value)| value.into_owned());
    let (tls, default_port) = match (url.scheme(), tls.as_deref()) {
        ("smtp", None) => (TlsMode::None, 25),
        ("smtp", Some("required")) => (TlsMode::Required, 587),
        ("smtp", Some("opportunistic")) => (TlsMode::Opportunistic, 587),
        ("smtps", _) => (TlsMode::Wrapper, 465),
        (scheme, tls) => {
            return Err(format!(
                "unknown SMTP URL scheme {scheme:?} or tls parameter {tls:?}"
            ));
        }
    };
    let username = match url.username() {
        "" => None,
        name => Some(
            percent_encoding::percent_decode_str(name)
                .decode_utf8()
                .map_err(|err| format!("bad user name in the SMTP URL: {err}"))?
                .into_owned(),
        ),
    };
    let hello = match url.path().trim_matches('/') {
        "" => ClientId::default(),
        name => ClientId::Domain(name.to_owned()),
    };
    Ok(Target {
        port: url.port().unwrap_or(default_port),
        host,
        tls,
        username,
        hello,
    })
}

/// A failed step, sorted for the outcome.
struct Failure {
    code: Option<u16>,
    text: String,
    permanent: bool,
}

impl Failure {
    fn config(text: impl Into<String>) -> Self {
        Self {
            code: None,
            text: text.into(),
            permanent: true,
        }
    }

    fn outcome(self, rejected: Vec<RecipientReply>) -> SendOutcome {
        let Self {
            code,
            text,
            permanent,
        } = self;
        if permanent {
            SendOutcome::Permanent {
                code,
                text,
                rejected,
            }
        } else {
            SendOutcome::Temporary {
                code,
                text,
                rejected,
            }
        }
    }
}

impl From<SmtpError> for Failure {
    fn from(err: SmtpError) -> Self {
        let code = err.status().map(u16::from);
        let text = match (code, std::error::Error::source(&err)) {
            (Some(_), Some(message)) => message.to_string(),
            _ => err.to_string(),
        };
        // Network, TLS, parse and client errors are worth another try, like 4xx.
        Self {
            code,
            text,
            permanent: err.is_permanent(),
        }
    }
}

/// Connects, says EHLO, secures the connection as the URL asks and logs in when it names a
/// user.
async fn open(
    target: &Target,
    password: Option<&str>,
    timeout: Duration,
) -> Result<AsyncSmtpConnection, Failure> {
    let tls_parameters = || TlsParameters::new(target.host.clone()).map_err(Failure::from);
    let wrapper = match target.tls {
        TlsMode::Wrapper => Some(tls_parameters()?),
        _ => None,
    };
    let mut conn = AsyncSmtpConnection::connect_tokio1(
        (target.host.as_str(), target.port),
        Some(timeout),
        &target.hello,
        wrapper,
        None,
    )
    .await?;
    let starttls = match target.tls {
        TlsMode::Required if !conn.can_starttls() => {
            conn.abort().await;
            return Err(Failure {
                code: None,
                text: "the server does not offer STARTTLS, which the URL requires".to_owned(),
                permanent: false,
            });
        }
        TlsMode::Required => true,
        TlsMode::Opportunistic => conn.can_starttls(),
        TlsMode::None | TlsMode::Wrapper => false,
    };
    if starttls {
        conn.starttls(tls_parameters()?, &target.hello).await?;
    }
    if let Some(username) = &target.username {
        let Some(password) = password else {
            conn.abort().await;
            return Err(Failure::config(
                "the SMTP URL names a user but no password is set",
            ));
        };
        let credentials = Credentials::new(username.clone(), password.to_owned());
        if let Err(err) = conn.auth(DEFAULT_MECHANISMS, &credentials).await {
            conn.abort().await;
            return Err(err.into());
        }
    }
    Ok(conn)
}

/// Sends `raw` (the whole mail, CRLF lines) from `envelope_from` (empty: the null sender) to
/// `recipients` through the server `url` names (lettre's URL form), logging in with
/// `password` when the URL names a user. Never fails as a `Result`: every way it can go is a
/// [`SendOutcome`]. Pass [`SEND_TIMEOUT`] as the contract's limit.
pub async fn send(
    url: &str,
    password: Option<&str>,
    envelope_from: &str,
    recipients: &[String],
    raw: &[u8],
    timeout: Duration,
) -> SendOutcome {
    let target = match parse_url(url) {
        Ok(target) => target,
        Err(text) => return Failure::config(text).outcome(Vec::new()),
    };
    if recipients.is_empty() {
        return Failure::config("no recipients").outcome(Vec::new());
    }
    let attempt = transaction(&target, password, envelope_from, recipients, raw, timeout);
    match tokio::time::timeout(timeout, attempt).await {
        Ok(outcome) => outcome,
        Err(_elapsed) => SendOutcome::Temporary {
            code: None,
            text: format!("timed out after {} s", timeout.as_secs()),
            rejected: Vec::new(),
        },
    }
}

async fn transaction(
    target: &Target,
    password: Option<&str>,
    envelope_from: &str,
    recipients: &[String],
    raw: &[u8],
    timeout: Duration,
) -> SendOutcome {
    let mut conn = match open(target, password, timeout).await {
        Ok(conn) => conn,
        Err(failure) => return failure.outcome(Vec::new()),
    };
    let from = match envelope_from {
        "" => None,
        from => match from.parse::<Address>() {
            Ok(address) => Some(address),
            Err(err) => {
                conn.abort().await;
                return Failure::config(format!("bad envelope sender {from:?}: {err}"))
                    .outcome(Vec::new());
            }
        },
    };
    let mut parameters = Vec::new();
    if !raw.is_ascii() {
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            conn.abort().await;
            return Failure::config("the mail is 8-bit but the server does not offer 8BITMIME")
                .outcome(Vec::new());
        }
        parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    if let Err(err) = conn.command(Mail::new(from, parameters)).await {
        conn.abort().await;
        return Failure::from(err).outcome(Vec::new());
    }

    let (mut accepted, mut rejected, mut deferred) = (Vec::new(), Vec::new(), Vec::new());
    for recipient in recipients {
        let address = match recipient.parse::<Address>() {
            Ok(address) => address,
            Err(err) => {
                rejected.push(RecipientReply {
                    address: recipient.clone(),
                    code: None,
                    text: format!("not a valid address: {err}"),
                });
                continue;
            }
        };
        match conn.command(Rcpt::new(address, Vec::new())).await {
            Ok(_) => accepted.push(recipient.clone()),
            Err(err) if err.status().is_some() => {
                let failure = Failure::from(err);
                let reply = RecipientReply {
                    address: recipient.clone(),
                    code: failure.code,
                    text: failure.text,
                };
                if failure.permanent {
                    rejected.push(reply);
                } else {
                    deferred.push(reply);
                }
            }
            Err(err) => {
                conn.abort().await;
                return Failure::from(err).outcome(rejected);
            }
        }
    }
    if accepted.is_empty() {
        conn.abort().await;
        // Any 4xx among them: a later try may get through.
        let (first, permanent) = match deferred.first() {
            Some(first) => (first, false),
            None => match rejected.first() {
                Some(first) => (first, true),
                None => return Failure::config("no recipients").outcome(rejected),
            },
        };
        let failure = Failure {
            code: first.code,
            text: format!("every recipient refused; {}: {}", first.address, first.text),
            permanent,
        };
        return failure.outcome(rejected);
    }

    if let Err(err) = conn.command(Data).await {
        conn.abort().await;
        return Failure::from(err).outcome(rejected);
    }
    // lettre ends the data with "\r\n.\r\n": a mail's own last CRLF would become a blank line.
    let body = raw.strip_suffix(b"\r\n").unwrap_or(raw);
    if let Err(err) = conn.message(body).await {
        conn.abort().await;
        return Failure::from(err).outcome(rejected);
    }
    // The mail is taken; a failing QUIT changes nothing.
    let _ = conn.quit().await;
    SendOutcome::Sent {
        accepted,
        rejected,
        deferred,
    }
}

/// Connects, says EHLO, secures the connection and logs in if the URL names a user, then
/// quits: what `POST /api/mailboxes/{id}/test` reports. Sends no mail.
pub async fn test_smtp(url: &str, password: Option<&str>) -> Result<(), String> {
    let target = parse_url(url)?;
    let attempt = async {
        let mut conn =
            open(&target, password, SEND_TIMEOUT)
                .await
                .map_err(|failure| match failure.code {
                    Some(code) => format!("{code} {}", failure.text),
                    None => failure.text,
                })?;
        let _ = conn.quit().await;
        Ok(())
    };
    match tokio::time::timeout(SEND_TIMEOUT, attempt).await {
        Ok(result) => result,
        Err(_elapsed) => Err(format!("timed out after {} s", SEND_TIMEOUT.as_secs())),
    }
}
