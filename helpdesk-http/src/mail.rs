//! The email channel's I/O wired to the library: the outbox's sender
//! ([`SmtpSender`], `helpdesk-mail`'s SMTP client behind core's
//! [`MailTransport`]) and the SMTP listener (`--smtp-bind`, [`listen_smtp`]), whose
//! mail goes to [`Helpdesk::ingest_mail`] once per receiving mailbox.

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use helpdesk_core::email::{InboundVia, MailSendOutcome, MailTransport, Rejected, SmtpTarget};
use helpdesk_core::mail::base_address;
use helpdesk_core::mailbox::{self, Imap};
use helpdesk_core::{Error, Helpdesk, IncomingMail};
use helpdesk_mail::{
    AfterIngest, DeliverError, Envelope, ImapConfig, ImapTls, InboundSink, ListenerConfig,
    ListenerError, RecipientReply, SendOutcome, SmtpListener,
};

/// How long one IMAP connection or command may take.
pub const IMAP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A mailbox's IMAP settings as `helpdesk-mail`'s poller takes them; mail over `max_size`
/// (`--mail-max-size`) is fetched as headers only.
pub fn imap_config(imap: &Imap, max_size: usize) -> ImapConfig {
    ImapConfig {
        host: imap.host.clone(),
        port: imap.port,
        tls: match imap.tls {
            mailbox::ImapTls::Implicit => ImapTls::Implicit,
            mailbox::ImapTls::StartTls => ImapTls::StartTls,
            mailbox::ImapTls::None => ImapTls::None,
        },
        username: imap.username.clone(),
        password: imap.password.clone(),
        folder: imap.folder.clone(),
        after: match &imap.after {
            mailbox::After::Seen => AfterIngest::Seen,
            mailbox::After::Move { move_to } => AfterIngest::Move {
                to: move_to.clone(),
            },
        },
        max_size: u64::try_from(max_size).unwrap_or(u64::MAX),
        timeout: IMAP_TIMEOUT,
    }
}

/// Sends outbound mail with `helpdesk-mail`'s SMTP client (60 s per attempt).
#[derive(Debug, Clone, Copy, Default)]
pub struct SmtpSender;

/// A refusal as the outbox records it (a refusal without a reply code, made before
/// sending, counts as `550`).
fn rejected(replies: Vec<RecipientReply>) -> Vec<Rejected> {
    replies
        .into_iter()
        .map(|r| Rejected {
            address: r.address,
            code: r.code.unwrap_or(550),
            text: r.text,
        })
        .collect()
}

#[async_trait]
impl MailTransport for SmtpSender {
    async fn send(
        &self,
        smtp: &SmtpTarget<'_>,
        from: &str,
        recipients: &[String],
        raw: &[u8],
    ) -> MailSendOutcome {
        let outcome = helpdesk_mail::send(
            smtp.url,
            smtp.password,
            from,
            recipients,
            raw,
            helpdesk_mail::SEND_TIMEOUT,
        )
        .await;
        match outcome {
            // Recipients deferred while others took the mail are not retried: the mail
            // is `sent`, and they are named in its error.
            SendOutcome::Sent {
                rejected: refused,
                deferred,
                ..
            } => {
                if !deferred.is_empty() {
                    tracing::warn!(
                        deferred = deferred.len(),
                        "recipients deferred by the server"
                    );
                }
                MailSendOutcome::Sent {
                    rejected: rejected(refused),
                }
            }
            SendOutcome::Temporary {
                code,
                text,
                rejected: refused,
            } => MailSendOutcome::Temporary {
                code,
                text,
                rejected: rejected(refused),
            },
            SendOutcome::Permanent {
                code,
                text,
                rejected: refused,
            } => MailSendOutcome::Permanent {
                code,
                text,
                rejected: rejected(refused),
            },
        }
    }
}

/// The SMTP listener's sink: recipients are mailbox addresses (or their `+` forms);
/// a mail is ingested once per mailbox it was sent to.
struct Pipeline {
    hd: Helpdesk,
}

/// A store failure as the SMTP client is told: try again later.
fn temporary(e: Error) -> DeliverError {
    DeliverError::Temporary(e.to_string())
}

#[async_trait]
impl InboundSink for Pipeline {
    async fn accepts(&self, rcpt: &str) -> Result<bool, DeliverError> {
        Ok(self
            .hd
            .mailbox_by_address(&base_address(rcpt))
            .await
            .map_err(temporary)?
            .is_some())
    }

    async fn deliver(&self, envelope: Envelope, raw: Vec<u8>) -> Result<(), DeliverError> {
        let raw: Arc<[u8]> = Arc::from(raw);
        let mut done = Vec::new();
        for rcpt in &envelope.rcpt_to {
            let Some(mailbox) = self
                .hd
                .mailbox_by_address(&base_address(rcpt))
                .await
                .map_err(temporary)?
            else {
                continue;
            };
            if done.contains(&mailbox.id) {
                continue;
            }
            done.push(mailbox.id);
            let incoming = IncomingMail {
                mailbox_id: mailbox.id,
                raw: raw.clone(),
                envelope: envelope.rcpt_to.clone(),
                via: InboundVia::Smtp,
                too_large: false,
            };
            match self.hd.ingest_mail(incoming).await {
                Ok(_) => {}
                Err(Error::Validation(e)) => {
                    return Err(DeliverError::Permanent(
                        e.first().map(|f| f.message.clone()).unwrap_or_default(),
                    ));
                }
                Err(e) => return Err(temporary(e)),
            }
        }
        Ok(())
    }
}

/// Starts the SMTP listener on `addr` (`--smtp-bind`), taking mail up to
/// `--mail-max-size` for the mailboxes of `hd`.
pub async fn listen_smtp(hd: Helpdesk, addr: SocketAddr) -> Result<SmtpListener, ListenerError> {
    let config = ListenerConfig {
        max_size: hd.config().mail.max_size,
        ..ListenerConfig::default()
    };
    SmtpListener::bind(addr, config, Arc::new(Pipeline { hd })).await
}
