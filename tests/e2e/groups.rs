//! Groups (queues): CRUD and memberships as admins and staff see them, 403 for
//! customers on every group path, the caller's groups, and tickets in groups (`group_id`
//! shown to staff only, the `group_id` filter).

use helpdesk::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// The names of a `{items: [group]}` list, in order.
fn names(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect()
}

async fn put(app: &App, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::PUT, path, Some(token), Some(body)).await
}

#[tokio::test]
async fn groups_crud_for_admins_read_for_staff() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;

    // A new store has one group, the default `Support`.
    let (s, v) = app.get("/api/groups", &agent.token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(names(&v), ["Support"]);
    assert_eq!(v.as_object().unwrap().len(), 1, "a short list: {v}");
    let support = default_group(&app, &admin.token).await;

    // Create: trimmed name, 201 with Location and the group.
    let resp = app
        .client
        .post(app.url("/api/groups"))
        .bearer_auth(&admin.token)
        .json(&json!({"name": "  Billing ", "description": "Invoices and refunds."}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let billing: Value = resp.json().await.unwrap();
    let bid = billing["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/api/groups/{bid}"));
    assert_eq!(
        redact(&billing),
        json!({"id": "[id]", "name": "Billing", "description": "Invoices and refunds.",
               "is_default": false, "created_at": "[datetime]"})
    );
    let (s, got) = app.get(&location, &agent.token).await;
    assert_eq!((s, &got), (StatusCode::OK, &billing));

    // Names are unique case-insensitively; bad bodies are refused in the usual order.
    let (s, v) = app
        .post("/api/groups", &admin.token, json!({"name": "BILLING"}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "name_taken"));
    let (s, v) = app
        .post(
            "/api/groups",
            &admin.token,
            json!({"name": "x", "queue": 1}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field")
    );
    for bad in [
        json!({"name": "   "}),
        json!({"name": "n".repeat(101)}),
        json!({"name": "ok", "description": "d".repeat(1001)}),
        json!({"name": "bell\u{7}"}),
        json!({"description": "no name"}),
        json!({"name": "ok", "description": null}),
    ] {
        let (s, v) = app.post("/api/groups", &admin.token, bad.clone()).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{bad}"
        );
    }
    let (s, v) = app
        .post("/api/groups", &agent.token, json!({"name": "Agents' own"}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));

    // Listed by name, compared case-insensitively.
    let (s, apples) = app
        .post("/api/groups", &admin.token, json!({"name": "apples"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{apples}");
    let (_, v) = app.get("/api/groups", &admin.token).await;
    assert_eq!(names(&v), ["apples", "Billing", "Support"]);

    // Update.
    let path = format!("/api/groups/{bid}");
    let (s, v) = app
        .patch(
            &path,
            &admin.token,
            json!({"name": "Billing & refunds", "description": ""}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["name"], &v["description"], &v["created_at"]),
        (
            &json!("Billing & refunds"),
            &json!(""),
            &billing["created_at"]
        )
    );
    let (s, v) = app
        .patch(&path, &admin.token, json!({"is_default": false}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (s, v) = app
        .patch(&path, &admin.token, json!({"name": "support"}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "name_taken"));
    let (s, v) = app
        .patch(&path, &agent.token, json!({"name": "Mine"}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let missing = format!("/api/groups/{}", uuid::Uuid::now_v7());
    let (s, v) = app.patch(&missing, &admin.token, json!({"bogus": 1})).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, v) = app.get(&missing, &agent.token).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, v) = app.get("/api/groups/not-a-uuid", &agent.token).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_id"));

    // `is_default: true` moves the flag; the default group cannot be deleted.
    let (s, v) = app
        .patch(&path, &admin.token, json!({"is_default": true}))
        .await;
    assert_eq!((s, &v["is_default"]), (StatusCode::OK, &json!(true)), "{v}");
    assert_eq!(default_group(&app, &agent.token).await, bid);
    let (_, v) = app
        .get(&format!("/api/groups/{support}"), &admin.token)
        .await;
    assert_eq!(v["is_default"], false);
    let (s, v) = app.delete(&path, &admin.token).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "conflict"));
    let (s, _) = app
        .patch(
            &format!("/api/groups/{support}"),
            &admin.token,
            json!({"is_default": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // Delete: admins only; then it is gone.
    let apples_path = format!("/api/groups/{}", apples["id"].as_str().unwrap());
    let (s, v) = app.delete(&apples_path, &agent.token).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app.delete(&apples_path, &admin.token).await;
    assert_eq!((s, v), (StatusCode::NO_CONTENT, Value::Null));
    let (s, v) = app.get(&apples_path, &admin.token).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, v) = app.delete(&apples_path, &admin.token).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (_, v) = app.get("/api/groups", &admin.token).await;
    assert_eq!(names(&v), ["Billing & refunds", "Support"]);
}

#[tokio::test]
async fn memberships_and_my_groups() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let support = default_group(&app, &admin.token).await;

    // Staff join the default group as `full` members, in the order they became staff.
    let (s, v) = app
        .get(&format!("/api/groups/{support}/members"), &agent.token)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        redact(&v),
        json!({"items": [
            {"user_id": "[id]", "access": "full", "created_at": "[datetime]"},
            {"user_id": "[id]", "access": "full", "created_at": "[datetime]"},
        ]})
    );
    assert_eq!(
        (&v["items"][0]["user_id"], &v["items"][1]["user_id"]),
        (&json!(admin.id), &json!(agent.id))
    );

    let (_, billing) = app
        .post("/api/groups", &admin.token, json!({"name": "Billing"}))
        .await;
    let bid = billing["id"].as_str().unwrap().to_string();
    let member = format!("/api/groups/{bid}/members/{}", agent.id);

    // New: 201 with Location and the membership.
    let resp = app
        .client
        .put(app.url(&member))
        .bearer_auth(&admin.token)
        .json(&json!({"access": "reply"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.headers()["location"].to_str().unwrap(), member);
    let m: Value = resp.json().await.unwrap();
    assert_eq!(
        (m["user_id"].as_str(), m["access"].as_str()),
        (Some(agent.id.as_str()), Some("reply"))
    );
    assert_eq!(m.as_object().unwrap().len(), 3, "{m}");

    // Changed (or already so): 200, joining time kept.
    for access in ["full", "full"] {
        let (s, v) = put(&app, &member, &admin.token, json!({"access": access})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            (&v["access"], &v["created_at"]),
            (&json!(access), &m["created_at"])
        );
    }

    // Refusals, in the usual order.
    let (s, v) = put(&app, &member, &agent.token, json!({"access": "full"})).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let nobody = format!("/api/groups/{bid}/members/{}", uuid::Uuid::now_v7());
    let (s, v) = put(&app, &nobody, &admin.token, json!({"bogus": 1})).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let no_group = format!("/api/groups/{}/members/{}", uuid::Uuid::now_v7(), agent.id);
    let (s, v) = put(&app, &no_group, &admin.token, json!({"access": "read"})).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, v) = put(
        &app,
        &member,
        &admin.token,
        json!({"access": "read", "x": 1}),
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field")
    );
    for bad in [
        json!({"access": "owner"}),
        json!({}),
        json!({"access": null}),
    ] {
        let (s, v) = put(&app, &member, &admin.token, bad.clone()).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{bad}"
        );
    }
    let customer = format!("/api/groups/{bid}/members/{}", alice.id);
    let (s, v) = put(&app, &customer, &admin.token, json!({"access": "read"})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );

    // The members list and the caller's own groups (by name, with their access).
    let (_, v) = app
        .get(&format!("/api/groups/{bid}/members"), &agent.token)
        .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["items"][0]["user_id"], json!(agent.id));
    let (s, mine) = app.get("/api/users/me/groups", &agent.token).await;
    assert_eq!(s, StatusCode::OK, "{mine}");
    assert_eq!(names(&mine), ["Billing", "Support"]);
    assert_eq!(
        redact(&mine["items"][0]),
        json!({"id": "[id]", "name": "Billing", "description": "", "is_default": false,
               "created_at": "[datetime]", "access": "full"})
    );

    // Removing: admins only; not a member 404.
    let (s, v) = app.delete(&member, &agent.token).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app.delete(&member, &admin.token).await;
    assert_eq!((s, v), (StatusCode::NO_CONTENT, Value::Null));
    let (s, v) = app.delete(&member, &admin.token).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (_, mine) = app.get("/api/users/me/groups", &agent.token).await;
    assert_eq!(names(&mine), ["Support"]);
}

#[tokio::test]
async fn customers_get_403_on_every_group_path() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let support = default_group(&app, &admin.token).await;
    let unknown = uuid::Uuid::now_v7();
    let member = format!("/api/groups/{support}/members/{}", admin.id);
    let requests = [
        (Method::GET, "/api/groups".to_string(), None),
        (
            Method::POST,
            "/api/groups".to_string(),
            Some(json!({"name": "Mine"})),
        ),
        (Method::GET, format!("/api/groups/{support}"), None),
        (Method::GET, format!("/api/groups/{unknown}"), None),
        (
            Method::PATCH,
            format!("/api/groups/{support}"),
            Some(json!({"name": "Mine"})),
        ),
        (Method::DELETE, format!("/api/groups/{unknown}"), None),
        (Method::GET, format!("/api/groups/{support}/members"), None),
        (Method::PUT, member.clone(), Some(json!({"access": "read"}))),
        (Method::DELETE, member, None),
        (Method::GET, "/api/users/me/groups".to_string(), None),
    ];
    for (method, path, body) in requests {
        let (s, v) = app
            .call(method.clone(), &path, Some(&alice.token), body)
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{method} {path}"
        );
    }
    // Without a token: 401, as everywhere.
    let (s, v) = app.call(Method::GET, "/api/groups", None, None).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthorized"));
}

#[tokio::test]
async fn tickets_in_groups() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let support = default_group(&app, &admin.token).await;
    let (_, billing) = app
        .post("/api/groups", &admin.token, json!({"name": "Billing"}))
        .await;
    let bid = billing["id"].as_str().unwrap().to_string();
    let (s, _) = put(
        &app,
        &format!("/api/groups/{bid}/members/{}", agent.id),
        &admin.token,
        json!({"access": "full"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);

    // Staff open a ticket in a group for a customer; staff see its group.
    let (s, t) = app
        .post(
            "/api/tickets",
            &agent.token,
            json!({"subject": "Refund", "description": "Twice charged.",
                   "requester_id": alice.id, "group_id": bid}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert_eq!(t["group_id"], json!(bid));
    let in_billing = t["id"].as_str().unwrap().to_string();
    let path = format!("/api/tickets/{in_billing}");
    for who in [&agent, &admin] {
        let (s, v) = app.get(&path, &who.token).await;
        assert_eq!((s, &v["group_id"]), (StatusCode::OK, &json!(bid)), "{v}");
    }

    // The requester never sees the group: not in the answer to its own POST, GET,
    // list or PATCH.
    let (s, mine) = app
        .post(
            "/api/tickets",
            &alice.token,
            json!({"subject": "Printer", "description": "On fire."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{mine}");
    assert!(mine.get("group_id").is_none(), "{mine}");
    let in_support = mine["id"].as_str().unwrap().to_string();
    let (s, v) = app.get(&path, &alice.token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v.get("group_id").is_none(), "{v}");
    let (_, list) = app.get("/api/tickets", &alice.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");
    for t in list["items"].as_array().unwrap() {
        assert!(t.get("group_id").is_none(), "{t}");
    }
    let (s, v) = app
        .patch(&path, &alice.token, json!({"subject": "Refund, please"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v.get("group_id").is_none(), "{v}");
    // A customer's ticket goes to the default group.
    let (_, v) = app
        .get(&format!("/api/tickets/{in_support}"), &admin.token)
        .await;
    assert_eq!(v["group_id"], json!(support));

    // Customers may not name a group; staff must name one that exists.
    let (s, v) = app
        .post(
            "/api/tickets",
            &alice.token,
            json!({"subject": "x", "description": "", "group_id": bid}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden_field"));
    for bad in [json!(uuid::Uuid::now_v7()), json!(null), json!("billing")] {
        let (s, v) = app
            .post(
                "/api/tickets",
                &admin.token,
                json!({"subject": "x", "description": "", "group_id": bad}),
            )
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{bad}"
        );
    }

    // The `group_id` filter (repeatable), for staff only.
    let ids = |v: &Value| -> Vec<String> {
        let mut ids: Vec<String> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let (s, v) = app
        .get(&format!("/api/tickets?group_id={bid}"), &admin.token)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), std::slice::from_ref(&in_billing));
    let (_, v) = app
        .get(
            &format!("/api/tickets?group_id={bid}&group_id={support}"),
            &admin.token,
        )
        .await;
    let mut both = vec![in_billing.clone(), in_support.clone()];
    both.sort();
    assert_eq!(ids(&v), both);
    let (_, v) = app
        .get(
            &format!("/api/tickets?group_id={}", uuid::Uuid::now_v7()),
            &admin.token,
        )
        .await;
    assert_eq!(v["items"], json!([]));
    let (s, v) = app.get("/api/tickets?group_id=billing", &admin.token).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_query"));
    // Malformed before the token.
    let (s, v) = app
        .call(Method::GET, "/api/tickets?group_id=", None, None)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_query"));
    let (s, v) = app
        .get(&format!("/api/tickets?group_id={bid}"), &alice.token)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));

    // A group holding a ticket cannot be deleted; once it holds none, it can.
    let group_path = format!("/api/groups/{bid}");
    let (s, v) = app.delete(&group_path, &admin.token).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "in_use"));
    let (s, _) = app.delete(&path, &admin.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = app.delete(&group_path, &admin.token).await;
    assert_eq!((s, v), (StatusCode::NO_CONTENT, Value::Null));
}

#[tokio::test]
async fn ticket_events_do_not_show_the_group_to_customers() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let mut ws = app.ws(&alice.token).await;
    let (s, t) = app
        .post(
            "/api/tickets",
            &admin.token,
            json!({"subject": "x", "description": "", "requester_id": alice.id}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert!(t.get("group_id").is_some(), "{t}");
    let ev = ws.next_of("ticket.created").await;
    assert_eq!(ev["data"]["ticket"]["id"], t["id"]);
    assert!(ev["data"]["ticket"].get("group_id").is_none(), "{ev}");
}
