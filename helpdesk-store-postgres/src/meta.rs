//! Settings and health: [`MetaStore`].

use async_trait::async_trait;
use helpdesk_core::store::{MetaStore, StoreResult};

use crate::PostgresStore;
use crate::error::SqlxResultExt;

#[async_trait]
impl MetaStore for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(self.pool_ref())
            .await
            .store()?;
        Ok(())
    }

    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(self.pool_ref())
            .await
            .store()
    }

    async fn put_setting_if_absent(&self, key: &str, value: &str) -> StoreResult<String> {
        // The no-op update makes RETURNING yield the row that won, ours or the old one.
        sqlx::query_scalar(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = settings.value RETURNING value",
        )
        .bind(key)
        .bind(value)
        .fetch_one(self.pool_ref())
        .await
        .store()
    }
}

impl PostgresStore {
    /// A stamp of migration 0028 (`schema`, `kb`), moved by its triggers in the writing
    /// transaction.
    pub(crate) async fn stamp(&self, name: &str) -> StoreResult<u64> {
        let stamp: i64 = sqlx::query_scalar("SELECT stamp FROM stamps WHERE name = $1")
            .bind(name)
            .fetch_one(self.pool_ref())
            .await
            .store()?;
        Ok(crate::rows::u(stamp))
    }
}
