//! Groups and memberships: [`GroupStore`], the staff rule of user writes, and the
//! import of groups.
//!
//! One default group is kept by a partial unique index; writes that move the flag or
//! delete a group take a transaction-level advisory lock, so two of them never race
//! into a unique violation. Tickets and group canned replies name their group with a
//! foreign key: one written into a group being deleted waits for the delete (and then
//! fails as `NotFound`), and the delete sees every one committed before it.

use async_trait::async_trait;
use helpdesk_core::event::Effects;
use helpdesk_core::group::{Group, Membership, StaffChange, staff_change};
use helpdesk_core::principal::Role;
use helpdesk_core::store::{EffectsFn, GroupStore, StoreResult};
use helpdesk_core::user::User;
use helpdesk_core::{Conflict, StoreError};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::PostgresStore;
use crate::effects::write_effects;
use crate::error::SqlxResultExt;
use crate::rows::{
    GroupMemberRow, GroupRow, MembershipRow, fetch_all_as, fetch_optional_as, group_with_members,
    prefixed,
};

/// Serializes the writes that move the default flag or delete groups.
async fn lock_groups(conn: &mut PgConnection) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('helpdesk_groups'))")
        .execute(&mut *conn)
        .await
        .store()?;
    Ok(())
}

async fn get_group_in(conn: &mut PgConnection, id: Uuid) -> StoreResult<Option<Group>> {
    let sql = format!(
        "SELECT {} FROM groups WHERE id = $1 FOR UPDATE",
        GroupRow::COLS
    );
    fetch_optional_as::<GroupRow, _>(sqlx::query(&sql).bind(id), &mut *conn).await
}

/// Clears the flag of the default group unless it is `g`; returns it as it is now.
async fn take_default_flag(conn: &mut PgConnection, g: &Group) -> StoreResult<Option<Group>> {
    if !g.is_default {
        return Ok(None);
    }
    let sql = format!(
        "UPDATE groups SET is_default = false WHERE is_default AND id <> $1 RETURNING {}",
        GroupRow::COLS
    );
    fetch_optional_as::<GroupRow, _>(sqlx::query(&sql).bind(g.id), &mut *conn).await
}

async fn insert_group_row(conn: &mut PgConnection, g: &Group) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO groups (id, name, description, is_default, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(g.id)
    .bind(&g.name)
    .bind(&g.description)
    .bind(g.is_default)
    .bind(g.created_at)
    .execute(&mut *conn)
    .await
    .map_err(|e| match crate::map_err(e) {
        StoreError::Conflict(Conflict::Unique) => StoreError::Conflict(Conflict::Name),
        other => other,
    })?;
    Ok(())
}

/// Inserts a membership or changes its level; returns the one before.
async fn upsert_member(conn: &mut PgConnection, m: &Membership) -> StoreResult<Option<Membership>> {
    let sql = format!(
        "SELECT {} FROM group_members WHERE group_id = $1 AND user_id = $2 FOR UPDATE",
        MembershipRow::COLS
    );
    let previous = fetch_optional_as::<MembershipRow, _>(
        sqlx::query(&sql).bind(m.group_id).bind(m.user_id),
        &mut *conn,
    )
    .await?;
    sqlx::query(
        "INSERT INTO group_members (group_id, user_id, access, created_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (group_id, user_id) DO UPDATE SET access = EXCLUDED.access",
    )
    .bind(m.group_id)
    .bind(m.user_id)
    .bind(m.access.as_str())
    .bind(m.created_at)
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(previous)
}

/// Applies the staff rule of a user write (see `UserStore`).
pub(crate) async fn apply_staff_change(
    conn: &mut PgConnection,
    before: Option<Role>,
    user: &User,
) -> StoreResult<()> {
    match staff_change(before, user.role) {
        StaffChange::None => {}
        StaffChange::JoinDefault => {
            sqlx::query(
                "INSERT INTO group_members (group_id, user_id, access, created_at) \
                 SELECT id, $1, 'full', $2 FROM groups WHERE is_default \
                 ON CONFLICT (group_id, user_id) DO NOTHING",
            )
            .bind(user.id)
            .bind(user.updated_at)
            .execute(&mut *conn)
            .await
            .store()?;
        }
        StaffChange::LeaveAll => {
            sqlx::query("DELETE FROM group_members WHERE user_id = $1")
                .bind(user.id)
                .execute(&mut *conn)
                .await
                .store()?;
            crate::apikeys::delete_user_keys(conn, user.id).await?;
        }
    }
    Ok(())
}

/// Imports a group: an imported default group replaces the store's own (see
/// `ArchiveStore::import_records`).
pub(crate) async fn import_group(conn: &mut PgConnection, g: &Group) -> StoreResult<()> {
    if g.is_default {
        let old: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM groups WHERE is_default AND id <> $1")
                .bind(g.id)
                .fetch_optional(&mut *conn)
                .await
                .store()?;
        if let Some(old) = old {
            sqlx::query("UPDATE groups SET is_default = false, name = id::text WHERE id = $1")
                .bind(old)
                .execute(&mut *conn)
                .await
                .store()?;
            insert_group_row(conn, g).await?;
            sqlx::query("UPDATE group_members SET group_id = $2 WHERE group_id = $1")
                .bind(old)
                .bind(g.id)
                .execute(&mut *conn)
                .await
                .store()?;
            sqlx::query("DELETE FROM groups WHERE id = $1")
                .bind(old)
                .execute(&mut *conn)
                .await
                .store()?;
            return Ok(());
        }
    }
    insert_group_row(conn, g).await
}

/// Imports a membership.
pub(crate) async fn import_membership(conn: &mut PgConnection, m: &Membership) -> StoreResult<()> {
    upsert_member(conn, m).await.map(drop)
}

#[async_trait]
impl GroupStore for PostgresStore {
    async fn insert_group(
        &self,
        group: &Group,
        effects: EffectsFn<'_, Option<Group>>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        lock_groups(&mut tx).await?;
        let former = take_default_flag(&mut tx, group).await?;
        insert_group_row(&mut tx, group).await?;
        let wrote = write_effects(&mut tx, &effects(&former)).await?;
        self.commit(tx, wrote).await
    }

    async fn update_group(
        &self,
        group: &Group,
        effects: EffectsFn<'_, Option<Group>>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        lock_groups(&mut tx).await?;
        let old = get_group_in(&mut tx, group.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if old.is_default && !group.is_default {
            return Err(StoreError::Conflict(Conflict::Default));
        }
        let former = take_default_flag(&mut tx, group).await?;
        sqlx::query("UPDATE groups SET name = $2, description = $3, is_default = $4 WHERE id = $1")
            .bind(group.id)
            .bind(&group.name)
            .bind(&group.description)
            .bind(group.is_default)
            .execute(&mut *tx)
            .await
            .store()?;
        let wrote = write_effects(&mut tx, &effects(&former)).await?;
        self.commit(tx, wrote).await
    }

    async fn delete_group(&self, id: Uuid, fx: &Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        lock_groups(&mut tx).await?;
        // The row lock waits for tickets being written into the group (their foreign
        // key locks it too), so the check below sees them.
        let g = get_group_in(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if g.is_default {
            return Err(StoreError::Conflict(Conflict::Default));
        }
        let used: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM tickets WHERE group_id = $1) \
             OR EXISTS (SELECT 1 FROM canned_replies WHERE group_id = $1) \
             OR EXISTS (SELECT 1 FROM views WHERE group_id = $1)",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .store()?;
        if used {
            return Err(StoreError::Conflict(Conflict::InUse));
        }
        // Memberships go with it (ON DELETE CASCADE).
        sqlx::query("DELETE FROM groups WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .store()?;
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await
    }

    async fn get_group(&self, id: Uuid) -> StoreResult<Option<Group>> {
        let sql = format!("SELECT {} FROM groups WHERE id = $1", GroupRow::COLS);
        fetch_optional_as::<GroupRow, _>(sqlx::query(&sql).bind(id), self.pool_ref()).await
    }

    async fn list_groups(&self) -> StoreResult<Vec<Group>> {
        let sql = format!(
            "SELECT {} FROM groups ORDER BY lower(name) COLLATE \"C\", id",
            GroupRow::COLS
        );
        let mut groups = fetch_all_as::<GroupRow, _>(sqlx::query(&sql), self.pool_ref()).await?;
        // PostgreSQL's `lower` and Rust's lowercasing may differ on rare characters:
        // the order is the core's.
        helpdesk_core::group::sort_groups(&mut groups);
        Ok(groups)
    }

    async fn default_group(&self) -> StoreResult<Group> {
        let sql = format!("SELECT {} FROM groups WHERE is_default", GroupRow::COLS);
        fetch_optional_as::<GroupRow, _>(sqlx::query(&sql), self.pool_ref())
            .await?
            .ok_or_else(|| StoreError::Corrupt("no default group".into()))
    }

    async fn put_membership(
        &self,
        m: &Membership,
        effects: EffectsFn<'_, Option<Membership>>,
    ) -> StoreResult<Option<Membership>> {
        let mut tx = self.begin().await?;
        // A missing group or user fails the foreign keys: `NotFound`.
        let previous = upsert_member(&mut tx, m).await?;
        let wrote = write_effects(&mut tx, &effects(&previous)).await?;
        self.commit(tx, wrote).await?;
        Ok(previous)
    }

    async fn remove_membership(
        &self,
        group_id: Uuid,
        user_id: Uuid,
        effects: EffectsFn<'_, Membership>,
    ) -> StoreResult<Membership> {
        let mut tx = self.begin().await?;
        let sql = format!(
            "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2 RETURNING {}",
            MembershipRow::COLS
        );
        let removed = fetch_optional_as::<MembershipRow, _>(
            sqlx::query(&sql).bind(group_id).bind(user_id),
            &mut *tx,
        )
        .await?
        .ok_or(StoreError::NotFound)?;
        let wrote = write_effects(&mut tx, &effects(&removed)).await?;
        self.commit(tx, wrote).await?;
        Ok(removed)
    }

    async fn group_members(&self, group_id: Uuid) -> StoreResult<Vec<Membership>> {
        let sql = format!(
            "SELECT {} FROM group_members WHERE group_id = $1 ORDER BY created_at, user_id",
            MembershipRow::COLS
        );
        fetch_all_as::<MembershipRow, _>(sqlx::query(&sql).bind(group_id), self.pool_ref()).await
    }

    async fn default_group_members(&self) -> StoreResult<(Group, Vec<Membership>)> {
        let sql = format!(
            "SELECT {}, {} FROM groups g LEFT JOIN group_members m ON m.group_id = g.id \
             WHERE g.is_default ORDER BY m.created_at, m.user_id",
            prefixed(GroupRow::COLS, "g"),
            GroupMemberRow::MEMBER_COLS
        );
        let rows: Vec<GroupMemberRow> = sqlx::query_as(&sql)
            .fetch_all(self.pool_ref())
            .await
            .store()?;
        group_with_members(rows)?.ok_or_else(|| StoreError::Corrupt("no default group".into()))
    }

    async fn user_memberships(&self, user_id: Uuid) -> StoreResult<Vec<Membership>> {
        let sql = format!(
            "SELECT {} FROM group_members WHERE user_id = $1 ORDER BY group_id",
            MembershipRow::COLS
        );
        fetch_all_as::<MembershipRow, _>(sqlx::query(&sql).bind(user_id), self.pool_ref()).await
    }
}
