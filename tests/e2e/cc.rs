//! CC and followers as users meet them over HTTP and WebSocket: a CC'd customer sees
//! the ticket and its public conversation and is pushed its events until removed;
//! followers are staff business that customers never see, in answers or in events.

use helpdesk::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn ticket(app: &App, who: &Who, subject: &str) -> Value {
    let (s, t) = app
        .post(
            "/api/tickets",
            &who.token,
            json!({"subject": subject, "description": "Details inside."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    t
}

#[tokio::test]
async fn a_cc_sees_the_ticket_until_removed() {
    let app = spawn_app().await;
    let requester = app.signup("ada@example.com").await;
    let colleague = app.signup("grace@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let t = ticket(&app, &requester, "Printer").await;
    let id = t["id"].as_str().unwrap();
    let conv = t["conversation_id"].as_str().unwrap();
    assert_eq!(t["cc"], json!([]));
    assert!(t.get("followers").is_none(), "{t}");
    assert!(t.get("group_id").is_none(), "{t}");

    // Before: a stranger to it.
    let (s, _) = app
        .get(&format!("/api/tickets/{id}"), &colleague.token)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let mut ws = app.ws(&colleague.token).await;

    // The requester has no organization: whoever they name, the same 422.
    let cc_path = format!("/api/tickets/{id}/cc");
    let (s, a) = app
        .post(
            &cc_path,
            &requester.token,
            json!({"email": "GRACE@example.com"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{a}");
    let (s, b) = app
        .post(
            &cc_path,
            &requester.token,
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a["errors"], b["errors"]);
    // Neither or both of user_id and email; unknown fields.
    for body in [
        json!({}),
        json!({"user_id": colleague.id, "email": "grace@example.com"}),
    ] {
        let (s, v) = app.post(&cc_path, &agent.token, body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(code(&v), "validation_failed");
    }
    let (s, v) = app
        .post(&cc_path, &agent.token, json!({"user": colleague.id}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field")
    );

    // Staff add them: 201, Location, the ticket.
    let r = app
        .client
        .post(app.url(&cc_path))
        .bearer_auth(&agent.token)
        .json(&json!({"email": "GRACE@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, format!("/api/tickets/{id}/cc/{}", colleague.id));
    let after: Value = r.json().await.unwrap();
    assert_eq!(after["cc"], json!([colleague.id]));
    assert!(
        after["followers"].is_array(),
        "staff see followers: {after}"
    );
    let (s, v) = app
        .post(&cc_path, &agent.token, json!({"user_id": colleague.id}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "conflict"));

    // Pushed to them: the membership, the change, the notification.
    let added = ws.next_of("ticket.updated").await;
    assert_eq!(added["data"]["changes"], json!(["cc"]));
    assert!(added["data"]["ticket"].get("followers").is_none());
    assert!(added["data"]["ticket"].get("group_id").is_none());
    let n = ws.next_of("notification.created").await;
    assert_eq!(n["data"]["kind"], "ticket_cc_added");

    // They see it on every path, and the public conversation; they may post there,
    // not change the ticket.
    let (s, _) = app
        .get(&format!("/api/tickets/{id}"), &colleague.token)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, list) = app.get("/api/tickets?cc=me", &colleague.token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (s, v) = app
        .post(
            &format!("/api/conversations/{conv}/messages"),
            &colleague.token,
            json!({"content": "Same here"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app
        .patch(
            &format!("/api/tickets/{id}"),
            &colleague.token,
            json!({"subject": "Mine now"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app
        .post(
            &cc_path,
            &colleague.token,
            json!({"email": "ada@example.com"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));

    // Followers stay hidden from customers: the agent follows, the CC hears nothing.
    let (s, v) = app
        .post(
            &format!("/api/tickets/{id}/followers"),
            &agent.token,
            json!({"user_id": agent.id}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["followers"], json!([agent.id]));
    let (s, v) = app
        .post(
            &format!("/api/tickets/{id}/followers"),
            &requester.token,
            json!({"user_id": requester.id}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app.get("/api/tickets?follower=me", &requester.token).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (_, mine) = app.get("/api/tickets?follower=me", &agent.token).await;
    assert_eq!(mine["items"][0]["id"], json!(id));
    let (_, timeline) = app
        .get(&format!("/api/tickets/{id}/events"), &requester.token)
        .await;
    let kinds: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "cc_added"]);

    // Removed: gone at once; the removal is the last event about it they get.
    let (s, _) = app
        .delete(
            &format!("/api/tickets/{id}/cc/{}", colleague.id),
            &requester.token,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let removed = ws.next_of("ticket.updated").await;
    assert_eq!(removed["data"]["changes"], json!(["cc"]));
    assert_eq!(removed["data"]["ticket"]["cc"], json!([]));
    let (s, _) = app
        .get(&format!("/api/tickets/{id}"), &colleague.token)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .get(
            &format!("/api/conversations/{conv}/messages"),
            &colleague.token,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .delete(
            &format!("/api/tickets/{id}/cc/{}", colleague.id),
            &agent.token,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A later change does not reach the former CC: nothing about the ticket comes
    // before the answer to their ping.
    let (s, _) = app
        .patch(
            &format!("/api/tickets/{id}"),
            &agent.token,
            json!({"priority": "high"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    ws.send(json!({"type": "ping"})).await;
    loop {
        let frame = ws.next().await;
        if frame["type"] == "pong" {
            break;
        }
        assert_ne!(frame["type"], "ticket.updated", "{frame}");
    }
}
