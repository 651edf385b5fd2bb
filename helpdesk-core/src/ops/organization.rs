//! Creating, changing and deleting organizations (admins), listing them (staff), and a
//! customer's view of their own; the organization a new customer joins by their email's
//! domain.

use crate::Helpdesk;
use crate::error::{Conflict, Error, Result, StoreError};
use crate::event::{Effects, EventKind};
use crate::organization::*;
use crate::page::{Page, limit};
use crate::principal::Principal;
use uuid::Uuid;

impl Helpdesk {
    /// Creates an organization (admins).
    pub async fn create_organization(
        &self,
        p: &Principal,
        input: NewOrganization,
    ) -> Result<Organization> {
        self.require_admin(p).await?;
        let org = Organization {
            id: crate::clock::new_id(),
            name: validate_organization_name(&input.name)?,
            domains: validate_domains(&input.domains, &self.inner.config.free_mail_domains)?,
            sharing: input.sharing,
            created_at: self.now(),
        };
        let fx = Effects::event(organization_event(
            EventKind::OrganizationCreated,
            &org,
            org.created_at,
        ));
        let written = self.written(self.st().insert_organization(&org, &fx)).await;
        self.organization_written(&org, written).await?;
        Ok(org)
    }

    /// Changes an organization's name, domains (the whole list) or sharing rule
    /// (admins). A sharing change applies at once: customers' access is read per request.
    pub async fn update_organization(
        &self,
        p: &Principal,
        id: Uuid,
        patch: OrganizationPatch,
    ) -> Result<Organization> {
        self.require_admin(p).await?;
        let mut org = self
            .st()
            .get_organization(id)
            .await?
            .ok_or(Error::NotFound)?;
        let name = patch
            .name
            .as_deref()
            .map(validate_organization_name)
            .transpose()?;
        let domains = patch
            .domains
            .as_deref()
            .map(|d| validate_domains(d, &self.inner.config.free_mail_domains))
            .transpose()?;
        let before = org.clone();
        if let Some(n) = name {
            org.name = n;
        }
        if let Some(d) = domains {
            org.domains = d;
        }
        if let Some(s) = patch.sharing {
            org.sharing = s;
        }
        if org == before {
            return Ok(org);
        }
        let fx = Effects::event(organization_event(
            EventKind::OrganizationUpdated,
            &org,
            self.now(),
        ));
        let written = self.written(self.st().update_organization(&org, &fx)).await;
        self.organization_written(&org, written).await?;
        Ok(org)
    }

    /// Deletes an organization (admins): its users and tickets no longer name it, and
    /// its managers are managers no more, in the same write.
    pub async fn delete_organization(&self, p: &Principal, id: Uuid) -> Result<()> {
        self.require_admin(p).await?;
        let fx = Effects::event(organization_deleted_event(id, self.now()));
        let deleted = self.written(self.st().delete_organization(id, &fx)).await;
        // Its users changed: the sessions' copies of them go.
        self.forget_access();
        match deleted {
            Err(Error::Store(StoreError::NotFound)) => Err(Error::NotFound),
            other => other,
        }
    }

    /// Organizations by name, filtered by a name substring (`q`, case-insensitive) or a
    /// domain they list (staff).
    pub async fn list_organizations(
        &self,
        p: &Principal,
        filter: OrganizationFilter,
    ) -> Result<Page<Organization, crate::page::NameCursor>> {
        p.require_staff()?;
        let limit = limit(filter.limit)?;
        crate::text::check("q", filter.q.as_deref().unwrap_or(""))?;
        crate::text::check("domain", filter.domain.as_deref().unwrap_or(""))?;
        let query = OrganizationQuery {
            q: filter
                .q
                .filter(|q| !q.trim().is_empty())
                .map(|q| crate::group::name_key(&q)),
            domain: filter
                .domain
                .map(|d| d.trim().to_lowercase())
                .filter(|d| !d.is_empty()),
            cursor: filter.cursor,
            limit,
        };
        let orgs = self.st().list_organizations(&query).await?;
        Ok(Page::from_overfetch(orgs, limit, Organization::cursor))
    }

    /// An organization: staff see any; a customer only their own (any other, `NotFound`).
    pub async fn get_organization(&self, p: &Principal, id: Uuid) -> Result<Organization> {
        if !p.is_staff() {
            // The caller's organization as the store holds it now (a change applies at once).
            let caller = self.st().get_user(p.user_id()).await?;
            if caller.and_then(|u| u.organization_id) != Some(id) {
                return Err(Error::NotFound);
            }
        }
        self.st().get_organization(id).await?.ok_or(Error::NotFound)
    }

    /// The organization a new customer with this (normalized) email joins: the one
    /// listing exactly its domain, unless that is a free-mail domain.
    pub(crate) async fn organization_for_email(&self, email: &str) -> Result<Option<Uuid>> {
        let domain = email_domain(email);
        if domain.is_empty() || is_free_mail(domain, &self.inner.config.free_mail_domains) {
            return Ok(None);
        }
        Ok(self
            .st()
            .organization_by_domain(domain)
            .await?
            .map(|o| o.id))
    }

    /// Maps a write of `org` to the domain's errors: `NameTaken`, `DomainTaken` naming
    /// a domain another organization lists, `NotFound`.
    async fn organization_written(&self, org: &Organization, written: Result<()>) -> Result<()> {
        match written {
            Err(Error::Store(StoreError::Conflict(Conflict::Name))) => Err(Error::NameTaken),
            Err(Error::Store(StoreError::Conflict(Conflict::Domain))) => {
                for d in &org.domains {
                    if let Some(other) = self.st().organization_by_domain(d).await?
                        && other.id != org.id
                    {
                        return Err(Error::DomainTaken(format!(
                            "{d} is listed by another organization"
                        )));
                    }
                }
                Err(Error::DomainTaken(
                    "a domain is listed by another organization".into(),
                ))
            }
            Err(Error::Store(StoreError::NotFound)) => Err(Error::NotFound),
            other => other,
        }
    }
}
