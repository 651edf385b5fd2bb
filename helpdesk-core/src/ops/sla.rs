//! SLA policies: admins make, change and delete them, staff read them; every change
//! settles the SLA of every ticket again ([`crate::sla::settle`]), from each ticket's
//! history, so paused minutes stay excluded whatever changed.

use uuid::Uuid;

use crate::Helpdesk;
use crate::calendar::Calendar;
use crate::condition::{Condition, Usage};
use crate::error::{Error, Result, StoreError};
use crate::principal::Principal;
use crate::sla_policy::{DEFAULT_WARN_PERCENT, MAX_POLICIES, sort_policies, validate_warn_percent};
use crate::sla_policy::{NewSlaPolicy, SlaPolicy, SlaPolicyPatch, SlaRules, Targets};

impl Helpdesk {
    /// The active SLA policies in the order they are tried, with their calendars.
    /// Every ticket operation reads them (with the ticket schema): the calendars only
    /// when an active policy names one.
    pub(crate) async fn sla_rules(&self) -> Result<SlaRules> {
        let mut policies = self.st().list_sla_policies().await?;
        policies.retain(|p| p.active);
        sort_policies(&mut policies);
        let calendars = match policies.iter().any(|p| p.calendar_id.is_some()) {
            true => self.sla_calendars().await?,
            false => Default::default(),
        };
        Ok(SlaRules {
            policies,
            calendars,
        })
    }

    /// Every calendar, by id.
    async fn sla_calendars(&self) -> Result<std::collections::HashMap<Uuid, Calendar>> {
        Ok(self
            .st()
            .list_calendars()
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect())
    }

    /// A policy's condition: for SLA (no `hours_since_*`, `sla.*` or trigger-only
    /// fields), the ids it names looked up.
    async fn sla_condition(&self, json: &serde_json::Value) -> Result<Condition> {
        let c = Condition::parse(json, "condition", Usage::Sla, &self.ticket_schema().await?)?;
        self.check_references(c.references("condition")).await?;
        Ok(c)
    }

    /// A calendar a policy names: one that does not exist is invalid at `calendar_id`.
    async fn sla_calendar(&self, id: Option<Uuid>) -> Result<Option<Uuid>> {
        match id {
            Some(c) if self.st().get_calendar(c).await?.is_none() => {
                Err(Error::invalid("calendar_id", "is not a calendar"))
            }
            other => Ok(other),
        }
    }

    /// Whether a policy names the calendar (deleting it is refused then).
    pub(crate) async fn calendar_in_use(&self, id: Uuid) -> Result<bool> {
        Ok(self
            .st()
            .list_sla_policies()
            .await?
            .iter()
            .any(|p| p.calendar_id == Some(id)))
    }

    /// Makes an SLA policy (admins), at most 100.
    pub async fn create_sla_policy(&self, p: &Principal, input: NewSlaPolicy) -> Result<SlaPolicy> {
        self.require_admin(p).await?;
        let name = crate::macros::validate_name(&input.name)?;
        let position = match input.position {
            Some(n) => crate::macros::validate_position(n)?,
            None => self
                .st()
                .list_sla_policies()
                .await?
                .iter()
                .map(|p| p.position)
                .max()
                .map_or(0, |n| (n + 1).min(crate::macros::MAX_POSITION)),
        };
        let condition = match &input.condition {
            Some(json) => self.sla_condition(json).await?,
            None => Condition::default(),
        };
        let targets = Targets::parse(&input.targets)?;
        let warn_percent = match input.warn_percent {
            None => Some(DEFAULT_WARN_PERCENT),
            Some(w) => validate_warn_percent(w)?,
        };
        let now = self.now();
        let policy = SlaPolicy {
            id: crate::clock::new_id(),
            name,
            position,
            active: input.active.unwrap_or(true),
            condition,
            calendar_id: self.sla_calendar(input.calendar_id).await?,
            targets,
            warn_percent,
            created_at: now,
            updated_at: now,
        };
        if !self.st().insert_sla_policy(&policy, MAX_POLICIES).await? {
            return Err(Error::invalid(
                "name",
                format!("there are {MAX_POLICIES} SLA policies already: delete one first"),
            ));
        }
        self.settle_all().await?;
        Ok(policy)
    }

    /// One SLA policy (staff).
    pub async fn get_sla_policy(&self, p: &Principal, id: Uuid) -> Result<SlaPolicy> {
        self.list_sla_policies(p)
            .await?
            .into_iter()
            .find(|x| x.id == id)
            .ok_or(Error::NotFound)
    }

    /// Every SLA policy (staff), by (`position`, `id`).
    pub async fn list_sla_policies(&self, p: &Principal) -> Result<Vec<SlaPolicy>> {
        p.require_staff()?;
        let mut all = self.st().list_sla_policies().await?;
        sort_policies(&mut all);
        Ok(all)
    }

    /// Changes an SLA policy (admins).
    pub async fn update_sla_policy(
        &self,
        p: &Principal,
        id: Uuid,
        patch: SlaPolicyPatch,
    ) -> Result<SlaPolicy> {
        self.require_admin(p).await?;
        let mut policy = self.get_sla_policy(p, id).await?;
        let before = policy.clone();
        if let Some(n) = &patch.name {
            policy.name = crate::macros::validate_name(n)?;
        }
        if let Some(n) = patch.position {
            policy.position = crate::macros::validate_position(n)?;
        }
        if let Some(a) = patch.active {
            policy.active = a;
        }
        if let Some(json) = &patch.condition {
            policy.condition = self.sla_condition(json).await?;
        }
        if let Some(c) = patch.calendar_id {
            policy.calendar_id = self.sla_calendar(c).await?;
        }
        if let Some(json) = &patch.targets {
            policy.targets = Targets::parse(json)?;
        }
        if let Some(w) = patch.warn_percent {
            policy.warn_percent = validate_warn_percent(w)?;
        }
        if policy == before {
            return Ok(policy);
        }
        policy.updated_at = self.now();
        match self.st().update_sla_policy(&policy).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Err(Error::NotFound),
            Err(e) => return Err(Error::Store(e)),
        }
        self.settle_all().await?;
        Ok(policy)
    }

    /// Deletes an SLA policy (admins); the tickets it applied to get the next match.
    pub async fn delete_sla_policy(&self, p: &Principal, id: Uuid) -> Result<()> {
        self.require_admin(p).await?;
        if !self.st().delete_sla_policy(id).await? {
            return Err(Error::NotFound);
        }
        self.settle_all().await
    }
}
