//! Organizations: [`OrganizationStore`] and the import of organizations.
//!
//! Names are unique by the core's name key (a column the core computes, compared as
//! bytes, which is also the list order); domains by `organization_domains`, whose rows
//! mirror each organization's `domains` list. Writes take a transaction-level advisory
//! lock, so two of them never deadlock trading domains. Users and tickets name their
//! organization with a foreign key: one written into an organization being deleted
//! waits for the delete (and then fails as `NotFound`), and the delete sees every one
//! committed before it.

use async_trait::async_trait;
use helpdesk_core::StoreError;
use helpdesk_core::event::Effects;
use helpdesk_core::organization::{Organization, OrganizationQuery};
use helpdesk_core::store::{OrganizationStore, StoreResult};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::PostgresStore;
use crate::effects::write_effects;
use crate::error::SqlxResultExt;
use crate::rows::{OrganizationRow, fetch_all_as, fetch_optional_as, i};

/// Serializes the writes of organizations.
async fn lock_organizations(conn: &mut PgConnection) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('helpdesk_organizations'))")
        .execute(&mut *conn)
        .await
        .store()?;
    Ok(())
}

/// Writes an organization's domain rows (the unique index of domains).
async fn insert_domains(conn: &mut PgConnection, o: &Organization) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO organization_domains (domain, organization_id) \
         SELECT unnest($1::text[]), $2",
    )
    .bind(&o.domains)
    .bind(o.id)
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

/// Inserts an organization and its domain rows (also the archive import). Name taken:
/// `Conflict::Name`; a domain taken: `Conflict::Domain` (named by their constraints,
/// `organizations_name_key` and `organization_domains_pkey`, in `crate::error`).
pub(crate) async fn insert_organization_rows(
    conn: &mut PgConnection,
    o: &Organization,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO organizations (id, name, name_key, domains, sharing, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(o.id)
    .bind(&o.name)
    .bind(o.name_key())
    .bind(&o.domains)
    .bind(o.sharing.as_str())
    .bind(o.created_at)
    .execute(&mut *conn)
    .await
    .store()?;
    insert_domains(conn, o).await
}

#[async_trait]
impl OrganizationStore for PostgresStore {
    async fn insert_organization(&self, org: &Organization, fx: &Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        lock_organizations(&mut tx).await?;
        insert_organization_rows(&mut tx, org).await?;
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await
    }

    async fn update_organization(&self, org: &Organization, fx: &Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        lock_organizations(&mut tx).await?;
        let done = sqlx::query(
            "UPDATE organizations SET name = $2, name_key = $3, domains = $4, sharing = $5 \
             WHERE id = $1",
        )
        .bind(org.id)
        .bind(&org.name)
        .bind(org.name_key())
        .bind(&org.domains)
        .bind(org.sharing.as_str())
        .execute(&mut *tx)
        .await
        .store()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM organization_domains WHERE organization_id = $1")
            .bind(org.id)
            .execute(&mut *tx)
            .await
            .store()?;
        insert_domains(&mut tx, org).await?;
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await
    }

    async fn delete_organization(&self, id: Uuid, fx: &Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        lock_organizations(&mut tx).await?;
        // The row lock waits for users and tickets being written into the organization
        // (their foreign keys lock it too), so the updates below see them.
        let found: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM organizations WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .store()?;
        if found.is_none() {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "UPDATE users SET organization_id = NULL, is_org_manager = false \
             WHERE organization_id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await
        .store()?;
        sqlx::query(
            "UPDATE tickets SET organization_id = NULL, version = version + 1 \
             WHERE organization_id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await
        .store()?;
        // Its domain rows go with it (ON DELETE CASCADE).
        sqlx::query("DELETE FROM organizations WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .store()?;
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await
    }

    async fn get_organization(&self, id: Uuid) -> StoreResult<Option<Organization>> {
        let sql = format!(
            "SELECT {} FROM organizations WHERE id = $1",
            OrganizationRow::COLS
        );
        fetch_optional_as::<OrganizationRow, _>(sqlx::query(&sql).bind(id), self.pool_ref()).await
    }

    async fn organization_by_domain(&self, domain: &str) -> StoreResult<Option<Organization>> {
        let sql = format!(
            "SELECT {} FROM organizations WHERE id = \
             (SELECT organization_id FROM organization_domains WHERE domain = $1)",
            OrganizationRow::COLS
        );
        fetch_optional_as::<OrganizationRow, _>(sqlx::query(&sql).bind(domain), self.pool_ref())
            .await
    }

    async fn list_organizations(
        &self,
        query: &OrganizationQuery,
    ) -> StoreResult<Vec<Organization>> {
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT {} FROM organizations WHERE true",
            OrganizationRow::COLS
        ));
        if let Some(text) = &query.q {
            q.push(" AND strpos(name_key, ")
                .push_bind(text.clone())
                .push(") > 0");
        }
        if let Some(domain) = &query.domain {
            q.push(" AND id IN (SELECT organization_id FROM organization_domains WHERE domain = ")
                .push_bind(domain.clone())
                .push(")");
        }
        if let Some(c) = &query.cursor {
            q.push(" AND (name_key COLLATE \"C\" > ")
                .push_bind(c.key.clone())
                .push(" OR (name_key = ")
                .push_bind(c.key.clone())
                .push(" AND id > ")
                .push_bind(c.id)
                .push("))");
        }
        q.push(" ORDER BY name_key COLLATE \"C\", id LIMIT ")
            .push_bind(i(query.limit as u64 + 1));
        fetch_all_as::<OrganizationRow, _>(q.build(), self.pool_ref()).await
    }
}
