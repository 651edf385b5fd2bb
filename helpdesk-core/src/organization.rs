//! Organizations of customers: the record and its sharing rule. A customer belongs to
//! one organization at most; a ticket keeps its requester's organization at creation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};

/// Which tickets of an organization its customers see (read-only), besides their own
/// and those they are CC on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sharing {
    /// None besides their own.
    #[default]
    None,
    /// Managers see all of the organization's tickets.
    Managers,
    /// Every member does.
    All,
}

impl Sharing {
    /// Every rule.
    pub const ALL: [Sharing; 3] = [Sharing::None, Sharing::Managers, Sharing::All];
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Sharing::None => "none",
            Sharing::Managers => "managers",
            Sharing::All => "all",
        }
    }
    /// Whether a member (a manager or not) sees the organization's tickets.
    pub fn shows_to(self, is_manager: bool) -> bool {
        match self {
            Sharing::None => false,
            Sharing::Managers => is_manager,
            Sharing::All => true,
        }
    }
}

impl std::str::FromStr for Sharing {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Sharing::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| Error::invalid("sharing", "must be none, managers or all"))
    }
}

/// An organization of customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// Id.
    pub id: Uuid,
    /// Name (1..=200 characters, trimmed), unique case-insensitively.
    pub name: String,
    /// Lowercase DNS names, unique across organizations; new customers whose email is
    /// at exactly one of them join (never free-mail domains).
    pub domains: Vec<String>,
    /// Which of its tickets its customers see.
    pub sharing: Sharing,
    /// Created.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
}
