//! SLA policies (API-workflow.md "SLA policies"): the record, its input and its checks,
//! the rules in force ([`SlaRules`]), and reading a ticket's SLA history under them
//! ([`settle`]). The operations are in `ops/sla.rs`; the state a ticket carries is in
//! [`crate::sla`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::calendar::{Calendar, Hours};
use crate::condition::Condition;
use crate::error::{Error, FieldError, Result};
use crate::sla::{Due, MAX_MINUTES, Metric, Run};
use crate::status::StatusCategory;
use crate::ticket::{Priority, Ticket};

/// An SLA policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaPolicy {
    /// Id.
    pub id: Uuid,
    /// Name (1..=100 characters).
    pub name: String,
    /// The order policies are tried in, then `id`.
    pub position: i64,
    /// Inactive policies apply to nothing.
    pub active: bool,
    /// Which tickets it applies to (the first active match wins).
    pub condition: Condition,
    /// Business hours (`None`: 24×7).
    pub calendar_id: Option<Uuid>,
    /// Targets in business minutes by metric and priority.
    pub targets: Targets,
    /// The share of a target after which `ticket.sla_warning` fires (1..=99; `None`: never).
    pub warn_percent: Option<u8>,
    /// Created.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
    /// Last changed.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub updated_at: DateTime<Utc>,
}

/// Targets by metric, each by priority, in business minutes (absent: no target).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    /// First response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response: Option<ByPriority>,
    /// Next response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_response: Option<ByPriority>,
    /// Resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<ByPriority>,
}

/// Minutes by priority (absent: no target for it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ByPriority {
    /// Low.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<f64>,
    /// Normal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normal: Option<f64>,
    /// High.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<f64>,
    /// Urgent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgent: Option<f64>,
}

impl ByPriority {
    fn get(&self, p: Priority) -> Option<f64> {
        match p {
            Priority::Low => self.low,
            Priority::Normal => self.normal,
            Priority::High => self.high,
            Priority::Urgent => self.urgent,
        }
    }
}

impl Targets {
    /// The target of `metric` for priority `p`, in business minutes.
    pub fn minutes(&self, metric: Metric, p: Priority) -> Option<f64> {
        let m = match metric {
            Metric::FirstResponse => &self.first_response,
            Metric::NextResponse => &self.next_response,
            Metric::Resolution => &self.resolution,
        };
        m.as_ref().and_then(|m| m.get(p))
    }

    /// `json` as targets, every number checked (> 0, ≤ [`MAX_MINUTES`]): 422 at
    /// `targets.<metric>.<priority>`; an unknown key: `unknown_field`.
    pub fn parse(json: &serde_json::Value) -> Result<Targets> {
        let Some(obj) = json.as_object() else {
            return Err(Error::invalid("targets", "must be an object"));
        };
        let mut errors = Vec::new();
        let mut unknown = Vec::new();
        let mut t = Targets::default();
        for (metric, value) in obj {
            let slot = match metric.as_str() {
                "first_response" => &mut t.first_response,
                "next_response" => &mut t.next_response,
                "resolution" => &mut t.resolution,
                _ => {
                    unknown.push(format!("targets.{metric}"));
                    continue;
                }
            };
            let Some(by) = value.as_object() else {
                errors.push(FieldError {
                    field: format!("targets.{metric}"),
                    message: "must be an object".into(),
                });
                continue;
            };
            let mut b = ByPriority::default();
            for (p, minutes) in by {
                let path = format!("targets.{metric}.{p}");
                let cell = match p.as_str() {
                    "low" => &mut b.low,
                    "normal" => &mut b.normal,
                    "high" => &mut b.high,
                    "urgent" => &mut b.urgent,
                    _ => {
                        unknown.push(path);
                        continue;
                    }
                };
                match minutes.as_f64() {
                    Some(m) if m > 0.0 && m <= MAX_MINUTES => *cell = Some(m),
                    _ => errors.push(FieldError {
                        field: path,
                        message: "must be a number of minutes above 0 and at most 525600".into(),
                    }),
                }
            }
            *slot = Some(b);
        }
        if let Some(first) = unknown.into_iter().next() {
            return Err(Error::UnknownField(first));
        }
        if errors.is_empty() {
            Ok(t)
        } else {
            Err(Error::Validation(errors))
        }
    }
}

/// Input for creating a policy; `condition` and `targets` are JSON, checked when made.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSlaPolicy {
    /// Name.
    pub name: String,
    /// Position (`None`: after the last).
    pub position: Option<i64>,
    /// Active (`None`: true).
    pub active: Option<bool>,
    /// Condition (`None`: `{}`, every ticket).
    pub condition: Option<serde_json::Value>,
    /// Calendar (`None`: 24×7).
    pub calendar_id: Option<Uuid>,
    /// Targets (JSON).
    pub targets: serde_json::Value,
    /// Warning share (`None`: 80; `Some(None)`: no warnings).
    pub warn_percent: Option<Option<i64>>,
}

/// A change to a policy; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlaPolicyPatch {
    /// Name.
    pub name: Option<String>,
    /// Position.
    pub position: Option<i64>,
    /// Active.
    pub active: Option<bool>,
    /// Condition (JSON).
    pub condition: Option<serde_json::Value>,
    /// Calendar (`Some(None)`: 24×7).
    pub calendar_id: Option<Option<Uuid>>,
    /// Targets (JSON).
    pub targets: Option<serde_json::Value>,
    /// Warning share (`Some(None)`: none).
    pub warn_percent: Option<Option<i64>>,
}

/// Most policies a helpdesk holds.
pub const MAX_POLICIES: usize = 100;

/// The default `warn_percent`.
pub const DEFAULT_WARN_PERCENT: u8 = 80;

/// Checks a `warn_percent` (1..=99).
pub fn validate_warn_percent(p: Option<i64>) -> Result<Option<u8>> {
    match p {
        None => Ok(None),
        Some(n @ 1..=99) => Ok(Some(n as u8)),
        Some(_) => Err(Error::invalid(
            "warn_percent",
            "must be from 1 to 99, or null",
        )),
    }
}

/// Sorts policies as they are tried and listed: by position, then id.
pub fn sort_policies(policies: &mut [SlaPolicy]) {
    policies.sort_by_key(|p| (p.position, p.id));
}

/// The policies and calendars SLA selection reads: active policies in (`position`,
/// `id`) order, and the calendars they may name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlaRules {
    /// Active policies, in the order they are tried.
    pub policies: Vec<SlaPolicy>,
    /// Calendars by id.
    pub calendars: std::collections::HashMap<Uuid, Calendar>,
}

impl SlaRules {
    /// The first active policy whose condition matches `t` at `now`.
    pub fn policy_for(&self, t: &Ticket, now: DateTime<Utc>) -> Option<&SlaPolicy> {
        let facts = crate::condition::TicketFacts::of(t, now);
        self.policies
            .iter()
            .find(|p| p.active && p.condition.matches(&facts))
    }
}

/// Recomputes `t.sla` from its history under the policy that applies now (none: no
/// SLA, history kept). Call after every change of the ticket, and after a change of a
/// policy or a calendar.
pub fn settle(t: &mut Ticket, rules: &SlaRules, now: DateTime<Utc>) {
    t.sla_clock();
    let policy = rules.policy_for(t, now).cloned();
    let sla = &mut t.sla;
    sla.policy_id = policy.as_ref().map(|p| p.id);
    sla.due.clear();
    sla.paused = false;
    let Some(policy) = policy else { return };
    t.sla.paused = policy
        .targets
        .minutes(Metric::Resolution, t.priority)
        .is_some()
        && matches!(
            t.status_category,
            StatusCategory::Pending | StatusCategory::OnHold
        );
    let hours = match policy.calendar_id.and_then(|c| rules.calendars.get(&c)) {
        Some(c) => Hours::Calendar(c),
        None => Hours::Always,
    };
    for metric in Metric::ALL {
        let Some(target) = policy.targets.minutes(metric, t.priority) else {
            continue;
        };
        let Some((cycle, runs)) = t.sla.clock.running(metric) else {
            continue;
        };
        let due_at = reach(&hours, &runs, target);
        let warn_at = policy
            .warn_percent
            .map(|pct| reach(&hours, &runs, target * f64::from(pct) / 100.0));
        t.sla.due.push(Due {
            metric,
            cycle,
            due_at,
            warn_at,
        });
    }
}

/// The instant `minutes` business minutes have run over `runs` (ended ones, then the
/// running one): inside the run where the sum reaches it.
fn reach(hours: &Hours<'_>, runs: &[Run], minutes: f64) -> DateTime<Utc> {
    let mut left = minutes;
    let mut last = DateTime::<Utc>::MIN_UTC;
    for run in runs {
        last = run.start;
        let Some(end) = run.end else {
            return hours.add(run.start, left);
        };
        let spent = hours.between(run.start, end);
        if spent >= left {
            return hours.add(run.start, left);
        }
        left -= spent;
    }
    // Every run ended (callers ask for running cycles only).
    hours.add(last, left)
}
