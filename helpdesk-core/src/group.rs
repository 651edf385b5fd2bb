//! Groups (queues) of staff and their memberships: the records, access levels, the checks
//! on group input, the rule that staff join the default group, and the events of
//! membership changes. The operations are in `ops/group.rs`.
//!
//! Every ticket belongs to exactly one group, and exactly one group is the default: a
//! store creates it (named [`DEFAULT_GROUP_NAME`]) when it is created or migrated, and
//! it can lose the flag only to another group, never be deleted.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::event::{Audience, EventKind, NewEvent};
use crate::principal::Role;
use crate::wire::Ts;

/// The name of the default group a store starts with.
pub const DEFAULT_GROUP_NAME: &str = "Support";

/// A group of staff; tickets belong to one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Id.
    pub id: Uuid,
    /// Name (1..=100 characters, trimmed), unique case-insensitively ([`name_key`]).
    pub name: String,
    /// Description (0..=1000 characters).
    pub description: String,
    /// Whether new tickets go here by default (exactly one group is).
    pub is_default: bool,
    /// Created.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
}

impl Group {
    /// The default group a new store starts with, created at `at` (whole microseconds,
    /// as every store keeps times).
    pub fn initial_default(at: DateTime<Utc>) -> Group {
        Group {
            id: crate::clock::new_id(),
            name: DEFAULT_GROUP_NAME.into(),
            description: String::new(),
            is_default: true,
            created_at: DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at),
        }
    }
}

/// Puts `m` in a group's member list (joining order): a new member at the end, an
/// existing one at the new level with their join time kept. Returns the membership it
/// replaced. The rule every store keeps its lists by.
pub fn upsert_member(list: &mut Vec<Membership>, m: &Membership) -> Option<Membership> {
    match list.iter_mut().find(|x| x.user_id == m.user_id) {
        Some(x) => {
            let before = x.clone();
            x.access = m.access;
            Some(before)
        }
        None => {
            list.push(m.clone());
            None
        }
    }
}

/// What a member may do with the group's tickets; each level includes those below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// See the tickets, their timelines, conversations and attachments.
    Read,
    /// And post public messages and internal notes.
    Reply,
    /// And change every staff field of the tickets (assigning and moving included).
    Full,
}

impl Access {
    /// Every level, lowest first.
    pub const ALL: [Access; 3] = [Access::Read, Access::Reply, Access::Full];
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Reply => "reply",
            Access::Full => "full",
        }
    }
}

impl std::str::FromStr for Access {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Access::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| Error::invalid("access", "must be read, reply or full"))
    }
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A staff user's membership of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The group.
    pub group_id: Uuid,
    /// The member (an agent or an admin).
    pub user_id: Uuid,
    /// Their level.
    pub access: Access,
    /// When they joined (a change of level keeps it).
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
}

/// A group and the caller's level in it ([`crate::Helpdesk::my_groups`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupAccess {
    /// The group.
    pub group: Group,
    /// The caller's level.
    pub access: Access,
}

/// Input for creating a group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewGroup {
    /// Name.
    pub name: String,
    /// Description (default empty).
    pub description: Option<String>,
    /// Make it the default group (the flag moves from the one that had it).
    pub is_default: bool,
}

/// A change to a group; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupPatch {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// `true` moves the default flag here; `false` is invalid (the flag only moves).
    pub is_default: Option<bool>,
}

/// Checks and trims a group name (1..=100 characters).
pub fn validate_group_name(name: &str) -> Result<String> {
    crate::text::check("name", name)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("name", "must be 1 to 100 characters"));
    }
    Ok(name.to_string())
}

/// Checks a group description (0..=1000 characters).
pub fn validate_group_description(description: &str) -> Result<String> {
    crate::text::check("description", description)?;
    if description.chars().count() > 1000 {
        return Err(Error::invalid(
            "description",
            "must be at most 1000 characters",
        ));
    }
    Ok(description.to_string())
}

/// The form of a name that uniqueness and order compare: lowercased.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// Sorts groups as they are listed: by [`name_key`], then id.
pub fn sort_groups(groups: &mut [Group]) {
    groups.sort_by_cached_key(|g| (name_key(&g.name), g.id));
}

/// How a user write changes memberships (and API keys): the rule every store applies inside
/// [`crate::store::UserStore::insert_user`] and
/// [`crate::store::UserStore::update_user`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffChange {
    /// Nothing.
    None,
    /// The user became staff: they join the group that is default at that moment as a
    /// `full` member ([`staff_membership`]), unless they are a member already.
    JoinDefault,
    /// The user became a customer: every membership of theirs ends, and every API key
    /// of theirs is deleted (customers cannot have keys).
    LeaveAll,
}

/// What writing a user with role `after` over one with role `before` (`None`: a new
/// user) does to their memberships.
pub fn staff_change(before: Option<Role>, after: Role) -> StaffChange {
    match (before.map(Role::is_staff), after.is_staff()) {
        (None | Some(false), true) => StaffChange::JoinDefault,
        (Some(true), false) => StaffChange::LeaveAll,
        _ => StaffChange::None,
    }
}

/// The membership a user who becomes staff at `at` gets in the default group.
pub fn staff_membership(default_group: Uuid, user_id: Uuid, at: DateTime<Utc>) -> Membership {
    Membership {
        group_id: default_group,
        user_id,
        access: Access::Full,
        created_at: at,
    }
}

/// Who sees group events: staff.
pub fn group_audience() -> Audience {
    Audience {
        staff: true,
        ..Default::default()
    }
}

/// A `group.member_added|member_updated|member_removed` event:
/// `{group_id, user_id, access}`.
pub fn member_event(kind: EventKind, m: &Membership, at: DateTime<Utc>) -> NewEvent {
    NewEvent::new(
        kind,
        at,
        group_audience(),
        serde_json::json!({"group_id": m.group_id, "user_id": m.user_id, "access": m.access}),
    )
}

/// The API rendering of a group (responses and event payloads).
#[derive(Serialize)]
pub struct GroupJson<'a> {
    id: Uuid,
    name: &'a str,
    description: &'a str,
    is_default: bool,
    created_at: Ts,
}

/// The API rendering of a group.
pub fn group_json(g: &Group) -> GroupJson<'_> {
    GroupJson {
        id: g.id,
        name: &g.name,
        description: &g.description,
        is_default: g.is_default,
        created_at: Ts(g.created_at),
    }
}

/// The API rendering of a membership: `{user_id, access, created_at}`.
#[derive(Serialize)]
pub struct MembershipJson {
    user_id: Uuid,
    access: Access,
    created_at: Ts,
}

/// The API rendering of a membership.
pub fn membership_json(m: &Membership) -> MembershipJson {
    MembershipJson {
        user_id: m.user_id,
        access: m.access,
        created_at: Ts(m.created_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_levels_order_and_parse() {
        assert!(Access::Read < Access::Reply && Access::Reply < Access::Full);
        for a in Access::ALL {
            assert_eq!(a.as_str().parse::<Access>().unwrap(), a);
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
        assert!("admin".parse::<Access>().is_err());
    }

    #[test]
    fn staff_changes() {
        use Role::*;
        assert_eq!(staff_change(None, Agent), StaffChange::JoinDefault);
        assert_eq!(staff_change(None, Customer), StaffChange::None);
        assert_eq!(
            staff_change(Some(Customer), Admin),
            StaffChange::JoinDefault
        );
        assert_eq!(staff_change(Some(Agent), Admin), StaffChange::None);
        assert_eq!(staff_change(Some(Admin), Customer), StaffChange::LeaveAll);
    }

    #[test]
    fn names_are_checked_and_trimmed() {
        assert_eq!(validate_group_name("  Billing ").unwrap(), "Billing");
        assert!(validate_group_name("   ").is_err());
        assert!(validate_group_name(&"x".repeat(101)).is_err());
        assert!(validate_group_name(&"é".repeat(100)).is_ok());
        assert!(validate_group_description(&"d".repeat(1001)).is_err());
        assert!(validate_group_description("").is_ok());
    }
}
