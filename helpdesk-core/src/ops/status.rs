//! Ticket statuses: everyone reads them (customers the active ones), admins write them.
//! A category's default status is never deactivated or deleted; a status a ticket has,
//! or a view's filter names, is in use.

use std::sync::Arc;

use uuid::Uuid;

use crate::Helpdesk;
use crate::error::{Conflict, Error, Result, StoreError};
use crate::principal::Principal;
use crate::schema::{Definitions, TicketSchema};
use crate::status::*;

fn write_error(e: StoreError) -> Error {
    match e {
        StoreError::Conflict(Conflict::Key) => Error::KeyTaken,
        StoreError::Conflict(Conflict::Default) => default_is_fixed(),
        StoreError::Conflict(Conflict::InUse) => Error::InUse("a ticket has this status".into()),
        StoreError::NotFound => Error::NotFound,
        other => Error::Store(other),
    }
}

fn default_is_fixed() -> Error {
    Error::Conflict("a category's default status is never deactivated or deleted".into())
}

impl Helpdesk {
    /// What tickets are made of now: the statuses and custom fields (for checks,
    /// conditions and rendering), the SLA policies and the automations that count hours.
    pub async fn ticket_schema(&self) -> Result<TicketSchema> {
        Ok(self.definitions().await?.schema(self.now()))
    }

    /// The statuses, fields, SLA policies and rules: this instance's copy while the
    /// store's schema stamp stands, else read again (the stamp first, so a write that
    /// lands meanwhile moves it past the copy).
    pub(crate) async fn definitions(&self) -> Result<Arc<Definitions>> {
        let stamp = self.inner.schema.stamp(|| self.st().schema_stamp()).await?;
        if let Some(d) = self.inner.schema.get(stamp, &()) {
            return Ok(d);
        }
        let d = Arc::new(Definitions {
            statuses: Statuses::new(self.st().list_statuses().await?),
            fields: crate::custom_field::Fields::new(self.st().list_fields().await?),
            sla: self.sla_rules().await?,
            rules: self.st().list_rules().await?,
        });
        self.inner.schema.put(stamp, (), d.clone());
        Ok(d)
    }

    /// Every status `p` may read, in list order: customers the active ones.
    pub async fn list_statuses(&self, p: &Principal) -> Result<Vec<Status>> {
        let mut all = self.st().list_statuses().await?;
        if !p.is_staff() {
            all.retain(|s| s.active);
        }
        Ok(all)
    }

    /// One status (customers: an active one).
    pub async fn get_status(&self, p: &Principal, id: Uuid) -> Result<Status> {
        self.list_statuses(p)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or(Error::NotFound)
    }

    /// Adds a status (admins). Its key taken: `KeyTaken`; more than
    /// [`MAX_PER_CATEGORY`] in its category: invalid.
    pub async fn create_status(&self, p: &Principal, input: NewStatus) -> Result<Status> {
        self.require_admin(p).await?;
        let key = validate_key(&input.key)?;
        let agent_label = crate::text::label("agent_label", &input.agent_label, 100)?;
        let customer_label = match &input.customer_label {
            Some(l) => crate::text::label("customer_label", l, 100)?,
            None => agent_label.clone(),
        };
        let all = self.st().list_statuses().await?;
        let position = match input.position {
            Some(n) => crate::view::validate_position(n)?,
            None => all
                .iter()
                .filter(|s| s.category == input.category)
                .map(|s| s.position + 1)
                .max()
                .unwrap_or(0)
                .min(crate::view::MAX_POSITION),
        };
        let now = self.now();
        let status = Status {
            id: crate::clock::new_id(),
            key: StatusKey::new(key),
            category: input.category,
            agent_label,
            customer_label,
            position,
            active: input.active.unwrap_or(true),
            is_default: false,
            created_at: now,
            updated_at: now,
        };
        match self.st().insert_status(&status, MAX_PER_CATEGORY).await {
            Ok(true) => Ok(status),
            Ok(false) => Err(Error::invalid(
                "category",
                format!("holds {MAX_PER_CATEGORY} statuses already"),
            )),
            Err(e) => Err(write_error(e)),
        }
    }

    /// Changes a status's labels, position or `active` (admins). Deactivating a
    /// default status: `Conflict`.
    pub async fn update_status(
        &self,
        p: &Principal,
        id: Uuid,
        patch: StatusPatch,
    ) -> Result<Status> {
        self.require_admin(p).await?;
        let mut status = self.get_status(p, id).await?;
        if let Some(l) = &patch.agent_label {
            status.agent_label = crate::text::label("agent_label", l, 100)?;
        }
        if let Some(l) = &patch.customer_label {
            status.customer_label = crate::text::label("customer_label", l, 100)?;
        }
        if let Some(n) = patch.position {
            status.position = crate::view::validate_position(n)?;
        }
        if let Some(active) = patch.active {
            if !active && status.is_default {
                return Err(default_is_fixed());
            }
            status.active = active;
        }
        status.updated_at = self.now();
        self.st()
            .update_status(&status)
            .await
            .map_err(write_error)?;
        Ok(status)
    }

    /// Deletes a status (admins). A default one: `Conflict`; one a ticket has or a
    /// view's filter names: `InUse`.
    pub async fn delete_status(&self, p: &Principal, id: Uuid) -> Result<()> {
        self.require_admin(p).await?;
        let status = self.get_status(p, id).await?;
        if status.is_default {
            return Err(default_is_fixed());
        }
        let key = status.key.as_str();
        if let Some(v) = self
            .st()
            .all_views()
            .await?
            .into_iter()
            .find(|v| v.filter.names_status(key))
        {
            return Err(Error::InUse(format!("view {} names this status", v.id)));
        }
        if let Some(m) = self
            .st()
            .list_macros()
            .await?
            .into_iter()
            .find(|m| m.actions.iter().any(|a| a.names_status(key)))
        {
            return Err(Error::InUse(format!("macro {} names this status", m.id)));
        }
        self.refuse_if_rule_names("status", |r| crate::ops::rules::names_status(r, key))
            .await?;
        self.st().delete_status(id).await.map_err(write_error)
    }
}
