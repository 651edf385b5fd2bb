//! The outbox (API-email.md "Outbound"): the mail a change sends is built and recorded
//! in the operation that makes the change ([`ReplyPlan`], read before it and built with
//! its message or ticket), then a worker sends it ([`Helpdesk::send_due_mail`]) the way
//! webhook deliveries go: claimed by one instance at a time, retried on
//! `--mail-retry-schedule`, its outcome recorded with an event; a recipient refused at
//! `RCPT` is suppressed and reported as a bounce is (ops/bounce.rs).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::Helpdesk;
use crate::email::{
    MailSendOutcome, MailTransport, OutboundKind, OutboundMail, OutboundStatus, OutboundWrite,
    Rejected, SmtpTarget, Suppression, SuppressionReason,
};
use crate::error::{Error, Result};
use crate::event::{Audience, Effects, EventKind, NewEvent};
use crate::mail::{self, OutgoingAttachment, OutgoingMailbox, Recipient, ReplyKind, ThreadRef};
use crate::mailbox::{Mailbox, Outbound};
use crate::ops::bounce::{Undelivered, bounce_note};
use crate::ticket::Ticket;

/// How long a claimed mail is held before another instance may take it.
const CLAIM_LEASE_SECS: i64 = 120;

/// What a reply or auto-reply needs from the store, read before the operation that
/// records it; [`ReplyPlan::build`] makes the mail inside the operation.
pub(crate) struct ReplyPlan {
    mailbox: Mailbox,
    kind: PlanKind,
    to: Vec<Recipient>,
    cc: Vec<Recipient>,
    thread: Option<ThreadRef>,
    has_inbound_mail: bool,
    key: mail::MailKey,
    loop_id: String,
    attachments: Vec<OutgoingAttachment>,
    max_size: usize,
}

enum PlanKind {
    Reply { author_name: String },
    AutoReply { text: Option<String> },
}

impl ReplyPlan {
    /// The outbound mail carrying `content` (a reply's message text; an auto-reply's own
    /// text wins), `suppressed` when it has no recipient.
    pub(crate) fn build(
        &self,
        ticket: &Ticket,
        message_id: Option<Uuid>,
        content: &str,
        now: DateTime<Utc>,
    ) -> Option<OutboundWrite> {
        let id = crate::clock::new_id();
        let number = u64::try_from(ticket.number).unwrap_or_default();
        let (kind, out_kind, text) = match &self.kind {
            PlanKind::Reply { author_name } => (
                ReplyKind::Reply { author_name },
                OutboundKind::Reply,
                content.to_string(),
            ),
            PlanKind::AutoReply { text } => (
                ReplyKind::AutoReply,
                OutboundKind::AutoReply,
                text.clone()
                    .unwrap_or_else(|| mail::default_auto_reply_text(number, &ticket.subject)),
            ),
        };
        let built = mail::build_reply(&mail::ReplyMail {
            kind,
            mailbox: OutgoingMailbox {
                address: &self.mailbox.address,
                name: &self.mailbox.name,
            },
            outbound_id: id,
            ticket_number: number,
            ticket_subject: &ticket.subject,
            has_inbound_mail: self.has_inbound_mail,
            token: &self.key.ticket_token(number, ticket.id),
            loop_id: &self.loop_id,
            to: self.to.clone(),
            cc: self.cc.clone(),
            thread: self.thread.clone(),
            content: &text,
            attachments: &self.attachments,
            max_size: self.max_size,
            date: now,
        })
        .ok()?;
        let nobody = self.to.is_empty() && self.cc.is_empty();
        let references = match &self.thread {
            Some(t) => mail::reply_references(&t.references, &t.in_reply_to, Some(&t.message_id)),
            None => Vec::new(),
        };
        Some(OutboundWrite {
            mail: OutboundMail {
                id,
                mailbox_id: self.mailbox.id,
                kind: out_kind,
                ticket_id: Some(ticket.id),
                message_id,
                notification_id: None,
                to: self.to.iter().map(|r| r.address.clone()).collect(),
                cc: self.cc.iter().map(|r| r.address.clone()).collect(),
                subject: mail::outgoing_subject(number, &ticket.subject, self.has_inbound_mail),
                internet_message_id: built.message_id,
                references,
                status: if nobody {
                    OutboundStatus::Suppressed
                } else {
                    OutboundStatus::Pending
                },
                attempts: 0,
                last_smtp_code: None,
                last_error: None,
                rejected: Vec::new(),
                next_attempt_at: (!nobody).then_some(now),
                sent_at: None,
                created_at: now,
            },
            raw: Arc::from(built.bytes),
        })
    }
}

/// The SMTP settings of a mailbox that sends.
fn smtp_of(m: &Mailbox) -> Option<SmtpTarget<'_>> {
    match &m.outbound {
        Outbound::Smtp { url, password } => Some(SmtpTarget {
            url,
            password: password.as_deref(),
        }),
        Outbound::None => None,
    }
}

impl Helpdesk {
    /// The plan of the reply a public staff message on `ticket` mails, if its mailbox
    /// sends: to the requester and the CCs, less the author and suppressed addresses.
    pub(crate) async fn reply_plan(
        &self,
        ticket: &Ticket,
        author: Uuid,
        attachment_ids: &[Uuid],
    ) -> Result<Option<ReplyPlan>> {
        let Some(mailbox_id) = ticket.mailbox_id else {
            return Ok(None);
        };
        let Some(mailbox) = self.st().get_mailbox(mailbox_id).await? else {
            return Ok(None);
        };
        if smtp_of(&mailbox).is_none() {
            return Ok(None);
        }
        let author_name = match self.st().get_user(author).await? {
            Some(u) => u.name,
            None => return Ok(None),
        };
        let to = self.mail_recipients(&[ticket.requester_id], author).await?;
        let cc = self.mail_recipients(&ticket.cc, author).await?;
        let mut attachments = Vec::new();
        for id in attachment_ids {
            let (a, bytes) = self
                .attachment_bytes(&crate::Principal::system(), *id)
                .await?;
            attachments.push(OutgoingAttachment {
                filename: a.filename,
                content_type: a.content_type,
                bytes: bytes.to_vec(),
            });
        }
        let heads = self.st().ticket_mail(ticket.id).await?;
        let thread = match (&heads.inbound, &heads.outbound) {
            (Some(i), _) => i.internet_message_id.as_ref().map(|id| ThreadRef {
                message_id: id.clone(),
                in_reply_to: Vec::new(),
                references: i.references.clone(),
            }),
            (None, Some(o)) => Some(ThreadRef {
                message_id: o.internet_message_id.clone(),
                in_reply_to: Vec::new(),
                references: o.references.clone(),
            }),
            (None, None) => None,
        };
        let kind = PlanKind::Reply { author_name };
        let has_inbound = heads.inbound.is_some();
        self.plan(mailbox, kind, (to, cc), attachments, (thread, has_inbound))
            .await
            .map(Some)
    }

    /// The plan of the auto-reply to `sender` on the ticket their mail opens, if the
    /// mailbox answers, sends, and the sender is neither suppressed nor over
    /// `--mail-auto-reply-limit`; it answers the mail `answered`.
    pub(crate) async fn auto_reply_plan(
        &self,
        mailbox: &Mailbox,
        sender: &crate::user::User,
        answered: Option<ThreadRef>,
    ) -> Result<Option<ReplyPlan>> {
        if !mailbox.auto_reply.enabled || smtp_of(mailbox).is_none() {
            return Ok(None);
        }
        if self.st().get_suppression(&sender.email).await?.is_some() {
            return Ok(None);
        }
        let config = &self.config().mail;
        let window = chrono::Duration::from_std(config.auto_reply_window)
            .unwrap_or(chrono::Duration::hours(1));
        let sent = self
            .st()
            .count_auto_replies(&sender.email, self.now() - window)
            .await?;
        if sent >= config.auto_reply_limit {
            return Ok(None);
        }
        let text = match mailbox.auto_reply.canned_reply_id {
            Some(id) => self.st().get_canned_reply(id).await?.map(|c| c.body),
            None => None,
        };
        let to = vec![Recipient {
            address: sender.email.clone(),
            name: Some(sender.name.clone()),
        }];
        let kind = PlanKind::AutoReply { text };
        self.plan(
            mailbox.clone(),
            kind,
            (to, Vec::new()),
            Vec::new(),
            (answered, true),
        )
        .await
        .map(Some)
    }

    async fn plan(
        &self,
        mailbox: Mailbox,
        kind: PlanKind,
        (to, cc): (Vec<Recipient>, Vec<Recipient>),
        attachments: Vec<OutgoingAttachment>,
        (thread, has_inbound_mail): (Option<ThreadRef>, bool),
    ) -> Result<ReplyPlan> {
        let secrets = self.mail_secrets().await?;
        Ok(ReplyPlan {
            mailbox,
            kind,
            to,
            cc,
            thread,
            has_inbound_mail,
            key: secrets.key.clone(),
            loop_id: secrets.installation_id.clone(),
            attachments,
            max_size: self.config().mail.max_size,
        })
    }

    /// The users' addresses a ticket's mail goes to: active, not `except`, not
    /// suppressed.
    async fn mail_recipients(&self, users: &[Uuid], except: Uuid) -> Result<Vec<Recipient>> {
        let mut out = Vec::new();
        for id in users.iter().filter(|u| **u != except) {
            let Some(u) = self.st().get_user(*id).await? else {
                continue;
            };
            if !u.is_active || self.st().get_suppression(&u.email).await?.is_some() {
                continue;
            }
            out.push(Recipient {
                address: u.email,
                name: Some(u.name),
            });
        }
        Ok(out)
    }

    /// Sends the outbound mail that is due through `transport`, one claim of up to 16;
    /// returns how many were claimed.
    pub async fn send_due_mail(&self, transport: &dyn MailTransport) -> Result<usize> {
        let now = self.now();
        let claimed = self
            .st()
            .claim_outbound(now, now + chrono::Duration::seconds(CLAIM_LEASE_SECS), 16)
            .await?;
        for mut m in claimed.iter().cloned() {
            let mailbox = self.st().get_mailbox(m.mailbox_id).await?;
            let raw = self.st().outbound_raw(m.id).await?;
            let mut recipients = Vec::new();
            for r in m.recipients() {
                if self.st().get_suppression(r).await?.is_none() {
                    recipients.push(r.to_string());
                }
            }
            let outcome = match (&mailbox, raw) {
                _ if recipients.is_empty() => None,
                (Some(mb), Some(raw)) => match smtp_of(mb) {
                    Some(target) => Some(
                        transport
                            .send(&target, &mb.address, &recipients, &raw)
                            .await,
                    ),
                    None => Some(MailSendOutcome::Permanent {
                        code: None,
                        text: "the mailbox no longer sends mail".into(),
                        rejected: Vec::new(),
                    }),
                },
                _ => Some(MailSendOutcome::Permanent {
                    code: None,
                    text: "the mailbox is gone".into(),
                    rejected: Vec::new(),
                }),
            };
            let known = m.rejected.len();
            let fx = self.record_outcome(&mut m, outcome);
            self.written(self.st().update_outbound(&m, &fx)).await?;
            let refused: Vec<Undelivered> = m.rejected[known..]
                .iter()
                .map(Undelivered::rejected)
                .collect();
            // The outcome is recorded: a failed note must not send the mail again.
            if let Err(e) = self.note_refused(&m, &refused).await {
                tracing::warn!(error = %e, outbound_id = %m.id, "bounce note not written");
            }
        }
        Ok(claimed.len())
    }

    /// The internal note on `m`'s ticket naming the recipients our SMTP server refused
    /// at `RCPT` (as a delivery report's bounce note does).
    async fn note_refused(&self, m: &OutboundMail, refused: &[Undelivered]) -> Result<()> {
        let Some(ticket_id) = m.ticket_id.filter(|_| !refused.is_empty()) else {
            return Ok(());
        };
        let Some(t) = self.st().get_ticket(ticket_id).await? else {
            return Ok(());
        };
        let Some(note) = bounce_note(&t, refused) else {
            return Ok(());
        };
        let system = crate::Principal::system();
        match self
            .send_message_traced(&system, t.conversation_id, note, None, None)
            .await
        {
            Ok(_) | Err(Error::TicketClosed) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Writes an attempt's outcome into `m`; returns the effects to write with it (its
    /// event, the suppressions its rejections make). `None`: no recipient was left.
    fn record_outcome(&self, m: &mut OutboundMail, outcome: Option<MailSendOutcome>) -> Effects {
        let now = self.now();
        let mut fx = Effects::none();
        let Some(outcome) = outcome else {
            m.status = OutboundStatus::Suppressed;
            m.next_attempt_at = None;
            return fx;
        };
        m.attempts += 1;
        let (code, text, rejected) = match &outcome {
            MailSendOutcome::Sent { rejected } => (None, None, rejected.clone()),
            MailSendOutcome::Temporary {
                code,
                text,
                rejected,
            }
            | MailSendOutcome::Permanent {
                code,
                text,
                rejected,
            } => (*code, Some(text.clone()), rejected.clone()),
        };
        for r in &rejected {
            fx.push(Undelivered::rejected(r).event(None, m, now));
            fx.mail.suppressions.push(Suppression {
                address: r.address.to_lowercase(),
                reason: SuppressionReason::Rejected,
                detail: format!("{} {}", r.code, r.text),
                outbound_id: Some(m.id),
                created_at: now,
            });
        }
        m.rejected.extend(rejected);
        m.last_smtp_code = code.or(m.rejected.last().map(|r: &Rejected| r.code));
        m.last_error = text.map(|t| t.chars().take(500).collect());
        let dead = match outcome {
            MailSendOutcome::Sent { .. } => {
                m.status = OutboundStatus::Sent;
                m.sent_at = Some(now);
                m.next_attempt_at = None;
                fx.push(outbound_event(EventKind::EmailSent, m, now));
                return fx;
            }
            MailSendOutcome::Permanent { .. } => true,
            MailSendOutcome::Temporary { .. } => {
                match self
                    .config()
                    .mail
                    .retry_schedule
                    .get(m.attempts as usize - 1)
                {
                    Some(wait) => {
                        m.status = OutboundStatus::Failed;
                        m.next_attempt_at = Some(
                            now + chrono::Duration::from_std(*wait)
                                .unwrap_or(chrono::Duration::hours(10)),
                        );
                        false
                    }
                    None => true,
                }
            }
        };
        if dead {
            m.status = OutboundStatus::Dead;
            m.next_attempt_at = None;
            fx.push(outbound_event(EventKind::EmailFailed, m, now));
        }
        fx
    }

    /// Sends mail until `shutdown` resolves: wakes on local writes and polls every
    /// second for due retries and other instances' mail.
    pub async fn run_mail_worker(
        &self,
        transport: Arc<dyn MailTransport>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        loop {
            match self.send_due_mail(transport.as_ref()).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "mail sending round failed"),
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    }
}

/// `email.sent` or `email.failed`, to staff.
fn outbound_event(kind: EventKind, m: &OutboundMail, at: DateTime<Utc>) -> NewEvent {
    NewEvent::new(
        kind,
        at,
        Audience::staff(),
        serde_json::json!({"outbound": m.json()}),
    )
}
