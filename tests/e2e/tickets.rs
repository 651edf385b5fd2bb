//! Tickets: lifecycle, visibility (403 vs 404), fields by role, filters, timeline.

use helpdesk::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn ticket_lifecycle_and_permissions() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let bob = app.signup("bob@example.com").await;

    let resp = app
        .client
        .post(app.url("/api/tickets"))
        .bearer_auth(&alice.token)
        .json(&json!({"subject": "Printer on fire", "description": "It is on fire.", "tags": ["Printer"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let t: serde_json::Value = resp.json().await.unwrap();
    let id = t["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/api/tickets/{id}"));
    assert_eq!(
        (t["number"].as_i64(), t["status"].as_str()),
        (Some(1), Some("open"))
    );
    assert_eq!(t["priority"], "normal");
    assert_eq!(t["tags"], json!(["printer"]));
    let path = format!("/api/tickets/{id}");

    // Customers may not set staff fields.
    let (s, v) = app
        .post(
            "/api/tickets",
            &alice.token,
            json!({"subject": "x", "description": "", "assignee_id": agent.id}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden_field"));

    // Another customer: 404, not 403, and before any body check.
    let (s, v) = app.get(&path, &bob.token).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, v) = app.patch(&path, &bob.token, json!({"bogus": true})).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (_, v) = app.get("/api/tickets", &bob.token).await;
    assert_eq!(v["items"], json!([]));

    // The requester: unknown field 422, then forbidden field 403, then bad value 422.
    let (s, v) = app
        .patch(&path, &alice.token, json!({"bogus": 1, "priority": "high"}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field")
    );
    let (s, v) = app.patch(&path, &alice.token, json!({"priority": 5})).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden_field"));
    let (s, v) = app.patch(&path, &alice.token, json!({"subject": 5})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    assert_eq!(v["errors"][0]["field"], "subject");
    let (s, v) = app
        .patch(&path, &alice.token, json!({"status": "pending"}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));

    // Staff assign, change priority; null unassigns, absence keeps.
    let (s, v) = app
        .patch(
            &path,
            &agent.token,
            json!({"assignee_id": agent.id, "priority": "high", "status": "pending"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["assignee_id"], json!(agent.id));
    let (_, v) = app
        .patch(
            &path,
            &agent.token,
            json!({"subject": "Printer still on fire"}),
        )
        .await;
    assert_eq!(v["assignee_id"], json!(agent.id));
    let (_, v) = app
        .patch(&path, &agent.token, json!({"assignee_id": null}))
        .await;
    assert!(v["assignee_id"].is_null());
    let (s, v) = app
        .patch(&path, &agent.token, json!({"priority": "extreme"}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );

    // The requester resolves, then closes; closed is final.
    let (s, v) = app
        .patch(&path, &alice.token, json!({"status": "resolved"}))
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("resolved"))
    );
    assert!(v["resolved_at"].is_string());
    let (s, v) = app
        .patch(&path, &alice.token, json!({"status": "closed"}))
        .await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("closed")));
    let (s, v) = app
        .patch(&path, &agent.token, json!({"status": "open"}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "invalid_transition"));

    // Posting to a closed ticket's conversation is 409 ticket_closed.
    let conv = t["conversation_id"].as_str().unwrap();
    let (s, v) = app
        .post(
            &format!("/api/conversations/{conv}/messages"),
            &alice.token,
            json!({"content": "hello?"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "ticket_closed"));

    // The timeline, oldest first.
    let (s, v) = app.get(&format!("{path}/events"), &alice.token).await;
    assert_eq!(s, StatusCode::OK);
    let kinds: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"created"));
    assert!(
        kinds.contains(&"assigned") && kinds.contains(&"status_changed"),
        "{kinds:?}"
    );
    let (s, _) = app.get(&format!("{path}/events"), &bob.token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Deleting is for admins.
    let (s, v) = app.delete(&path, &agent.token).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, _) = app.delete(&path, &admin.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get(&path, &admin.token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn ticket_lists_filter_sort_and_page() {
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let bob = app.signup("bob@example.com").await;
    for (who, subject, priority) in [
        (&alice, "one", "low"),
        (&alice, "two", "urgent"),
        (&bob, "three", "high"),
        (&alice, "four", "normal"),
    ] {
        let (s, _) = app
            .post(
                "/api/tickets",
                &who.token,
                json!({"subject": subject, "description": "d", "priority": priority}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let subjects = |v: &serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["subject"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, v) = app.get("/api/tickets", &alice.token).await;
    assert_eq!(subjects(&v), ["four", "two", "one"]);
    let (_, v) = app.get("/api/tickets?sort=-priority", &agent.token).await;
    assert_eq!(subjects(&v), ["two", "three", "four", "one"]);
    let (_, v) = app.get("/api/tickets?priority=high", &agent.token).await;
    assert_eq!(subjects(&v), ["three"]);
    let (_, v) = app
        .get(
            &format!("/api/tickets?requester_id={}&sort=created_at", bob.id),
            &agent.token,
        )
        .await;
    assert_eq!(subjects(&v), ["three"]);
    let (_, v) = app
        .get(
            "/api/tickets?status=open&status=closed&assignee_id=none",
            &agent.token,
        )
        .await;
    assert_eq!(subjects(&v).len(), 4);
    let (_, v) = app.get("/api/tickets?q=thr", &agent.token).await;
    assert!(subjects(&v).len() <= 1);

    // Walk with limit=1: every ticket exactly once.
    let mut seen = Vec::new();
    let mut next = String::from("/api/tickets?limit=1&sort=created_at");
    loop {
        let (s, v) = app.get(&next, &agent.token).await;
        assert_eq!(s, StatusCode::OK);
        seen.extend(subjects(&v));
        match v["next_cursor"].as_str() {
            Some(c) => next = format!("/api/tickets?limit=1&sort=created_at&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["one", "two", "three", "four"]);
}
