//! API keys: [`ApiKeyStore`]. An insert locks its owner's row, so that the keys it
//! counts for the per-user limit cannot change until it commits.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::StoreError;
use helpdesk_core::apikey::ApiKey;
use helpdesk_core::store::{ApiKeyStore, StoreResult};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::PostgresStore;
use crate::error::SqlxResultExt;
use crate::rows::{ApiKeyRow, fetch_all_as, fetch_optional_as};

/// Inserts a key row (a new key, or an imported one).
pub(crate) async fn insert_api_key_row(conn: &mut PgConnection, k: &ApiKey) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO api_keys (id, user_id, name, prefix, token_hash, scopes, expires_at, \
         last_used_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(k.id)
    .bind(k.user_id)
    .bind(&k.name)
    .bind(&k.prefix)
    .bind(&k.token_hash)
    .bind(k.scopes.names())
    .bind(k.expires_at)
    .bind(k.last_used_at)
    .bind(k.created_at)
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

/// Deletes every key of a user (a demotion to customer, see `UserStore`).
pub(crate) async fn delete_user_keys(conn: &mut PgConnection, user_id: Uuid) -> StoreResult<()> {
    sqlx::query("DELETE FROM api_keys WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .store()?;
    Ok(())
}

#[async_trait]
impl ApiKeyStore for PostgresStore {
    async fn insert_api_key(&self, key: &ApiKey, limit: usize) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let owner: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM users WHERE id = $1 FOR UPDATE")
                .bind(key.user_id)
                .fetch_optional(&mut *tx)
                .await
                .store()?;
        if owner.is_none() {
            return Err(StoreError::NotFound);
        }
        let held: i64 = sqlx::query_scalar("SELECT count(*) FROM api_keys WHERE user_id = $1")
            .bind(key.user_id)
            .fetch_one(&mut *tx)
            .await
            .store()?;
        if usize::try_from(held).unwrap_or(usize::MAX) >= limit {
            return Ok(false);
        }
        insert_api_key_row(&mut tx, key).await?;
        self.commit(tx, false).await?;
        Ok(true)
    }

    async fn get_api_key(&self, id: Uuid) -> StoreResult<Option<ApiKey>> {
        let sql = format!("SELECT {} FROM api_keys WHERE id = $1", ApiKeyRow::COLS);
        fetch_optional_as::<ApiKeyRow, _>(sqlx::query(&sql).bind(id), self.pool_ref()).await
    }

    async fn get_api_key_by_hash(&self, token_hash: &str) -> StoreResult<Option<ApiKey>> {
        let sql = format!(
            "SELECT {} FROM api_keys WHERE token_hash = $1",
            ApiKeyRow::COLS
        );
        fetch_optional_as::<ApiKeyRow, _>(sqlx::query(&sql).bind(token_hash), self.pool_ref()).await
    }

    async fn list_api_keys(&self, user_id: Uuid) -> StoreResult<Vec<ApiKey>> {
        let sql = format!(
            "SELECT {} FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
            ApiKeyRow::COLS
        );
        fetch_all_as::<ApiKeyRow, _>(sqlx::query(&sql).bind(user_id), self.pool_ref()).await
    }

    async fn delete_api_key(&self, id: Uuid) -> StoreResult<bool> {
        self.delete_by_id("api_keys", id).await
    }

    async fn touch_api_key(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(self.pool_ref())
            .await
            .store()?;
        Ok(())
    }
}
