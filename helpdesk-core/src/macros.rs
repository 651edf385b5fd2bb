//! Macros: a named list of actions in the one action language ([`crate::action`]) that
//! staff apply to a ticket (or to many, with a bulk change). Global and admin-managed
//! (API-workflow.md, decision 11). The record, the checks on its input and its order;
//! the operations are in `ops/macros.rs`, running actions in `ops/actions.rs`.
//!
//! Saving a macro writes no events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::action::Action;
use crate::error::{Error, Result};

/// Most macros a helpdesk holds.
pub const MAX_MACROS: usize = 500;
/// Most actions one macro runs.
pub const MAX_ACTIONS: usize = 20;
/// Longest name, in characters (after trimming).
pub const MAX_NAME_CHARS: usize = 100;
/// Largest `position`.
pub const MAX_POSITION: i64 = i32::MAX as i64;

/// A macro.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Macro {
    /// Id.
    pub id: Uuid,
    /// Name (1..=100 characters, trimmed); `notify` actions title their notifications
    /// with it.
    pub name: String,
    /// What it does, in order (1..=20, checked when saved).
    pub actions: Vec<Action>,
    /// The list order, then `id`.
    pub position: i64,
    /// Created.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
    /// Last changed.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub updated_at: DateTime<Utc>,
}

/// Input for creating a macro; `actions` is the list's JSON, checked when made.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMacro {
    /// Name.
    pub name: String,
    /// The actions (JSON).
    pub actions: serde_json::Value,
    /// The list position (`None`: after the last macro).
    pub position: Option<i64>,
}

/// A change to a macro; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MacroPatch {
    /// New name.
    pub name: Option<String>,
    /// New actions (JSON, checked).
    pub actions: Option<serde_json::Value>,
    /// New position.
    pub position: Option<i64>,
}

/// Most tickets one bulk change names.
pub const MAX_BULK_TICKETS: usize = 100;

/// What a bulk change runs on each ticket.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkChange {
    /// These actions (JSON, checked as a macro's).
    Actions(serde_json::Value),
    /// This macro's actions (a macro that does not exist: invalid `macro_id`).
    Macro(Uuid),
}

/// Sorts macros as they are listed: by position, then id.
pub fn sort_macros(macros: &mut [Macro]) {
    macros.sort_by_key(|m| (m.position, m.id));
}

/// Checks and trims a name (1..=100 characters).
pub fn validate_name(name: &str) -> Result<String> {
    crate::text::check("name", name)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(name.to_string())
}

/// Checks a position (0..=2^31-1).
pub fn validate_position(position: i64) -> Result<i64> {
    if !(0..=MAX_POSITION).contains(&position) {
        return Err(Error::invalid(
            "position",
            format!("must be an integer from 0 to {MAX_POSITION}"),
        ));
    }
    Ok(position)
}

/// The answer when [`MAX_MACROS`] macros exist already.
pub fn limit_reached() -> Error {
    Error::invalid(
        "name",
        format!("there are {MAX_MACROS} macros already: delete one first"),
    )
}
