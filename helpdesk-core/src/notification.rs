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
    /// To the requester and the assignee.
    TicketStatusChanged,
    /// A new message on a ticket, to its requester and assignee.
    TicketMessage,
    /// To the author of the parent message.
    Reply,
    /// To users named as `@<email>`.
    Mention,
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
        }
    }
}

/// What a notification points at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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

use crate::Helpdesk;
use crate::error::{Error, Result};
use crate::page::{Cursor, Page, limit};
use crate::principal::Principal;
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

impl Helpdesk {
    /// The caller's notifications, newest first, and their unread count.
    pub async fn list_notifications(
        &self,
        p: &Principal,
        unread_only: bool,
        cursor: Option<Cursor>,
        page_size: Option<usize>,
    ) -> Result<(Page<Notification>, u64)> {
        let limit = limit(page_size)?;
        let items = self
            .st()
            .list_notifications(p.user_id, unread_only, cursor, limit)
            .await?;
        let unread = self.st().unread_notifications(p.user_id).await?;
        let page = Page::from_overfetch(items, limit, |n| {
            Cursor::new(n.created_at.timestamp_micros(), n.id)
        });
        Ok((page, unread))
    }

    /// Marks one of the caller's notifications read.
    pub async fn mark_notification_read(&self, p: &Principal, id: Uuid) -> Result<Notification> {
        self.st()
            .mark_notification_read(p.user_id, id, self.now())
            .await?
            .ok_or(Error::NotFound)
    }

    /// Marks all of the caller's notifications read; returns the unread count (0).
    pub async fn mark_all_notifications_read(&self, p: &Principal) -> Result<u64> {
        self.st()
            .mark_all_notifications_read(p.user_id, self.now())
            .await?;
        Ok(self.st().unread_notifications(p.user_id).await?)
    }
}
