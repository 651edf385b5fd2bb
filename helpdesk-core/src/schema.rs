//! What tickets are made of in an installation: its statuses ([`crate::status`]) and
//! custom fields ([`crate::custom_field`]), with the SLA policies and the automations that
//! count hours, read once per operation ([`crate::Helpdesk::ticket_schema`]: from the
//! instance's copy while the store's schema stamp stands) for the checks on ticket input,
//! conditions, and rendering tickets ([`ticket_json_for`]).

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::condition::Condition;
use crate::custom_field::{FieldType, Fields};
use crate::principal::TicketView;
use crate::rule::Rule;
use crate::sla::{Metric, TicketSla};
use crate::sla_policy::SlaRules;
use crate::status::{StatusCategory, StatusKey, Statuses};
use crate::ticket::{FieldValues, Priority, Ticket};
use crate::wire::{Ts, opt_ts};

/// The statuses, custom fields and SLA rules in force when it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketSchema {
    /// The statuses.
    pub statuses: Statuses,
    /// The custom fields.
    pub fields: Fields,
    /// The SLA policies and their calendars.
    pub sla: SlaRules,
    /// The conditions of the active automations that count hours
    /// ([`crate::rule::Rule::counts_hours`]): what [`TicketSchema::settle`] schedules.
    pub automations: Vec<Condition>,
    /// When it was read: the instant renderings refer to (`sla.breached`).
    pub at: DateTime<Utc>,
}

impl TicketSchema {
    /// The five default statuses only, no custom field, no SLA, at `at`.
    pub fn defaults(at: DateTime<Utc>) -> Self {
        TicketSchema {
            statuses: Statuses::defaults(),
            fields: Fields::default(),
            sla: SlaRules::default(),
            automations: Vec::new(),
            at,
        }
    }

    /// Settles what follows from time on `t` under this schema, as of `now`: its SLA
    /// ([`crate::sla_policy::settle`]) and when an automation's hours next turn on it
    /// ([`crate::rule::next_instant`]; never on a closed ticket, where automations do not
    /// run). Every ticket write that can move them calls it, so the ticket's due instant
    /// ([`crate::schedule::next_due_at`]) is written with the change.
    pub fn settle(&self, t: &mut Ticket, now: DateTime<Utc>) {
        crate::sla_policy::settle(t, &self.sla, now);
        t.automation_at = match t.status_category {
            StatusCategory::Closed => None,
            _ => crate::rule::next_instant(&self.automations, t, now),
        };
    }
}

impl crate::condition::Schema for TicketSchema {
    fn field_type(&self, key: &str) -> Option<FieldType> {
        self.fields.field_type(key)
    }
    fn is_option(&self, key: &str, value: &str) -> bool {
        self.fields.is_option(key, value)
    }
    fn status(&self, key: &str) -> Option<bool> {
        self.statuses.get(key).map(|s| s.active)
    }
}

/// What a [`TicketSchema`] is made of, as the store held it at one schema stamp
/// ([`crate::store::SchemaStore::schema_stamp`]): read once and shared by every
/// operation of the instance until the stamp moves ([`crate::stamped::Stamped`]).
#[derive(Debug)]
pub(crate) struct Definitions {
    /// The statuses.
    pub statuses: Statuses,
    /// The custom fields.
    pub fields: Fields,
    /// The active SLA policies and their calendars.
    pub sla: SlaRules,
    /// Every rule, by `(position, id)`.
    pub rules: Vec<Rule>,
}

impl Definitions {
    /// The schema of a ticket operation at `at`.
    pub fn schema(&self, at: DateTime<Utc>) -> TicketSchema {
        TicketSchema {
            statuses: self.statuses.clone(),
            fields: self.fields.clone(),
            sla: self.sla.clone(),
            automations: self
                .rules
                .iter()
                .filter(|r| r.counts_hours())
                .map(|r| r.condition.clone())
                .collect(),
            at,
        }
    }
}

/// The API rendering of a ticket (responses and event payloads).
#[derive(Serialize)]
pub struct TicketJson<'a> {
    id: Uuid,
    number: i64,
    subject: &'a str,
    description: &'a str,
    status: &'a StatusKey,
    status_id: Uuid,
    status_category: StatusCategory,
    status_label: &'a str,
    priority: Priority,
    requester_id: Uuid,
    assignee_id: Option<Uuid>,
    /// Staff only: absent, not `null`, in the customer view.
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<Uuid>,
    organization_id: Option<Uuid>,
    cc: &'a [Uuid],
    /// Staff only, like `group_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    followers: Option<&'a [Uuid]>,
    tags: &'a [String],
    fields: FieldValues,
    conversation_id: Uuid,
    created_at: Ts,
    updated_at: Ts,
    first_response_at: Option<Ts>,
    resolved_at: Option<Ts>,
    closed_at: Option<Ts>,
    merged_into_id: Option<Uuid>,
    merged_ids: &'a [Uuid],
    channel: crate::ticket::Channel,
    mailbox_id: Option<Uuid>,
    follow_up_of: Option<Uuid>,
    /// Staff only (`null` when not snoozed), like `group_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    snoozed_until: Option<Option<Ts>>,
    /// Staff only, like `snoozed_until`.
    #[serde(skip_serializing_if = "Option::is_none")]
    snooze_wake_on_reply: Option<Option<bool>>,
    /// Staff only (`null` without a policy), like `group_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    sla: Option<Option<SlaJson>>,
}

/// A ticket's `sla` (API-workflow.md "SLA policies").
#[derive(Serialize)]
pub struct SlaJson {
    policy_id: Uuid,
    first_response_due_at: Option<Ts>,
    next_response_due_at: Option<Ts>,
    resolution_due_at: Option<Ts>,
    breached: Vec<Metric>,
    paused: bool,
}

impl SlaJson {
    /// The `sla` of a ticket whose SLA is `sla` in category `category`, at `now`.
    fn of(sla: &TicketSla, now: DateTime<Utc>) -> Option<SlaJson> {
        let due = |m| sla.running(m).map(|d| Ts(d.due_at));
        Some(SlaJson {
            policy_id: sla.policy_id?,
            first_response_due_at: due(Metric::FirstResponse),
            next_response_due_at: due(Metric::NextResponse),
            resolution_due_at: due(Metric::Resolution),
            breached: sla.breached(now),
            paused: sla.paused,
        })
    }
}

/// The API rendering of a ticket for `view` under `schema`.
pub fn ticket_json_for<'a>(
    t: &'a Ticket,
    view: TicketView,
    schema: &'a TicketSchema,
) -> TicketJson<'a> {
    let statuses = &schema.statuses;
    let staff = view == TicketView::Staff;
    TicketJson {
        id: t.id,
        number: t.number,
        subject: &t.subject,
        description: &t.description,
        status: &t.status,
        status_id: statuses.id(&t.status),
        status_category: t.status_category,
        status_label: statuses.label(&t.status, view),
        priority: t.priority,
        requester_id: t.requester_id,
        assignee_id: t.assignee_id,
        group_id: (view == TicketView::Staff).then_some(t.group_id),
        organization_id: t.organization_id,
        cc: &t.cc,
        followers: (view == TicketView::Staff).then_some(&t.followers[..]),
        tags: &t.tags,
        fields: schema.fields.shown(&t.fields, view),
        conversation_id: t.conversation_id,
        created_at: Ts(t.created_at),
        updated_at: Ts(t.updated_at),
        first_response_at: opt_ts(t.first_response_at),
        resolved_at: opt_ts(t.resolved_at),
        closed_at: opt_ts(t.closed_at),
        merged_into_id: t.merged_into_id,
        merged_ids: &t.merged_ids,
        channel: t.channel,
        mailbox_id: t.mailbox_id,
        follow_up_of: t.follow_up_of,
        snoozed_until: staff.then_some(t.snooze.map(|s| Ts(s.until))),
        snooze_wake_on_reply: staff.then_some(t.snooze.map(|s| s.wake_on_reply)),
        sla: staff.then(|| SlaJson::of(&t.sla, schema.at)),
    }
}
