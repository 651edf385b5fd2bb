//! Notifications: [`NotificationStore`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::notification::Notification;
use helpdesk_core::page::Cursor;
use helpdesk_core::store::{NotificationStore, StoreResult};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::PostgresStore;
use crate::error::SqlxResultExt;
use crate::rows::{NotificationRow, fetch_all_as, fetch_optional_as, i, micros, u};

#[async_trait]
impl NotificationStore for PostgresStore {
    async fn list_notifications(
        &self,
        user_id: Uuid,
        unread_only: bool,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<Notification>> {
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT {} FROM notifications WHERE user_id = ",
            NotificationRow::COLS
        ));
        q.push_bind(user_id);
        if unread_only {
            q.push(" AND read_at IS NULL");
        }
        if let Some(c) = cursor {
            q.push(" AND (created_at, id) < (")
                .push_bind(micros(c.key))
                .push(", ")
                .push_bind(c.id)
                .push(")");
        }
        q.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(i(limit as u64 + 1));
        fetch_all_as::<NotificationRow, _>(q.build(), self.pool_ref()).await
    }

    async fn unread_notifications(&self, user_id: Uuid) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(self.pool_ref())
        .await
        .store()?;
        Ok(u(n))
    }

    async fn mark_notification_read(
        &self,
        user_id: Uuid,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Notification>> {
        let sql = format!(
            "UPDATE notifications SET read_at = coalesce(read_at, $3) \
             WHERE id = $1 AND user_id = $2 RETURNING {}",
            NotificationRow::COLS
        );
        let query = sqlx::query(&sql).bind(id).bind(user_id).bind(at);
        fetch_optional_as::<NotificationRow, _>(query, self.pool_ref()).await
    }

    async fn mark_all_notifications_read(
        &self,
        user_id: Uuid,
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL",
        )
        .bind(user_id)
        .bind(at)
        .execute(self.pool_ref())
        .await
        .store()?;
        Ok(done.rows_affected())
    }

    async fn prune_read_notifications(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut gone = 0;
        loop {
            let done = sqlx::query(
                "DELETE FROM notifications WHERE id IN ( \
                     SELECT id FROM notifications WHERE read_at < $1 LIMIT $2)",
            )
            .bind(before)
            .bind(i(crate::events::PRUNE_BATCH))
            .execute(self.pool_ref())
            .await
            .store()?;
            gone += done.rows_affected();
            if done.rows_affected() < crate::events::PRUNE_BATCH {
                return Ok(gone);
            }
        }
    }
}
