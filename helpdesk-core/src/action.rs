//! The one action language of API-workflow.md, which macros, triggers and automations
//! share: [`Action`] in its API shape `{"action": "<name>", ...}`, and the checks a list
//! of actions passes when it is saved ([`Action::parse_list`]). Pure: no store, no HTTP.
//!
//! Actions run in order, a later one winning, each as the equivalent PATCH or post would
//! (running them is the operations' business). What only the store can tell (that a
//! group, a staff user, a canned reply exists) is listed by [`references`] for the caller
//! to look up; statuses and custom fields come through the condition language's
//! [`Schema`]. Internal notes may hold the placeholders of [`crate::placeholder`].

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::condition::{Problems, Reference, Schema, Target, one_of, one_tag};
use crate::error::Error;
use crate::placeholder;
use crate::ticket::Priority;

#[cfg(test)]
mod tests;

/// Most characters of a note's or a notification's text (a message's limit).
pub const MAX_TEXT: usize = crate::message::MAX_CONTENT_CHARS;
/// Most tags one `add_tags` or `remove_tags` names (a ticket's limit).
pub const MAX_TAGS: usize = 20;

/// One action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// `set_status`: moves the ticket to this status key (by the transition table).
    SetStatus {
        /// The status key.
        value: String,
    },
    /// `set_priority`.
    SetPriority {
        /// The priority.
        value: Priority,
    },
    /// `set_group`: moves the ticket to this group.
    SetGroup {
        /// The group.
        value: Uuid,
    },
    /// `assign`: to an active staff user, or to nobody.
    Assign {
        /// The assignee, `null` for nobody.
        value: Option<Uuid>,
    },
    /// `add_tags`.
    AddTags {
        /// The tags, folded, sorted and without duplicates.
        value: Vec<String>,
    },
    /// `remove_tags`.
    RemoveTags {
        /// The tags, folded, sorted and without duplicates.
        value: Vec<String>,
    },
    /// `set_field`: sets a custom field, or clears it with `null`.
    SetField {
        /// The field's key.
        key: String,
        /// Its value as a ticket's `fields` holds it, or `null`.
        value: serde_json::Value,
    },
    /// `add_internal_note`: an internal message, its placeholders rendered.
    AddInternalNote {
        /// The text (placeholders allowed).
        value: String,
    },
    /// `send_reply`: a public message rendered from a canned reply (for rules: a
    /// `global` one).
    SendReply {
        /// The canned reply.
        value: Uuid,
    },
    /// `notify`: a `rule_notification` to one user, titled with the macro's or rule's
    /// name (no recipient: nothing).
    Notify {
        /// Whom.
        to: Recipient,
        /// The text.
        value: String,
    },
}

/// Whom a `notify` action tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recipient {
    /// `"assignee"`: the ticket's assignee.
    Assignee,
    /// `"requester"`: the ticket's requester.
    Requester,
    /// A user by id.
    User(Uuid),
}

impl Recipient {
    /// `"assignee"`, `"requester"` or a user's id.
    pub fn parse(s: &str) -> Option<Recipient> {
        match s {
            "assignee" => Some(Recipient::Assignee),
            "requester" => Some(Recipient::Requester),
            _ => s.parse().ok().map(Recipient::User),
        }
    }
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recipient::Assignee => f.write_str("assignee"),
            Recipient::Requester => f.write_str("requester"),
            Recipient::User(id) => write!(f, "{id}"),
        }
    }
}

impl Serialize for Recipient {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Recipient {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Recipient::parse(&s).ok_or_else(|| {
            serde::de::Error::custom("a recipient is `assignee`, `requester` or a user's id")
        })
    }
}

/// The names of the actions, in the contract's order.
pub const NAMES: [&str; 10] = [
    "set_status",
    "set_priority",
    "set_group",
    "assign",
    "add_tags",
    "remove_tags",
    "set_field",
    "add_internal_note",
    "send_reply",
    "notify",
];

impl Action {
    /// Its name (`set_status`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Action::SetStatus { .. } => "set_status",
            Action::SetPriority { .. } => "set_priority",
            Action::SetGroup { .. } => "set_group",
            Action::Assign { .. } => "assign",
            Action::AddTags { .. } => "add_tags",
            Action::RemoveTags { .. } => "remove_tags",
            Action::SetField { .. } => "set_field",
            Action::AddInternalNote { .. } => "add_internal_note",
            Action::SendReply { .. } => "send_reply",
            Action::Notify { .. } => "notify",
        }
    }

    /// The actions `json` holds: a list of 1..=`max` (20 for macros), each checked like
    /// a PATCH body against `schema`, or every problem found at its JSON path under
    /// `path` (`actions[2].value`): 422 `validation_failed`. A key an action does not
    /// take (`actions[0].valeu`) is 422 `unknown_field` instead, as unknown keys come
    /// first in API.md's order of checks.
    ///
    /// ```
    /// use helpdesk_core::action::Action;
    /// use helpdesk_core::condition::NoCustomFields;
    /// use helpdesk_core::serde_json::json;
    ///
    /// let actions = Action::parse_list(
    ///     &json!([{"action": "set_priority", "value": "high"}, {"action": "add_tags", "value": ["VIP"]}]),
    ///     "actions",
    ///     20,
    ///     &NoCustomFields,
    /// )?;
    /// assert_eq!(actions[1], Action::AddTags { value: vec!["vip".into()] });
    /// # Ok::<_, helpdesk_core::Error>(())
    /// ```
    pub fn parse_list(
        json: &serde_json::Value,
        path: &str,
        max: usize,
        schema: &dyn Schema,
    ) -> Result<Vec<Action>, Error> {
        let mut p = Problems::default();
        let items = match json.as_array() {
            Some(items) if (1..=max).contains(&items.len()) => items,
            _ => {
                p.wrong(path, format!("must be a list of 1 to {max} actions"));
                return p.finish(Vec::new());
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if let Some(a) = parse_one(&mut p, schema, item, &format!("{path}[{i}]")) {
                out.push(a);
            }
        }
        p.finish(out)
    }

    /// One action at `path`, checked as in [`Action::parse_list`].
    pub fn parse(
        json: &serde_json::Value,
        path: &str,
        schema: &dyn Schema,
    ) -> Result<Action, Error> {
        let mut p = Problems::default();
        let a = parse_one(&mut p, schema, json, path);
        // `None` comes with a problem, so `finish` fails first.
        p.finish(a)?
            .ok_or_else(|| Error::Internal("an action failed without a reason".into()))
    }

    /// What this action (at `path`, `actions[2]`) names that the caller must find in the
    /// store: a group, an active staff user, a canned reply, a user to notify.
    pub fn references(&self, path: &str) -> Vec<Reference> {
        let (at, target) = match *self {
            Action::SetGroup { value } => ("value", Target::Group(value)),
            Action::Assign { value: Some(id) } => ("value", Target::StaffUser(id)),
            Action::SendReply { value } => ("value", Target::CannedReply(value)),
            Action::Notify {
                to: Recipient::User(id),
                ..
            } => ("to", Target::User(id)),
            _ => return Vec::new(),
        };
        vec![Reference {
            path: format!("{path}.{at}"),
            target,
        }]
    }

    /// Whether the action sets the status `key` (deleting it is then 409 `in_use`).
    pub fn names_status(&self, key: &str) -> bool {
        matches!(self, Action::SetStatus { value } if value == key)
    }

    /// Whether the action sets the custom field `key` (deleting it is then 409 `in_use`).
    pub fn names_field(&self, key: &str) -> bool {
        matches!(self, Action::SetField { key: k, .. } if k == key)
    }
}

/// What `actions` (at `path`, `actions`) name that the caller must find in the store,
/// each at its JSON path (`actions[2].value`).
pub fn references(actions: &[Action], path: &str) -> Vec<Reference> {
    actions
        .iter()
        .enumerate()
        .flat_map(|(i, a)| a.references(&format!("{path}[{i}]")))
        .collect()
}

fn parse_one(
    p: &mut Problems,
    schema: &dyn Schema,
    json: &serde_json::Value,
    path: &str,
) -> Option<Action> {
    let Some(map) = json.as_object() else {
        return p.none(path, "must be an object with `action`");
    };
    let name = match map.get("action") {
        None => return p.none(format!("{path}.action"), "is required"),
        Some(serde_json::Value::String(name)) if NAMES.contains(&name.as_str()) => name.as_str(),
        Some(_) => {
            return p.none(
                format!("{path}.action"),
                format!("must be {}", one_of(&NAMES)),
            );
        }
    };
    let keys: &[&str] = match name {
        "set_field" => &["action", "key", "value"],
        "notify" => &["action", "to", "value"],
        _ => &["action", "value"],
    };
    p.keys(map, path, keys);
    let at = format!("{path}.value");
    let Some(value) = map.get("value") else {
        return p.none(at, "is required");
    };
    match name {
        "add_tags" => tags(p, value, &at).map(|value| Action::AddTags { value }),
        "remove_tags" => tags(p, value, &at).map(|value| Action::RemoveTags { value }),
        "set_field" => {
            let key_at = format!("{path}.key");
            let key = match map.get("key") {
                None => return p.none(key_at, "is required"),
                Some(serde_json::Value::String(key)) => key,
                Some(_) => return p.none(key_at, "must be a custom field's key"),
            };
            let Some(ty) = schema.field_type(key) else {
                return p.none(key_at, format!("`{key}` names no active custom field"));
            };
            // `null` clears.
            if !value.is_null()
                && let Err(m) = crate::condition::check_field_value(schema, key, ty, value)
            {
                return p.none(at, m);
            }
            Some(Action::SetField {
                key: key.clone(),
                value: value.clone(),
            })
        }
        "notify" => {
            let to_at = format!("{path}.to");
            let to = match map
                .get("to")
                .map(|to| to.as_str().and_then(Recipient::parse))
            {
                None => p.none(to_at, "is required"),
                Some(None) => p.none(to_at, "must be assignee, requester or a user's id"),
                Some(Some(to)) => Some(to),
            };
            let value = match text(value) {
                Ok(value) => Some(value),
                Err(m) => p.none(at, m),
            };
            Some(Action::Notify {
                to: to?,
                value: value?,
            })
        }
        _ => match single_value(name, value, schema) {
            Ok(a) => Some(a),
            Err(m) => p.none(at, m),
        },
    }
}

/// An action whose one problem can only be with its `value`.
fn single_value(
    name: &str,
    value: &serde_json::Value,
    schema: &dyn Schema,
) -> Result<Action, String> {
    let uuid = || value.as_str().and_then(|s| s.parse::<Uuid>().ok());
    Ok(match name {
        "set_status" => {
            let key = value.as_str().ok_or("must be a status key")?;
            match schema.status(key) {
                None => return Err(format!("`{key}` is not a status")),
                Some(false) => return Err(format!("`{key}` is an inactive status")),
                Some(true) => Action::SetStatus { value: key.into() },
            }
        }
        "set_priority" => Action::SetPriority {
            value: value
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or("must be low, normal, high or urgent")?,
        },
        "set_group" => Action::SetGroup {
            value: uuid().ok_or("must be a group's id")?,
        },
        "assign" => Action::Assign {
            value: match value {
                serde_json::Value::Null => None,
                _ => Some(uuid().ok_or("must be a staff user's id or null")?),
            },
        },
        "add_internal_note" => {
            let text = text(value)?;
            if let Err(written) = placeholder::check_placeholders(&text) {
                return Err(placeholder::unknown_placeholder_message(&written));
            }
            Action::AddInternalNote { value: text }
        }
        "send_reply" => Action::SendReply {
            value: uuid().ok_or("must be a canned reply's id")?,
        },
        other => unreachable!("`{other}` has more than a value"),
    })
}

/// A note's or notification's text: 1..=[`MAX_TEXT`] characters, not blank, no control
/// characters but tab, newline and carriage return.
fn text(v: &serde_json::Value) -> Result<String, String> {
    let s = v.as_str().ok_or("must be a string")?;
    if let Some(c) = crate::text::first_refused(s) {
        return Err(crate::text::refusal(c));
    }
    if s.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if s.chars().count() > MAX_TEXT {
        return Err(format!("must be at most {MAX_TEXT} characters"));
    }
    Ok(s.to_string())
}

/// 1..=[`MAX_TAGS`] tags, folded, sorted, deduplicated; a bad one at `value[j]`.
fn tags(p: &mut Problems, v: &serde_json::Value, at: &str) -> Option<Vec<String>> {
    let Some(items) = v.as_array().filter(|a| !a.is_empty()) else {
        p.wrong(at, format!("must be a list of 1 to {MAX_TAGS} tags"));
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (j, item) in items.iter().enumerate() {
        match one_tag(item) {
            Ok(tag) => out.push(tag),
            Err(m) => {
                ok = false;
                p.wrong(format!("{at}[{j}]"), m);
            }
        }
    }
    out.sort();
    out.dedup();
    if ok && out.len() > MAX_TAGS {
        p.wrong(at, format!("must be a list of 1 to {MAX_TAGS} tags"));
        return None;
    }
    ok.then_some(out)
}
