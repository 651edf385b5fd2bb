//! A mail's parts as files: which parts become attachments, their names, media types and
//! decoded bytes, within the limits.

use std::borrow::Cow;
use std::collections::HashMap;

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

use super::thread::normalize_message_id;
use crate::attachment::sanitize_filename;

/// How much of a mail's attachments the parse keeps (the raw mail keeps all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// At most this many attachments (`--mail-max-attachments`).
    pub max_attachments: usize,
    /// Each at most this many bytes (`--max-upload`).
    pub max_attachment_bytes: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self {
            max_attachments: 20,
            max_attachment_bytes: 25 * 1024 * 1024,
        }
    }
}

/// Text the system stores: refused control characters removed, `\r\n` as `\n`.
pub(super) fn clean_text(s: &str) -> String {
    s.replace("\r\n", "\n")
        .chars()
        .filter(|c| crate::text::is_allowed(*c) && *c != '\r')
        .collect::<String>()
        .trim()
        .to_string()
}

/// A file taken from a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAttachment {
    /// Sanitised as upload names are; an attached mail is `<subject>.eml`.
    pub filename: String,
    /// The media type (`type/subtype`), `application/octet-stream` when unusable.
    pub content_type: String,
    /// The decoded bytes.
    pub bytes: Vec<u8>,
    /// Shown inline (an image in the body) rather than attached.
    pub inline: bool,
    /// Its Content-ID without `<>`, when the HTML refers to it as `cid:`.
    pub content_id: Option<String>,
}

/// The file name of every part with a Content-ID, for `cid:` references in the HTML.
pub(super) fn cid_names(message: &Message<'_>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (i, part) in message.parts.iter().enumerate() {
        if let Some(cid) = part.content_id() {
            let cid = normalize_message_id(cid);
            if !cid.is_empty() {
                out.entry(cid).or_insert_with(|| part_filename(part, i));
            }
        }
    }
    out
}

pub(super) fn is_attachment(part: &MessagePart<'_>) -> bool {
    part.content_disposition()
        .is_some_and(|d| d.is_attachment())
}

pub(super) fn attachments(
    message: &Message<'_>,
    limits: ParseLimits,
) -> (Vec<MailAttachment>, usize) {
    let mut kept = Vec::new();
    let mut dropped = 0;
    for &id in &message.attachments {
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        let take = match &part.body {
            // Text parts are content unless sent as files.
            PartType::Text(_) | PartType::Html(_) => {
                is_attachment(part) || part.attachment_name().is_some()
            }
            PartType::Binary(_) | PartType::InlineBinary(_) | PartType::Message(_) => true,
            PartType::Multipart(_) => false,
        };
        let bytes = contents(part);
        if !take || bytes.is_empty() {
            continue;
        }
        if kept.len() >= limits.max_attachments || bytes.len() > limits.max_attachment_bytes {
            dropped += 1;
            continue;
        }
        let (filename, content_type) = match &part.body {
            PartType::Message(nested) => (eml_name(nested.subject()), "message/rfc822".to_string()),
            _ => (part_filename(part, id as usize), media_type(part)),
        };
        let inline = matches!(part.body, PartType::InlineBinary(_))
            || part.content_disposition().is_some_and(|d| d.is_inline());
        kept.push(MailAttachment {
            filename,
            content_type,
            bytes: bytes.into_owned(),
            inline,
            content_id: part
                .content_id()
                .map(normalize_message_id)
                .filter(|c| !c.is_empty()),
        });
    }
    (kept, dropped)
}

/// A part's decoded bytes. A base64 part cut short (a mail whose boundary never closes)
/// comes back from the parser undecoded: its whole quads are decoded here instead.
fn contents<'a>(part: &'a MessagePart<'_>) -> Cow<'a, [u8]> {
    let raw = part.contents();
    let base64 = part
        .content_transfer_encoding()
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("base64"));
    if !part.is_encoding_problem || !base64 {
        return Cow::Borrowed(raw);
    }
    let mut clean: Vec<u8> = raw
        .iter()
        .copied()
        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        .collect();
    clean.truncate(clean.len() / 4 * 4);
    use base64::Engine as _;
    match base64::engine::general_purpose::STANDARD.decode(&clean) {
        Ok(decoded) => Cow::Owned(decoded),
        Err(_) => Cow::Borrowed(raw),
    }
}

/// `<subject>.eml`, sanitised; `message.eml` without a subject.
fn eml_name(subject: Option<&str>) -> String {
    let base: String = subject
        .map(clean_text)
        .unwrap_or_default()
        .replace(['\n', '/', '\\'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(200)
        .collect();
    let base = if base.is_empty() {
        "message"
    } else {
        base.as_str()
    };
    sanitize_filename(&format!("{base}.eml"))
}

/// The part's file name, sanitised; one made from the media type when it has none.
pub(super) fn part_filename(part: &MessagePart<'_>, index: usize) -> String {
    match part
        .attachment_name()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(name) => sanitize_filename(name),
        None => {
            let ext = part
                .content_type()
                .and_then(|ct| ct.subtype())
                .filter(|s| s.len() <= 10 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
                .map_or_else(|| "bin".to_string(), str::to_ascii_lowercase);
            let kind = part
                .content_type()
                .map(|ct| ct.ctype().to_ascii_lowercase())
                .filter(|t| t == "image")
                .unwrap_or_else(|| "attachment".to_string());
            format!("{kind}-{index}.{ext}")
        }
    }
}

fn media_type(part: &MessagePart<'_>) -> String {
    let Some(ct) = part.content_type() else {
        return "application/octet-stream".to_string();
    };
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match ct.subtype() {
        Some(sub) if token(ct.ctype()) && token(sub) => {
            format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase()
        }
        _ => "application/octet-stream".to_string(),
    }
}
