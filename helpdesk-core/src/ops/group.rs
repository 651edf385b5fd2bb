//! Creating, changing and deleting groups; their memberships; the caller's groups. Admins
//! write, staff read; customers may not see groups at all.

use crate::Helpdesk;
use crate::error::{Conflict, Error, Result, StoreError};
use crate::event::{Effects, EventKind, NewEvent};
use crate::group::*;
use crate::principal::Principal;
use serde_json::json;
use uuid::Uuid;

/// `group.created` or `group.updated` of `g`, and `group.updated` of the group that
/// lost the default flag to it.
fn group_effects(
    kind: EventKind,
    g: &Group,
    former: Option<&Group>,
    at: chrono::DateTime<chrono::Utc>,
) -> Effects {
    let event = |kind, g: &Group, at| {
        NewEvent::new(
            kind,
            at,
            group_audience(),
            json!({"group": crate::wire::to_json(group_json(g))}),
        )
    };
    let mut fx = Effects::event(event(kind, g, at));
    if let Some(f) = former {
        fx.push(event(EventKind::GroupUpdated, f, at));
    }
    fx
}

/// Maps a group write's store conflicts to the domain's errors.
fn group_write_error(e: Error) -> Error {
    match e {
        Error::Store(StoreError::Conflict(Conflict::Name)) => Error::NameTaken,
        Error::Store(StoreError::Conflict(Conflict::InUse)) => {
            Error::InUse("the group holds tickets or group canned replies".into())
        }
        Error::Store(StoreError::Conflict(Conflict::Default)) => {
            Error::Conflict("the default group cannot be deleted or unflagged".into())
        }
        Error::Store(StoreError::NotFound) => Error::NotFound,
        other => other,
    }
}

impl Helpdesk {
    /// Creates a group (admins). `is_default` moves the default flag to it.
    pub async fn create_group(&self, p: &Principal, input: NewGroup) -> Result<Group> {
        self.require_admin(p).await?;
        let name = validate_group_name(&input.name)?;
        let description = validate_group_description(input.description.as_deref().unwrap_or(""))?;
        let group = Group {
            id: crate::clock::new_id(),
            name,
            description,
            is_default: input.is_default,
            created_at: self.now(),
        };
        let at = group.created_at;
        let build = |former: &Option<Group>| {
            group_effects(EventKind::GroupCreated, &group, former.as_ref(), at)
        };
        let inserted = self.written(self.st().insert_group(&group, &build)).await;
        self.forget_access();
        inserted.map_err(group_write_error)?;
        Ok(group)
    }

    /// Changes a group's name or description, or makes it the default (admins).
    /// `is_default: false` is invalid: the flag only moves to another group.
    pub async fn update_group(&self, p: &Principal, id: Uuid, patch: GroupPatch) -> Result<Group> {
        self.require_admin(p).await?;
        let mut group = self.st().get_group(id).await?.ok_or(Error::NotFound)?;
        if patch.is_default == Some(false) {
            return Err(Error::invalid(
                "is_default",
                "can only be set to true: the flag moves to another group",
            ));
        }
        let name = patch.name.as_deref().map(validate_group_name).transpose()?;
        let description = patch
            .description
            .as_deref()
            .map(validate_group_description)
            .transpose()?;
        let before = group.clone();
        if let Some(n) = name {
            group.name = n;
        }
        if let Some(d) = description {
            group.description = d;
        }
        if patch.is_default == Some(true) {
            group.is_default = true;
        }
        if group == before {
            return Ok(group);
        }
        let at = self.now();
        let build = |former: &Option<Group>| {
            group_effects(EventKind::GroupUpdated, &group, former.as_ref(), at)
        };
        let updated = self.written(self.st().update_group(&group, &build)).await;
        self.forget_access();
        updated.map_err(group_write_error)?;
        Ok(group)
    }

    /// Deletes a group (admins): not the default one (`Conflict`), not one holding any
    /// ticket, closed ones included, or any `group` canned reply (`InUse`).
    pub async fn delete_group(&self, p: &Principal, id: Uuid) -> Result<()> {
        self.require_admin(p).await?;
        let fx = Effects::event(NewEvent::new(
            EventKind::GroupDeleted,
            self.now(),
            group_audience(),
            json!({"group_id": id}),
        ));
        let deleted = self.written(self.st().delete_group(id, &fx)).await;
        self.forget_access();
        deleted.map_err(group_write_error)
    }

    /// Every group, by name (staff).
    pub async fn list_groups(&self, p: &Principal) -> Result<Vec<Group>> {
        p.require_staff()?;
        Ok(self.st().list_groups().await?)
    }

    /// A group (staff).
    pub async fn get_group(&self, p: &Principal, id: Uuid) -> Result<Group> {
        p.require_staff()?;
        self.st().get_group(id).await?.ok_or(Error::NotFound)
    }

    /// A group's memberships in joining order (staff).
    pub async fn group_members(&self, p: &Principal, id: Uuid) -> Result<Vec<Membership>> {
        self.get_group(p, id).await?;
        Ok(self.st().group_members(id).await?)
    }

    /// Makes a user a member of a group with `access`, or changes their level (admins).
    /// Unknown group or user: `NotFound`; a user who is not an active agent or admin:
    /// invalid. Returns the membership and whether it is new.
    pub async fn put_membership(
        &self,
        p: &Principal,
        group_id: Uuid,
        user_id: Uuid,
        access: Access,
    ) -> Result<(Membership, bool)> {
        self.require_admin(p).await?;
        self.st()
            .get_group(group_id)
            .await?
            .ok_or(Error::NotFound)?;
        let user = self.st().get_user(user_id).await?.ok_or(Error::NotFound)?;
        if !user.is_active || !user.role.is_staff() {
            return Err(Error::invalid(
                "user_id",
                "must be an active agent or admin",
            ));
        }
        let at = self.now();
        let wanted = Membership {
            group_id,
            user_id,
            access,
            created_at: at,
        };
        let build = |previous: &Option<Membership>| match previous {
            None => Effects::event(member_event(EventKind::GroupMemberAdded, &wanted, at)),
            Some(m) if m.access == access => Effects::none(),
            Some(m) => Effects::event(member_event(
                EventKind::GroupMemberUpdated,
                &Membership {
                    access,
                    ..m.clone()
                },
                at,
            )),
        };
        let previous = self
            .written(self.st().put_membership(&wanted, &build))
            .await?;
        self.forget_access();
        if previous.as_ref().is_some_and(|m| m.access == Access::Full) && access != Access::Full {
            self.withdraw_where_not_allowed(p, user_id, Some(group_id))
                .await?;
        }
        Ok(match previous {
            None => (wanted, true),
            Some(m) => (Membership { access, ..m }, false),
        })
    }

    /// Ends a user's membership of a group (admins). Not a member: `NotFound`.
    pub async fn remove_membership(
        &self,
        p: &Principal,
        group_id: Uuid,
        user_id: Uuid,
    ) -> Result<()> {
        self.require_admin(p).await?;
        let at = self.now();
        let build =
            |m: &Membership| Effects::event(member_event(EventKind::GroupMemberRemoved, m, at));
        self.written(self.st().remove_membership(group_id, user_id, &build))
            .await
            .map_err(group_write_error)?;
        self.forget_access();
        self.withdraw_where_not_allowed(p, user_id, Some(group_id))
            .await
    }

    /// The caller's groups with their level in each, by name (staff).
    pub async fn my_groups(&self, p: &Principal) -> Result<Vec<GroupAccess>> {
        p.require_staff()?;
        let mut out = Vec::new();
        for m in self.st().user_memberships(p.user_id).await? {
            if let Some(group) = self.st().get_group(m.group_id).await? {
                out.push(GroupAccess {
                    group,
                    access: m.access,
                });
            }
        }
        out.sort_by_cached_key(|ga| (name_key(&ga.group.name), ga.group.id));
        Ok(out)
    }
}
