//! Mounting the Helpdesk server in an axum application: the host's own route
//! (`GET /hello`) beside the whole Helpdesk API under `/support`, its WebSocket
//! included, on the in-memory store.
//!
//! Run with `cargo run -p helpdesk --example mount_axum` (an address as the first
//! argument, `127.0.0.1:3000` by default); it prints how to call it. Ctrl-C stops it
//! gracefully.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::routing::get;
use helpdesk::store::memory::MemoryStore;
use helpdesk::{Config, Helpdesk};
use helpdesk_http::{ClientAddr, ServerConfig};

/// Hands the client's address to Helpdesk, whose failed-login limits count per client
/// (without it every request would count as one client, `0.0.0.0`).
async fn client_addr(mut req: Request) -> Request {
    if let Some(ConnectInfo(addr)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        req.extensions_mut().insert(ClientAddr::from(addr));
    }
    req
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_string());
    let hd = Helpdesk::new(Arc::new(MemoryStore::new()), Config::default());
    // The API's paths, its `Location` headers and its OpenAPI document say `/support`.
    let support = helpdesk_http::service(
        hd,
        ServerConfig {
            base_path: "/support".into(),
            ..ServerConfig::default()
        },
    )
    .await;

    let app = Router::new()
        .route(
            "/hello",
            get(|| async { "Hello from the host application\n" }),
        )
        // Not `nest_service`, which strips `/support` from the path the service sees.
        .route_service("/support/{*path}", support.clone())
        .layer(axum::middleware::map_request(client_addr));

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let base = format!("http://{}", listener.local_addr()?);
    println!("The host's own route:   curl {base}/hello");
    println!(
        "Helpdesk under /support: curl -i {base}/support/auth/signup \
         -H 'content-type: application/json' \
         -d '{{\"email\": \"carol@example.com\", \"password\": \"a long password\", \"name\": \"Carol\"}}'"
    );
    println!(
        "                         curl {base}/support/tickets -H 'authorization: Bearer <access_token>'"
    );
    println!("Its OpenAPI document:    curl {base}/support/openapi.yaml");
    println!(
        "Its WebSocket:           websocat 'ws://{}/support/ws?token=<access_token>'",
        listener.local_addr()?
    );

    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    // The host's connections are done: close the WebSockets (1001) and stop Helpdesk's
    // background work.
    support.shutdown().await;
    Ok(())
}
