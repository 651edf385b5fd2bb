//! Uploads (streamed in chunks, size-limited, hashed), who may read an attachment,
//! attaching uploads to tickets and messages, sweeping orphans.

use crate::Helpdesk;
use crate::attachment::*;
use crate::error::{BoxError, Error, Result};
use crate::event::Effects;
use crate::principal::Principal;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use uuid::Uuid;

impl Helpdesk {
    /// Attachment ids the caller may attach: their own uploads, not attached yet.
    pub(crate) async fn check_own_attachments(&self, p: &Principal, ids: &[Uuid]) -> Result<()> {
        for id in ids {
            match self.st().get_attachment(*id).await? {
                Some(a) if a.uploaded_by == p.user_id && a.parent.is_none() => {}
                _ => {
                    return Err(Error::invalid(
                        "attachment_ids",
                        "must be your own uploads that are not attached yet",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Stores an upload streamed in chunks, enforcing the size limit as it reads (over
    /// it, nothing is kept). Optionally attaches it to a ticket at once.
    pub async fn upload<S, E>(
        &self,
        p: &Principal,
        filename: &str,
        content_type: &str,
        ticket_id: Option<Uuid>,
        body: S,
    ) -> Result<Attachment>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send,
        E: Into<BoxError>,
    {
        let mut body = std::pin::pin!(body);
        if p.is_system() {
            return Err(Error::forbidden("the system cannot upload"));
        }
        if let Some(t) = ticket_id {
            let (_, relation) = self.ticket_as(p, t).await?;
            relation.require_poster()?;
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

    /// [`Helpdesk::upload`] of bytes held in memory.
    pub async fn upload_bytes(
        &self,
        p: &Principal,
        filename: &str,
        content_type: &str,
        ticket_id: Option<Uuid>,
        bytes: impl Into<Bytes>,
    ) -> Result<Attachment> {
        let once = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(bytes.into())]);
        self.upload(p, filename, content_type, ticket_id, once)
            .await
    }

    /// [`Helpdesk::attachment_content`] collected in memory: the metadata and the bytes.
    pub async fn attachment_bytes(&self, p: &Principal, id: Uuid) -> Result<(Attachment, Bytes)> {
        let (a, chunks) = self.attachment_content(p, id).await?;
        let mut chunks = std::pin::pin!(chunks);
        let mut out = Vec::with_capacity(a.size as usize);
        while let Some(chunk) = chunks.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok((a, Bytes::from(out)))
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
