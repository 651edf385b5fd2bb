//! The real-time WebSocket with a real client: who gets which event, delivery and read
//! status live, typing, presence, resume, closing revoked, slow and oversized sockets,
//! and closing every socket (1001) before a shutdown returns.

use std::time::Duration;

use helpdesk::Role;
use helpdesk_http::ServerConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// A conversation of `kind` started by `who` with `members`; its id.
async fn conversation(app: &App, who: &Who, kind: &str, members: &[&Who]) -> String {
    let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
    let mut body = json!({"kind": kind, "member_ids": ids});
    if kind == "group" {
        body["title"] = json!("T");
    }
    let (s, c) = app.post("/api/conversations", &who.token, body).await;
    assert!(s.is_success(), "{c}");
    c["id"].as_str().unwrap().to_string()
}

/// Posts a message; the message.
async fn say(app: &App, who: &Who, conv: &str, body: Value) -> Value {
    let (s, m) = app
        .post(
            &format!("/api/conversations/{conv}/messages"),
            &who.token,
            body,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    m
}

#[tokio::test]
async fn refuses_bad_tokens_origins_and_plain_requests() {
    let config = ServerConfig {
        ws_origins: vec!["https://app.example.com".into()],
        ..Default::default()
    };
    let app = spawn_app_with(helpdesk::Config::for_tests(), config).await;
    let alice = app.signup("alice@example.com").await;

    // No token, a garbage token, a bad query token: 401 before any upgrade.
    for url in [
        app.ws_url(""),
        app.ws_url("?token=garbage"),
        app.ws_url("?token="),
    ] {
        match tokio_tungstenite::connect_async(url.as_str()).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{url}")
            }
            other => panic!("{url}: expected 401, got {:?}", other.map(|x| x.1.status())),
        }
    }
    // A foreign Origin: 403. The allowed one and none (not a browser) connect.
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let with_origin = |origin: &str| {
        let mut req = app
            .ws_url(&format!("?token={}", alice.token))
            .into_client_request()
            .unwrap();
        req.headers_mut().insert("origin", origin.parse().unwrap());
        req
    };
    match tokio_tungstenite::connect_async(with_origin("https://evil.example")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), StatusCode::FORBIDDEN)
        }
        other => panic!("expected 403, got {:?}", other.map(|x| x.1.status())),
    }
    let (_, resp) = tokio_tungstenite::connect_async(with_origin("https://app.example.com"))
        .await
        .expect("the allowed origin connects");
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    let (_, resp) =
        tokio_tungstenite::connect_async(app.ws_url(&format!("?token={}", alice.token)))
            .await
            .expect("a query token without an Origin connects");
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);

    // A plain GET with a good token is not an upgrade: 400 problem+json.
    let (s, v) = app
        .call(Method::GET, "/api/ws", Some(&alice.token), None)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_upgrade"));
}

#[tokio::test]
async fn events_reach_only_those_who_may_see_them() {
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let bob = app.signup("bob@example.com").await;
    let (_, t) = app
        .post(
            "/api/tickets",
            &alice.token,
            json!({"subject": "Printer", "description": "On fire"}),
        )
        .await;
    let tconv = t["conversation_id"].as_str().unwrap().to_string();
    let bob_dm = conversation(&app, &bob, "direct", &[&agent]).await;

    let mut alice_ws = app.ws(&alice.token).await;
    let mut bob_ws = app.ws(&bob.token).await;
    let mut agent_ws = app.ws(&agent.token).await;

    // An internal note reaches staff, never the requester.
    let note = say(
        &app,
        &agent,
        &tconv,
        json!({"content": "internal", "internal": true}),
    )
    .await;
    let e = agent_ws.next_of("message.created").await;
    assert_eq!(e["data"]["message"]["id"], note["id"]);
    assert!(e["id"].as_str().unwrap().len() == 20 && e["at"].is_string());
    let public = say(&app, &agent, &tconv, json!({"content": "on it"})).await;
    let e = alice_ws.next_of("message.created").await;
    assert_eq!(
        e["data"]["message"]["id"], public["id"],
        "the note never reached the customer; the public answer did"
    );
    // Bob, a customer of another ticket, got none of it: his next event is his own.
    let own = say(&app, &agent, &bob_dm, json!({"content": "hello bob"})).await;
    let e = bob_ws.next_of("message.created").await;
    assert_eq!(e["data"]["message"]["id"], own["id"]);

    // A removed group member stops getting the group's events at once.
    let group = conversation(&app, &agent, "group", &[&alice, &bob]).await;
    let removed = app
        .delete(
            &format!("/api/conversations/{group}/members/{}", bob.id),
            &agent.token,
        )
        .await;
    assert_eq!(removed.0, StatusCode::NO_CONTENT);
    say(&app, &agent, &group, json!({"content": "without bob"})).await;
    let sentinel = say(&app, &agent, &bob_dm, json!({"content": "sentinel"})).await;
    let e = bob_ws.next_of("message.created").await;
    assert_eq!(e["data"]["message"]["id"], sentinel["id"]);
}

#[tokio::test]
async fn sender_sees_sent_delivered_read_live() {
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let dm = conversation(&app, &alice, "direct", &[&agent]).await;
    let mut alice_ws = app.ws(&alice.token).await;

    let m = say(&app, &alice, &dm, json!({"content": "anyone there?"})).await;
    assert_eq!(m["status"], "sent", "the agent has no socket yet");
    let mpath = format!(
        "/api/conversations/{dm}/messages/{}",
        m["id"].as_str().unwrap()
    );

    // The agent connects and catches up: the push counts as delivery.
    let mut agent_ws = app.ws(&agent.token).await;
    let last = alice_ws.next_of("message.created").await["id"].clone();
    agent_ws
        .send(json!({"type": "resume", "after": last_before(&last)}))
        .await;
    let e = agent_ws.next_of("message.created").await;
    assert_eq!(e["data"]["message"]["id"], m["id"]);
    let d = alice_ws.next_of("message.delivered").await;
    assert_eq!(d["data"]["user_id"], json!(agent.id));
    assert_eq!(d["data"]["conversation_id"], json!(dm));
    let (_, v) = app.get(&mpath, &alice.token).await;
    assert_eq!(v["status"], "delivered");

    // A live push is a delivery too.
    let m2 = say(&app, &alice, &dm, json!({"content": "hello?"})).await;
    agent_ws.next_of("message.created").await;
    alice_ws.next_of("message.delivered").await;
    let (_, v) = app
        .get(
            &format!(
                "/api/conversations/{dm}/messages/{}",
                m2["id"].as_str().unwrap()
            ),
            &alice.token,
        )
        .await;
    assert_eq!(v["status"], "delivered");

    // The agent reads: the sender is told.
    let (s, _) = app
        .post(
            &format!("/api/conversations/{dm}/read"),
            &agent.token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let r = alice_ws.next_of("message.read").await;
    assert_eq!(r["data"]["user_id"], json!(agent.id));
    assert_eq!(r["data"]["last_read_seq"], 2);
    let (_, v) = app.get(&mpath, &alice.token).await;
    assert_eq!(v["status"], "read");
}

/// The event id just before `id` (ids are 20 digits).
fn last_before(id: &Value) -> String {
    let n: u64 = id.as_str().unwrap().parse().unwrap();
    format!("{:020}", n - 1)
}

#[tokio::test]
async fn typing_presence_and_ping() {
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let bob = app.signup("bob@example.com").await;
    let dm = conversation(&app, &alice, "direct", &[&agent]).await;

    let mut agent_ws = app.ws(&agent.token).await;
    agent_ws.send(json!({"type": "ping"})).await;
    assert_eq!(agent_ws.next_of("pong").await, json!({"type": "pong"}));

    // Alice comes online: the agent, who shares a conversation with her, is told.
    let mut alice_ws = app.ws(&alice.token).await;
    let p = agent_ws.next_of("presence").await;
    assert_eq!(p["data"], json!({"user_id": alice.id, "online": true}));
    // A second socket of hers is no news; closing one of two is none either.
    let mut alice_2 = app.ws(&alice.token).await;
    alice_2.stream.close(None).await.unwrap();

    alice_ws
        .send(json!({"type": "typing", "conversation_id": dm}))
        .await;
    let t = loop {
        let f = agent_ws.next().await;
        assert_ne!(f["type"], "presence", "her second socket is no news: {f}");
        if f["type"] == "typing" {
            break f;
        }
    };
    assert_eq!(
        t["data"],
        json!({"conversation_id": dm, "user_id": alice.id})
    );

    // Bob shares nothing with Alice and may not type into her conversation.
    let mut bob_ws = app.ws(&bob.token).await;
    bob_ws
        .send(json!({"type": "typing", "conversation_id": dm}))
        .await;
    assert_eq!(bob_ws.next_of("error").await["code"], "not_found");
    bob_ws.send(json!({"type": "dance"})).await;
    assert_eq!(bob_ws.next_of("error").await["code"], "invalid_frame");

    alice_ws.stream.close(None).await.unwrap();
    let p = agent_ws.next_of("presence").await;
    assert_eq!(p["data"], json!({"user_id": alice.id, "online": false}));
}

#[tokio::test]
async fn resume_replays_what_was_missed_in_order_without_duplicates() {
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let dm = conversation(&app, &alice, "direct", &[&agent]).await;

    let mut ws = app.ws(&alice.token).await;
    say(&app, &agent, &dm, json!({"content": "seen live"})).await;
    let seen = ws.next_of("message.created").await["id"].clone();
    ws.stream.close(None).await.unwrap();

    let mut missed = Vec::new();
    for i in 0..5 {
        missed.push(
            say(&app, &agent, &dm, json!({"content": format!("missed {i}")})).await["id"].clone(),
        );
    }
    let mut ws = app.ws(&alice.token).await;
    ws.send(json!({"type": "resume", "after": seen})).await;
    // Something happens live while the replay may still run.
    let live = say(&app, &agent, &dm, json!({"content": "live"})).await["id"].clone();
    let mut got = Vec::new();
    let mut ids = Vec::new();
    while got.len() < 6 {
        let e = ws.next().await;
        if e["type"] == "message.created" {
            got.push(e["data"]["message"]["id"].clone());
        }
        if let Some(id) = e["id"].as_str() {
            ids.push(id.to_string());
        }
    }
    let mut want = missed.clone();
    want.push(live.clone());
    assert_eq!(
        got, want,
        "every missed message once, in order, then the live one"
    );
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted, "event ids increase, none twice");
    // And live delivery goes on.
    let after = say(&app, &agent, &dm, json!({"content": "after"})).await;
    let e = ws.next_of("message.created").await;
    assert_eq!(e["data"]["message"]["id"], after["id"]);

    ws.send(json!({"type": "resume", "after": "not-an-id"}))
        .await;
    assert_eq!(ws.next_of("error").await["code"], "invalid_frame");
}

#[tokio::test]
async fn logout_and_deactivation_close_sockets_with_1008() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let bob = app.signup("bob@example.com").await;

    let mut ws = app.ws(&alice.token).await;
    let (s, _) = app
        .call(Method::POST, "/api/auth/logout", Some(&alice.token), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(ws.closed().await, Some(1008));

    let mut ws = app.ws(&bob.token).await;
    let (s, _) = app
        .patch(
            &format!("/api/users/{}", bob.id),
            &admin.token,
            json!({"is_active": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ws.closed().await, Some(1008));
}

#[tokio::test]
async fn silent_clients_are_dropped() {
    let config = ServerConfig {
        ws_ping_interval: Duration::from_millis(200),
        ..Default::default()
    };
    let app = spawn_app_with(helpdesk::Config::for_tests(), config).await;
    let alice = app.signup("alice@example.com").await;
    // A client that never reads, so never answers the server's pings.
    let mut silent = app.ws(&alice.token).await;
    let mut waited = 0;
    while metric(&app, "helpdesk_websocket_closed_total{reason=\"silent\"} ").await == 0 {
        assert!(waited < 100, "a silent client was never dropped");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(metric(&app, "helpdesk_websocket_connections ").await, 0);
    assert_eq!(silent.closed().await, None, "dropped without a close frame");
    // A client that reads answers pings and stays.
    let mut live = app.ws(&alice.token).await;
    let reading = tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(1), live.next()).await;
        live
    });
    let mut live = reading.await.unwrap();
    assert_eq!(metric(&app, "helpdesk_websocket_connections ").await, 1);
    live.send(json!({"type": "ping"})).await;
    assert_eq!(live.next_of("pong").await["type"], "pong");
}

/// The value of a metric line of `/metrics` (0 when absent).
async fn metric(app: &App, line_start: &str) -> u64 {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn a_full_queue_disconnects_that_client_only() {
    // Pings far apart: only the queue can catch the client that stopped reading.
    let config = ServerConfig {
        ws_ping_interval: Duration::from_secs(3600),
        ws_queue: 4,
        ..Default::default()
    };
    let app = spawn_app_with(helpdesk::Config::for_tests(), config).await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let dm = conversation(&app, &alice, "direct", &[&agent]).await;
    let _stalled = app.ws(&alice.token).await;
    let mut other = app.ws(&agent.token).await;
    assert_eq!(metric(&app, "helpdesk_websocket_connections ").await, 2);

    let big = "y".repeat(30_000);
    let mut sent = 0;
    while metric(&app, "helpdesk_websocket_closed_total{reason=\"slow\"} ").await == 0 {
        assert!(sent < 2_000, "the stalled client was never disconnected");
        say(&app, &agent, &dm, json!({"content": big})).await;
        sent += 1;
        let e = other.next_of("message.created").await;
        assert_eq!(
            e["data"]["message"]["content"].as_str().map(str::len),
            Some(big.len())
        );
    }
    assert_eq!(metric(&app, "helpdesk_websocket_connections ").await, 1);
    // The reading client goes on.
    let last = say(&app, &agent, &dm, json!({"content": "still here"})).await;
    let e = other.next_of("message.created").await;
    assert_eq!(e["data"]["message"]["id"], last["id"]);
}

#[tokio::test]
async fn frames_over_64_kib_close_that_socket_with_1009() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let app = spawn_app().await;
    let alice = app.signup("alice@example.com").await;
    let mut big = app.ws(&alice.token).await;
    let mut other = app.ws(&alice.token).await;
    // 70 KiB in one text frame: over the 64 KiB limit on frames and messages. The send
    // may fail if the server closes before it has read everything; the close frame was
    // sent before that.
    let frame = json!({"type": "ping", "pad": "x".repeat(70 * 1024)}).to_string();
    let _ = big.stream.send(Message::text(frame)).await;
    assert_eq!(big.closed().await, Some(1009));
    let mut waited = 0;
    while metric(&app, "helpdesk_websocket_closed_total{reason=\"too_big\"} ").await == 0 {
        assert!(waited < 100, "the closed socket was not counted");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    // The user's other socket goes on.
    other.send(json!({"type": "ping"})).await;
    assert_eq!(other.next_of("pong").await["type"], "pong");
    assert_eq!(metric(&app, "helpdesk_websocket_connections ").await, 1);
}

/// A WebSocket over a client socket with a small receive buffer: once its client stops
/// reading, the server's writes to it soon block.
async fn narrow_ws(app: &App, token: &str) -> Ws {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("receive buffer");
    let tcp = socket.connect(app.server.addr).await.expect("connect");
    let mut req = app.ws_url("").into_client_request().expect("request");
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    let (stream, resp) =
        tokio_tungstenite::client_async(req, tokio_tungstenite::MaybeTlsStream::Plain(tcp))
            .await
            .expect("WebSocket connects");
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    Ws { stream }
}

#[tokio::test]
async fn shutdown_waits_for_sockets_to_close_with_1001() {
    // The server runs on a runtime of its own, dropped as soon as `shutdown` returns (as
    // a process exits once `serve` returns): a close frame not written by then never is.
    let config = ServerConfig {
        ws_ping_interval: Duration::from_secs(3600),
        ws_queue: 4096,
        shutdown_grace: Duration::from_secs(10),
        ..Default::default()
    };
    let (ready, started) = tokio::sync::oneshot::channel::<App>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<helpdesk_http::RunningServer>();
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let result = rt.block_on(async move {
            let _ = ready.send(spawn_app_with(helpdesk::Config::for_tests(), config).await);
            match stopped.await {
                Ok(server) => server.shutdown().await,
                Err(_) => Ok(()),
            }
        });
        drop(rt);
        result
    });
    let app = started.await.expect("the server starts");
    let alice = app.signup("alice@example.com").await;
    let (_, t) = app
        .post(
            "/api/tickets",
            &alice.token,
            json!({"subject": "Printer", "description": "On fire"}),
        )
        .await;
    let conv = t["conversation_id"].as_str().unwrap().to_string();
    let mut idle = app.ws(&alice.token).await;
    // A client that stops reading while its socket has megabytes to write through a
    // small receive buffer: when the shutdown starts, that socket's task is in the
    // middle of a write that ends only when the client reads again.
    let mut stalled = narrow_ws(&app, &alice.token).await;
    let big = "z".repeat(30_000);
    let mut last = Value::Null;
    for _ in 0..100 {
        last = say(&app, &alice, &conv, json!({"content": big})).await;
    }
    loop {
        let e = idle.next_of("message.created").await;
        if e["data"]["message"]["id"] == last["id"] {
            break;
        }
    }

    let _ = stop.send(app.server);
    assert_eq!(stalled.closed().await, Some(1001), "the stalled socket");
    assert_eq!(idle.closed().await, Some(1001), "the idle socket");
    let stopped = tokio::task::spawn_blocking(move || server.join())
        .await
        .expect("joined")
        .expect("the server thread did not panic");
    assert!(stopped.is_ok(), "{stopped:?}");
}

/// Past the retention window: a `resume` after a pruned event gets `resume_gap` (the
/// client refetches) and the socket goes on live; one after what the window still
/// holds replays as usual.
#[tokio::test]
async fn resume_from_before_the_retention_window_gets_resume_gap() {
    // Tokens outliving the month the test skips.
    let config = helpdesk::Config {
        access_token_ttl: chrono::Duration::days(60),
        ..helpdesk::Config::for_tests()
    };
    let app = spawn_app_with(config, helpdesk_http::ServerConfig::default()).await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let dm = conversation(&app, &alice, "direct", &[&agent]).await;
    let mut ws = app.ws(&alice.token).await;
    say(&app, &agent, &dm, json!({"content": "a month ago"})).await;
    let old = ws.next_of("message.created").await["id"].clone();
    say(&app, &agent, &dm, json!({"content": "also old"})).await;
    ws.next_of("message.created").await;
    ws.stream.close(None).await.unwrap();

    app.clock().advance(chrono::Duration::days(31));
    say(&app, &agent, &dm, json!({"content": "this week"})).await;
    let pruned = app.hd.prune_retention().await.unwrap();
    assert!(pruned.events >= 2, "{pruned:?}");

    let mut ws = app.ws(&alice.token).await;
    ws.send(json!({"type": "resume", "after": old})).await;
    assert_eq!(ws.next().await, json!({"type": "resume_gap"}));
    let live = say(&app, &agent, &dm, json!({"content": "live"})).await;
    let e = loop {
        let e = ws.next_of("message.created").await;
        if e["data"]["message"]["id"] == live["id"] {
            break e;
        }
        // Live streams start at the log's visible end, which a transaction still open
        // on PostgreSQL can hold back: only the message written just before this
        // socket connected may come first.
        assert_eq!(
            e["data"]["message"]["content"], "this week",
            "live after the gap"
        );
    };

    // After an event the window holds: replayed, no gap.
    let last = e["id"].clone();
    let later = say(&app, &agent, &dm, json!({"content": "later"})).await;
    ws.stream.close(None).await.unwrap();
    let mut ws = app.ws(&alice.token).await;
    ws.send(json!({"type": "resume", "after": last})).await;
    let e = ws.next().await;
    assert_eq!(e["type"], "message.created", "{e}");
    assert_eq!(e["data"]["message"]["id"], later["id"]);
}

/// With PostgreSQL, a message written through either instance reaches the sockets open
/// on both: the other instance's through `NOTIFY`, the writer's own through its library
/// (a store's listener ignores its own `NOTIFY`s).
#[tokio::test]
async fn events_reach_sockets_on_every_instance() {
    let Some((a, b)) = spawn_live_pair_on_postgres().await else {
        println!("skipped: HELPDESK_TEST_DATABASE_URL is not set");
        return;
    };
    let agent = a.user(Role::Agent, "agent@example.com").await;
    let bob = a.signup("bob@example.com").await;
    let dm = conversation(&a, &agent, "direct", &[&bob]).await;
    let mut on_a = a.ws(&bob.token).await;
    let mut on_b = b.ws(&bob.token).await;
    for (n, writer) in [&a, &b, &a, &b].into_iter().enumerate() {
        let m = say(writer, &agent, &dm, json!({"content": format!("m{n}")})).await;
        for ws in [&mut on_a, &mut on_b] {
            let e = ws.next_of("message.created").await;
            assert_eq!(e["data"]["message"]["id"], m["id"], "message {n}");
        }
    }
}
