//! Reading a condition from JSON, with the checks of the contract when it is saved, or
//! trusting it when it is read back from a store.

use serde_json::Value as Json;

use super::{
    ActorRole, Condition, Field, FieldType, MAX_LIST, MAX_PREDICATES, Op, Operand, Predicate,
    Problems, Schema, TriggerEvent, Usage, Value, one_of, one_tag,
};
use crate::error::Error;
use crate::status::StatusCategory;
use crate::ticket::Priority;

/// Reads conditions, collecting every problem.
pub(crate) struct Parser<'a> {
    /// `None`: a stored condition, checked when it was saved (custom values are typed by
    /// their JSON form, status keys and usage are not looked at).
    schema: Option<&'a dyn Schema>,
    usage: Option<Usage>,
    problems: Problems,
}

impl<'a> Parser<'a> {
    /// Checks everything, for a condition being saved.
    pub(crate) fn checking(usage: Usage, schema: &'a dyn Schema) -> Self {
        Parser {
            schema: Some(schema),
            usage: Some(usage),
            problems: Problems::default(),
        }
    }

    /// Trusts what only the saving could check.
    pub(crate) fn stored() -> Parser<'static> {
        Parser {
            schema: None,
            usage: None,
            problems: Problems::default(),
        }
    }

    pub(crate) fn condition(mut self, json: &Json, path: &str) -> Result<Condition, Error> {
        let mut c = Condition::default();
        let Some(map) = json.as_object() else {
            self.problems.wrong(
                path,
                "must be an object with `all` and `any` lists of predicates",
            );
            return self.problems.finish(c);
        };
        self.problems.keys(map, path, &["all", "any"]);
        let mut count = 0;
        for (name, list) in [("all", &mut c.all), ("any", &mut c.any)] {
            let at = format!("{path}.{name}");
            match map.get(name) {
                None | Some(Json::Null) => {}
                Some(Json::Array(items)) => {
                    count += items.len();
                    for (i, item) in items.iter().enumerate() {
                        if let Some(p) = self.predicate(item, &format!("{at}[{i}]")) {
                            list.push(p);
                        }
                    }
                }
                Some(_) => self.problems.wrong(at, "must be a list of predicates"),
            }
        }
        if count > MAX_PREDICATES {
            self.problems.wrong(
                path,
                format!("must have at most {MAX_PREDICATES} predicates, `all` and `any` together"),
            );
        }
        self.problems.finish(c)
    }

    fn predicate(&mut self, json: &Json, path: &str) -> Option<Predicate> {
        let Some(map) = json.as_object() else {
            self.problems
                .wrong(path, "must be an object with `field`, `op` and `value`");
            return None;
        };
        self.problems.keys(map, path, &["field", "op", "value"]);
        let field = self.field(map.get("field"), &format!("{path}.field"));
        let op = self.op(map.get("op"), &format!("{path}.op"), field.as_ref());
        let ((field, ty), op) = (field?, op?);
        let value = self.value(&field, ty, op, map.get("value"), &format!("{path}.value"))?;
        Some(Predicate { field, op, value })
    }

    /// The field and, for a custom one, its type (`None` when stored: not known).
    fn field(&mut self, json: Option<&Json>, at: &str) -> Option<(Field, Option<FieldType>)> {
        let name = match json {
            None => return self.none(at, "is required"),
            Some(Json::String(name)) => name,
            Some(_) => return self.none(at, "must be the name of a field"),
        };
        let Some(field) = Field::from_name(name) else {
            return self.none(at, format!("`{name}` is not a field conditions test"));
        };
        let mut ty = None;
        if let (Field::Custom(key), Some(schema)) = (&field, self.schema) {
            match schema.field_type(key) {
                Some(t) => ty = Some(t),
                None => return self.none(at, format!("`{name}` names no active custom field")),
            }
        }
        if let Some(usage) = self.usage
            && !field.allowed_in(usage)
        {
            // Reported, and the op and value still checked.
            self.problems.wrong(at, usage.refusal(&field));
        }
        Some((field, ty))
    }

    fn op(
        &mut self,
        json: Option<&Json>,
        at: &str,
        field: Option<&(Field, Option<FieldType>)>,
    ) -> Option<Op> {
        let op = match json {
            None => return self.none(at, "is required"),
            Some(Json::String(name)) => Op::from_name(name),
            Some(_) => None,
        };
        let Some(op) = op else {
            return self.none(at, format!("must be {}", one_of(&Op::ALL)));
        };
        let (field, ty) = field?;
        let stored_custom = matches!(field, Field::Custom(_)) && ty.is_none();
        let ops = field.ops(*ty);
        if !stored_custom && !ops.contains(&op) {
            return self.none(at, format!("must be {} for `{field}`", one_of(ops)));
        }
        Some(op)
    }

    fn value(
        &mut self,
        field: &Field,
        ty: Option<FieldType>,
        op: Op,
        json: Option<&Json>,
        at: &str,
    ) -> Option<Value> {
        if op.takes_no_value() {
            return match json {
                None | Some(Json::Null) => Some(Value::None),
                Some(_) => self.none(at, format!("must be absent for `{op}`")),
            };
        }
        if op.takes_list() {
            let items = match json {
                Some(Json::Array(items)) if (1..=MAX_LIST).contains(&items.len()) => items,
                _ => {
                    let what = kind_plural(field, ty);
                    return self.none(at, format!("must be a list of 1 to {MAX_LIST} {what}"));
                }
            };
            let mut out = Vec::with_capacity(items.len());
            for (j, item) in items.iter().enumerate() {
                match self.operand(field, ty, item) {
                    Ok(o) => out.push(o),
                    Err(m) => self.problems.wrong(format!("{at}[{j}]"), m),
                }
            }
            return (out.len() == items.len()).then_some(Value::Many(out));
        }
        let Some(json) = json else {
            return self.none(at, "is required");
        };
        match self.operand(field, ty, json) {
            Ok(o) => Some(Value::One(o)),
            Err(m) => self.none(at, m),
        }
    }

    /// One value of `field`, or what is wrong with it.
    fn operand(&self, field: &Field, ty: Option<FieldType>, v: &Json) -> Result<Operand, String> {
        match field {
            Field::Status => {
                let key = v
                    .as_str()
                    .filter(|k| is_key(k))
                    .ok_or("must be a status key")?;
                if let Some(schema) = self.schema
                    && schema.status(key).is_none()
                {
                    return Err(format!("`{key}` is not a status"));
                }
                Ok(Operand::Text(key.into()))
            }
            Field::StatusCategory => v
                .as_str()
                .and_then(|s| s.parse::<StatusCategory>().ok())
                .map(Operand::Category)
                .ok_or_else(|| format!("must be {}", one_of(&StatusCategory::ALL))),
            Field::Priority => v
                .as_str()
                .and_then(|s| s.parse::<Priority>().ok())
                .map(Operand::Priority)
                .ok_or_else(|| "must be low, normal, high or urgent".into()),
            Field::AssigneeId
            | Field::RequesterId
            | Field::GroupId
            | Field::RequesterOrganizationId => match v {
                Json::Null => Err("must be a UUID (`is_not_set` tests for none)".into()),
                _ => v
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .map(Operand::Id)
                    .ok_or_else(|| "must be a UUID".into()),
            },
            Field::Tags => Ok(Operand::Text(one_tag(v)?)),
            Field::Subject => text(v, usize::MAX),
            Field::Snoozed | Field::SlaBreached | Field::MessageInternal => v
                .as_bool()
                .map(Operand::Bool)
                .ok_or_else(|| "must be true or false".into()),
            Field::HoursSinceCreated
            | Field::HoursSinceUpdated
            | Field::HoursSinceStatusChanged => v
                .as_f64()
                .filter(|h| h.is_finite() && *h > 0.0)
                .map(Operand::Number)
                .ok_or_else(|| "must be a number of hours greater than 0".into()),
            Field::Event => v
                .as_str()
                .and_then(TriggerEvent::from_name)
                .map(Operand::Event)
                .ok_or_else(|| {
                    let names: Vec<&str> = TriggerEvent::ALL.map(TriggerEvent::as_str).to_vec();
                    format!("must be {}", one_of(&names))
                }),
            Field::ActorRole => v
                .as_str()
                .and_then(ActorRole::from_name)
                .map(Operand::Role)
                .ok_or_else(|| "must be customer, agent, admin or system".into()),
            Field::Custom(key) => match (ty, self.schema) {
                (Some(ty), Some(schema)) => scalar_field_value(schema, key, ty, v),
                // Stored: typed by the JSON form.
                _ => match v {
                    Json::Bool(b) => Ok(Operand::Bool(*b)),
                    Json::Number(n) => n
                        .as_f64()
                        .map(Operand::Number)
                        .ok_or_else(|| "must be a number".into()),
                    Json::String(s) => Ok(Operand::Text(s.clone())),
                    _ => Err("must be a string, a number or a boolean".into()),
                },
            },
        }
    }

    fn none<T>(&mut self, at: &str, message: impl Into<String>) -> Option<T> {
        self.problems.none(at, message)
    }
}

/// What an `in` list of `field` holds, for messages.
fn kind_plural(field: &Field, ty: Option<FieldType>) -> &'static str {
    match field {
        Field::Status => "status keys",
        Field::StatusCategory => "status categories",
        Field::Priority => "priorities",
        Field::AssigneeId
        | Field::RequesterId
        | Field::GroupId
        | Field::RequesterOrganizationId => "UUIDs",
        Field::Tags => "tags",
        Field::Event => "event types",
        Field::ActorRole => "roles",
        Field::Custom(_) if matches!(ty, Some(FieldType::Select | FieldType::Multiselect)) => {
            "options"
        }
        _ => "values",
    }
}

/// A status or field key: `^[a-z][a-z0-9_]{0,49}$`.
fn is_key(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=50).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

/// A string of at most `max` characters the system accepts as text.
fn text(v: &Json, max: usize) -> Result<Operand, String> {
    let s = v.as_str().ok_or("must be a string")?;
    if let Some(c) = crate::text::first_refused(s) {
        return Err(crate::text::refusal(c));
    }
    if s.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    Ok(Operand::Text(s.into()))
}

/// Most characters of a custom `text` value.
const MAX_TEXT_VALUE: usize = 10_000;
/// Largest magnitude of a custom `number` value.
const MAX_NUMBER_VALUE: f64 = 1e15;

/// Checks a value for the custom field `key` of type `ty` as a ticket would hold it
/// (`text` 1..=10,000 characters, `number` |x| ≤ 10^15, `date` `YYYY-MM-DD`, `select` an
/// option, `multiselect` a non-empty list of distinct options, `checkbox` a boolean); the
/// message says what is wrong. `null` (clearing) is the caller's to allow.
pub fn check_field_value(
    schema: &dyn Schema,
    key: &str,
    ty: FieldType,
    value: &serde_json::Value,
) -> Result<(), String> {
    if ty == FieldType::Multiselect {
        let items = value
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| "must be a non-empty list of distinct options".to_string())?;
        for (i, item) in items.iter().enumerate() {
            scalar_field_value(schema, key, ty, item)?;
            if items[..i].contains(item) {
                return Err("must be a non-empty list of distinct options".into());
            }
        }
        return Ok(());
    }
    scalar_field_value(schema, key, ty, value).map(|_| ())
}

/// One value of the custom field `key` of type `ty` (for `multiselect`: one option).
fn scalar_field_value(
    schema: &dyn Schema,
    key: &str,
    ty: FieldType,
    v: &Json,
) -> Result<Operand, String> {
    match ty {
        FieldType::Text => match text(v, MAX_TEXT_VALUE)? {
            Operand::Text(s) if s.is_empty() => Err("must be 1 to 10000 characters".into()),
            o => Ok(o),
        },
        FieldType::Number => v
            .as_f64()
            .filter(|n| n.is_finite() && n.abs() <= MAX_NUMBER_VALUE)
            .map(Operand::Number)
            .ok_or_else(|| "must be a number between -10^15 and 10^15".into()),
        FieldType::Date => v
            .as_str()
            .filter(|s| is_date(s))
            .map(|s| Operand::Text(s.into()))
            .ok_or_else(|| "must be a date as YYYY-MM-DD".into()),
        FieldType::Select | FieldType::Multiselect => {
            let s = v.as_str().ok_or("must be a string")?;
            if !schema.is_option(key, s) {
                return Err(format!("`{s}` is not an option of `field.{key}`"));
            }
            Ok(Operand::Text(s.into()))
        }
        FieldType::Checkbox => v
            .as_bool()
            .map(Operand::Bool)
            .ok_or_else(|| "must be true or false".into()),
    }
}

/// `YYYY-MM-DD`, a day that exists.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}
