//! Read receipts v2 over HTTP: `read_receipts` on the user's own record (self only),
//! `unread-from` and its 404s, `message.unread` on the caller's socket only, a private
//! read's `message.read` unseen by the other member, and webhooks getting neither.

use helpdesk::Role;
use helpdesk_http::ServerConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// A direct conversation of `a` with `b`; its id.
async fn direct(app: &App, a: &Who, b: &Who) -> String {
    let (s, c) = app
        .post(
            "/api/conversations",
            &a.token,
            json!({"kind": "direct", "member_ids": [b.id]}),
        )
        .await;
    assert!(s.is_success(), "{c}");
    c["id"].as_str().unwrap().to_string()
}

/// Posts a message; its id.
async fn say(app: &App, who: &Who, conv: &str, content: &str) -> String {
    let (s, m) = app
        .post(
            &format!("/api/conversations/{conv}/messages"),
            &who.token,
            json!({"content": content}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    m["id"].as_str().unwrap().to_string()
}

async fn status(app: &App, who: &Who, conv: &str, id: &str) -> Value {
    let (s, m) = app
        .get(
            &format!("/api/conversations/{conv}/messages/{id}"),
            &who.token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    m["status"].clone()
}

/// The frames before the next `message.created` of `content` (a marker both members
/// get after what the test did, events being in order).
async fn frames_until(ws: &mut Ws, content: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let f = ws.next().await;
        if f["type"] == "message.created" && f["data"]["message"]["content"] == content {
            return seen;
        }
        seen.push(f);
    }
}

fn types(frames: &[Value]) -> Vec<&str> {
    frames.iter().filter_map(|f| f["type"].as_str()).collect()
}

#[tokio::test]
async fn read_receipts_is_the_users_own_choice() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let carol = app.signup("carol@example.com").await;

    let (s, me) = app.get("/api/users/me", &carol.token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["read_receipts"], "public");
    let (s, me) = app
        .patch(
            "/api/users/me",
            &carol.token,
            json!({"read_receipts": "private"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["read_receipts"], "private");
    let (_, me) = app.get("/api/users/me", &carol.token).await;
    assert_eq!(me["read_receipts"], "private");

    // Others, admins included, do not see it.
    let (s, seen) = app
        .get(&format!("/api/users/{}", carol.id), &admin.token)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(seen.get("read_receipts").is_none(), "{seen}");

    // A bad value, and an admin naming it on someone else.
    let (s, e) = app
        .patch(
            "/api/users/me",
            &carol.token,
            json!({"read_receipts": "hidden"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(code(&e), "validation_failed");
    let (s, e) = app
        .patch(
            "/api/users/me",
            &carol.token,
            json!({"read_receipts": true}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, e) = app
        .patch(
            &format!("/api/users/{}", carol.id),
            &admin.token,
            json!({"read_receipts": "public"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(code(&e), "forbidden_field");
    let (_, me) = app.get("/api/users/me", &carol.token).await;
    assert_eq!(me["read_receipts"], "private");
}

/// `email_notifications` (API-email.md): false by default, set by the user themselves on
/// `PATCH /api/users/me`, shown to them and to admins only; an admin naming it on
/// someone else: 403 `forbidden_field`.
#[tokio::test]
async fn email_notifications_is_the_users_own_choice() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let carol = app.signup("carol@example.com").await;
    let (_, me) = app.get("/api/users/me", &carol.token).await;
    assert_eq!(me["email_notifications"], false);
    let (s, me) = app
        .patch(
            "/api/users/me",
            &carol.token,
            json!({"email_notifications": true}),
        )
        .await;
    assert_eq!(
        (s, me["email_notifications"].clone()),
        (StatusCode::OK, json!(true)),
        "{me}"
    );
    let carol_at = format!("/api/users/{}", carol.id);
    let (_, seen) = app.get(&carol_at, &admin.token).await;
    assert_eq!(seen["email_notifications"], true, "admins see it");
    let (_, seen) = app.get(&carol_at, &agent.token).await;
    assert!(
        seen.get("email_notifications").is_none(),
        "agents do not: {seen}"
    );
    let (s, e) = app
        .patch(
            "/api/users/me",
            &carol.token,
            json!({"email_notifications": "yes"}),
        )
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (s, e) = app
        .patch(
            &carol_at,
            &admin.token,
            json!({"email_notifications": false}),
        )
        .await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "forbidden_field"));
    let (_, me) = app.get("/api/users/me", &carol.token).await;
    assert_eq!(me["email_notifications"], true);
}

#[tokio::test]
async fn unread_from_over_http_and_its_404s() {
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let other = app.user(Role::Agent, "other@example.com").await;
    let carol = app.signup("carol@example.com").await;
    let dm = direct(&app, &carol, &agent).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(say(&app, &agent, &dm, &format!("m{i}")).await);
    }
    let (s, r) = app
        .post(
            &format!("/api/conversations/{dm}/read"),
            &carol.token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(status(&app, &agent, &dm, &ids[3]).await, "read");

    let path = |conv: &str, id: &str| format!("/api/conversations/{conv}/unread-from/{id}");
    let (s, r) = app.post(&path(&dm, &ids[1]), &carol.token, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        r,
        json!({"conversation_id": dm, "unread_count": 3, "last_read_seq": 1})
    );
    // Idempotent.
    let (s, again) = app.post(&path(&dm, &ids[1]), &carol.token, json!({})).await;
    assert_eq!((s, again), (StatusCode::OK, r));
    let (_, page) = app
        .get(&format!("/api/conversations/{dm}/messages"), &carol.token)
        .await;
    let read: Vec<bool> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["is_read"].as_bool().unwrap())
        .collect();
    assert_eq!(read, vec![true, false, false, false]);
    let (_, unread) = app.get("/api/users/me/unread", &carol.token).await;
    assert_eq!(unread["total_unread"], 3);
    // Ticks never go back.
    assert_eq!(status(&app, &agent, &dm, &ids[1]).await, "read");

    // 404: an unknown message, one of another conversation, a conversation the caller
    // is not in, an internal note for a customer.
    let elsewhere_conv = direct(&app, &agent, &other).await;
    let elsewhere = say(&app, &agent, &elsewhere_conv, "elsewhere").await;
    let unknown = "0190f0f0-0000-7000-8000-000000000000";
    for (conv, id) in [
        (dm.as_str(), unknown),
        (dm.as_str(), elsewhere.as_str()),
        (elsewhere_conv.as_str(), elsewhere.as_str()),
    ] {
        let (s, e) = app.post(&path(conv, id), &carol.token, json!({})).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{conv} {id}: {e}");
        assert_eq!(code(&e), "not_found");
    }
    let (s, t) = app
        .post(
            "/api/tickets",
            &carol.token,
            json!({"subject": "Notes", "description": "d"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let tconv = t["conversation_id"].as_str().unwrap();
    let (s, note) = app
        .post(
            &format!("/api/conversations/{tconv}/messages"),
            &agent.token,
            json!({"content": "staff only", "internal": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{note}");
    let (s, _) = app
        .post(
            &path(tconv, note["id"].as_str().unwrap()),
            &carol.token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, e) = app
        .post(&path(&dm, "not-a-uuid"), &carol.token, json!({}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
}

#[tokio::test]
async fn unread_and_private_reads_reach_only_the_readers_sockets_and_no_webhook() {
    // A webhook to a loopback address (never sent: the tests' servers run no worker).
    let config = helpdesk::Config {
        webhooks_allow_private: true,
        ..helpdesk::Config::for_tests()
    };
    let app = spawn_app_with(config, ServerConfig::default()).await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let carol = app.signup("carol@example.com").await;
    let (s, hook) = app
        .post(
            "/api/webhooks",
            &admin.token,
            json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hook}");
    let hook = hook["id"].as_str().unwrap().to_string();
    let (s, e) = app
        .post(
            "/api/webhooks",
            &admin.token,
            json!({"url": "http://127.0.0.1:9/hook", "events": ["message.unread"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");

    let dm = direct(&app, &carol, &agent).await;
    let mut carol_ws = app.ws(&carol.token).await;
    let mut agent_ws = app.ws(&agent.token).await;
    let first = say(&app, &agent, &dm, "one").await;
    let second = say(&app, &agent, &dm, "two").await;
    frames_until(&mut carol_ws, "two").await;
    frames_until(&mut agent_ws, "two").await;

    // Carol reads publicly, then marks unread from the first message.
    let (s, _) = app
        .post(
            &format!("/api/conversations/{dm}/read"),
            &carol.token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .post(
            &format!("/api/conversations/{dm}/unread-from/{first}"),
            &carol.token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // Private now: her next read is hers alone.
    let (s, _) = app
        .patch(
            "/api/users/me",
            &carol.token,
            json!({"read_receipts": "private"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, r) = app
        .post(
            &format!("/api/conversations/{dm}/read-up-to/{second}"),
            &carol.token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let third = say(&app, &agent, &dm, "three").await;
    let (s, r) = app
        .post(
            &format!("/api/conversations/{dm}/messages/{third}/read"),
            &carol.token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["last_read_seq"], 3);
    assert_ne!(status(&app, &agent, &dm, &third).await, "read");
    say(&app, &agent, &dm, "marker").await;

    let carol_frames = frames_until(&mut carol_ws, "marker").await;
    let agent_frames = frames_until(&mut agent_ws, "marker").await;
    let unread: Vec<&Value> = carol_frames
        .iter()
        .filter(|f| f["type"] == "message.unread")
        .collect();
    assert_eq!(unread.len(), 1, "{carol_frames:?}");
    assert_eq!(
        unread[0]["data"],
        json!({"conversation_id": dm, "user_id": carol.id, "last_read_seq": 0, "unread_count": 2})
    );
    // Carol's sockets hear her public read, and her private ones.
    let carol_reads: Vec<&Value> = carol_frames
        .iter()
        .filter(|f| f["type"] == "message.read")
        .collect();
    assert_eq!(carol_reads.len(), 3, "{carol_frames:?}");
    assert_eq!(carol_reads[2]["data"]["last_read_seq"], 3);
    // The agent hears the public read only: no unread, no private read.
    let agent_types = types(&agent_frames);
    assert!(!agent_types.contains(&"message.unread"), "{agent_frames:?}");
    let agent_reads: Vec<&Value> = agent_frames
        .iter()
        .filter(|f| f["type"] == "message.read")
        .collect();
    assert_eq!(agent_reads.len(), 1, "{agent_frames:?}");
    assert_eq!(agent_reads[0]["data"]["last_read_seq"], 2);

    // The webhook got the public read and nothing of the rest.
    let (s, deliveries) = app
        .get(&format!("/api/webhooks/{hook}/deliveries"), &admin.token)
        .await;
    assert_eq!(s, StatusCode::OK, "{deliveries}");
    let kinds: Vec<&str> = deliveries["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["event_type"].as_str())
        .collect();
    assert!(!kinds.contains(&"message.unread"), "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|k| **k == "message.read").count(),
        1,
        "{kinds:?}"
    );
}
