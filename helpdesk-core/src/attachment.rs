//! Attachments: metadata, and blob bytes written and read in chunks.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Blob bytes are stored in chunks of this size (the last may be shorter).
pub const CHUNK_SIZE: usize = 256 * 1024;

/// What an attachment is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AttachmentParent {
    /// A ticket.
    Ticket {
        /// The ticket.
        ticket_id: Uuid,
    },
    /// A message.
    Message {
        /// Its conversation.
        conversation_id: Uuid,
        /// The message.
        message_id: Uuid,
    },
}

/// An uploaded file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Id; also the blob's id.
    pub id: Uuid,
    /// Sanitised file name.
    pub filename: String,
    /// MIME type.
    pub content_type: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// Uploader.
    pub uploaded_by: Uuid,
    /// Uploaded.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
    /// What it is attached to (`None`: not yet; deleted after 24 hours).
    pub parent: Option<AttachmentParent>,
}

/// How long an upload may stay unattached before it is swept.
pub const ORPHAN_TTL_HOURS: i64 = 24;

/// A sanitised download name: no path, no control characters or quotes, at most 255
/// bytes, never empty.
pub fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\\' | '/' | ';'))
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    let mut out = String::new();
    for c in cleaned.chars() {
        if out.len() + c.len_utf8() > 255 {
            break;
        }
        out.push(c);
    }
    if out.is_empty() {
        "file".to_string()
    } else {
        out
    }
}

/// The declared content type when it names one media type; otherwise (missing, garbled,
/// or a range such as `*/*` or `image/*`, which is no type to serve back)
/// `application/octet-stream`.
pub(crate) fn validate_content_type(ct: &str) -> String {
    let ct = ct.trim();
    let essence = ct.split(';').next().unwrap_or("").trim();
    let ok = ct.len() <= 255
        && essence.split_once('/').is_some_and(|(a, b)| {
            !a.is_empty() && !b.is_empty() && !a.contains('*') && !b.contains('*')
        })
        && ct.chars().all(|c| c.is_ascii_graphic() || c == ' ');
    if ok {
        ct.to_string()
    } else {
        "application/octet-stream".to_string()
    }
}
