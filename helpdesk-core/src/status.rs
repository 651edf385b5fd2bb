//! Ticket statuses as data (API-workflow.md, "Statuses"): the five [`StatusCategory`]s
//! the transition table works on, the [`Status`] records an installation defines within
//! them (each category has a default status whose key is the category's name), and the
//! checks on status input. The operations are in `ops/status.rs`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::principal::TicketView;
use crate::wire::Ts;

/// Most statuses in one category.
pub const MAX_PER_CATEGORY: usize = 50;

/// A status's category: the five statuses of API.md's Tickets, which the transition
/// table, SLA pauses and "enters resolved" work on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusCategory {
    /// New or reopened.
    Open,
    /// Waiting on the requester.
    Pending,
    /// Waiting on a third party.
    OnHold,
    /// Solved; may be reopened or closed.
    Resolved,
    /// Final (but for unmerge).
    Closed,
}

impl StatusCategory {
    /// Every category, in the order statuses are listed.
    pub const ALL: [StatusCategory; 5] = [
        StatusCategory::Open,
        StatusCategory::Pending,
        StatusCategory::OnHold,
        StatusCategory::Resolved,
        StatusCategory::Closed,
    ];
    /// The API name, which is also the key of the category's default status.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCategory::Open => "open",
            StatusCategory::Pending => "pending",
            StatusCategory::OnHold => "on_hold",
            StatusCategory::Resolved => "resolved",
            StatusCategory::Closed => "closed",
        }
    }
    /// The label of the category's default status.
    pub fn default_label(self) -> &'static str {
        match self {
            StatusCategory::Open => "Open",
            StatusCategory::Pending => "Pending",
            StatusCategory::OnHold => "On hold",
            StatusCategory::Resolved => "Resolved",
            StatusCategory::Closed => "Closed",
        }
    }
    /// The id of the category's default status, the same in every installation.
    pub fn default_status_id(self) -> Uuid {
        Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0001 + self as u128)
    }
    /// Open, pending or on hold.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            StatusCategory::Open | StatusCategory::Pending | StatusCategory::OnHold
        )
    }
    /// The transition table of API.md applied to categories: any active category to
    /// any other or to resolved, resolved to open or closed, and moves inside one
    /// category but `closed`. (Naming the current status is no move at all.)
    pub fn can_move_to(self, to: StatusCategory) -> bool {
        use StatusCategory::*;
        match (self, to) {
            (Closed, _) => false,
            (a, b) if a == b => true,
            (a, b) if a.is_active() && b.is_active() => true,
            (a, Resolved) if a.is_active() => true,
            (Resolved, Open | Closed) => true,
            _ => false,
        }
    }
}

impl std::str::FromStr for StatusCategory {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        StatusCategory::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                crate::Error::invalid(
                    "status_category",
                    "must be open, pending, on_hold, resolved or closed",
                )
            })
    }
}

impl std::fmt::Display for StatusCategory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status's key as tickets name it (`open`, `waiting_for_parts`). Any string makes
/// one; whether a status has it is the status table's to say ([`Statuses::get`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StatusKey(String);

impl StatusKey {
    /// The key.
    pub fn new(key: impl Into<String>) -> Self {
        StatusKey(key.into())
    }
    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<StatusCategory> for StatusKey {
    /// The key of the category's default status.
    fn from(c: StatusCategory) -> Self {
        StatusKey(c.as_str().to_string())
    }
}

impl From<&str> for StatusKey {
    fn from(s: &str) -> Self {
        StatusKey(s.to_string())
    }
}

impl std::fmt::Display for StatusKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Id (the defaults': [`StatusCategory::default_status_id`]).
    pub id: Uuid,
    /// Unique, fixed: `^[a-z][a-z0-9_]{0,49}$`.
    pub key: StatusKey,
    /// Fixed.
    pub category: StatusCategory,
    /// What staff see.
    pub agent_label: String,
    /// What customers see.
    pub customer_label: String,
    /// Order within the category.
    pub position: i64,
    /// Inactive statuses cannot be set; tickets in one keep it.
    pub active: bool,
    /// The category's default (key = the category's name): never deactivated or deleted.
    pub is_default: bool,
    /// Created.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
    /// Last changed.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub updated_at: DateTime<Utc>,
}

impl Status {
    /// The default status of `c`, as every store starts with it (made at `at`).
    pub fn default_of(c: StatusCategory, at: DateTime<Utc>) -> Status {
        let at = crate::clock::truncate(at);
        Status {
            id: c.default_status_id(),
            key: c.into(),
            category: c,
            agent_label: c.default_label().into(),
            customer_label: c.default_label().into(),
            position: 0,
            active: true,
            is_default: true,
            created_at: at,
            updated_at: at,
        }
    }
    /// The label `view` shows.
    pub fn label(&self, view: TicketView) -> &str {
        match view {
            TicketView::Staff => &self.agent_label,
            TicketView::Customer => &self.customer_label,
        }
    }
}

/// A status as the API shows it; customers do not see `agent_label`.
#[derive(Serialize)]
pub struct StatusJson<'a> {
    id: Uuid,
    key: &'a str,
    category: StatusCategory,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_label: Option<&'a str>,
    customer_label: &'a str,
    position: i64,
    active: bool,
    is_default: bool,
    created_at: Ts,
    updated_at: Ts,
}

/// The API rendering of a status for `view`.
pub fn status_json(s: &Status, view: TicketView) -> StatusJson<'_> {
    StatusJson {
        id: s.id,
        key: s.key.as_str(),
        category: s.category,
        agent_label: (view == TicketView::Staff).then_some(s.agent_label.as_str()),
        customer_label: &s.customer_label,
        position: s.position,
        active: s.active,
        is_default: s.is_default,
        created_at: Ts(s.created_at),
        updated_at: Ts(s.updated_at),
    }
}

/// The list order: category, position, key.
pub fn sort_statuses(statuses: &mut [Status]) {
    statuses
        .sort_by(|a, b| (a.category, a.position, &a.key).cmp(&(b.category, b.position, &b.key)));
}

/// Input for a new status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStatus {
    /// The key.
    pub key: String,
    /// The category.
    pub category: StatusCategory,
    /// What staff see.
    pub agent_label: String,
    /// What customers see (default: `agent_label`).
    pub customer_label: Option<String>,
    /// Position (default: after the category's last).
    pub position: Option<i64>,
    /// Default true.
    pub active: Option<bool>,
}

/// A change to a status (`key` and `category` are fixed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusPatch {
    /// What staff see.
    pub agent_label: Option<String>,
    /// What customers see.
    pub customer_label: Option<String>,
    /// Position.
    pub position: Option<i64>,
    /// Active.
    pub active: Option<bool>,
}

/// The statuses in force, as an operation reads them once from the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statuses(Vec<Status>);

impl Statuses {
    /// The table of these statuses.
    pub fn new(mut statuses: Vec<Status>) -> Self {
        sort_statuses(&mut statuses);
        Statuses(statuses)
    }
    /// The five defaults only (a store without any other status).
    pub fn defaults() -> Self {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        Statuses(
            StatusCategory::ALL
                .into_iter()
                .map(|c| Status::default_of(c, at))
                .collect(),
        )
    }
    /// Every status, in list order.
    pub fn all(&self) -> &[Status] {
        &self.0
    }
    /// The status with this key.
    pub fn get(&self, key: &str) -> Option<&Status> {
        self.0.iter().find(|s| s.key.as_str() == key)
    }
    /// The status a write names: it must exist and be active (422 at `field`).
    pub fn settable(&self, field: &str, key: &StatusKey) -> Result<&Status> {
        match self.get(key.as_str()) {
            Some(s) if s.active => Ok(s),
            Some(_) => Err(Error::invalid(field, format!("`{key}` is not active"))),
            None => Err(Error::invalid(field, format!("`{key}` is not a status"))),
        }
    }
    /// The label of `key` for `view` (the key itself if the status is gone).
    pub fn label<'a>(&'a self, key: &'a StatusKey, view: TicketView) -> &'a str {
        self.get(key.as_str())
            .map_or(key.as_str(), |s| s.label(view))
    }
    /// The id of `key`'s status (nil if it is gone).
    pub fn id(&self, key: &StatusKey) -> Uuid {
        self.get(key.as_str()).map_or(Uuid::nil(), |s| s.id)
    }
}

/// A key of a status or a custom field: `^[a-z][a-z0-9_]{0,49}$`.
pub(crate) fn validate_key(key: &str) -> Result<String> {
    let b = key.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 50
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_');
    match ok {
        true => Ok(key.to_string()),
        false => Err(Error::invalid(
            "key",
            "must be a lowercase letter then up to 49 lowercase letters, digits or _",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_works_on_categories() {
        use StatusCategory::*;
        assert!(Open.can_move_to(Open));
        assert!(Pending.can_move_to(Open));
        assert!(Open.can_move_to(Resolved));
        assert!(Resolved.can_move_to(Resolved));
        assert!(!Resolved.can_move_to(Pending));
        assert!(!Closed.can_move_to(Closed));
        assert!(!Open.can_move_to(Closed));
    }

    #[test]
    fn keys() {
        assert!(validate_key("waiting_for_parts").is_ok());
        assert!(validate_key("a").is_ok());
        for bad in ["", "1a", "A", "a-b", &"a".repeat(51)] {
            assert!(validate_key(bad).is_err(), "{bad}");
        }
    }
}
