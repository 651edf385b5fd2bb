//! Who owns and who may use and write a scoped configuration item: canned replies
//! ([`crate::canned_reply`]) and views ([`crate::view`]) share these rules
//! (API-workflow.md, "by `scope`, as canned replies").
//!
//! An item is `personal` (its owner's), `group` (the members of its group, at any level,
//! and admins) or `global` (all staff). Writing takes what using does, and a `global`
//! item needs an admin. Each owner's `personal` and `group` items count against one
//! limit, the `global` ones against another ([`Bucket`]).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};

/// Who may use a scoped item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemScope {
    /// Its owner.
    Personal,
    /// The members of its group (any level) and admins.
    Group,
    /// All staff.
    Global,
}

impl ItemScope {
    /// Every scope.
    pub const ALL: [ItemScope; 3] = [ItemScope::Personal, ItemScope::Group, ItemScope::Global];
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemScope::Personal => "personal",
            ItemScope::Group => "group",
            ItemScope::Global => "global",
        }
    }
}

impl std::str::FromStr for ItemScope {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        ItemScope::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| Error::invalid("scope", "must be personal, group or global"))
    }
}

/// How many items of a collection a bucket may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Global items in all.
    pub global: usize,
    /// Personal and group items per owner.
    pub per_owner: usize,
    /// What the items are called in the answer over a limit (`"views"`).
    pub what: &'static str,
}

impl Limits {
    /// The most `bucket` may hold.
    pub fn max(&self, bucket: Bucket) -> usize {
        match bucket {
            Bucket::Global => self.global,
            Bucket::Owner(_) => self.per_owner,
        }
    }

    /// The answer when `bucket` is full: invalid `scope`.
    pub fn exceeded(&self, bucket: Bucket) -> Error {
        let Limits {
            global,
            per_owner,
            what,
        } = *self;
        Error::invalid(
            "scope",
            match bucket {
                Bucket::Global => {
                    format!("there are {global} global {what} already: delete one first")
                }
                Bucket::Owner(_) => format!(
                    "an owner has at most {per_owner} personal and group {what}: delete one first"
                ),
            },
        )
    }
}

/// A scoped item: what the rules of this module read of it.
pub trait Scoped {
    /// Who may use it.
    fn scope(&self) -> ItemScope;
    /// Its group: set exactly when the scope is `group`.
    fn group_id(&self) -> Option<Uuid>;
    /// Who made it; `None` when the system did.
    fn owner_id(&self) -> Option<Uuid>;
    /// What it counts against.
    fn bucket(&self) -> Bucket {
        match self.scope() {
            ItemScope::Global => Bucket::Global,
            ItemScope::Personal | ItemScope::Group => Bucket::Owner(self.owner_id()),
        }
    }
}

/// What a scoped item counts against: the global items, or its owner's personal and
/// group ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// The `global` items.
    Global,
    /// The `personal` and `group` items of one owner (`None`: the system).
    Owner(Option<Uuid>),
}

/// A staff user of scoped items and the groups they are a member of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeUser {
    /// The user (`Uuid::nil()` for the system, which owns no personal items).
    pub user_id: Uuid,
    /// Whether they are an admin: every group's items, and writing global ones.
    pub admin: bool,
    /// The groups they are a member of, at any level.
    pub groups: Vec<Uuid>,
}

impl ScopeUser {
    /// Whether they may use (see, list, apply) `item`.
    pub fn may_use(&self, item: &impl Scoped) -> bool {
        match item.scope() {
            ItemScope::Personal => item.owner_id().is_some_and(|o| o == self.user_id),
            ItemScope::Group => {
                self.admin || item.group_id().is_some_and(|g| self.groups.contains(&g))
            }
            ItemScope::Global => true,
        }
    }

    /// Whether they may write an item (`what`: "canned replies", "views") of `scope` in
    /// `group_id` (a new one, or one they may use): `Forbidden` for a global item unless
    /// an admin, and for a group they are not a member of.
    pub fn may_write(&self, scope: ItemScope, group_id: Option<Uuid>, what: &str) -> Result<()> {
        match scope {
            ItemScope::Personal => Ok(()),
            ItemScope::Group => match group_id {
                Some(g) if self.admin || self.groups.contains(&g) => Ok(()),
                _ => Err(Error::forbidden(format!(
                    "group {what} are written by the group's members and admins"
                ))),
            },
            ItemScope::Global if self.admin => Ok(()),
            ItemScope::Global => Err(Error::forbidden(format!(
                "global {what} are written by admins"
            ))),
        }
    }
}

/// Checks that `group_id` is given exactly for a `group` item (`what`: "canned reply",
/// "view").
pub fn validate_group_id(scope: ItemScope, group_id: Option<Uuid>, what: &str) -> Result<()> {
    match (scope, group_id) {
        (ItemScope::Group, None) => Err(Error::invalid(
            "group_id",
            format!("is required for a group {what}"),
        )),
        (ItemScope::Personal | ItemScope::Global, Some(_)) => Err(Error::invalid(
            "group_id",
            format!("is only for group {what}s"),
        )),
        _ => Ok(()),
    }
}
