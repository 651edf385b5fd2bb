//! Inserts under a limit: a scoped item's (canned replies and views, counted per
//! [`helpdesk_core::ownership::Bucket`]) and a configuration item's (macros, SLA
//! policies, calendars, rules, counted per table). The insert takes a transaction-level advisory lock of
//! its table first, so the items it counts cannot change until it commits.

use helpdesk_core::ownership::Bucket;
use helpdesk_core::store::StoreResult;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::PostgresStore;
use crate::error::SqlxResultExt;

/// A table of scoped items (`scope`, `owner_id` columns).
#[derive(Debug, Clone, Copy)]
pub(crate) enum ScopedTable {
    CannedReplies,
    Views,
}

impl ScopedTable {
    fn name(self) -> &'static str {
        match self {
            ScopedTable::CannedReplies => "canned_replies",
            ScopedTable::Views => "views",
        }
    }
}

/// How many items of `table` count against `bucket`.
async fn held(conn: &mut PgConnection, table: ScopedTable, bucket: Bucket) -> StoreResult<i64> {
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT count(*) FROM {} WHERE ", table.name()));
    match bucket {
        Bucket::Global => {
            q.push("scope = 'global'");
        }
        // `=` rather than `IS NOT DISTINCT FROM`, which no index serves.
        Bucket::Owner(Some(owner)) => {
            q.push("owner_id = ")
                .push_bind(owner)
                .push(" AND scope <> 'global'");
        }
        Bucket::Owner(None) => {
            q.push("owner_id IS NULL AND scope <> 'global'");
        }
    }
    q.build_query_scalar::<i64>()
        .fetch_one(&mut *conn)
        .await
        .store()
}

impl PostgresStore {
    /// Deletes the row of `table` with primary key `id`; whether there was one.
    pub(crate) async fn delete_by_id(&self, table: &'static str, id: Uuid) -> StoreResult<bool> {
        let done = sqlx::query(&format!("DELETE FROM {table} WHERE id = $1"))
            .bind(id)
            .execute(self.pool_ref())
            .await
            .store()?;
        Ok(done.rows_affected() > 0)
    }

    /// Inserts a row of `table` with `insert` unless the table holds `limit` rows
    /// already (then `false`, writing nothing).
    pub(crate) async fn insert_counted<F>(
        &self,
        table: &'static str,
        limit: usize,
        insert: F,
    ) -> StoreResult<bool>
    where
        F: for<'c> AsyncFnOnce(&'c mut PgConnection) -> StoreResult<()>,
    {
        let mut tx = self.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("helpdesk_{table}"))
            .execute(&mut *tx)
            .await
            .store()?;
        let held: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *tx)
            .await
            .store()?;
        if usize::try_from(held).unwrap_or(usize::MAX) >= limit {
            return Ok(false);
        }
        insert(&mut tx).await?;
        self.commit(tx, false).await?;
        Ok(true)
    }

    /// Inserts an item with `insert` unless `bucket` holds `limit` items of `table`
    /// already (then `false`, writing nothing).
    pub(crate) async fn insert_scoped<F>(
        &self,
        table: ScopedTable,
        bucket: Bucket,
        limit: usize,
        insert: F,
    ) -> StoreResult<bool>
    where
        F: for<'c> AsyncFnOnce(&'c mut PgConnection) -> StoreResult<()>,
    {
        let mut tx = self.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("helpdesk_{}", table.name()))
            .execute(&mut *tx)
            .await
            .store()?;
        if usize::try_from(held(&mut tx, table, bucket).await?).unwrap_or(usize::MAX) >= limit {
            return Ok(false);
        }
        insert(&mut tx).await?;
        self.commit(tx, false).await?;
        Ok(true)
    }
}
