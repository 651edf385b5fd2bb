//! Snoozing tickets by hand; the scheduler ends snoozes at their time (`ops/schedule.rs`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::Helpdesk;
use crate::error::{Error, Result};
use crate::ops::rules::{Caused, caused};
use crate::ops::ticket::ticket_change_effects;
use crate::principal::Principal;
use crate::snooze::{Snooze, WakeReason};
use crate::status::StatusCategory;
use crate::ticket::Ticket;

impl Helpdesk {
    /// Snoozes a ticket until `until` (in `(now, now + 365 days]`, else 422 at `until`),
    /// replacing an earlier snooze; it keeps its status and its SLA clocks. Staff with
    /// `full` access. A resolved ticket: 409 `conflict`; closed: 409 `ticket_closed`.
    pub async fn snooze_ticket(
        &self,
        p: &Principal,
        id: Uuid,
        until: DateTime<Utc>,
        wake_on_reply: bool,
    ) -> Result<Ticket> {
        self.ticket_for_actions(p, id).await?;
        let schema = self.ticket_schema().await?;
        let (after, caused) = self
            .retry_on_version(|| async {
                let before = self.ticket_for_actions(p, id).await?;
                let now = self.now();
                match before.status_category {
                    StatusCategory::Closed => return Err(Error::TicketClosed),
                    StatusCategory::Resolved => {
                        return Err(Error::Conflict(
                            "a resolved ticket cannot be snoozed".into(),
                        ));
                    }
                    _ => {}
                }
                let snooze = Snooze::new(until, wake_on_reply, now)?;
                if before.snooze == Some(snooze) {
                    return Ok((before, Caused::new()));
                }
                let mut after = before.clone();
                after.snooze = Some(snooze);
                after.updated_at = now;
                after.version += 1;
                let mut fx =
                    ticket_change_effects(&before, &mut after, p.actor(), now, &schema, None);
                self.mail_notifications(&mut fx, &[&after]).await?;
                self.written(self.st().update_ticket(&after, None, &fx))
                    .await?;
                Ok((after, caused(&fx, id)))
            })
            .await?;
        self.after_triggers(p, after, &caused).await
    }

    /// Ends a ticket's snooze by hand (`manual`); nothing when it is not snoozed. Staff
    /// with `full` access.
    pub async fn unsnooze_ticket(&self, p: &Principal, id: Uuid) -> Result<Ticket> {
        self.ticket_for_actions(p, id).await?;
        let schema = self.ticket_schema().await?;
        let (after, caused) = self
            .retry_on_version(|| async {
                let before = self.ticket_for_actions(p, id).await?;
                if before.snooze.is_none() {
                    return Ok((before, Caused::new()));
                }
                let now = self.now();
                let mut after = before.clone();
                after.snooze = None;
                after.updated_at = now;
                after.version += 1;
                let mut fx = ticket_change_effects(
                    &before,
                    &mut after,
                    p.actor(),
                    now,
                    &schema,
                    Some(WakeReason::Manual),
                );
                self.mail_notifications(&mut fx, &[&after]).await?;
                self.written(self.st().update_ticket(&after, None, &fx))
                    .await?;
                Ok((after, caused(&fx, id)))
            })
            .await?;
        self.after_triggers(p, after, &caused).await
    }
}
