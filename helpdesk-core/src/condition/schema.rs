//! What only the caller knows: the statuses and custom fields that exist ([`Schema`]),
//! and the ids a condition or action names that must exist ([`Reference`]).

use uuid::Uuid;

use super::FieldType;
use crate::status::StatusCategory;

/// What conditions and actions are checked against when saved: the statuses and custom
/// fields that exist. The caller builds it from the store; a closure
/// `Fn(&str) -> Option<FieldType>` is a schema with those custom fields and today's five
/// statuses, and [`NoCustomFields`] one with none.
pub trait Schema {
    /// The type of the active custom field `key`; `None` when there is none.
    fn field_type(&self, key: &str) -> Option<FieldType>;

    /// Whether `value` is an option of the `select` or `multiselect` field `key`.
    /// Default: any value is (a schema that knows the options says more).
    fn is_option(&self, key: &str, value: &str) -> bool {
        let _ = (key, value);
        true
    }

    /// `Some(active)` for a status key that exists, `None` for one that does not.
    /// Default: the five statuses of today, all active.
    fn status(&self, key: &str) -> Option<bool> {
        key.parse::<StatusCategory>().is_ok().then_some(true)
    }
}

impl<F: Fn(&str) -> Option<FieldType>> Schema for F {
    fn field_type(&self, key: &str) -> Option<FieldType> {
        self(key)
    }
}

/// A [`Schema`] without custom fields, with today's five statuses.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCustomFields;

impl Schema for NoCustomFields {
    fn field_type(&self, _key: &str) -> Option<FieldType> {
        None
    }
}

/// An id a condition or action names that must exist, for the caller to check against
/// the store (a missing one is 422 at `path`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// The JSON path of the value naming it (`condition.all[1].value`,
    /// `actions[2].value`).
    pub path: String,
    /// What it must be.
    pub target: Target,
}

/// What a [`Reference`] must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// A user.
    User(Uuid),
    /// An active staff user (an assignee).
    StaffUser(Uuid),
    /// A group.
    Group(Uuid),
    /// An organization.
    Organization(Uuid),
    /// A canned reply (for rules: a `global` one).
    CannedReply(Uuid),
}
