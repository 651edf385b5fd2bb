//! Evaluating conditions over [`TicketFacts`]: what the caller knows of a ticket and the
//! moment, as plain data, so that every caller (views, SLA selection, rules, a store's
//! own filter under test) evaluates the same way.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{ActorRole, Condition, Field, Op, Operand, Predicate, TriggerEvent, Value};
use crate::status::StatusCategory;
use crate::ticket::{Priority, Ticket};

/// A custom field's value on a ticket.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// `text`.
    Text(String),
    /// `number`.
    Number(f64),
    /// `date`.
    Date(NaiveDate),
    /// `select`: the option.
    Select(String),
    /// `multiselect`: the options (not empty).
    Multiselect(Vec<String>),
    /// `checkbox`.
    Checkbox(bool),
}

impl FieldValue {
    /// A value as a ticket keeps it (JSON): a string (text, date, select: they compare
    /// alike), a number, a boolean, or a list of options.
    pub fn from_json(v: &serde_json::Value) -> Option<FieldValue> {
        use serde_json::Value as J;
        match v {
            J::String(s) => Some(FieldValue::Text(s.clone())),
            J::Number(n) => n.as_f64().map(FieldValue::Number),
            J::Bool(b) => Some(FieldValue::Checkbox(*b)),
            J::Array(items) => Some(FieldValue::Multiselect(
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(String::from))
                    .collect(),
            )),
            _ => None,
        }
    }
}

/// What a condition is evaluated over: a ticket and its context, filled by the caller.
/// `None` (and an empty list) is unset.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketFacts {
    /// The status key.
    pub status: String,
    /// The status's category (today's five statuses are the five categories).
    pub status_category: StatusCategory,
    /// The priority.
    pub priority: Priority,
    /// The assignee.
    pub assignee_id: Option<Uuid>,
    /// The requester.
    pub requester_id: Uuid,
    /// The group.
    pub group_id: Option<Uuid>,
    /// The requester's organization: the ticket's `organization_id`, which is the
    /// requester's organization when the ticket was opened.
    pub requester_organization_id: Option<Uuid>,
    /// The tags, folded (as tickets keep them).
    pub tags: Vec<String>,
    /// The subject.
    pub subject: String,
    /// Whether the ticket is snoozed.
    pub snoozed: bool,
    /// Whether a running SLA cycle is past due.
    pub sla_breached: bool,
    /// The custom fields' values, by key (an unset field is absent).
    pub fields: BTreeMap<String, FieldValue>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last updated.
    pub updated_at: DateTime<Utc>,
    /// The last status change (`None`: never, so creation counts).
    pub status_changed_at: Option<DateTime<Utc>>,
    /// The moment `hours_since_*` count to.
    pub now: DateTime<Utc>,
    /// Triggers: the event the trigger runs on.
    pub event: Option<TriggerEvent>,
    /// Triggers: who caused it.
    pub actor_role: Option<ActorRole>,
    /// Triggers on `message.created`: whether the message is internal.
    pub message_internal: Option<bool>,
}

impl TicketFacts {
    /// What `t` itself tells, at `now`: its status's key and category, its last status
    /// change, its snooze, its SLA, its custom field values; no trigger context. A
    /// caller that knows more sets it.
    pub fn of(t: &Ticket, now: DateTime<Utc>) -> TicketFacts {
        TicketFacts {
            status: t.status.as_str().to_string(),
            status_category: t.status_category,
            priority: t.priority,
            assignee_id: t.assignee_id,
            requester_id: t.requester_id,
            // Records from before groups read as nil.
            group_id: (!t.group_id.is_nil()).then_some(t.group_id),
            requester_organization_id: t.organization_id,
            tags: t.tags.clone(),
            subject: t.subject.clone(),
            snoozed: t.snooze.is_some(),
            sla_breached: !t.sla.breached(now).is_empty(),
            fields: t
                .fields
                .iter()
                .filter_map(|(k, v)| FieldValue::from_json(v).map(|v| (k.clone(), v)))
                .collect(),
            created_at: t.created_at,
            updated_at: t.updated_at,
            status_changed_at: t.status_changed_at,
            now,
            event: None,
            actor_role: None,
            message_internal: None,
        }
    }

    /// What a field holds.
    fn fact(&self, field: &Field) -> Fact<'_> {
        let id = |id: Option<Uuid>| id.map_or(Fact::Unset, |id| Fact::One(Atom::Id(id)));
        let hours = |at: DateTime<Utc>| Fact::One(Atom::Number(hours_between(at, self.now)));
        match field {
            Field::Status => Fact::One(Atom::Text(Cow::Borrowed(&self.status))),
            Field::StatusCategory => Fact::One(Atom::Category(self.status_category)),
            Field::Priority => Fact::One(Atom::Priority(self.priority)),
            Field::AssigneeId => id(self.assignee_id),
            Field::RequesterId => id(Some(self.requester_id)),
            Field::GroupId => id(self.group_id),
            Field::RequesterOrganizationId => id(self.requester_organization_id),
            Field::Tags => list(&self.tags),
            Field::Subject => Fact::One(Atom::Text(Cow::Borrowed(&self.subject))),
            Field::Snoozed => Fact::One(Atom::Bool(self.snoozed)),
            Field::SlaBreached => Fact::One(Atom::Bool(self.sla_breached)),
            Field::Custom(key) => match self.fields.get(key) {
                None => Fact::Unset,
                Some(FieldValue::Text(s) | FieldValue::Select(s)) => {
                    Fact::One(Atom::Text(Cow::Borrowed(s)))
                }
                Some(FieldValue::Number(n)) => Fact::One(Atom::Number(*n)),
                // `YYYY-MM-DD` orders as the days do.
                Some(FieldValue::Date(d)) => {
                    Fact::One(Atom::Text(Cow::Owned(d.format("%Y-%m-%d").to_string())))
                }
                Some(FieldValue::Multiselect(items)) => list(items),
                Some(FieldValue::Checkbox(b)) => Fact::One(Atom::Bool(*b)),
            },
            Field::HoursSinceCreated => hours(self.created_at),
            Field::HoursSinceUpdated => hours(self.updated_at),
            Field::HoursSinceStatusChanged => {
                hours(self.status_changed_at.unwrap_or(self.created_at))
            }
            Field::Event => self
                .event
                .map_or(Fact::Unset, |e| Fact::One(Atom::Event(e))),
            Field::ActorRole => self
                .actor_role
                .map_or(Fact::Unset, |r| Fact::One(Atom::Role(r))),
            Field::MessageInternal => self
                .message_internal
                .map_or(Fact::Unset, |b| Fact::One(Atom::Bool(b))),
        }
    }
}

/// A list's fact: unset when empty.
fn list(items: &[String]) -> Fact<'_> {
    if items.is_empty() {
        Fact::Unset
    } else {
        Fact::Set(items)
    }
}

/// Fractional hours from `from` to `to` (negative if `to` is earlier).
fn hours_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    let d = to - from;
    match d.num_microseconds() {
        Some(us) => us as f64 / 3_600_000_000.0,
        // Beyond ±292,000 years in microseconds.
        None => d.num_seconds() as f64 / 3_600.0,
    }
}

/// What a ticket's field holds.
enum Fact<'a> {
    /// Nothing (an empty list included).
    Unset,
    /// One value.
    One(Atom<'a>),
    /// A non-empty list (tags, a multiselect).
    Set(&'a [String]),
}

/// One value a ticket's field holds; compared with [`Operand`]s of the same variant.
enum Atom<'a> {
    Text(Cow<'a, str>),
    Number(f64),
    Bool(bool),
    Id(Uuid),
    Priority(Priority),
    Category(StatusCategory),
    Event(TriggerEvent),
    Role(ActorRole),
}

impl Atom<'_> {
    /// Equal to `o` (strings exactly); a value of another type never is.
    fn equals(&self, o: &Operand) -> bool {
        match (self, o) {
            (Atom::Text(a), Operand::Text(b)) => a == b,
            (Atom::Number(a), Operand::Number(b)) => a == b,
            (Atom::Bool(a), Operand::Bool(b)) => a == b,
            (Atom::Id(a), Operand::Id(b)) => a == b,
            (Atom::Priority(a), Operand::Priority(b)) => a == b,
            (Atom::Category(a), Operand::Category(b)) => a == b,
            (Atom::Event(a), Operand::Event(b)) => a == b,
            (Atom::Role(a), Operand::Role(b)) => a == b,
            _ => false,
        }
    }

    /// How it orders against `o`: priorities by rank, numbers, texts (dates) by
    /// characters; `None` for anything else.
    fn order(&self, o: &Operand) -> Option<Ordering> {
        match (self, o) {
            (Atom::Priority(a), Operand::Priority(b)) => Some(a.cmp(b)),
            (Atom::Number(a), Operand::Number(b)) => a.partial_cmp(b),
            (Atom::Text(a), Operand::Text(b)) => Some(a.as_ref().cmp(b.as_str())),
            _ => None,
        }
    }

    /// Whether `o` is a case-insensitive substring of this text.
    fn contains(&self, o: &Operand) -> bool {
        match (self, o) {
            (Atom::Text(a), Operand::Text(b)) => a.to_lowercase().contains(&b.to_lowercase()),
            _ => false,
        }
    }
}

/// The outcome of a condition, predicate by predicate (a rule's dry run shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// Whether the condition holds.
    pub matches: bool,
    /// Each `all` predicate's outcome, in order.
    pub all: Vec<bool>,
    /// Each `any` predicate's outcome, in order.
    pub any: Vec<bool>,
}

impl Condition {
    /// Whether the ticket `facts` describes satisfies the condition: every `all`
    /// predicate holds and, if `any` is not empty, one `any` predicate holds.
    pub fn matches(&self, facts: &TicketFacts) -> bool {
        self.all.iter().all(|p| p.matches(facts))
            && (self.any.is_empty() || self.any.iter().any(|p| p.matches(facts)))
    }

    /// [`Condition::matches`] with each predicate's outcome.
    pub fn evaluate(&self, facts: &TicketFacts) -> Evaluation {
        let all: Vec<bool> = self.all.iter().map(|p| p.matches(facts)).collect();
        let any: Vec<bool> = self.any.iter().map(|p| p.matches(facts)).collect();
        Evaluation {
            matches: all.iter().all(|b| *b) && (any.is_empty() || any.iter().any(|b| *b)),
            all,
            any,
        }
    }
}

impl Predicate {
    /// Whether the predicate holds for the ticket `facts` describes. `ne`, `not_in` and
    /// `is_not_set` are the negations of `eq`, `in` and `is_set`, so on an unset field
    /// they, and only they, hold; a checkbox reads unset as `false`.
    pub fn matches(&self, facts: &TicketFacts) -> bool {
        let mut fact = facts.fact(&self.field);
        if let (Fact::Unset, Field::Custom(_), Value::One(Operand::Bool(_))) =
            (&fact, &self.field, &self.value)
        {
            fact = Fact::One(Atom::Bool(false));
        }
        match self.op {
            Op::Ne => !holds(&fact, Op::Eq, &self.value),
            Op::NotIn => !holds(&fact, Op::In, &self.value),
            Op::IsNotSet => !holds(&fact, Op::IsSet, &self.value),
            op => holds(&fact, op, &self.value),
        }
    }
}

/// Whether a positive operator (`eq`, `in`, `gt`, `lt`, `contains`, `is_set`) holds.
/// Nothing holds on an unset field.
fn holds(fact: &Fact<'_>, op: Op, value: &Value) -> bool {
    match (fact, op, value) {
        (Fact::Unset, _, _) => false,
        (_, Op::IsSet, _) => true,
        (Fact::One(a), Op::Eq, Value::One(o)) => a.equals(o),
        (Fact::One(a), Op::In, Value::Many(os)) => os.iter().any(|o| a.equals(o)),
        (Fact::One(a), Op::Gt, Value::One(o)) => a.order(o) == Some(Ordering::Greater),
        (Fact::One(a), Op::Lt, Value::One(o)) => a.order(o) == Some(Ordering::Less),
        (Fact::One(a), Op::Contains, Value::One(o)) => a.contains(o),
        // A list contains a value it has, is `in` a list it shares one with.
        (Fact::Set(items), Op::Contains, Value::One(Operand::Text(t))) => items.contains(t),
        (Fact::Set(items), Op::In, Value::Many(os)) => os
            .iter()
            .any(|o| matches!(o, Operand::Text(t) if items.contains(t))),
        _ => false,
    }
}
