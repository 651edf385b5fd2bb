//! Ticket statuses over HTTP: the defaults, admin writes and their problem answers (403,
//! 404, 409 `key_taken` / `conflict` / `in_use`, 422 `unknown_field` for fixed fields),
//! what customers read, tickets naming keys with their labels per side, and the list's
//! `status` / `status_category` filters (400 `invalid_query` for an unknown key).

use helpdesk::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const PATH: &str = "/api/ticket-statuses";

fn keys(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn statuses_are_read_by_all_and_written_by_admins() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;

    let (s, list) = app.get(PATH, &agent.token).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(
        keys(&list),
        ["open", "pending", "on_hold", "resolved", "closed"]
    );
    assert_eq!(list["items"][2]["agent_label"], "On hold");
    assert_eq!(list["items"][2]["is_default"], true);

    let body = json!({"key": "waiting_for_parts", "category": "pending",
                      "agent_label": "Waiting for parts", "customer_label": "Waiting on us"});
    let (s, v) = app.post(PATH, &agent.token, body.clone()).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (s, parts) = app.post(PATH, &admin.token, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{parts}");
    assert_eq!(
        (parts["category"].clone(), parts["position"].clone()),
        (json!("pending"), json!(1))
    );
    let (s, v) = app.post(PATH, &admin.token, body).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("key_taken"))
    );
    let (s, v) = app
        .post(
            PATH,
            &admin.token,
            json!({"key": "Bad Key", "category": "open", "agent_label": "X"}),
        )
        .await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("key"))
    );
    let (s, _) = app
        .post(
            PATH,
            &admin.token,
            json!({"key": "x", "category": "merged", "agent_label": "X"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    let at = format!("{PATH}/{}", parts["id"].as_str().unwrap());
    // Fixed fields.
    let (s, v) = app
        .patch(&at, &admin.token, json!({"category": "on_hold"}))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_field"))
    );
    let (s, v) = app
        .patch(&at, &admin.token, json!({"agent_label": "Parts ordered"}))
        .await;
    assert_eq!(
        (s, v["agent_label"].as_str()),
        (StatusCode::OK, Some("Parts ordered"))
    );

    // Customers: active statuses, no agent label.
    let (s, theirs) = app.get(PATH, &customer.token).await;
    assert_eq!(s, StatusCode::OK);
    let mine = theirs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "waiting_for_parts")
        .unwrap();
    assert_eq!(mine["customer_label"], "Waiting on us");
    assert!(mine.get("agent_label").is_none(), "{mine}");
    app.patch(&at, &admin.token, json!({"active": false})).await;
    let (_, theirs) = app.get(PATH, &customer.token).await;
    assert!(!keys(&theirs).contains(&"waiting_for_parts"));
    let (s, _) = app.get(&at, &customer.token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    app.patch(&at, &admin.token, json!({"active": true})).await;

    // Defaults: never deactivated or deleted (409 conflict, even when in use).
    let open_id = list["items"][0]["id"].as_str().unwrap();
    let (s, v) = app
        .patch(
            &format!("{PATH}/{open_id}"),
            &admin.token,
            json!({"active": false}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    let (s, v) = app.delete(&format!("{PATH}/{open_id}"), &admin.token).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );

    // In use by a ticket: 409 in_use; free again once the ticket moves on.
    let (_, t) = app
        .post(
            "/api/tickets",
            &customer.token,
            json!({"subject": "Broken", "description": "x"}),
        )
        .await;
    let ticket = format!("/api/tickets/{}", t["id"].as_str().unwrap());
    let (s, staff_view) = app
        .patch(
            &ticket,
            &agent.token,
            json!({"status": "waiting_for_parts"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{staff_view}");
    assert_eq!(staff_view["status"], "waiting_for_parts");
    assert_eq!(staff_view["status_category"], "pending");
    assert_eq!(staff_view["status_label"], "Parts ordered");
    assert_eq!(staff_view["status_id"], parts["id"]);
    let (_, customer_view) = app.get(&ticket, &customer.token).await;
    assert_eq!(customer_view["status_label"], "Waiting on us");
    let (s, v) = app.delete(&at, &admin.token).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("in_use"))
    );
    // The requester may not name it (naming the current status changes nothing).
    let (s, _) = app
        .patch(
            &ticket,
            &customer.token,
            json!({"status": "waiting_for_parts"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    app.patch(&ticket, &agent.token, json!({"status": "pending"}))
        .await;
    let (s, v) = app
        .patch(
            &ticket,
            &customer.token,
            json!({"status": "waiting_for_parts"}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (s, v) = app
        .patch(&ticket, &agent.token, json!({"status": "nope"}))
        .await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("status"))
    );
    app.patch(&ticket, &agent.token, json!({"status": "open"}))
        .await;
    let (s, _) = app.delete(&at, &admin.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get(&at, &admin.token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_ticket_list_filters_by_key_and_category() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;
    app.post(
        PATH,
        &admin.token,
        json!({"key": "parts", "category": "pending", "agent_label": "Parts"}),
    )
    .await;
    let mut ids = Vec::new();
    for (subject, status) in [("A", None), ("B", Some("pending")), ("C", Some("parts"))] {
        let (_, t) = app
            .post(
                "/api/tickets",
                &customer.token,
                json!({"subject": subject, "description": "x"}),
            )
            .await;
        if let Some(status) = status {
            let path = format!("/api/tickets/{}", t["id"].as_str().unwrap());
            app.patch(&path, &admin.token, json!({"status": status}))
                .await;
        }
        ids.push(t["id"].as_str().unwrap().to_string());
    }
    let listed = |v: &Value| {
        let mut out: Vec<String> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect();
        out.sort();
        out
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let (_, v) = app.get("/api/tickets?status=parts", &admin.token).await;
    assert_eq!(listed(&v), vec![ids[2].clone()]);
    let (_, v) = app
        .get("/api/tickets?status_category=pending", &admin.token)
        .await;
    assert_eq!(listed(&v), sorted(vec![ids[1].clone(), ids[2].clone()]));
    let (_, v) = app
        .get(
            "/api/tickets?status=open&status=parts&status_category=pending",
            &admin.token,
        )
        .await;
    assert_eq!(listed(&v), vec![ids[2].clone()]);
    let (s, v) = app.get("/api/tickets?status=nope", &admin.token).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );
    let (s, v) = app
        .get("/api/tickets?status_category=merged", &admin.token)
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );
}
