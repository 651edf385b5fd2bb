//! The server mounted in a host application, as `examples/mount_axum.rs` does: an axum
//! router with its own route and Helpdesk under `/support`. The host's route answers,
//! the API works under the base path (links and OpenAPI document included), a
//! WebSocket upgrades through axum and gets events, the client address comes from the
//! host, and the service's shutdown closes the sockets with 1001.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request};
use axum::routing::get;
use helpdesk::Helpdesk;
use helpdesk_http::{ClientAddr, HelpdeskService, ServerConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// An axum application serving Helpdesk under `/support` beside its own `/hello`.
struct Host {
    addr: SocketAddr,
    client: reqwest::Client,
    support: HelpdeskService,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Copies axum's `ConnectInfo` into Helpdesk's `ClientAddr`, as the example does.
async fn client_addr(mut req: Request) -> Request {
    if let Some(ConnectInfo(addr)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        req.extensions_mut().insert(ClientAddr::from(addr));
    }
    req
}

/// Mounts a Helpdesk service over `hd` (the suite's store) in an axum router on a
/// loopback port; `with_client_addr`: whether the host hands over client addresses.
async fn mount(hd: Helpdesk, mut config: ServerConfig, with_client_addr: bool) -> Host {
    config.base_path = "/support".into();
    config.webhook_worker = false;
    let support = helpdesk_http::service(hd, config).await;
    let mut app = axum::Router::new()
        .route("/hello", get(|| async { "hello from the host" }))
        .route_service("/support/{*path}", support.clone());
    if with_client_addr {
        app = app.layer(axum::middleware::map_request(client_addr));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stopped.await;
        })
        .await
    });
    Host {
        addr,
        client: reqwest::Client::new(),
        support,
        stop,
        task,
    }
}

impl Host {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A JSON request; the status, the `Location` header and the JSON answer.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Option<String>, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = resp.bytes().await.expect("body");
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, location, value)
    }

    /// A WebSocket on `/support/ws` through axum.
    async fn ws(&self, token: &str) -> Ws {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = format!("ws://{}/support/ws", self.addr)
            .into_client_request()
            .expect("request");
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
        let (stream, resp) = tokio_tungstenite::connect_async(req)
            .await
            .expect("the WebSocket connects through axum");
        assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
        Ws { stream }
    }

    /// Stops the host's server (its connections end), then the Helpdesk service.
    async fn shutdown(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(std::time::Duration::from_secs(10), self.task)
            .await
            .expect("the host stops")
            .expect("the host's task")
            .expect("the host's server");
        self.support.shutdown().await;
    }
}

#[tokio::test]
async fn mounted_under_axum_beside_the_hosts_routes() {
    // The suite's store (sled or PostgreSQL); its own server is not used here.
    let app = spawn_app().await;
    let host = mount(app.hd.clone(), ServerConfig::default(), true).await;
    use reqwest::Method as M;

    // The host's own route.
    let r = host.client.get(host.url("/hello")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "hello from the host");

    // Sign-up and login under the base path; links name it.
    let (s, location, v) = host
        .call(
            M::POST,
            "/support/auth/signup",
            None,
            Some(json!({"email": "carol@example.com", "password": "password123", "name": "Carol"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let carol_id = v["user"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        location.as_deref(),
        Some(&*format!("/support/users/{carol_id}"))
    );
    let (s, _, v) = host
        .call(
            M::POST,
            "/support/auth/login",
            None,
            Some(json!({"email": "carol@example.com", "password": "password123"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let token = v["access_token"].as_str().unwrap().to_string();

    // A ticket created and listed.
    let (s, location, ticket) = host
        .call(
            M::POST,
            "/support/tickets",
            Some(&token),
            Some(json!({"subject": "Printer", "description": "It is on fire"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ticket}");
    let ticket_id = ticket["id"].as_str().unwrap();
    assert_eq!(
        location.as_deref(),
        Some(&*format!("/support/tickets/{ticket_id}"))
    );
    let (s, _, list) = host
        .call(M::GET, "/support/tickets", Some(&token), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], ticket_id);
    // Helpdesk's own answers under the base path: a problem+json 404.
    let (s, _, v) = host
        .call(M::GET, "/support/nothing-here", Some(&token), None)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    // Nothing of Helpdesk where the host did not mount it.
    let (s, _, _) = host.call(M::GET, "/api/tickets", Some(&token), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The OpenAPI document names the paths as mounted.
    let doc = host
        .client
        .get(host.url("/support/openapi.yaml"))
        .send()
        .await
        .unwrap();
    assert_eq!(doc.status(), StatusCode::OK);
    let doc = doc.text().await.unwrap();
    assert!(doc.contains("\n  /support/tickets:\n"));
    assert!(doc.contains("\n  /support/ws:\n"));
    assert!(!doc.contains("/api/"));

    // A WebSocket through axum gets the events of the ticket's conversation.
    let mut ws = host.ws(&token).await;
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next_of("pong").await["type"], "pong");
    let conv = ticket["conversation_id"].as_str().unwrap();
    let (s, _, message) = host
        .call(
            M::POST,
            &format!("/support/conversations/{conv}/messages"),
            Some(&token),
            Some(json!({"content": "Smoke everywhere"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{message}");
    let event = ws.next_of("message.created").await;
    assert_eq!(event["data"]["message"]["id"], message["id"], "{event}");
    assert_eq!(host.support.websockets(), 1);
    assert!(
        host.support
            .metrics()
            .contains("route=\"/support/tickets\",method=\"POST\",status=\"201\"")
    );

    // The host stops, then the service: the socket is told the server goes away.
    host.shutdown().await;
    assert_eq!(ws.closed().await, Some(1001));
}

#[tokio::test]
async fn the_client_address_comes_from_the_host() {
    let app = spawn_app().await;
    // Loopback is a trusted proxy: when the host hands over the peer (127.0.0.1), the
    // client is the `X-Forwarded-For` entry.
    let config = || ServerConfig {
        trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
        ..ServerConfig::default()
    };
    for with_client_addr in [true, false] {
        let host = mount(app.hd.clone(), config(), with_client_addr).await;
        let email = format!("dave-{with_client_addr}@example.com");
        let bad = json!({"email": email, "password": "wrong-password"});
        let send = |xff: &'static str| {
            host.client
                .post(host.url("/support/auth/login"))
                .header("x-forwarded-for", xff)
                .json(&bad)
                .send()
        };
        for _ in 0..10 {
            assert_eq!(
                send("203.0.113.7").await.unwrap().status(),
                StatusCode::UNAUTHORIZED
            );
        }
        assert_eq!(
            send("203.0.113.7").await.unwrap().status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        let other = send("198.51.100.9").await.unwrap().status();
        if with_client_addr {
            // Another client behind the same proxy is not blocked.
            assert_eq!(other, StatusCode::UNAUTHORIZED);
        } else {
            // Without an address every request counts as one client, 0.0.0.0, which
            // is no trusted proxy: `X-Forwarded-For` is ignored, and all are blocked.
            assert_eq!(other, StatusCode::TOO_MANY_REQUESTS);
        }
        host.shutdown().await;
    }
}
