//! Two server processes over one PostgreSQL database: a message posted to one reaches
//! a WebSocket connected to the other; typing and presence cross between them, and a
//! killed instance's users go offline within three heartbeats.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
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

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next `message.created` frame, within 10 s.
async fn next_message(ws: &mut Socket) -> Value {
    next_frame(ws, Duration::from_secs(10), |v| {
        v["type"] == "message.created"
    })
    .await
}

/// The next frame that `wanted` accepts, within `patience`.
async fn next_frame(ws: &mut Socket, patience: Duration, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("the expected frame in time")
            .expect("open")
            .expect("a frame");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            if wanted(&v) {
                return v;
            }
        }
    }
}

async fn socket(server: &Server, token: &str) -> Socket {
    let url = format!("ws://127.0.0.1:{}/api/ws?token={token}", server.port);
    tokio_tungstenite::connect_async(url)
        .await
        .expect("connect")
        .0
}

/// Typing and presence go through the store's ephemeral channel: typing crosses
/// between instances both ways; a user connected to one instance is online for their
/// contacts on the other, and offline once their last socket closes; when an instance
/// is killed (no goodbye), its users go offline within three heartbeats; one that
/// shuts down says so at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_and_presence_cross_instances_and_a_killed_one_goes_offline() {
    let Some(db) = TestDb::create("typing_and_presence_cross_instances").await else {
        return;
    };
    let store = db.url();
    create_user(&store, "agent@example.com", "agent");
    create_user(&store, "alice@example.com", "customer");
    let beat = ["--instance-heartbeat", "1s"];
    let a = Server::start(&store, &beat).await;
    let b = Server::start(&store, &beat).await;
    let agent = a.login("agent@example.com").await;
    let alice = b.login("alice@example.com").await;
    let agent_id = a.get("/api/users/me", &agent).await["id"].clone();
    let alice_id = b.get("/api/users/me", &alice).await["id"].clone();
    let conv = a
        .post(
            "/api/conversations",
            &agent,
            json!({"kind": "direct", "member_ids": [alice_id]}),
        )
        .await;
    let conv_id = conv["id"].clone();
    let soon = Duration::from_secs(5);
    let presence = |user: &Value, online: bool| {
        let user = user.clone();
        move |v: &Value| {
            v["type"] == "presence" && v["data"]["user_id"] == user && v["data"]["online"] == online
        }
    };

    let mut on_b = socket(&b, &alice).await;
    let mut on_a = socket(&a, &agent).await;
    next_frame(&mut on_b, soon, presence(&agent_id, true)).await;

    let typing = json!({"type": "typing", "conversation_id": conv_id}).to_string();
    on_a.send(Message::text(typing.clone())).await.unwrap();
    let t = next_frame(&mut on_b, soon, |v| v["type"] == "typing").await;
    assert_eq!(
        t["data"],
        json!({"conversation_id": conv_id, "user_id": agent_id})
    );
    on_b.send(Message::text(typing)).await.unwrap();
    let t = next_frame(&mut on_a, soon, |v| v["type"] == "typing").await;
    assert_eq!(t["data"]["user_id"], alice_id);

    // A second socket of the agent, then the first closes: still online.
    let mut again = socket(&a, &agent).await;
    on_a.close(None).await.unwrap();
    drop(on_a);
    // The last closes: offline, heard on the other instance.
    again.close(None).await.unwrap();
    drop(again);
    next_frame(&mut on_b, soon, presence(&agent_id, false)).await;

    // Online again, then the instance is killed without a goodbye: three silent
    // heartbeats (3 s) and the other instance takes the agent offline.
    let _on_a = socket(&a, &agent).await;
    next_frame(&mut on_b, soon, presence(&agent_id, true)).await;
    a.kill();
    next_frame(
        &mut on_b,
        Duration::from_secs(8),
        presence(&agent_id, false),
    )
    .await;

    // An instance that shuts down says so: no wait for heartbeats.
    let c = Server::start(&store, &["--instance-heartbeat", "1h"]).await;
    let _on_c = socket(&c, &c.login("agent@example.com").await).await;
    next_frame(&mut on_b, soon, presence(&agent_id, true)).await;
    c.stop();
    next_frame(&mut on_b, soon, presence(&agent_id, false)).await;
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
