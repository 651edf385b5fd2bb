//! The handlers, one module per area of API.md. Each handler checks in API.md's order:
//! malformed input (400) → token (401) → role (403) → visibility (404) → unknown
//! fields (422) → forbidden fields (403) → values (422) → conflicts (409).

pub mod admin;
pub mod apikeys;
pub mod attachments;
pub mod auth;
pub mod calendars;
pub mod canned_replies;
pub mod conversations;
pub mod csat;
pub mod fields;
pub mod groups;
pub mod kb;
pub mod macros;
pub mod merge;
pub mod messages;
pub mod notifications;
pub mod ops;
pub mod organizations;
pub mod rules;
pub mod sla_policies;
pub mod snooze;
pub mod statuses;
pub mod tickets;
pub mod users;
pub mod views;
pub mod webhooks;

use serde::{Deserialize, Deserializer};

/// An optional field that may be absent but not `null`: `null` is a wrong type (422
/// `validation_failed`), as for any other value the field cannot take. Use with
/// `#[serde(default, deserialize_with = "present")]`.
pub(crate) fn present<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    T::deserialize(d).map(Some)
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
