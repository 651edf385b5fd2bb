//! Conversations and messages: direct/group/ticket, threads, read status, receipts,
//! internal notes, notifications.

use helpdesk::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn direct_and_group_conversations() {
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let bob = app.signup("bob@example.com").await;

    let body = json!({"kind": "direct", "member_ids": [agent.id]});
    let (s, c) = app
        .post("/api/conversations", &alice.token, body.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let (s, again) = app.post("/api/conversations", &alice.token, body).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again["id"], c["id"]);

    // No customer-to-customer messaging.
    let (s, v) = app
        .post(
            "/api/conversations",
            &alice.token,
            json!({"kind": "direct", "member_ids": [bob.id]}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));

    // Groups: members rename and add; outsiders see 404.
    let (s, g) = app
        .post(
            "/api/conversations",
            &agent.token,
            json!({"kind": "group", "title": "Team", "member_ids": [alice.id]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let gpath = format!("/api/conversations/{}", g["id"].as_str().unwrap());
    let (s, _) = app.get(&gpath, &bob.token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = app
        .patch(&gpath, &alice.token, json!({"title": "Team 2"}))
        .await;
    assert_eq!((s, v["title"].as_str()), (StatusCode::OK, Some("Team 2")));
    let (s, v) = app
        .post(
            &format!("{gpath}/members"),
            &agent.token,
            json!({"user_id": bob.id}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["members"].as_array().unwrap().len(), 3);
    // Only the creator removes others; anyone leaves.
    let (s, _) = app
        .delete(&format!("{gpath}/members/{}", agent.id), &alice.token)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .delete(&format!("{gpath}/members/{}", bob.id), &bob.token)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get(&gpath, &bob.token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (_, list) = app.get("/api/conversations?kind=group", &alice.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, list) = app.get("/api/conversations", &alice.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}

/// POSTs one of the three read-status endpoints; `(unread_count, last_read_seq)`.
async fn mark(app: &App, path: &str, token: &str) -> (u64, u64) {
    let (s, r) = app.post(path, token, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{path}: {r}");
    (
        r["unread_count"].as_u64().unwrap(),
        r["last_read_seq"].as_u64().unwrap(),
    )
}

#[tokio::test]
async fn messages_status_read_marks_and_threads() {
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let (_, c) = app
        .post(
            "/api/conversations",
            &alice.token,
            json!({"kind": "direct", "member_ids": [agent.id]}),
        )
        .await;
    let cid = c["id"].as_str().unwrap().to_string();
    let msgs = format!("/api/conversations/{cid}/messages");

    let (s, m1) = app
        .post(&msgs, &alice.token, json!({"content": "hello"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m1}");
    assert_eq!(
        (
            m1["seq"].as_u64(),
            m1["status"].as_str(),
            m1["is_read"].as_bool()
        ),
        (Some(1), Some("sent"), Some(true))
    );
    let m1id = m1["id"].as_str().unwrap().to_string();
    let (_, m2) = app
        .post(
            &msgs,
            &alice.token,
            json!({"content": "anyone?", "parent_id": m1id}),
        )
        .await;
    let (_, m3) = app
        .post(
            &msgs,
            &alice.token,
            json!({"content": "deeper", "parent_id": m2["id"]}),
        )
        .await;
    let m3id = m3["id"].as_str().unwrap().to_string();

    // The agent's unread counts.
    let (_, u) = app.get("/api/users/me/unread", &agent.token).await;
    assert_eq!(u["total_unread"], 3);
    assert_eq!(u["conversations"][0]["unread_count"], 3);
    let (_, cv) = app
        .get(&format!("/api/conversations/{cid}"), &agent.token)
        .await;
    assert_eq!(cv["unread_count"], 3);
    assert_eq!(cv["last_message"]["content"], "deeper");
    // The conversation list's last_message does not count as delivery.
    let (_, m) = app.get(&format!("{msgs}/{m1id}"), &alice.token).await;
    assert_eq!(m["status"], "sent");

    // The agent fetches the list: delivered.
    let (s, page) = app.get(&msgs, &agent.token).await;
    assert_eq!(s, StatusCode::OK);
    let seqs: Vec<u64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(page["items"][0]["is_read"], false);
    assert!(
        page["items"][0]["status"].is_null(),
        "status only on own messages"
    );
    let (_, m) = app.get(&format!("{msgs}/{m1id}"), &alice.token).await;
    assert_eq!(m["status"], "delivered");

    // Threads: descendants with depth.
    let (s, th) = app
        .get(&format!("{msgs}/{m1id}/thread"), &agent.token)
        .await;
    assert_eq!(s, StatusCode::OK);
    let depths: Vec<u64> = th["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["depth"].as_u64().unwrap())
        .collect();
    assert_eq!(depths, [1, 2]);

    // One message read: the watermark moves as the gap closes.
    let read_one = format!("{msgs}/{m3id}/read");
    let up_to_m1 = format!("/api/conversations/{cid}/read-up-to/{m1id}");
    let read_all = format!("/api/conversations/{cid}/read");
    assert_eq!(mark(&app, &read_one, &agent.token).await, (2, 0));
    assert_eq!(mark(&app, &up_to_m1, &agent.token).await, (1, 1));
    let (_, m) = app.get(&format!("{msgs}/{m1id}"), &alice.token).await;
    assert_eq!(m["status"], "read");
    assert_eq!(mark(&app, &read_all, &agent.token).await, (0, 3));
    // Idempotent and never backwards.
    assert_eq!(mark(&app, &up_to_m1, &agent.token).await, (0, 3));

    // Receipts: the sender and staff.
    let (s, rc) = app
        .get(&format!("{msgs}/{m1id}/receipts"), &alice.token)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(rc["items"][0]["user_id"], json!(agent.id));
    assert!(rc["items"][0]["read_at"].is_string());

    // Paging backwards and forwards.
    let (_, p) = app.get(&format!("{msgs}?limit=2"), &agent.token).await;
    let seqs: Vec<u64> = p["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [2, 3]);
    let (_, p) = app.get(&format!("{msgs}?after={m1id}"), &agent.token).await;
    assert_eq!(p["items"].as_array().unwrap().len(), 2);

    // Edit by the sender only; delete keeps the place.
    let (s, _) = app
        .patch(
            &format!("{msgs}/{m1id}"),
            &agent.token,
            json!({"content": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = app
        .patch(
            &format!("{msgs}/{m1id}"),
            &alice.token,
            json!({"content": "hello!"}),
        )
        .await;
    assert_eq!((s, e["content"].as_str()), (StatusCode::OK, Some("hello!")));
    assert!(e["edited_at"].is_string());
    let (s, _) = app.delete(&format!("{msgs}/{m1id}"), &alice.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, m) = app.get(&format!("{msgs}/{m1id}"), &agent.token).await;
    assert_eq!(m["content"], "");
    assert!(m["deleted_at"].is_string());
}

#[tokio::test]
async fn ticket_conversations_internal_notes_and_notifications() {
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let (_, t) = app
        .post(
            "/api/tickets",
            &alice.token,
            json!({"subject": "Help", "description": "Please"}),
        )
        .await;
    let cid = t["conversation_id"].as_str().unwrap().to_string();
    let msgs = format!("/api/conversations/{cid}/messages");

    // A customer may not write internal notes.
    let (s, v) = app
        .post(
            &msgs,
            &alice.token,
            json!({"content": "x", "internal": true}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden_field"));
    let (s, _) = app
        .post(
            &msgs,
            &alice.token,
            json!({"content": "x", "internal": false}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);

    // Staff post (and join); internal notes stay hidden from the customer.
    let (s, note) = app
        .post(
            &msgs,
            &agent.token,
            json!({"content": "note", "internal": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{note}");
    let (s, reply) = app
        .post(
            &msgs,
            &agent.token,
            json!({"content": "On it, @alice@example.com"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, page) = app.get(&msgs, &alice.token).await;
    let contents: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["x", "On it, @alice@example.com"]);
    let (s, _) = app
        .get(
            &format!("{msgs}/{}", note["id"].as_str().unwrap()),
            &alice.token,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, tk) = app
        .get(
            &format!("/api/tickets/{}", t["id"].as_str().unwrap()),
            &alice.token,
        )
        .await;
    assert!(tk["first_response_at"].is_string());
    assert_eq!(reply["internal"], false);

    // Notifications for the requester.
    let (s, n) = app
        .get("/api/notifications?unread=true", &alice.token)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(n["unread_count"].as_u64().unwrap() >= 1, "{n}");
    let first = n["items"][0]["id"].as_str().unwrap().to_string();
    let (s, one) = app
        .post(
            &format!("/api/notifications/{first}/read"),
            &alice.token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(one["read_at"].is_string());
    let (s, _) = app
        .post(
            &format!("/api/notifications/{first}/read"),
            &agent.token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, all) = app
        .post("/api/notifications/read-all", &alice.token, json!({}))
        .await;
    assert_eq!((s, all), (StatusCode::OK, json!({"unread_count": 0})));
}
