//! Notifications: who is told what, unread counts, marking read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The kind of a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// To staff, when a ticket is created unassigned.
    TicketCreated,
    /// To the new assignee.
    TicketAssigned,
    /// To the ticket's watchers ([`crate::ticket::Ticket::watchers`]).
    TicketStatusChanged,
    /// A new message on a ticket, to its watchers (customers: public messages only).
    TicketMessage,
    /// To the author of the parent message.
    Reply,
    /// To users named as `@<email>`.
    Mention,
    /// To the `full` members of the group an unassigned ticket was moved to.
    TicketMoved,
    /// To a customer CC'd on a ticket.
    TicketCcAdded,
    /// To a merged ticket's requester and assignee (instead of `ticket_status_changed`).
    TicketMerged,
    /// A macro's or rule's `notify` action, titled with its name.
    RuleNotification,
    /// To the assignee, when a snooze ended by its time or a customer's reply.
    TicketUnsnoozed,
    /// To the assignee, when most of an SLA target has elapsed.
    SlaWarning,
    /// To the assignee, when an SLA target was missed.
    SlaBreached,
    /// To a customer whose ticket was resolved: the CSAT survey's link
    /// (`data.csat_token`, the only place the token appears).
    CsatRequested,
}

impl NotificationKind {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::TicketCreated => "ticket_created",
            NotificationKind::TicketAssigned => "ticket_assigned",
            NotificationKind::TicketStatusChanged => "ticket_status_changed",
            NotificationKind::TicketMessage => "ticket_message",
            NotificationKind::Reply => "reply",
            NotificationKind::Mention => "mention",
            NotificationKind::TicketMoved => "ticket_moved",
            NotificationKind::TicketCcAdded => "ticket_cc_added",
            NotificationKind::TicketMerged => "ticket_merged",
            NotificationKind::RuleNotification => "rule_notification",
            NotificationKind::TicketUnsnoozed => "ticket_unsnoozed",
            NotificationKind::SlaWarning => "sla_warning",
            NotificationKind::SlaBreached => "sla_breached",
            NotificationKind::CsatRequested => "csat_requested",
        }
    }
}

/// What a notification points at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationData {
    /// The ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<Uuid>,
    /// The conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<Uuid>,
    /// The message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<Uuid>,
    /// A CSAT survey's token (`csat_requested`): its recipient's alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csat_token: Option<String>,
}

/// A notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Id.
    pub id: Uuid,
    /// The recipient.
    pub user_id: Uuid,
    /// Kind.
    pub kind: NotificationKind,
    /// One line.
    pub title: String,
    /// More text.
    pub body: String,
    /// What it points at.
    pub data: NotificationData,
    /// When the recipient marked it read.
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub read_at: Option<DateTime<Utc>>,
    /// Created.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
}

use crate::wire::{Ts, opt_ts};

/// The API rendering of a notification.
#[derive(Serialize)]
pub struct NotificationJson<'a> {
    id: Uuid,
    kind: NotificationKind,
    title: &'a str,
    body: &'a str,
    data: &'a NotificationData,
    read_at: Option<Ts>,
    created_at: Ts,
}

/// The API rendering of a notification.
pub fn notification_json(n: &Notification) -> NotificationJson<'_> {
    NotificationJson {
        id: n.id,
        kind: n.kind,
        title: &n.title,
        body: &n.body,
        data: &n.data,
        read_at: opt_ts(n.read_at),
        created_at: Ts(n.created_at),
    }
}

/// Which of the caller's notifications [`crate::Helpdesk::list_notifications`] lists,
/// newest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotificationFilter {
    /// Only unread ones.
    pub unread_only: bool,
    /// Continue after this position.
    pub cursor: Option<crate::page::Cursor>,
    /// Page size (default 50, 1..=200).
    pub limit: Option<usize>,
}

/// A page of notifications and how many of the caller's are unread in all.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationList {
    /// The page.
    pub page: crate::page::Page<Notification>,
    /// Unread notifications in all, not only on this page.
    pub unread_count: u64,
}
