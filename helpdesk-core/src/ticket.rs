//! Tickets: the status machine, priorities, tags, the timeline, and ticket operations.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::conversation::Conversation;
use crate::error::Conflict;
use crate::page::Cursor;

/// A ticket's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// New or reopened.
    Open,
    /// Waiting on the requester.
    Pending,
    /// Waiting on a third party.
    OnHold,
    /// Solved; may be reopened or closed.
    Resolved,
    /// Final.
    Closed,
}

impl TicketStatus {
    /// Every status.
    pub const ALL: [TicketStatus; 5] = [
        TicketStatus::Open,
        TicketStatus::Pending,
        TicketStatus::OnHold,
        TicketStatus::Resolved,
        TicketStatus::Closed,
    ];
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Open => "open",
            TicketStatus::Pending => "pending",
            TicketStatus::OnHold => "on_hold",
            TicketStatus::Resolved => "resolved",
            TicketStatus::Closed => "closed",
        }
    }
    /// Open, pending or on hold.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            TicketStatus::Open | TicketStatus::Pending | TicketStatus::OnHold
        )
    }
    /// The transition table of API.md. Staying in place is not a move.
    pub fn can_move_to(self, to: TicketStatus) -> bool {
        use TicketStatus::*;
        match (self, to) {
            (a, b) if a == b => false,
            (a, b) if a.is_active() && b.is_active() => true,
            (a, Resolved) if a.is_active() => true,
            (Resolved, Open | Closed) => true,
            _ => false,
        }
    }
}

impl std::str::FromStr for TicketStatus {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        TicketStatus::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                crate::Error::invalid(
                    "status",
                    "must be open, pending, on_hold, resolved or closed",
                )
            })
    }
}

impl std::fmt::Display for TicketStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ticket's priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Low.
    Low,
    /// The default.
    Normal,
    /// High.
    High,
    /// Urgent.
    Urgent,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
    /// 0 (low) to 3 (urgent), the sort key.
    pub fn rank(self) -> i64 {
        self as i64
    }
}

impl std::str::FromStr for Priority {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| crate::Error::invalid("priority", "must be low, normal, high or urgent"))
    }
}

/// A ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// Id.
    pub id: Uuid,
    /// 1, 2, 3, ... unique per installation, assigned by the store.
    pub number: i64,
    /// Subject.
    pub subject: String,
    /// Description.
    pub description: String,
    /// Status.
    pub status: TicketStatus,
    /// Priority.
    pub priority: Priority,
    /// Who asked.
    pub requester_id: Uuid,
    /// Who works on it.
    pub assignee_id: Option<Uuid>,
    /// Lowercase tags, sorted, unique.
    pub tags: Vec<String>,
    /// Its conversation (kind `ticket`).
    pub conversation_id: Uuid,
    /// Created.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
    /// Last change of the ticket record.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub updated_at: DateTime<Utc>,
    /// The first public staff message.
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub first_response_at: Option<DateTime<Utc>>,
    /// Last moved to resolved.
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// Closed.
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub closed_at: Option<DateTime<Utc>>,
    /// Optimistic concurrency: 1 on create, +1 on every write. A store writes a ticket
    /// only if its stored version is `version - 1`, else `Conflict::Version`.
    pub version: u64,
}

/// One entry of a ticket's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketEvent {
    /// Id (UUID v7, so `(at, id)` orders entries).
    pub id: Uuid,
    /// The ticket.
    pub ticket_id: Uuid,
    /// `created`, `status_changed`, `assigned`, `priority_changed`, `tags_changed`, `updated`.
    pub kind: String,
    /// Who did it (`None`: the system).
    pub actor_id: Option<Uuid>,
    /// When.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub at: DateTime<Utc>,
    /// Details (`{from, to}`, `{added, removed}`, `{fields}`).
    pub data: serde_json::Value,
}

/// The assignee filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// Unassigned tickets.
    Nobody,
    /// Tickets assigned to this user.
    User(Uuid),
}

/// Ticket list orders. Every order breaks ties by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TicketSort {
    /// Oldest first.
    CreatedAt,
    /// Newest first (the default).
    #[default]
    CreatedAtDesc,
    /// Least recently updated first.
    UpdatedAt,
    /// Most recently updated first.
    UpdatedAtDesc,
    /// Lowest priority first.
    Priority,
    /// Highest priority first.
    PriorityDesc,
}

impl TicketSort {
    /// The sort key of a ticket under this order (the cursor's `key`).
    pub fn key(self, t: &Ticket) -> i64 {
        match self {
            TicketSort::CreatedAt | TicketSort::CreatedAtDesc => t.created_at.timestamp_micros(),
            TicketSort::UpdatedAt | TicketSort::UpdatedAtDesc => t.updated_at.timestamp_micros(),
            TicketSort::Priority | TicketSort::PriorityDesc => t.priority.rank(),
        }
    }
    /// True for the descending orders.
    pub fn descending(self) -> bool {
        matches!(
            self,
            TicketSort::CreatedAtDesc | TicketSort::UpdatedAtDesc | TicketSort::PriorityDesc
        )
    }
}

impl std::str::FromStr for TicketSort {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        Ok(match s {
            "created_at" => TicketSort::CreatedAt,
            "-created_at" => TicketSort::CreatedAtDesc,
            "updated_at" => TicketSort::UpdatedAt,
            "-updated_at" => TicketSort::UpdatedAtDesc,
            "priority" => TicketSort::Priority,
            "-priority" => TicketSort::PriorityDesc,
            _ => return Err(crate::Error::invalid("sort", "is not a known order")),
        })
    }
}

/// A ticket list query. The store returns tickets matching every given filter, in `sort`
/// order, after `cursor`, at most `limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketQuery {
    /// Any of these statuses (empty: all).
    pub statuses: Vec<TicketStatus>,
    /// This priority.
    pub priority: Option<Priority>,
    /// The assignee filter.
    pub assignee: Option<AssigneeFilter>,
    /// This requester.
    pub requester_id: Option<Uuid>,
    /// Carrying this tag.
    pub tag: Option<String>,
    /// Case-insensitive substring of subject or description.
    pub q: Option<String>,
    /// The order.
    pub sort: TicketSort,
    /// Continue after this position (`sort.key(ticket)`, id).
    pub cursor: Option<Cursor>,
    /// Page size.
    pub limit: usize,
}

impl TicketQuery {
    /// True when `t` passes every filter (not the cursor). Stores may use this to check
    /// candidates they fetched through an index.
    pub fn matches(&self, t: &Ticket) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&t.status))
            && self.priority.is_none_or(|p| p == t.priority)
            && match self.assignee {
                None => true,
                Some(AssigneeFilter::Nobody) => t.assignee_id.is_none(),
                Some(AssigneeFilter::User(u)) => t.assignee_id == Some(u),
            }
            && self.requester_id.is_none_or(|r| r == t.requester_id)
            && self.tag.as_ref().is_none_or(|tag| t.tags.contains(tag))
            && self.q.as_ref().is_none_or(|q| {
                let q = q.to_lowercase();
                t.subject.to_lowercase().contains(&q) || t.description.to_lowercase().contains(&q)
            })
    }
    /// True when `t` comes after the cursor in this query's order.
    pub fn after_cursor(&self, t: &Ticket) -> bool {
        match self.cursor {
            None => true,
            Some(c) if self.sort.descending() => c.is_before_desc(self.sort.key(t), t.id),
            Some(c) => c.is_before(self.sort.key(t), t.id),
        }
    }
}

/// A ticket to create: the store assigns `ticket.number`, writes the ticket and its
/// conversation (with a participant record per member) and attaches the attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    /// The ticket; `number` is ignored.
    pub ticket: Ticket,
    /// Its conversation, kind `ticket`.
    pub conversation: Conversation,
    /// Attachments to attach to the ticket (each must exist and be unattached, else
    /// `Conflict::Attachment`).
    pub attachment_ids: Vec<Uuid>,
}

use serde_json::json;

use crate::Helpdesk;
use crate::conversation::{ConversationKind, Member};
use crate::error::{Error, Result};
use crate::event::{Audience, Effects, NewEvent};
use crate::notification::{Notification, NotificationData, NotificationKind};
use crate::page::{Page, limit};
use crate::principal::Principal;
use crate::wire::{Ts, opt_ts};

/// Input for opening a ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewTicketInput {
    /// Subject (1..=200 characters).
    pub subject: String,
    /// Description (up to 20,000 characters).
    pub description: String,
    /// Priority (default normal).
    pub priority: Option<Priority>,
    /// Tags.
    pub tags: Vec<String>,
    /// Attachments uploaded by the caller.
    pub attachment_ids: Vec<Uuid>,
    /// On whose behalf (staff only).
    pub requester_id: Option<Uuid>,
    /// Assignee (staff only).
    pub assignee_id: Option<Uuid>,
}

impl NewTicketInput {
    /// A ticket with a subject and a description.
    pub fn new(subject: &str, description: &str) -> Self {
        NewTicketInput {
            subject: subject.to_string(),
            description: description.to_string(),
            ..Default::default()
        }
    }
}

/// A change to a ticket; `None` leaves a field alone. `assignee_id: Some(None)` unassigns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketPatch {
    /// Subject.
    pub subject: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Status (moves by the transition table).
    pub status: Option<TicketStatus>,
    /// Priority (staff).
    pub priority: Option<Priority>,
    /// Assignee (staff).
    pub assignee_id: Option<Option<Uuid>>,
    /// Tags, replacing the old ones (staff).
    pub tags: Option<Vec<String>>,
}

/// Filters for listing tickets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    /// Any of these statuses.
    pub statuses: Vec<TicketStatus>,
    /// This priority.
    pub priority: Option<Priority>,
    /// Assignee filter.
    pub assignee: Option<AssigneeFilter>,
    /// Requester.
    pub requester_id: Option<Uuid>,
    /// Tag.
    pub tag: Option<String>,
    /// Text in subject or description.
    pub q: Option<String>,
    /// Order.
    pub sort: TicketSort,
    /// Where to continue.
    pub cursor: Option<Cursor>,
    /// Page size (default 50, 1..=200).
    pub limit: Option<usize>,
}

fn validate_subject(s: &str) -> Result<String> {
    crate::text::check("subject", s)?;
    let s = s.trim();
    if s.is_empty() {
        return Err(Error::invalid("subject", "must not be empty"));
    }
    if s.chars().count() > 200 {
        return Err(Error::invalid("subject", "must be at most 200 characters"));
    }
    Ok(s.to_string())
}

fn validate_description(s: &str) -> Result<String> {
    crate::text::check("description", s)?;
    if s.chars().count() > 20_000 {
        return Err(Error::invalid(
            "description",
            "must be at most 20000 characters",
        ));
    }
    Ok(s.to_string())
}

/// Lowercases, trims, sorts and dedups tags; each 1..=50 characters of letters, digits,
/// `-`, `_` or spaces, at most 20.
pub fn normalize_tags(tags: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for t in tags {
        let t = t.trim().to_lowercase();
        let ok = !t.is_empty()
            && t.chars().count() <= 50
            && t.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' ' | '.'));
        if !ok {
            return Err(Error::invalid(
                "tags",
                "each tag must be 1 to 50 letters, digits, '-', '_', '.' or spaces",
            ));
        }
        out.push(t);
    }
    out.sort();
    out.dedup();
    if out.len() > 20 {
        return Err(Error::invalid("tags", "at most 20 tags"));
    }
    Ok(out)
}

/// The API rendering of a ticket (responses and event payloads).
#[derive(Serialize)]
pub struct TicketJson<'a> {
    id: Uuid,
    number: i64,
    subject: &'a str,
    description: &'a str,
    status: TicketStatus,
    priority: Priority,
    requester_id: Uuid,
    assignee_id: Option<Uuid>,
    tags: &'a [String],
    conversation_id: Uuid,
    created_at: Ts,
    updated_at: Ts,
    first_response_at: Option<Ts>,
    resolved_at: Option<Ts>,
    closed_at: Option<Ts>,
}

/// The API rendering of a ticket.
pub fn ticket_json(t: &Ticket) -> TicketJson<'_> {
    TicketJson {
        id: t.id,
        number: t.number,
        subject: &t.subject,
        description: &t.description,
        status: t.status,
        priority: t.priority,
        requester_id: t.requester_id,
        assignee_id: t.assignee_id,
        tags: &t.tags,
        conversation_id: t.conversation_id,
        created_at: Ts(t.created_at),
        updated_at: Ts(t.updated_at),
        first_response_at: opt_ts(t.first_response_at),
        resolved_at: opt_ts(t.resolved_at),
        closed_at: opt_ts(t.closed_at),
    }
}

/// Who sees a ticket's events: its requester, its assignee, and staff.
pub(crate) fn ticket_audience(t: &Ticket) -> Audience {
    Audience {
        users: std::iter::once(t.requester_id)
            .chain(t.assignee_id)
            .collect(),
        staff: true,
        ..Default::default()
    }
}

/// A notification about a ticket.
pub(crate) fn ticket_notification(
    user_id: Uuid,
    kind: NotificationKind,
    t: &Ticket,
    title: String,
    at: DateTime<Utc>,
    message_id: Option<Uuid>,
) -> Notification {
    Notification {
        id: crate::clock::new_id(),
        user_id,
        kind,
        title,
        body: t.subject.clone(),
        data: NotificationData {
            ticket_id: Some(t.id),
            conversation_id: Some(t.conversation_id),
            message_id,
        },
        read_at: None,
        created_at: at,
    }
}

/// Adds the `notification.created` event for every notification in `fx`.
pub(crate) fn announce_notifications(fx: &mut Effects) {
    let events: Vec<NewEvent> = fx
        .notifications
        .iter()
        .map(|n| {
            NewEvent::new(
                "notification.created",
                n.created_at,
                Audience::users([n.user_id]),
                crate::wire::to_json(crate::notification::notification_json(n)),
            )
        })
        .collect();
    fx.events.extend(events);
}

/// The timeline entry and the event data of one ticket change.
pub(crate) fn timeline(
    t: &Ticket,
    kind: &str,
    actor: Option<Uuid>,
    at: DateTime<Utc>,
    data: serde_json::Value,
) -> TicketEvent {
    TicketEvent {
        id: crate::clock::new_id(),
        ticket_id: t.id,
        kind: kind.to_string(),
        actor_id: actor,
        at,
        data,
    }
}

/// The moves a requester may make: resolve an active ticket, reopen or close a resolved one.
pub fn requester_may_move(from: TicketStatus, to: TicketStatus) -> bool {
    match to {
        TicketStatus::Resolved => from.is_active(),
        TicketStatus::Open | TicketStatus::Closed => from == TicketStatus::Resolved,
        _ => false,
    }
}

/// Applies a status move to a ticket's record (timestamps included).
pub(crate) fn move_status(t: &mut Ticket, to: TicketStatus, at: DateTime<Utc>) {
    match to {
        TicketStatus::Resolved => t.resolved_at = Some(at),
        TicketStatus::Closed => t.closed_at = Some(at),
        _ => t.resolved_at = None,
    }
    t.status = to;
}

/// What one ticket change writes: the timeline, `ticket.updated`, and the notifications
/// (status to requester and assignee, assignment to the new assignee), never to the actor.
pub(crate) fn ticket_change_effects(
    before: &Ticket,
    after: &Ticket,
    actor: Option<Uuid>,
    at: DateTime<Utc>,
) -> Effects {
    let mut fx = Effects::none();
    let mut changed: Vec<&str> = Vec::new();
    let push = |fx: &mut Effects, kind: &str, data: serde_json::Value| {
        fx.ticket_events
            .push(timeline(after, kind, actor, at, data));
    };
    if before.status != after.status {
        push(
            &mut fx,
            "status_changed",
            json!({"from": before.status, "to": after.status}),
        );
        changed.push("status");
        for u in std::iter::once(after.requester_id).chain(after.assignee_id) {
            if Some(u) != actor {
                fx.notifications.push(ticket_notification(
                    u,
                    NotificationKind::TicketStatusChanged,
                    after,
                    format!("Ticket #{} is now {}", after.number, after.status),
                    at,
                    None,
                ));
            }
        }
    }
    if before.assignee_id != after.assignee_id {
        push(
            &mut fx,
            "assigned",
            json!({"from": before.assignee_id, "to": after.assignee_id}),
        );
        changed.push("assignee_id");
        if let Some(a) = after.assignee_id.filter(|a| Some(*a) != actor) {
            fx.notifications.push(ticket_notification(
                a,
                NotificationKind::TicketAssigned,
                after,
                format!("Ticket #{} was assigned to you", after.number),
                at,
                None,
            ));
        }
    }
    if before.priority != after.priority {
        push(
            &mut fx,
            "priority_changed",
            json!({"from": before.priority, "to": after.priority}),
        );
        changed.push("priority");
    }
    if before.tags != after.tags {
        let added: Vec<&String> = after
            .tags
            .iter()
            .filter(|t| !before.tags.contains(t))
            .collect();
        let removed: Vec<&String> = before
            .tags
            .iter()
            .filter(|t| !after.tags.contains(t))
            .collect();
        push(
            &mut fx,
            "tags_changed",
            json!({"added": added, "removed": removed}),
        );
        changed.push("tags");
    }
    let fields: Vec<&str> = [
        ("subject", before.subject != after.subject),
        ("description", before.description != after.description),
    ]
    .into_iter()
    .filter(|(_, c)| *c)
    .map(|(f, _)| f)
    .collect();
    if !fields.is_empty() {
        push(&mut fx, "updated", json!({"fields": fields}));
        changed.extend(fields);
    }
    if before.first_response_at != after.first_response_at {
        changed.push("first_response_at");
    }
    if !changed.is_empty() {
        fx.push(NewEvent::new(
            "ticket.updated",
            at,
            ticket_audience(after),
            json!({"ticket": ticket_json(after), "changes": changed}),
        ));
    }
    announce_notifications(&mut fx);
    fx
}

impl Helpdesk {
    /// Whether `p` may see ticket `t`: staff, or its requester.
    pub(crate) fn can_see_ticket(p: &Principal, t: &Ticket) -> bool {
        p.is_staff() || t.requester_id == p.user_id
    }

    /// A ticket the caller may see, else `NotFound`.
    pub(crate) async fn visible_ticket(&self, p: &Principal, id: Uuid) -> Result<Ticket> {
        match self.st().get_ticket(id).await? {
            Some(t) if Self::can_see_ticket(p, &t) => Ok(t),
            _ => Err(Error::NotFound),
        }
    }

    async fn active_user(&self, field: &str, id: Uuid) -> Result<crate::user::User> {
        match self.st().get_user(id).await? {
            Some(u) if u.is_active => Ok(u),
            _ => Err(Error::invalid(field, "is not an active user")),
        }
    }

    /// Attachment ids the caller may attach: their own uploads, not attached yet.
    pub(crate) async fn check_own_attachments(&self, p: &Principal, ids: &[Uuid]) -> Result<()> {
        for id in ids {
            match self.st().get_attachment(*id).await? {
                Some(a) if a.uploaded_by == p.user_id && a.parent.is_none() => {}
                _ => {
                    return Err(Error::invalid(
                        "attachment_ids",
                        "must be your own uploads that are not attached yet",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Opens a ticket, with its conversation. Customers open tickets for themselves;
    /// staff may name a requester and an assignee.
    pub async fn create_ticket(&self, p: &Principal, input: NewTicketInput) -> Result<Ticket> {
        if !p.is_staff() {
            if input.requester_id.is_some() {
                return Err(Error::ForbiddenField("requester_id".into()));
            }
            if input.assignee_id.is_some() {
                return Err(Error::ForbiddenField("assignee_id".into()));
            }
        }
        let subject = validate_subject(&input.subject)?;
        let description = validate_description(&input.description)?;
        let tags = normalize_tags(&input.tags)?;
        let requester_id = match input.requester_id {
            Some(r) => self.active_user("requester_id", r).await?.id,
            None if p.is_system() => {
                return Err(Error::invalid(
                    "requester_id",
                    "is required when acting as the system",
                ));
            }
            None => p.user_id,
        };
        if let Some(a) = input.assignee_id
            && !self.active_user("assignee_id", a).await?.role.is_staff()
        {
            return Err(Error::invalid(
                "assignee_id",
                "must be an agent or an admin",
            ));
        }
        self.check_own_attachments(p, &input.attachment_ids).await?;
        let now = self.now();
        let mut members = vec![Member {
            user_id: requester_id,
            joined_at: now,
        }];
        if let Some(a) = input.assignee_id.filter(|a| *a != requester_id) {
            members.push(Member {
                user_id: a,
                joined_at: now,
            });
        }
        let ticket = Ticket {
            id: crate::clock::new_id(),
            number: 0,
            subject: subject.clone(),
            description,
            status: TicketStatus::Open,
            priority: input.priority.unwrap_or(Priority::Normal),
            requester_id,
            assignee_id: input.assignee_id,
            tags,
            conversation_id: crate::clock::new_id(),
            created_at: now,
            updated_at: now,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
            version: 1,
        };
        let conversation = Conversation {
            id: ticket.conversation_id,
            kind: ConversationKind::Ticket,
            title: Some(subject),
            ticket_id: Some(ticket.id),
            members,
            created_by: p.actor().unwrap_or(requester_id),
            created_at: now,
            last_message_at: None,
            last_seq: 0,
            last_public_seq: 0,
            public_count: 0,
            direct_key: None,
        };
        let staff = if ticket.assignee_id.is_none() {
            self.st().staff_ids().await?
        } else {
            Vec::new()
        };
        let actor = p.actor();
        let conv_json = crate::wire::to_json(crate::conversation::conversation_json(&conversation));
        let build = |t: &Ticket| {
            let mut fx = Effects::none();
            fx.ticket_events
                .push(timeline(t, "created", actor, now, json!({})));
            fx.push(NewEvent::new(
                "ticket.created",
                now,
                ticket_audience(t),
                json!({"ticket": ticket_json(t)}),
            ));
            fx.push(NewEvent::new(
                "conversation.created",
                now,
                Audience::conversation(t.conversation_id, false),
                json!({"conversation": conv_json}),
            ));
            match t.assignee_id {
                None => {
                    for s in staff.iter().filter(|s| Some(**s) != actor) {
                        fx.notifications.push(ticket_notification(
                            *s,
                            NotificationKind::TicketCreated,
                            t,
                            format!("New ticket #{}", t.number),
                            now,
                            None,
                        ));
                    }
                }
                Some(a) if Some(a) != actor => fx.notifications.push(ticket_notification(
                    a,
                    NotificationKind::TicketAssigned,
                    t,
                    format!("Ticket #{} was assigned to you", t.number),
                    now,
                    None,
                )),
                Some(_) => {}
            }
            announce_notifications(&mut fx);
            fx
        };
        let new = NewTicket {
            ticket,
            conversation,
            attachment_ids: input.attachment_ids,
        };
        let created = self.st().create_ticket(&new, &build).await;
        self.wake();
        match created {
            Err(e) if e.is_conflict(Conflict::Attachment) => Err(Error::Conflict(
                "an attachment was attached meanwhile".into(),
            )),
            other => Ok(other?),
        }
    }

    /// A ticket: its requester and staff.
    pub async fn get_ticket(&self, p: &Principal, id: Uuid) -> Result<Ticket> {
        self.visible_ticket(p, id).await
    }

    /// A ticket by its number (same visibility).
    pub async fn get_ticket_by_number(&self, p: &Principal, number: i64) -> Result<Ticket> {
        match self.st().get_ticket_by_number(number).await? {
            Some(t) if Self::can_see_ticket(p, &t) => Ok(t),
            _ => Err(Error::NotFound),
        }
    }

    /// Lists tickets: customers see their own only, staff all.
    pub async fn list_tickets(&self, p: &Principal, filter: TicketFilter) -> Result<Page<Ticket>> {
        let limit = limit(filter.limit)?;
        for (field, value) in [("q", &filter.q), ("tag", &filter.tag)] {
            crate::text::check(field, value.as_deref().unwrap_or(""))?;
        }
        let requester_id = if p.is_staff() {
            filter.requester_id
        } else {
            if filter.requester_id.is_some_and(|r| r != p.user_id) {
                return Ok(Page {
                    items: vec![],
                    next_cursor: None,
                });
            }
            Some(p.user_id)
        };
        let query = TicketQuery {
            statuses: filter.statuses,
            priority: filter.priority,
            assignee: filter.assignee,
            requester_id,
            tag: filter.tag.map(|t| t.trim().to_lowercase()),
            q: filter.q.filter(|q| !q.trim().is_empty()),
            sort: filter.sort,
            cursor: filter.cursor,
            limit,
        };
        let tickets = self.st().list_tickets(&query).await?;
        Ok(Page::from_overfetch(tickets, limit, |t| {
            Cursor::new(query.sort.key(t), t.id)
        }))
    }

    /// Changes a ticket. Staff may change everything; the requester the subject, the
    /// description, and the status within the table: to resolved from an active status,
    /// and from resolved to open or closed.
    pub async fn update_ticket(
        &self,
        p: &Principal,
        id: Uuid,
        patch: TicketPatch,
    ) -> Result<Ticket> {
        let ticket = self.visible_ticket(p, id).await?;
        if !p.is_staff() {
            for (field, set) in [
                ("priority", patch.priority.is_some()),
                ("assignee_id", patch.assignee_id.is_some()),
                ("tags", patch.tags.is_some()),
            ] {
                if set {
                    return Err(Error::ForbiddenField(field.into()));
                }
            }
        }
        let subject = patch.subject.as_deref().map(validate_subject).transpose()?;
        let description = patch
            .description
            .as_deref()
            .map(validate_description)
            .transpose()?;
        let tags = patch.tags.as_deref().map(normalize_tags).transpose()?;
        if let Some(Some(a)) = patch.assignee_id
            && ticket.assignee_id != Some(a)
            && !self.active_user("assignee_id", a).await?.role.is_staff()
        {
            return Err(Error::invalid(
                "assignee_id",
                "must be an agent or an admin",
            ));
        }
        let before_assignee = ticket.assignee_id;
        let updated = self
            .retry_on_version(|| async {
                let before = self.visible_ticket(p, id).await?;
                let mut after = before.clone();
                if let Some(s) = &subject {
                    after.subject = s.clone();
                }
                if let Some(d) = &description {
                    after.description = d.clone();
                }
                if let Some(t) = &tags {
                    after.tags = t.clone();
                }
                if let Some(pr) = patch.priority {
                    after.priority = pr;
                }
                if let Some(a) = patch.assignee_id {
                    after.assignee_id = a;
                }
                let now = self.now();
                if let Some(to) = patch.status.filter(|to| *to != before.status) {
                    if !p.is_staff()
                        && !requester_may_move(before.status, to)
                        && before.status.can_move_to(to)
                    {
                        return Err(Error::forbidden("requesters may not set this status"));
                    }
                    if !before.status.can_move_to(to) {
                        return Err(Error::InvalidTransition {
                            from: before.status.to_string(),
                            to: to.to_string(),
                        });
                    }
                    move_status(&mut after, to, now);
                }
                if after == before {
                    return Ok(after);
                }
                after.updated_at = now;
                after.version += 1;
                let fx = ticket_change_effects(&before, &after, p.actor(), now);
                self.st().update_ticket(&after, &fx).await?;
                Ok(after)
            })
            .await?;
        if let Some(a) = updated.assignee_id
            && before_assignee != Some(a)
        {
            self.join_conversation(updated.conversation_id, a).await?;
        }
        Ok(updated)
    }

    /// Deletes a ticket with its conversation (admins).
    pub async fn delete_ticket(&self, p: &Principal, id: Uuid) -> Result<()> {
        p.require_admin()?;
        self.st().get_ticket(id).await?.ok_or(Error::NotFound)?;
        self.st().delete_ticket(id, &Effects::none()).await?;
        Ok(())
    }

    /// A ticket's timeline, oldest first.
    pub async fn ticket_events(
        &self,
        p: &Principal,
        id: Uuid,
        cursor: Option<Cursor>,
        page_size: Option<usize>,
    ) -> Result<Page<TicketEvent>> {
        let limit = limit(page_size)?;
        self.visible_ticket(p, id).await?;
        let events = self.st().list_ticket_events(id, cursor, limit).await?;
        Ok(Page::from_overfetch(events, limit, |e| {
            Cursor::new(e.at.timestamp_micros(), e.id)
        }))
    }
}
