//! The one condition language of API-workflow.md, which SLA policies, views, triggers and
//! automations share: the types ([`Condition`], [`Predicate`], [`Field`], [`Op`],
//! [`Value`]), parsing with the checks a saved condition passes ([`Condition::parse`]),
//! and evaluation over what is known of a ticket ([`TicketFacts`],
//! [`Condition::matches`]). Pure: no store, no HTTP.
//!
//! `{"all": [P, ...], "any": [P, ...]}`, `P = {"field", "op", "value"}`: every `all`
//! holds and, if `any` is not empty, one `any` holds (`{}` matches every ticket).
//!
//! What parsing cannot know is the caller's to supply or check: the statuses and custom
//! fields that exist come through a [`Schema`]; the ids a condition names (users, groups,
//! organizations) are listed by [`Condition::references`] for the caller to look up.
//! A condition read back from a store deserializes without a schema (it was checked when
//! saved), so [`Condition`] is `Serialize` and `Deserialize` in its API shape.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, FieldError};
use crate::event::EventKind;
use crate::principal::{Principal, Role};
use crate::ticket::{Priority, TicketStatus};

#[cfg(any(test, feature = "testkit"))]
pub mod arbitrary;
mod eval;
mod parse;
#[cfg(test)]
mod tests;

pub use eval::{Evaluation, FieldValue, TicketFacts};

/// Most predicates in one condition, `all` and `any` together.
pub const MAX_PREDICATES: usize = 50;
/// Most values an `in` or `not_in` takes.
pub const MAX_LIST: usize = 100;

/// A condition: every `all` predicate holds and, if `any` is not empty, one `any` holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Condition {
    /// Predicates that must all hold.
    pub all: Vec<Predicate>,
    /// Predicates of which one must hold, unless there are none.
    pub any: Vec<Predicate>,
}

/// One test of one field of a ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    /// What is tested.
    pub field: Field,
    /// How.
    pub op: Op,
    /// Against what ([`Value::None`] for `is_set`, `is_not_set`).
    pub value: Value,
}

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
    /// `field.<key>`: a custom field, typed by the [`Schema`].
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
    /// key exists is the [`Schema`]'s to say).
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
    /// custom field: not known without the [`Schema`]).
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

    /// `in` and `not_in`, which take a list of 1..=[`MAX_LIST`] values.
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

/// What a predicate compares with.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value: `is_set`, `is_not_set`.
    None,
    /// One value.
    One(Operand),
    /// The list of `in`, `not_in`.
    Many(Vec<Operand>),
}

/// One value in a predicate, typed by its field.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A status key, a subject, a tag (folded), or a custom `text`, `select` or
    /// `multiselect` value, or a custom `date` as `YYYY-MM-DD` (which orders as text).
    Text(String),
    /// Hours (`hours_since_*`), or a custom `number`.
    Number(f64),
    /// `snoozed`, `sla.breached`, `message.internal`, a custom `checkbox`.
    Bool(bool),
    /// A user, group or organization.
    Id(Uuid),
    /// A priority.
    Priority(Priority),
    /// A status category.
    Category(TicketStatus),
    /// An event a trigger runs on.
    Event(TriggerEvent),
    /// The role of the one who caused it.
    Role(ActorRole),
}

impl Operand {
    /// Its JSON form; integral numbers are written as integers.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Operand::Text(s) => J::String(s.clone()),
            Operand::Number(n) => number_json(*n),
            Operand::Bool(b) => J::Bool(*b),
            Operand::Id(id) => J::String(id.to_string()),
            Operand::Priority(p) => J::String(p.as_str().into()),
            Operand::Category(c) => J::String(c.as_str().into()),
            Operand::Event(e) => J::String(e.as_str().into()),
            Operand::Role(r) => J::String(r.as_str().into()),
        }
    }
}

/// A number as JSON: an integer when it is one (so `2` reads back as `2`, not `2.0`).
fn number_json(n: f64) -> serde_json::Value {
    // 2^53: every integer up to it is exact in an f64.
    if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0 {
        serde_json::Value::from(n as i64)
    } else {
        serde_json::Value::from(n)
    }
}

/// The events triggers run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriggerEvent {
    /// `ticket.created`.
    TicketCreated,
    /// `ticket.updated`.
    TicketUpdated,
    /// `message.created` (in a ticket's conversation).
    MessageCreated,
    /// `ticket.unsnoozed`.
    TicketUnsnoozed,
    /// `ticket.sla_warning`.
    TicketSlaWarning,
    /// `ticket.sla_breached`.
    TicketSlaBreached,
    /// `csat.responded`.
    CsatResponded,
}

impl TriggerEvent {
    /// Every one.
    pub const ALL: [TriggerEvent; 7] = [
        TriggerEvent::TicketCreated,
        TriggerEvent::TicketUpdated,
        TriggerEvent::MessageCreated,
        TriggerEvent::TicketUnsnoozed,
        TriggerEvent::TicketSlaWarning,
        TriggerEvent::TicketSlaBreached,
        TriggerEvent::CsatResponded,
    ];

    /// The event type's dotted name.
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerEvent::TicketCreated => "ticket.created",
            TriggerEvent::TicketUpdated => "ticket.updated",
            TriggerEvent::MessageCreated => "message.created",
            TriggerEvent::TicketUnsnoozed => "ticket.unsnoozed",
            TriggerEvent::TicketSlaWarning => "ticket.sla_warning",
            TriggerEvent::TicketSlaBreached => "ticket.sla_breached",
            TriggerEvent::CsatResponded => "csat.responded",
        }
    }

    /// The one called `name`.
    pub fn from_name(name: &str) -> Option<TriggerEvent> {
        TriggerEvent::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// The trigger event of an event kind, if triggers run on it.
    pub fn of(kind: EventKind) -> Option<TriggerEvent> {
        TriggerEvent::from_name(kind.as_str())
    }
}

/// Who caused the event a trigger runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorRole {
    /// A customer.
    Customer,
    /// An agent.
    Agent,
    /// An admin.
    Admin,
    /// The system (a rule, the scheduler).
    System,
}

impl ActorRole {
    /// Every one.
    pub const ALL: [ActorRole; 4] = [
        ActorRole::Customer,
        ActorRole::Agent,
        ActorRole::Admin,
        ActorRole::System,
    ];

    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorRole::Customer => "customer",
            ActorRole::Agent => "agent",
            ActorRole::Admin => "admin",
            ActorRole::System => "system",
        }
    }

    /// The one called `name`.
    pub fn from_name(name: &str) -> Option<ActorRole> {
        ActorRole::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The role of one acting as `p`.
    pub fn of(p: &Principal) -> ActorRole {
        if p.is_system() {
            return ActorRole::System;
        }
        match p.role() {
            Role::Admin => ActorRole::Admin,
            Role::Agent => ActorRole::Agent,
            Role::Customer => ActorRole::Customer,
        }
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
    fn refusal(self, field: &Field) -> String {
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
        key.parse::<TicketStatus>().is_ok().then_some(true)
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

impl Condition {
    /// The condition `json` holds, checked for `usage` against `schema`, or every problem
    /// found, each at its JSON path under `path` (`condition.all[1].value`,
    /// `filter.any[0].op`): 422 `validation_failed`. A key that is not part of the
    /// language (`condition.all[0].valu`) is 422 `unknown_field` instead, as unknown keys
    /// come first in API.md's order of checks.
    ///
    /// ```
    /// use helpdesk_core::condition::{Condition, NoCustomFields, Usage};
    /// use helpdesk_core::serde_json::json;
    ///
    /// let c = Condition::parse(
    ///     &json!({"all": [{"field": "priority", "op": "gt", "value": "normal"}]}),
    ///     "filter",
    ///     Usage::View,
    ///     &NoCustomFields,
    /// )?;
    /// assert_eq!(c.all.len(), 1);
    ///
    /// let e = Condition::parse(
    ///     &json!({"any": [{"field": "priority", "op": "contains", "value": "high"}]}),
    ///     "filter",
    ///     Usage::View,
    ///     &NoCustomFields,
    /// )
    /// .unwrap_err();
    /// assert!(e.to_string().starts_with("filter.any[0].op "), "{e}");
    /// # Ok::<_, helpdesk_core::Error>(())
    /// ```
    pub fn parse(
        json: &serde_json::Value,
        path: &str,
        usage: Usage,
        schema: &dyn Schema,
    ) -> Result<Condition, Error> {
        parse::Parser::checking(usage, schema).condition(json, path)
    }

    /// True when the condition has no predicate (it matches every ticket).
    pub fn is_empty(&self) -> bool {
        self.all.is_empty() && self.any.is_empty()
    }

    /// Every predicate, `all` first, with its JSON path under `path`.
    pub fn predicates<'a>(
        &'a self,
        path: &'a str,
    ) -> impl Iterator<Item = (String, &'a Predicate)> + 'a {
        let all = self.all.iter().enumerate();
        let any = self.any.iter().enumerate();
        all.map(move |(i, p)| (format!("{path}.all[{i}]"), p))
            .chain(any.map(move |(i, p)| (format!("{path}.any[{i}]"), p)))
    }

    /// The ids the condition names, for the caller to check that they exist; paths are
    /// under `path` (`condition.all[1].value`, `condition.any[0].value[3]`).
    pub fn references(&self, path: &str) -> Vec<Reference> {
        let mut out = Vec::new();
        for (at, p) in self.predicates(path) {
            let target = match p.field {
                Field::AssigneeId | Field::RequesterId => Target::User,
                Field::GroupId => Target::Group,
                Field::RequesterOrganizationId => Target::Organization,
                _ => continue,
            };
            let mut push = |path: String, o: &Operand| {
                if let Operand::Id(id) = o {
                    out.push(Reference {
                        path,
                        target: target(*id),
                    })
                }
            };
            match &p.value {
                Value::None => {}
                Value::One(o) => push(format!("{at}.value"), o),
                Value::Many(os) => {
                    for (j, o) in os.iter().enumerate() {
                        push(format!("{at}.value[{j}]"), o)
                    }
                }
            }
        }
        out
    }

    /// Whether a predicate tests the status `key` (deleting it is then 409 `in_use`).
    pub fn names_status(&self, key: &str) -> bool {
        self.all.iter().chain(&self.any).any(|p| {
            p.field == Field::Status
                && match &p.value {
                    Value::One(Operand::Text(k)) => k == key,
                    Value::Many(os) => os.iter().any(|o| *o == Operand::Text(key.into())),
                    _ => false,
                }
        })
    }

    /// Whether a predicate tests the custom field `key` (deleting it is then 409
    /// `in_use`).
    pub fn names_field(&self, key: &str) -> bool {
        self.all
            .iter()
            .chain(&self.any)
            .any(|p| matches!(&p.field, Field::Custom(k) if k == key))
    }

    /// Its JSON form: `{"all": [...], "any": [...]}`, leaving out an empty list (so `{}`
    /// reads back as `{}`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (name, list) in [("all", &self.all), ("any", &self.any)] {
            if !list.is_empty() {
                map.insert(name.into(), list.iter().map(Predicate::to_json).collect());
            }
        }
        serde_json::Value::Object(map)
    }
}

impl Predicate {
    /// Its JSON form `{"field", "op", "value"}` (no `value` for `is_set`, `is_not_set`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("field".into(), self.field.name().into());
        map.insert("op".into(), self.op.as_str().into());
        match &self.value {
            Value::None => {}
            Value::One(o) => {
                map.insert("value".into(), o.to_json());
            }
            Value::Many(os) => {
                map.insert("value".into(), os.iter().map(Operand::to_json).collect());
            }
        }
        serde_json::Value::Object(map)
    }
}

impl Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// Reads a condition as stored: checked when it was saved, so without a schema (a custom
/// field's value is typed by its JSON form) and for no particular usage.
impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = serde_json::Value::deserialize(d)?;
        parse::Parser::stored()
            .condition(&json, "condition")
            .map_err(serde::de::Error::custom)
    }
}

/// Checks a value for the custom field `key` of type `ty` as a ticket would hold it
/// (`text` 1..=10,000 characters, `number` |x| ≤ 10^15, `date` `YYYY-MM-DD`, `select` an
/// option, `multiselect` a non-empty list of distinct options, `checkbox` a boolean); the
/// message says what is wrong. `null` (clearing) is the caller's to allow.
pub fn check_field_value(
    schema: &dyn Schema,
    key: &str,
    ty: FieldType,
    value: &serde_json::Value,
) -> Result<(), String> {
    if ty == FieldType::Multiselect {
        let items = value
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| "must be a non-empty list of distinct options".to_string())?;
        for (i, item) in items.iter().enumerate() {
            parse::scalar_field_value(schema, key, ty, item)?;
            if items[..i].contains(item) {
                return Err("must be a non-empty list of distinct options".into());
            }
        }
        return Ok(());
    }
    parse::scalar_field_value(schema, key, ty, value).map(|_| ())
}

/// Collects [`FieldError`]s; unknown keys are kept apart (they answer first).
#[derive(Debug, Default)]
pub(crate) struct Problems {
    errors: Vec<FieldError>,
    unknown: Option<String>,
}

impl Problems {
    pub(crate) fn wrong(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// [`Problems::wrong`], as `None` for the thing that was wrong.
    pub(crate) fn none<T>(
        &mut self,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Option<T> {
        self.wrong(field, message);
        None
    }

    /// Notes the first key of `map` (at `path`) not among `known`.
    pub(crate) fn keys(
        &mut self,
        map: &serde_json::Map<String, serde_json::Value>,
        path: &str,
        known: &[&str],
    ) {
        if self.unknown.is_none()
            && let Some(k) = map.keys().find(|k| !known.contains(&k.as_str()))
        {
            self.unknown = Some(format!("{path}.{k}"));
        }
    }

    /// `Ok(value)` when nothing was wrong.
    pub(crate) fn finish<T>(self, value: T) -> Result<T, Error> {
        if let Some(field) = self.unknown {
            return Err(Error::UnknownField(field));
        }
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(Error::Validation(self.errors))
        }
    }
}

/// One tag, folded as tickets keep it.
pub(crate) fn one_tag(v: &serde_json::Value) -> Result<String, &'static str> {
    const RULE: &str = "must be a tag: 1 to 50 letters, digits, '-', '_', '.' or spaces";
    let s = v.as_str().ok_or(RULE)?;
    match crate::tag::normalize_tags(&[s.to_string()]) {
        Ok(mut t) if t.len() == 1 => Ok(t.remove(0)),
        _ => Err(RULE),
    }
}

/// "a, b, c or d".
pub(crate) fn one_of<T: std::fmt::Display>(items: &[T]) -> String {
    let names: Vec<String> = items.iter().map(|i| i.to_string()).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}
