//! Mailboxes: [`MailboxStore`] and their import. Writes of a whole mailbox take a
//! transaction-level advisory lock, so that moving the default flag (clearing the
//! others) and keeping the stored IMAP state read what no other write is changing; the
//! IMAP state's own write is one statement on its row. Listed by address in byte order
//! (`COLLATE "C"`), as every store does. A mailbox a ticket names cannot be deleted
//! (`Conflict::InUse`, from the foreign key `tickets_mailbox`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::mailbox::{ImapState, Inbound, Mailbox};
use helpdesk_core::store::{MailboxStore, StoreResult};
use helpdesk_core::{Conflict, StoreError};
use serde_json::Value;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::PostgresStore;
use crate::error::SqlxResultExt;

#[derive(FromRow)]
pub(crate) struct MailboxRow {
    id: Uuid,
    address: String,
    name: String,
    group_id: Option<Uuid>,
    is_default: bool,
    inbound: Value,
    outbound: Value,
    auto_reply: Value,
    secret: Option<String>,
    previous_secret: Option<Value>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl MailboxRow {
    pub(crate) const COLS: &str = "id, address, name, group_id, is_default, inbound, \
         outbound, auto_reply, secret, previous_secret, created_at, updated_at";
}

impl TryFrom<MailboxRow> for Mailbox {
    type Error = StoreError;
    fn try_from(r: MailboxRow) -> StoreResult<Mailbox> {
        let corrupt =
            |what: &str, e: serde_json::Error| StoreError::Corrupt(format!("mailbox {what}: {e}"));
        Ok(Mailbox {
            id: r.id,
            address: r.address,
            name: r.name,
            group_id: r.group_id,
            is_default: r.is_default,
            inbound: serde_json::from_value(r.inbound).map_err(|e| corrupt("inbound", e))?,
            outbound: serde_json::from_value(r.outbound).map_err(|e| corrupt("outbound", e))?,
            auto_reply: serde_json::from_value(r.auto_reply)
                .map_err(|e| corrupt("auto_reply", e))?,
            secret: r.secret,
            previous_secret: r
                .previous_secret
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| corrupt("previous_secret", e))?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn json(v: &impl serde::Serialize) -> StoreResult<Value> {
    serde_json::to_value(v).map_err(|e| StoreError::Corrupt(format!("mailbox: {e}")))
}

/// Serializes whole-mailbox writes (see the module docs).
async fn lock(conn: &mut PgConnection) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('helpdesk_mailboxes'))")
        .execute(&mut *conn)
        .await
        .store()?;
    Ok(())
}

/// Clears the default flag of every mailbox but `id`.
async fn clear_default(conn: &mut PgConnection, id: Uuid) -> StoreResult<()> {
    sqlx::query("UPDATE mailboxes SET is_default = false WHERE is_default AND id <> $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .store()?;
    Ok(())
}

/// Inserts a mailbox row (a new mailbox, or an imported one), taking the default flag
/// from the others if it has it.
pub(crate) async fn insert_mailbox_row(conn: &mut PgConnection, m: &Mailbox) -> StoreResult<()> {
    if m.is_default {
        clear_default(conn, m.id).await?;
    }
    sqlx::query(
        "INSERT INTO mailboxes (id, address, name, group_id, is_default, inbound, outbound, \
         auto_reply, secret, previous_secret, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(m.id)
    .bind(&m.address)
    .bind(&m.name)
    .bind(m.group_id)
    .bind(m.is_default)
    .bind(json(&m.inbound)?)
    .bind(json(&m.outbound)?)
    .bind(json(&m.auto_reply)?)
    .bind(&m.secret)
    .bind(m.previous_secret.as_ref().map(json).transpose()?)
    .bind(m.created_at)
    .bind(m.updated_at)
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

async fn fetch_one(conn: &mut PgConnection, id: Uuid, lock: bool) -> StoreResult<Option<Mailbox>> {
    let sql = format!(
        "SELECT {} FROM mailboxes WHERE id = $1{}",
        MailboxRow::COLS,
        if lock { " FOR UPDATE" } else { "" }
    );
    let row: Option<MailboxRow> = sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .store()?;
    row.map(Mailbox::try_from).transpose()
}

#[async_trait]
impl MailboxStore for PostgresStore {
    async fn insert_mailbox(&self, m: &Mailbox) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        lock(&mut tx).await?;
        insert_mailbox_row(&mut tx, m).await?;
        tx.commit().await.store()
    }

    async fn update_mailbox(&self, m: &Mailbox) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        lock(&mut tx).await?;
        let Some(old) = fetch_one(&mut tx, m.id, true).await? else {
            return Err(StoreError::NotFound);
        };
        let mut next = m.clone();
        if let (Inbound::Imap(was), Inbound::Imap(new)) = (&old.inbound, &mut next.inbound)
            && was.same_folder(new)
        {
            new.state = was.state.clone();
        }
        if next.is_default {
            clear_default(&mut tx, next.id).await?;
        }
        sqlx::query(
            "UPDATE mailboxes SET address = $2, name = $3, group_id = $4, is_default = $5, \
             inbound = $6, outbound = $7, auto_reply = $8, secret = $9, previous_secret = $10, \
             updated_at = $11 WHERE id = $1",
        )
        .bind(next.id)
        .bind(&next.address)
        .bind(&next.name)
        .bind(next.group_id)
        .bind(next.is_default)
        .bind(json(&next.inbound)?)
        .bind(json(&next.outbound)?)
        .bind(json(&next.auto_reply)?)
        .bind(&next.secret)
        .bind(next.previous_secret.as_ref().map(json).transpose()?)
        .bind(next.updated_at)
        .execute(&mut *tx)
        .await
        .store()?;
        tx.commit().await.store()
    }

    async fn delete_mailbox(&self, id: Uuid) -> StoreResult<bool> {
        // A ticket naming it holds it through the foreign key `tickets_mailbox`, which
        // also waits for tickets being written with it.
        let done = sqlx::query("DELETE FROM mailboxes WHERE id = $1")
            .bind(id)
            .execute(self.pool_ref())
            .await;
        match done {
            Ok(done) => Ok(done.rows_affected() > 0),
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23503") => {
                Err(StoreError::Conflict(Conflict::InUse))
            }
            Err(e) => Err(crate::error::map_err(e)),
        }
    }

    async fn get_mailbox(&self, id: Uuid) -> StoreResult<Option<Mailbox>> {
        let mut conn = self.pool_ref().acquire().await.store()?;
        fetch_one(&mut conn, id, false).await
    }

    async fn get_mailbox_by_address(&self, address: &str) -> StoreResult<Option<Mailbox>> {
        let sql = format!(
            "SELECT {} FROM mailboxes WHERE address = $1",
            MailboxRow::COLS
        );
        let row: Option<MailboxRow> = sqlx::query_as(&sql)
            .bind(address)
            .fetch_optional(self.pool_ref())
            .await
            .store()?;
        row.map(Mailbox::try_from).transpose()
    }

    async fn list_mailboxes(&self) -> StoreResult<Vec<Mailbox>> {
        let sql = format!(
            "SELECT {} FROM mailboxes ORDER BY address COLLATE \"C\", id",
            MailboxRow::COLS
        );
        let rows: Vec<MailboxRow> = sqlx::query_as(&sql)
            .fetch_all(self.pool_ref())
            .await
            .store()?;
        rows.into_iter().map(Mailbox::try_from).collect()
    }

    async fn set_mailbox_imap_state(&self, id: Uuid, state: &ImapState) -> StoreResult<bool> {
        // One statement: the row's IMAP state if it is IMAP, and whether the row exists.
        let (exists, written): (bool, bool) = sqlx::query_as(
            "WITH w AS (UPDATE mailboxes SET inbound = jsonb_set(inbound, '{state}', $2) \
             WHERE id = $1 AND inbound->>'kind' = 'imap' RETURNING id) \
             SELECT EXISTS (SELECT 1 FROM mailboxes WHERE id = $1), EXISTS (SELECT 1 FROM w)",
        )
        .bind(id)
        .bind(json(state)?)
        .fetch_one(self.pool_ref())
        .await
        .store()?;
        match (exists, written) {
            (_, true) => Ok(true),
            (true, false) => Ok(false),
            (false, false) => Err(StoreError::NotFound),
        }
    }

    async fn lease_mailbox(
        &self,
        id: Uuid,
        holder: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        // The row lock of the conflicting lease orders concurrent takers; the loser
        // sees the winner's lease and takes nothing.
        let taken = sqlx::query(
            "INSERT INTO mailbox_leases (mailbox_id, holder, until) VALUES ($1, $2, $4) \
             ON CONFLICT (mailbox_id) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until \
             WHERE mailbox_leases.holder = EXCLUDED.holder OR mailbox_leases.until <= $3",
        )
        .bind(id)
        .bind(holder)
        .bind(now)
        .bind(until)
        .execute(self.pool_ref())
        .await;
        match taken {
            Ok(done) => Ok(done.rows_affected() > 0),
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23503") => {
                Err(StoreError::NotFound)
            }
            Err(e) => Err(crate::error::map_err(e)),
        }
    }
}
