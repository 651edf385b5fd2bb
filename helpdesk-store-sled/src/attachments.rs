//! [`AttachmentStore`]: attachment metadata with a parent index (`T|ticket|...`,
//! `M|conversation|message|...`, `U|...` for unattached), and blob bytes in chunks
//! keyed `blob|index` so a reader holds one chunk at a time.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use helpdesk_core::Conflict;
use helpdesk_core::StoreError;
use helpdesk_core::attachment::{Attachment, AttachmentParent};
use helpdesk_core::event::Effects;
use helpdesk_core::store::{AttachmentStore, StoreResult};

use crate::effects::write_effects;
use crate::keys::{Key, trailing_id, tree};
use crate::{SledStore, Tx, TxResult, abort, sled_error};

fn parent_prefix(parent: Option<AttachmentParent>) -> Key {
    match parent {
        Some(AttachmentParent::Ticket { ticket_id }) => Key::new().tag(b'T').id(ticket_id),
        Some(AttachmentParent::Message {
            conversation_id,
            message_id,
        }) => Key::new().tag(b'M').id(conversation_id).id(message_id),
        None => Key::new().tag(b'U'),
    }
}

fn index_key(a: &Attachment) -> Key {
    parent_prefix(a.parent).micros(a.created_at).id(a.id)
}

pub(crate) fn chunk_key(blob: Uuid, index: u32) -> Key {
    Key::new().id(blob).u32(index)
}

pub(crate) fn put_attachment(
    tx: &Tx<'_>,
    a: &Attachment,
    old: Option<&Attachment>,
) -> TxResult<()> {
    if let Some(old) = old {
        tx.del(tree::ATT_IDX, index_key(old))?;
    }
    tx.put_json(tree::ATTACHMENTS, a.id.as_bytes(), a)?;
    tx.put(tree::ATT_IDX, index_key(a), &[][..])
}

/// Fails with `Conflict::Attachment` unless every attachment exists unattached.
pub(crate) fn check_attachable(tx: &Tx<'_>, ids: &[Uuid]) -> TxResult<()> {
    for id in ids {
        match tx.get_json::<Attachment>(tree::ATTACHMENTS, id.as_bytes())? {
            Some(a) if a.parent.is_none() => {}
            _ => return abort(StoreError::Conflict(Conflict::Attachment)),
        }
    }
    Ok(())
}

/// Attaches the attachments to `parent`.
pub(crate) fn attach(tx: &Tx<'_>, ids: &[Uuid], parent: AttachmentParent) -> TxResult<()> {
    for id in ids {
        if let Some(old) = tx.get_json::<Attachment>(tree::ATTACHMENTS, id.as_bytes())? {
            let mut a = old.clone();
            a.parent = Some(parent);
            put_attachment(tx, &a, Some(&old))?;
        }
    }
    Ok(())
}

/// Removes an attachment's metadata and the blob chunks at `blob_keys`.
pub(crate) fn remove_attachment(tx: &Tx<'_>, id: Uuid, blob_keys: &[sled::IVec]) -> TxResult<()> {
    if let Some(a) = tx.get_json::<Attachment>(tree::ATTACHMENTS, id.as_bytes())? {
        tx.del(tree::ATT_IDX, index_key(&a))?;
        tx.del(tree::ATTACHMENTS, id.as_bytes())?;
    }
    for k in blob_keys {
        tx.del(tree::BLOBS, k)?;
    }
    Ok(())
}

impl SledStore {
    fn attachments_at(&self, prefix: &Key) -> StoreResult<Vec<Attachment>> {
        self.records_by_index(
            self.scan(tree::ATT_IDX, prefix.bytes(), None, false),
            tree::ATTACHMENTS,
            usize::MAX,
            |k, _| trailing_id(k),
            |k, a: &Attachment| index_key(a).bytes() == k,
        )
    }
}

#[async_trait]
impl AttachmentStore for SledStore {
    async fn put_blob_chunk(&self, blob_id: Uuid, index: u32, data: &[u8]) -> StoreResult<()> {
        // Chunks are written outside transactions (sled buffers a transaction in memory);
        // the metadata that makes them reachable is committed after them.
        self.tree(tree::BLOBS)
            .insert(chunk_key(blob_id, index), data)
            .map_err(sled_error)?;
        self.flush().await
    }

    async fn get_blob_chunk(&self, blob_id: Uuid, index: u32) -> StoreResult<Option<Vec<u8>>> {
        Ok(self
            .tree(tree::BLOBS)
            .get(chunk_key(blob_id, index))
            .map_err(sled_error)?
            .map(|v| v.to_vec()))
    }

    async fn delete_blob(&self, blob_id: Uuid) -> StoreResult<()> {
        let keys = self.keys_with_prefix(tree::BLOBS, blob_id.as_bytes())?;
        if keys.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for k in keys {
            batch.remove(k);
        }
        self.tree(tree::BLOBS)
            .apply_batch(batch)
            .map_err(sled_error)?;
        self.flush().await
    }

    async fn insert_attachment(&self, attachment: &Attachment, fx: &Effects) -> StoreResult<()> {
        self.write(|tx| {
            let old: Option<Attachment> =
                tx.get_json(tree::ATTACHMENTS, attachment.id.as_bytes())?;
            put_attachment(tx, attachment, old.as_ref())?;
            write_effects(tx, fx)
        })
        .await
    }

    async fn get_attachment(&self, id: Uuid) -> StoreResult<Option<Attachment>> {
        self.get_json(tree::ATTACHMENTS, id.as_bytes())
    }

    async fn list_attachments(&self, parent: AttachmentParent) -> StoreResult<Vec<Attachment>> {
        let mut v = self.attachments_at(&parent_prefix(Some(parent)))?;
        // The index orders by microseconds; the contract by the exact time.
        v.sort_by_key(|a| (a.created_at, a.id));
        Ok(v)
    }

    async fn unattached_before(&self, before: DateTime<Utc>) -> StoreResult<Vec<Attachment>> {
        let prefix = parent_prefix(None);
        let end = prefix
            .clone()
            .i64(before.timestamp_micros().saturating_add(1));
        self.records_by_index(
            self.tree(tree::ATT_IDX)
                .range(prefix.0.clone()..end.0)
                .map(|r| r.map_err(sled_error)),
            tree::ATTACHMENTS,
            usize::MAX,
            |k, _| trailing_id(k),
            |_, a: &Attachment| a.parent.is_none() && a.created_at < before,
        )
    }

    async fn delete_attachment(&self, id: Uuid) -> StoreResult<()> {
        let blob_keys = self.keys_with_prefix(tree::BLOBS, id.as_bytes())?;
        self.write(|tx| remove_attachment(tx, id, &blob_keys))
            .await?;
        // Chunks written after the read above belong to nothing now.
        self.sweep_prefix(tree::BLOBS, id.as_bytes())?;
        Ok(())
    }
}
