//! JSON shapes as insta snapshots (ids, times and tokens redacted).

use helpdesk::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn response_shapes() {
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let (_, tokens) = app
        .anon_post(
            "/api/auth/signup",
            json!({"email": "alice@example.com", "password": "password123", "name": "Alice"}),
        )
        .await;
    insta::assert_json_snapshot!("signup", redact(&tokens));
    let alice = tokens["access_token"].as_str().unwrap().to_string();
    let alice_id = tokens["user"]["id"].as_str().unwrap().to_string();

    let (_, public) = app.get(&format!("/api/users/{}", agent.id), &alice).await;
    insta::assert_json_snapshot!("user_public", redact(&public));

    let (_, t) = app
        .post(
            "/api/tickets",
            &alice,
            json!({"subject": "Printer", "description": "On fire", "tags": ["hw"]}),
        )
        .await;
    insta::assert_json_snapshot!("ticket", redact(&t));
    let tid = t["id"].as_str().unwrap();
    app.patch(
        &format!("/api/tickets/{tid}"),
        &agent.token,
        json!({"assignee_id": agent.id, "status": "pending"}),
    )
    .await;
    let (_, ev) = app.get(&format!("/api/tickets/{tid}/events"), &alice).await;
    insta::assert_json_snapshot!("ticket_events", redact(&ev));

    let (_, c) = app
        .post(
            "/api/conversations",
            &alice,
            json!({"kind": "direct", "member_ids": [agent.id]}),
        )
        .await;
    let cid = c["id"].as_str().unwrap();
    let (_, m) = app
        .post(
            &format!("/api/conversations/{cid}/messages"),
            &alice,
            json!({"content": "hi"}),
        )
        .await;
    insta::assert_json_snapshot!("message", redact(&m));
    let (_, cv) = app.get(&format!("/api/conversations/{cid}"), &alice).await;
    insta::assert_json_snapshot!("conversation", redact(&cv));
    let (_, r) = app
        .post(
            &format!("/api/conversations/{cid}/read"),
            &agent.token,
            json!({}),
        )
        .await;
    insta::assert_json_snapshot!("read_state", redact(&r));
    let (_, u) = app.get("/api/users/me/unread", &agent.token).await;
    insta::assert_json_snapshot!("unread", redact(&u));

    let (_, n) = app.get("/api/notifications", &alice).await;
    insta::assert_json_snapshot!("notifications", redact(&n));

    let (_, a) = app
        .post(
            "/api/kb/articles",
            &agent.token,
            json!({"title": "Hello KB", "body": "Body", "status": "published"}),
        )
        .await;
    insta::assert_json_snapshot!("article", redact(&a));

    let (s, p) = app
        .post(
            "/api/tickets",
            &alice,
            json!({"subject": "", "description": ""}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    insta::assert_json_snapshot!("problem_validation", p);
    let (_, p) = app.get(&format!("/api/tickets/{}", alice_id), &alice).await;
    insta::assert_json_snapshot!("problem_not_found", p);
}
