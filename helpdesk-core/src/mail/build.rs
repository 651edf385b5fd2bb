//! The mail we send: replies and auto-replies on a ticket, and notification mail, as bytes
//! ready for the outbox, with their Message-ID.

use chrono::{DateTime, Utc};
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::text::Text;
use uuid::Uuid;

use super::MailError;
use super::classify::LOOP_HEADER;
use super::quote::REPLY_MARKER;
use super::thread::{outgoing_subject, reply_references};
use super::token::reply_address;
use crate::attachment::sanitize_filename;

/// The mailbox a mail is sent through.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingMailbox<'a> {
    /// Its address (`support@example.com`).
    pub address: &'a str,
    /// Its display name.
    pub name: &'a str,
}

/// A recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// `local@domain`.
    pub address: String,
    /// The display name, if any.
    pub name: Option<String>,
}

/// The mail on the ticket a reply answers: its headers become In-Reply-To and References.
#[derive(Debug, Clone, Default)]
pub struct ThreadRef {
    /// Its Message-ID (without `<>`).
    pub message_id: String,
    /// Its In-Reply-To ids.
    pub in_reply_to: Vec<String>,
    /// Its References ids.
    pub references: Vec<String>,
}

impl ThreadRef {
    /// The threading headers of a parsed mail; `None` without a Message-ID.
    pub fn from_mail(mail: &super::ParsedMail) -> Option<Self> {
        Some(Self {
            message_id: mail.message_id.clone()?,
            in_reply_to: mail.in_reply_to.clone(),
            references: mail.references.clone(),
        })
    }
}

/// A file to attach.
#[derive(Debug, Clone)]
pub struct OutgoingAttachment {
    /// The file name (sanitised again here).
    pub filename: String,
    /// The media type.
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Whether a mail on a ticket is a staff reply or an auto-reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind<'a> {
    /// A public staff message: From `"<author> via <mailbox name>"`.
    Reply {
        /// The author's name.
        author_name: &'a str,
    },
    /// The auto-reply to a new ticket: From `"<mailbox name>"`, with `Auto-Submitted:
    /// auto-replied` and `X-Auto-Response-Suppress: All`.
    AutoReply,
}

/// A reply or auto-reply on a ticket.
#[derive(Debug, Clone)]
pub struct ReplyMail<'a> {
    /// Reply or auto-reply.
    pub kind: ReplyKind<'a>,
    /// The mailbox sending it.
    pub mailbox: OutgoingMailbox<'a>,
    /// The outbound record's id: the Message-ID's left part.
    pub outbound_id: Uuid,
    /// The ticket number.
    pub ticket_number: u64,
    /// The ticket subject.
    pub ticket_subject: &'a str,
    /// Whether the ticket has inbound mail (then the Subject starts `Re: `).
    pub has_inbound_mail: bool,
    /// The ticket token for Reply-To (`<number>-<mac>`).
    pub token: &'a str,
    /// This installation's loop id (`X-Helpdesk-Loop`).
    pub loop_id: &'a str,
    /// `To` (the requester).
    pub to: Vec<Recipient>,
    /// `Cc`.
    pub cc: Vec<Recipient>,
    /// The mail it answers, if any.
    pub thread: Option<ThreadRef>,
    /// The message text.
    pub content: &'a str,
    /// Files, attached while the mail stays under `max_size`; the rest named in the body.
    pub attachments: &'a [OutgoingAttachment],
    /// `--mail-max-size` in bytes.
    pub max_size: usize,
    /// The Date header.
    pub date: DateTime<Utc>,
}

/// A notification mailed to one user.
#[derive(Debug, Clone)]
pub struct NotificationMail<'a> {
    /// The mailbox sending it.
    pub mailbox: OutgoingMailbox<'a>,
    /// The outbound record's id.
    pub outbound_id: Uuid,
    /// The ticket's number and the recipient's personal token, for a ticket's notification.
    pub ticket: Option<(u64, &'a str)>,
    /// The notification title.
    pub title: &'a str,
    /// The notification body.
    pub body: &'a str,
    /// This installation's loop id.
    pub loop_id: &'a str,
    /// The user.
    pub to: Recipient,
    /// The Date header.
    pub date: DateTime<Utc>,
}

/// A built mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltMail {
    /// The RFC 5322 bytes.
    pub bytes: Vec<u8>,
    /// Its Message-ID, without `<>` (`<outbound id>@<mailbox domain>`).
    pub message_id: String,
    /// Attachments left out for the size limit (named at the end of the body).
    pub omitted_attachments: Vec<String>,
}

/// The built-in auto-reply text, for a mailbox without a canned reply.
pub fn default_auto_reply_text(ticket_number: u64, ticket_subject: &str) -> String {
    format!(
        "Thank you for your message. We have received it as ticket #{ticket_number} \
         (\"{}\") and will get back to you as soon as we can.\n\n\
         To add to this request, reply to this mail and keep the ticket number in the subject.",
        header_text(ticket_subject)
    )
}

/// Builds a reply or auto-reply. Addresses must be plain `local@domain`.
pub fn build_reply(mail: &ReplyMail<'_>) -> Result<BuiltMail, MailError> {
    let mailbox_address = checked_address(mail.mailbox.address)?;
    let message_id = message_id(mail.outbound_id, &mailbox_address);
    let from_name = match mail.kind {
        ReplyKind::Reply { author_name } => {
            format!(
                "{} via {}",
                header_text(author_name),
                header_text(mail.mailbox.name)
            )
        }
        ReplyKind::AutoReply => header_text(mail.mailbox.name),
    };
    let subject = outgoing_subject(
        mail.ticket_number,
        &header_text(mail.ticket_subject),
        mail.has_inbound_mail,
    );
    let mut builder = MessageBuilder::new()
        .from(Address::new_address(
            Some(from_name),
            mailbox_address.clone(),
        ))
        .reply_to(Address::new_address(
            None::<String>,
            reply_address(&mailbox_address, &checked_token(mail.token)?),
        ))
        .subject(subject)
        .message_id(message_id.clone())
        .date(Date::new(mail.date.timestamp()))
        .header(LOOP_HEADER, Text::new(header_text(mail.loop_id)));
    if !mail.to.is_empty() {
        builder = builder.to(address_list(&mail.to)?);
    }
    if !mail.cc.is_empty() {
        builder = builder.cc(address_list(&mail.cc)?);
    }
    if let Some(thread) = &mail.thread
        && !thread.message_id.is_empty()
    {
        builder = builder.in_reply_to(thread.message_id.clone());
        let refs = reply_references(
            &thread.references,
            &thread.in_reply_to,
            Some(&thread.message_id),
        );
        builder = builder.references(MessageId::new_list(refs.into_iter()));
    }
    if mail.kind == ReplyKind::AutoReply {
        builder = builder
            .header("Auto-Submitted", Text::new("auto-replied"))
            .header("X-Auto-Response-Suppress", Text::new("All"));
    }
    let mut body = format!("{REPLY_MARKER}\n\n{}", mail.content.trim_end());
    // Headers and the text part, then each file as base64 (4/3, plus line breaks).
    let mut size = 2048 + body.len() * 3;
    let mut omitted = Vec::new();
    for a in mail.attachments {
        let filename = sanitize_filename(&a.filename);
        let encoded = a.bytes.len().div_ceil(3) * 4 * 78 / 76 + 512;
        if size + encoded > mail.max_size {
            omitted.push(filename);
            continue;
        }
        size += encoded;
        builder = builder.attachment(media_type(&a.content_type), filename, a.bytes.clone());
    }
    if !omitted.is_empty() {
        body.push_str("\n\nNot attached (too large for mail):");
        for name in &omitted {
            body.push_str(&format!("\n- {name}"));
        }
    }
    let bytes = builder
        .text_body(body.replace("\r\n", "\n").replace('\n', "\r\n"))
        .write_to_vec()
        .unwrap_or_default();
    Ok(BuiltMail {
        bytes,
        message_id,
        omitted_attachments: omitted,
    })
}

/// Builds a notification mail: From the mailbox, Subject `[#<number>] <title>` (or
/// `<title>`), `Auto-Submitted: auto-generated`, `X-Auto-Response-Suppress: All`, and for
/// a ticket a Reply-To with the recipient's personal token.
pub fn build_notification(mail: &NotificationMail<'_>) -> Result<BuiltMail, MailError> {
    let mailbox_address = checked_address(mail.mailbox.address)?;
    let message_id = message_id(mail.outbound_id, &mailbox_address);
    let title = header_text(mail.title);
    let subject = match mail.ticket {
        Some((number, _)) => outgoing_subject(number, &title, false),
        None => title,
    };
    let mut builder = MessageBuilder::new()
        .from(Address::new_address(
            Some(header_text(mail.mailbox.name)),
            mailbox_address.clone(),
        ))
        .to(address_list(std::slice::from_ref(&mail.to))?)
        .subject(subject)
        .message_id(message_id.clone())
        .date(Date::new(mail.date.timestamp()))
        .header(LOOP_HEADER, Text::new(header_text(mail.loop_id)))
        .header("Auto-Submitted", Text::new("auto-generated"))
        .header("X-Auto-Response-Suppress", Text::new("All"));
    if let Some((_, token)) = mail.ticket {
        builder = builder.reply_to(Address::new_address(
            None::<String>,
            reply_address(&mailbox_address, &checked_token(token)?),
        ));
    }
    let bytes = builder
        .text_body(
            mail.body
                .trim_end()
                .replace("\r\n", "\n")
                .replace('\n', "\r\n"),
        )
        .write_to_vec()
        .unwrap_or_default();
    Ok(BuiltMail {
        bytes,
        message_id,
        omitted_attachments: Vec::new(),
    })
}

fn message_id(outbound_id: Uuid, mailbox_address: &str) -> String {
    let domain = mailbox_address
        .rsplit_once('@')
        .map_or("localhost", |(_, d)| d);
    format!("{outbound_id}@{domain}").to_lowercase()
}

/// Text for a header: control characters (CR, LF among them) become spaces, runs of
/// whitespace one space; mail-builder then encodes what is not ASCII.
fn header_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A plain `local@domain`, trimmed and lower-cased: no spaces, controls, quotes,
/// brackets or commas that could break out of the header.
fn checked_address(address: &str) -> Result<String, MailError> {
    let a = address.trim().to_lowercase();
    let ok = a
        .split_once('@')
        .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty())
        && a.len() <= 254
        && !a
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>\"(),;:\\[]".contains(c));
    if ok {
        Ok(a)
    } else {
        Err(MailError::InvalidAddress(address.to_string()))
    }
}

fn checked_token(token: &str) -> Result<String, MailError> {
    if !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        Ok(token.to_string())
    } else {
        Err(MailError::InvalidAddress(token.to_string()))
    }
}

fn address_list(recipients: &[Recipient]) -> Result<Address<'static>, MailError> {
    let mut list = Vec::with_capacity(recipients.len());
    for r in recipients {
        let address = checked_address(&r.address)?;
        let name = r.name.as_deref().map(header_text).filter(|n| !n.is_empty());
        list.push(Address::new_address(name, address));
    }
    Ok(Address::new_list(list))
}

/// `type/subtype` when the declared type is one, else `application/octet-stream`.
fn media_type(ct: &str) -> String {
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match essence.split_once('/') {
        Some((t, s)) if token(t) && token(s) => essence,
        _ => "application/octet-stream".to_string(),
    }
}
