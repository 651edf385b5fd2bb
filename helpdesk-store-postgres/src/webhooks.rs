//! Webhook endpoints and deliveries: [`WebhookStore`]. Workers claim due deliveries with
//! `FOR UPDATE SKIP LOCKED`, so concurrent claimers never get the same one.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::StoreError;
use helpdesk_core::page::Cursor;
use helpdesk_core::store::{StoreResult, WebhookStore};
use helpdesk_core::webhook::{ClaimedDelivery, Delivery, Webhook};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use sqlx::PgConnection;

use crate::PostgresStore;
use crate::error::SqlxResultExt;
use crate::rows::{
    ClaimedRow, DeliveryRow, EventRow, PgQuery, WebhookRow, delivery_status_str, fetch_all_as,
    fetch_optional_as, i, micros, prefixed, with_alias,
};

/// Binds an endpoint's columns as `$1..$10` (id, url, events, description, active,
/// secret, previous_secret, previous_secret_until, created_at, updated_at), for the
/// INSERT and the UPDATE alike.
fn bind_webhook<'q>(sql: &'q str, w: &'q Webhook) -> PgQuery<'q> {
    sqlx::query(sql)
        .bind(w.id)
        .bind(&w.url)
        .bind(&w.events)
        .bind(&w.description)
        .bind(w.active)
        .bind(&w.secret)
        .bind(w.previous_secret.as_ref().map(|p| p.0.clone()))
        .bind(w.previous_secret.as_ref().map(|p| p.1))
        .bind(w.created_at)
        .bind(w.updated_at)
}

/// Inserts an endpoint row.
pub(crate) async fn insert_webhook_row(conn: &mut PgConnection, w: &Webhook) -> StoreResult<()> {
    bind_webhook(
        "INSERT INTO webhooks (id, url, events, description, active, secret, \
         previous_secret, previous_secret_until, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        w,
    )
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn insert_webhook(&self, w: &Webhook) -> StoreResult<()> {
        let mut conn = self.pool_ref().acquire().await.store()?;
        insert_webhook_row(&mut conn, w).await
    }

    async fn update_webhook(&self, w: &Webhook) -> StoreResult<()> {
        let done = bind_webhook(
            "UPDATE webhooks SET url = $2, events = $3, description = $4, active = $5, \
             secret = $6, previous_secret = $7, previous_secret_until = $8, created_at = $9, \
             updated_at = $10 WHERE id = $1",
            w,
        )
        .execute(self.pool_ref())
        .await
        .store()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_webhook(&self, id: Uuid) -> StoreResult<()> {
        // Its deliveries go with it (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id)
            .execute(self.pool_ref())
            .await
            .store()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn get_webhook(&self, id: Uuid) -> StoreResult<Option<Webhook>> {
        let sql = format!("SELECT {} FROM webhooks WHERE id = $1", WebhookRow::COLS);
        fetch_optional_as::<WebhookRow, _>(sqlx::query(&sql).bind(id), self.pool_ref()).await
    }

    async fn list_webhooks(&self) -> StoreResult<Vec<Webhook>> {
        let sql = format!(
            "SELECT {} FROM webhooks ORDER BY created_at, id",
            WebhookRow::COLS
        );
        fetch_all_as::<WebhookRow, _>(sqlx::query(&sql), self.pool_ref()).await
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        // One statement (its own transaction): lock the due deliveries, move their next
        // attempt to the lease's end, and return them as they were with their events
        // and endpoints. The worker calls this after every NOTIFY, mostly to find
        // nothing, so it must cost one round trip.
        let sql = format!(
            "WITH due AS ( \
                 SELECT {d} FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                 WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= $1 \
                   AND w.active \
                 ORDER BY d.next_attempt_at, d.event_id, d.id LIMIT $2 \
                 FOR UPDATE OF d SKIP LOCKED), \
             leased AS ( \
                 UPDATE deliveries SET next_attempt_at = $3 WHERE id IN (SELECT id FROM due)) \
             SELECT due.*, {e}, {w} FROM due \
             JOIN webhooks w ON w.id = due.webhook_id JOIN events e ON e.id = due.event_id \
             ORDER BY due.next_attempt_at, due.event_id, due.id",
            d = prefixed(DeliveryRow::COLS, "d"),
            e = with_alias(EventRow::COLS, "e"),
            w = with_alias(WebhookRow::COLS, "w"),
        );
        let query = sqlx::query(&sql)
            .bind(now)
            .bind(i(limit as u64))
            .bind(lease_until);
        fetch_all_as::<ClaimedRow, _>(query, self.pool_ref()).await
    }

    async fn update_delivery(&self, d: &Delivery) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE deliveries SET webhook_id = $2, event_id = $3, event_type = $4, status = $5, \
             attempts = $6, last_status_code = $7, last_error = $8, next_attempt_at = $9, \
             created_at = $10 WHERE id = $1",
        )
        .bind(d.id)
        .bind(d.webhook_id)
        .bind(i(d.event_id.0))
        .bind(d.event_type.as_str())
        .bind(delivery_status_str(d.status))
        .bind(i32::try_from(d.attempts).unwrap_or(i32::MAX))
        .bind(d.last_status_code.map(i32::from))
        .bind(&d.last_error)
        .bind(d.next_attempt_at)
        .bind(d.created_at)
        .execute(self.pool_ref())
        .await
        .store()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn get_delivery(&self, id: Uuid) -> StoreResult<Option<Delivery>> {
        let sql = format!("SELECT {} FROM deliveries WHERE id = $1", DeliveryRow::COLS);
        fetch_optional_as::<DeliveryRow, _>(sqlx::query(&sql).bind(id), self.pool_ref()).await
    }

    async fn list_deliveries(
        &self,
        webhook_id: Uuid,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<Delivery>> {
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT {} FROM deliveries WHERE webhook_id = ",
            DeliveryRow::COLS
        ));
        q.push_bind(webhook_id);
        if let Some(c) = cursor {
            q.push(" AND (created_at, id) < (")
                .push_bind(micros(c.key))
                .push(", ")
                .push_bind(c.id)
                .push(")");
        }
        q.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(i(limit as u64 + 1));
        fetch_all_as::<DeliveryRow, _>(q.build(), self.pool_ref()).await
    }
}
