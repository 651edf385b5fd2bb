//! SLA (API-workflow.md "SLA policies"): the three metrics with their cycles, and the
//! state a ticket carries. The policies, and reading the state under them, are in
//! [`crate::sla_policy`].
//!
//! A ticket keeps its SLA **history** ([`SlaClock`]: when each cycle started, ran,
//! paused, ended), which does not depend on any policy, and what the history means under
//! the policy that applies now ([`TicketSla::due`]): due and warning instants of the
//! running cycles. [`crate::sla_policy::settle`] recomputes the second from the first
//! after every change of the ticket, a policy or a calendar, so paused time stays
//! excluded whatever changes;
//! the warnings and breaches already fired are kept ([`TicketSla::emitted`]), so each
//! fires at most once per (metric, cycle). The scheduler ([`crate::schedule`]) fires
//! them at their instants.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::status::StatusCategory;

mod clock;

pub use clock::{Run, SlaClock};

/// The largest target, in business minutes (a year).
pub const MAX_MINUTES: f64 = 525_600.0;

/// An SLA metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// From creation to the first public staff message (cycle 1 only).
    FirstResponse,
    /// From a public customer message (after the first response) to the next public
    /// staff message.
    NextResponse,
    /// From creation to entering `resolved`, paused in `pending` and `on_hold`, counting
    /// on across reopens.
    Resolution,
}

impl Metric {
    /// Every metric.
    pub const ALL: [Metric; 3] = [
        Metric::FirstResponse,
        Metric::NextResponse,
        Metric::Resolution,
    ];
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::FirstResponse => "first_response",
            Metric::NextResponse => "next_response",
            Metric::Resolution => "resolution",
        }
    }
}

/// What fired for a (metric, cycle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alarm {
    /// `ticket.sla_warning`.
    Warning,
    /// `ticket.sla_breached`.
    Breach,
}

/// `minutes` as a duration, to the microsecond.
pub fn minutes_duration(minutes: f64) -> Duration {
    Duration::microseconds((minutes * 60_000_000.0).round() as i64)
}

/// The due and warning instants of one running cycle under the policy in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Due {
    /// The metric.
    pub metric: Metric,
    /// Its cycle (1, 2, ...).
    pub cycle: u32,
    /// When its target is reached.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub due_at: DateTime<Utc>,
    /// When `warn_percent` of it has elapsed (`None`: no warning).
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub warn_at: Option<DateTime<Utc>>,
}

/// A ticket's SLA: its history, and what it means under the policy in force.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSla {
    /// The history.
    #[serde(default)]
    pub clock: SlaClock,
    /// The policy that applies (`None`: no SLA; the ticket's `sla` is null).
    #[serde(default)]
    pub policy_id: Option<Uuid>,
    /// The running cycles' instants (a paused resolution has none).
    #[serde(default)]
    pub due: Vec<Due>,
    /// The warnings and breaches fired, by (metric, cycle): never again.
    #[serde(default)]
    pub emitted: Vec<(Metric, u32, Alarm)>,
    /// Whether the resolution clock is paused (`pending`, `on_hold`) under a policy
    /// with a resolution target.
    #[serde(default)]
    pub paused: bool,
}

impl TicketSla {
    /// Whether `alarm` fired for (metric, cycle).
    pub fn fired(&self, metric: Metric, cycle: u32, alarm: Alarm) -> bool {
        self.emitted.contains(&(metric, cycle, alarm))
    }

    /// The running cycle of `metric`, if any.
    pub fn running(&self, metric: Metric) -> Option<&Due> {
        self.due.iter().find(|d| d.metric == metric)
    }

    /// The earliest due instant of a running cycle (the `sla_due_at` sort and filters).
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        self.due.iter().map(|d| d.due_at).min()
    }

    /// The earliest warning or breach not fired yet (the scheduler's instant).
    pub fn next_due_at(&self) -> Option<DateTime<Utc>> {
        self.due
            .iter()
            .flat_map(|d| {
                let warn = d
                    .warn_at
                    .filter(|_| !self.fired(d.metric, d.cycle, Alarm::Warning));
                let breach =
                    Some(d.due_at).filter(|_| !self.fired(d.metric, d.cycle, Alarm::Breach));
                [warn, breach]
            })
            .flatten()
            .min()
    }

    /// The metrics whose running cycle is past due at `now`.
    pub fn breached(&self, now: DateTime<Utc>) -> Vec<Metric> {
        let mut m: Vec<Metric> = self
            .due
            .iter()
            .filter(|d| d.due_at <= now)
            .map(|d| d.metric)
            .collect();
        m.sort();
        m
    }
}

/// Notes the warnings and breaches due at `now` that have not fired, and returns those
/// to announce: a warning whose breach is due by then too is noted but never announced
/// (API-workflow.md: "not if the breach is due then").
pub fn take_alarms(sla: &mut TicketSla, now: DateTime<Utc>) -> Vec<(Due, Alarm)> {
    let mut out = Vec::new();
    for d in sla.due.clone() {
        if let Some(warn) = d.warn_at
            && warn <= now
            && !sla.fired(d.metric, d.cycle, Alarm::Warning)
        {
            sla.emitted.push((d.metric, d.cycle, Alarm::Warning));
            if d.due_at > now {
                out.push((d, Alarm::Warning));
            }
        }
        if d.due_at <= now && !sla.fired(d.metric, d.cycle, Alarm::Breach) {
            sla.emitted.push((d.metric, d.cycle, Alarm::Breach));
            out.push((d, Alarm::Breach));
        }
    }
    out
}

/// Whether the resolution clock runs in a category.
pub fn resolution_runs_in(c: StatusCategory) -> bool {
    matches!(c, StatusCategory::Open)
}
