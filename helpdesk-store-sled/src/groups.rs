//! [`GroupStore`]: groups with a unique index of lowercased names, the default group's id
//! as one key of `meta`, each group's memberships as one record and each user's group
//! ids as one record (both read inside transactions, which cannot scan), and a ticket
//! counter per group, kept by every ticket write, that deleting checks. Also the staff
//! rule of user writes, the default group of a new database, and the migration that
//! brought groups (schema version 3).

use async_trait::async_trait;
use chrono::Utc;
use uuid::Uuid;

use helpdesk_core::event::Effects;
use helpdesk_core::group::{
    Group, Membership, StaffChange, name_key, sort_groups, staff_change, staff_membership,
};
use helpdesk_core::principal::Role;
use helpdesk_core::store::{EffectsFn, GroupStore, StoreResult};
use helpdesk_core::ticket::Ticket;
use helpdesk_core::user::User;
use helpdesk_core::{Conflict, StoreError};

use crate::effects::write_effects;
use crate::keys::tree;
use crate::{SledStore, Tx, TxResult, abort, abort_with};

/// The key of the default group's id in `meta`.
pub(crate) const DEFAULT_GROUP: &[u8] = b"default_group";

/// The default group's id.
pub(crate) fn default_group_id(tx: &Tx<'_>) -> TxResult<Uuid> {
    match tx.get(tree::META, DEFAULT_GROUP)? {
        Some(v) => Uuid::from_slice(&v)
            .map_err(|_| abort_with(StoreError::Corrupt("bad default group id".into()))),
        None => abort(StoreError::Corrupt("no default group".into())),
    }
}

/// Writes a group, moving its name entry from `old`. The name must be free.
pub(crate) fn put_group(tx: &Tx<'_>, g: &Group, old: Option<&Group>) -> TxResult<()> {
    if let Some(old) = old {
        tx.del(tree::GROUP_NAMES, name_key(&old.name).as_bytes())?;
    }
    tx.put_json(tree::GROUPS, g.id.as_bytes(), g)?;
    tx.put(
        tree::GROUP_NAMES,
        name_key(&g.name).as_bytes(),
        g.id.as_bytes(),
    )?;
    if g.is_default {
        tx.put(tree::META, DEFAULT_GROUP, g.id.as_bytes())?;
    }
    Ok(())
}

fn name_taken(tx: &Tx<'_>, g: &Group) -> TxResult<bool> {
    Ok(tx
        .get(tree::GROUP_NAMES, name_key(&g.name).as_bytes())?
        .is_some_and(|owner| owner.as_ref() != g.id.as_bytes()))
}

/// Clears the flag of the default group unless it is `g` (which has the flag); returns
/// it as it is now.
fn take_default_flag(tx: &Tx<'_>, g: &Group) -> TxResult<Option<Group>> {
    if !g.is_default {
        return Ok(None);
    }
    let id = default_group_id(tx)?;
    if id == g.id {
        return Ok(None);
    }
    match tx.get_json::<Group>(tree::GROUPS, id.as_bytes())? {
        Some(mut former) => {
            former.is_default = false;
            tx.put_json(tree::GROUPS, id.as_bytes(), &former)?;
            Ok(Some(former))
        }
        None => Ok(None),
    }
}

fn members(tx: &Tx<'_>, group_id: Uuid) -> TxResult<Vec<Membership>> {
    Ok(tx
        .get_json(tree::GROUP_MEMBERS, group_id.as_bytes())?
        .unwrap_or_default())
}

fn user_groups(tx: &Tx<'_>, user_id: Uuid) -> TxResult<Vec<Uuid>> {
    Ok(tx
        .get_json(tree::USER_GROUPS, user_id.as_bytes())?
        .unwrap_or_default())
}

fn put_user_groups(tx: &Tx<'_>, user_id: Uuid, groups: &[Uuid]) -> TxResult<()> {
    if groups.is_empty() {
        tx.del(tree::USER_GROUPS, user_id.as_bytes())
    } else {
        tx.put_json(tree::USER_GROUPS, user_id.as_bytes(), &groups)
    }
}

/// Adds or replaces a membership; returns the one it replaced.
pub(crate) fn put_member(tx: &Tx<'_>, m: &Membership) -> TxResult<Option<Membership>> {
    let mut list = members(tx, m.group_id)?;
    let previous = helpdesk_core::group::upsert_member(&mut list, m);
    if previous.is_none() {
        let mut groups = user_groups(tx, m.user_id)?;
        groups.push(m.group_id);
        groups.sort();
        groups.dedup();
        put_user_groups(tx, m.user_id, &groups)?;
    }
    tx.put_json(tree::GROUP_MEMBERS, m.group_id.as_bytes(), &list)?;
    Ok(previous)
}

fn remove_member(tx: &Tx<'_>, group_id: Uuid, user_id: Uuid) -> TxResult<Option<Membership>> {
    let mut list = members(tx, group_id)?;
    let Some(i) = list.iter().position(|m| m.user_id == user_id) else {
        return Ok(None);
    };
    let removed = list.remove(i);
    if list.is_empty() {
        tx.del(tree::GROUP_MEMBERS, group_id.as_bytes())?;
    } else {
        tx.put_json(tree::GROUP_MEMBERS, group_id.as_bytes(), &list)?;
    }
    let mut groups = user_groups(tx, user_id)?;
    groups.retain(|g| *g != group_id);
    put_user_groups(tx, user_id, &groups)?;
    Ok(Some(removed))
}

/// Applies the staff rule of a user write (see `UserStore`).
pub(crate) fn apply_staff_change(tx: &Tx<'_>, before: Option<Role>, user: &User) -> TxResult<()> {
    match staff_change(before, user.role) {
        StaffChange::None => {}
        StaffChange::JoinDefault => {
            let group = default_group_id(tx)?;
            if !members(tx, group)?.iter().any(|m| m.user_id == user.id) {
                put_member(tx, &staff_membership(group, user.id, user.updated_at))?;
            }
        }
        StaffChange::LeaveAll => {
            for g in user_groups(tx, user.id)? {
                remove_member(tx, g, user.id)?;
            }
            crate::apikeys::remove_user_keys(tx, user.id)?;
        }
    }
    Ok(())
}

/// `NotFound` unless the group exists.
pub(crate) fn check_group(tx: &Tx<'_>, id: Uuid) -> TxResult<()> {
    if tx.exists(tree::GROUPS, id.as_bytes())? {
        Ok(())
    } else {
        abort(StoreError::NotFound)
    }
}

/// Imports a group: an imported default group replaces the store's own (see
/// `ArchiveStore::import_records`).
pub(crate) fn import_group(tx: &Tx<'_>, g: &Group) -> TxResult<()> {
    if g.is_default
        && let Some(v) = tx.get(tree::META, DEFAULT_GROUP)?
        && v.as_ref() != g.id.as_bytes()
        && let Ok(old_id) = Uuid::from_slice(&v)
    {
        if let Some(old) = tx.get_json::<Group>(tree::GROUPS, old_id.as_bytes())? {
            tx.del(tree::GROUPS, old_id.as_bytes())?;
            tx.del(tree::GROUP_NAMES, name_key(&old.name).as_bytes())?;
        }
        for m in members(tx, old_id)? {
            remove_member(tx, old_id, m.user_id)?;
            put_member(
                tx,
                &Membership {
                    group_id: g.id,
                    ..m
                },
            )?;
        }
    }
    put_group(tx, g, None)
}

impl SledStore {
    /// Creates the default group unless the database has one (a new database).
    pub(crate) fn ensure_default_group(&self) -> StoreResult<()> {
        let initial = Group::initial_default(Utc::now());
        self.transact(|tx| {
            if tx.get(tree::META, DEFAULT_GROUP)?.is_none() {
                put_group(tx, &initial, None)?;
            }
            Ok(())
        })
    }

    /// Schema 2 → 3: the default group gets every ticket (without a group), and every
    /// agent and admin as a `full` member (joined at their `created_at`). Running it
    /// again changes nothing.
    pub(crate) fn migrate_to_groups(&self) -> StoreResult<()> {
        self.ensure_default_group()?;
        for item in self.tree(tree::TICKETS).iter() {
            let (k, _) = item.map_err(crate::sled_error)?;
            self.transact(|tx| {
                let Some(old) = tx.get_json::<Ticket>(tree::TICKETS, &k)? else {
                    return Ok(());
                };
                if !old.group_id.is_nil() {
                    return Ok(());
                }
                let t = Ticket {
                    group_id: default_group_id(tx)?,
                    ..old.clone()
                };
                crate::ticket_record::put_ticket(tx, &t, Some(&old))
            })?;
        }
        for item in self.tree(tree::USERS).iter() {
            let (k, _) = item.map_err(crate::sled_error)?;
            self.transact(|tx| {
                let Some(u) = tx.get_json::<User>(tree::USERS, &k)? else {
                    return Ok(());
                };
                let group = default_group_id(tx)?;
                if u.role.is_staff() && !members(tx, group)?.iter().any(|m| m.user_id == u.id) {
                    put_member(tx, &staff_membership(group, u.id, u.created_at))?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Every membership, for the archive: few (staff in groups), read at once.
    pub(crate) fn all_memberships(&self) -> StoreResult<Vec<Membership>> {
        let mut out = Vec::new();
        for item in self.tree(tree::GROUP_MEMBERS).iter() {
            let (_, v) = item.map_err(crate::sled_error)?;
            out.extend(crate::decode::<Vec<Membership>>(&v, "group_members")?);
        }
        Ok(out)
    }
}

#[async_trait]
impl GroupStore for SledStore {
    async fn insert_group(
        &self,
        group: &Group,
        effects: EffectsFn<'_, Option<Group>>,
    ) -> StoreResult<()> {
        self.write(|tx| {
            if name_taken(tx, group)? || tx.exists(tree::GROUPS, group.id.as_bytes())? {
                return abort(StoreError::Conflict(Conflict::Name));
            }
            let former = take_default_flag(tx, group)?;
            put_group(tx, group, None)?;
            write_effects(tx, &effects(&former))
        })
        .await
    }

    async fn update_group(
        &self,
        group: &Group,
        effects: EffectsFn<'_, Option<Group>>,
    ) -> StoreResult<()> {
        self.write(|tx| {
            let Some(old) = tx.get_json::<Group>(tree::GROUPS, group.id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            if old.is_default && !group.is_default {
                return abort(StoreError::Conflict(Conflict::Default));
            }
            if name_taken(tx, group)? {
                return abort(StoreError::Conflict(Conflict::Name));
            }
            let former = take_default_flag(tx, group)?;
            put_group(tx, group, Some(&old))?;
            write_effects(tx, &effects(&former))
        })
        .await
    }

    async fn delete_group(&self, id: Uuid, fx: &Effects) -> StoreResult<()> {
        self.write(|tx| {
            let Some(g) = tx.get_json::<Group>(tree::GROUPS, id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            if g.is_default {
                return abort(StoreError::Conflict(Conflict::Default));
            }
            if tx.get_u64(tree::GROUP_TICKETS, id.as_bytes())? > 0
                || crate::canned_replies::group_replies(tx, id)? > 0
                || crate::views::group_views(tx, id)? > 0
            {
                return abort(StoreError::Conflict(Conflict::InUse));
            }
            for m in members(tx, id)? {
                remove_member(tx, id, m.user_id)?;
            }
            tx.del(tree::GROUPS, id.as_bytes())?;
            tx.del(tree::GROUP_NAMES, name_key(&g.name).as_bytes())?;
            write_effects(tx, fx)
        })
        .await
    }

    async fn get_group(&self, id: Uuid) -> StoreResult<Option<Group>> {
        self.get_json(tree::GROUPS, id.as_bytes())
    }

    async fn list_groups(&self) -> StoreResult<Vec<Group>> {
        let mut out = Vec::new();
        for item in self.tree(tree::GROUPS).iter() {
            let (_, v) = item.map_err(crate::sled_error)?;
            out.push(crate::decode::<Group>(&v, "groups")?);
        }
        sort_groups(&mut out);
        Ok(out)
    }

    async fn default_group(&self) -> StoreResult<Group> {
        let id = self
            .tree(tree::META)
            .get(DEFAULT_GROUP)
            .map_err(crate::sled_error)?
            .and_then(|v| Uuid::from_slice(&v).ok())
            .ok_or_else(|| StoreError::Corrupt("no default group".into()))?;
        self.get_json(tree::GROUPS, id.as_bytes())?
            .ok_or_else(|| StoreError::Corrupt("the default group is missing".into()))
    }

    async fn put_membership(
        &self,
        m: &Membership,
        effects: EffectsFn<'_, Option<Membership>>,
    ) -> StoreResult<Option<Membership>> {
        self.write(|tx| {
            check_group(tx, m.group_id)?;
            if !tx.exists(tree::USERS, m.user_id.as_bytes())? {
                return abort(StoreError::NotFound);
            }
            let previous = put_member(tx, m)?;
            write_effects(tx, &effects(&previous))?;
            Ok(previous)
        })
        .await
    }

    async fn remove_membership(
        &self,
        group_id: Uuid,
        user_id: Uuid,
        effects: EffectsFn<'_, Membership>,
    ) -> StoreResult<Membership> {
        self.write(|tx| {
            let Some(removed) = remove_member(tx, group_id, user_id)? else {
                return abort(StoreError::NotFound);
            };
            write_effects(tx, &effects(&removed))?;
            Ok(removed)
        })
        .await
    }

    async fn group_members(&self, group_id: Uuid) -> StoreResult<Vec<Membership>> {
        let mut v: Vec<Membership> = self
            .get_json(tree::GROUP_MEMBERS, group_id.as_bytes())?
            .unwrap_or_default();
        v.sort_by_key(|m| (m.created_at, m.user_id));
        Ok(v)
    }

    async fn user_memberships(&self, user_id: Uuid) -> StoreResult<Vec<Membership>> {
        let groups: Vec<Uuid> = self
            .get_json(tree::USER_GROUPS, user_id.as_bytes())?
            .unwrap_or_default();
        let mut out = Vec::new();
        for g in groups {
            let list: Vec<Membership> = self
                .get_json(tree::GROUP_MEMBERS, g.as_bytes())?
                .unwrap_or_default();
            out.extend(list.into_iter().filter(|m| m.user_id == user_id));
        }
        out.sort_by_key(|m| m.group_id);
        Ok(out)
    }
}
