//! A ticket's SLA history, whatever the policy: when each metric's cycles started, ran
//! and ended. Its moves are the contract's rules ("SLA policies"); [`super::settle`]
//! reads it under a policy.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Metric, resolution_runs_in};
use crate::status::StatusCategory;

/// A stretch of time a clock ran (`end` `None`: still running).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// Started.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub start: DateTime<Utc>,
    /// Stopped.
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub end: Option<DateTime<Utc>>,
}

/// The history of a ticket's SLA cycles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaClock {
    /// Whether the history is kept (`false`: a record from before SLA; [`SlaClock::of`]
    /// starts it from what the ticket tells).
    #[serde(default)]
    pub started: bool,
    /// The first response's start (the ticket's creation), while it runs.
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub first_response: Option<DateTime<Utc>>,
    /// How many next-response cycles started.
    #[serde(default)]
    pub next_response_cycles: u32,
    /// The running next-response cycle's start.
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub next_response: Option<DateTime<Utc>>,
    /// The resolution cycle (1, and one more per reopen).
    #[serde(default)]
    pub resolution_cycle: u32,
    /// The resolution clock's runs, across every cycle (it counts on after a reopen).
    #[serde(default)]
    pub resolution_runs: Vec<Run>,
    /// Every cycle fulfilled: (metric, cycle, when).
    #[serde(default)]
    pub fulfilled: Vec<(Metric, u32, DateTime<Utc>)>,
}

impl SlaClock {
    /// The history of a ticket as it stands, for a new ticket or a record from before
    /// SLA: the first response runs from creation (`created_at`) until its first
    /// response (`responded`); resolution runs from creation while the status's
    /// `category` is `open` (a paused or resolved record counts what it can tell: from
    /// creation to its last status change, `changed_at`).
    pub fn of(
        created_at: DateTime<Utc>,
        category: StatusCategory,
        changed_at: Option<DateTime<Utc>>,
        responded: bool,
    ) -> SlaClock {
        let active = category.is_active();
        let mut runs = Vec::new();
        if active {
            let end = (!resolution_runs_in(category)).then(|| changed_at.unwrap_or(created_at));
            runs.push(Run {
                start: created_at,
                end,
            });
        }
        SlaClock {
            started: true,
            first_response: (active && !responded).then_some(created_at),
            next_response_cycles: 0,
            next_response: None,
            resolution_cycle: 1,
            resolution_runs: runs,
            fulfilled: Vec::new(),
        }
    }

    /// The running cycle of `metric` and the runs it counts.
    pub fn running(&self, metric: Metric) -> Option<(u32, Vec<Run>)> {
        let run = |start| vec![Run { start, end: None }];
        match metric {
            Metric::FirstResponse => self.first_response.map(|s| (1, run(s))),
            Metric::NextResponse => self
                .next_response
                .map(|s| (self.next_response_cycles, run(s))),
            Metric::Resolution => self
                .resolution_runs
                .last()
                .filter(|r| r.end.is_none())
                .map(|_| (self.resolution_cycle, self.resolution_runs.clone())),
        }
    }

    /// A status move from category `from` to `to` at `at`: resolution pauses outside
    /// `open` and resumes inside it; entering `resolved` fulfils it and ends the response
    /// cycles without a result; entering `closed` ends everything; leaving `resolved` or
    /// `closed` starts the next resolution cycle, counting on.
    pub fn on_status(&mut self, from: StatusCategory, to: StatusCategory, at: DateTime<Utc>) {
        if from == to {
            return;
        }
        if !from.is_active() && to.is_active() {
            self.resolution_cycle += 1;
        }
        let running = self.resolution_runs.last().is_some_and(|r| r.end.is_none());
        match (running, resolution_runs_in(to)) {
            (true, false) => {
                if let Some(r) = self.resolution_runs.last_mut() {
                    r.end = Some(at);
                }
            }
            (false, true) => self.resolution_runs.push(Run {
                start: at,
                end: None,
            }),
            _ => {}
        }
        if to == StatusCategory::Resolved && from.is_active() {
            self.fulfilled
                .push((Metric::Resolution, self.resolution_cycle, at));
        }
        if !to.is_active() {
            self.first_response = None;
            self.next_response = None;
        }
    }

    /// A public message of a staff user at `at`: fulfils the running response cycles.
    pub fn on_staff_reply(&mut self, at: DateTime<Utc>) {
        if self.first_response.take().is_some() {
            self.fulfilled.push((Metric::FirstResponse, 1, at));
        }
        if self.next_response.take().is_some() {
            self.fulfilled
                .push((Metric::NextResponse, self.next_response_cycles, at));
        }
    }

    /// A public customer message at `at` on a ticket now in `category`: starts a
    /// next-response cycle after the first response, unless one runs.
    pub fn on_customer_reply(
        &mut self,
        at: DateTime<Utc>,
        category: StatusCategory,
        responded: bool,
    ) {
        if responded && category.is_active() && self.next_response.is_none() {
            self.next_response_cycles += 1;
            self.next_response = Some(at);
        }
    }
}
