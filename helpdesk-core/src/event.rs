//! The event log: every change appends events in the same atomic store operation, and
//! [`crate::Helpdesk::subscribe`] streams them live. Here: the event types, their
//! audiences and the effects a change writes; the live tailer is in `ops/event.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::notification::Notification;
use crate::scope::Scope;
use crate::ticket::TicketEvent;

/// An event id. Ids increase in the order events become visible; the string form is
/// fixed width, so plain string order is delivery order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventId(pub u64);

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:020}", self.0)
    }
}

impl std::str::FromStr for EventId {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(crate::Error::invalid("after", "is not an event id"));
        }
        s.parse::<u64>()
            .map(EventId)
            .map_err(|_| crate::Error::invalid("after", "is not an event id"))
    }
}

impl Serialize for EventId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What an event is about. Serialized (in the log, on WebSockets, in webhook bodies) as
/// its dotted name, e.g. `message.created`; the payload each carries is given per variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EventKind {
    /// `message.created`: A message was sent: `{message}` as the sender sees it.
    #[serde(rename = "message.created")]
    MessageCreated,
    /// `message.updated`: A message was edited: `{message}`.
    #[serde(rename = "message.updated")]
    MessageUpdated,
    /// `message.deleted`: A message was deleted (its place stays): `{message}`.
    #[serde(rename = "message.deleted")]
    MessageDeleted,
    /// `message.read`: A member's read state moved: `{conversation_id, user_id, last_read_seq, message_id?}`.
    #[serde(rename = "message.read")]
    MessageRead,
    /// `message.delivered`: Messages reached a member: `{conversation_id, user_id, seq}`.
    #[serde(rename = "message.delivered")]
    MessageDelivered,
    /// `conversation.created`: A conversation was started: `{conversation}`.
    #[serde(rename = "conversation.created")]
    ConversationCreated,
    /// `conversation.updated`: A group was renamed: `{conversation}`.
    #[serde(rename = "conversation.updated")]
    ConversationUpdated,
    /// `conversation.member_added`: A member joined: `{conversation_id, user_id}`.
    #[serde(rename = "conversation.member_added")]
    ConversationMemberAdded,
    /// `conversation.member_removed`: A member left or was removed: `{conversation_id, user_id}`.
    #[serde(rename = "conversation.member_removed")]
    ConversationMemberRemoved,
    /// `ticket.created`: A ticket was opened: `{ticket}`.
    #[serde(rename = "ticket.created")]
    TicketCreated,
    /// `ticket.updated`: A ticket changed: `{ticket, changes}` (the changed field names).
    #[serde(rename = "ticket.updated")]
    TicketUpdated,
    /// `group.created`: A group was created: `{group}`.
    #[serde(rename = "group.created")]
    GroupCreated,
    /// `group.updated`: A group changed (also the group that lost the default flag): `{group}`.
    #[serde(rename = "group.updated")]
    GroupUpdated,
    /// `group.deleted`: A group was deleted: `{group_id}`.
    #[serde(rename = "group.deleted")]
    GroupDeleted,
    /// `group.member_added`: A user joined a group: `{group_id, user_id, access}`.
    #[serde(rename = "group.member_added")]
    GroupMemberAdded,
    /// `group.member_updated`: A member's level changed: `{group_id, user_id, access}`.
    #[serde(rename = "group.member_updated")]
    GroupMemberUpdated,
    /// `group.member_removed`: A member left a group: `{group_id, user_id, access}` (the level they had).
    #[serde(rename = "group.member_removed")]
    GroupMemberRemoved,
    /// `organization.created`: An organization was created: `{organization}`.
    #[serde(rename = "organization.created")]
    OrganizationCreated,
    /// `organization.updated`: An organization changed: `{organization}`.
    #[serde(rename = "organization.updated")]
    OrganizationUpdated,
    /// `organization.deleted`: An organization was deleted (its users and tickets no longer name it): `{organization_id}`.
    #[serde(rename = "organization.deleted")]
    OrganizationDeleted,
    /// `notification.created`: A notification for its recipient: the notification itself (`{id, kind, title, body, data, read_at, created_at}`).
    #[serde(rename = "notification.created")]
    NotificationCreated,
    /// `webhook.test`: A test delivery to one webhook endpoint (`POST /api/webhooks/{id}/test`); never on live streams.
    #[serde(rename = "webhook.test")]
    WebhookTest,
    /// `message.unread`: A member marked messages unread again (`unread-from`), to their own connections only, never webhooked: `{conversation_id, user_id, last_read_seq, unread_count}`.
    #[serde(rename = "message.unread")]
    MessageUnread,
    /// `ticket.merged`: A ticket was merged into another: `{ticket_id, into_id}`.
    #[serde(rename = "ticket.merged")]
    TicketMerged,
    /// `ticket.unmerged`: A merged ticket was unmerged: `{ticket_id, into_id}` (the ticket it was merged into).
    #[serde(rename = "ticket.unmerged")]
    TicketUnmerged,
    /// `ticket.snoozed`: A ticket was snoozed (staff): `{ticket_id, until, wake_on_reply}`.
    #[serde(rename = "ticket.snoozed")]
    TicketSnoozed,
    /// `ticket.unsnoozed`: A ticket's snooze ended (staff): `{ticket_id, reason}` (`time`, `reply`, `manual`, `status`).
    #[serde(rename = "ticket.unsnoozed")]
    TicketUnsnoozed,
    /// `ticket.sla_warning`: Most of an SLA target has elapsed (staff): `{ticket_id, metric, cycle, due_at}`.
    #[serde(rename = "ticket.sla_warning")]
    TicketSlaWarning,
    /// `ticket.sla_breached`: An SLA target was missed (staff): `{ticket_id, metric, cycle, due_at}`.
    #[serde(rename = "ticket.sla_breached")]
    TicketSlaBreached,
    /// `ticket.sla_fulfilled`: An SLA cycle ended, in time or late (staff): `{ticket_id, metric, cycle, due_at, fulfilled_at, within_target}`.
    #[serde(rename = "ticket.sla_fulfilled")]
    TicketSlaFulfilled,
    /// `csat.responded`: A customer answered a CSAT survey (again: the last answer wins), to staff: `{survey_id, ticket_id, rating, comment, assignee_id}`.
    #[serde(rename = "csat.responded")]
    CsatResponded,
    /// `email.received`: A mailbox received a mail (ignored ones too), to staff: `{inbound}`.
    #[serde(rename = "email.received")]
    EmailReceived,
    /// `email.sent`: A server took an outbound mail, to staff: `{outbound}`.
    #[serde(rename = "email.sent")]
    EmailSent,
    /// `email.failed`: An outbound mail became `dead`, to staff: `{outbound}`.
    #[serde(rename = "email.failed")]
    EmailFailed,
    /// `email.bounced`: A delivery report named a recipient of our mail, to staff: `{inbound_id, outbound_id, ticket_id, recipient, status, action, permanent}`.
    #[serde(rename = "email.bounced")]
    EmailBounced,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 35] = [
        EventKind::MessageCreated,
        EventKind::MessageUpdated,
        EventKind::MessageDeleted,
        EventKind::MessageRead,
        EventKind::MessageDelivered,
        EventKind::ConversationCreated,
        EventKind::ConversationUpdated,
        EventKind::ConversationMemberAdded,
        EventKind::ConversationMemberRemoved,
        EventKind::TicketCreated,
        EventKind::TicketUpdated,
        EventKind::GroupCreated,
        EventKind::GroupUpdated,
        EventKind::GroupDeleted,
        EventKind::GroupMemberAdded,
        EventKind::GroupMemberUpdated,
        EventKind::GroupMemberRemoved,
        EventKind::OrganizationCreated,
        EventKind::OrganizationUpdated,
        EventKind::OrganizationDeleted,
        EventKind::NotificationCreated,
        EventKind::WebhookTest,
        EventKind::MessageUnread,
        EventKind::TicketMerged,
        EventKind::TicketUnmerged,
        EventKind::TicketSnoozed,
        EventKind::TicketUnsnoozed,
        EventKind::TicketSlaWarning,
        EventKind::TicketSlaBreached,
        EventKind::TicketSlaFulfilled,
        EventKind::CsatResponded,
        EventKind::EmailReceived,
        EventKind::EmailSent,
        EventKind::EmailFailed,
        EventKind::EmailBounced,
    ];

    /// The scope an API key needs to receive events of this kind (API-access.md):
    /// `tickets:read` for `ticket.*` and `group.*`, `users:read` for `organization.*`,
    /// `messages:read` for the others.
    pub fn scope(self) -> Scope {
        match self {
            EventKind::TicketCreated
            | EventKind::TicketUpdated
            | EventKind::TicketMerged
            | EventKind::TicketUnmerged
            | EventKind::TicketSnoozed
            | EventKind::TicketUnsnoozed
            | EventKind::TicketSlaWarning
            | EventKind::TicketSlaBreached
            | EventKind::TicketSlaFulfilled
            | EventKind::CsatResponded
            | EventKind::EmailReceived
            | EventKind::EmailSent
            | EventKind::EmailFailed
            | EventKind::EmailBounced
            | EventKind::GroupCreated
            | EventKind::GroupUpdated
            | EventKind::GroupDeleted
            | EventKind::GroupMemberAdded
            | EventKind::GroupMemberUpdated
            | EventKind::GroupMemberRemoved => Scope::TicketsRead,
            EventKind::OrganizationCreated
            | EventKind::OrganizationUpdated
            | EventKind::OrganizationDeleted => Scope::UsersRead,
            EventKind::MessageCreated
            | EventKind::MessageUpdated
            | EventKind::MessageDeleted
            | EventKind::MessageRead
            | EventKind::MessageDelivered
            | EventKind::ConversationCreated
            | EventKind::ConversationUpdated
            | EventKind::ConversationMemberAdded
            | EventKind::ConversationMemberRemoved
            | EventKind::NotificationCreated
            | EventKind::WebhookTest
            | EventKind::MessageUnread => Scope::MessagesRead,
        }
    }

    /// The dotted name (`message.created`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::MessageCreated => "message.created",
            EventKind::MessageUpdated => "message.updated",
            EventKind::MessageDeleted => "message.deleted",
            EventKind::MessageRead => "message.read",
            EventKind::MessageDelivered => "message.delivered",
            EventKind::ConversationCreated => "conversation.created",
            EventKind::ConversationUpdated => "conversation.updated",
            EventKind::ConversationMemberAdded => "conversation.member_added",
            EventKind::ConversationMemberRemoved => "conversation.member_removed",
            EventKind::TicketCreated => "ticket.created",
            EventKind::TicketUpdated => "ticket.updated",
            EventKind::GroupCreated => "group.created",
            EventKind::GroupUpdated => "group.updated",
            EventKind::GroupDeleted => "group.deleted",
            EventKind::GroupMemberAdded => "group.member_added",
            EventKind::GroupMemberUpdated => "group.member_updated",
            EventKind::GroupMemberRemoved => "group.member_removed",
            EventKind::OrganizationCreated => "organization.created",
            EventKind::OrganizationUpdated => "organization.updated",
            EventKind::OrganizationDeleted => "organization.deleted",
            EventKind::NotificationCreated => "notification.created",
            EventKind::WebhookTest => "webhook.test",
            EventKind::MessageUnread => "message.unread",
            EventKind::TicketMerged => "ticket.merged",
            EventKind::TicketUnmerged => "ticket.unmerged",
            EventKind::TicketSnoozed => "ticket.snoozed",
            EventKind::TicketUnsnoozed => "ticket.unsnoozed",
            EventKind::TicketSlaWarning => "ticket.sla_warning",
            EventKind::TicketSlaBreached => "ticket.sla_breached",
            EventKind::TicketSlaFulfilled => "ticket.sla_fulfilled",
            EventKind::CsatResponded => "csat.responded",
            EventKind::EmailReceived => "email.received",
            EventKind::EmailSent => "email.sent",
            EventKind::EmailFailed => "email.failed",
            EventKind::EmailBounced => "email.bounced",
        }
    }

    /// Whether a webhook endpoint may subscribe to this kind (`webhook.test` goes to the
    /// endpoint being tested only; `message.unread` is never webhooked).
    pub fn subscribable(self) -> bool {
        !matches!(self, EventKind::WebhookTest | EventKind::MessageUnread)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown event type {s:?}"))
    }
}

/// Who may see an event. A user sees it when any clause admits them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audience {
    /// These users.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<Uuid>,
    /// Every staff user (admins and agents).
    #[serde(default)]
    pub staff: bool,
    /// The members of this conversation at delivery time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<Uuid>,
    /// Only the staff among the other clauses' users (internal notes; ticket changes
    /// of staff-only fields).
    #[serde(default)]
    pub staff_only: bool,
    /// Only the `users` among the readers of the audience's conversation: news for a
    /// message's senders, each told only while they may read it (a sender who lost
    /// access to a ticket's conversation hears nothing more of its receipts).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub users_only: bool,
    /// Admins and the members of these groups at delivery time (a moved ticket's
    /// events: the group it left).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Uuid>,
    /// Whoever may see this ticket at delivery time: its requester and CCs, its
    /// organization's customers per its sharing, its group's members and the admins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<Uuid>,
    /// How customers see the event's ticket where it differs from what staff see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_view: Option<CustomerView>,
}

/// What a ticket event's customers see differently from staff (API-workflow.md: the
/// status's customer label; only `customer_visible` custom fields), recorded with the
/// event since labels and fields may change before it is delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerView {
    /// The status's `customer_label`.
    pub status_label: String,
    /// The keys of the custom fields customers do not see.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hidden_fields: Vec<String>,
}

impl Audience {
    /// Just these users.
    pub fn users(users: impl IntoIterator<Item = Uuid>) -> Self {
        Audience {
            users: users.into_iter().collect(),
            ..Default::default()
        }
    }
    /// The members of a conversation (staff members only when `internal`).
    pub fn conversation(id: Uuid, internal: bool) -> Self {
        Audience {
            conversation: Some(id),
            staff_only: internal,
            ..Default::default()
        }
    }
    /// These users while they may read conversation `id` (receipts for senders).
    pub fn readers_among(id: Uuid, users: impl IntoIterator<Item = Uuid>) -> Self {
        Audience {
            users: users.into_iter().collect(),
            conversation: Some(id),
            users_only: true,
            ..Default::default()
        }
    }
    /// Every staff user (the email channel's events, CSAT answers).
    pub fn staff() -> Self {
        Audience {
            staff: true,
            ..Default::default()
        }
    }
    /// Nobody on live channels (webhook-only events such as `webhook.test`).
    pub fn nobody() -> Self {
        Audience::default()
    }
}

/// The ticket fields customers never see, on any path.
pub const STAFF_ONLY_TICKET_FIELDS: [&str; 4] = [
    "group_id",
    "followers",
    "snoozed_until",
    "snooze_wake_on_reply",
];

/// An event before the store gives it an id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// What it is about.
    pub kind: EventKind,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who may see it.
    pub audience: Audience,
    /// The payload.
    pub data: serde_json::Value,
    /// When set, the webhook delivery goes to this endpoint only, whatever its filter
    /// (`webhook.test`); when unset, to every active endpoint subscribed to `kind`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_webhook: Option<Uuid>,
}

impl NewEvent {
    /// An event for every subscribed webhook.
    pub fn new(
        kind: EventKind,
        at: DateTime<Utc>,
        audience: Audience,
        data: serde_json::Value,
    ) -> Self {
        NewEvent {
            kind,
            at,
            audience,
            data,
            only_webhook: None,
        }
    }
}

/// [`NewEvent::only_webhook`] of an event that no webhook endpoint gets: news for the
/// actor's own connections ([`NewEvent::own_connections`]).
pub const NO_WEBHOOK: Uuid = Uuid::nil();

impl NewEvent {
    /// An event for `user`'s own connections only, never webhooked (a private read,
    /// `message.unread`).
    pub fn own_connections(
        kind: EventKind,
        at: DateTime<Utc>,
        user: Uuid,
        data: serde_json::Value,
    ) -> Self {
        NewEvent {
            only_webhook: Some(NO_WEBHOOK),
            ..NewEvent::new(kind, at, Audience::users([user]), data)
        }
    }
}

/// An event in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Its id.
    pub id: EventId,
    /// What it is about.
    pub kind: EventKind,
    /// When it happened.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub at: DateTime<Utc>,
    /// Who may see it.
    pub audience: Audience,
    /// The payload.
    pub data: serde_json::Value,
    /// See [`NewEvent::only_webhook`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_webhook: Option<Uuid>,
}

impl Event {
    /// The event as a customer sees it, when that differs: a ticket's group and
    /// followers are staff business ([`STAFF_ONLY_TICKET_FIELDS`]), so they leave
    /// `data.ticket` and `data.changes`. The log, webhooks and staff keep the whole
    /// event. (A change of nothing else has a staff-only audience.)
    pub fn customer_view(&self) -> Option<Event> {
        let view = self.audience.customer_view.as_ref();
        let hidden = |f: &str| {
            STAFF_ONLY_TICKET_FIELDS.contains(&f)
                || f.strip_prefix("fields.")
                    .is_some_and(|k| view.is_some_and(|v| v.hidden_fields.iter().any(|h| h == k)))
        };
        let staff_field = |f: &serde_json::Value| f.as_str().is_some_and(hidden);
        let in_ticket = self.data["ticket"]
            .as_object()
            .is_some_and(|t| STAFF_ONLY_TICKET_FIELDS.iter().any(|f| t.contains_key(*f)));
        let in_changes = self.data["changes"]
            .as_array()
            .is_some_and(|c| c.iter().any(staff_field));
        if !in_ticket && !in_changes && view.is_none() {
            return None;
        }
        let mut seen = self.clone();
        if let Some(ticket) = seen.data.get_mut("ticket").and_then(|t| t.as_object_mut()) {
            for f in STAFF_ONLY_TICKET_FIELDS {
                ticket.remove(f);
            }
            if let Some(view) = view {
                ticket.insert("status_label".into(), view.status_label.clone().into());
                if let Some(fields) = ticket.get_mut("fields").and_then(|f| f.as_object_mut()) {
                    for k in &view.hidden_fields {
                        fields.remove(k);
                    }
                }
            }
        }
        if let Some(changes) = seen.data.get_mut("changes").and_then(|c| c.as_array_mut()) {
            changes.retain(|f| !staff_field(f));
        }
        seen.audience.customer_view = None;
        Some(seen)
    }

    /// The event as `viewer` sees it ([`Event::customer_view`] for customers).
    pub fn seen_by(self: &Arc<Self>, viewer: &crate::Principal) -> Arc<Event> {
        match viewer.is_staff() {
            true => self.clone(),
            false => self.customer_view().map_or_else(|| self.clone(), Arc::new),
        }
    }

    /// The logged event for `new` with the id the store assigned.
    pub fn from_new(id: EventId, new: &NewEvent) -> Self {
        Event {
            id,
            kind: new.kind,
            at: new.at,
            audience: new.audience.clone(),
            data: new.data.clone(),
            only_webhook: new.only_webhook,
        }
    }
}

/// What a change writes besides its own records, in the same atomic store operation:
/// events (with their webhook deliveries), notifications, ticket timeline entries and
/// CSAT surveys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    /// Events to append, in order.
    pub events: Vec<NewEvent>,
    /// Notifications to insert.
    pub notifications: Vec<Notification>,
    /// Ticket timeline entries to insert.
    pub ticket_events: Vec<TicketEvent>,
    /// CSAT surveys to insert (a resolve's): one per `(ticket_id, cycle)`, a duplicate
    /// is skipped.
    pub surveys: Vec<crate::csat::Survey>,
    /// The email channel's records (inbound record, outbound mail, suppressions,
    /// bounces).
    pub mail: crate::email::MailEffects,
}

impl Effects {
    /// Marks what these effects write as made `via` a macro or rule: its timeline entries, and the
    /// `ticket.updated` and `message.created` events (a `via` key in their data). Nothing
    /// without a `via`.
    pub(crate) fn mark_via(&mut self, via: Option<crate::ticket::Via>) {
        let Some(via) = via else { return };
        for e in &mut self.ticket_events {
            e.via = Some(via);
        }
        for e in &mut self.events {
            if matches!(e.kind, EventKind::TicketUpdated | EventKind::MessageCreated)
                && let Some(data) = e.data.as_object_mut()
            {
                data.insert("via".into(), serde_json::json!(via));
            }
        }
    }

    /// No effects.
    pub fn none() -> Self {
        Effects::default()
    }
    /// Adds `other`'s effects after these.
    pub fn extend(&mut self, other: &Effects) {
        self.events.extend_from_slice(&other.events);
        self.notifications.extend_from_slice(&other.notifications);
        self.ticket_events.extend_from_slice(&other.ticket_events);
        self.surveys.extend_from_slice(&other.surveys);
        self.mail.extend(&other.mail);
    }
    /// Just one event.
    pub fn event(e: NewEvent) -> Self {
        Effects {
            events: vec![e],
            ..Default::default()
        }
    }
    /// Adds an event.
    pub fn push(&mut self, e: NewEvent) {
        self.events.push(e);
    }
    /// True when nothing is to be written.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.notifications.is_empty()
            && self.ticket_events.is_empty()
            && self.surveys.is_empty()
            && self.mail.is_empty()
    }
}

/// The live fan-out: one tailer per process reads the log after the last event it
/// broadcast and hands events to every subscriber. Local writes wake it at once; other
/// processes' writes through [`crate::store::EventStore::wait_for_external_events`], and
/// a slow poll catches anything else.
pub(crate) struct Live {
    pub(crate) sender: tokio::sync::broadcast::Sender<std::sync::Arc<Event>>,
    pub(crate) wake: std::sync::Arc<tokio::sync::Notify>,
    pub(crate) started: std::sync::Once,
    /// Turns true once the tailer has read where it starts (the log's end then):
    /// [`crate::Helpdesk::subscribe`] waits for it, so an event written after a
    /// subscription began is never behind the tailer's start.
    pub(crate) placed: tokio::sync::watch::Receiver<bool>,
    /// The sending half of `placed`, taken by the tailer when it starts.
    pub(crate) place: std::sync::Mutex<Option<tokio::sync::watch::Sender<bool>>>,
}

pub use tokio::sync::broadcast::error::RecvError;

/// A live event stream from [`crate::Helpdesk::subscribe`]: every event appended after
/// it began, in id order, as a [`Stream`](futures_util::Stream) or through
/// [`Subscription::recv`]. A subscriber that falls behind gets `Err(RecvError::Lagged(n))`
/// and should catch up with [`crate::Helpdesk::events_after`]; the stream ends when the
/// helpdesk is dropped.
pub struct Subscription {
    events: futures_util::stream::BoxStream<'static, Result<Arc<Event>, RecvError>>,
    /// The log's last event when the stream began; nothing at or before it is passed on.
    floor: Option<EventId>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("after", &self.floor)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// The stream of `rx` from after `floor`.
    pub(crate) fn new(
        rx: tokio::sync::broadcast::Receiver<Arc<Event>>,
        floor: Option<EventId>,
    ) -> Self {
        let events = futures_util::stream::unfold(rx, move |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(e) if floor.is_some_and(|f| e.id <= f) => continue,
                    Ok(e) => return Some((Ok(e), rx)),
                    Err(RecvError::Closed) => return None,
                    Err(lagged) => return Some((Err(lagged), rx)),
                }
            }
        });
        Subscription {
            events: Box::pin(events),
            floor,
        }
    }

    /// The next event, or `Lagged(n)` when `n` were dropped because this receiver fell
    /// behind (catch up with [`crate::Helpdesk::events_after`]), or `Closed`.
    pub async fn recv(&mut self) -> Result<Arc<Event>, RecvError> {
        use futures_util::StreamExt;
        self.events.next().await.unwrap_or(Err(RecvError::Closed))
    }

    /// The log's last event when the stream began (`None`: the log was empty): the
    /// stream holds exactly the events after it.
    pub fn after(&self) -> Option<EventId> {
        self.floor
    }
}

impl futures_util::Stream for Subscription {
    type Item = Result<Arc<Event>, RecvError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.events.as_mut().poll_next(cx)
    }
}

/// Why a user's live stream ([`crate::Helpdesk::subscribe_as`]) yields no event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    /// The stream fell behind and dropped this many events: catch up with
    /// [`crate::Helpdesk::events_after`] (filtered with [`crate::Helpdesk::may_see`]).
    #[error("the stream fell behind by {0} events")]
    Lagged(u64),
    /// Checking who may see an event failed, or the user may no longer act.
    #[error(transparent)]
    Check(#[from] crate::Error),
}

/// Events one subscriber may lag behind before it is told it missed some (it then
/// resumes from the log).
const LIVE_CAPACITY: usize = 4096;

impl Live {
    pub(crate) fn new() -> Self {
        let (place, placed) = tokio::sync::watch::channel(false);
        Live {
            sender: tokio::sync::broadcast::channel(LIVE_CAPACITY).0,
            wake: std::sync::Arc::new(tokio::sync::Notify::new()),
            started: std::sync::Once::new(),
            placed,
            place: std::sync::Mutex::new(Some(place)),
        }
    }
}

/// The audience of one event with its conversation's members read: see
/// [`crate::Helpdesk::viewers`].
#[derive(Debug, Clone)]
pub struct Viewers<'e> {
    /// The event's kind: a viewer acting through an API key needs its scope.
    pub(crate) kind: EventKind,
    pub(crate) audience: &'e Audience,
    /// The members of the audience's conversation, when it names one, sorted.
    pub(crate) members: Option<Arc<[Uuid]>>,
    /// The members of the audience's groups, or of the group of the ticket whose
    /// conversation the audience names, each sorted: staff outside them (admins
    /// excepted) do not see the event, members of the conversation or not. `None`
    /// when the audience names no group.
    pub(crate) group_members: Option<Vec<Arc<[Uuid]>>>,
    /// The customers who see the audience's ticket now (requester, CCs, colleagues),
    /// sorted.
    pub(crate) ticket_customers: Arc<[Uuid]>,
}

impl Viewers<'_> {
    /// Whether `viewer` may see the event (through an API key: only with the scope of
    /// its kind, [`EventKind::scope`]).
    pub fn includes(&self, viewer: &crate::Principal) -> bool {
        if !viewer.allows(self.kind.scope()) {
            return false;
        }
        let a = self.audience;
        if a.staff_only && !viewer.is_staff() {
            return false;
        }
        let listed = a.users.contains(&viewer.user_id);
        if a.users_only && !listed {
            return false;
        }
        if (listed && !a.users_only) || (a.staff && viewer.is_staff()) {
            return true;
        }
        let in_group = || {
            viewer.is_admin()
                || self.group_members.as_ref().is_some_and(|groups| {
                    groups
                        .iter()
                        .any(|g| g.binary_search(&viewer.user_id).is_ok())
                })
        };
        match &self.members {
            Some(members) => {
                let member = members.binary_search(&viewer.user_id).is_ok();
                // Staff read a ticket's conversation through its group: its events reach
                // the members among them, news for listed users (who may read it without
                // having joined) all of them.
                match viewer.is_staff() && self.group_members.is_some() {
                    true => in_group() && (member || a.users_only),
                    false => member,
                }
            }
            None => {
                (!a.groups.is_empty() || a.ticket.is_some())
                    && (in_group() || self.ticket_customers.binary_search(&viewer.user_id).is_ok())
            }
        }
    }

    /// Every user who may see the event is among these, unless it is `None` (every staff
    /// user may, or every admin): a server with many sockets checks just these users'
    /// ones.
    pub fn candidates(&self) -> Option<impl Iterator<Item = Uuid> + '_> {
        let a = self.audience;
        if a.staff || ((!a.groups.is_empty() || a.ticket.is_some()) && self.members.is_none()) {
            return None;
        }
        let members = match a.users_only {
            true => None,
            false => self.members.as_deref(),
        };
        Some(a.users.iter().chain(members.into_iter().flatten()).copied())
    }
}

/// Who reads a conversation: its members and, for a ticket's, the ticket.
#[derive(Debug, Clone)]
pub(crate) struct ConversationReaders {
    /// Its members, sorted.
    pub(crate) members: Arc<[Uuid]>,
    /// Its ticket, whose group's staff read it.
    pub(crate) ticket_id: Option<Uuid>,
}

/// What resolving the viewers of events read from the store, kept for a batch of
/// events that were all written before its first read: reading once after them all
/// is as current as reading for each, so a conversation, ticket or group is read once
/// per batch, not once per event (a group post's thousand delivery receipts). Dropped
/// after the batch: see [`crate::Helpdesk::viewers_in`].
#[derive(Debug, Default)]
pub struct ViewerReads {
    /// A conversation's readers; `None`: no such conversation.
    pub(crate) conversations: HashMap<Uuid, Option<ConversationReaders>>,
    /// A ticket; `None`: no such ticket.
    pub(crate) tickets: HashMap<Uuid, Option<Arc<crate::ticket::Ticket>>>,
    /// A ticket's customers, sorted.
    pub(crate) ticket_customers: HashMap<Uuid, Arc<[Uuid]>>,
    /// A group's members, sorted.
    pub(crate) groups: HashMap<Uuid, Arc<[Uuid]>>,
}

/// RFC 3339 in UTC with microseconds, the one timestamp format of the API.
pub fn ts(at: DateTime<Utc>) -> String {
    crate::wire::format_ts(at)
}

/// What one [`crate::Helpdesk::prune_retention`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Events.
    pub events: u64,
    /// Read notifications.
    pub notifications: u64,
}
