//! Attachment metadata and blob chunks: [`AttachmentStore`]. Blob bytes live in
//! `blob_chunks(blob_id, idx, data)`, one row per chunk, so no operation holds a whole
//! file in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::Conflict;
use helpdesk_core::StoreError;
use helpdesk_core::attachment::{Attachment, AttachmentParent};
use helpdesk_core::event::Effects;
use helpdesk_core::store::{AttachmentStore, StoreResult};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::PostgresStore;
use crate::effects::write_effects;
use crate::error::SqlxResultExt;
use crate::rows::{AttachmentRow, fetch_all_as, fetch_optional_as, i};

struct ParentCols {
    kind: Option<&'static str>,
    ticket_id: Option<Uuid>,
    conversation_id: Option<Uuid>,
    message_id: Option<Uuid>,
}

fn parent_cols(parent: Option<AttachmentParent>) -> ParentCols {
    match parent {
        None => ParentCols {
            kind: None,
            ticket_id: None,
            conversation_id: None,
            message_id: None,
        },
        Some(AttachmentParent::Ticket { ticket_id }) => ParentCols {
            kind: Some("ticket"),
            ticket_id: Some(ticket_id),
            conversation_id: None,
            message_id: None,
        },
        Some(AttachmentParent::Message {
            conversation_id,
            message_id,
        }) => ParentCols {
            kind: Some("message"),
            ticket_id: None,
            conversation_id: Some(conversation_id),
            message_id: Some(message_id),
        },
    }
}

/// Attaches unattached attachments to `parent`; any missing or already attached:
/// `Conflict::Attachment` (the transaction then rolls back).
pub(crate) async fn attach(
    conn: &mut PgConnection,
    ids: &[Uuid],
    parent: AttachmentParent,
) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut distinct = ids.to_vec();
    distinct.sort();
    distinct.dedup();
    if distinct.len() != ids.len() {
        return Err(StoreError::Conflict(Conflict::Attachment));
    }
    let p = parent_cols(Some(parent));
    let done = sqlx::query(
        "UPDATE attachments SET parent_kind = $2, ticket_id = $3, conversation_id = $4, \
         message_id = $5 WHERE id = ANY($1) AND parent_kind IS NULL",
    )
    .bind(&distinct)
    .bind(p.kind)
    .bind(p.ticket_id)
    .bind(p.conversation_id)
    .bind(p.message_id)
    .execute(&mut *conn)
    .await
    .store()?;
    if done.rows_affected() != distinct.len() as u64 {
        return Err(StoreError::Conflict(Conflict::Attachment));
    }
    Ok(())
}

/// Deletes the attachments (metadata and chunks) of a ticket and of its conversation's
/// messages.
pub(crate) async fn delete_blobs_of(
    conn: &mut PgConnection,
    ticket_id: Uuid,
    conversation_id: Uuid,
) -> StoreResult<()> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "DELETE FROM attachments WHERE ticket_id = $1 OR conversation_id = $2 RETURNING id",
    )
    .bind(ticket_id)
    .bind(conversation_id)
    .fetch_all(&mut *conn)
    .await
    .store()?;
    if !ids.is_empty() {
        sqlx::query("DELETE FROM blob_chunks WHERE blob_id = ANY($1)")
            .bind(&ids)
            .execute(&mut *conn)
            .await
            .store()?;
    }
    Ok(())
}

/// Inserts attachment metadata.
pub(crate) async fn insert_attachment_row(
    conn: &mut PgConnection,
    a: &Attachment,
) -> StoreResult<()> {
    let p = parent_cols(a.parent);
    sqlx::query(
        "INSERT INTO attachments (id, filename, content_type, size, sha256, uploaded_by, \
         created_at, parent_kind, ticket_id, conversation_id, message_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(a.id)
    .bind(&a.filename)
    .bind(&a.content_type)
    .bind(i(a.size))
    .bind(&a.sha256)
    .bind(a.uploaded_by)
    .bind(a.created_at)
    .bind(p.kind)
    .bind(p.ticket_id)
    .bind(p.conversation_id)
    .bind(p.message_id)
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

/// Writes one blob chunk (overwriting).
pub(crate) async fn put_chunk(
    conn: &mut PgConnection,
    blob_id: Uuid,
    index: u32,
    data: &[u8],
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO blob_chunks (blob_id, idx, data) VALUES ($1, $2, $3) \
         ON CONFLICT (blob_id, idx) DO UPDATE SET data = EXCLUDED.data",
    )
    .bind(blob_id)
    .bind(i32::try_from(index).map_err(StoreError::other)?)
    .bind(data)
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

#[async_trait]
impl AttachmentStore for PostgresStore {
    async fn put_blob_chunk(&self, blob_id: Uuid, index: u32, data: &[u8]) -> StoreResult<()> {
        let mut conn = self.pool_ref().acquire().await.store()?;
        put_chunk(&mut conn, blob_id, index, data).await
    }

    async fn get_blob_chunk(&self, blob_id: Uuid, index: u32) -> StoreResult<Option<Vec<u8>>> {
        let Ok(index) = i32::try_from(index) else {
            return Ok(None);
        };
        sqlx::query_scalar("SELECT data FROM blob_chunks WHERE blob_id = $1 AND idx = $2")
            .bind(blob_id)
            .bind(index)
            .fetch_optional(self.pool_ref())
            .await
            .store()
    }

    async fn delete_blob(&self, blob_id: Uuid) -> StoreResult<()> {
        sqlx::query("DELETE FROM blob_chunks WHERE blob_id = $1")
            .bind(blob_id)
            .execute(self.pool_ref())
            .await
            .store()?;
        Ok(())
    }

    async fn insert_attachment(&self, a: &Attachment, fx: &Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        insert_attachment_row(&mut tx, a).await?;
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await
    }

    async fn get_attachment(&self, id: Uuid) -> StoreResult<Option<Attachment>> {
        let sql = format!(
            "SELECT {} FROM attachments WHERE id = $1",
            AttachmentRow::COLS
        );
        fetch_optional_as::<AttachmentRow, _>(sqlx::query(&sql).bind(id), self.pool_ref()).await
    }

    async fn list_attachments(&self, parent: AttachmentParent) -> StoreResult<Vec<Attachment>> {
        match parent {
            AttachmentParent::Ticket { ticket_id } => {
                let sql = format!(
                    "SELECT {} FROM attachments WHERE ticket_id = $1 AND parent_kind = 'ticket' \
                     ORDER BY created_at, id",
                    AttachmentRow::COLS
                );
                let query = sqlx::query(&sql).bind(ticket_id);
                fetch_all_as::<AttachmentRow, _>(query, self.pool_ref()).await
            }
            AttachmentParent::Message {
                conversation_id,
                message_id,
            } => {
                let sql = format!(
                    "SELECT {} FROM attachments WHERE message_id = $1 AND conversation_id = $2 \
                     AND parent_kind = 'message' ORDER BY created_at, id",
                    AttachmentRow::COLS
                );
                let query = sqlx::query(&sql).bind(message_id).bind(conversation_id);
                fetch_all_as::<AttachmentRow, _>(query, self.pool_ref()).await
            }
        }
    }

    async fn unattached_before(&self, before: DateTime<Utc>) -> StoreResult<Vec<Attachment>> {
        let sql = format!(
            "SELECT {} FROM attachments WHERE parent_kind IS NULL AND created_at < $1 \
             ORDER BY created_at, id",
            AttachmentRow::COLS
        );
        fetch_all_as::<AttachmentRow, _>(sqlx::query(&sql).bind(before), self.pool_ref()).await
    }

    async fn delete_attachment(&self, id: Uuid) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM attachments WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .store()?;
        sqlx::query("DELETE FROM blob_chunks WHERE blob_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .store()?;
        self.commit(tx, false).await
    }
}
