//! The one condition language of API-workflow.md, which SLA policies, views, triggers and
//! automations share: the types ([`Condition`], [`Predicate`], [`Field`], [`Op`],
//! [`Value`]), parsing with the checks a saved condition passes ([`Condition::parse`]),
//! and evaluation over what is known of a ticket ([`TicketFacts`],
//! [`Condition::matches`]). Pure: no store, no HTTP.
//!
//! `{"all": [P, ...], "any": [P, ...]}`, `P = {"field", "op", "value"}`: every `all`
//! holds and, if `any` is not empty, one `any` holds (`{}` matches every ticket).
//!
//! What parsing cannot know is the caller's to supply or check: the statuses and custom
//! fields that exist come through a [`Schema`]; the ids a condition names (users, groups,
//! organizations) are listed by [`Condition::references`] for the caller to look up.
//! A condition read back from a store deserializes without a schema (it was checked when
//! saved), so [`Condition`] is `Serialize` and `Deserialize` in its API shape.

use serde::{Deserialize, Serialize};

use crate::error::{Error, FieldError};

#[cfg(any(test, feature = "testkit"))]
pub mod arbitrary;
mod eval;
mod field;
mod parse;
mod schema;
#[cfg(test)]
mod tests;
mod value;

pub use eval::{Evaluation, FieldValue, TicketFacts};
pub use field::{Field, FieldType, Op, Usage};
pub use parse::check_field_value;
pub use schema::{NoCustomFields, Reference, Schema, Target};
pub use value::{ActorRole, Operand, TriggerEvent, Value};

/// Most predicates in one condition, `all` and `any` together.
pub const MAX_PREDICATES: usize = 50;
/// Most values an `in` or `not_in` takes.
pub const MAX_LIST: usize = 100;

/// A condition: every `all` predicate holds and, if `any` is not empty, one `any` holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Condition {
    /// Predicates that must all hold.
    pub all: Vec<Predicate>,
    /// Predicates of which one must hold, unless there are none.
    pub any: Vec<Predicate>,
}

/// One test of one field of a ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    /// What is tested.
    pub field: Field,
    /// How.
    pub op: Op,
    /// Against what ([`Value::None`] for `is_set`, `is_not_set`).
    pub value: Value,
}

impl Condition {
    /// The condition `json` holds, checked for `usage` against `schema`, or every problem
    /// found, each at its JSON path under `path` (`condition.all[1].value`,
    /// `filter.any[0].op`): 422 `validation_failed`. A key that is not part of the
    /// language (`condition.all[0].valu`) is 422 `unknown_field` instead, as unknown keys
    /// come first in API.md's order of checks.
    ///
    /// ```
    /// use helpdesk_core::condition::{Condition, NoCustomFields, Usage};
    /// use helpdesk_core::serde_json::json;
    ///
    /// let c = Condition::parse(
    ///     &json!({"all": [{"field": "priority", "op": "gt", "value": "normal"}]}),
    ///     "filter",
    ///     Usage::View,
    ///     &NoCustomFields,
    /// )?;
    /// assert_eq!(c.all.len(), 1);
    ///
    /// let e = Condition::parse(
    ///     &json!({"any": [{"field": "priority", "op": "contains", "value": "high"}]}),
    ///     "filter",
    ///     Usage::View,
    ///     &NoCustomFields,
    /// )
    /// .unwrap_err();
    /// assert!(e.to_string().starts_with("filter.any[0].op "), "{e}");
    /// # Ok::<_, helpdesk_core::Error>(())
    /// ```
    pub fn parse(
        json: &serde_json::Value,
        path: &str,
        usage: Usage,
        schema: &dyn Schema,
    ) -> Result<Condition, Error> {
        parse::Parser::checking(usage, schema).condition(json, path)
    }

    /// True when the condition has no predicate (it matches every ticket).
    pub fn is_empty(&self) -> bool {
        self.all.is_empty() && self.any.is_empty()
    }

    /// Every predicate, `all` first, with its JSON path under `path`.
    pub fn predicates<'a>(
        &'a self,
        path: &'a str,
    ) -> impl Iterator<Item = (String, &'a Predicate)> + 'a {
        let all = self.all.iter().enumerate();
        let any = self.any.iter().enumerate();
        all.map(move |(i, p)| (format!("{path}.all[{i}]"), p))
            .chain(any.map(move |(i, p)| (format!("{path}.any[{i}]"), p)))
    }

    /// The ids the condition names, for the caller to check that they exist; paths are
    /// under `path` (`condition.all[1].value`, `condition.any[0].value[3]`).
    pub fn references(&self, path: &str) -> Vec<Reference> {
        let mut out = Vec::new();
        for (at, p) in self.predicates(path) {
            let target = match p.field {
                Field::AssigneeId | Field::RequesterId => Target::User,
                Field::GroupId => Target::Group,
                Field::RequesterOrganizationId => Target::Organization,
                _ => continue,
            };
            let mut push = |path: String, o: &Operand| {
                if let Operand::Id(id) = o {
                    out.push(Reference {
                        path,
                        target: target(*id),
                    })
                }
            };
            match &p.value {
                Value::None => {}
                Value::One(o) => push(format!("{at}.value"), o),
                Value::Many(os) => {
                    for (j, o) in os.iter().enumerate() {
                        push(format!("{at}.value[{j}]"), o)
                    }
                }
            }
        }
        out
    }

    /// Whether a predicate tests the status `key` (deleting it is then 409 `in_use`).
    pub fn names_status(&self, key: &str) -> bool {
        self.all.iter().chain(&self.any).any(|p| {
            p.field == Field::Status
                && match &p.value {
                    Value::One(Operand::Text(k)) => k == key,
                    Value::Many(os) => os.iter().any(|o| *o == Operand::Text(key.into())),
                    _ => false,
                }
        })
    }

    /// Whether a predicate tests the custom field `key` (deleting it is then 409
    /// `in_use`).
    pub fn names_field(&self, key: &str) -> bool {
        self.all
            .iter()
            .chain(&self.any)
            .any(|p| matches!(&p.field, Field::Custom(k) if k == key))
    }

    /// Its JSON form: `{"all": [...], "any": [...]}`, leaving out an empty list (so `{}`
    /// reads back as `{}`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (name, list) in [("all", &self.all), ("any", &self.any)] {
            if !list.is_empty() {
                map.insert(name.into(), list.iter().map(Predicate::to_json).collect());
            }
        }
        serde_json::Value::Object(map)
    }
}

impl Predicate {
    /// Its JSON form `{"field", "op", "value"}` (no `value` for `is_set`, `is_not_set`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("field".into(), self.field.name().into());
        map.insert("op".into(), self.op.as_str().into());
        match &self.value {
            Value::None => {}
            Value::One(o) => {
                map.insert("value".into(), o.to_json());
            }
            Value::Many(os) => {
                map.insert("value".into(), os.iter().map(Operand::to_json).collect());
            }
        }
        serde_json::Value::Object(map)
    }
}

impl Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// Reads a condition as stored: checked when it was saved, so without a schema (a custom
/// field's value is typed by its JSON form) and for no particular usage.
impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = serde_json::Value::deserialize(d)?;
        parse::Parser::stored()
            .condition(&json, "condition")
            .map_err(serde::de::Error::custom)
    }
}

/// Collects [`FieldError`]s; unknown keys are kept apart (they answer first).
#[derive(Debug, Default)]
pub(crate) struct Problems {
    errors: Vec<FieldError>,
    unknown: Option<String>,
}

impl Problems {
    pub(crate) fn wrong(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// [`Problems::wrong`], as `None` for the thing that was wrong.
    pub(crate) fn none<T>(
        &mut self,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Option<T> {
        self.wrong(field, message);
        None
    }

    /// Notes the first key of `map` (at `path`) not among `known`.
    pub(crate) fn keys(
        &mut self,
        map: &serde_json::Map<String, serde_json::Value>,
        path: &str,
        known: &[&str],
    ) {
        if self.unknown.is_none()
            && let Some(k) = map.keys().find(|k| !known.contains(&k.as_str()))
        {
            self.unknown = Some(format!("{path}.{k}"));
        }
    }

    /// `Ok(value)` when nothing was wrong.
    pub(crate) fn finish<T>(self, value: T) -> Result<T, Error> {
        if let Some(field) = self.unknown {
            return Err(Error::UnknownField(field));
        }
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(Error::Validation(self.errors))
        }
    }
}

/// One tag, folded as tickets keep it.
pub(crate) fn one_tag(v: &serde_json::Value) -> Result<String, &'static str> {
    const RULE: &str = "must be a tag: 1 to 50 letters, digits, '-', '_', '.' or spaces";
    let s = v.as_str().ok_or(RULE)?;
    match crate::tag::normalize_tags(&[s.to_string()]) {
        Ok(mut t) if t.len() == 1 => Ok(t.remove(0)),
        _ => Err(RULE),
    }
}

/// "a, b, c or d".
pub(crate) fn one_of<T: std::fmt::Display>(items: &[T]) -> String {
    let names: Vec<String> = items.iter().map(|i| i.to_string()).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}
