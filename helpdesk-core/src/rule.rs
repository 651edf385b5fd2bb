//! Rules: triggers and automations (API-workflow.md, "Rules"). A rule is a condition
//! in the one condition language ([`crate::condition`]) and actions in the one action
//! language ([`crate::action`]); a trigger runs its actions on the events of a ticket it
//! matches, an automation when a ticket enters its condition. The records, the checks
//! on their input, their order, and the pure time arithmetic the scheduler needs
//! ([`next_instant`]); the operations are in `ops/rules.rs`.
//!
//! Saving a rule writes no events. Rules, their run log and the automations' edge
//! state are admin-only.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::action::Action;
use crate::condition::{Condition, Field, Op, Operand, Usage, Value};
use crate::error::{Error, FieldError};
use crate::ticket::Ticket;

pub use crate::macros::{MAX_ACTIONS, MAX_NAME_CHARS, MAX_POSITION, validate_name};

/// Most rules a helpdesk holds, triggers and automations together.
pub const MAX_RULES: usize = 500;
/// How many runs of one rule its log keeps (older ones are pruned).
pub const MAX_RUNS_KEPT: usize = 1_000;
/// How deep a chain of events caused by triggers goes before it stops.
pub const MAX_CHAIN_DEPTH: u32 = 10;

/// Whether a rule runs on events or on entering its condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// Runs on the events of a ticket it matches.
    Trigger,
    /// Runs when a ticket enters its condition.
    Automation,
}

impl RuleKind {
    /// `trigger` or `automation`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Trigger => "trigger",
            RuleKind::Automation => "automation",
        }
    }

    /// The kind called `name`.
    pub fn parse(name: &str) -> Option<RuleKind> {
        match name {
            "trigger" => Some(RuleKind::Trigger),
            "automation" => Some(RuleKind::Automation),
            _ => None,
        }
    }

    /// How its condition is checked (triggers may test `event`, `actor.role`,
    /// `message.internal`).
    pub fn usage(self) -> Usage {
        match self {
            RuleKind::Trigger => Usage::Trigger,
            RuleKind::Automation => Usage::Automation,
        }
    }
}

/// A trigger or an automation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Id.
    pub id: Uuid,
    /// Name (1..=100 characters, trimmed); `notify` actions title their notifications
    /// with it.
    pub name: String,
    /// Trigger or automation (fixed once made).
    pub kind: RuleKind,
    /// Whether it runs.
    pub active: bool,
    /// The order rules run and list in, then `id`.
    pub position: i64,
    /// When it runs (checked for its kind's usage when saved).
    pub condition: Condition,
    /// What it does, in order (1..=20; `send_reply` names a `global` canned reply).
    pub actions: Vec<Action>,
    /// Created.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
    /// Last changed.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub updated_at: DateTime<Utc>,
}

/// Input for creating a rule; `condition` and `actions` are JSON, checked when made.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRule {
    /// Name.
    pub name: String,
    /// Trigger or automation.
    pub kind: RuleKind,
    /// Whether it runs (`None`: true).
    pub active: Option<bool>,
    /// The list position (`None`: after the last rule).
    pub position: Option<i64>,
    /// The condition (JSON; `None`: `{}`).
    pub condition: Option<serde_json::Value>,
    /// The actions (JSON).
    pub actions: serde_json::Value,
}

/// A change to a rule; `None` leaves a field alone. `kind` is fixed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RulePatch {
    /// New name.
    pub name: Option<String>,
    /// Activates or deactivates it.
    pub active: Option<bool>,
    /// New position.
    pub position: Option<i64>,
    /// New condition (JSON, checked).
    pub condition: Option<serde_json::Value>,
    /// New actions (JSON, checked).
    pub actions: Option<serde_json::Value>,
}

/// How a rule's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunResult {
    /// Its actions were applied.
    Applied,
    /// A step failed and changed nothing (or a chain went too deep).
    Failed,
}

impl RunResult {
    /// `applied` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunResult::Applied => "applied",
            RunResult::Failed => "failed",
        }
    }
}

/// Why a run failed: the problem details the failing step answered with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunError {
    /// The error code (`invalid_transition`, `validation_failed`, `loop_limit`, ...).
    pub code: String,
    /// What went wrong.
    pub detail: String,
    /// The fields at fault, for validation errors.
    #[serde(default)]
    pub errors: Vec<FieldError>,
}

/// The error code of a run stopped by the chain depth limit.
pub const LOOP_LIMIT: &str = "loop_limit";

impl RunError {
    /// The problem details of a failed step.
    pub fn of(e: &Error) -> RunError {
        RunError {
            code: e.code().to_string(),
            detail: e.to_string(),
            errors: match e {
                Error::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
        }
    }

    /// A chain stopped at [`MAX_CHAIN_DEPTH`].
    pub fn loop_limit() -> RunError {
        RunError {
            code: LOOP_LIMIT.into(),
            detail: format!("a chain of rule runs reached depth {MAX_CHAIN_DEPTH} and stopped"),
            errors: Vec::new(),
        }
    }
}

/// One run of a rule on a ticket, as its log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleRun {
    /// Id (time-ordered).
    pub id: Uuid,
    /// The rule.
    pub rule_id: Uuid,
    /// The ticket.
    pub ticket_id: Uuid,
    /// When.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub at: DateTime<Utc>,
    /// How it ended.
    pub result: RunResult,
    /// Why it failed (`None` when applied).
    pub error: Option<RunError>,
}

/// Sorts rules as they run and list: by position, then id.
pub fn sort_rules(rules: &mut [Rule]) {
    rules.sort_by_key(|r| (r.position, r.id));
}

/// Sorts runs as they list: newest first.
pub fn sort_runs(runs: &mut [RuleRun]) {
    runs.sort_by_key(|r| std::cmp::Reverse((r.at, r.id)));
}

/// The answer when [`MAX_RULES`] rules exist already.
pub fn limit_reached() -> Error {
    Error::invalid(
        "name",
        format!("there are {MAX_RULES} rules already: delete one first"),
    )
}

impl Rule {
    /// Whether it is an active automation whose condition counts hours
    /// (`hours_since_*`): one the scheduler wakes ([`next_instant`]).
    pub fn counts_hours(&self) -> bool {
        self.active
            && self.kind == RuleKind::Automation
            && self
                .condition
                .all
                .iter()
                .chain(&self.condition.any)
                .any(|p| {
                    matches!(
                        p.field,
                        Field::HoursSinceCreated
                            | Field::HoursSinceUpdated
                            | Field::HoursSinceStatusChanged
                    )
                })
    }
}

/// The earliest instant after `now` at which an `hours_since_*` `gt`/`lt` predicate of
/// one of `conditions` flips on `ticket` (what the scheduler wakes automations at), or
/// `None` when none will. Pure: the ticket's `created_at`, `updated_at` and last status
/// change (else creation) are what the hours count from.
pub fn next_instant<'a>(
    conditions: impl IntoIterator<Item = &'a Condition>,
    ticket: &Ticket,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut best: Option<DateTime<Utc>> = None;
    for c in conditions {
        for p in c.all.iter().chain(&c.any) {
            let from = match p.field {
                Field::HoursSinceCreated => ticket.created_at,
                Field::HoursSinceUpdated => ticket.updated_at,
                Field::HoursSinceStatusChanged => {
                    ticket.status_changed_at.unwrap_or(ticket.created_at)
                }
                _ => continue,
            };
            if !matches!(p.op, Op::Gt | Op::Lt) {
                continue;
            }
            let Value::One(Operand::Number(hours)) = p.value else {
                continue;
            };
            let micros = hours * 3_600_000_000.0;
            if !micros.is_finite() || micros.abs() > 1e17 {
                continue;
            }
            // `gt h` turns true just after from + h; `lt h` turns false at from + h.
            let at = from + Duration::microseconds(micros as i64);
            let at = match p.op {
                Op::Gt => at + Duration::microseconds(1),
                _ => at,
            };
            if at > now && best.is_none_or(|b| at < b) {
                best = Some(at);
            }
        }
    }
    best
}

/// The result of a dry run ([`crate::Helpdesk::dry_run_rule`]).
#[derive(Debug)]
pub struct DryRun {
    /// The condition's outcome, predicate by predicate.
    pub evaluation: crate::condition::Evaluation,
    /// The ticket as the actions would leave it (`None` without a match or on a
    /// failure).
    pub ticket: Option<Ticket>,
    /// The first failing action's error.
    pub error: Option<Error>,
}

/// What a dry run is asked.
#[derive(Debug, Clone, PartialEq)]
pub struct DryRunInput {
    /// The condition (JSON, checked as a trigger's).
    pub condition: serde_json::Value,
    /// The actions (JSON, checked as a rule's).
    pub actions: serde_json::Value,
    /// The ticket (one the caller cannot see: invalid `ticket_id`).
    pub ticket_id: Uuid,
    /// The event (`None`: `ticket.updated`; an unknown one: invalid `event`).
    pub event: Option<String>,
}
