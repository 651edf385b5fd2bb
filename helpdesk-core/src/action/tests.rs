//! The action language: its JSON shape both ways, and the problems of a list at their
//! paths.

use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::*;
use crate::condition::{FieldType, NoCustomFields};
use crate::error::FieldError;

/// Today's statuses plus an inactive `waiting_parts`; custom fields `size` (number) and
/// `langs` (multiselect of `en`, `de`).
struct TestSchema;

impl Schema for TestSchema {
    fn field_type(&self, key: &str) -> Option<FieldType> {
        match key {
            "size" => Some(FieldType::Number),
            "langs" => Some(FieldType::Multiselect),
            _ => None,
        }
    }
    fn is_option(&self, _key: &str, value: &str) -> bool {
        ["en", "de"].contains(&value)
    }
    fn status(&self, key: &str) -> Option<bool> {
        match key {
            "waiting_parts" => Some(false),
            _ => NoCustomFields.status(key),
        }
    }
}

const GROUP: Uuid = Uuid::from_u128(0x6);
const BOB: Uuid = Uuid::from_u128(0xb0b);
const REPLY: Uuid = Uuid::from_u128(0x4e);

fn parse(json: Json) -> Result<Vec<Action>, Error> {
    Action::parse_list(&json, "actions", 20, &TestSchema)
}

fn errors(r: Result<Vec<Action>, Error>) -> Vec<(String, String)> {
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

#[test]
fn every_action_in_its_shape() {
    let json = json!([
        {"action": "set_status", "value": "waiting_parts"},
        {"action": "set_status", "value": "resolved"},
        {"action": "set_priority", "value": "urgent"},
        {"action": "set_group", "value": GROUP.to_string()},
        {"action": "assign", "value": BOB.to_string()},
        {"action": "assign", "value": null},
        {"action": "add_tags", "value": ["VIP", "billing", "vip"]},
        {"action": "remove_tags", "value": ["spam"]},
        {"action": "set_field", "key": "size", "value": 3},
        {"action": "set_field", "key": "langs", "value": null},
        {"action": "add_internal_note", "value": "Escalated #{{ ticket.number }} for {{requester.name}}"},
        {"action": "send_reply", "value": REPLY.to_string()},
        {"action": "notify", "to": "assignee", "value": "Look at this {{x}}"},
        {"action": "notify", "to": BOB.to_string(), "value": "And you"},
    ]);
    // The inactive status is refused; the rest parse.
    assert_eq!(
        errors(parse(json.clone())),
        pairs(&[("actions[0].value", "`waiting_parts` is an inactive status")])
    );
    let mut json = json;
    json.as_array_mut().unwrap().remove(0);
    let actions = parse(json.clone()).unwrap();
    assert_eq!(
        actions,
        vec![
            Action::SetStatus {
                value: "resolved".into()
            },
            Action::SetPriority {
                value: Priority::Urgent
            },
            Action::SetGroup { value: GROUP },
            Action::Assign { value: Some(BOB) },
            Action::Assign { value: None },
            Action::AddTags {
                value: vec!["billing".into(), "vip".into()]
            },
            Action::RemoveTags {
                value: vec!["spam".into()]
            },
            Action::SetField {
                key: "size".into(),
                value: json!(3)
            },
            Action::SetField {
                key: "langs".into(),
                value: Json::Null
            },
            Action::AddInternalNote {
                value: "Escalated #{{ ticket.number }} for {{requester.name}}".into()
            },
            Action::SendReply { value: REPLY },
            Action::Notify {
                to: Recipient::Assignee,
                value: "Look at this {{x}}".into()
            },
            Action::Notify {
                to: Recipient::User(BOB),
                value: "And you".into()
            },
        ]
    );
    // Serialized: the shape it came in (tags folded, sorted, deduplicated).
    let back = serde_json::to_value(&actions).unwrap();
    let mut expected = json;
    expected[5]["value"] = json!(["billing", "vip"]);
    assert_eq!(back, expected);
    // Read back as stored.
    let stored: Vec<Action> = serde_json::from_value(back).unwrap();
    assert_eq!(stored, actions);
    assert_eq!(
        actions.iter().map(Action::name).collect::<Vec<_>>(),
        [
            "set_status",
            "set_priority",
            "set_group",
            "assign",
            "assign",
            "add_tags",
            "remove_tags",
            "set_field",
            "set_field",
            "add_internal_note",
            "send_reply",
            "notify",
            "notify",
        ]
    );
}

#[test]
fn every_problem_is_reported_at_its_path() {
    let long = "x".repeat(MAX_TEXT + 1);
    let json = json!([
        {"action": "set_status", "value": "nope"},
        {"action": "set_status", "value": 3},
        {"action": "set_priority", "value": "highest"},
        {"action": "set_group", "value": "x"},
        {"action": "assign"},
        {"action": "assign", "value": 5},
        {"action": "add_tags", "value": []},
        {"action": "remove_tags", "value": ["ok", "a/b", 3]},
        {"action": "set_field", "key": "colour", "value": "red"},
        {"action": "set_field", "key": "size", "value": "3"},
        {"action": "set_field", "key": "langs", "value": ["en", "en"]},
        {"action": "set_field", "value": 1},
        {"action": "add_internal_note", "value": "Hi {{requester.email}}"},
        {"action": "add_internal_note", "value": "  "},
        {"action": "add_internal_note", "value": long},
        {"action": "send_reply", "value": null},
        {"action": "notify", "to": "watchers", "value": ""},
        {"action": "notify", "value": "x"},
        {"action": "escalate"},
        {"value": 1},
        [],
    ]);
    // 21 actions: a limit above the macros' 20.
    let r = Action::parse_list(&json, "actions", 30, &TestSchema);
    assert_eq!(
        errors(r),
        pairs(&[
            ("actions[0].value", "`nope` is not a status"),
            ("actions[1].value", "must be a status key"),
            ("actions[2].value", "must be low, normal, high or urgent"),
            ("actions[3].value", "must be a group's id"),
            ("actions[4].value", "is required"),
            ("actions[5].value", "must be a staff user's id or null"),
            ("actions[6].value", "must be a list of 1 to 20 tags"),
            (
                "actions[7].value[1]",
                "must be a tag: 1 to 50 letters, digits, '-', '_', '.' or spaces"
            ),
            (
                "actions[7].value[2]",
                "must be a tag: 1 to 50 letters, digits, '-', '_', '.' or spaces"
            ),
            ("actions[8].key", "`colour` names no active custom field"),
            (
                "actions[9].value",
                "must be a number between -10^15 and 10^15"
            ),
            (
                "actions[10].value",
                "must be a non-empty list of distinct options"
            ),
            ("actions[11].key", "is required"),
            (
                "actions[12].value",
                "`{{requester.email}}` is not a placeholder (use {{ticket.number}}, \
                 {{ticket.subject}}, {{requester.name}} or {{agent.name}})"
            ),
            ("actions[13].value", "must not be empty"),
            ("actions[14].value", "must be at most 32000 characters"),
            ("actions[15].value", "must be a canned reply's id"),
            (
                "actions[16].to",
                "must be assignee, requester or a user's id"
            ),
            ("actions[16].value", "must not be empty"),
            ("actions[17].to", "is required"),
            (
                "actions[18].action",
                "must be set_status, set_priority, set_group, assign, add_tags, \
                 remove_tags, set_field, add_internal_note, send_reply or notify"
            ),
            ("actions[19].action", "is required"),
            ("actions[20]", "must be an object with `action`"),
        ])
    );
}

#[test]
fn the_list_takes_one_to_max_actions() {
    let one = json!({"action": "set_priority", "value": "low"});
    assert_eq!(parse(json!(vec![one.clone(); 20])).unwrap().len(), 20);
    for bad in [
        json!([]),
        json!(vec![one.clone(); 21]),
        json!({"action": "x"}),
    ] {
        assert_eq!(
            errors(parse(bad)),
            pairs(&[("actions", "must be a list of 1 to 20 actions")])
        );
    }
    // Rules may take another limit.
    let r = Action::parse_list(&json!(vec![one; 3]), "actions", 2, &NoCustomFields);
    assert_eq!(
        errors(r),
        pairs(&[("actions", "must be a list of 1 to 2 actions")])
    );
}

#[test]
fn tags_over_the_limit_after_folding() {
    let twenty: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
    let mut same = twenty.clone();
    same.push("T0".into());
    parse(json!([{"action": "add_tags", "value": same}])).unwrap();
    let mut more = twenty;
    more.push("t20".into());
    assert_eq!(
        errors(parse(json!([{"action": "add_tags", "value": more}]))),
        pairs(&[("actions[0].value", "must be a list of 1 to 20 tags")])
    );
}

#[test]
fn unknown_keys_answer_unknown_field_first() {
    for (json, field) in [
        (
            json!([{"action": "set_priority", "valeu": "low"}]),
            "actions[0].valeu",
        ),
        (
            json!([{"action": "set_priority", "value": "x"}, {"action": "assign", "value": null, "key": "k"}]),
            "actions[1].key",
        ),
        (
            json!([{"action": "notify", "to": "assignee", "value": "x", "title": "t"}]),
            "actions[0].title",
        ),
    ] {
        match parse(json) {
            Err(Error::UnknownField(f)) => assert_eq!(f, field),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn one_action_alone() {
    let a = Action::parse(
        &json!({"action": "set_field", "key": "langs", "value": ["de", "en"]}),
        "action",
        &TestSchema,
    )
    .unwrap();
    assert!(a.names_field("langs") && !a.names_field("size"));
    match Action::parse(&json!({"action": "set_field"}), "action", &TestSchema) {
        Err(Error::Validation(e)) => assert_eq!(
            e,
            vec![FieldError {
                field: "action.value".into(),
                message: "is required".into()
            }]
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn references_for_the_store() {
    let actions = parse(json!([
        {"action": "set_status", "value": "open"},
        {"action": "set_group", "value": GROUP.to_string()},
        {"action": "assign", "value": BOB.to_string()},
        {"action": "assign", "value": null},
        {"action": "send_reply", "value": REPLY.to_string()},
        {"action": "notify", "to": "requester", "value": "x"},
        {"action": "notify", "to": BOB.to_string(), "value": "x"},
    ]))
    .unwrap();
    assert_eq!(
        references(&actions, "actions"),
        vec![
            Reference {
                path: "actions[1].value".into(),
                target: Target::Group(GROUP)
            },
            Reference {
                path: "actions[2].value".into(),
                target: Target::StaffUser(BOB)
            },
            Reference {
                path: "actions[4].value".into(),
                target: Target::CannedReply(REPLY)
            },
            Reference {
                path: "actions[6].to".into(),
                target: Target::User(BOB)
            },
        ]
    );
    assert!(actions[0].names_status("open"));
    assert!(!actions[1].names_status("open"));
}
