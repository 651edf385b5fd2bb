//! Two server processes over one PostgreSQL database: a message posted to one reaches
//! a WebSocket connected to the other.

use std::time::Duration;

use futures_util::StreamExt;
use helpdesk_store_postgres::testing::TestDb;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_posted_on_one_instance_reaches_a_socket_on_another() {
    let Some(db) =
        TestDb::create("a_message_posted_on_one_instance_reaches_a_socket_on_another").await
    else {
        return;
    };
    let store = db.url();
    create_user(&store, "agent@example.com", "agent");
    create_user(&store, "alice@example.com", "customer");
    let a = Server::start(&store, &[]).await;
    let b = Server::start(&store, &[]).await;
    let agent = a.login("agent@example.com").await;
    // Tokens are signed with the secret kept in the store: valid on every instance.
    let alice = b.login("alice@example.com").await;
    let alice_id = b.get("/api/users/me", &alice).await["id"].clone();
    let conv = a
        .post(
            "/api/conversations",
            &agent,
            json!({"kind": "direct", "member_ids": [alice_id]}),
        )
        .await;
    let conv_id = conv["id"].as_str().unwrap();

    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/api/ws?token={alice}", b.port))
            .await
            .expect("connect to instance B");

    for i in 0..3 {
        let m = a
            .post(
                &format!("/api/conversations/{conv_id}/messages"),
                &agent,
                json!({"content": format!("from A #{i}")}),
            )
            .await;
        let e = next_message(&mut ws).await;
        assert_eq!(e["data"]["message"]["id"], m["id"], "in order, on B");
    }
    // And the push on B counts as delivery for the sender on A.
    let mut delivered = false;
    for _ in 0..50 {
        let list = a
            .get(&format!("/api/conversations/{conv_id}/messages"), &agent)
            .await;
        if list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["status"] == "delivered")
        {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(delivered, "messages pushed on B show as delivered on A");
}

/// The next `message.created` frame, within 10 s.
async fn next_message(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("an event within 10 s")
            .expect("open")
            .expect("a frame");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "message.created" {
                return v;
            }
        }
    }
}

/// The attempt limits hold across instances: failed logins alternating between two
/// servers over one database reach the limit together (N instances do not give N times
/// the guesses), and so do signups from one address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempt_limits_hold_across_instances() {
    let Some(db) = TestDb::create("attempt_limits_hold_across_instances").await else {
        return;
    };
    let store = db.url();
    create_user(&store, "carol@example.com", "customer");
    let a = Server::start(&store, &["--signup-limit", "3/1h"]).await;
    let b = Server::start(&store, &["--signup-limit", "3/1h"]).await;
    let login = |server: &Server, password: &str| {
        server
            .http
            .post(server.url("/api/auth/login"))
            .json(&json!({"email": "carol@example.com", "password": password}))
            .send()
    };
    for i in 0..10 {
        let server = if i % 2 == 0 { &a } else { &b };
        let status = login(server, "wrong-password").await.unwrap().status();
        assert_eq!(status.as_u16(), 401, "attempt {i}");
    }
    for server in [&a, &b] {
        let resp = login(server, "password123").await.unwrap();
        assert_eq!(resp.status().as_u16(), 429);
        assert!(resp.headers().contains_key("retry-after"));
    }

    let signup = |server: &Server, n: u32| {
        server
            .http
            .post(server.url("/api/auth/signup"))
            .json(&json!({
                "email": format!("new{n}@example.com"),
                "password": "password123",
                "name": format!("New {n}"),
            }))
            .send()
    };
    for n in 0..3 {
        let server = if n % 2 == 0 { &a } else { &b };
        assert_eq!(signup(server, n).await.unwrap().status().as_u16(), 201);
    }
    for (n, server) in [(3, &a), (4, &b)] {
        let resp = signup(server, n).await.unwrap();
        assert_eq!(resp.status().as_u16(), 429);
        assert!(resp.headers().contains_key("retry-after"));
    }
}
