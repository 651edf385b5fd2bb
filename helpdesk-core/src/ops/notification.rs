//! Listing a user's notifications and marking them read.

use crate::Helpdesk;
use crate::error::{Error, Result};
use crate::notification::*;
use crate::page::{Cursor, Page, limit};
use crate::principal::Principal;
use uuid::Uuid;

impl Helpdesk {
    /// The caller's notifications, newest first, and their unread count.
    pub async fn list_notifications(
        &self,
        p: &Principal,
        filter: NotificationFilter,
    ) -> Result<NotificationList> {
        let limit = limit(filter.limit)?;
        let items = self
            .st()
            .list_notifications(p.user_id, filter.unread_only, filter.cursor, limit)
            .await?;
        let unread_count = self.st().unread_notifications(p.user_id).await?;
        let page = Page::from_overfetch(items, limit, |n| {
            Cursor::new(n.created_at.timestamp_micros(), n.id)
        });
        Ok(NotificationList { page, unread_count })
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
