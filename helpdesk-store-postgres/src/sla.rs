//! SLA policies: [`SlaStore`] and their import. Inserts count under the table's lock
//! (`PostgresStore::insert_counted`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::StoreError;
use helpdesk_core::sla_policy::SlaPolicy;
use helpdesk_core::store::{SlaStore, StoreResult};
use serde_json::Value;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::PostgresStore;
use crate::error::SqlxResultExt;

#[derive(FromRow)]
pub(crate) struct PolicyRow {
    id: Uuid,
    name: String,
    position: i64,
    active: bool,
    condition: Value,
    calendar_id: Option<Uuid>,
    targets: Value,
    warn_percent: Option<i16>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl PolicyRow {
    pub(crate) const COLS: &str = "id, name, position, active, condition, calendar_id, \
         targets, warn_percent, created_at, updated_at";
}

impl TryFrom<PolicyRow> for SlaPolicy {
    type Error = StoreError;
    fn try_from(r: PolicyRow) -> StoreResult<SlaPolicy> {
        let corrupt = |what: &str, e: serde_json::Error| {
            StoreError::Corrupt(format!("SLA policy {what}: {e}"))
        };
        Ok(SlaPolicy {
            id: r.id,
            name: r.name,
            position: r.position,
            active: r.active,
            condition: serde_json::from_value(r.condition).map_err(|e| corrupt("condition", e))?,
            calendar_id: r.calendar_id,
            targets: serde_json::from_value(r.targets).map_err(|e| corrupt("targets", e))?,
            warn_percent: r.warn_percent.map(|w| w as u8),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn json(v: &impl serde::Serialize) -> StoreResult<Value> {
    serde_json::to_value(v).map_err(|e| StoreError::Corrupt(format!("SLA policy: {e}")))
}

/// Inserts a policy row (a new policy, or an imported one).
pub(crate) async fn insert_policy_row(conn: &mut PgConnection, p: &SlaPolicy) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sla_policies (id, name, position, active, condition, calendar_id, targets, \
         warn_percent, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(p.id)
    .bind(&p.name)
    .bind(p.position)
    .bind(p.active)
    .bind(json(&p.condition)?)
    .bind(p.calendar_id)
    .bind(json(&p.targets)?)
    .bind(p.warn_percent.map(i16::from))
    .bind(p.created_at)
    .bind(p.updated_at)
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

#[async_trait]
impl SlaStore for PostgresStore {
    async fn list_sla_policies(&self) -> StoreResult<Vec<SlaPolicy>> {
        let sql = format!(
            "SELECT {} FROM sla_policies ORDER BY position, id",
            PolicyRow::COLS
        );
        let rows: Vec<PolicyRow> = sqlx::query_as(&sql)
            .fetch_all(self.pool_ref())
            .await
            .store()?;
        rows.into_iter().map(SlaPolicy::try_from).collect()
    }

    async fn insert_sla_policy(&self, p: &SlaPolicy, limit: usize) -> StoreResult<bool> {
        self.insert_counted("sla_policies", limit, async |conn| {
            insert_policy_row(conn, p).await
        })
        .await
    }

    async fn update_sla_policy(&self, p: &SlaPolicy) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE sla_policies SET name = $2, position = $3, active = $4, condition = $5, \
             calendar_id = $6, targets = $7, warn_percent = $8, updated_at = $9 WHERE id = $1",
        )
        .bind(p.id)
        .bind(&p.name)
        .bind(p.position)
        .bind(p.active)
        .bind(json(&p.condition)?)
        .bind(p.calendar_id)
        .bind(json(&p.targets)?)
        .bind(p.warn_percent.map(i16::from))
        .bind(p.updated_at)
        .execute(self.pool_ref())
        .await
        .store()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_sla_policy(&self, id: Uuid) -> StoreResult<bool> {
        self.delete_by_id("sla_policies", id).await
    }
}
