//! # helpdesk-http
//!
//! The Helpdesk HTTP server over [`helpdesk_core::Helpdesk`]: hyper 1.x without a web
//! framework. Routing with matchit, JSON in and out, RFC 9457 problem details with
//! stable codes ([`error`]), bearer auth, failed-login rate limiting, multipart
//! uploads streamed to the store, CORS, metrics, graceful shutdown, and the real-time
//! WebSocket ([`ws`]).
//!
//! Two ways to run it: [`serve`] runs its own accept loop on any [`Listener`] (a
//! `TcpListener`, a Unix socket, a TLS acceptor); [`service()`] makes a
//! [`HelpdeskService`], a tower and hyper `Service` over requests with any body, for a
//! host application to mount beside its own routes (the API under
//! [`ServerConfig::base_path`], WebSockets included; `examples/mount_axum.rs` mounts it
//! in an axum router). `serve` is a thin loop around `service`.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use helpdesk_core::{Config, Helpdesk, store::memory::MemoryStore};
//! let hd = Helpdesk::new(Arc::new(MemoryStore::new()), Config::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! helpdesk_http::serve(listener, hd, helpdesk_http::ServerConfig::default(), std::future::pending::<()>())
//! .await
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod api;
mod api_service;
pub mod error;
pub mod imap;
pub mod mail;
pub mod metrics;
pub mod render;
pub mod request;
pub mod response;
pub mod router;
pub mod server;
pub mod service;
#[cfg(feature = "socketio")]
mod socketio;
pub mod state;
pub mod ws;

pub use api_service::{ClientAddr, ResponseFuture};
pub use server::{Listener, RunningServer, serve, spawn};
pub use service::{HelpdeskService, service};
pub use state::{ServerConfig, SocketIoMode};
