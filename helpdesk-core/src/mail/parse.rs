//! Raw MIME → [`ParsedMail`]: the headers the pipeline threads and classifies on, the body
//! text, and the attachments, within limits.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use mail_parser::{
    Address, HeaderForm, HeaderName, HeaderValue, Message, MessageParser, MimeHeaders, PartType,
};
use sha2::{Digest, Sha256};

use super::MailError;
use super::dsn::{self, DeliveryReport};
use super::parts::MailAttachment;
use super::parts::{ParseLimits, attachments, cid_names, clean_text, is_attachment, part_filename};
use super::thread::normalize_message_id;
use super::token::ReplyToken;

/// A mail address with its display name, the address lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAddress {
    /// `local@domain`, lower-cased.
    pub address: String,
    /// The display name, decoded, if any.
    pub name: Option<String>,
}

/// One mail, parsed: what the pipeline dedupes, classifies, threads and stores.
#[derive(Debug, Clone)]
pub struct ParsedMail {
    /// The Message-ID without `<>`, lower-cased (compared case-insensitively).
    pub message_id: Option<String>,
    /// The first `From` address (none: the pipeline ignores the mail as `no_sender`).
    pub from: Option<MailAddress>,
    /// `To` addresses.
    pub to: Vec<MailAddress>,
    /// `Cc` addresses.
    pub cc: Vec<MailAddress>,
    /// `Delivered-To` addresses, lower-cased.
    pub delivered_to: Vec<String>,
    /// `X-Original-To` addresses, lower-cased.
    pub x_original_to: Vec<String>,
    /// The decoded Subject (empty when none).
    pub subject: String,
    /// `In-Reply-To` ids, without `<>`, lower-cased.
    pub in_reply_to: Vec<String>,
    /// `References` ids in header order, without `<>`, lower-cased.
    pub references: Vec<String>,
    /// The `Date` header, when valid.
    pub date: Option<DateTime<Utc>>,
    /// The raw mail's byte count.
    pub size: usize,
    /// SHA-256 of the raw bytes: the dedupe key of a mail without a Message-ID.
    pub sha256: [u8; 32],
    /// The body as text (UTF-8, `\n` line ends, trimmed), quotes included.
    pub text: String,
    /// The HTML body, unsanitised, if the mail has one.
    pub html: Option<String>,
    /// Whether `text` was made from `html` (no usable text/plain part).
    pub text_from_html: bool,
    /// The attachments kept, in mail order.
    pub attachments: Vec<MailAttachment>,
    /// Attachments left out for the limits (too many or too large).
    pub dropped_attachments: usize,
    /// The delivery status report, when the mail is a bounce (RFC 3464).
    pub report: Option<DeliveryReport>,
    headers: Vec<(String, String)>,
    cid_names: HashMap<String, String>,
}

impl ParsedMail {
    /// The first top-level header named `name` (any case), as sent (not RFC 2047-decoded),
    /// unfolded and trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every top-level header named `name` (any case), unfolded and trimmed.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The SHA-256 of the raw bytes in lower-case hex.
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }

    /// Every recipient address a reply token may stand in (`To`, `Cc`, `Delivered-To`,
    /// `X-Original-To`), lower-cased, without repeats; envelope recipients come from the
    /// transport and are checked first by the pipeline.
    pub fn recipient_addresses(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let all = self.to.iter().chain(&self.cc).map(|a| &a.address);
        for a in all.chain(&self.delivered_to).chain(&self.x_original_to) {
            if !out.contains(a) {
                out.push(a.clone());
            }
        }
        out
    }

    /// The reply tokens in the recipients, in the order threading tries them: the
    /// envelope recipients (from the transport) first, then [`Self::recipient_addresses`];
    /// without repeats. Each still has to verify against its ticket.
    pub fn reply_tokens(&self, envelope: &[String]) -> Vec<ReplyToken> {
        let mut out: Vec<ReplyToken> = Vec::new();
        let headers = self.recipient_addresses();
        for address in envelope.iter().chain(&headers) {
            if let Some(token) = ReplyToken::from_address(address)
                && !out.contains(&token)
            {
                out.push(token);
            }
        }
        out
    }

    /// The text of a follow-up: the body without the quoted conversation (HTML quotes are
    /// removed before the HTML becomes text). The whole body when nothing would be left.
    pub fn reply_text(&self) -> String {
        let text = match (&self.html, self.text_from_html) {
            (Some(html), true) => super::html::html_to_text(html, &self.cid_names, true),
            _ => self.text.clone(),
        };
        let stripped = super::quote::strip_quotes(&text);
        if stripped.is_empty() {
            self.text.clone()
        } else {
            stripped
        }
    }
}

/// Parses raw mail bytes. Empty input, or bytes without a header, is
/// [`MailError::NotAMail`]; anything else is parsed best-effort, never panicking.
pub fn parse(raw: &[u8], limits: ParseLimits) -> Result<ParsedMail, MailError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(MailError::NotAMail("empty input"));
    }
    // mail-parser promises not to panic; a debug assertion in it could still fire on
    // some input in debug builds, so the parse is fenced and a panic is an error value.
    let parsed = std::panic::catch_unwind(|| parse_inner(raw, limits));
    match parsed {
        Ok(result) => result,
        Err(_) => Err(MailError::NotAMail("unreadable MIME structure")),
    }
}

pub(super) fn parse_inner(full: &[u8], limits: ParseLimits) -> Result<ParsedMail, MailError> {
    // A Unix mailbox envelope line (`From sender date`, as some MTA pipes prepend) is no
    // header; size and hash stay those of the bytes received.
    let raw = match full.strip_prefix(b"From ") {
        Some(rest) => rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(full, |i| &rest[i + 1..]),
        None => full,
    };
    let message = MessageParser::new()
        .parse(raw)
        .ok_or(MailError::NotAMail("no mail headers"))?;
    let headers: Vec<(String, String)> = message
        .headers()
        .iter()
        .map(|h| {
            let value = raw
                .get(h.offset_start as usize..h.offset_end as usize)
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            (h.name.as_str().to_string(), unfold(&value))
        })
        .collect();
    if !headers.iter().any(|(n, _)| looks_like_mail_header(n)) {
        return Err(MailError::NotAMail("no mail headers"));
    }

    let from = message.from().and_then(|a| addresses(a).into_iter().next());
    let to = message.to().map(addresses).unwrap_or_default();
    let cc = message.cc().map(addresses).unwrap_or_default();
    let delivered_to = other_addresses(&message, "Delivered-To");
    let x_original_to = other_addresses(&message, "X-Original-To");
    let subject = message
        .subject()
        .map(|s| clean_text(s).replace('\n', " "))
        .unwrap_or_default();
    let date = message
        .date()
        .filter(|d| d.is_valid())
        .and_then(|d| Utc.timestamp_opt(d.to_timestamp(), 0).single());

    let cid_names = cid_names(&message);
    let (text, html, text_from_html) = body(&message, &cid_names);
    let (attachments, dropped_attachments) = attachments(&message, limits);
    let report = dsn::delivery_report(&message);

    Ok(ParsedMail {
        message_id: message
            .message_id()
            .map(normalize_message_id)
            .filter(|id| !id.is_empty()),
        from,
        to,
        cc,
        delivered_to,
        x_original_to,
        subject,
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        date,
        size: full.len(),
        sha256: Sha256::digest(full).into(),
        text,
        html,
        text_from_html,
        attachments,
        dropped_attachments,
        report,
        headers,
        cid_names,
    })
}

/// A header line a mail has; random bytes that happen to contain a colon do not count.
fn looks_like_mail_header(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Folded header text on one line, trimmed.
fn unfold(value: &str) -> String {
    value
        .split(['\r', '\n'])
        .map(|l| l.trim_matches([' ', '\t']))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn addresses(address: &Address<'_>) -> Vec<MailAddress> {
    address
        .iter()
        .filter_map(|a| {
            let addr = a.address.as_deref()?.trim().to_lowercase();
            if !addr.contains('@') || addr.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return None;
            }
            let name = a
                .name
                .as_deref()
                .map(|n| clean_text(n).replace('\n', " "))
                .filter(|n| !n.is_empty());
            Some(MailAddress {
                address: addr,
                name,
            })
        })
        .collect()
}

fn other_addresses(message: &Message<'_>, name: &'static str) -> Vec<String> {
    message
        .header_as(
            HeaderName::parse(name).unwrap_or(HeaderName::Other(Cow::Borrowed(name))),
            HeaderForm::Addresses,
        )
        .iter()
        .filter_map(HeaderValue::as_address)
        .flat_map(addresses)
        .map(|a| a.address)
        .collect()
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    value
        .as_text_list()
        .unwrap_or_default()
        .iter()
        .map(|id| normalize_message_id(id))
        .filter(|id| !id.is_empty())
        .collect()
}

/// The body text: the text/plain body parts (inline images between them as
/// `[image: <name>]`); without text, the HTML part sanitised and turned into text.
fn body(message: &Message<'_>, cids: &HashMap<String, String>) -> (String, Option<String>, bool) {
    let html = message
        .html_body
        .iter()
        .filter_map(|&id| message.parts.get(id as usize))
        .find_map(|p| match &p.body {
            PartType::Html(h) => Some(h.to_string()),
            _ => None,
        });
    let mut pieces: Vec<String> = Vec::new();
    let mut has_text = false;
    for &id in &message.text_body {
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        match &part.body {
            PartType::Text(t) if !is_attachment(part) => {
                let t = clean_text(t);
                if !t.is_empty() {
                    has_text = true;
                    pieces.push(t);
                }
            }
            PartType::InlineBinary(_) | PartType::Binary(_)
                if !pieces.is_empty()
                    && part
                        .content_type()
                        .is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("image")) =>
            {
                pieces.push(format!("[image: {}]", part_filename(part, id as usize)));
            }
            _ => {}
        }
    }
    if has_text {
        return (pieces.join("\n"), html, false);
    }
    match html {
        Some(h) => {
            let text = clean_text(&super::html::html_to_text(&h, cids, false));
            (text, Some(h), true)
        }
        None => (String::new(), None, false),
    }
}
