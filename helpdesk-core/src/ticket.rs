//! Tickets: the record, the status machine, priorities, tags, the timeline entries, and
//! the checks on ticket input. The operations are in `ops/ticket.rs`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::conversation::Conversation;
use crate::page::Cursor;
use crate::sla::TicketSla;
use crate::snooze::Snooze;
use crate::status::{Status, StatusCategory, StatusKey, Statuses};

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

/// A ticket's custom field values by key (an unset field is absent;
/// [`crate::custom_field`] checks them).
pub type FieldValues = std::collections::BTreeMap<String, serde_json::Value>;

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
    /// Its status's key.
    pub status: StatusKey,
    /// Its status's category (fixed for a key, so kept with the ticket).
    pub status_category: StatusCategory,
    /// The last status change (`None`: none since it was opened).
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub status_changed_at: Option<DateTime<Utc>>,
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
    /// Its group ([`crate::group::Group`]). Records written before groups existed (a
    /// version-1 archive) read as nil here, and their import puts them in the default
    /// group.
    #[serde(default)]
    pub group_id: Uuid,
    /// The requester's organization when the ticket was opened (a snapshot).
    #[serde(default)]
    pub organization_id: Option<Uuid>,
    /// Customers copied on the ticket, in the order added: members of its conversation.
    #[serde(default)]
    pub cc: Vec<Uuid>,
    /// Staff following the ticket, in the order added (never shown to customers).
    #[serde(default)]
    pub followers: Vec<Uuid>,
    /// Custom field values by key (values of deactivated fields are kept, not shown).
    #[serde(default)]
    pub fields: FieldValues,
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
    /// The ticket this one was merged into ([`crate::Helpdesk::merge_ticket`]).
    #[serde(default)]
    pub merged_into_id: Option<Uuid>,
    /// The tickets merged directly into this one, oldest merge first.
    #[serde(default)]
    pub merged_ids: Vec<Uuid>,
    /// While merged: the status it had before the merge, which unmerge restores (never
    /// shown in the API).
    #[serde(default)]
    pub pre_merge_status: Option<StatusKey>,
    /// Its snooze, while snoozed ([`crate::snooze`]; staff only).
    #[serde(default)]
    pub snooze: Option<Snooze>,
    /// Its SLA: history and due times under the policy in force ([`crate::sla`]; staff
    /// only).
    #[serde(default)]
    pub sla: TicketSla,
    /// When an active automation's `hours_since_*` predicate next turns on it
    /// ([`crate::rule::next_instant`]): a due instant for the scheduler, which evaluates
    /// the automations then ([`crate::schedule`]). Kept by [`TicketSchema::settle`];
    /// never shown in the API.
    ///
    /// [`TicketSchema::settle`]: crate::schema::TicketSchema::settle
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub automation_at: Option<DateTime<Utc>>,
    /// How many times it entered category `resolved`: the cycle of its latest CSAT
    /// survey ([`crate::csat::Survey::cycle`]); never shown in the API.
    #[serde(default)]
    pub resolved_count: u32,
    /// How it was opened.
    #[serde(default)]
    pub channel: Channel,
    /// The mailbox its replies are mailed through ([`crate::mailbox`]).
    #[serde(default)]
    pub mailbox_id: Option<Uuid>,
    /// The closed ticket a mail to which opened this one.
    #[serde(default)]
    pub follow_up_of: Option<Uuid>,
    /// Optimistic concurrency: 1 on create, +1 on every write. A store writes a ticket
    /// only if its stored version is `version - 1`, else `Conflict::Version`.
    pub version: u64,
}

impl Ticket {
    /// Its SLA history, started from what the record tells if it was kept before SLA
    /// existed ([`crate::sla::SlaClock::of`]).
    pub(crate) fn sla_clock(&mut self) -> &mut crate::sla::SlaClock {
        if !self.sla.clock.started {
            self.sla.clock = crate::sla::SlaClock::of(
                self.created_at,
                self.status_category,
                self.status_changed_at,
                self.first_response_at.is_some(),
            );
        }
        &mut self.sla.clock
    }

    /// Who hears of its status changes and messages, each once: the requester, the
    /// assignee, the followers, and the CCs unless `internal` (a note, which customers
    /// never see; then not the requester either).
    pub fn watchers(&self, internal: bool) -> Vec<Uuid> {
        let customers = std::iter::once(self.requester_id).chain(self.cc.iter().copied());
        let staff = self
            .assignee_id
            .into_iter()
            .chain(self.followers.iter().copied());
        let mut out: Vec<Uuid> = Vec::new();
        for u in staff.chain(customers.filter(|_| !internal)) {
            if !out.contains(&u) {
                out.push(u);
            }
        }
        out
    }
}

/// How a ticket was opened or a message sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The web API (and everything else that is not mail).
    #[default]
    Web,
    /// The email ingest pipeline.
    Email,
}

impl Channel {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Email => "email",
        }
    }

    /// The channel an API name names.
    pub fn parse(s: &str) -> Option<Self> {
        [Channel::Web, Channel::Email]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// What a timeline entry records; its `data` follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    /// The ticket was opened: `{}`.
    Created,
    /// `{from, to}` statuses.
    StatusChanged,
    /// `{from, to}` assignees (either may be `null`).
    Assigned,
    /// `{from, to}` priorities.
    PriorityChanged,
    /// `{added, removed}` tags.
    TagsChanged,
    /// `{fields}`: the other fields that changed (subject, description).
    Updated,
    /// `{from, to}` groups (staff only).
    GroupChanged,
    /// `{from, to}` organizations.
    OrganizationChanged,
    /// `{user_id}`: a CC was added.
    CcAdded,
    /// `{user_id}`: a CC was removed.
    CcRemoved,
    /// `{user_id}`: someone follows the ticket (staff only).
    FollowerAdded,
    /// `{user_id}`: someone stopped following it (staff only).
    FollowerRemoved,
    /// `{into_id}`: this ticket was merged into another.
    Merged,
    /// `{from_id}`: this ticket was unmerged from the one it was merged into.
    Unmerged,
    /// `{source_id}`: a ticket was merged into this one.
    MergeReceived,
    /// `{source_id}`: a ticket merged into this one was unmerged (or deleted).
    MergeRemoved,
    /// `{until, wake_on_reply}`: the ticket was snoozed (staff only).
    Snoozed,
    /// `{reason}`: its snooze ended (staff only).
    Unsnoozed,
}

impl TimelineKind {
    /// Entries customers never see (a ticket's group and followers are staff business).
    pub fn is_staff_only(self) -> bool {
        matches!(
            self,
            TimelineKind::GroupChanged
                | TimelineKind::FollowerAdded
                | TimelineKind::FollowerRemoved
                | TimelineKind::Snoozed
                | TimelineKind::Unsnoozed
        )
    }

    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            TimelineKind::Created => "created",
            TimelineKind::StatusChanged => "status_changed",
            TimelineKind::Assigned => "assigned",
            TimelineKind::PriorityChanged => "priority_changed",
            TimelineKind::TagsChanged => "tags_changed",
            TimelineKind::Updated => "updated",
            TimelineKind::GroupChanged => "group_changed",
            TimelineKind::OrganizationChanged => "organization_changed",
            TimelineKind::CcAdded => "cc_added",
            TimelineKind::CcRemoved => "cc_removed",
            TimelineKind::FollowerAdded => "follower_added",
            TimelineKind::FollowerRemoved => "follower_removed",
            TimelineKind::Merged => "merged",
            TimelineKind::Unmerged => "unmerged",
            TimelineKind::MergeReceived => "merge_received",
            TimelineKind::MergeRemoved => "merge_removed",
            TimelineKind::Snoozed => "snoozed",
            TimelineKind::Unsnoozed => "unsnoozed",
        }
    }
}

impl std::fmt::Display for TimelineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of a ticket's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketEvent {
    /// Id (UUID v7, so `(at, id)` orders entries).
    pub id: Uuid,
    /// The ticket.
    pub ticket_id: Uuid,
    /// What happened.
    pub kind: TimelineKind,
    /// Who did it (`None`: the system).
    pub actor_id: Option<Uuid>,
    /// When.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub at: DateTime<Utc>,
    /// Details, by [`TimelineKind`].
    pub data: serde_json::Value,
    /// What made the change on the caller's behalf (a macro, a rule); `None`: nothing.
    #[serde(default)]
    pub via: Option<Via>,
}

/// What made a change on the actor's behalf: `{kind: "macro" | "rule", id}` on
/// timeline entries and in the events of the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Via {
    /// `macro` or `rule`.
    pub kind: ViaKind,
    /// The macro's or rule's id.
    pub id: Uuid,
}

/// What kind of thing a [`Via`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViaKind {
    /// A macro, applied by a staff user.
    Macro,
    /// A trigger or automation.
    Rule,
}

impl Via {
    /// A macro's run.
    pub fn macro_run(id: Uuid) -> Via {
        Via {
            kind: ViaKind::Macro,
            id,
        }
    }

    /// A rule's (trigger's or automation's) run.
    pub fn rule(id: Uuid) -> Via {
        Via {
            kind: ViaKind::Rule,
            id,
        }
    }
}

/// The assignee filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// Unassigned tickets.
    Nobody,
    /// Tickets assigned to this user.
    User(Uuid),
}

/// Which organization a listed ticket has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganizationMatch {
    /// Tickets without an organization.
    Nobody,
    /// Tickets of this organization.
    Is(Uuid),
}

/// A range of the earliest running SLA due time ([`crate::sla::TicketSla::due_at`]):
/// after `after` (if given), at or before `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaDueRange {
    /// Strictly after this.
    pub after: Option<DateTime<Utc>>,
    /// At or before this.
    pub until: DateTime<Utc>,
}

impl SlaDueRange {
    /// Whether `t`'s earliest running due time lies in the range.
    pub fn includes(&self, t: &Ticket) -> bool {
        t.sla
            .due_at()
            .is_some_and(|d| self.after.is_none_or(|a| d > a) && d <= self.until)
    }
}

/// The SLA filters of a ticket list (API-workflow.md "SLA policies").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaFilter {
    /// `sla=breached`: a running cycle is past due.
    Breached,
    /// `sla=due_within:<minutes>`: not past due, due within this long.
    DueWithin(chrono::Duration),
}

impl std::str::FromStr for SlaFilter {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        let bad = || crate::Error::invalid("sla", "must be breached or due_within:<minutes>");
        match s.strip_prefix("due_within:") {
            _ if s == "breached" => Ok(SlaFilter::Breached),
            Some(m) => match m.parse::<f64>() {
                Ok(m) if m > 0.0 && m <= crate::sla::MAX_MINUTES => {
                    Ok(SlaFilter::DueWithin(crate::sla::minutes_duration(m)))
                }
                _ => Err(bad()),
            },
            None => Err(bad()),
        }
    }
}

impl SlaFilter {
    /// The due range this filter means at `now`.
    pub fn range(self, now: DateTime<Utc>) -> SlaDueRange {
        match self {
            SlaFilter::Breached => SlaDueRange {
                after: None,
                until: now,
            },
            SlaFilter::DueWithin(m) => SlaDueRange {
                after: Some(now),
                until: now + m,
            },
        }
    }
}

/// The tickets a customer sees: their own, those they are CC on, and those of their
/// organization when its sharing shows them (`organization_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerScope {
    /// The customer.
    pub user_id: Uuid,
    /// Their organization, when its sharing shows them its tickets.
    pub organization_id: Option<Uuid>,
}

impl CustomerScope {
    /// Whether the customer sees `t`.
    pub fn includes(&self, t: &Ticket) -> bool {
        t.requester_id == self.user_id
            || t.cc.contains(&self.user_id)
            || self
                .organization_id
                .is_some_and(|o| t.organization_id == Some(o))
    }
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
    /// The earliest running SLA due time first; tickets without one last (staff only).
    SlaDue,
    /// The latest running SLA due time first; tickets without one last (staff only).
    SlaDueDesc,
}

impl TicketSort {
    /// The sort key of a ticket under this order (the cursor's `key`). A ticket without
    /// an SLA due time sorts last in both SLA orders.
    pub fn key(self, t: &Ticket) -> i64 {
        match self {
            TicketSort::CreatedAt | TicketSort::CreatedAtDesc => t.created_at.timestamp_micros(),
            TicketSort::UpdatedAt | TicketSort::UpdatedAtDesc => t.updated_at.timestamp_micros(),
            TicketSort::Priority | TicketSort::PriorityDesc => t.priority.rank(),
            TicketSort::SlaDue => t.sla.due_at().map_or(i64::MAX, |d| d.timestamp_micros()),
            TicketSort::SlaDueDesc => t.sla.due_at().map_or(i64::MIN, |d| d.timestamp_micros()),
        }
    }
    /// True for the descending orders.
    pub fn descending(self) -> bool {
        matches!(
            self,
            TicketSort::CreatedAtDesc
                | TicketSort::UpdatedAtDesc
                | TicketSort::PriorityDesc
                | TicketSort::SlaDueDesc
        )
    }
    /// Whether only staff may list in this order (it shows SLA state).
    pub fn is_staff_only(self) -> bool {
        matches!(self, TicketSort::SlaDue | TicketSort::SlaDueDesc)
    }
}

impl TicketSort {
    /// Every order.
    pub const ALL: [TicketSort; 8] = [
        TicketSort::CreatedAt,
        TicketSort::CreatedAtDesc,
        TicketSort::UpdatedAt,
        TicketSort::UpdatedAtDesc,
        TicketSort::Priority,
        TicketSort::PriorityDesc,
        TicketSort::SlaDue,
        TicketSort::SlaDueDesc,
    ];
    /// The API name (`-created_at`), which [`str::parse`] reads back.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketSort::CreatedAt => "created_at",
            TicketSort::CreatedAtDesc => "-created_at",
            TicketSort::UpdatedAt => "updated_at",
            TicketSort::UpdatedAtDesc => "-updated_at",
            TicketSort::Priority => "priority",
            TicketSort::PriorityDesc => "-priority",
            TicketSort::SlaDue => "sla_due_at",
            TicketSort::SlaDueDesc => "-sla_due_at",
        }
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
            "sla_due_at" => TicketSort::SlaDue,
            "-sla_due_at" => TicketSort::SlaDueDesc,
            _ => return Err(crate::Error::invalid("sort", "is not a known order")),
        })
    }
}

/// Brings a ticket record (JSON) written before statuses were data up to today's: its
/// `status` is then a category's default key, and `status_category` that category.
/// Returns whether it changed anything. For stores and archives that keep tickets as
/// JSON.
#[doc(hidden)]
pub fn upgrade_record(record: &mut serde_json::Value) -> bool {
    let Some(obj) = record.as_object_mut() else {
        return false;
    };
    if obj.contains_key("status_category") {
        return false;
    }
    let Some(category) = obj.get("status").cloned() else {
        return false;
    };
    obj.insert("status_category".into(), category);
    true
}

/// A ticket list query. The store returns tickets matching every given filter, in `sort`
/// order, after `cursor`, at most `limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketQuery {
    /// Any of these statuses (empty: all).
    pub statuses: Vec<StatusKey>,
    /// And any of these categories (empty: all).
    pub categories: Vec<StatusCategory>,
    /// This priority.
    pub priority: Option<Priority>,
    /// The assignee filter.
    pub assignee: Option<AssigneeFilter>,
    /// This requester.
    pub requester_id: Option<Uuid>,
    /// Carrying this tag.
    pub tag: Option<String>,
    /// In any of these groups (`None`: any group; empty: none).
    pub group_ids: Option<Vec<Uuid>>,
    /// Seen by this customer.
    pub customer: Option<CustomerScope>,
    /// With this user among the CCs.
    pub cc: Option<Uuid>,
    /// With this user among the followers.
    pub follower: Option<Uuid>,
    /// The organization filter.
    pub organization: Option<OrganizationMatch>,
    /// Case-insensitive substring of subject or description.
    pub q: Option<String>,
    /// Snoozed (`true`) or not (`false`).
    pub snoozed: Option<bool>,
    /// With a running SLA due time in this range.
    pub sla_due: Option<SlaDueRange>,
    /// Opened through this channel.
    pub channel: Option<Channel>,
    /// Naming this mailbox.
    pub mailbox_id: Option<Uuid>,
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
            && (self.categories.is_empty() || self.categories.contains(&t.status_category))
            && self.priority.is_none_or(|p| p == t.priority)
            && match self.assignee {
                None => true,
                Some(AssigneeFilter::Nobody) => t.assignee_id.is_none(),
                Some(AssigneeFilter::User(u)) => t.assignee_id == Some(u),
            }
            && self.requester_id.is_none_or(|r| r == t.requester_id)
            && self.tag.as_ref().is_none_or(|tag| t.tags.contains(tag))
            && self
                .group_ids
                .as_ref()
                .is_none_or(|groups| groups.contains(&t.group_id))
            && self.customer.is_none_or(|c| c.includes(t))
            && self.cc.is_none_or(|u| t.cc.contains(&u))
            && self.follower.is_none_or(|u| t.followers.contains(&u))
            && match self.organization {
                None => true,
                Some(OrganizationMatch::Nobody) => t.organization_id.is_none(),
                Some(OrganizationMatch::Is(o)) => t.organization_id == Some(o),
            }
            && self.snoozed.is_none_or(|z| t.snooze.is_some() == z)
            && self.sla_due.is_none_or(|r| r.includes(t))
            && self.channel.is_none_or(|c| c == t.channel)
            && self.mailbox_id.is_none_or(|m| t.mailbox_id == Some(m))
            && self.q.as_ref().is_none_or(|q| {
                let q = q.to_lowercase();
                t.subject.to_lowercase().contains(&q) || t.description.to_lowercase().contains(&q)
            })
    }
    /// When the query names statuses and no category, names their categories too: that
    /// narrows nothing, and tells a store which index to read. (Unknown keys match
    /// nothing anyway.)
    pub fn with_status_categories(mut self, statuses: &Statuses) -> Self {
        if self.categories.is_empty() {
            self.categories = self
                .statuses
                .iter()
                .filter_map(|k| statuses.get(k.as_str()).map(|s| s.category))
                .collect();
            self.categories.sort();
            self.categories.dedup();
        }
        self
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
/// Its group must exist (else `NotFound`, checked atomically with group deletion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketInsert {
    /// The ticket; `number` is ignored.
    pub ticket: Ticket,
    /// Its conversation, kind `ticket`.
    pub conversation: Conversation,
    /// Attachments to attach to the ticket (each must exist and be unattached, else
    /// `Conflict::Attachment`).
    pub attachment_ids: Vec<Uuid>,
}

use crate::error::{Error, Result};

/// At most this many CCs, and this many followers, on a ticket.
pub const MAX_CC: usize = 50;

/// Whom to copy on a ticket ([`crate::Helpdesk::add_cc`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CcTarget {
    /// A user by id.
    User(Uuid),
    /// A user by email (case-insensitive).
    Email(String),
}

impl CcTarget {
    /// The input field that named the user.
    pub fn field(&self) -> &'static str {
        match self {
            CcTarget::User(_) => "user_id",
            CcTarget::Email(_) => "email",
        }
    }
}

/// Input for opening a ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewTicket {
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
    /// The group (staff only; default: the default group).
    pub group_id: Option<Uuid>,
    /// The organization (staff only; default: the requester's): `Some(None)` for
    /// none, or the requester's organization.
    pub organization_id: Option<Option<Uuid>>,
    /// Custom field values by key.
    pub fields: FieldValues,
    /// The mailbox its replies are mailed through (staff only).
    pub mailbox_id: Option<Uuid>,
}

impl NewTicket {
    /// A ticket with a subject and a description.
    pub fn new(subject: &str, description: &str) -> Self {
        NewTicket {
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
    pub status: Option<StatusKey>,
    /// Priority (staff).
    pub priority: Option<Priority>,
    /// Assignee (staff).
    pub assignee_id: Option<Option<Uuid>>,
    /// Tags, replacing the old ones (staff).
    pub tags: Option<Vec<String>>,
    /// Moves the ticket to this group (admins and `full` members of its group; an
    /// assignee without `full` access there is unassigned unless the patch names one).
    pub group_id: Option<Uuid>,
    /// The organization (staff): `None` for none, or the requester's organization.
    pub organization_id: Option<Option<Uuid>>,
    /// Custom field values to set by key (`null` clears; others are kept).
    pub fields: FieldValues,
    /// The mailbox its replies are mailed through (staff): `Some(None)` clears it.
    pub mailbox_id: Option<Option<Uuid>>,
}

/// Filters for listing tickets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    /// Any of these statuses (keys; an unknown one is refused).
    pub statuses: Vec<StatusKey>,
    /// And any of these categories.
    pub categories: Vec<StatusCategory>,
    /// This priority.
    pub priority: Option<Priority>,
    /// Assignee filter.
    pub assignee: Option<AssigneeFilter>,
    /// Requester.
    pub requester_id: Option<Uuid>,
    /// In any of these groups (empty: any the caller sees). Staff only: a customer
    /// naming groups is `Forbidden`.
    pub group_ids: Vec<Uuid>,
    /// With this follower. Staff only, like `group_ids`.
    pub follower: Option<Uuid>,
    /// With this user among the CCs.
    pub cc: Option<Uuid>,
    /// The organization filter.
    pub organization: Option<OrganizationMatch>,
    /// Tag.
    pub tag: Option<String>,
    /// Text in subject or description.
    pub q: Option<String>,
    /// Snoozed or not. Staff only, like `group_ids`.
    pub snoozed: Option<bool>,
    /// By SLA state. Staff only, like `group_ids` (and the SLA orders).
    pub sla: Option<SlaFilter>,
    /// Opened through this channel.
    pub channel: Option<Channel>,
    /// Naming this mailbox.
    pub mailbox_id: Option<Uuid>,
    /// Custom field filters `field.<key>=<value>` (ANDed): equality; a multiselect
    /// contains the value; a checkbox `false` also matches unset. An unknown (for
    /// customers: invisible) key or a bad value is invalid at `field.<key>`.
    pub fields: Vec<(String, String)>,
    /// Order.
    pub sort: TicketSort,
    /// Where to continue.
    pub cursor: Option<Cursor>,
    /// Page size (default 50, 1..=200).
    pub limit: Option<usize>,
}

pub(crate) fn validate_subject(s: &str) -> Result<String> {
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

pub(crate) fn validate_description(s: &str) -> Result<String> {
    crate::text::check("description", s)?;
    if s.chars().count() > 20_000 {
        return Err(Error::invalid(
            "description",
            "must be at most 20000 characters",
        ));
    }
    Ok(s.to_string())
}

/// The moves a requester may make: to the default `resolved` from an active category,
/// and from category resolved to the default `open` or `closed`. Any other status is
/// staff business.
pub fn requester_may_move(from: StatusCategory, to: &Status) -> bool {
    if !to.is_default {
        return false;
    }
    match to.category {
        StatusCategory::Resolved => from.is_active(),
        StatusCategory::Open | StatusCategory::Closed => from == StatusCategory::Resolved,
        _ => false,
    }
}

/// Applies a status move to a ticket's record (timestamps included). Entering
/// `resolved` or `closed` (a merge closes) ends a snooze, by
/// [`WakeReason::Status`](crate::snooze::WakeReason::Status).
pub(crate) fn move_status(t: &mut Ticket, to: &Status, at: DateTime<Utc>) {
    if matches!(
        to.category,
        StatusCategory::Resolved | StatusCategory::Closed
    ) {
        t.snooze = None;
    }
    let from = t.status_category;
    t.sla_clock().on_status(from, to.category, at);
    match to.category {
        StatusCategory::Resolved if t.status_category != StatusCategory::Resolved => {
            t.resolved_at = Some(at);
            t.resolved_count = t.resolved_count.saturating_add(1);
        }
        StatusCategory::Resolved => {}
        StatusCategory::Closed => t.closed_at = Some(at),
        _ => t.resolved_at = None,
    }
    t.status = to.key.clone();
    t.status_category = to.category;
    t.status_changed_at = Some(at);
}

/// Closes `source` for a merge into `into_id` (API-workflow.md "Merge"): the status it
/// had is kept for [`restore_on_unmerge`]. The one place a merge reads or sets a status.
pub(crate) fn close_for_merge(source: &mut Ticket, into_id: Uuid, at: DateTime<Utc>) {
    source.pre_merge_status = Some(source.status.clone());
    move_status(source, &Status::default_of(StatusCategory::Closed, at), at);
    source.merged_into_id = Some(into_id);
}

/// Undoes [`close_for_merge`]: the status from before the merge (its category's
/// default if it is inactive now; `open` if it is gone), no `closed_at`, no
/// `merged_into_id`. `resolved_at` was kept by the merge, so a ticket resolved before it
/// is resolved as it was. The one place an unmerge sets a status.
pub(crate) fn restore_on_unmerge(source: &mut Ticket, statuses: &Statuses, at: DateTime<Utc>) {
    let before = source
        .pre_merge_status
        .take()
        .and_then(|k| statuses.get(k.as_str()).cloned());
    let status = match before {
        Some(s) if s.active => s,
        Some(s) => Status::default_of(s.category, at),
        None => Status::default_of(StatusCategory::Open, at),
    };
    let from = source.status_category;
    source.sla_clock().on_status(from, status.category, at);
    source.status = status.key;
    source.status_category = status.category;
    source.status_changed_at = Some(at);
    if source.status_category != StatusCategory::Resolved {
        source.resolved_at = None;
    }
    source.closed_at = None;
    source.merged_into_id = None;
}

/// Whether a ticket's status refuses a merge, as source or target (category `closed`).
pub(crate) fn closed_for_merge(t: &Ticket) -> bool {
    t.status_category == StatusCategory::Closed
}

/// What deleting ticket `deleted` changes on `t`, a ticket merged into it or the one it
/// was merged into: `t` names it no more (`merged_into_id` null, or out of
/// `merged_ids`), its `version` moves on, `updated_at` stays. Returns whether it changed.
/// Stores call it inside their delete.
#[doc(hidden)]
pub fn forget_merge_with(t: &mut Ticket, deleted: Uuid) -> bool {
    let before = (t.merged_into_id, t.merged_ids.len());
    if t.merged_into_id == Some(deleted) {
        // Closed for good now: no unmerge to restore a status for.
        t.merged_into_id = None;
        t.pre_merge_status = None;
    }
    t.merged_ids.retain(|s| *s != deleted);
    let changed = before != (t.merged_into_id, t.merged_ids.len());
    if changed {
        t.version += 1;
    }
    changed
}
