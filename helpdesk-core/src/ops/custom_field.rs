//! Custom fields: everyone reads them (customers the active `customer_visible` ones),
//! admins write them. A field a ticket has a value of, or a view's filter names, is in
//! use.

use uuid::Uuid;

use crate::Helpdesk;
use crate::custom_field::*;
use crate::error::{Conflict, Error, Result, StoreError};
use crate::principal::Principal;
use crate::principal::TicketView;
use crate::status::validate_key;

fn write_error(e: StoreError) -> Error {
    match e {
        StoreError::Conflict(Conflict::Key) => Error::KeyTaken,
        StoreError::Conflict(Conflict::InUse) => {
            Error::InUse("a ticket has a value of this field".into())
        }
        StoreError::NotFound => Error::NotFound,
        other => Error::Store(other),
    }
}

fn over_limit() -> Error {
    Error::invalid(
        "active",
        format!("at most {MAX_ACTIVE} fields are active at once"),
    )
}

/// `customer_editable` needs `customer_visible`.
fn check_flags(f: &CustomField) -> Result<()> {
    if f.customer_editable && !f.customer_visible {
        return Err(Error::invalid(
            "customer_editable",
            "needs customer_visible",
        ));
    }
    Ok(())
}

impl Helpdesk {
    /// Every custom field `p` may read, by position then key: customers the active
    /// `customer_visible` ones.
    pub async fn list_fields(&self, p: &Principal) -> Result<Vec<CustomField>> {
        let mut all = self.st().list_fields().await?;
        if !p.is_staff() {
            all.retain(|f| f.seen_by(TicketView::Customer));
        }
        Ok(all)
    }

    /// One custom field (customers: an active visible one).
    pub async fn get_field(&self, p: &Principal, id: Uuid) -> Result<CustomField> {
        self.list_fields(p)
            .await?
            .into_iter()
            .find(|f| f.id == id)
            .ok_or(Error::NotFound)
    }

    /// Adds a custom field (admins). Its key taken: `KeyTaken`; more than
    /// [`MAX_ACTIVE`] active: invalid.
    pub async fn create_field(&self, p: &Principal, input: NewCustomField) -> Result<CustomField> {
        self.require_admin(p).await?;
        let key = validate_key(&input.key)?;
        let label = crate::text::label("label", &input.label, 100)?;
        let options = validate_options(input.field_type, &input.options)?;
        let position = match input.position {
            Some(n) => crate::view::validate_position(n)?,
            None => self
                .st()
                .list_fields()
                .await?
                .iter()
                .map(|f| f.position + 1)
                .max()
                .unwrap_or(0)
                .min(crate::view::MAX_POSITION),
        };
        let now = self.now();
        let field = CustomField {
            id: crate::clock::new_id(),
            key,
            field_type: input.field_type,
            label,
            options,
            customer_visible: input.customer_visible.unwrap_or(false),
            customer_editable: input.customer_editable.unwrap_or(false),
            required_on_create: input.required_on_create.unwrap_or(false),
            required_on_resolve: input.required_on_resolve.unwrap_or(false),
            position,
            active: input.active.unwrap_or(true),
            created_at: now,
            updated_at: now,
        };
        check_flags(&field)?;
        match self.st().insert_field(&field, MAX_ACTIVE).await {
            Ok(true) => Ok(field),
            Ok(false) => Err(over_limit()),
            Err(e) => Err(write_error(e)),
        }
    }

    /// Changes a custom field (admins); `key` and `type` are fixed.
    pub async fn update_field(
        &self,
        p: &Principal,
        id: Uuid,
        patch: CustomFieldPatch,
    ) -> Result<CustomField> {
        self.require_admin(p).await?;
        let mut field = self.get_field(p, id).await?;
        if let Some(l) = &patch.label {
            field.label = crate::text::label("label", l, 100)?;
        }
        if let Some(o) = &patch.options {
            field.options = validate_options(field.field_type, o)?;
        }
        for (flag, value) in [
            (&mut field.customer_visible, patch.customer_visible),
            (&mut field.customer_editable, patch.customer_editable),
            (&mut field.required_on_create, patch.required_on_create),
            (&mut field.required_on_resolve, patch.required_on_resolve),
            (&mut field.active, patch.active),
        ] {
            if let Some(v) = value {
                *flag = v;
            }
        }
        if let Some(n) = patch.position {
            field.position = crate::view::validate_position(n)?;
        }
        check_flags(&field)?;
        field.updated_at = self.now();
        match self.st().update_field(&field, MAX_ACTIVE).await {
            Ok(true) => Ok(field),
            Ok(false) => Err(over_limit()),
            Err(e) => Err(write_error(e)),
        }
    }

    /// Deletes a custom field (admins). One a ticket has a value of, or a view's filter
    /// names: `InUse`.
    pub async fn delete_field(&self, p: &Principal, id: Uuid) -> Result<()> {
        self.require_admin(p).await?;
        let field = self.get_field(p, id).await?;
        if let Some(v) = self
            .st()
            .all_views()
            .await?
            .into_iter()
            .find(|v| v.filter.names_field(&field.key))
        {
            return Err(Error::InUse(format!("view {} names this field", v.id)));
        }
        if let Some(m) = self
            .st()
            .list_macros()
            .await?
            .into_iter()
            .find(|m| m.actions.iter().any(|a| a.names_field(&field.key)))
        {
            return Err(Error::InUse(format!("macro {} names this field", m.id)));
        }
        self.refuse_if_rule_names("field", |r| crate::ops::rules::names_field(r, &field.key))
            .await?;
        self.st().delete_field(id).await.map_err(write_error)
    }
}
