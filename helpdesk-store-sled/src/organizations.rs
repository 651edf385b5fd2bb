//! [`OrganizationStore`]: organizations with unique indexes of lowercased names (which
//! is also the list order) and of domains. A delete frees the users and tickets naming
//! the organization, which it must scan for before its transaction (sled cannot scan
//! inside one): inside it, the organization's counter (`organization_record`) tells
//! whether what it read is still all.

use async_trait::async_trait;
use uuid::Uuid;

use helpdesk_core::event::Effects;
use helpdesk_core::organization::{Organization, OrganizationQuery};
use helpdesk_core::store::{OrganizationStore, StoreResult};
use helpdesk_core::ticket::Ticket;
use helpdesk_core::user::User;
use helpdesk_core::{Conflict, StoreError};

use crate::effects::write_effects;
use crate::keys::{trailing_id, tree};
use crate::organization_record::members_prefix;
use crate::{SledStore, Tx, TxResult, abort};

/// A delete that found its reading out of date (and reads again).
const STALE: Conflict = Conflict::Busy;

/// Writes an organization with its name and domain entries, moving them from `old`.
/// The name and domains must be free ([`conflict`]).
pub(crate) fn put_organization(
    tx: &Tx<'_>,
    o: &Organization,
    old: Option<&Organization>,
) -> TxResult<()> {
    if let Some(old) = old {
        unindex(tx, old)?;
    }
    tx.put_json(tree::ORGS, o.id.as_bytes(), o)?;
    tx.put(tree::ORG_NAMES, o.name_key().as_bytes(), o.id.as_bytes())?;
    for d in &o.domains {
        tx.put(tree::ORG_DOMAINS, d.as_bytes(), o.id.as_bytes())?;
    }
    Ok(())
}

fn unindex(tx: &Tx<'_>, o: &Organization) -> TxResult<()> {
    tx.del(tree::ORG_NAMES, o.name_key().as_bytes())?;
    for d in &o.domains {
        tx.del(tree::ORG_DOMAINS, d.as_bytes())?;
    }
    Ok(())
}

/// The conflict, if any, of writing `o`: its name or one of its domains taken by
/// another organization (the name first).
fn conflict(tx: &Tx<'_>, o: &Organization) -> TxResult<Option<Conflict>> {
    let other = |v: Option<sled::IVec>| v.is_some_and(|owner| owner.as_ref() != o.id.as_bytes());
    if other(tx.get(tree::ORG_NAMES, o.name_key().as_bytes())?) {
        return Ok(Some(Conflict::Name));
    }
    for d in &o.domains {
        if other(tx.get(tree::ORG_DOMAINS, d.as_bytes())?) {
            return Ok(Some(Conflict::Domain));
        }
    }
    Ok(None)
}

impl SledStore {
    /// An organization's counter, read outside a transaction.
    fn organization_version(&self, id: Uuid) -> StoreResult<u64> {
        let v = self
            .tree(tree::ORG_VERSIONS)
            .get(id.as_bytes())
            .map_err(crate::sled_error)?;
        Ok(v.and_then(|v| crate::keys::u64_value(&v)).unwrap_or(0))
    }
}

#[async_trait]
impl OrganizationStore for SledStore {
    async fn insert_organization(&self, org: &Organization, fx: &Effects) -> StoreResult<()> {
        self.write(|tx| {
            if tx.exists(tree::ORGS, org.id.as_bytes())? {
                return abort(StoreError::Conflict(Conflict::Unique));
            }
            if let Some(c) = conflict(tx, org)? {
                return abort(StoreError::Conflict(c));
            }
            put_organization(tx, org, None)?;
            write_effects(tx, fx)
        })
        .await
    }

    async fn update_organization(&self, org: &Organization, fx: &Effects) -> StoreResult<()> {
        self.write(|tx| {
            let Some(old) = tx.get_json::<Organization>(tree::ORGS, org.id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            if let Some(c) = conflict(tx, org)? {
                return abort(StoreError::Conflict(c));
            }
            put_organization(tx, org, Some(&old))?;
            write_effects(tx, fx)
        })
        .await
    }

    async fn delete_organization(&self, id: Uuid, fx: &Effects) -> StoreResult<()> {
        // sled cannot scan inside a transaction: read the members and tickets first,
        // then check inside the transaction that none came or went since (the counter).
        let mut attempts = 0;
        loop {
            attempts += 1;
            let version = self.organization_version(id)?;
            let users: Vec<Uuid> = self
                .keys_with_prefix(tree::USER_IDX, members_prefix(id).bytes())?
                .iter()
                .filter_map(|k| trailing_id(k))
                .collect();
            let tickets: Vec<Uuid> = self
                .keys_with_prefix(tree::ORG_TICKETS, id.as_bytes())?
                .iter()
                .filter_map(|k| trailing_id(k))
                .collect();
            let result = self.transact(|tx| {
                let Some(org) = tx.get_json::<Organization>(tree::ORGS, id.as_bytes())? else {
                    return abort(StoreError::NotFound);
                };
                if tx.get_u64(tree::ORG_VERSIONS, id.as_bytes())? != version {
                    return abort(StoreError::Conflict(STALE));
                }
                for uid in &users {
                    let Some(old) = tx.get_json::<User>(tree::USERS, uid.as_bytes())? else {
                        continue;
                    };
                    if old.organization_id == Some(id) {
                        let user = User {
                            organization_id: None,
                            is_org_manager: false,
                            ..old.clone()
                        };
                        crate::users::put_user(tx, &user, Some(&old))?;
                    }
                }
                for tid in &tickets {
                    let Some(old) = tx.get_json::<Ticket>(tree::TICKETS, tid.as_bytes())? else {
                        continue;
                    };
                    if old.organization_id == Some(id) {
                        let t = Ticket {
                            organization_id: None,
                            version: old.version + 1,
                            ..old.clone()
                        };
                        crate::ticket_record::put_ticket(tx, &t, Some(&old))?;
                    }
                }
                unindex(tx, &org)?;
                tx.del(tree::ORGS, id.as_bytes())?;
                tx.del(tree::ORG_VERSIONS, id.as_bytes())?;
                write_effects(tx, fx)
            });
            match result {
                Err(e) if e.is_conflict(STALE) && attempts < 20 => continue,
                other => other?,
            }
            return self.flush().await;
        }
    }

    async fn get_organization(&self, id: Uuid) -> StoreResult<Option<Organization>> {
        self.get_json(tree::ORGS, id.as_bytes())
    }

    async fn organization_by_domain(&self, domain: &str) -> StoreResult<Option<Organization>> {
        let Some(id) = self
            .tree(tree::ORG_DOMAINS)
            .get(domain.as_bytes())
            .map_err(crate::sled_error)?
        else {
            return Ok(None);
        };
        Ok(self
            .get_json::<Organization>(tree::ORGS, &id)?
            .filter(|o| o.domains.iter().any(|d| d == domain)))
    }

    async fn list_organizations(&self, q: &OrganizationQuery) -> StoreResult<Vec<Organization>> {
        let wanted = q.limit.saturating_add(1);
        if let Some(domain) = &q.domain {
            let found = self.organization_by_domain(domain).await?;
            return Ok(found
                .filter(|o| q.matches(o) && q.after_cursor(o))
                .into_iter()
                .collect());
        }
        // Names are unique: the entry of the cursor's name may be another organization
        // now (renamed), which comes after it by id or not, so the scan starts at it.
        let start = q.cursor.as_ref().map_or(&[][..], |c| c.key.as_bytes());
        let entries = self
            .tree(tree::ORG_NAMES)
            .range(start..)
            .map(|r| r.map_err(crate::sled_error));
        self.records_by_index(
            entries,
            tree::ORGS,
            wanted,
            |_, v| Some(v.clone()),
            |k, o: &Organization| o.name_key().as_bytes() == k && q.matches(o) && q.after_cursor(o),
        )
    }
}
