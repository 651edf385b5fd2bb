//! Calendars: [`CalendarStore`] and their import. Inserts take a transaction-level
//! advisory lock, so that the calendars they count for the limit cannot change until
//! they commit. Listed by name in byte order (`COLLATE "C"`), as every store does.

use async_trait::async_trait;
use helpdesk_core::StoreError;
use helpdesk_core::calendar::Calendar;
use helpdesk_core::store::{CalendarStore, StoreResult};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::PostgresStore;
use crate::error::SqlxResultExt;
use crate::rows::{CalendarRow, fetch_all_as, fetch_optional_as};

fn hours_json(c: &Calendar) -> StoreResult<serde_json::Value> {
    serde_json::to_value(&c.hours).map_err(|e| StoreError::Corrupt(format!("calendar hours: {e}")))
}

/// Inserts a calendar row (a new calendar, or an imported one).
pub(crate) async fn insert_calendar_row(conn: &mut PgConnection, c: &Calendar) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO calendars (id, name, timezone, hours, holidays, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(c.id)
    .bind(&c.name)
    .bind(&c.timezone)
    .bind(hours_json(c)?)
    .bind(&c.holidays)
    .bind(c.created_at)
    .bind(c.updated_at)
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

#[async_trait]
impl CalendarStore for PostgresStore {
    async fn insert_calendar(&self, c: &Calendar, limit: usize) -> StoreResult<bool> {
        self.insert_counted("calendars", limit, async |conn| {
            insert_calendar_row(conn, c).await
        })
        .await
    }

    async fn update_calendar(&self, c: &Calendar) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE calendars SET name = $2, timezone = $3, hours = $4, holidays = $5, \
             updated_at = $6 WHERE id = $1",
        )
        .bind(c.id)
        .bind(&c.name)
        .bind(&c.timezone)
        .bind(hours_json(c)?)
        .bind(&c.holidays)
        .bind(c.updated_at)
        .execute(self.pool_ref())
        .await
        .store()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_calendar(&self, id: Uuid) -> StoreResult<bool> {
        self.delete_by_id("calendars", id).await
    }

    async fn get_calendar(&self, id: Uuid) -> StoreResult<Option<Calendar>> {
        let sql = format!("SELECT {} FROM calendars WHERE id = $1", CalendarRow::COLS);
        fetch_optional_as::<CalendarRow, _>(sqlx::query(&sql).bind(id), self.pool_ref()).await
    }

    async fn list_calendars(&self) -> StoreResult<Vec<Calendar>> {
        let sql = format!(
            "SELECT {} FROM calendars ORDER BY name COLLATE \"C\", id",
            CalendarRow::COLS
        );
        fetch_all_as::<CalendarRow, _>(sqlx::query(&sql), self.pool_ref()).await
    }
}
