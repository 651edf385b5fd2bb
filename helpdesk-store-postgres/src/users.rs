//! Users and sessions: [`UserStore`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::StoreError;
use helpdesk_core::auth::Session;
use helpdesk_core::event::Effects;
use helpdesk_core::store::{AttemptWindow, StoreResult, UserStore};
use helpdesk_core::user::{User, UserQuery};
use sqlx::PgConnection;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::PostgresStore;
use crate::effects::write_effects;
use crate::error::SqlxResultExt;
use crate::rows::{
    PgQuery, SessionRow, UserRow, fetch_all_as, fetch_optional_as, i, micros, prefixed, u,
};

/// Binds a user's columns as `$1..$13` (id, email, name, role, is_active,
/// password_hash, created_at, updated_at, organization_id, is_org_manager, is_service,
/// read_receipts, email_notifications),
/// for the INSERT and the UPDATE alike.
fn bind_user<'q>(sql: &'q str, user: &'q User) -> PgQuery<'q> {
    sqlx::query(sql)
        .bind(user.id)
        .bind(&user.email)
        .bind(&user.name)
        .bind(user.role.as_str())
        .bind(user.is_active)
        .bind(&user.password_hash)
        .bind(user.created_at)
        .bind(user.updated_at)
        .bind(user.organization_id)
        .bind(user.is_org_manager)
        .bind(user.is_service)
        .bind(user.read_receipts.as_str())
        .bind(user.email_notifications)
}

/// Inserts a user row.
pub(crate) async fn insert_user_row(conn: &mut PgConnection, user: &User) -> StoreResult<()> {
    bind_user(
        "INSERT INTO users (id, email, name, role, is_active, password_hash, created_at, \
         updated_at, organization_id, is_org_manager, is_service, read_receipts, \
         email_notifications) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        user,
    )
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

/// Inserts a session row.
pub(crate) async fn insert_session_row(conn: &mut PgConnection, s: &Session) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sessions (id, user_id, refresh_hash, refresh_expires_at, created_at, \
         revoked_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(s.id)
    .bind(s.user_id)
    .bind(&s.refresh_hash)
    .bind(s.refresh_expires_at)
    .bind(s.created_at)
    .bind(s.revoked_at)
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

#[async_trait]
impl UserStore for PostgresStore {
    async fn insert_user(&self, user: &User, fx: &Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        insert_user_row(&mut tx, user).await?;
        crate::groups::apply_staff_change(&mut tx, None, user).await?;
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await
    }

    async fn update_user(&self, user: &User, fx: &Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let before: Option<String> =
            sqlx::query_scalar("SELECT role FROM users WHERE id = $1 FOR UPDATE")
                .bind(user.id)
                .fetch_optional(&mut *tx)
                .await
                .store()?;
        let Some(before) = before else {
            return Err(StoreError::NotFound);
        };
        let before = before
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("bad role {before:?}")))?;
        let done = bind_user(
            "UPDATE users SET email = $2, name = $3, role = $4, is_active = $5, \
             password_hash = $6, created_at = $7, updated_at = $8, organization_id = $9, \
             is_org_manager = $10, is_service = $11, read_receipts = $12, \
             email_notifications = $13 WHERE id = $1",
            user,
        )
        .execute(&mut *tx)
        .await
        .store()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        crate::groups::apply_staff_change(&mut tx, Some(before), user).await?;
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await
    }

    async fn get_user(&self, id: Uuid) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {} FROM users WHERE id = $1", UserRow::COLS);
        fetch_optional_as::<UserRow, _>(sqlx::query(&sql).bind(id), self.pool_ref()).await
    }

    async fn get_users(&self, ids: &[Uuid]) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {} FROM users WHERE id = ANY($1)", UserRow::COLS);
        fetch_all_as::<UserRow, _>(sqlx::query(&sql).bind(ids), self.pool_ref()).await
    }

    async fn get_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let sql = format!(
            "SELECT {} FROM users WHERE lower(email) = lower($1)",
            UserRow::COLS
        );
        fetch_optional_as::<UserRow, _>(sqlx::query(&sql).bind(email), self.pool_ref()).await
    }

    async fn list_users(&self, query: &UserQuery) -> StoreResult<Vec<User>> {
        let mut q: QueryBuilder<Postgres> =
            QueryBuilder::new(format!("SELECT {} FROM users WHERE true", UserRow::COLS));
        if let Some(role) = query.role {
            q.push(" AND role = ").push_bind(role.as_str());
        }
        if let Some(org) = query.organization_id {
            q.push(" AND organization_id = ").push_bind(org);
        }
        if let Some(text) = &query.q {
            q.push(" AND (strpos(lower(name), lower(")
                .push_bind(text.clone())
                .push(")) > 0 OR strpos(lower(email), lower(")
                .push_bind(text.clone())
                .push(")) > 0)");
        }
        if let Some(c) = query.cursor {
            q.push(" AND (created_at, id) > (")
                .push_bind(micros(c.key))
                .push(", ")
                .push_bind(c.id)
                .push(")");
        }
        q.push(" ORDER BY created_at, id LIMIT ")
            .push_bind(i(query.limit as u64 + 1));
        fetch_all_as::<UserRow, _>(q.build(), self.pool_ref()).await
    }

    async fn count_users(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(self.pool_ref())
            .await
            .store()?;
        Ok(u(n))
    }

    async fn staff_ids(&self) -> StoreResult<Vec<Uuid>> {
        sqlx::query_scalar(
            "SELECT id FROM users WHERE role IN ('admin', 'agent') AND is_active ORDER BY id",
        )
        .fetch_all(self.pool_ref())
        .await
        .store()
    }

    async fn insert_session(&self, s: &Session) -> StoreResult<()> {
        let mut conn = self.pool_ref().acquire().await.store()?;
        insert_session_row(&mut conn, s).await
    }

    async fn get_session(&self, id: Uuid) -> StoreResult<Option<Session>> {
        let sql = format!("SELECT {} FROM sessions WHERE id = $1", SessionRow::COLS);
        fetch_optional_as::<SessionRow, _>(sqlx::query(&sql).bind(id), self.pool_ref()).await
    }

    async fn live_session_user(&self, session_id: Uuid) -> StoreResult<Option<User>> {
        // Every authenticated request asks this: one statement, not the session and
        // then its user.
        let sql = format!(
            "SELECT {} FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id = $1 AND s.revoked_at IS NULL",
            prefixed(UserRow::COLS, "u")
        );
        fetch_optional_as::<UserRow, _>(sqlx::query(&sql).bind(session_id), self.pool_ref()).await
    }

    async fn rotate_refresh(
        &self,
        id: Uuid,
        expected_hash: &str,
        new_hash: &str,
        new_expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET refresh_hash = $3, refresh_expires_at = $4 \
             WHERE id = $1 AND revoked_at IS NULL AND refresh_hash = $2",
        )
        .bind(id)
        .bind(expected_hash)
        .bind(new_hash)
        .bind(new_expires_at)
        .execute(self.pool_ref())
        .await
        .store()?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_session(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(at)
            .execute(self.pool_ref())
            .await
            .store()?;
        Ok(())
    }

    async fn revoke_user_sessions(
        &self,
        user_id: Uuid,
        except: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE sessions SET revoked_at = $3 WHERE user_id = $1 AND revoked_at IS NULL \
             AND ($2::uuid IS NULL OR id <> $2)",
        )
        .bind(user_id)
        .bind(except)
        .bind(at)
        .execute(self.pool_ref())
        .await
        .store()?;
        Ok(())
    }
    async fn recent_attempts(
        &self,
        windows: &[AttemptWindow],
    ) -> StoreResult<Vec<Vec<DateTime<Utc>>>> {
        let keys: Vec<&str> = windows.iter().map(|w| w.key.as_str()).collect();
        let since: Vec<DateTime<Utc>> = windows.iter().map(|w| w.since).collect();
        let limits: Vec<i64> = windows
            .iter()
            .map(|w| i64::try_from(w.limit).unwrap_or(i64::MAX))
            .collect();
        let rows: Vec<(i64, DateTime<Utc>)> = sqlx::query_as(
            "SELECT w.i, a.at \
             FROM unnest($1::text[], $2::timestamptz[], $3::bigint[]) \
                  WITH ORDINALITY AS w(key, since, lim, i) \
             CROSS JOIN LATERAL (SELECT at FROM attempts \
                 WHERE key = w.key AND at > w.since ORDER BY at DESC LIMIT w.lim) a \
             ORDER BY w.i, a.at DESC",
        )
        .bind(&keys)
        .bind(&since)
        .bind(&limits)
        .fetch_all(self.pool_ref())
        .await
        .store()?;
        let mut out = vec![Vec::new(); windows.len()];
        for (i, at) in rows {
            if let Some(times) = usize::try_from(i - 1).ok().and_then(|i| out.get_mut(i)) {
                times.push(at);
            }
        }
        Ok(out)
    }
    async fn record_attempt(
        &self,
        keys: &[String],
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "WITH forgotten AS (DELETE FROM attempts WHERE at < $3) \
             INSERT INTO attempts (key, at) SELECT k, $2 FROM unnest($1::text[]) AS k",
        )
        .bind(keys)
        .bind(at)
        .bind(forget_before)
        .execute(self.pool_ref())
        .await
        .store()?;
        Ok(())
    }
}
