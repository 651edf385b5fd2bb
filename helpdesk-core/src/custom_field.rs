//! Custom ticket fields as data (API-workflow.md, "Custom fields"): their definitions
//! ([`CustomField`]), the values tickets hold (`Ticket::fields`, JSON by key), and the
//! checks on both. The operations are in `ops/custom_field.rs`; tickets' writes check
//! their values through [`Fields`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

pub use crate::condition::FieldType;
use crate::condition::{Field as ConditionField, Op, Operand, Predicate};
use crate::error::{Error, FieldError, Result};
use crate::principal::TicketView;
use crate::ticket::FieldValues;
use crate::wire::Ts;

/// Most active custom fields.
pub const MAX_ACTIVE: usize = 100;
/// Most options of a `select` or `multiselect` field.
pub const MAX_OPTIONS: usize = 500;

/// A custom field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomField {
    /// Id.
    pub id: Uuid,
    /// Unique, fixed: `^[a-z][a-z0-9_]{0,49}$`.
    pub key: String,
    /// Fixed.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// What people see.
    pub label: String,
    /// A `select`'s or `multiselect`'s options (1..=500 distinct), else empty.
    pub options: Vec<String>,
    /// Customers see it.
    pub customer_visible: bool,
    /// Customers may set it (needs `customer_visible`).
    pub customer_editable: bool,
    /// A new ticket must have it.
    pub required_on_create: bool,
    /// A ticket entering resolved must have it.
    pub required_on_resolve: bool,
    /// The list order.
    pub position: i64,
    /// An inactive field vanishes from tickets and requests; its values are kept.
    pub active: bool,
    /// Created.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
    /// Last changed.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub updated_at: DateTime<Utc>,
}

impl CustomField {
    /// Whether `view` sees it (an active field; customers only `customer_visible` ones).
    pub fn seen_by(&self, view: TicketView) -> bool {
        self.active && (view == TicketView::Staff || self.customer_visible)
    }
}

/// The list order: position, key.
pub fn sort_fields(fields: &mut [CustomField]) {
    fields.sort_by(|a, b| (a.position, &a.key).cmp(&(b.position, &b.key)));
}

/// The API rendering of a custom field.
#[derive(Serialize)]
pub struct CustomFieldJson<'a> {
    id: Uuid,
    key: &'a str,
    #[serde(rename = "type")]
    field_type: FieldType,
    label: &'a str,
    options: &'a [String],
    customer_visible: bool,
    customer_editable: bool,
    required_on_create: bool,
    required_on_resolve: bool,
    position: i64,
    active: bool,
    created_at: Ts,
    updated_at: Ts,
}

/// The API rendering of a custom field.
pub fn custom_field_json(f: &CustomField) -> CustomFieldJson<'_> {
    CustomFieldJson {
        id: f.id,
        key: &f.key,
        field_type: f.field_type,
        label: &f.label,
        options: &f.options,
        customer_visible: f.customer_visible,
        customer_editable: f.customer_editable,
        required_on_create: f.required_on_create,
        required_on_resolve: f.required_on_resolve,
        position: f.position,
        active: f.active,
        created_at: Ts(f.created_at),
        updated_at: Ts(f.updated_at),
    }
}

/// Input for a new custom field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCustomField {
    /// The key.
    pub key: String,
    /// The type.
    pub field_type: FieldType,
    /// The label.
    pub label: String,
    /// Options (`select`, `multiselect`).
    pub options: Vec<String>,
    /// Default false.
    pub customer_visible: Option<bool>,
    /// Default false.
    pub customer_editable: Option<bool>,
    /// Default false.
    pub required_on_create: Option<bool>,
    /// Default false.
    pub required_on_resolve: Option<bool>,
    /// Default: after the last.
    pub position: Option<i64>,
    /// Default true.
    pub active: Option<bool>,
}

/// A change to a custom field (`key` and `type` are fixed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomFieldPatch {
    /// The label.
    pub label: Option<String>,
    /// Options.
    pub options: Option<Vec<String>>,
    /// Customers see it.
    pub customer_visible: Option<bool>,
    /// Customers may set it.
    pub customer_editable: Option<bool>,
    /// Required on create.
    pub required_on_create: Option<bool>,
    /// Required on resolve.
    pub required_on_resolve: Option<bool>,
    /// Position.
    pub position: Option<i64>,
    /// Active.
    pub active: Option<bool>,
}

/// Checks a field's options for its type: 1..=500 distinct strings of 1..=100
/// characters for `select` and `multiselect`, none for the others.
pub(crate) fn validate_options(ty: FieldType, options: &[String]) -> Result<Vec<String>> {
    let listed = matches!(ty, FieldType::Select | FieldType::Multiselect);
    if !listed {
        return match options.is_empty() {
            true => Ok(Vec::new()),
            false => Err(Error::invalid(
                "options",
                "only select and multiselect fields have options",
            )),
        };
    }
    if options.is_empty() || options.len() > MAX_OPTIONS {
        return Err(Error::invalid(
            "options",
            format!("must list 1 to {MAX_OPTIONS} options"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(options.len());
    for (i, o) in options.iter().enumerate() {
        crate::text::check(&format!("options[{i}]"), o)?;
        if o.is_empty() || o.chars().count() > 100 {
            return Err(Error::invalid(
                format!("options[{i}]"),
                "must be 1 to 100 characters",
            ));
        }
        if out.contains(o) {
            return Err(Error::invalid(format!("options[{i}]"), "is listed twice"));
        }
        out.push(o.clone());
    }
    Ok(out)
}

/// Who writes a ticket's fields: staff, or a customer (who sees and sets fewer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// Staff: every active field.
    Staff,
    /// A customer: the active `customer_visible` ones, setting `customer_editable` ones.
    Customer,
}

/// The custom fields in force, as an operation reads them once from the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields(Vec<CustomField>);

impl Fields {
    /// The table of these fields.
    pub fn new(mut fields: Vec<CustomField>) -> Self {
        sort_fields(&mut fields);
        Fields(fields)
    }
    /// Every field, in list order.
    pub fn all(&self) -> &[CustomField] {
        &self.0
    }
    /// The field with this key (active or not).
    pub fn get(&self, key: &str) -> Option<&CustomField> {
        self.0.iter().find(|f| f.key == key)
    }
    /// The active field `key` that `view` sees.
    pub fn visible(&self, key: &str, view: TicketView) -> Option<&CustomField> {
        self.get(key).filter(|f| f.seen_by(view))
    }
    /// A ticket's values as `view` sees them: active fields only (customers: visible
    /// ones), in key order.
    pub fn shown(&self, values: &FieldValues, view: TicketView) -> FieldValues {
        values
            .iter()
            .filter(|(k, _)| self.visible(k, view).is_some())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
    /// The keys of active fields customers do not see.
    pub fn hidden_from_customers(&self) -> Vec<String> {
        self.0
            .iter()
            .filter(|f| f.active && !f.customer_visible)
            .map(|f| f.key.clone())
            .collect()
    }

    /// Applies `changes` (a value per key; `null` clears) to `values` as `writer` may:
    /// not an active field (for customers: a visible one) is `UnknownField`; a customer
    /// setting one they may not edit `ForbiddenField`; bad values one error per field at
    /// `fields.<key>`. Only changed values are checked; multiselects are kept in option
    /// order.
    pub fn apply(
        &self,
        values: &mut FieldValues,
        changes: &FieldValues,
        writer: Writer,
    ) -> Result<()> {
        let view = match writer {
            Writer::Staff => TicketView::Staff,
            Writer::Customer => TicketView::Customer,
        };
        for key in changes.keys() {
            if self.visible(key, view).is_none() {
                return Err(Error::UnknownField(format!("fields.{key}")));
            }
        }
        let mut errors = Vec::new();
        for (key, value) in changes {
            let field = self.visible(key, view).expect("checked above");
            if values.get(key) == Some(value) || (value.is_null() && !values.contains_key(key)) {
                continue;
            }
            if writer == Writer::Customer && !field.customer_editable {
                return Err(Error::ForbiddenField(format!("fields.{key}")));
            }
            if value.is_null() {
                values.remove(key);
                continue;
            }
            match self.normalize(field, value) {
                Ok(v) => {
                    values.insert(key.clone(), v);
                }
                Err(message) => errors.push(FieldError {
                    field: format!("fields.{key}"),
                    message,
                }),
            }
        }
        match errors.is_empty() {
            true => Ok(()),
            false => Err(Error::Validation(errors)),
        }
    }

    /// The fields a ticket lacks that it must have: on create (`resolve` false) or on
    /// entering resolved; for a customer, only fields they may edit bind.
    pub fn missing(&self, values: &FieldValues, resolve: bool, writer: Writer) -> Result<()> {
        let errors: Vec<FieldError> = self
            .0
            .iter()
            .filter(|f| f.active)
            .filter(|f| match resolve {
                true => f.required_on_resolve,
                false => f.required_on_create,
            })
            .filter(|f| writer == Writer::Staff || f.customer_editable)
            .filter(|f| !values.contains_key(&f.key))
            .map(|f| FieldError {
                field: format!("fields.{}", f.key),
                message: "required".into(),
            })
            .collect();
        match errors.is_empty() {
            true => Ok(()),
            false => Err(Error::Validation(errors)),
        }
    }
}

impl Fields {
    /// The list filter `field.<key>=<raw>` as a predicate for `view`: equality; a
    /// multiselect contains the value; a checkbox `false` also matches unset. An unknown
    /// (for customers: invisible) key or a bad value is invalid at `field.<key>`.
    pub fn filter(&self, key: &str, raw: &str, view: TicketView) -> Result<Predicate> {
        let at = format!("field.{key}");
        let field = self
            .visible(key, view)
            .ok_or_else(|| Error::invalid(&at, "is not a field"))?;
        let json = match field.field_type {
            FieldType::Number => match raw.parse::<f64>() {
                Ok(n) => serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
                Err(_) => Value::Null,
            },
            FieldType::Checkbox => match raw {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::Null,
            },
            _ => Value::String(raw.to_string()),
        };
        // One option of a multiselect is a select's value.
        let scalar = match field.field_type {
            FieldType::Multiselect => FieldType::Select,
            other => other,
        };
        crate::condition::check_field_value(self, key, scalar, &json)
            .map_err(|m| Error::invalid(&at, m))?;
        let value = match json {
            Value::Number(n) => Operand::Number(n.as_f64().unwrap_or_default()),
            Value::Bool(b) => Operand::Bool(b),
            _ => Operand::Text(raw.to_string()),
        };
        let op = match field.field_type {
            FieldType::Multiselect => Op::Contains,
            _ => Op::Eq,
        };
        Ok(Predicate {
            field: ConditionField::Custom(key.to_string()),
            op,
            value: crate::condition::Value::One(value),
        })
    }
}

impl Fields {
    /// A value for `field` (one of these) as a ticket keeps it, or what is wrong with it:
    /// multiselects are kept in option order.
    fn normalize(&self, field: &CustomField, value: &Value) -> std::result::Result<Value, String> {
        crate::condition::check_field_value(self, &field.key, field.field_type, value)?;
        Ok(match (field.field_type, value) {
            (FieldType::Multiselect, Value::Array(items)) => Value::Array(
                field
                    .options
                    .iter()
                    .filter(|o| items.iter().any(|i| i.as_str() == Some(o.as_str())))
                    .map(|o| Value::String(o.clone()))
                    .collect(),
            ),
            _ => value.clone(),
        })
    }
}

impl crate::condition::Schema for Fields {
    fn field_type(&self, key: &str) -> Option<FieldType> {
        self.get(key).filter(|f| f.active).map(|f| f.field_type)
    }
    fn is_option(&self, key: &str, value: &str) -> bool {
        self.get(key)
            .is_some_and(|f| f.options.iter().any(|o| o == value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(key: &str, ty: FieldType, options: &[&str]) -> CustomField {
        CustomField {
            id: Uuid::nil(),
            key: key.into(),
            field_type: ty,
            label: key.into(),
            options: options.iter().map(|o| o.to_string()).collect(),
            customer_visible: true,
            customer_editable: false,
            required_on_create: false,
            required_on_resolve: false,
            position: 0,
            active: true,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    #[test]
    fn values_are_checked_and_kept_in_option_order() {
        let fields = Fields::new(vec![
            field(
                "tier",
                FieldType::Multiselect,
                &["gold", "silver", "bronze"],
            ),
            field("due", FieldType::Date, &[]),
        ]);
        let mut values = FieldValues::new();
        let changes: FieldValues = [("tier".to_string(), json!(["bronze", "gold"]))].into();
        fields.apply(&mut values, &changes, Writer::Staff).unwrap();
        assert_eq!(values["tier"], json!(["gold", "bronze"]));
        let bad: FieldValues = [
            ("tier".to_string(), json!(["tin"])),
            ("due".to_string(), json!("2025-02-30")),
        ]
        .into();
        match fields.apply(&mut values, &bad, Writer::Staff) {
            Err(Error::Validation(e)) => assert_eq!(e.len(), 2),
            other => panic!("{other:?}"),
        }
        let unknown: FieldValues = [("nope".to_string(), json!(1))].into();
        assert!(matches!(
            fields.apply(&mut values, &unknown, Writer::Staff),
            Err(Error::UnknownField(f)) if f == "fields.nope"
        ));
        let by_customer: FieldValues = [("due".to_string(), json!("2025-03-01"))].into();
        assert!(matches!(
            fields.apply(&mut values, &by_customer, Writer::Customer),
            Err(Error::ForbiddenField(_))
        ));
        let clear: FieldValues = [("tier".to_string(), Value::Null)].into();
        fields.apply(&mut values, &clear, Writer::Staff).unwrap();
        assert!(values.is_empty());
    }
}
