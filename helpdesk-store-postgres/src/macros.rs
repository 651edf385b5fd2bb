//! Macros: [`MacroStore`] and their import. Inserts count under the table's lock
//! (`PostgresStore::insert_counted`).

use async_trait::async_trait;
use helpdesk_core::StoreError;
use helpdesk_core::macros::Macro;
use helpdesk_core::store::{MacroStore, StoreResult};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::PostgresStore;
use crate::error::SqlxResultExt;
use crate::rows::{MacroRow, fetch_all_as, fetch_optional_as};

fn actions_json(m: &Macro) -> StoreResult<serde_json::Value> {
    serde_json::to_value(&m.actions).map_err(|e| StoreError::Corrupt(format!("macro actions: {e}")))
}

/// Inserts a macro row (a new macro, or an imported one).
pub(crate) async fn insert_macro_row(conn: &mut PgConnection, m: &Macro) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO macros (id, name, actions, position, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(m.id)
    .bind(&m.name)
    .bind(actions_json(m)?)
    .bind(m.position)
    .bind(m.created_at)
    .bind(m.updated_at)
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

#[async_trait]
impl MacroStore for PostgresStore {
    async fn insert_macro(&self, m: &Macro, limit: usize) -> StoreResult<bool> {
        self.insert_counted("macros", limit, async |conn| {
            insert_macro_row(conn, m).await
        })
        .await
    }

    async fn update_macro(&self, m: &Macro) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE macros SET name = $2, actions = $3, position = $4, updated_at = $5 \
             WHERE id = $1",
        )
        .bind(m.id)
        .bind(&m.name)
        .bind(actions_json(m)?)
        .bind(m.position)
        .bind(m.updated_at)
        .execute(self.pool_ref())
        .await
        .store()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_macro(&self, id: Uuid) -> StoreResult<bool> {
        self.delete_by_id("macros", id).await
    }

    async fn get_macro(&self, id: Uuid) -> StoreResult<Option<Macro>> {
        let sql = format!("SELECT {} FROM macros WHERE id = $1", MacroRow::COLS);
        fetch_optional_as::<MacroRow, _>(sqlx::query(&sql).bind(id), self.pool_ref()).await
    }

    async fn list_macros(&self) -> StoreResult<Vec<Macro>> {
        let sql = format!(
            "SELECT {} FROM macros ORDER BY position, id",
            MacroRow::COLS
        );
        fetch_all_as::<MacroRow, _>(sqlx::query(&sql), self.pool_ref()).await
    }
}
