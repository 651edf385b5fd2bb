//! The email ingest pipeline (API-email.md): every inbound path (SMTP listener, IMAP
//! poller, HTTP, `helpdesk mail ingest`) hands raw MIME to [`Helpdesk::ingest_mail`],
//! which parses, dedupes, classifies, threads and stores it. The inbound record is
//! written in the operation that makes the ticket or the message (or, for mail that
//! changes nothing, on its own), so an answer means the mail is committed, and a mail
//! that arrives twice finds its first record.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use uuid::Uuid;

use crate::Helpdesk;
use crate::email::{
    IgnoreReason, InboundRecord, InboundResult, InboundVia, InboundWrite, dedupe_key,
};
use crate::error::{Conflict, Error, Result, StoreError};
use crate::event::{Audience, Effects, EventKind, NewEvent};
use crate::mail::{self, MailKey, ParseLimits, ParsedMail};
use crate::mailbox::Mailbox;
use crate::message::{Message, NewMessage};
use crate::ops::bounce::{Undelivered, bounce_note};
use crate::principal::{Principal, Role};
use crate::status::StatusCategory;
use crate::ticket::{CcTarget, NewTicket, Ticket};
use crate::user::User;

/// The most CCs a ticket takes (API-access.md).
const MAX_CC: usize = 50;
/// The longest description a mail gives a new ticket.
const MAX_DESCRIPTION: usize = 20_000;

/// A mail handed to the pipeline.
#[derive(Debug, Clone)]
pub struct IncomingMail {
    /// The receiving mailbox.
    pub mailbox_id: Uuid,
    /// The mail as received.
    pub raw: Arc<[u8]>,
    /// Envelope recipients (`RCPT TO`, `?recipient=`, `--recipient`), checked first for
    /// reply tokens.
    pub envelope: Vec<String>,
    /// How it came.
    pub via: InboundVia,
    /// Only the header block arrived: the mail is over `--mail-max-size` (the IMAP
    /// poller fetches no more of such a mail). Larger bytes than the limit count as
    /// over it too.
    pub too_large: bool,
}

/// What ingesting a mail did.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingested {
    /// Its inbound record (the first one, for a duplicate).
    pub record: InboundRecord,
    /// The mail was ingested in this mailbox before: nothing was made.
    pub duplicate: bool,
}

/// What a mail adds to the ticket it opens ([`Helpdesk::create_ticket_from`]).
pub(crate) struct TicketFromMail {
    inbound: InboundWrite,
    auto: bool,
    auto_reply: Option<crate::ops::outbox::ReplyPlan>,
    pub(crate) cc: Vec<Uuid>,
    pub(crate) follow_up_of: Option<Uuid>,
}

impl TicketFromMail {
    /// Adds the inbound record (made `ticket_created` on `t`) and its event to `fx`;
    /// automatic mail takes the notifications out.
    pub(crate) fn add_to(&self, fx: &mut Effects, t: &Ticket) {
        let mut w = self.inbound.clone();
        w.record.result = InboundResult::TicketCreated;
        w.record.ticket_id = Some(t.id);
        let now = w.record.received_at;
        add_inbound(fx, w, self.auto);
        if let Some(plan) = &self.auto_reply {
            fx.mail.outbound.extend(plan.build(t, None, "", now));
        }
    }
}

/// What a mail adds to the message it becomes ([`Helpdesk::send_message_traced`]).
pub(crate) struct MessageFromMail {
    inbound: InboundWrite,
    pub(crate) auto: bool,
    /// `message_added`, or `bounce` for the note a delivery report writes.
    result: InboundResult,
    /// What else the mail writes with the message (a bounce's events, suppressions).
    extra: Effects,
}

impl MessageFromMail {
    /// Adds the inbound record (made as `m`) and its event to `fx`, and what else the
    /// mail writes; automatic mail takes the notifications out.
    pub(crate) fn add_to(&self, fx: &mut Effects, m: &Message, ticket_id: Option<Uuid>) {
        let mut w = self.inbound.clone();
        w.record.result = self.result;
        w.record.ticket_id = ticket_id;
        w.record.message_id = Some(m.id);
        add_inbound(fx, w, self.auto);
        fx.extend(&self.extra);
    }
}

fn add_inbound(fx: &mut Effects, w: InboundWrite, auto: bool) {
    if auto {
        fx.notifications.clear();
        fx.events
            .retain(|e| e.kind != EventKind::NotificationCreated);
    }
    fx.push(received_event(&w.record));
    fx.mail.inbound = Some(w);
}

/// `email.received`, to staff.
fn received_event(r: &InboundRecord) -> NewEvent {
    NewEvent::new(
        EventKind::EmailReceived,
        r.received_at,
        Audience::staff(),
        serde_json::json!({"inbound": r.json()}),
    )
}

/// How a mail matched a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    /// The ticket's token in a recipient.
    TicketToken,
    /// The sender's personal token in a recipient.
    PersonalToken,
    /// In-Reply-To or References name a mail of the ticket; `to_sender_alone` when that
    /// mail was a notification sent to the sender only.
    Header { to_sender_alone: bool },
    /// `[#n]` in the subject, the sender being the requester or a CC.
    Subject,
}

impl Match {
    /// Whether a staff sender may post through it.
    fn verifies_staff(self) -> bool {
        matches!(
            self,
            Match::PersonalToken
                | Match::Header {
                    to_sender_alone: true
                }
        )
    }
}

impl Helpdesk {
    /// The mail key and loop id, made once per installation and kept in the store.
    pub(crate) async fn mail_secrets(&self) -> Result<&crate::email::MailSecrets> {
        self.inner
            .mail_secrets
            .get_or_try_init(|| async {
                let key = self
                    .st()
                    .put_setting_if_absent("mail_key", &B64.encode(MailKey::generate().to_bytes()))
                    .await?;
                let key = B64
                    .decode(key.as_bytes())
                    .ok()
                    .and_then(|b| MailKey::from_slice(&b))
                    .ok_or_else(|| {
                        StoreError::Corrupt("the stored mail key is unreadable".into())
                    })?;
                let installation_id = self
                    .st()
                    .put_setting_if_absent(
                        "mail_installation_id",
                        &crate::clock::new_id().to_string(),
                    )
                    .await?;
                Ok::<_, Error>(crate::email::MailSecrets {
                    key,
                    installation_id,
                })
            })
            .await
    }

    /// Ingests one mail: parse → dedupe → classify → thread → store, answering once
    /// committed. `NotFound`: no such mailbox; invalid `mail`: the bytes are no mail
    /// (empty, or without headers). Store failures are errors, so the sender retries.
    pub async fn ingest_mail(&self, incoming: IncomingMail) -> Result<Ingested> {
        let mailbox = self
            .st()
            .get_mailbox(incoming.mailbox_id)
            .await?
            .ok_or(Error::NotFound)?;
        let config = &self.config().mail;
        let too_large = incoming.too_large || incoming.raw.len() > config.max_size;
        let readable: &[u8] = if too_large {
            header_block(&incoming.raw)
        } else {
            &incoming.raw
        };
        let limits = ParseLimits {
            max_attachments: config.max_attachments,
            max_attachment_bytes: usize::try_from(self.config().max_upload).unwrap_or(usize::MAX),
        };
        let parsed =
            mail::parse(readable, limits).map_err(|e| Error::invalid("mail", e.to_string()))?;
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&incoming.raw));
        let key = dedupe_key(parsed.message_id.as_deref(), &sha);
        if let Some(first) = self.st().find_inbound(mailbox.id, &key).await? {
            return Ok(Ingested {
                record: first,
                duplicate: true,
            });
        }
        let record = InboundRecord {
            id: crate::clock::new_id(),
            mailbox_id: mailbox.id,
            internet_message_id: parsed.message_id.clone(),
            dedupe_key: key,
            from: parsed.from.as_ref().map(|a| a.address.clone()),
            to: parsed.to.iter().map(|a| a.address.clone()).collect(),
            cc: parsed.cc.iter().map(|a| a.address.clone()).collect(),
            subject: parsed.subject.clone(),
            size: incoming.raw.len() as u64,
            via: incoming.via,
            auto: mail::is_automatic(&parsed),
            result: InboundResult::Ignored,
            reason: None,
            ticket_id: None,
            message_id: None,
            left_out: Vec::new(),
            references: parsed.references.clone(),
            received_at: self.now(),
        };
        let write = InboundWrite {
            record,
            raw: incoming.raw.clone(),
        };
        let outcome = self
            .ingest_parsed(
                &mailbox,
                &parsed,
                &incoming.envelope,
                write.clone(),
                too_large,
            )
            .await;
        match outcome {
            // Another delivery of the same mail committed first.
            Err(Error::Store(e)) if e.is_conflict(Conflict::Duplicate) => {
                let first = self
                    .st()
                    .find_inbound(mailbox.id, &write.record.dedupe_key)
                    .await?
                    .ok_or_else(|| Error::Conflict("the mail is being ingested".into()))?;
                Ok(Ingested {
                    record: first,
                    duplicate: true,
                })
            }
            Err(e) => Err(e),
            Ok(id) => {
                let record = self
                    .st()
                    .get_inbound(id)
                    .await?
                    .ok_or(Error::Store(StoreError::NotFound))?;
                Ok(Ingested {
                    record,
                    duplicate: false,
                })
            }
        }
    }

    /// Classifies, threads and stores a parsed mail; returns its inbound record's id.
    async fn ingest_parsed(
        &self,
        mailbox: &Mailbox,
        parsed: &ParsedMail,
        envelope: &[String],
        mut write: InboundWrite,
        too_large: bool,
    ) -> Result<Uuid> {
        if too_large {
            return self.ignore(write, IgnoreReason::TooLarge).await;
        }
        if self.is_own_mail(parsed).await? {
            return self.ignore(write, IgnoreReason::OwnMail).await;
        }
        if let Some(report) = &parsed.report {
            return self.bounce(write, report).await;
        }
        let Some(from) = parsed.from.clone() else {
            return self.ignore(write, IgnoreReason::NoSender).await;
        };
        let known = self.st().get_user_by_email(&from.address).await?;
        if known.as_ref().is_some_and(|u| !u.is_active) {
            return self.ignore(write, IgnoreReason::SenderInactive).await;
        }
        let found = self.find_thread(parsed, envelope, known.as_ref()).await?;
        let is_staff = known.as_ref().is_some_and(|u| u.role.is_staff());
        if let Some((_, how)) = &found
            && is_staff
            && !how.verifies_staff()
        {
            return self
                .ignore(write, IgnoreReason::UnverifiedStaffSender)
                .await;
        }
        let sender = match known {
            Some(u) => u,
            None => {
                self.customer_from_mail(&from.address, from.name.as_deref())
                    .await?
            }
        };
        let auto = write.record.auto;
        // A merged ticket passes the mail on to its survivor; a closed one takes none.
        let ticket = match found {
            Some((t, _)) => self.survivor(t).await?,
            None => None,
        };
        let mailbox_addresses = self.mailbox_addresses().await?;
        let copied: Vec<&mail::MailAddress> = parsed
            .to
            .iter()
            .chain(&parsed.cc)
            .filter(|a| a.address != sender.email)
            .filter(|a| !mailbox_addresses.contains(&mail::base_address(&a.address)))
            .collect();
        match ticket {
            Some(t) if t.status_category != StatusCategory::Closed => {
                write.record.left_out = self.copy_on_ticket(&t, &sender, &copied).await?;
                let content = crate::text::limit_chars(
                    &parsed.reply_text(),
                    crate::message::MAX_CONTENT_CHARS,
                );
                let principal = Principal::user(sender.id, sender.role);
                let attachment_ids = self.mail_attachments(&principal, parsed, None).await?;
                let content = if content.is_empty() && attachment_ids.is_empty() {
                    "(no text)".to_string()
                } else {
                    content
                };
                let input = NewMessage {
                    content,
                    parent_id: None,
                    attachment_ids,
                    internal: false,
                };
                let post = MessageFromMail {
                    inbound: write.clone(),
                    auto,
                    result: InboundResult::MessageAdded,
                    extra: Effects::none(),
                };
                let sent = self
                    .send_message_traced(&principal, t.conversation_id, input, None, Some(&post))
                    .await?;
                self.run_triggers_for(&principal, t.id, &sent.caused)
                    .await?;
                Ok(write.record.id)
            }
            other => {
                let follow_up_of = other.map(|t| t.id);
                let (cc, left_out) = self.new_ticket_ccs(&sender, &copied).await?;
                write.record.left_out = left_out;
                let principal = Principal::user(sender.id, sender.role);
                let attachment_ids = self.mail_attachments(&principal, parsed, None).await?;
                let input = NewTicket {
                    subject: mail::clean_subject(&parsed.subject),
                    description: crate::text::limit_chars(&parsed.text, MAX_DESCRIPTION),
                    attachment_ids,
                    group_id: mailbox.group_id,
                    mailbox_id: Some(mailbox.id),
                    ..NewTicket::default()
                };
                // Automatic mail is never answered.
                let auto_reply = match auto {
                    true => None,
                    false => {
                        self.auto_reply_plan(mailbox, &sender, mail::ThreadRef::from_mail(parsed))
                            .await?
                    }
                };
                let from_mail = TicketFromMail {
                    inbound: write.clone(),
                    auto,
                    auto_reply,
                    cc,
                    follow_up_of,
                };
                self.create_ticket_from(&principal, input, Some(&from_mail))
                    .await?;
                Ok(write.record.id)
            }
        }
    }

    /// A delivery report about mail we sent: every reported recipient makes an
    /// `email.bounced` event and a line of an internal note on the mail's ticket; a
    /// permanent failure suppresses the address and turns the mail `bounced`. A report
    /// about mail we did not send is ignored (`unmatched_bounce`).
    async fn bounce(&self, mut write: InboundWrite, report: &mail::DeliveryReport) -> Result<Uuid> {
        let mut sent = None;
        if let Some(id) = &report.original_message_id {
            for r in self.st().mail_by_message_id(id).await? {
                if let Some(o) = r.outbound_id {
                    sent = self.st().get_outbound(o).await?;
                    break;
                }
            }
        }
        let Some(sent) = sent else {
            return self.ignore(write, IgnoreReason::UnmatchedBounce).await;
        };
        let now = write.record.received_at;
        write.record.result = InboundResult::Bounce;
        write.record.ticket_id = sent.ticket_id;
        let mut extra = Effects::none();
        let mut undelivered = Vec::new();
        for r in &report.recipients {
            let u = Undelivered::reported(r);
            extra.push(u.event(Some(write.record.id), &sent, now));
            if u.permanent() {
                extra.mail.suppressions.push(crate::email::Suppression {
                    address: r.address.clone(),
                    reason: crate::email::SuppressionReason::Bounce,
                    detail: r.note(),
                    outbound_id: Some(sent.id),
                    created_at: now,
                });
                if !extra.mail.bounced.contains(&sent.id) {
                    extra.mail.bounced.push(sent.id);
                }
            }
            undelivered.push(u);
        }
        let ticket = match sent.ticket_id {
            Some(t) => self.st().get_ticket(t).await?,
            None => None,
        };
        match ticket
            .as_ref()
            .and_then(|t| Some((t, bounce_note(t, &undelivered)?)))
        {
            Some((t, note)) => {
                let post = MessageFromMail {
                    inbound: write.clone(),
                    auto: true,
                    result: InboundResult::Bounce,
                    extra,
                };
                self.send_message_traced(
                    &Principal::system(),
                    t.conversation_id,
                    note,
                    None,
                    Some(&post),
                )
                .await?;
            }
            _ => {
                let mut fx = Effects::event(received_event(&write.record));
                fx.extend(&extra);
                fx.mail.inbound = Some(write.clone());
                self.written(self.st().append_effects(&fx)).await?;
            }
        }
        Ok(write.record.id)
    }

    /// Records a mail that changes nothing.
    async fn ignore(&self, mut write: InboundWrite, reason: IgnoreReason) -> Result<Uuid> {
        write.record.result = InboundResult::Ignored;
        write.record.reason = Some(reason);
        let mut fx = Effects::event(received_event(&write.record));
        let id = write.record.id;
        fx.mail.inbound = Some(write);
        self.written(self.st().append_effects(&fx)).await?;
        Ok(id)
    }

    /// Mail we sent, coming back: from a mailbox address, with our loop header, or with
    /// a Message-ID of our outbox.
    async fn is_own_mail(&self, parsed: &ParsedMail) -> Result<bool> {
        let addresses = self.mailbox_addresses().await?;
        let secrets = self.mail_secrets().await?;
        if mail::own_mail(
            parsed,
            addresses.iter().map(String::as_str),
            &secrets.installation_id,
        )
        .is_some()
        {
            return Ok(true);
        }
        Ok(match &parsed.message_id {
            Some(id) => self
                .st()
                .mail_by_message_id(id)
                .await?
                .iter()
                .any(|r| r.outbound_id.is_some()),
            None => false,
        })
    }

    /// The mailbox an address (lower-case, without `+`) belongs to: what the SMTP
    /// listener asks for each recipient.
    pub async fn mailbox_by_address(&self, address: &str) -> Result<Option<Mailbox>> {
        Ok(self.st().get_mailbox_by_address(address).await?)
    }

    /// Every mailbox address.
    async fn mailbox_addresses(&self) -> Result<Vec<String>> {
        Ok(self
            .st()
            .list_mailboxes()
            .await?
            .into_iter()
            .map(|m| m.address)
            .collect())
    }

    /// The ticket a mail belongs to and how it matched, first match wins: a token in a
    /// recipient, then In-Reply-To and References, then `[#n]` in the subject for the
    /// requester or a CC. A deleted ticket is no match.
    async fn find_thread(
        &self,
        parsed: &ParsedMail,
        envelope: &[String],
        sender: Option<&User>,
    ) -> Result<Option<(Ticket, Match)>> {
        let key = &self.mail_secrets().await?.key;
        for token in parsed.reply_tokens(envelope) {
            let Ok(number) = i64::try_from(token.number) else {
                continue;
            };
            let Some(t) = self.st().get_ticket_by_number(number).await? else {
                continue;
            };
            if key.verify_ticket(&token, t.id) {
                return Ok(Some((t, Match::TicketToken)));
            }
            if let Some(u) = sender
                && key.verify_personal(&token, t.id, u.id)
            {
                return Ok(Some((t, Match::PersonalToken)));
            }
        }
        for id in mail::thread_candidates(&parsed.in_reply_to, &parsed.references) {
            for r in self.st().mail_by_message_id(&id).await? {
                let Some(ticket_id) = r.ticket_id else {
                    continue;
                };
                let Some(t) = self.st().get_ticket(ticket_id).await? else {
                    continue;
                };
                let to_sender_alone = match (r.outbound_id, sender) {
                    (Some(o), Some(u)) => self
                        .st()
                        .get_outbound(o)
                        .await?
                        .is_some_and(|m| m.cc.is_empty() && m.to == [u.email.clone()]),
                    _ => false,
                };
                return Ok(Some((t, Match::Header { to_sender_alone })));
            }
        }
        if let (Some(number), Some(u)) = (mail::subject_ticket_number(&parsed.subject), sender)
            && let Ok(number) = i64::try_from(number)
            && let Some(t) = self.st().get_ticket_by_number(number).await?
            && (t.requester_id == u.id || t.cc.contains(&u.id))
        {
            return Ok(Some((t, Match::Subject)));
        }
        Ok(None)
    }

    /// The ticket a merged ticket's mail goes to: the end of its merge chain. `None`
    /// when a ticket on the way is gone.
    async fn survivor(&self, mut t: Ticket) -> Result<Option<Ticket>> {
        for _ in 0..32 {
            match t.merged_into_id {
                None => return Ok(Some(t)),
                Some(next) => match self.st().get_ticket(next).await? {
                    Some(n) => t = n,
                    None => return Ok(None),
                },
            }
        }
        Ok(Some(t))
    }

    /// The user a mail address stands for, made a customer without a password when
    /// unknown (whatever `--signup` says).
    async fn customer_from_mail(&self, address: &str, name: Option<&str>) -> Result<User> {
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| n.chars().take(200).collect::<String>())
            .unwrap_or_else(|| address.split('@').next().unwrap_or(address).to_string());
        let input = crate::user::NewUser {
            email: address.to_string(),
            name,
            role: Role::Customer,
            password: None,
            is_service: false,
            organization_id: None,
            is_org_manager: false,
            // Their only way to hear back is mail (API.md "Customers made from mail").
            email_notifications: true,
        };
        match self.create_user(&Principal::system(), input).await {
            Ok(u) => Ok(u),
            // Made meanwhile by another mail.
            Err(Error::EmailTaken) => self
                .st()
                .get_user_by_email(address)
                .await?
                .ok_or(Error::NotFound),
            Err(e) => Err(e),
        }
    }

    /// The active customers a new ticket's copied addresses stand for (made when
    /// unknown), and the addresses left out beyond the CC limit or not customers.
    async fn new_ticket_ccs(
        &self,
        sender: &User,
        copied: &[&mail::MailAddress],
    ) -> Result<(Vec<Uuid>, Vec<String>)> {
        let mut cc: Vec<Uuid> = Vec::new();
        let mut left_out = Vec::new();
        for a in copied {
            let user = match self.st().get_user_by_email(&a.address).await? {
                Some(u) => u,
                None => match self.customer_from_mail(&a.address, a.name.as_deref()).await {
                    Ok(u) => u,
                    Err(Error::Validation(_)) => {
                        left_out.push(a.address.clone());
                        continue;
                    }
                    Err(e) => return Err(e),
                },
            };
            if user.id == sender.id || cc.contains(&user.id) {
                continue;
            }
            if user.role != Role::Customer || !user.is_active || cc.len() >= MAX_CC {
                left_out.push(a.address.clone());
                continue;
            }
            cc.push(user.id);
        }
        Ok((cc, left_out))
    }

    /// Copies on a matched ticket the customer sender (when not requester or CC) and
    /// the mail's new copied addresses; returns the addresses left out.
    async fn copy_on_ticket(
        &self,
        t: &Ticket,
        sender: &User,
        copied: &[&mail::MailAddress],
    ) -> Result<Vec<String>> {
        let mut wanted: Vec<Uuid> = Vec::new();
        if sender.role == Role::Customer
            && sender.id != t.requester_id
            && !t.cc.contains(&sender.id)
        {
            wanted.push(sender.id);
        }
        let (others, mut left_out) = self.new_ticket_ccs(sender, copied).await?;
        wanted.extend(
            others
                .into_iter()
                .filter(|u| *u != t.requester_id && !t.cc.contains(u)),
        );
        let mut added = 0;
        for u in wanted {
            if t.cc.len() + added >= MAX_CC {
                if let Some(user) = self.st().get_user(u).await? {
                    left_out.push(user.email);
                }
                continue;
            }
            match self
                .add_cc(&Principal::system(), t.id, CcTarget::User(u))
                .await
            {
                Ok(_) => added += 1,
                Err(Error::Conflict(_)) => {}
                Err(Error::Validation(_)) => {
                    if let Some(user) = self.st().get_user(u).await? {
                        left_out.push(user.email);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(left_out)
    }

    /// Uploads a mail's attachments as the sender's, returning their ids.
    async fn mail_attachments(
        &self,
        p: &Principal,
        parsed: &ParsedMail,
        ticket_id: Option<Uuid>,
    ) -> Result<Vec<Uuid>> {
        let mut ids = Vec::with_capacity(parsed.attachments.len());
        for a in &parsed.attachments {
            if a.bytes.is_empty() {
                continue;
            }
            let uploaded = self
                .upload_bytes(p, &a.filename, &a.content_type, ticket_id, a.bytes.clone())
                .await?;
            ids.push(uploaded.id);
        }
        Ok(ids)
    }
}

/// The header block of a mail (up to and including the blank line), or the first
/// 256 KiB when none ends sooner: what a mail over the size limit is read from.
fn header_block(raw: &[u8]) -> &[u8] {
    let cap = raw.len().min(256 * 1024);
    let head = &raw[..cap];
    let end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| head.windows(2).position(|w| w == b"\n\n").map(|i| i + 2));
    &raw[..end.unwrap_or(cap)]
}

/// How a post of mail over HTTP proves who sent it.
#[derive(Debug, Clone, Copy)]
pub enum InboundAuth<'a> {
    /// An admin's token or API key (any mailbox).
    Principal(&'a Principal),
    /// Standard Webhooks headers signed with a `raw` mailbox's `secret`.
    StandardWebhooks {
        /// `webhook-id`.
        id: &'a str,
        /// `webhook-timestamp` (Unix seconds).
        timestamp: &'a str,
        /// `webhook-signature` (space-separated `v1,<base64>` list).
        signature: &'a str,
    },
    /// Mailgun's form fields, signed with a `mailgun` mailbox's `signing_key`.
    Mailgun {
        /// `timestamp` (Unix seconds).
        timestamp: &'a str,
        /// `token`.
        token: &'a str,
        /// `signature` (hex).
        signature: &'a str,
    },
}

/// How far a signed post's timestamp may be from now, in seconds.
const SIGNATURE_TOLERANCE_SECS: i64 = 300;

impl Helpdesk {
    /// [`Helpdesk::ingest_mail`] of mail posted over HTTP, once `auth` holds for the
    /// mailbox: an admin (another role: `Forbidden`; an unknown mailbox: `NotFound`), or
    /// a signature that verifies with the mailbox's key within five minutes (any
    /// failure, a mailbox of the other provider or an unknown one: `Unauthorized`).
    pub async fn ingest_posted(
        &self,
        auth: InboundAuth<'_>,
        body_for_signature: &[u8],
        incoming: IncomingMail,
    ) -> Result<Ingested> {
        match auth {
            InboundAuth::Principal(p) => self.require_admin(p).await?,
            signed => {
                let mailbox = self.st().get_mailbox(incoming.mailbox_id).await?;
                let now = self.now();
                let fresh = |ts: &str| {
                    ts.trim()
                        .parse::<i64>()
                        .is_ok_and(|t| (now.timestamp() - t).abs() <= SIGNATURE_TOLERANCE_SECS)
                };
                let ok = match (signed, mailbox) {
                    (
                        InboundAuth::StandardWebhooks {
                            id,
                            timestamp,
                            signature,
                        },
                        Some(m),
                    ) if m.inbound.provider() == Some(crate::mailbox::WebhookProvider::Raw) => {
                        (1..=256).contains(&id.chars().count())
                            && fresh(timestamp)
                            && m.verify_standard_webhook(
                                id,
                                timestamp.trim(),
                                signature,
                                body_for_signature,
                                now,
                            )
                    }
                    (
                        InboundAuth::Mailgun {
                            timestamp,
                            token,
                            signature,
                        },
                        Some(m),
                    ) if m.inbound.provider() == Some(crate::mailbox::WebhookProvider::Mailgun) => {
                        fresh(timestamp) && m.verify_mailgun(timestamp, token, signature)
                    }
                    _ => false,
                };
                if !ok {
                    return Err(Error::Unauthorized);
                }
            }
        }
        if incoming.raw.is_empty() {
            return Err(Error::invalid("body", "must hold a mail"));
        }
        self.ingest_mail(incoming).await
    }
}
