//! Views: [`ViewStore`] and their import. Inserts take a transaction-level advisory
//! lock, so that the views they count for a limit cannot change until they commit. A
//! group view names its group with a foreign key, which a group delete waits for
//! (`crate::groups`).

use async_trait::async_trait;
use helpdesk_core::StoreError;
use helpdesk_core::ownership::{ScopeUser, Scoped};
use helpdesk_core::store::{StoreResult, ViewStore};
use helpdesk_core::view::View;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::PostgresStore;
use crate::error::SqlxResultExt;
use crate::rows::{ViewRow, fetch_all_as, fetch_optional_as};
use crate::scoped::ScopedTable;

/// Inserts a view row (a new view, or an imported one).
pub(crate) async fn insert_view_row(conn: &mut PgConnection, v: &View) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO views (id, name, scope, group_id, owner_id, filter, sort, position, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(v.id)
    .bind(&v.name)
    .bind(v.scope.as_str())
    .bind(v.group_id)
    .bind(v.owner_id)
    .bind(v.filter.to_json())
    .bind(v.sort.as_str())
    .bind(v.position)
    .bind(v.created_at)
    .bind(v.updated_at)
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

#[async_trait]
impl ViewStore for PostgresStore {
    async fn insert_view(&self, v: &View, limit: usize) -> StoreResult<bool> {
        // A missing group is a foreign key violation: `NotFound`.
        self.insert_scoped(ScopedTable::Views, v.bucket(), limit, async |conn| {
            insert_view_row(conn, v).await
        })
        .await
    }

    async fn update_view(&self, v: &View) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE views SET name = $2, filter = $3, sort = $4, position = $5, \
             updated_at = $6 WHERE id = $1",
        )
        .bind(v.id)
        .bind(&v.name)
        .bind(v.filter.to_json())
        .bind(v.sort.as_str())
        .bind(v.position)
        .bind(v.updated_at)
        .execute(self.pool_ref())
        .await
        .store()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_view(&self, id: Uuid) -> StoreResult<bool> {
        self.delete_by_id("views", id).await
    }

    async fn get_view(&self, id: Uuid) -> StoreResult<Option<View>> {
        let sql = format!("SELECT {} FROM views WHERE id = $1", ViewRow::COLS);
        fetch_optional_as::<ViewRow, _>(sqlx::query(&sql).bind(id), self.pool_ref()).await
    }

    async fn list_views(&self, user: &ScopeUser) -> StoreResult<Vec<View>> {
        let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT {} FROM views WHERE scope = 'global' \
             OR (scope = 'personal' AND owner_id = ",
            ViewRow::COLS
        ));
        sql.push_bind(user.user_id).push(")");
        if user.admin {
            sql.push(" OR scope = 'group'");
        } else {
            sql.push(" OR (scope = 'group' AND group_id = ANY(")
                .push_bind(user.groups.clone())
                .push("))");
        }
        sql.push(" ORDER BY position, id");
        fetch_all_as::<ViewRow, _>(sql.build(), self.pool_ref()).await
    }

    async fn all_views(&self) -> StoreResult<Vec<View>> {
        let sql: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT {} FROM views ORDER BY position, id",
            ViewRow::COLS
        ));
        let mut sql = sql;
        fetch_all_as::<ViewRow, _>(sql.build(), self.pool_ref()).await
    }
}
