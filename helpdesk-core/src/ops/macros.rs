//! Macros: admins make, change and delete them, staff list and read them and apply them
//! to a ticket ([`Helpdesk::apply_macro`]; the actions run in `ops/actions.rs`);
//! customers may do none of it.

use uuid::Uuid;

use crate::Helpdesk;
use crate::action::{self, Action};
use crate::error::{Error, Result, StoreError};
use crate::macros::*;
use crate::principal::Principal;
use crate::ticket::{Ticket, Via};

impl Helpdesk {
    /// `json` checked as a macro's actions at `actions`, and the ids they name looked up
    /// (422 at the value's path, `actions[2].value`).
    pub(crate) async fn macro_actions(&self, json: &serde_json::Value) -> Result<Vec<Action>> {
        let schema = self.ticket_schema().await?;
        let actions = Action::parse_list(json, "actions", MAX_ACTIONS, &schema)?;
        self.check_references(action::references(&actions, "actions"))
            .await?;
        Ok(actions)
    }

    /// Makes a macro (admins). At most [`MAX_MACROS`] (invalid above). Without a
    /// position it goes after the last macro.
    pub async fn create_macro(&self, p: &Principal, input: NewMacro) -> Result<Macro> {
        self.require_admin(p).await?;
        let name = validate_name(&input.name)?;
        let actions = self.macro_actions(&input.actions).await?;
        let position = match input.position {
            Some(n) => validate_position(n)?,
            None => self
                .st()
                .list_macros()
                .await?
                .iter()
                .map(|m| m.position)
                .max()
                .map_or(0, |n| (n + 1).min(MAX_POSITION)),
        };
        let now = self.now();
        let m = Macro {
            id: crate::clock::new_id(),
            name,
            actions,
            position,
            created_at: now,
            updated_at: now,
        };
        if self.st().insert_macro(&m, MAX_MACROS).await? {
            Ok(m)
        } else {
            Err(limit_reached())
        }
    }

    /// A macro (staff; customers: `Forbidden`).
    pub async fn get_macro(&self, p: &Principal, id: Uuid) -> Result<Macro> {
        p.require_staff()?;
        self.st().get_macro(id).await?.ok_or(Error::NotFound)
    }

    /// Every macro (staff), by `(position, id)`.
    pub async fn list_macros(&self, p: &Principal) -> Result<Vec<Macro>> {
        p.require_staff()?;
        Ok(self.st().list_macros().await?)
    }

    /// Changes a macro's name, actions or position (admins).
    pub async fn update_macro(&self, p: &Principal, id: Uuid, patch: MacroPatch) -> Result<Macro> {
        self.require_admin(p).await?;
        let mut m = self.st().get_macro(id).await?.ok_or(Error::NotFound)?;
        let name = patch.name.as_deref().map(validate_name).transpose()?;
        let actions = match &patch.actions {
            Some(json) => Some(self.macro_actions(json).await?),
            None => None,
        };
        let position = patch.position.map(validate_position).transpose()?;
        let before = m.clone();
        if let Some(n) = name {
            m.name = n;
        }
        if let Some(a) = actions {
            m.actions = a;
        }
        if let Some(n) = position {
            m.position = n;
        }
        if m == before {
            return Ok(m);
        }
        m.updated_at = self.now();
        match self.st().update_macro(&m).await {
            Ok(()) => Ok(m),
            Err(StoreError::NotFound) => Err(Error::NotFound),
            Err(e) => Err(Error::Store(e)),
        }
    }

    /// Deletes a macro (admins).
    pub async fn delete_macro(&self, p: &Principal, id: Uuid) -> Result<()> {
        self.require_admin(p).await?;
        if self.st().delete_macro(id).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// Applies a macro to a ticket as the caller, all or nothing
    /// ([`Helpdesk::run_actions`]): staff with `full` access to the ticket (others who
    /// see it: `Forbidden`; who do not: `NotFound`). A macro that does not exist is
    /// invalid (`macro_id`). Returns the ticket as the run left it.
    pub async fn apply_macro(
        &self,
        p: &Principal,
        ticket_id: Uuid,
        macro_id: Uuid,
    ) -> Result<Ticket> {
        p.require_staff()?;
        self.ticket_for_actions(p, ticket_id).await?;
        let m = self.macro_by_reference(p, macro_id).await?;
        self.run_actions(
            p,
            ticket_id,
            &m.actions,
            Some(Via::macro_run(m.id)),
            &m.name,
        )
        .await
    }

    /// The macro a body names (`macro_id`): one that does not exist is invalid, not
    /// `NotFound` (a reference in a body, API-workflow.md).
    pub(crate) async fn macro_by_reference(&self, p: &Principal, id: Uuid) -> Result<Macro> {
        p.require_staff()?;
        self.st()
            .get_macro(id)
            .await?
            .ok_or_else(|| Error::invalid("macro_id", "is not a macro"))
    }
}
