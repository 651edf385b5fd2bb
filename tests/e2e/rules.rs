//! Rules over HTTP: the CRUD rules (admins only: agents and customers 403), the fixed
//! `kind`, 404 and 422 at JSON paths; a trigger's effect in the very answer of the
//! PATCH that caused it, with `via` on the timeline; the runs list; dry runs; an
//! automation woken by the live server when its hours pass.

use helpdesk::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const PATH: &str = "/api/rules";

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

fn at(id: &str) -> String {
    format!("{PATH}/{id}")
}

/// The first field error's path.
fn field(v: &Value) -> &str {
    v["errors"][0]["field"].as_str().unwrap_or("")
}

async fn create(app: &App, admin: &Who, body: Value) -> Value {
    let (s, v) = app.post(PATH, &admin.token, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

async fn ticket(app: &App, customer: &Who, subject: &str) -> Value {
    let (s, t) = app
        .post(
            "/api/tickets",
            &customer.token,
            json!({"subject": subject, "description": "Details."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    t
}

#[tokio::test]
async fn rules_are_admin_only_with_a_fixed_kind() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;
    let actions = json!([{"action": "add_tags", "value": ["VIP"]}]);
    let first = create(
        &app,
        &admin,
        json!({"name": " Tag ", "kind": "trigger", "actions": actions}),
    )
    .await;
    assert_eq!(first["name"], "Tag");
    assert_eq!(first["kind"], "trigger");
    assert_eq!(first["active"], true);
    assert_eq!(first["position"], 0);
    assert_eq!(first["condition"], json!({}));
    assert_eq!(
        first["actions"],
        json!([{"action": "add_tags", "value": ["vip"]}])
    );
    assert!(first["created_at"].is_string() && first["updated_at"].is_string());
    let second = create(
        &app,
        &admin,
        json!({"name": "Auto", "kind": "automation", "active": false,
               "condition": {"all": [{"field": "priority", "op": "eq", "value": "urgent"}]},
               "actions": actions}),
    )
    .await;
    assert_eq!(second["position"], 1);
    let (s, list) = app.get(PATH, &admin.token).await;
    assert_eq!(s, StatusCode::OK);
    let listed: Vec<&str> = list["items"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(listed, [id(&first), id(&second)]);
    let (s, got) = app.get(&at(id(&first)), &admin.token).await;
    assert_eq!((s, &got), (StatusCode::OK, &first));

    // Agents and customers: 403 on every path.
    for who in [&agent, &customer] {
        for (method, path, body) in [
            (Method::GET, PATH.to_string(), None),
            (Method::GET, at(id(&first)), None),
            (Method::GET, format!("{}/runs", at(id(&first))), None),
            (
                Method::POST,
                PATH.to_string(),
                Some(json!({"name": "x", "kind": "trigger", "actions": actions})),
            ),
            (Method::PATCH, at(id(&first)), Some(json!({"name": "x"}))),
            (Method::DELETE, at(id(&first)), None),
            (
                Method::POST,
                format!("{PATH}/dry-run"),
                Some(json!({"condition": {}, "actions": actions, "ticket_id": id(&first)})),
            ),
        ] {
            let (s, v) = app
                .call(method.clone(), &path, Some(&who.token), body)
                .await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path}: {v}");
        }
    }

    // `kind` is fixed; bad input is 422 at its path; unknown ids 404.
    let (s, v) = app
        .patch(&at(id(&first)), &admin.token, json!({"kind": "automation"}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field")
    );
    let (s, v) = app
        .post(
            PATH,
            &admin.token,
            json!({"name": "x", "kind": "sometimes", "actions": actions}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(field(&v), "kind");
    let (s, v) = app
        .post(
            PATH,
            &admin.token,
            json!({"name": "x", "kind": "automation", "actions": actions,
                   "condition": {"all": [{"field": "event", "op": "eq", "value": "ticket.created"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(field(&v), "condition.all[0].field");
    let (s, v) = app
        .post(
            PATH,
            &admin.token,
            json!({"name": "x", "kind": "trigger", "actions": [{"action": "fly"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let missing = "00000000-0000-7000-8000-000000000000";
    let (s, _) = app.get(&at(missing), &admin.token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .get(&format!("{}/runs", at(missing)), &admin.token)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .patch(&at(missing), &admin.token, json!({"name": "x"}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Changes, then delete.
    let (s, v) = app
        .patch(
            &at(id(&second)),
            &admin.token,
            json!({"active": true, "position": 7}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["active"].clone(), v["position"].clone()),
        (json!(true), json!(7))
    );
    assert_eq!(v["kind"], "automation");
    let (s, _) = app.delete(&at(id(&second)), &admin.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get(&at(id(&second)), &admin.token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_trigger_shows_in_the_answer_of_its_cause() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;
    let rule = create(
        &app,
        &admin,
        json!({"name": "Escalate", "kind": "trigger",
               "condition": {"all": [{"field": "event", "op": "eq", "value": "ticket.updated"},
                                     {"field": "priority", "op": "eq", "value": "urgent"}]},
               "actions": [{"action": "add_tags", "value": ["escalated"]},
                           {"action": "add_internal_note", "value": "Escalated by rule"}]}),
    )
    .await;
    let t = ticket(&app, &customer, "Printer").await;
    let tid = id(&t).to_string();
    let (s, after) = app
        .patch(
            &format!("/api/tickets/{tid}"),
            &admin.token,
            json!({"priority": "urgent"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{after}");
    assert_eq!(
        after["tags"],
        json!(["escalated"]),
        "in the PATCH's own answer"
    );
    // The timeline: the rule's change carries via and no actor.
    let (s, timeline) = app
        .get(&format!("/api/tickets/{tid}/events"), &admin.token)
        .await;
    assert_eq!(s, StatusCode::OK);
    let by_rule: Vec<&Value> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["via"] == json!({"kind": "rule", "id": id(&rule)}))
        .collect();
    assert!(!by_rule.is_empty(), "{timeline}");
    assert!(by_rule.iter().all(|e| e["actor_id"].is_null()));
    // The note: no sender.
    let conv = t["conversation_id"].as_str().unwrap();
    let (s, messages) = app
        .get(&format!("/api/conversations/{conv}/messages"), &admin.token)
        .await;
    assert_eq!(s, StatusCode::OK);
    let note = messages["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["content"] == "Escalated by rule")
        .expect("the rule's note");
    assert!(note["sender_id"].is_null(), "{note}");
    // The runs list.
    let (s, runs) = app
        .get(&format!("{}/runs", at(id(&rule))), &admin.token)
        .await;
    assert_eq!(s, StatusCode::OK);
    let items = runs["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{runs}");
    assert_eq!(items[0]["ticket_id"], tid.as_str());
    assert_eq!(items[0]["result"], "applied");
    assert!(items[0]["error"].is_null());
    assert!(items[0]["at"].is_string() && items[0]["id"].is_string());

    // A failing step: recorded with its problem, the cause stands.
    let failing = create(
        &app,
        &admin,
        json!({"name": "Too many", "kind": "trigger",
               "condition": {"all": [{"field": "priority", "op": "eq", "value": "low"}]},
               "actions": [{"action": "add_tags", "value": (0..11).map(|i| format!("a{i}")).collect::<Vec<_>>()},
                           {"action": "add_tags", "value": (0..11).map(|i| format!("b{i}")).collect::<Vec<_>>()}]}),
    )
    .await;
    let (s, after) = app
        .patch(
            &format!("/api/tickets/{tid}"),
            &admin.token,
            json!({"priority": "low"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{after}");
    assert_eq!(after["priority"], "low");
    assert_eq!(after["tags"], json!(["escalated"]));
    let (_, runs) = app
        .get(&format!("{}/runs", at(id(&failing))), &admin.token)
        .await;
    assert_eq!(runs["items"][0]["result"], "failed", "{runs}");
    assert_eq!(runs["items"][0]["error"]["code"], "validation_failed");
}

#[tokio::test]
async fn dry_runs_preview_and_store_nothing() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;
    let t = ticket(&app, &customer, "Dry printer").await;
    let tid = id(&t).to_string();
    let body = json!({
        "condition": {"all": [{"field": "subject", "op": "contains", "value": "printer"}],
                      "any": [{"field": "event", "op": "eq", "value": "ticket.created"},
                              {"field": "priority", "op": "eq", "value": "normal"}]},
        "actions": [{"action": "set_priority", "value": "high"}],
        "ticket_id": tid,
    });
    let (s, v) = app
        .post(&format!("{PATH}/dry-run"), &admin.token, body.clone())
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["matches"], true);
    assert_eq!(v["all"], json!([true]));
    assert_eq!(
        v["any"],
        json!([false, true]),
        "the event defaults to ticket.updated"
    );
    assert_eq!(v["ticket"]["priority"], "high");
    assert!(v["error"].is_null());
    let (_, stored) = app.get(&format!("/api/tickets/{tid}"), &admin.token).await;
    assert_eq!(stored["priority"], "normal", "nothing stored");
    // No match: no ticket.
    let mut no = body.clone();
    no["condition"] = json!({"all": [{"field": "priority", "op": "eq", "value": "low"}]});
    let (s, v) = app.post(&format!("{PATH}/dry-run"), &admin.token, no).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["matches"].clone(), v["ticket"].clone()),
        (json!(false), Value::Null)
    );
    // A failure: the problem, no ticket.
    let mut failing = body.clone();
    failing["actions"] = json!([
        {"action": "add_tags", "value": (0..11).map(|i| format!("a{i}")).collect::<Vec<_>>()},
        {"action": "add_tags", "value": (0..11).map(|i| format!("b{i}")).collect::<Vec<_>>()}
    ]);
    let (s, v) = app
        .post(&format!("{PATH}/dry-run"), &admin.token, failing)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["ticket"].is_null());
    assert_eq!(v["error"]["code"], "validation_failed", "{v}");
    assert_eq!(v["error"]["status"], 422);
    // A missing ticket is 422; an unknown event too.
    let mut missing = body.clone();
    missing["ticket_id"] = json!("00000000-0000-7000-8000-000000000000");
    let (s, v) = app
        .post(&format!("{PATH}/dry-run"), &admin.token, missing)
        .await;
    assert_eq!(
        (s, field(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "ticket_id")
    );
    let mut event = body.clone();
    event["event"] = json!("ticket.nope");
    let (s, v) = app
        .post(&format!("{PATH}/dry-run"), &admin.token, event)
        .await;
    assert_eq!((s, field(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "event"));
    // `dry-run` is no rule id.
    let (s, _) = app.get(&format!("{PATH}/dry-run"), &admin.token).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
}

/// An automation counting hours wakes on the live server's own clock: 0.001 hours
/// (3.6 s) after a ticket is made, the scheduler fires it once, and its change reaches
/// a socket as `ticket.updated`.
#[tokio::test]
async fn an_automation_wakes_when_its_hours_pass() {
    let app = spawn_live_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let carol = app.signup("carol@example.com").await;
    let rule = create(
        &app,
        &admin,
        json!({"name": "Stale", "kind": "automation",
               "condition": {"all": [{"field": "hours_since_created", "op": "gt", "value": 0.001}]},
               "actions": [{"action": "add_tags", "value": ["stale"]}]}),
    )
    .await;
    let mut ws = app.ws(&admin.token).await;
    let t = ticket(&app, &carol, "Waiting").await;
    assert_eq!(t["tags"], json!([]), "not at once");
    let updated = ws.next_of("ticket.updated").await;
    assert_eq!(updated["data"]["ticket"]["id"], t["id"]);
    assert_eq!(updated["data"]["ticket"]["tags"], json!(["stale"]));
    // The run is logged in its own write just after the change's (which the socket may
    // show first).
    let mut runs = json!(null);
    for _ in 0..100 {
        let (s, got) = app
            .get(&format!("{}/runs", at(id(&rule))), &admin.token)
            .await;
        assert_eq!(s, StatusCode::OK, "{got}");
        runs = got;
        if !runs["items"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(runs["items"].as_array().map(Vec::len), Some(1), "{runs}");
    assert_eq!(runs["items"][0]["ticket_id"], t["id"]);
}
