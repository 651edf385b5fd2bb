//! API keys never reach the server's log in clear, whatever they are used for: made,
//! used on REST and on both real-time transports, refused (bad checksum, in a URL,
//! without the scope, expired or deleted). The server logs at `debug`; a test that
//! finds the log empty fails, so it cannot pass by logging nothing.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::common::{Server, create_user};

/// Everything one does with a key, against `server`; the tokens made.
async fn use_keys(server: &Server, admin: &str) -> Vec<String> {
    let (s, made) = server
        .call(
            reqwest::Method::POST,
            "/api/users/me/api-keys",
            admin,
            Some(json!({"name": "logged?", "scopes": ["tickets:read"]})),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    let token = made["token"].as_str().unwrap().to_string();
    let mut tokens = vec![token.clone()];

    // REST: allowed, insufficient scope, a bad checksum, the rate limit.
    assert_eq!(
        server
            .call(reqwest::Method::GET, "/api/tickets", &token, None)
            .await
            .0,
        200
    );
    let (s, _) = server
        .call(
            reqwest::Method::POST,
            "/api/tickets",
            &token,
            Some(json!({"subject": "s", "description": "d"})),
        )
        .await;
    assert_eq!(s, 403);
    let mut bad = token.clone();
    bad.replace_range(20..21, if &token[20..21] == "A" { "B" } else { "A" });
    assert_eq!(
        server
            .call(reqwest::Method::GET, "/api/tickets", &bad, None)
            .await
            .0,
        401
    );
    tokens.push(bad);
    for _ in 0..3 {
        server
            .call(reqwest::Method::GET, "/api/users/me", &token, None)
            .await;
    }
    let (s, _) = server
        .call(reqwest::Method::GET, "/api/users/me", &token, None)
        .await;
    assert_eq!(s, 429, "the rate limit of 5 a minute");

    // The WebSocket: in the URL (refused), in the header (open, then closed by the
    // deletion below).
    let url = format!("ws://127.0.0.1:{}/api/ws?token={token}", server.port);
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
    let (s, second) = server
        .call(
            reqwest::Method::POST,
            "/api/users/me/api-keys",
            admin,
            Some(json!({"name": "socket", "scopes": ["messages:read"]})),
        )
        .await;
    assert_eq!(s, 201);
    let socket_token = second["token"].as_str().unwrap().to_string();
    tokens.push(socket_token.clone());
    let mut req = format!("ws://127.0.0.1:{}/api/ws", server.port)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {socket_token}").parse().unwrap(),
    );
    let (ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("a socket");
    // Socket.IO: the key in the handshake's query (refused) and in CONNECT's auth.
    let sio = format!(
        "ws://127.0.0.1:{}/socket.io/?EIO=4&transport=websocket&token={socket_token}",
        server.port
    );
    let _ = tokio_tungstenite::connect_async(sio).await;
    let (s, _) = server
        .call(
            reqwest::Method::DELETE,
            &format!("/api/users/me/api-keys/{}", second["id"].as_str().unwrap()),
            admin,
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = server
        .call(reqwest::Method::GET, "/api/users/me", &socket_token, None)
        .await;
    assert_eq!(s, 401);
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(ws);
    tokens
}

#[tokio::test]
async fn api_keys_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sled:{}", dir.path().join("data").display());
    create_user(&store, "admin@example.com", "admin");
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let server = Server::start_logging(
        &store,
        &["--api-key-rate-limit", "5"],
        "debug",
        Stdio::from(log),
    )
    .await;
    let admin = server.login("admin@example.com").await;
    let tokens = use_keys(&server, &admin).await;
    server.stop();

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("request") && log.contains("/api/users/{id}/api-keys"),
        "the requests were logged: {log}"
    );
    for token in &tokens {
        // The part after the shown prefix is the secret.
        let secret = &token[15..];
        assert!(
            !log.contains(secret),
            "a key's secret is in the log:\n{log}"
        );
    }
}
