//! The scheduler's run: [`Helpdesk::run_due`] fires what is due (snooze ends, SLA
//! warnings and breaches, automation instants) on the tickets it claims; and
//! [`Helpdesk::settle_all`], which moves every ticket's due instants after the rules
//! behind them changed.

use uuid::Uuid;

use crate::Helpdesk;
use crate::error::Result;
use crate::event::{Effects, EventKind, NewEvent};
use crate::notification::NotificationKind;
use crate::ops::rules::{Caused, caused};
use crate::ops::ticket::{notify, staff_audience, ticket_change_effects, ticket_notification};
use crate::principal::Principal;
use crate::schedule;
use crate::schema::TicketSchema;
use crate::sla::{Alarm, take_alarms};
use crate::snooze::WakeReason;
use crate::status::StatusCategory;
use crate::ticket::TicketQuery;
use serde_json::json;

/// How many due tickets one claim takes.
const CLAIM: usize = 100;

/// How many tickets [`Helpdesk::settle_all`] reads at a time.
const SETTLE_BATCH: usize = 200;

impl Helpdesk {
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
            if claimed.is_empty() {
                return Ok(fired);
            }
            // One read of the statuses, fields and SLA rules for the whole claim.
            let schema = self.ticket_schema().await?;
            for id in &claimed {
                match self.fire_due(*id, &schema).await {
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
    /// are one write under the ticket's version check, so it fires at most once. Then
    /// triggers run on what it wrote (`ticket.unsnoozed`, `ticket.sla_warning`,
    /// `ticket.sla_breached`, `ticket.updated`), as the system, and the automations are
    /// evaluated if their instant was due. Returns whether anything fired.
    async fn fire_due(&self, id: Uuid, schema: &TicketSchema) -> Result<bool> {
        let Some(fired) = self.fire_due_once(id, schema).await? else {
            return Ok(false);
        };
        self.run_triggers_for(&Principal::system(), id, &fired.caused)
            .await?;
        if fired.automations {
            self.evaluate_automations(id).await?;
        }
        Ok(true)
    }

    /// [`Helpdesk::fire_due`]'s write: what it fired, if anything.
    async fn fire_due_once(&self, id: Uuid, schema: &TicketSchema) -> Result<Option<Fired>> {
        self.retry_on_version(|| async {
            let Some(before) = self.st().get_ticket(id).await? else {
                return Ok(None);
            };
            let now = self.now();
            let mut after = before.clone();
            let mut woke = None;
            if after.snooze.is_some_and(|s| s.until <= now) {
                after.snooze = None;
                after.updated_at = now;
                woke = Some(WakeReason::Time);
            }
            let automations = before.automation_at.is_some_and(|at| at <= now);
            schema.settle(&mut after, now);
            let alarms = take_alarms(&mut after.sla, now);
            if after == before {
                return Ok(None);
            }
            after.version += 1;
            let mut fx = ticket_change_effects(&before, &mut after, None, now, schema, woke);
            for (due, alarm) in alarms {
                let (event, kind, what) = match alarm {
                    Alarm::Warning => (
                        EventKind::TicketSlaWarning,
                        NotificationKind::SlaWarning,
                        "is close to missing",
                    ),
                    Alarm::Breach => (
                        EventKind::TicketSlaBreached,
                        NotificationKind::SlaBreached,
                        "missed",
                    ),
                };
                fx.push(NewEvent::new(
                    event,
                    now,
                    staff_audience(&after),
                    json!({
                        "ticket_id": after.id,
                        "metric": due.metric,
                        "cycle": due.cycle,
                        "due_at": crate::wire::format_ts(due.due_at),
                    }),
                ));
                if let Some(a) = after.assignee_id {
                    let title = format!(
                        "Ticket #{} {what} its {} target",
                        after.number,
                        due.metric.as_str().replace('_', " ")
                    );
                    notify(
                        &mut fx,
                        ticket_notification(a, kind, &after, title, now, None),
                    );
                }
            }
            self.mail_notifications(&mut fx, &[&after]).await?;
            self.written(self.st().update_ticket(&after, None, &fx))
                .await?;
            Ok(Some(Fired {
                caused: caused(&fx, id),
                automations,
            }))
        })
        .await
    }

    /// Settles every ticket not closed under the rules in force now
    /// ([`TicketSchema::settle`]), after a change of an SLA policy, a calendar or an
    /// automation that counts hours: each ticket whose SLA or automation instant moves is
    /// written under its version check, without an event and keeping `updated_at`. What
    /// became due fires at the scheduler's next run.
    pub(crate) async fn settle_all(&self) -> Result<()> {
        let mut query = TicketQuery {
            categories: StatusCategory::ALL
                .into_iter()
                .filter(|c| *c != StatusCategory::Closed)
                .collect(),
            limit: SETTLE_BATCH,
            ..Default::default()
        };
        let schema = self.ticket_schema().await?;
        loop {
            let batch = self.st().list_tickets(&query).await?;
            let more = batch.len() > SETTLE_BATCH;
            for t in batch.iter().take(SETTLE_BATCH) {
                query.cursor = Some(crate::page::Cursor::new(query.sort.key(t), t.id));
                self.settle_one(t.id, &schema).await?;
            }
            if !more {
                return Ok(());
            }
        }
    }

    /// Settles one ticket under `schema` (see [`Helpdesk::settle_all`]).
    async fn settle_one(&self, id: Uuid, schema: &TicketSchema) -> Result<()> {
        self.retry_on_version(|| async {
            let Some(before) = self.st().get_ticket(id).await? else {
                return Ok(());
            };
            let mut after = before.clone();
            schema.settle(&mut after, self.now());
            if after == before {
                return Ok(());
            }
            after.version += 1;
            self.written(self.st().update_ticket(&after, None, &Effects::none()))
                .await?;
            Ok(())
        })
        .await
    }
}

/// What one firing did: the trigger events it wrote, and whether the ticket's
/// automation instant was due.
struct Fired {
    caused: Caused,
    automations: bool,
}
