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
pub mod inbound;
pub mod kb;
pub mod macros;
pub mod mail_log;
pub mod mailboxes;
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

/// A whole number that JSON may write with a zero fraction (`4.0`), as JSON Schema's
/// `integer` allows; `4.5` is a wrong type (422 `validation_failed`).
pub(crate) struct Whole(pub i64);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        n.as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0)
                    .map(|f| f as i64)
            })
            .map(Whole)
            .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a whole number")))
    }
}

/// [`present`] for a [`Whole`] number: `#[serde(default, deserialize_with = "whole")]`.
pub(crate) fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Whole::deserialize(d).map(|w| Some(w.0))
}

/// [`double_option`] for a [`Whole`] number.
pub(crate) fn whole_or_null<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<i64>>, D::Error> {
    Option::<Whole>::deserialize(d).map(|w| Some(w.map(|w| w.0)))
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
