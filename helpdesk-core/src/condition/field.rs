//! The vocabulary of predicates: the fields they test, the operators, where a condition
//! is used, and the types of custom fields.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// What a predicate tests.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Field {
    /// `status`: the status key.
    Status,
    /// `status_category`: the status's category.
    StatusCategory,
    /// `priority`, ordered low < normal < high < urgent.
    Priority,
    /// `assignee_id`.
    AssigneeId,
    /// `requester_id`.
    RequesterId,
    /// `group_id`.
    GroupId,
    /// `requester.organization_id`.
    RequesterOrganizationId,
    /// `tags`.
    Tags,
    /// `subject`.
    Subject,
    /// `snoozed`.
    Snoozed,
    /// `sla.breached`: some running SLA cycle is past due.
    SlaBreached,
    /// `field.<key>`: a custom field, typed by the [`Schema`](super::Schema).
    Custom(String),
    /// `hours_since_created`.
    HoursSinceCreated,
    /// `hours_since_updated`.
    HoursSinceUpdated,
    /// `hours_since_status_changed` (the last change, else creation).
    HoursSinceStatusChanged,
    /// `event` (triggers only): the event a trigger runs on.
    Event,
    /// `actor.role` (triggers only): who caused that event.
    ActorRole,
    /// `message.internal` (triggers only): set on `message.created`.
    MessageInternal,
}

impl Field {
    /// Every field but [`Field::Custom`].
    pub const BUILT_IN: [Field; 17] = [
        Field::Status,
        Field::StatusCategory,
        Field::Priority,
        Field::AssigneeId,
        Field::RequesterId,
        Field::GroupId,
        Field::RequesterOrganizationId,
        Field::Tags,
        Field::Subject,
        Field::Snoozed,
        Field::SlaBreached,
        Field::HoursSinceCreated,
        Field::HoursSinceUpdated,
        Field::HoursSinceStatusChanged,
        Field::Event,
        Field::ActorRole,
        Field::MessageInternal,
    ];

    /// The name conditions use (`status`, `requester.organization_id`, `field.<key>`).
    pub fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Field::Status => "status",
            Field::StatusCategory => "status_category",
            Field::Priority => "priority",
            Field::AssigneeId => "assignee_id",
            Field::RequesterId => "requester_id",
            Field::GroupId => "group_id",
            Field::RequesterOrganizationId => "requester.organization_id",
            Field::Tags => "tags",
            Field::Subject => "subject",
            Field::Snoozed => "snoozed",
            Field::SlaBreached => "sla.breached",
            Field::Custom(key) => return Cow::Owned(format!("field.{key}")),
            Field::HoursSinceCreated => "hours_since_created",
            Field::HoursSinceUpdated => "hours_since_updated",
            Field::HoursSinceStatusChanged => "hours_since_status_changed",
            Field::Event => "event",
            Field::ActorRole => "actor.role",
            Field::MessageInternal => "message.internal",
        })
    }

    /// The field called `name`; any `field.<key>` is a [`Field::Custom`] (whether the
    /// key exists is the [`Schema`](super::Schema)'s to say).
    pub fn from_name(name: &str) -> Option<Field> {
        if let Some(key) = name.strip_prefix("field.") {
            return Some(Field::Custom(key.to_string()));
        }
        Field::BUILT_IN.into_iter().find(|f| f.name() == name)
    }

    /// `event`, `actor.role` and `message.internal`: known only when a trigger runs.
    pub fn is_trigger_only(&self) -> bool {
        matches!(
            self,
            Field::Event | Field::ActorRole | Field::MessageInternal
        )
    }

    /// The `hours_since_*` fields, which change with time alone.
    pub fn is_time_based(&self) -> bool {
        matches!(
            self,
            Field::HoursSinceCreated | Field::HoursSinceUpdated | Field::HoursSinceStatusChanged
        )
    }

    /// Whether conditions for `usage` may test this field: trigger-only fields in
    /// triggers only; SLA policies take no `hours_since_*`, `sla.*` or trigger-only field.
    pub fn allowed_in(&self, usage: Usage) -> bool {
        match usage {
            Usage::Trigger => true,
            Usage::View | Usage::Automation => !self.is_trigger_only(),
            Usage::Sla => {
                !self.is_trigger_only() && !self.is_time_based() && *self != Field::SlaBreached
            }
        }
    }

    /// The operators this field takes; a custom field's follow its type (`None` for a
    /// custom field: not known without the [`Schema`](super::Schema)).
    pub fn ops(&self, custom: Option<FieldType>) -> &'static [Op] {
        use Op::*;
        match self {
            Field::Status | Field::StatusCategory => &[Eq, Ne, In, NotIn],
            Field::Priority => &[Eq, Ne, In, NotIn, Gt, Lt],
            Field::AssigneeId
            | Field::RequesterId
            | Field::GroupId
            | Field::RequesterOrganizationId => &[Eq, Ne, In, NotIn, IsSet, IsNotSet],
            Field::Tags => &[Contains, In, NotIn, IsSet, IsNotSet],
            Field::Subject => &[Eq, Ne, Contains],
            Field::Snoozed | Field::SlaBreached | Field::MessageInternal => &[Eq],
            Field::HoursSinceCreated
            | Field::HoursSinceUpdated
            | Field::HoursSinceStatusChanged => &[Gt, Lt],
            Field::Event => &[Eq, In],
            Field::ActorRole => &[Eq, Ne, In, NotIn],
            Field::Custom(_) => custom.map_or(&[], FieldType::ops),
        }
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// A predicate's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `eq`.
    Eq,
    /// `ne`.
    Ne,
    /// `in`: one of the listed values (for lists: has one of them).
    In,
    /// `not_in`: none of the listed values (for lists: has none of them).
    NotIn,
    /// `gt`.
    Gt,
    /// `lt`.
    Lt,
    /// `contains`: a case-insensitive substring of a text; a list has the value.
    Contains,
    /// `is_set`.
    IsSet,
    /// `is_not_set`.
    IsNotSet,
}

impl Op {
    /// Every operator.
    pub const ALL: [Op; 9] = [
        Op::Eq,
        Op::Ne,
        Op::In,
        Op::NotIn,
        Op::Gt,
        Op::Lt,
        Op::Contains,
        Op::IsSet,
        Op::IsNotSet,
    ];

    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::In => "in",
            Op::NotIn => "not_in",
            Op::Gt => "gt",
            Op::Lt => "lt",
            Op::Contains => "contains",
            Op::IsSet => "is_set",
            Op::IsNotSet => "is_not_set",
        }
    }

    /// The operator called `name`.
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.as_str() == name)
    }

    /// `in` and `not_in`, which take a list of 1..=[`MAX_LIST`](super::MAX_LIST) values.
    pub fn takes_list(self) -> bool {
        matches!(self, Op::In | Op::NotIn)
    }

    /// `is_set` and `is_not_set`, which take no value.
    pub fn takes_no_value(self) -> bool {
        matches!(self, Op::IsSet | Op::IsNotSet)
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a condition is used, which decides the fields it may test
/// ([`Field::allowed_in`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Usage {
    /// A saved view's filter.
    View,
    /// An SLA policy's condition.
    Sla,
    /// A trigger's condition.
    Trigger,
    /// An automation's condition.
    Automation,
}

impl Usage {
    pub(super) fn refusal(self, field: &Field) -> String {
        match self {
            Usage::Sla if !field.is_trigger_only() => {
                format!("`{field}` is not allowed in an SLA policy's condition")
            }
            _ => format!("`{field}` is for triggers only"),
        }
    }
}

/// A custom field's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// 1..=10,000 characters.
    Text,
    /// A number, |x| ≤ 10^15.
    Number,
    /// `YYYY-MM-DD`.
    Date,
    /// One of the field's options.
    Select,
    /// A non-empty list of distinct options.
    Multiselect,
    /// `true` or `false`; unset reads as `false`.
    Checkbox,
}

impl FieldType {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Number => "number",
            FieldType::Date => "date",
            FieldType::Select => "select",
            FieldType::Multiselect => "multiselect",
            FieldType::Checkbox => "checkbox",
        }
    }

    /// The operators conditions may apply to a field of this type.
    pub fn ops(self) -> &'static [Op] {
        use Op::*;
        match self {
            FieldType::Text => &[Eq, Ne, Contains, IsSet, IsNotSet],
            FieldType::Number | FieldType::Date => &[Eq, Ne, Gt, Lt, IsSet, IsNotSet],
            FieldType::Select => &[Eq, Ne, In, NotIn, IsSet, IsNotSet],
            FieldType::Multiselect => &[Contains, In, NotIn, IsSet, IsNotSet],
            FieldType::Checkbox => &[Eq],
        }
    }
}
