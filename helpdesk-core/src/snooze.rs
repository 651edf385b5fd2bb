//! Snooze (API-workflow.md "Snooze"): a flag on a ticket, not a status. It keeps the
//! status, does not pause SLA, and ends at its time, on a public customer message unless
//! `wake_on_reply` is off, by hand, or when the ticket enters `resolved` or is merged.
//! The operations are in `ops/snooze.rs`; the scheduler ([`crate::schedule`]) wakes it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How far ahead a snooze may reach.
pub const MAX_AHEAD: Duration = Duration::days(365);

/// A ticket's snooze.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snooze {
    /// When it ends by itself.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub until: DateTime<Utc>,
    /// Whether a public customer message ends it.
    pub wake_on_reply: bool,
}

impl Snooze {
    /// A snooze until `until`, which must lie in `(now, now + 365 days]` (422 at `until`).
    pub fn new(until: DateTime<Utc>, wake_on_reply: bool, now: DateTime<Utc>) -> Result<Snooze> {
        if until <= now {
            return Err(Error::invalid("until", "must be in the future"));
        }
        if until > now + MAX_AHEAD {
            return Err(Error::invalid("until", "must be at most 365 days ahead"));
        }
        Ok(Snooze {
            until: crate::clock::truncate(until),
            wake_on_reply,
        })
    }
}

/// Why a snooze ended (`ticket.unsnoozed`'s `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WakeReason {
    /// Its time came (the scheduler).
    Time,
    /// A public customer message.
    Reply,
    /// `DELETE /api/tickets/{id}/snooze`.
    Manual,
    /// The ticket entered `resolved`, or was merged.
    Status,
}

impl WakeReason {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            WakeReason::Time => "time",
            WakeReason::Reply => "reply",
            WakeReason::Manual => "manual",
            WakeReason::Status => "status",
        }
    }

    /// Whether the assignee hears of it (`ticket_unsnoozed`): when it woke by itself.
    pub fn notifies(self) -> bool {
        matches!(self, WakeReason::Time | WakeReason::Reply)
    }
}
