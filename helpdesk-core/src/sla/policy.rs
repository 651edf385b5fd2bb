//! SLA policies: the record, its input and its checks. The operations are in
//! `ops/sla.rs`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Metric;
use crate::condition::Condition;
use crate::error::{Error, FieldError, Result};
use crate::ticket::Priority;

/// The largest target, in business minutes (a year).
pub const MAX_MINUTES: f64 = 525_600.0;

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
