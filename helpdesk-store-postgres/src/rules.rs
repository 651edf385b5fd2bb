//! Rules: [`RuleStore`] and their import. Inserts take a transaction-level advisory
//! lock, so that the rules they count for the limit cannot change until they commit.
//! Runs and edge state reference their rule and ticket, which cascade on delete.

use async_trait::async_trait;
use helpdesk_core::StoreError;
use helpdesk_core::rule::{Rule, RuleRun};
use helpdesk_core::store::{RuleStore, StoreResult};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::PostgresStore;
use crate::error::SqlxResultExt;
use crate::rows::{RuleRow, RuleRunRow, fetch_all_as, fetch_optional_as};

fn doc<T: serde::Serialize>(what: &str, v: &T) -> StoreResult<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Inserts a rule row (a new rule, or an imported one).
pub(crate) async fn insert_rule_row(conn: &mut PgConnection, r: &Rule) -> StoreResult<()> {
    sqlx::query("INSERT INTO rules (id, position, doc) VALUES ($1, $2, $3)")
        .bind(r.id)
        .bind(r.position)
        .bind(doc("rule", r)?)
        .execute(&mut *conn)
        .await
        .store()?;
    Ok(())
}

#[async_trait]
impl RuleStore for PostgresStore {
    async fn insert_rule(&self, r: &Rule, limit: usize) -> StoreResult<bool> {
        self.insert_counted("rules", limit, async |conn| insert_rule_row(conn, r).await)
            .await
    }

    async fn update_rule(&self, r: &Rule) -> StoreResult<()> {
        // `kind`, `created_at` are fixed: kept from the stored document.
        let done = sqlx::query(
            "UPDATE rules SET position = $2, \
             doc = $3 || jsonb_build_object('kind', doc->'kind', 'created_at', doc->'created_at') \
             WHERE id = $1",
        )
        .bind(r.id)
        .bind(r.position)
        .bind(doc("rule", r)?)
        .execute(self.pool_ref())
        .await
        .store()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_rule(&self, id: Uuid) -> StoreResult<bool> {
        self.delete_by_id("rules", id).await
    }

    async fn get_rule(&self, id: Uuid) -> StoreResult<Option<Rule>> {
        let sql = format!("SELECT {} FROM rules WHERE id = $1", RuleRow::COLS);
        fetch_optional_as::<RuleRow, _>(sqlx::query(&sql).bind(id), self.pool_ref()).await
    }

    async fn list_rules(&self) -> StoreResult<Vec<Rule>> {
        let sql = format!("SELECT {} FROM rules ORDER BY position, id", RuleRow::COLS);
        fetch_all_as::<RuleRow, _>(sqlx::query(&sql), self.pool_ref()).await
    }

    async fn insert_rule_run(&self, run: &RuleRun, keep: usize) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO rule_runs (id, rule_id, ticket_id, at, doc) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(run.id)
        .bind(run.rule_id)
        .bind(run.ticket_id)
        .bind(run.at)
        .bind(doc("rule run", run)?)
        .execute(&mut *tx)
        .await
        .store()?;
        sqlx::query(
            "DELETE FROM rule_runs WHERE rule_id = $1 AND id IN ( \
                 SELECT id FROM rule_runs WHERE rule_id = $1 \
                 ORDER BY at DESC, id DESC OFFSET $2)",
        )
        .bind(run.rule_id)
        .bind(i64::try_from(keep).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await
        .store()?;
        self.commit(tx, false).await
    }

    async fn list_rule_runs(&self, rule_id: Uuid, limit: usize) -> StoreResult<Vec<RuleRun>> {
        let sql = format!(
            "SELECT {} FROM rule_runs WHERE rule_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
            RuleRunRow::COLS
        );
        fetch_all_as::<RuleRunRow, _>(
            sqlx::query(&sql)
                .bind(rule_id)
                .bind(i64::try_from(limit).unwrap_or(i64::MAX)),
            self.pool_ref(),
        )
        .await
    }

    async fn rule_inside(&self, rule_id: Uuid, ticket_id: Uuid) -> StoreResult<bool> {
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM rule_inside WHERE rule_id = $1 AND ticket_id = $2")
                .bind(rule_id)
                .bind(ticket_id)
                .fetch_optional(self.pool_ref())
                .await
                .store()?;
        Ok(found.is_some())
    }

    async fn set_rule_inside(
        &self,
        rule_id: Uuid,
        ticket_id: Uuid,
        inside: bool,
    ) -> StoreResult<()> {
        let sql = if inside {
            // A rule or ticket deleted meanwhile: nothing to remember.
            "INSERT INTO rule_inside (rule_id, ticket_id) \
             SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM rules WHERE id = $1) \
             AND EXISTS (SELECT 1 FROM tickets WHERE id = $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM rule_inside WHERE rule_id = $1 AND ticket_id = $2"
        };
        sqlx::query(sql)
            .bind(rule_id)
            .bind(ticket_id)
            .execute(self.pool_ref())
            .await
            .store()?;
        Ok(())
    }

    async fn clear_rule_inside(&self, rule_id: Uuid) -> StoreResult<()> {
        sqlx::query("DELETE FROM rule_inside WHERE rule_id = $1")
            .bind(rule_id)
            .execute(self.pool_ref())
            .await
            .store()?;
        Ok(())
    }
}
