//! Macros, applying them and bulk changes over HTTP: the CRUD rules (staff read, admins
//! write, customers 403), every 4xx the contract names (403, 404, 409, 422 at JSON paths,
//! 400 malformed, 405 on `GET /api/tickets/bulk`), the ticket answers, per-item bulk
//! statuses, `via` on the timeline, and the API key scopes they take.

use helpdesk::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const PATH: &str = "/api/macros";

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

fn at(id: &str) -> String {
    format!("{PATH}/{id}")
}

async fn create(app: &App, admin: &Who, body: Value) -> Value {
    let (s, v) = app.post(PATH, &admin.token, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

/// The first field error's path.
fn field(v: &Value) -> &str {
    v["errors"][0]["field"].as_str().unwrap_or("")
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

/// A group with `member` at `access` (none: no member); its id.
async fn group(app: &App, admin: &Who, name: &str, member: Option<(&Who, &str)>) -> String {
    let (s, g) = app
        .post("/api/groups", &admin.token, json!({"name": name}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let gid = id(&g).to_string();
    if let Some((who, access)) = member {
        let (s, v) = app
            .call(
                Method::PUT,
                &format!("/api/groups/{gid}/members/{}", who.id),
                Some(&admin.token),
                Some(json!({"access": access})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    gid
}

/// A ticket of `customer` moved by `admin` to `group`.
async fn ticket_in(app: &App, admin: &Who, customer: &Who, group: &str) -> Value {
    let t = ticket(app, customer, "Elsewhere").await;
    let (s, v) = app
        .patch(
            &format!("/api/tickets/{}", id(&t)),
            &admin.token,
            json!({"group_id": group}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

#[tokio::test]
async fn macros_are_read_by_staff_and_written_by_admins() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;
    let actions = json!([{"action": "set_priority", "value": "high"},
                         {"action": "add_tags", "value": ["VIP"]}]);

    let resp = app
        .client
        .post(app.url(PATH))
        .bearer_auth(&admin.token)
        .json(&json!({"name": "  Escalate ", "actions": actions}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let first: Value = resp.json().await.unwrap();
    assert_eq!(location, at(id(&first)));
    assert_eq!(first["name"], "Escalate");
    assert_eq!(first["position"], 0);
    assert_eq!(
        first["actions"],
        json!([{"action": "set_priority", "value": "high"},
               {"action": "add_tags", "value": ["vip"]}])
    );
    assert!(first["created_at"].is_string() && first["updated_at"].is_string());
    let second = create(
        &app,
        &admin,
        json!({"name": "Second", "actions": [{"action": "assign", "value": null}], "position": 0}),
    )
    .await;
    let third = create(&app, &admin, json!({"name": "Third", "actions": actions})).await;
    assert_eq!(third["position"], 1);

    // Staff read; the list by position, then id.
    let (s, list) = app.get(PATH, &agent.token).await;
    assert_eq!(s, StatusCode::OK);
    let mut zero = [id(&first), id(&second)];
    zero.sort();
    let listed: Vec<&str> = list["items"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(listed, [zero[0], zero[1], id(&third)]);
    let (s, got) = app.get(&at(id(&first)), &agent.token).await;
    assert_eq!((s, &got), (StatusCode::OK, &first));

    // Customers: 403 on every path; agents: 403 on writes.
    for (method, path, body) in [
        (Method::GET, PATH.to_string(), None),
        (Method::GET, at(id(&first)), None),
        (
            Method::POST,
            PATH.to_string(),
            Some(json!({"name": "x", "actions": actions})),
        ),
        (Method::PATCH, at(id(&first)), Some(json!({"name": "x"}))),
        (Method::DELETE, at(id(&first)), None),
    ] {
        let (s, v) = app
            .call(method.clone(), &path, Some(&customer.token), body.clone())
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{method} {path}"
        );
        if method != Method::GET {
            let (s, v) = app
                .call(method.clone(), &path, Some(&agent.token), body)
                .await;
            assert_eq!(
                (s, code(&v)),
                (StatusCode::FORBIDDEN, "forbidden"),
                "{method} {path}"
            );
        }
    }

    // PATCH: name, actions, position (a whole number, `5.0` too); nothing else (fixed: 422
    // unknown_field).
    let (s, changed) = app
        .patch(
            &at(id(&first)),
            &admin.token,
            json!({"name": "Renamed", "position": 5.0,
                   "actions": [{"action": "notify", "to": "requester", "value": "Hi"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{changed}");
    assert_eq!(changed["name"], "Renamed");
    assert_eq!(changed["position"], 5);
    assert_eq!(
        changed["actions"],
        json!([{"action": "notify", "to": "requester", "value": "Hi"}])
    );
    assert_eq!(changed["created_at"], first["created_at"]);
    for key in ["id", "created_at", "updated_at", "owner_id"] {
        let (s, v) = app
            .patch(&at(id(&first)), &admin.token, json!({key: first[key]}))
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field"),
            "{key}"
        );
    }
    let (s, v) = app
        .patch(&at(id(&first)), &admin.token, json!({"name": null}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );

    // 404s.
    let nobody = "0190d5a0-0000-7000-8000-000000000000";
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"name": "x"}))),
        (Method::DELETE, None),
    ] {
        let (s, v) = app
            .call(method.clone(), &at(nobody), Some(&admin.token), body)
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::NOT_FOUND, "not_found"),
            "{method}"
        );
    }
    // Malformed: 400.
    let (s, v) = app.get(&at("not-a-uuid"), &admin.token).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_id"));
    let resp = app
        .client
        .post(app.url(PATH))
        .bearer_auth(&admin.token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // DELETE: 204, then 404.
    let (s, _) = app.delete(&at(id(&second)), &admin.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get(&at(id(&second)), &admin.token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn macro_input_problems_answer_422_at_their_paths() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;
    let ok = json!([{"action": "set_priority", "value": "low"}]);
    let nobody = "0190d5a0-0000-7000-8000-000000000000";
    for (body, code_, path) in [
        (
            json!({"name": "", "actions": ok}),
            "validation_failed",
            "name",
        ),
        (
            json!({"name": "x".repeat(101), "actions": ok}),
            "validation_failed",
            "name",
        ),
        (json!({"actions": ok}), "validation_failed", "name"),
        (
            json!({"name": "No actions"}),
            "validation_failed",
            "actions",
        ),
        (
            json!({"name": "Empty", "actions": []}),
            "validation_failed",
            "actions",
        ),
        (
            json!({"name": "Many", "actions": vec![json!({"action": "set_priority", "value": "low"}); 21]}),
            "validation_failed",
            "actions",
        ),
        (
            json!({"name": "Bad", "actions": [{"action": "add_tags", "value": ["a"]}, {"action": "set_priority", "value": "asap"}]}),
            "validation_failed",
            "actions[1].value",
        ),
        (
            json!({"name": "Bad", "actions": [{"action": "explode", "value": 1}]}),
            "validation_failed",
            "actions[0].action",
        ),
        (
            json!({"name": "Bad", "actions": [{"action": "set_group", "value": nobody}]}),
            "validation_failed",
            "actions[0].value",
        ),
        (
            json!({"name": "Bad", "actions": [{"action": "assign", "value": customer.id}]}),
            "validation_failed",
            "actions[0].value",
        ),
        (
            json!({"name": "Bad", "actions": [{"action": "send_reply", "value": nobody}]}),
            "validation_failed",
            "actions[0].value",
        ),
        (
            json!({"name": "Bad", "actions": ok, "position": -1}),
            "validation_failed",
            "position",
        ),
        (
            json!({"name": "Bad", "actions": ok, "position": 1.5}),
            "validation_failed",
            "position",
        ),
        (
            json!({"name": "Bad", "actions": [{"action": "set_priority", "valeu": "low"}]}),
            "unknown_field",
            "",
        ),
        (
            json!({"name": "Bad", "actions": ok, "owner_id": nobody}),
            "unknown_field",
            "",
        ),
    ] {
        let (s, v) = app.post(PATH, &admin.token, body.clone()).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, code_),
            "{body}: {v}"
        );
        if !path.is_empty() {
            assert_eq!(field(&v), path, "{body}: {v}");
        }
    }
    let (s, list) = app.get(PATH, &admin.token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn applying_a_macro_answers_the_ticket_or_what_failed() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;
    let readonly = group(&app, &admin, "Read only", Some((&agent, "read"))).await;
    let secret = group(&app, &admin, "Secret", None).await;
    let (s, reply) = app
        .post(
            "/api/canned-replies",
            &admin.token,
            json!({"title": "Thanks", "shortcut": "thanks", "scope": "global",
                   "body": "Hello {{requester.name}}, #{{ticket.number}} is pending."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{reply}");
    let pend = create(
        &app,
        &admin,
        json!({"name": "Pend", "actions": [
            {"action": "set_status", "value": "pending"},
            {"action": "set_priority", "value": "high"},
            {"action": "add_tags", "value": ["waiting"]},
            {"action": "add_internal_note", "value": "Asked {{requester.name}}"},
            {"action": "send_reply", "value": id(&reply)},
            {"action": "notify", "to": "requester", "value": "We replied"}
        ]}),
    )
    .await;
    let t = ticket(&app, &customer, "Printer").await;
    let apply = |tid: &str| format!("/api/tickets/{tid}/apply-macro");

    let (s, after) = app
        .post(&apply(id(&t)), &agent.token, json!({"macro_id": id(&pend)}))
        .await;
    assert_eq!(s, StatusCode::OK, "{after}");
    assert_eq!(after["id"], t["id"]);
    assert_eq!(after["status"], "pending");
    assert_eq!(after["priority"], "high");
    assert_eq!(after["tags"], json!(["waiting"]));
    let conv = t["conversation_id"].as_str().unwrap();
    let (_, msgs) = app
        .get(&format!("/api/conversations/{conv}/messages"), &agent.token)
        .await;
    let contents: Vec<(&Value, &Value, &Value)> = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (&m["internal"], &m["sender_id"], &m["content"]))
        .collect();
    let number = t["number"].as_i64().unwrap();
    assert_eq!(
        contents,
        [
            (&json!(true), &json!(agent.id), &json!("Asked carol")),
            (
                &json!(false),
                &json!(agent.id),
                &json!(format!("Hello carol, #{number} is pending."))
            ),
        ],
        "{msgs}"
    );
    let (_, notes) = app.get("/api/notifications", &customer.token).await;
    let rule: Vec<&Value> = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "rule_notification")
        .collect();
    assert_eq!(rule.len(), 1, "{notes}");
    assert_eq!(rule[0]["title"], "Pend");
    assert_eq!(rule[0]["body"], "We replied");
    // The run's timeline entries carry `via`; the creation none.
    let (_, events) = app
        .get(&format!("/api/tickets/{}/events", id(&t)), &agent.token)
        .await;
    let items = events["items"].as_array().unwrap();
    assert_eq!(items[0]["kind"], "created");
    assert_eq!(items[0]["via"], Value::Null);
    assert!(items.len() >= 4, "{events}");
    for e in &items[1..] {
        assert_eq!(e["via"], json!({"kind": "macro", "id": pend["id"]}), "{e}");
    }

    // 409 invalid_transition: pending cannot go to closed; nothing written.
    let close = create(
        &app,
        &admin,
        json!({"name": "Close", "actions": [
            {"action": "add_internal_note", "value": "Closing"},
            {"action": "set_status", "value": "closed"}
        ]}),
    )
    .await;
    let (s, v) = app
        .post(
            &apply(id(&t)),
            &agent.token,
            json!({"macro_id": id(&close)}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, "invalid_transition"),
        "{v}"
    );
    let (_, msgs) = app
        .get(&format!("/api/conversations/{conv}/messages"), &agent.token)
        .await;
    assert_eq!(msgs["items"].as_array().unwrap().len(), 2);

    // 422: unknown macro, missing or malformed macro_id, unknown key.
    for body in [
        json!({"macro_id": "0190d5a0-0000-7000-8000-000000000000"}),
        json!({}),
        json!({"macro_id": "nope"}),
    ] {
        let (s, v) = app.post(&apply(id(&t)), &agent.token, body.clone()).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{body}"
        );
        assert_eq!(field(&v), "macro_id", "{v}");
    }
    let (s, v) = app
        .post(
            &apply(id(&t)),
            &agent.token,
            json!({"macro_id": id(&pend), "x": 1}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field")
    );

    // 403: customers, and staff without `full`; 404: a ticket the caller cannot see.
    let (s, v) = app
        .post(
            &apply(id(&t)),
            &customer.token,
            json!({"macro_id": id(&pend)}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let read = ticket_in(&app, &admin, &customer, &readonly).await;
    let (s, v) = app
        .post(
            &apply(id(&read)),
            &agent.token,
            json!({"macro_id": id(&pend)}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let hidden = ticket_in(&app, &admin, &customer, &secret).await;
    let (s, v) = app
        .post(
            &apply(id(&hidden)),
            &agent.token,
            json!({"macro_id": id(&pend)}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    // 400: a malformed ticket id.
    let (s, v) = app
        .post(&apply("nope"), &agent.token, json!({"macro_id": id(&pend)}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_id"));
}

#[tokio::test]
async fn bulk_changes_answer_each_ticket() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;
    let readonly = group(&app, &admin, "Read only", Some((&agent, "read"))).await;
    let secret = group(&app, &admin, "Secret", None).await;
    let a = ticket(&app, &customer, "A").await;
    let read = ticket_in(&app, &admin, &customer, &readonly).await;
    let hidden = ticket_in(&app, &admin, &customer, &secret).await;
    let b = ticket(&app, &customer, "B").await;
    let ids = json!([a["id"], read["id"], hidden["id"], b["id"]]);
    let (s, v) = app
        .post(
            "/api/tickets/bulk",
            &agent.token,
            json!({"ticket_ids": ids,
                   "actions": [{"action": "add_tags", "value": ["bulk"]}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let items = v["items"].as_array().unwrap();
    let got: Vec<(&Value, &Value)> = items
        .iter()
        .map(|i| (&i["ticket_id"], &i["status"]))
        .collect();
    assert_eq!(
        got,
        [
            (&a["id"], &json!(200)),
            (&read["id"], &json!(403)),
            (&hidden["id"], &json!(404)),
            (&b["id"], &json!(200)),
        ]
    );
    assert_eq!(items[0]["ticket"]["tags"], json!(["bulk"]));
    assert_eq!(items[1]["error"]["code"], "forbidden");
    assert_eq!(items[1]["error"]["status"], 403);
    assert_eq!(items[2]["error"]["code"], "not_found");
    assert!(items[1].get("ticket").is_none());

    // With a macro: each ticket atomic, 200 even when every item fails.
    let resolve = create(
        &app,
        &admin,
        json!({"name": "Resolve", "actions": [{"action": "set_status", "value": "resolved"}]}),
    )
    .await;
    let (s, v) = app
        .post(
            "/api/tickets/bulk",
            &admin.token,
            json!({"ticket_ids": [a["id"]], "macro_id": resolve["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["items"][0]["ticket"]["status"], "resolved");
    // Resolved cannot move to pending: 409 for that item, as the PATCH would answer.
    let pend = create(
        &app,
        &admin,
        json!({"name": "Pend", "actions": [{"action": "set_status", "value": "pending"}]}),
    )
    .await;
    let (s, v) = app
        .post(
            "/api/tickets/bulk",
            &agent.token,
            json!({"ticket_ids": [a["id"], read["id"]], "macro_id": pend["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["items"][0]["status"], 409);
    assert_eq!(v["items"][0]["error"]["code"], "invalid_transition");
    assert_eq!(v["items"][1]["status"], 403);

    // Bad requests: 422, nothing done.
    let tag = json!([{"action": "add_tags", "value": ["never"]}]);
    let many: Vec<String> = (0..101)
        .map(|i| format!("0190d5a0-0000-7000-8000-{i:012}"))
        .collect();
    for (body, path) in [
        (json!({"ticket_ids": [], "actions": tag}), "ticket_ids"),
        (
            json!({"ticket_ids": [b["id"], b["id"]], "actions": tag}),
            "ticket_ids[1]",
        ),
        (json!({"ticket_ids": many, "actions": tag}), "ticket_ids"),
        (json!({"ticket_ids": [b["id"]]}), "actions"),
        (
            json!({"ticket_ids": [b["id"]], "actions": tag, "macro_id": resolve["id"]}),
            "macro_id",
        ),
        (json!({"ticket_ids": [b["id"]], "actions": []}), "actions"),
        (
            json!({"ticket_ids": [b["id"]], "actions": [{"action": "set_priority", "value": "asap"}]}),
            "actions[0].value",
        ),
        (
            json!({"ticket_ids": [b["id"]], "macro_id": "0190d5a0-0000-7000-8000-000000000000"}),
            "macro_id",
        ),
        (json!({"actions": tag}), "ticket_ids"),
        (
            json!({"ticket_ids": ["nope"], "actions": tag}),
            "ticket_ids[0]",
        ),
    ] {
        let (s, v) = app
            .post("/api/tickets/bulk", &admin.token, body.clone())
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{body}: {v}"
        );
        assert_eq!(field(&v), path, "{body}: {v}");
    }
    let (s, v) = app
        .post(
            "/api/tickets/bulk",
            &admin.token,
            json!({"ticket_ids": [b["id"]], "actions": tag, "x": 1}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field")
    );
    let (_, b_now) = app
        .get(&format!("/api/tickets/{}", id(&b)), &admin.token)
        .await;
    assert_eq!(b_now["tags"], json!(["bulk"]));

    // Customers: 403. GET is no ticket lookup: 405.
    let (s, v) = app
        .post(
            "/api/tickets/bulk",
            &customer.token,
            json!({"ticket_ids": [b["id"]], "actions": tag}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app.get("/api/tickets/bulk", &admin.token).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
        "{v}"
    );
}

#[tokio::test]
async fn macro_api_keys_take_their_scopes() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;
    let key = |scopes: Value| {
        let (app, token) = (&app, admin.token.clone());
        async move {
            let (s, v) = app
                .post(
                    "/api/users/me/api-keys",
                    &token,
                    json!({"name": "k", "scopes": scopes}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v["token"].as_str().unwrap().to_string()
        }
    };
    let reader = key(json!(["tickets:read"])).await;
    let writer = key(json!(["tickets:write"])).await;
    let admin_key = key(json!(["admin"])).await;
    let m = create(
        &app,
        &admin,
        json!({"name": "Prio", "actions": [{"action": "set_priority", "value": "low"}]}),
    )
    .await;
    for path in [PATH.to_string(), at(id(&m))] {
        let (s, v) = app.get(&path, &reader).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        let (s, v) = app.get(&path, &writer).await;
        assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "insufficient_scope"));
    }
    for (method, path, body) in [
        (
            Method::POST,
            PATH.to_string(),
            Some(json!({"name": "k", "actions": [{"action": "set_priority", "value": "low"}]})),
        ),
        (Method::PATCH, at(id(&m)), Some(json!({"name": "x"}))),
    ] {
        let (s, v) = app
            .call(method.clone(), &path, Some(&writer), body.clone())
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::FORBIDDEN, "insufficient_scope"),
            "{method} {path}"
        );
        assert_eq!(v["required_scopes"], json!(["admin"]));
        let (s, v) = app
            .call(method.clone(), &path, Some(&admin_key), body)
            .await;
        assert!(s.is_success(), "{method} {path}: {v}");
    }
    let t = ticket(&app, &customer, "Keyed").await;
    for (path, body) in [
        (
            format!("/api/tickets/{}/apply-macro", id(&t)),
            json!({"macro_id": m["id"]}),
        ),
        (
            "/api/tickets/bulk".to_string(),
            json!({"ticket_ids": [t["id"]], "macro_id": m["id"]}),
        ),
    ] {
        let (s, v) = app.post(&path, &reader, body.clone()).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::FORBIDDEN, "insufficient_scope"),
            "{path}"
        );
        assert_eq!(v["required_scopes"], json!(["tickets:write"]));
        let (s, v) = app.post(&path, &writer, body).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
    }
    let (s, v) = app.delete(&at(id(&m)), &admin_key).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
}
