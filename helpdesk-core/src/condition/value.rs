//! What predicates compare with: typed values, the events triggers run on, the roles of
//! those who cause them.

use uuid::Uuid;

use crate::event::EventKind;
use crate::principal::{Principal, Role};
use crate::status::StatusCategory;
use crate::ticket::Priority;

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
    Category(StatusCategory),
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
