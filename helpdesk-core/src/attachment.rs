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

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};

use crate::Helpdesk;
use crate::error::{BoxError, Error, Result};
use crate::event::Effects;
use crate::principal::Principal;

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
fn validate_content_type(ct: &str) -> String {
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

impl Helpdesk {
    /// Stores an upload streamed in chunks, enforcing the size limit as it reads (over
    /// it, nothing is kept). Optionally attaches it to a ticket at once.
    pub async fn upload<S, E>(
        &self,
        p: &Principal,
        filename: &str,
        content_type: &str,
        ticket_id: Option<Uuid>,
        mut body: S,
    ) -> Result<Attachment>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin + Send,
        E: Into<BoxError>,
    {
        if p.is_system() {
            return Err(Error::forbidden("the system cannot upload"));
        }
        if let Some(t) = ticket_id {
            self.visible_ticket(p, t).await?;
        }
        let id = crate::clock::new_id();
        let limit = self.inner.config.max_upload;
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut index: u32 = 0;
        let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_SIZE);
        let result: Result<()> = async {
            while let Some(piece) = body.next().await {
                let piece = piece
                    .map_err(|e| Error::invalid("file", format!("upload failed: {}", e.into())))?;
                size += piece.len() as u64;
                if size > limit {
                    return Err(Error::PayloadTooLarge { limit });
                }
                hasher.update(&piece);
                let mut rest: &[u8] = &piece;
                while !rest.is_empty() {
                    let take = (CHUNK_SIZE - buf.len()).min(rest.len());
                    buf.extend_from_slice(&rest[..take]);
                    rest = &rest[take..];
                    if buf.len() == CHUNK_SIZE {
                        self.st().put_blob_chunk(id, index, &buf).await?;
                        index += 1;
                        buf.clear();
                    }
                }
            }
            if !buf.is_empty() {
                self.st().put_blob_chunk(id, index, &buf).await?;
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            let _ = self.st().delete_blob(id).await;
            return Err(e);
        }
        let attachment = Attachment {
            id,
            filename: sanitize_filename(filename),
            content_type: validate_content_type(content_type),
            size,
            sha256: hex::encode(hasher.finalize()),
            uploaded_by: p.user_id,
            created_at: self.now(),
            parent: ticket_id.map(|ticket_id| AttachmentParent::Ticket { ticket_id }),
        };
        if let Err(e) = self
            .st()
            .insert_attachment(&attachment, &Effects::none())
            .await
        {
            let _ = self.st().delete_blob(id).await;
            return Err(e.into());
        }
        Ok(attachment)
    }

    /// Whether `p` may see attachment `a`: its uploader, or whoever may see what it is
    /// attached to.
    async fn can_see_attachment(&self, p: &Principal, a: &Attachment) -> Result<bool> {
        if a.uploaded_by == p.user_id {
            return Ok(true);
        }
        Ok(match a.parent {
            None => false,
            Some(AttachmentParent::Ticket { ticket_id }) => {
                self.visible_ticket(p, ticket_id).await.is_ok()
            }
            Some(AttachmentParent::Message {
                conversation_id,
                message_id,
            }) => match self.readable_conversation(p, conversation_id).await {
                Ok(c) => self
                    .st()
                    .get_message(c.id, message_id)
                    .await?
                    .is_some_and(|m| !m.internal || p.is_staff()),
                Err(_) => false,
            },
        })
    }

    /// Attachment metadata.
    pub async fn get_attachment(&self, p: &Principal, id: Uuid) -> Result<Attachment> {
        match self.st().get_attachment(id).await? {
            Some(a) if self.can_see_attachment(p, &a).await? => Ok(a),
            _ => Err(Error::NotFound),
        }
    }

    /// Attachment metadata and its bytes as a stream of chunks (one chunk in memory at a
    /// time).
    pub async fn attachment_content(
        &self,
        p: &Principal,
        id: Uuid,
    ) -> Result<(
        Attachment,
        impl Stream<Item = Result<Bytes>> + Send + 'static,
    )> {
        let a = self.get_attachment(p, id).await?;
        let store = self.inner.store.clone();
        let chunks = (a.size as usize).div_ceil(CHUNK_SIZE) as u32;
        let stream = futures_util::stream::unfold(0u32, move |index| {
            let store = store.clone();
            async move {
                if index >= chunks {
                    return None;
                }
                let chunk = match store.get_blob_chunk(id, index).await {
                    Ok(Some(c)) => Ok(Bytes::from(c)),
                    Ok(None) => Err(Error::Store(crate::StoreError::Corrupt(format!(
                        "blob {id} misses chunk {index}"
                    )))),
                    Err(e) => Err(e.into()),
                };
                Some((chunk, index + 1))
            }
        });
        Ok((a, stream))
    }

    /// A ticket's attachments (requester and staff).
    pub async fn ticket_attachments(
        &self,
        p: &Principal,
        ticket_id: Uuid,
    ) -> Result<Vec<Attachment>> {
        self.visible_ticket(p, ticket_id).await?;
        Ok(self
            .st()
            .list_attachments(AttachmentParent::Ticket { ticket_id })
            .await?)
    }

    /// Deletes uploads never attached within 24 hours; returns how many.
    pub async fn sweep_unattached(&self) -> Result<usize> {
        let before = self.now() - chrono::Duration::hours(ORPHAN_TTL_HOURS);
        let doomed = self.st().unattached_before(before).await?;
        for a in &doomed {
            self.st().delete_attachment(a.id).await?;
        }
        Ok(doomed.len())
    }
}
