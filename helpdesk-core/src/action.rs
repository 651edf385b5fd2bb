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

use crate::condition::{FieldType, Problems, Reference, Schema, Target, one_of};
use crate::error::Error;
use crate::placeholder;
use crate::ticket::Priority;

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
        match (p.finish(()), a) {
            (Ok(()), Some(a)) => Ok(a),
            (Err(e), _) => Err(e),
            (Ok(()), None) => Err(Error::Internal("an action failed without a reason".into())),
        }
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
    use serde_json::Value as Json;
    let Some(map) = json.as_object() else {
        p.wrong(path, "must be an object with `action`");
        return None;
    };
    let name = match map.get("action") {
        None => {
            p.wrong(format!("{path}.action"), "is required");
            return None;
        }
        Some(Json::String(name)) if NAMES.contains(&name.as_str()) => name.as_str(),
        Some(_) => {
            p.wrong(
                format!("{path}.action"),
                format!("must be {}", one_of(&NAMES)),
            );
            return None;
        }
    };
    let keys: &[&str] = match name {
        "set_field" => &["action", "key", "value"],
        "notify" => &["action", "to", "value"],
        _ => &["action", "value"],
    };
    p.keys(map, path, keys);
    let at = format!("{path}.value");
    let value = map.get("value");
    let mut wrong = |field: &str, message: String| {
        p.wrong(field, message);
        None
    };
    let Some(value) = value else {
        return wrong(&at, "is required".into());
    };
    let uuid = |v: &Json| v.as_str().and_then(|s| s.parse::<Uuid>().ok());
    match name {
        "set_status" => {
            let key = value.as_str().unwrap_or_default();
            match schema.status(key) {
                _ if !value.is_string() => wrong(&at, "must be a status key".into()),
                None => wrong(&at, format!("`{key}` is not a status")),
                Some(false) => wrong(&at, format!("`{key}` is an inactive status")),
                Some(true) => Some(Action::SetStatus { value: key.into() }),
            }
        }
        "set_priority" => match value.as_str().and_then(|s| s.parse::<Priority>().ok()) {
            Some(value) => Some(Action::SetPriority { value }),
            None => wrong(&at, "must be low, normal, high or urgent".into()),
        },
        "set_group" => match uuid(value) {
            Some(value) => Some(Action::SetGroup { value }),
            None => wrong(&at, "must be a group's id".into()),
        },
        "assign" => match (value, uuid(value)) {
            (Json::Null, _) => Some(Action::Assign { value: None }),
            (_, Some(id)) => Some(Action::Assign { value: Some(id) }),
            _ => wrong(&at, "must be a staff user's id or null".into()),
        },
        "add_tags" | "remove_tags" => {
            let value = tags(p, value, &at)?;
            Some(if name == "add_tags" {
                Action::AddTags { value }
            } else {
                Action::RemoveTags { value }
            })
        }
        "set_field" => {
            let key_at = format!("{path}.key");
            let ty = match map.get("key") {
                None => return wrong(&key_at, "is required".into()),
                Some(Json::String(key)) => match schema.field_type(key) {
                    Some(ty) => (key, ty),
                    None => {
                        return wrong(&key_at, format!("`{key}` names no active custom field"));
                    }
                },
                Some(_) => return wrong(&key_at, "must be a custom field's key".into()),
            };
            let (key, ty): (&String, FieldType) = ty;
            if !value.is_null()
                && let Err(m) = crate::condition::check_field_value(schema, key, ty, value)
            {
                return wrong(&at, m);
            }
            Some(Action::SetField {
                key: key.clone(),
                value: value.clone(),
            })
        }
        "add_internal_note" => {
            let text = text(p, value, &at)?;
            if let Err(written) = placeholder::check_placeholders(&text) {
                p.wrong(at, placeholder::unknown_placeholder_message(&written));
                return None;
            }
            Some(Action::AddInternalNote { value: text })
        }
        "send_reply" => match uuid(value) {
            Some(value) => Some(Action::SendReply { value }),
            None => wrong(&at, "must be a canned reply's id".into()),
        },
        "notify" => {
            let to_at = format!("{path}.to");
            let to = match map.get("to") {
                None => {
                    p.wrong(&to_at, "is required");
                    None
                }
                Some(to) => {
                    let r = to.as_str().and_then(Recipient::parse);
                    if r.is_none() {
                        p.wrong(&to_at, "must be assignee, requester or a user's id");
                    }
                    r
                }
            };
            let text = text(p, value, &at);
            Some(Action::Notify {
                to: to?,
                value: text?,
            })
        }
        _ => unreachable!("every name in NAMES is handled"),
    }
}

/// A note's or notification's text: 1..=[`MAX_TEXT`] characters, not blank, no control
/// characters but tab, newline and carriage return.
fn text(p: &mut Problems, v: &serde_json::Value, at: &str) -> Option<String> {
    let problem = match v.as_str() {
        None => "must be a string".to_string(),
        Some(s) => match crate::text::first_refused(s) {
            Some(c) => crate::text::refusal(c),
            None if s.trim().is_empty() => "must not be empty".into(),
            None if s.chars().count() > MAX_TEXT => {
                format!("must be at most {MAX_TEXT} characters")
            }
            None => return Some(s.to_string()),
        },
    };
    p.wrong(at, problem);
    None
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
        let tag = item
            .as_str()
            .and_then(|s| crate::tag::normalize_tags(&[s.to_string()]).ok());
        match tag {
            Some(mut t) if t.len() == 1 => out.push(t.remove(0)),
            _ => {
                ok = false;
                p.wrong(
                    format!("{at}[{j}]"),
                    "must be a tag: 1 to 50 letters, digits, '-', '_', '.' or spaces",
                );
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
