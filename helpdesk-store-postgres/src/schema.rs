//! [`SchemaStore`]: statuses and custom fields, and their import. An insert (or a
//! field's activation) takes a transaction-level advisory lock, so what it counts for a
//! limit cannot change until it commits; a delete checks in its own statement that no
//! ticket has the status, or a value of the field.

use async_trait::async_trait;
use helpdesk_core::custom_field::CustomField;
use helpdesk_core::status::Status;
use helpdesk_core::store::{SchemaStore, StoreResult};
use helpdesk_core::{Conflict, StoreError};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::PostgresStore;
use crate::error::SqlxResultExt;
use crate::rows::{FieldRow, StatusRow, fetch_all_as};

/// Writes an imported status: a default one replaces the store's own (same id, key and
/// category), any other is new.
pub(crate) async fn import_status(conn: &mut PgConnection, s: &Status) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO ticket_statuses (id, key, category, agent_label, customer_label, \
         position, active, is_default, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (id) DO UPDATE SET agent_label = $4, customer_label = $5, \
         position = $6, active = $7, created_at = $9, updated_at = $10",
    )
    .bind(s.id)
    .bind(s.key.as_str())
    .bind(s.category.as_str())
    .bind(&s.agent_label)
    .bind(&s.customer_label)
    .bind(s.position)
    .bind(s.active)
    .bind(s.is_default)
    .bind(s.created_at)
    .bind(s.updated_at)
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

/// Writes a custom field row (a new field, or an imported one).
pub(crate) async fn insert_field_row(conn: &mut PgConnection, f: &CustomField) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO ticket_fields (id, key, type, label, options, customer_visible, \
         customer_editable, required_on_create, required_on_resolve, position, active, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(f.id)
    .bind(&f.key)
    .bind(f.field_type.as_str())
    .bind(&f.label)
    .bind(&f.options)
    .bind(f.customer_visible)
    .bind(f.customer_editable)
    .bind(f.required_on_create)
    .bind(f.required_on_resolve)
    .bind(f.position)
    .bind(f.active)
    .bind(f.created_at)
    .bind(f.updated_at)
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

/// Takes the lock under which active fields are counted, until the transaction ends;
/// returns how many are active.
async fn lock_active_fields(conn: &mut PgConnection) -> StoreResult<usize> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('helpdesk_ticket_fields'))")
        .execute(&mut *conn)
        .await
        .store()?;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM ticket_fields WHERE active")
        .fetch_one(&mut *conn)
        .await
        .store()?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

#[async_trait]
impl SchemaStore for PostgresStore {
    async fn schema_stamp(&self) -> StoreResult<u64> {
        self.stamp("schema").await
    }

    async fn list_statuses(&self) -> StoreResult<Vec<Status>> {
        let sql = format!(
            "SELECT {} FROM ticket_statuses ORDER BY array_position(\
             ARRAY['open', 'pending', 'on_hold', 'resolved', 'closed'], category), \
             position, key COLLATE \"C\"",
            StatusRow::COLS
        );
        fetch_all_as::<StatusRow, _>(sqlx::query(&sql), self.pool_ref()).await
    }

    async fn insert_status(&self, s: &Status, limit: usize) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('helpdesk_ticket_statuses'))")
            .execute(&mut *tx)
            .await
            .store()?;
        let held: i64 =
            sqlx::query_scalar("SELECT count(*) FROM ticket_statuses WHERE category = $1")
                .bind(s.category.as_str())
                .fetch_one(&mut *tx)
                .await
                .store()?;
        if usize::try_from(held).unwrap_or(usize::MAX) >= limit {
            return Ok(false);
        }
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM ticket_statuses WHERE id = $1)")
                .bind(s.id)
                .fetch_one(&mut *tx)
                .await
                .store()?;
        if exists {
            return Err(StoreError::Conflict(Conflict::Unique));
        }
        import_status(&mut tx, s).await?;
        self.commit(tx, false).await?;
        Ok(true)
    }

    async fn update_status(&self, s: &Status) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE ticket_statuses SET agent_label = $2, customer_label = $3, position = $4, \
             active = $5, updated_at = $6 WHERE id = $1",
        )
        .bind(s.id)
        .bind(&s.agent_label)
        .bind(&s.customer_label)
        .bind(s.position)
        .bind(s.active)
        .bind(s.updated_at)
        .execute(self.pool_ref())
        .await
        .store()?;
        match done.rows_affected() {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    async fn delete_status(&self, id: Uuid) -> StoreResult<()> {
        // One statement: the status as it was, and whether it went.
        let row: Option<(bool, bool, bool)> = sqlx::query_as(
            "WITH s AS (SELECT id, key, is_default FROM ticket_statuses WHERE id = $1), \
             used AS (SELECT EXISTS (SELECT 1 FROM tickets t, s WHERE t.status = s.key) AS u), \
             gone AS (DELETE FROM ticket_statuses d USING s, used \
                      WHERE d.id = s.id AND NOT s.is_default AND NOT used.u RETURNING d.id) \
             SELECT s.is_default, used.u, EXISTS (SELECT 1 FROM gone) FROM s, used",
        )
        .bind(id)
        .fetch_optional(self.pool_ref())
        .await
        .store()?;
        match row {
            None => Err(StoreError::NotFound),
            Some((true, _, _)) => Err(StoreError::Conflict(Conflict::Default)),
            Some((_, true, _)) => Err(StoreError::Conflict(Conflict::InUse)),
            Some(_) => Ok(()),
        }
    }

    async fn list_fields(&self) -> StoreResult<Vec<CustomField>> {
        let sql = format!(
            "SELECT {} FROM ticket_fields ORDER BY position, key COLLATE \"C\"",
            FieldRow::COLS
        );
        fetch_all_as::<FieldRow, _>(sqlx::query(&sql), self.pool_ref()).await
    }

    async fn insert_field(&self, f: &CustomField, limit: usize) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        if f.active && lock_active_fields(&mut tx).await? >= limit {
            return Ok(false);
        }
        insert_field_row(&mut tx, f).await?;
        self.commit(tx, false).await?;
        Ok(true)
    }

    async fn update_field(&self, f: &CustomField, limit: usize) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let active = lock_active_fields(&mut tx).await?;
        let was: Option<bool> =
            sqlx::query_scalar("SELECT active FROM ticket_fields WHERE id = $1 FOR UPDATE")
                .bind(f.id)
                .fetch_optional(&mut *tx)
                .await
                .store()?;
        let Some(was) = was else {
            return Err(StoreError::NotFound);
        };
        if f.active && !was && active >= limit {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE ticket_fields SET label = $2, options = $3, customer_visible = $4, \
             customer_editable = $5, required_on_create = $6, required_on_resolve = $7, \
             position = $8, active = $9, updated_at = $10 WHERE id = $1",
        )
        .bind(f.id)
        .bind(&f.label)
        .bind(&f.options)
        .bind(f.customer_visible)
        .bind(f.customer_editable)
        .bind(f.required_on_create)
        .bind(f.required_on_resolve)
        .bind(f.position)
        .bind(f.active)
        .bind(f.updated_at)
        .execute(&mut *tx)
        .await
        .store()?;
        self.commit(tx, false).await?;
        Ok(true)
    }

    async fn delete_field(&self, id: Uuid) -> StoreResult<()> {
        let row: Option<(bool, bool)> = sqlx::query_as(
            "WITH f AS (SELECT id, key FROM ticket_fields WHERE id = $1), \
             used AS (SELECT EXISTS (SELECT 1 FROM tickets t, f WHERE t.fields ? f.key) AS u), \
             gone AS (DELETE FROM ticket_fields d USING f, used \
                      WHERE d.id = f.id AND NOT used.u RETURNING d.id) \
             SELECT used.u, EXISTS (SELECT 1 FROM gone) FROM f, used",
        )
        .bind(id)
        .fetch_optional(self.pool_ref())
        .await
        .store()?;
        match row {
            None => Err(StoreError::NotFound),
            Some((true, _)) => Err(StoreError::Conflict(Conflict::InUse)),
            Some(_) => Ok(()),
        }
    }
}
