//! Snoozing tickets, and the scheduler's run: [`Helpdesk::run_due`] fires what is due
//! (snooze ends, SLA warnings and breaches) on the tickets it claims.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::Helpdesk;
use crate::error::{Error, Result};
use crate::ops::ticket::ticket_change_effects;
use crate::principal::Principal;
use crate::schedule;
use crate::snooze::{Snooze, WakeReason};
use crate::status::StatusCategory;
use crate::ticket::Ticket;

/// How many due tickets one claim takes.
const CLAIM: usize = 100;

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
        self.retry_on_version(|| async {
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
                return Ok(before);
            }
            let mut after = before.clone();
            after.snooze = Some(snooze);
            after.updated_at = now;
            after.version += 1;
            let fx = ticket_change_effects(&before, &after, p.actor(), now, &schema, None);
            self.written(self.st().update_ticket(&after, None, &fx))
                .await?;
            Ok(after)
        })
        .await
    }

    /// Ends a ticket's snooze by hand (`manual`); nothing when it is not snoozed. Staff
    /// with `full` access.
    pub async fn unsnooze_ticket(&self, p: &Principal, id: Uuid) -> Result<Ticket> {
        self.ticket_for_actions(p, id).await?;
        let schema = self.ticket_schema().await?;
        self.retry_on_version(|| async {
            let before = self.ticket_for_actions(p, id).await?;
            if before.snooze.is_none() {
                return Ok(before);
            }
            let now = self.now();
            let mut after = before.clone();
            after.snooze = None;
            after.updated_at = now;
            after.version += 1;
            let fx = ticket_change_effects(
                &before,
                &after,
                p.actor(),
                now,
                &schema,
                Some(WakeReason::Manual),
            );
            self.written(self.st().update_ticket(&after, None, &fx))
                .await?;
            Ok(after)
        })
        .await
    }

    /// Fires everything due now, on the injected clock: claims due tickets
    /// ([`crate::store::TicketStore::claim_due`]) until none is left and fires each.
    /// Returns how many tickets something fired on. The bundled server calls it every
    /// [`schedule::POLL`] (see [`crate::Background`]); tests call it after moving a
    /// `ManualClock`. Safe to run on any number of instances at once.
    pub async fn run_due(&self) -> Result<usize> {
        let mut fired = 0;
        loop {
            let now = self.now();
            let claimed = self
                .st()
                .claim_due(now, now + schedule::HOLD, CLAIM)
                .await?;
            for id in &claimed {
                match self.fire_due(*id).await {
                    Ok(true) => fired += 1,
                    Ok(false) => {}
                    // Held for a while, then claimed again.
                    Err(e) => tracing::warn!(ticket = %id, error = %e, "firing a due item failed"),
                }
            }
            if claimed.len() < CLAIM {
                return Ok(fired);
            }
        }
    }

    /// Fires what is due on one ticket now: its effects and the record that it fired
    /// are one write under the ticket's version check, so it fires at most once.
    /// Returns whether anything fired.
    async fn fire_due(&self, id: Uuid) -> Result<bool> {
        let schema = self.ticket_schema().await?;
        self.retry_on_version(|| async {
            let Some(before) = self.st().get_ticket(id).await? else {
                return Ok(false);
            };
            let now = self.now();
            let mut after = before.clone();
            let mut woke = None;
            if after.snooze.is_some_and(|s| s.until <= now) {
                after.snooze = None;
                after.updated_at = now;
                woke = Some(WakeReason::Time);
            }
            if after == before {
                return Ok(false);
            }
            after.version += 1;
            let fx = ticket_change_effects(&before, &after, None, now, &schema, woke);
            self.written(self.st().update_ticket(&after, None, &fx))
                .await?;
            Ok(true)
        })
        .await
    }
}
