//! The condition language: parsing and its errors, evaluation's edge cases, and a
//! property test comparing [`Condition::matches`] with a reference evaluation over the
//! JSON forms of the condition and the ticket.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::*;
use crate::error::FieldError;
use crate::event::EventKind;
use crate::principal::Principal;
use crate::status::StatusCategory;
use crate::ticket::{Priority, Ticket};

/// Statuses `open`..`closed` plus an inactive `waiting_parts`; custom fields of each type;
/// `product` offers `a` and `b`, `langs` `en`, `de` and `fr`.
struct TestSchema;

impl Schema for TestSchema {
    fn field_type(&self, key: &str) -> Option<FieldType> {
        Some(match key {
            "notes" => FieldType::Text,
            "size" => FieldType::Number,
            "due" => FieldType::Date,
            "product" => FieldType::Select,
            "langs" => FieldType::Multiselect,
            "vip" => FieldType::Checkbox,
            _ => return None,
        })
    }
    fn is_option(&self, key: &str, value: &str) -> bool {
        match key {
            "product" => ["a", "b"].contains(&value),
            "langs" => ["en", "de", "fr"].contains(&value),
            _ => false,
        }
    }
    fn status(&self, key: &str) -> Option<bool> {
        match key {
            "waiting_parts" => Some(false),
            _ => key.parse::<StatusCategory>().is_ok().then_some(true),
        }
    }
}

fn parse(json: Json, usage: Usage) -> Result<Condition, Error> {
    Condition::parse(&json, "condition", usage, &TestSchema)
}

fn view(json: Json) -> Condition {
    parse(json.clone(), Usage::View).unwrap_or_else(|e| panic!("{json}: {e}"))
}

/// The field errors of a failed parse, as (path, message).
fn errors(r: Result<Condition, Error>) -> Vec<(String, String)> {
    match r {
        Err(Error::Validation(errors)) => errors
            .into_iter()
            .map(|FieldError { field, message }| (field, message))
            .collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(f, m)| (f.to_string(), m.to_string()))
        .collect()
}

fn p(field: &str, op: &str, value: Json) -> Json {
    json!({"field": field, "op": op, "value": value})
}

fn at(h: i64, m: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap() + Duration::hours(h) + Duration::minutes(m)
}

const ALICE: Uuid = Uuid::from_u128(0xa11ce);
const BOB: Uuid = Uuid::from_u128(0xb0b);
const GROUP: Uuid = Uuid::from_u128(0x6);
const ORG: Uuid = Uuid::from_u128(0x0);

fn ticket() -> Ticket {
    Ticket {
        id: Uuid::from_u128(1),
        number: 7,
        subject: "Printer ON Fire in the École".into(),
        description: "Smoke.".into(),
        status: StatusCategory::Pending.into(),
        status_category: StatusCategory::Pending,
        status_changed_at: None,
        priority: Priority::High,
        requester_id: ALICE,
        assignee_id: None,
        tags: vec!["billing".into(), "vip".into()],
        conversation_id: Uuid::from_u128(2),
        group_id: GROUP,
        organization_id: None,
        fields: Default::default(),
        cc: vec![],
        followers: vec![],
        created_at: at(0, 0),
        updated_at: at(1, 0),
        first_response_at: None,
        resolved_at: None,
        closed_at: None,
        merged_into_id: None,
        merged_ids: Vec::new(),
        pre_merge_status: None,
        snooze: None,
        sla: Default::default(),
        automation_at: None,
        channel: Default::default(),
        mailbox_id: None,
        follow_up_of: None,
        resolved_count: 0,
        version: 1,
    }
}

/// The facts of [`ticket`] at 01:30 after its creation.
fn facts() -> TicketFacts {
    TicketFacts::of(&ticket(), at(1, 30))
}

fn holds(pred: Json, facts: &TicketFacts) -> bool {
    let c = parse(json!({"all": [pred.clone()]}), Usage::Trigger)
        .unwrap_or_else(|e| panic!("{pred}: {e}"));
    c.matches(facts)
}

// --- parsing -------------------------------------------------------------------------

#[test]
fn empty_conditions_parse_and_match_everything() {
    for json in [
        json!({}),
        json!({"all": []}),
        json!({"all": null, "any": []}),
    ] {
        let c = view(json);
        assert!(c.is_empty());
        assert!(c.matches(&facts()));
        assert_eq!(c.to_json(), json!({}));
    }
}

#[test]
fn every_field_parses_with_its_operators() {
    let id = ALICE.to_string();
    let c = parse(
        json!({"all": [
            p("status", "in", json!(["open", "waiting_parts"])),
            p("status_category", "ne", json!("closed")),
            p("priority", "gt", json!("normal")),
            p("assignee_id", "eq", json!(id)),
            json!({"field": "requester_id", "op": "is_set"}),
            p("group_id", "not_in", json!([id])),
            json!({"field": "requester.organization_id", "op": "is_not_set", "value": null}),
            p("tags", "contains", json!("VIP")),
            p("subject", "contains", json!("fire")),
            p("snoozed", "eq", json!(false)),
            p("sla.breached", "eq", json!(true)),
            p("hours_since_created", "gt", json!(1.5)),
            p("hours_since_updated", "lt", json!(24)),
            p("hours_since_status_changed", "gt", json!(0.1)),
            p("event", "in", json!(["ticket.created", "csat.responded"])),
            p("actor.role", "not_in", json!(["system"])),
            p("message.internal", "eq", json!(true)),
        ], "any": [
            p("field.notes", "contains", json!("Urgent")),
            p("field.size", "lt", json!(3)),
            p("field.due", "gt", json!("2025-02-28")),
            p("field.product", "in", json!(["a", "b"])),
            p("field.langs", "contains", json!("de")),
            p("field.vip", "eq", json!(true)),
            json!({"field": "field.notes", "op": "is_set"}),
        ]}),
        Usage::Trigger,
    )
    .unwrap();
    assert_eq!(c.all.len(), 17);
    assert_eq!(c.any.len(), 7);
    assert_eq!(
        c.all[0],
        Predicate {
            field: Field::Status,
            op: Op::In,
            value: Value::Many(vec![
                Operand::Text("open".into()),
                Operand::Text("waiting_parts".into())
            ]),
        }
    );
    // Tags are folded as tickets keep them.
    assert_eq!(c.all[7].value, Value::One(Operand::Text("vip".into())));
    assert_eq!(c.all[11].value, Value::One(Operand::Number(1.5)));
    assert_eq!(c.any[0].field, Field::Custom("notes".into()));
    assert_eq!(
        c.any[2].value,
        Value::One(Operand::Text("2025-02-28".into()))
    );
    // Back to JSON: the shape it came in, tags folded, `null` values left out.
    let back = c.to_json();
    assert_eq!(back["all"][7], p("tags", "contains", json!("vip")));
    assert_eq!(
        back["all"][4],
        json!({"field": "requester_id", "op": "is_set"})
    );
    assert_eq!(
        back["all"][6],
        json!({"field": "requester.organization_id", "op": "is_not_set"})
    );
    assert_eq!(back["all"][12], p("hours_since_updated", "lt", json!(24)));
    assert_eq!(back["any"][1], p("field.size", "lt", json!(3)));
    // Stored and read back without a schema, it is the same condition.
    let stored: Condition = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
    assert_eq!(stored, c);
}

#[test]
fn every_problem_is_reported_at_its_path() {
    let r = parse(
        json!({"all": [
            p("status", "eq", json!("open")),
            p("priority", "contains", json!("high")),
            p("nope", "eq", json!(1)),
            p("assignee_id", "eq", json!("x")),
            p("assignee_id", "eq", json!(null)),
            p("status_category", "like", json!("open")),
        ], "any": [
            p("tags", "in", json!([])),
            p("assignee_id", "is_set", json!("x")),
            p("status", "in", json!(["open", "nope_x", 3, "Open"])),
            {"field": "subject", "op": "eq"},
            {"op": "eq", "value": "x"},
            {"field": 3, "op": 4},
            "status eq open",
            p("tags", "contains", json!("a/b")),
        ]}),
        Usage::View,
    );
    assert_eq!(
        errors(r),
        pairs(&[
            (
                "condition.all[1].op",
                "must be eq, ne, in, not_in, gt or lt for `priority`"
            ),
            (
                "condition.all[2].field",
                "`nope` is not a field conditions test"
            ),
            ("condition.all[3].value", "must be a UUID"),
            (
                "condition.all[4].value",
                "must be a UUID (`is_not_set` tests for none)"
            ),
            (
                "condition.all[5].op",
                "must be eq, ne, in, not_in, gt, lt, contains, is_set or is_not_set"
            ),
            ("condition.any[0].value", "must be a list of 1 to 100 tags"),
            ("condition.any[1].value", "must be absent for `is_set`"),
            ("condition.any[2].value[1]", "`nope_x` is not a status"),
            ("condition.any[2].value[2]", "must be a status key"),
            ("condition.any[2].value[3]", "must be a status key"),
            ("condition.any[3].value", "is required"),
            ("condition.any[4].field", "is required"),
            ("condition.any[5].field", "must be the name of a field"),
            (
                "condition.any[5].op",
                "must be eq, ne, in, not_in, gt, lt, contains, is_set or is_not_set"
            ),
            (
                "condition.any[6]",
                "must be an object with `field`, `op` and `value`"
            ),
            (
                "condition.any[7].value",
                "must be a tag: 1 to 50 letters, digits, '-', '_', '.' or spaces"
            ),
        ])
    );
}

#[test]
fn the_shape_itself_is_checked() {
    let r = Condition::parse(&json!([]), "filter", Usage::View, &NoCustomFields);
    assert_eq!(
        errors(r),
        pairs(&[(
            "filter",
            "must be an object with `all` and `any` lists of predicates"
        )])
    );
    let r = Condition::parse(
        &json!({"all": {}, "any": "x"}),
        "filter",
        Usage::View,
        &NoCustomFields,
    );
    assert_eq!(
        errors(r),
        pairs(&[
            ("filter.all", "must be a list of predicates"),
            ("filter.any", "must be a list of predicates"),
        ])
    );
}

#[test]
fn unknown_keys_answer_unknown_field_first() {
    let r = parse(
        json!({"all": [{"field": "status", "op": "eq", "valu": "open"}, p("x", "y", json!(1))]}),
        Usage::View,
    );
    match r {
        Err(Error::UnknownField(f)) => assert_eq!(f, "condition.all[0].valu"),
        other => panic!("{other:?}"),
    }
    match parse(json!({"all": [], "none": []}), Usage::View) {
        Err(Error::UnknownField(f)) => assert_eq!(f, "condition.none"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn at_most_fifty_predicates_and_a_hundred_values() {
    let one = p("status", "eq", json!("open"));
    let ok = view(json!({"all": vec![one.clone(); 30], "any": vec![one.clone(); 20]}));
    assert_eq!(ok.all.len() + ok.any.len(), 50);
    let r = parse(
        json!({"all": vec![one.clone(); 30], "any": vec![one; 21]}),
        Usage::View,
    );
    assert_eq!(
        errors(r),
        pairs(&[(
            "condition",
            "must have at most 50 predicates, `all` and `any` together"
        )])
    );

    let hundred: Vec<Json> = (0..100).map(|i| json!(format!("t{i}"))).collect();
    view(json!({"all": [p("tags", "in", json!(hundred))]}));
    let more: Vec<Json> = (0..101).map(|i| json!(format!("t{i}"))).collect();
    let r = parse(
        json!({"all": [p("tags", "not_in", json!(more))]}),
        Usage::View,
    );
    assert_eq!(
        errors(r),
        pairs(&[("condition.all[0].value", "must be a list of 1 to 100 tags")])
    );
    let r = parse(
        json!({"all": [p("priority", "in", json!("high"))]}),
        Usage::View,
    );
    assert_eq!(
        errors(r),
        pairs(&[(
            "condition.all[0].value",
            "must be a list of 1 to 100 priorities"
        )])
    );
}

#[test]
fn usage_decides_the_fields_allowed() {
    let trigger_only = json!({"all": [
        p("event", "eq", json!("ticket.created")),
        p("actor.role", "eq", json!("agent")),
        p("message.internal", "eq", json!(false)),
    ]});
    parse(trigger_only.clone(), Usage::Trigger).unwrap();
    let refused = pairs(&[
        ("condition.all[0].field", "`event` is for triggers only"),
        (
            "condition.all[1].field",
            "`actor.role` is for triggers only",
        ),
        (
            "condition.all[2].field",
            "`message.internal` is for triggers only",
        ),
    ]);
    for usage in [Usage::View, Usage::Automation, Usage::Sla] {
        assert_eq!(
            errors(parse(trigger_only.clone(), usage)),
            refused,
            "{usage:?}"
        );
    }

    let timely = json!({"any": [
        p("hours_since_created", "gt", json!(2)),
        p("sla.breached", "eq", json!(true)),
        p("priority", "eq", json!("urgent")),
    ]});
    for usage in [Usage::View, Usage::Automation, Usage::Trigger] {
        parse(timely.clone(), usage).unwrap();
    }
    assert_eq!(
        errors(parse(timely, Usage::Sla)),
        pairs(&[
            (
                "condition.any[0].field",
                "`hours_since_created` is not allowed in an SLA policy's condition"
            ),
            (
                "condition.any[1].field",
                "`sla.breached` is not allowed in an SLA policy's condition"
            ),
        ])
    );
    // A refused field's value is checked too.
    assert_eq!(
        errors(parse(
            json!({"all": [p("event", "eq", json!("ticket.deleted"))]}),
            Usage::View
        )),
        pairs(&[
            ("condition.all[0].field", "`event` is for triggers only"),
            (
                "condition.all[0].value",
                "must be ticket.created, ticket.updated, message.created, ticket.unsnoozed, \
                 ticket.sla_warning, ticket.sla_breached or csat.responded"
            ),
        ])
    );
}

#[test]
fn values_are_typed_by_field() {
    let r = parse(
        json!({"all": [
            p("hours_since_created", "gt", json!(0)),
            p("hours_since_updated", "lt", json!("2")),
            p("snoozed", "eq", json!("true")),
            p("actor.role", "eq", json!("owner")),
            p("status_category", "eq", json!("waiting_parts")),
            p("priority", "lt", json!("URGENT")),
            p("subject", "eq", json!("a\u{0}b")),
            p("subject", "contains", json!(3)),
            p("status", "eq", json!("waiting_parts")),
        ]}),
        Usage::Trigger,
    );
    assert_eq!(
        errors(r),
        pairs(&[
            (
                "condition.all[0].value",
                "must be a number of hours greater than 0"
            ),
            (
                "condition.all[1].value",
                "must be a number of hours greater than 0"
            ),
            ("condition.all[2].value", "must be true or false"),
            (
                "condition.all[3].value",
                "must be customer, agent, admin or system"
            ),
            (
                "condition.all[4].value",
                "must be open, pending, on_hold, resolved or closed"
            ),
            (
                "condition.all[5].value",
                "must be low, normal, high or urgent"
            ),
            (
                "condition.all[6].value",
                "must not contain control characters other than tab, newline and carriage \
                 return (found U+0000)"
            ),
            ("condition.all[7].value", "must be a string"),
        ])
    );
    // An inactive status may still be tested (tickets keep it); without a schema that
    // knows it, it is no status.
    let r = Condition::parse(
        &json!({"all": [p("status", "eq", json!("waiting_parts"))]}),
        "filter",
        Usage::View,
        &NoCustomFields,
    );
    assert_eq!(
        errors(r),
        pairs(&[("filter.all[0].value", "`waiting_parts` is not a status")])
    );
}

#[test]
fn custom_fields_follow_the_schema() {
    let r = parse(
        json!({"all": [
            p("field.missing", "eq", json!("x")),
            p("field.vip", "ne", json!(true)),
            p("field.size", "eq", json!("3")),
            p("field.size", "gt", json!(1e16)),
            p("field.due", "lt", json!("2025-02-30")),
            p("field.due", "lt", json!("2025-2-3")),
            p("field.product", "in", json!(["a", "c"])),
            p("field.langs", "contains", json!("es")),
            p("field.langs", "eq", json!("en")),
            p("field.notes", "contains", json!("")),
            p("field.notes", "gt", json!("a")),
            p("field.", "eq", json!("a")),
        ]}),
        Usage::View,
    );
    assert_eq!(
        errors(r),
        pairs(&[
            (
                "condition.all[0].field",
                "`field.missing` names no active custom field"
            ),
            ("condition.all[1].op", "must be eq for `field.vip`"),
            (
                "condition.all[2].value",
                "must be a number between -10^15 and 10^15"
            ),
            (
                "condition.all[3].value",
                "must be a number between -10^15 and 10^15"
            ),
            ("condition.all[4].value", "must be a date as YYYY-MM-DD"),
            ("condition.all[5].value", "must be a date as YYYY-MM-DD"),
            (
                "condition.all[6].value[1]",
                "`c` is not an option of `field.product`"
            ),
            (
                "condition.all[7].value",
                "`es` is not an option of `field.langs`"
            ),
            (
                "condition.all[8].op",
                "must be contains, in, not_in, is_set or is_not_set for `field.langs`"
            ),
            ("condition.all[9].value", "must be 1 to 10000 characters"),
            (
                "condition.all[10].op",
                "must be eq, ne, contains, is_set or is_not_set for `field.notes`"
            ),
            (
                "condition.all[11].field",
                "`field.` names no active custom field"
            ),
        ])
    );
    // A closure is a schema: these custom fields, today's statuses.
    let schema = |key: &str| (key == "size").then_some(FieldType::Number);
    let c = Condition::parse(
        &json!({"all": [p("field.size", "gt", json!(2)), p("status", "eq", json!("open"))]}),
        "filter",
        Usage::View,
        &schema,
    )
    .unwrap();
    assert_eq!(c.all[0].value, Value::One(Operand::Number(2.0)));
}

#[test]
fn references_names_and_paths() {
    let c = view(json!({
        "all": [p("assignee_id", "eq", json!(BOB.to_string())), p("status", "in", json!(["open", "pending"]))],
        "any": [
            p("group_id", "in", json!([GROUP.to_string(), ALICE.to_string()])),
            p("requester.organization_id", "ne", json!(ORG.to_string())),
            p("field.vip", "eq", json!(true)),
        ],
    }));
    assert_eq!(
        c.references("filter"),
        vec![
            Reference {
                path: "filter.all[0].value".into(),
                target: Target::User(BOB)
            },
            Reference {
                path: "filter.any[0].value[0]".into(),
                target: Target::Group(GROUP)
            },
            Reference {
                path: "filter.any[0].value[1]".into(),
                target: Target::Group(ALICE)
            },
            Reference {
                path: "filter.any[1].value".into(),
                target: Target::Organization(ORG)
            },
        ]
    );
    assert!(c.names_status("pending"));
    assert!(!c.names_status("closed"));
    assert!(c.names_field("vip"));
    assert!(!c.names_field("size"));
}

#[test]
fn a_stored_condition_reads_back_without_a_schema() {
    let json = json!({"all": [
        p("field.notes", "contains", json!("x")),
        p("field.size", "gt", json!(2.5)),
        p("field.langs", "in", json!(["en"])),
        p("field.vip", "eq", json!(false)),
        p("status", "eq", json!("waiting_parts")),
    ]});
    let c: Condition = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(c, parse(json.clone(), Usage::View).unwrap());
    assert_eq!(serde_json::to_value(&c).unwrap(), json);
    let e = serde_json::from_value::<Condition>(json!({"all": [p("nope", "eq", json!(1))]}))
        .unwrap_err();
    assert!(e.to_string().contains("condition.all[0].field"), "{e}");
}

// --- evaluation ----------------------------------------------------------------------

#[test]
fn facts_of_a_ticket() {
    let f = facts();
    assert_eq!(f.status, "pending");
    assert_eq!(f.status_category, StatusCategory::Pending);
    assert_eq!(f.group_id, Some(GROUP));
    assert_eq!(f.requester_organization_id, None);
    assert!(!f.snoozed && !f.sla_breached);
    assert_eq!(
        (f.event, f.actor_role, f.message_internal),
        (None, None, None)
    );
    let legacy = Ticket {
        group_id: Uuid::nil(),
        organization_id: Some(ORG),
        ..ticket()
    };
    let f = TicketFacts::of(&legacy, at(0, 0));
    assert_eq!(f.group_id, None);
    assert_eq!(f.requester_organization_id, Some(ORG));
}

#[test]
fn on_an_unset_field_only_ne_not_in_and_is_not_set_hold() {
    let f = facts();
    let bob = json!(BOB.to_string());
    for (field, unset) in [
        ("assignee_id", true),
        ("requester.organization_id", true),
        ("requester_id", false),
        ("group_id", false),
    ] {
        let other = json!(Uuid::from_u128(99).to_string());
        assert!(!holds(p(field, "eq", bob.clone()), &f), "{field}");
        assert!(holds(p(field, "ne", bob.clone()), &f), "{field}");
        assert!(!holds(p(field, "in", json!([bob, other])), &f), "{field}");
        assert!(holds(p(field, "not_in", json!([bob])), &f), "{field}");
        assert_eq!(holds(json!({"field": field, "op": "is_set"}), &f), !unset);
        assert_eq!(
            holds(json!({"field": field, "op": "is_not_set"}), &f),
            unset
        );
    }
    assert!(holds(p("requester_id", "eq", json!(ALICE.to_string())), &f));
    // Trigger facts are unset outside triggers.
    assert!(!holds(p("event", "eq", json!("ticket.created")), &f));
    assert!(!holds(p("message.internal", "eq", json!(false)), &f));
    assert!(!holds(p("message.internal", "eq", json!(true)), &f));
    assert!(holds(p("actor.role", "ne", json!("admin")), &f));
    assert!(holds(p("actor.role", "not_in", json!(["admin"])), &f));
    assert!(!holds(p("actor.role", "in", json!(["admin", "agent"])), &f));
    // Unset custom fields: ne, not_in, is_not_set only; a checkbox reads false.
    for pred in [
        p("field.notes", "ne", json!("x")),
        p("field.product", "not_in", json!(["a"])),
        p("field.langs", "not_in", json!(["en"])),
        p("field.size", "ne", json!(1)),
        json!({"field": "field.due", "op": "is_not_set"}),
        p("field.vip", "eq", json!(false)),
    ] {
        assert!(holds(pred.clone(), &f), "{pred}");
    }
    for pred in [
        p("field.notes", "contains", json!("x")),
        p("field.notes", "eq", json!("x")),
        p("field.size", "lt", json!(1)),
        p("field.size", "gt", json!(1)),
        p("field.due", "lt", json!("2999-01-01")),
        p("field.langs", "contains", json!("en")),
        p("field.product", "in", json!(["a", "b"])),
        json!({"field": "field.due", "op": "is_set"}),
        p("field.vip", "eq", json!(true)),
    ] {
        assert!(!holds(pred.clone(), &f), "{pred}");
    }
}

#[test]
fn strings_compare_exactly_but_contains_ignores_case() {
    let f = facts();
    assert!(holds(p("subject", "contains", json!("on fire")), &f));
    assert!(holds(p("subject", "contains", json!("PRINTER")), &f));
    assert!(holds(p("subject", "contains", json!("école")), &f));
    assert!(!holds(p("subject", "contains", json!("printers")), &f));
    assert!(holds(
        p("subject", "eq", json!("Printer ON Fire in the École")),
        &f
    ));
    assert!(!holds(
        p("subject", "eq", json!("printer on fire in the école")),
        &f
    ));
    assert!(holds(
        p("subject", "ne", json!("printer on fire in the école")),
        &f
    ));
    assert!(holds(p("status", "eq", json!("pending")), &f));
    assert!(!holds(p("status", "in", json!(["open", "on_hold"])), &f));
    assert!(holds(
        p("status_category", "not_in", json!(["open", "closed"])),
        &f
    ));

    let mut f = facts();
    f.fields.insert(
        "notes".into(),
        FieldValue::Text("Call Back URGENTLY".into()),
    );
    f.fields
        .insert("product".into(), FieldValue::Select("a".into()));
    assert!(holds(p("field.notes", "contains", json!("urgent")), &f));
    assert!(!holds(
        p("field.notes", "eq", json!("call back urgently")),
        &f
    ));
    assert!(holds(p("field.product", "eq", json!("a")), &f));
    assert!(holds(p("field.product", "in", json!(["b", "a"])), &f));
    assert!(holds(p("field.product", "not_in", json!(["b"])), &f));
}

#[test]
fn all_and_any() {
    let f = facts();
    let yes = p("priority", "eq", json!("high"));
    let no = p("priority", "eq", json!("low"));
    let cases = [
        (json!({"all": [yes]}), true),
        (json!({"all": [yes, no]}), false),
        (json!({"any": []}), true),
        (json!({"all": [yes], "any": []}), true),
        (json!({"all": [yes], "any": [no, no]}), false),
        (json!({"all": [yes], "any": [no, yes]}), true),
        (json!({"any": [no]}), false),
        (json!({"all": [no], "any": [yes]}), false),
    ];
    for (json, expected) in cases {
        let c = view(json.clone());
        assert_eq!(c.matches(&f), expected, "{json}");
        let e = c.evaluate(&f);
        assert_eq!(e.matches, expected, "{json}");
        assert_eq!(e.all.len(), c.all.len());
        assert_eq!(e.any.len(), c.any.len());
    }
    let e = view(json!({"all": [yes, no], "any": [no, yes]})).evaluate(&f);
    assert_eq!(
        e,
        Evaluation {
            matches: false,
            all: vec![true, false],
            any: vec![false, true]
        }
    );
}

#[test]
fn priorities_order_low_normal_high_urgent() {
    let mut f = facts();
    for (priority, gt_normal, lt_high) in [
        (Priority::Low, false, true),
        (Priority::Normal, false, true),
        (Priority::High, true, false),
        (Priority::Urgent, true, false),
    ] {
        f.priority = priority;
        assert_eq!(holds(p("priority", "gt", json!("normal")), &f), gt_normal);
        assert_eq!(holds(p("priority", "lt", json!("high")), &f), lt_high);
    }
    f.priority = Priority::Urgent;
    assert!(!holds(p("priority", "gt", json!("urgent")), &f));
    assert!(!holds(p("priority", "lt", json!("low")), &f));
    assert!(holds(p("priority", "in", json!(["low", "urgent"])), &f));
}

#[test]
fn tags_and_multiselects_as_lists() {
    let mut f = facts();
    f.fields.insert(
        "langs".into(),
        FieldValue::Multiselect(vec!["de".into(), "en".into()]),
    );
    for (field, has, lacks) in [("tags", "vip", "bug"), ("field.langs", "de", "fr")] {
        assert!(holds(p(field, "contains", json!(has)), &f), "{field}");
        assert!(!holds(p(field, "contains", json!(lacks)), &f), "{field}");
        assert!(holds(p(field, "in", json!([lacks, has])), &f), "{field}");
        assert!(!holds(p(field, "in", json!([lacks])), &f), "{field}");
        assert!(holds(p(field, "not_in", json!([lacks])), &f), "{field}");
        assert!(
            !holds(p(field, "not_in", json!([lacks, has])), &f),
            "{field}"
        );
        assert!(
            holds(json!({"field": field, "op": "is_set"}), &f),
            "{field}"
        );
        assert!(
            !holds(json!({"field": field, "op": "is_not_set"}), &f),
            "{field}"
        );
    }
    // A tag in a condition is folded like a ticket's.
    assert!(holds(p("tags", "contains", json!("  VIP ")), &f));
    // No tags: unset.
    f.tags.clear();
    assert!(!holds(json!({"field": "tags", "op": "is_set"}), &f));
    assert!(holds(json!({"field": "tags", "op": "is_not_set"}), &f));
    assert!(!holds(p("tags", "contains", json!("vip")), &f));
    assert!(!holds(p("tags", "in", json!(["vip"])), &f));
    assert!(holds(p("tags", "not_in", json!(["vip"])), &f));
}

#[test]
fn hours_since_are_fractional() {
    // Created at 00:00, updated at 01:00, now 01:30.
    let mut f = facts();
    for (field, hours) in [
        ("hours_since_created", 1.5),
        ("hours_since_updated", 0.5),
        ("hours_since_status_changed", 1.5),
    ] {
        assert!(holds(p(field, "gt", json!(hours - 0.01)), &f), "{field}");
        assert!(!holds(p(field, "gt", json!(hours)), &f), "{field}");
        assert!(!holds(p(field, "lt", json!(hours)), &f), "{field}");
        assert!(holds(p(field, "lt", json!(hours + 0.01)), &f), "{field}");
    }
    // Changed 6 minutes ago: exactly 0.1 hours, neither more nor less.
    f.status_changed_at = Some(at(1, 24));
    let lt = p("hours_since_status_changed", "lt", json!(0.1));
    let gt = p("hours_since_status_changed", "gt", json!(0.1));
    assert!(!holds(lt.clone(), &f) && !holds(gt.clone(), &f));
    f.now -= Duration::seconds(1);
    assert!(holds(lt.clone(), &f) && !holds(gt.clone(), &f));
    f.now += Duration::seconds(2);
    assert!(!holds(lt, &f) && holds(gt, &f));
}

#[test]
fn custom_numbers_dates_and_checkboxes() {
    let mut f = facts();
    f.fields.insert("size".into(), FieldValue::Number(2.5));
    f.fields.insert(
        "due".into(),
        FieldValue::Date(NaiveDate::from_ymd_opt(2025, 3, 9).unwrap()),
    );
    f.fields.insert("vip".into(), FieldValue::Checkbox(true));
    assert!(holds(p("field.size", "gt", json!(2)), &f));
    assert!(holds(p("field.size", "lt", json!(3)), &f));
    assert!(holds(p("field.size", "eq", json!(2.5)), &f));
    assert!(holds(p("field.due", "gt", json!("2025-03-08")), &f));
    assert!(holds(p("field.due", "lt", json!("2025-03-10")), &f));
    assert!(holds(p("field.due", "eq", json!("2025-03-09")), &f));
    assert!(holds(p("field.due", "lt", json!("2025-12-01")), &f));
    assert!(holds(p("field.vip", "eq", json!(true)), &f));
    assert!(!holds(p("field.vip", "eq", json!(false)), &f));
    assert!(holds(json!({"field": "field.size", "op": "is_set"}), &f));
}

#[test]
fn trigger_facts() {
    let mut f = facts();
    f.event = Some(TriggerEvent::MessageCreated);
    f.actor_role = Some(ActorRole::of(&Principal::system()));
    f.message_internal = Some(true);
    assert!(holds(p("event", "eq", json!("message.created")), &f));
    assert!(holds(
        p("event", "in", json!(["ticket.created", "message.created"])),
        &f
    ));
    assert!(holds(p("actor.role", "eq", json!("system")), &f));
    assert!(holds(p("message.internal", "eq", json!(true)), &f));
    assert_eq!(
        TriggerEvent::of(EventKind::TicketUpdated),
        Some(TriggerEvent::TicketUpdated)
    );
    assert_eq!(TriggerEvent::of(EventKind::GroupCreated), None);
}

// --- the property: matches agrees with a reference over the JSON forms ---------------

mod model {
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;
    use crate::condition::arbitrary;
    use crate::principal::TicketView;
    use crate::schema::ticket_json_for;

    const USERS: [Uuid; 3] = [ALICE, BOB, Uuid::from_u128(0xca201)];
    const GROUPS: [Uuid; 2] = [GROUP, Uuid::from_u128(0x66)];
    const ORGS: [Uuid; 2] = [ORG, Uuid::from_u128(0x01)];
    /// An id no generated ticket holds.
    const STRANGER: Uuid = Uuid::from_u128(0x5742);
    const TAGS: [&str; 4] = ["billing", "vip", "bug", "été"];
    const WORDS: [&str; 8] = [
        "Printer", "ON", "fire", "école", "ÉCOLE", "help", "Straße", "ß",
    ];
    const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];

    fn base() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).unwrap()
    }

    /// A ticket as one can be today, and the moment of evaluation.
    fn ticket_and_now() -> impl Strategy<Value = (Ticket, DateTime<Utc>)> {
        (
            (
                select(StatusCategory::ALL.to_vec()),
                select(Priority::ALL.to_vec()),
                proptest::option::of(select(USERS.to_vec())),
                select(USERS.to_vec()),
                select(GROUPS.to_vec()),
                proptest::option::of(select(ORGS.to_vec())),
            ),
            proptest::sample::subsequence(TAGS.to_vec(), 0..=TAGS.len()),
            vec(select(WORDS.to_vec()), 1..4),
            (0i64..600, 0i64..600, 0i64..600),
        )
            .prop_map(
                |(
                    (status, priority, assignee_id, requester_id, group_id, organization_id),
                    tags,
                    words,
                    (created, updated, now),
                )| {
                    let mut tags: Vec<String> = tags.into_iter().map(String::from).collect();
                    tags.sort();
                    let created_at = base() + Duration::minutes(created);
                    let updated_at = created_at + Duration::minutes(updated);
                    let t = Ticket {
                        status: status.into(),
                        status_category: status,
                        status_changed_at: None,
                        priority,
                        assignee_id,
                        requester_id,
                        group_id,
                        organization_id,
                        tags,
                        subject: words.join(" "),
                        created_at,
                        updated_at,
                        ..ticket()
                    };
                    (t, updated_at + Duration::minutes(now))
                },
            )
    }

    fn pools() -> arbitrary::Pools {
        let ids = |pool: &[Uuid]| pool.iter().copied().chain([STRANGER]).collect();
        arbitrary::Pools {
            users: ids(&USERS),
            groups: ids(&GROUPS),
            organizations: ids(&ORGS),
            tags: TAGS.map(String::from).to_vec(),
            words: WORDS
                .iter()
                .chain(&["Printer ON", "n f", ""])
                .map(|w| w.to_string())
                .collect(),
        }
    }

    /// The reference: reads the ticket's API JSON by the field's name and applies the
    /// table of API-workflow.md literally, value by value.
    fn reference_holds(pred: &Json, ticket: &Json, now: DateTime<Utc>) -> bool {
        let field = pred["field"].as_str().unwrap();
        let op = pred["op"].as_str().unwrap();
        let value = &pred["value"];
        let stamp = |name: &str| -> DateTime<Utc> {
            DateTime::parse_from_rfc3339(ticket[name].as_str().unwrap())
                .unwrap()
                .with_timezone(&Utc)
        };
        let actual: Json = match field {
            "status" | "status_category" => ticket["status"].clone(),
            "requester.organization_id" => ticket["organization_id"].clone(),
            "snoozed" | "sla.breached" => json!(false),
            "hours_since_created" | "hours_since_status_changed" => {
                json!((now - stamp("created_at")).num_microseconds().unwrap())
            }
            "hours_since_updated" => {
                json!((now - stamp("updated_at")).num_microseconds().unwrap())
            }
            other => ticket[other].clone(),
        };
        let unset = actual.is_null() || actual.as_array().is_some_and(|a| a.is_empty());
        if unset {
            return matches!(op, "ne" | "not_in" | "is_not_set");
        }
        let rank = |v: &Json| PRIORITIES.iter().position(|p| v == p).unwrap();
        let listed = |v: &Json| value.as_array().unwrap().contains(v);
        let lower = |v: &Json| -> String {
            v.as_str()
                .unwrap()
                .chars()
                .flat_map(char::to_lowercase)
                .collect()
        };
        match (field, op) {
            (_, "is_set") => true,
            (_, "is_not_set") => false,
            ("tags", "contains") => listed_in(&actual, value),
            ("tags", "in") => actual.as_array().unwrap().iter().any(listed),
            ("tags", "not_in") => !actual.as_array().unwrap().iter().any(listed),
            ("priority", "gt") => rank(&actual) > rank(value),
            ("priority", "lt") => rank(&actual) < rank(value),
            (f, "gt") if f.starts_with("hours_since") => {
                actual.as_i64().unwrap() as f64 > value.as_f64().unwrap() * 3_600_000_000.0
            }
            (f, "lt") if f.starts_with("hours_since") => {
                (actual.as_i64().unwrap() as f64) < value.as_f64().unwrap() * 3_600_000_000.0
            }
            ("subject", "contains") => lower(&actual).contains(&lower(value)),
            (_, "eq") => actual == *value,
            (_, "ne") => actual != *value,
            (_, "in") => listed(&actual),
            (_, "not_in") => !listed(&actual),
            other => panic!("the generator made {other:?}"),
        }
    }

    fn listed_in(list: &Json, v: &Json) -> bool {
        list.as_array().unwrap().contains(v)
    }

    fn reference(cond: &Json, ticket: &Json, now: DateTime<Utc>) -> bool {
        let list = |name: &str| cond[name].as_array().cloned().unwrap_or_default();
        let all = list("all");
        let any = list("any");
        all.iter().all(|p| reference_holds(p, ticket, now))
            && (any.is_empty() || any.iter().any(|p| reference_holds(p, ticket, now)))
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 1_000,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn matches_agrees_with_the_reference_and_round_trips(
            (t, now) in ticket_and_now(),
            json in arbitrary::condition(&pools()),
        ) {
            let c = Condition::parse(&json, "condition", Usage::View, &NoCustomFields)
                .map_err(|e| TestCaseError::fail(format!("{json}: {e}")))?;
            let tj = serde_json::to_value(ticket_json_for(&t, TicketView::Staff, &crate::schema::TicketSchema::defaults(t.created_at))).unwrap();
            let facts = TicketFacts::of(&t, now);
            prop_assert_eq!(c.matches(&facts), reference(&json, &tj, now), "{} on {}", json, tj);
            let e = c.evaluate(&facts);
            prop_assert_eq!(e.matches, c.matches(&facts));
            for (i, p) in c.all.iter().enumerate() {
                prop_assert_eq!(e.all[i], reference_holds(&json["all"][i], &tj, now), "{:?}", p);
            }
            for (i, p) in c.any.iter().enumerate() {
                prop_assert_eq!(e.any[i], reference_holds(&json["any"][i], &tj, now), "{:?}", p);
            }

            // Serialize → parse round-trips, checked and as stored.
            let back = serde_json::to_value(&c).unwrap();
            prop_assert_eq!(&back, &json);
            let again = Condition::parse(&back, "condition", Usage::View, &NoCustomFields).unwrap();
            prop_assert_eq!(&again, &c);
            let stored: Condition = serde_json::from_value(back).unwrap();
            prop_assert_eq!(&stored, &c);
        }
    }
}
