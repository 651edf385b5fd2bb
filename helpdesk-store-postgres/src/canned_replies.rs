//! Canned replies: [`CannedReplyStore`] and their import. Shortcuts are unique by the
//! index `canned_replies_shortcut` (`Conflict::Shortcut`, in `crate::error`), which is
//! also the list order. Inserts take a transaction-level advisory lock, so that the
//! replies they count for a limit cannot change until they commit. A group reply names
//! its group with a foreign key, which a group delete waits for (`crate::groups`).

use async_trait::async_trait;
use helpdesk_core::StoreError;
use helpdesk_core::canned_reply::{CannedReply, CannedReplyQuery};
use helpdesk_core::ownership::Scoped;
use helpdesk_core::store::{CannedReplyStore, StoreResult};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::PostgresStore;
use crate::error::SqlxResultExt;
use crate::rows::{CannedReplyRow, fetch_all_as, fetch_optional_as, i};
use crate::scoped::ScopedTable;

/// Inserts a canned reply row (a new reply, or an imported one).
pub(crate) async fn insert_canned_reply_row(
    conn: &mut PgConnection,
    r: &CannedReply,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO canned_replies (id, title, shortcut, body, scope, group_id, owner_id, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(r.id)
    .bind(&r.title)
    .bind(&r.shortcut)
    .bind(&r.body)
    .bind(r.scope.as_str())
    .bind(r.group_id)
    .bind(r.owner_id)
    .bind(r.created_at)
    .bind(r.updated_at)
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

#[async_trait]
impl CannedReplyStore for PostgresStore {
    async fn insert_canned_reply(&self, r: &CannedReply, limit: usize) -> StoreResult<bool> {
        // A missing group is a foreign key violation: `NotFound`.
        self.insert_scoped(
            ScopedTable::CannedReplies,
            r.bucket(),
            limit,
            async |conn| insert_canned_reply_row(conn, r).await,
        )
        .await
    }

    async fn update_canned_reply(&self, r: &CannedReply) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE canned_replies SET title = $2, shortcut = $3, body = $4, updated_at = $5 \
             WHERE id = $1",
        )
        .bind(r.id)
        .bind(&r.title)
        .bind(&r.shortcut)
        .bind(&r.body)
        .bind(r.updated_at)
        .execute(self.pool_ref())
        .await
        .store()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_canned_reply(&self, id: Uuid) -> StoreResult<bool> {
        self.delete_by_id("canned_replies", id).await
    }

    async fn get_canned_reply(&self, id: Uuid) -> StoreResult<Option<CannedReply>> {
        let sql = format!(
            "SELECT {} FROM canned_replies WHERE id = $1",
            CannedReplyRow::COLS
        );
        fetch_optional_as::<CannedReplyRow, _>(sqlx::query(&sql).bind(id), self.pool_ref()).await
    }

    async fn list_canned_replies(&self, q: &CannedReplyQuery) -> StoreResult<Vec<CannedReply>> {
        let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT {} FROM canned_replies WHERE (scope = 'global' \
             OR (scope = 'personal' AND owner_id = ",
            CannedReplyRow::COLS
        ));
        sql.push_bind(q.user.user_id).push(")");
        if q.user.admin {
            sql.push(" OR scope = 'group'");
        } else {
            sql.push(" OR (scope = 'group' AND group_id = ANY(")
                .push_bind(q.user.groups.clone())
                .push("))");
        }
        sql.push(")");
        if let Some(scope) = q.scope {
            sql.push(" AND scope = ").push_bind(scope.as_str());
        }
        if let Some(prefix) = &q.shortcut_prefix {
            sql.push(" AND left(shortcut, char_length(")
                .push_bind(prefix.clone())
                .push(")) = ")
                .push_bind(prefix.clone());
        }
        if let Some(c) = &q.cursor {
            sql.push(" AND (shortcut COLLATE \"C\" > ")
                .push_bind(c.key.clone())
                .push(" OR (shortcut = ")
                .push_bind(c.key.clone())
                .push(" AND id > ")
                .push_bind(c.id)
                .push("))");
        }
        sql.push(" ORDER BY shortcut COLLATE \"C\", id LIMIT ")
            .push_bind(i(q.limit as u64 + 1));
        fetch_all_as::<CannedReplyRow, _>(sql.build(), self.pool_ref()).await
    }
}
