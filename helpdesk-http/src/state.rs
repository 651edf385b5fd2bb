//! The server configuration and the state shared by every request.

use std::net::IpAddr;
use std::time::Duration;

use helpdesk_core::Helpdesk;
use ipnet::IpNet;

use crate::metrics::Metrics;

/// What the server needs beyond the library's own [`helpdesk_core::Config`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where the API is, `/api` by default: every route of API.md (`{base}/tickets`,
    /// `{base}/ws`, `{base}/openapi.yaml`, ...), the `Location` headers and the paths
    /// of the served OpenAPI document follow it. `""` puts the API at the root. The
    /// operations endpoints (`/healthz`, `/readyz`, `/metrics`) stay at the root.
    ///
    /// A mounted [`crate::HelpdeskService`] sees whole request paths: this is the path
    /// clients use, prefix of the host's mount included (see [`crate::service()`]). It is
    /// normalized (a missing leading `/` added, trailing `/` removed); [`crate::service()`]
    /// panics on one holding `{`, `}`, `*`, `?`, `#`, whitespace or control characters.
    pub base_path: String,
    /// Origins that get CORS headers (`--cors-origin`); empty: none.
    pub cors_origins: Vec<String>,
    /// Origins allowed to open WebSockets (`--ws-origin`); empty: any.
    pub ws_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` entry names the client (`--trusted-proxy`).
    pub trusted_proxies: Vec<IpNet>,
    /// How long in-flight requests may take to finish on shutdown.
    pub shutdown_grace: Duration,
    /// How often unattached uploads are swept.
    pub sweep_interval: Duration,
    /// Whether this server delivers webhooks (the library's worker).
    pub webhook_worker: bool,
    /// Whether this server sends the outbox's mail (and polls IMAP mailboxes); off with
    /// `--no-mail-worker`.
    pub mail_worker: bool,
    /// How often the server pings a WebSocket and checks its session again; a socket
    /// silent for two intervals is dropped.
    pub ws_ping_interval: Duration,
    /// Frames a WebSocket may have waiting; a client that lets more pile up is
    /// disconnected.
    pub ws_queue: usize,
    /// Socket.IO at `/socket.io/` (`--socketio`): on (polling and WebSocket), off, or
    /// WebSocket only. Without the crate's `socketio` feature it is always off.
    pub socketio: SocketIoMode,
}

impl ServerConfig {
    /// Whether a browser page from `origin` gets CORS headers (`--cors-origin`).
    pub(crate) fn cors_allows(&self, origin: &http::HeaderValue) -> bool {
        self.cors_origins
            .iter()
            .any(|a| a.as_bytes() == origin.as_bytes())
    }

    /// Whether a page from `origin` (none: not a browser) may open a WebSocket or a
    /// Socket.IO connection (`--ws-origin`; none listed: any).
    pub(crate) fn ws_allows(&self, origin: Option<&http::HeaderValue>) -> bool {
        match origin {
            Some(origin) if !self.ws_origins.is_empty() => self
                .ws_origins
                .iter()
                .any(|o| o.as_bytes() == origin.as_bytes()),
            _ => true,
        }
    }
}

/// Whether and how the server speaks Socket.IO at `/socket.io/` (`--socketio`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SocketIoMode {
    /// Polling, upgraded to a WebSocket, or a WebSocket at once.
    #[default]
    On,
    /// No Socket.IO: `/socket.io/` answers 404 like any unknown path.
    Off,
    /// A WebSocket at once only (several instances without sticky sessions).
    WebsocketOnly,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            base_path: DEFAULT_BASE_PATH.to_string(),
            cors_origins: Vec::new(),
            ws_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            shutdown_grace: Duration::from_secs(30),
            sweep_interval: Duration::from_secs(60 * 60),
            webhook_worker: true,
            mail_worker: true,
            ws_ping_interval: Duration::from_secs(20),
            ws_queue: 256,
            socketio: SocketIoMode::default(),
        }
    }
}

/// The API's place when [`ServerConfig::base_path`] is not changed.
pub const DEFAULT_BASE_PATH: &str = "/api";

/// `base` without trailing slashes and with a leading one (`""` stays the root).
///
/// # Panics
/// On a character that a path prefix may not hold here: matchit's `{`, `}` and `*`,
/// `?` and `#` (not part of a path), whitespace and control characters.
pub(crate) fn normalize_base_path(base: &str) -> String {
    if let Some(c) = base
        .chars()
        .find(|c| matches!(c, '{' | '}' | '*' | '?' | '#') || c.is_whitespace() || c.is_control())
    {
        panic!("ServerConfig::base_path {base:?}: {c:?} may not appear in a base path");
    }
    let trimmed = base.trim_end_matches('/');
    if trimmed.is_empty() || trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

/// Shared by every request.
pub struct AppState {
    /// The library.
    pub hd: Helpdesk,
    /// The server configuration.
    pub config: ServerConfig,
    /// Request metrics.
    pub metrics: Metrics,
    /// The open WebSockets.
    pub hub: std::sync::Arc<crate::ws::hub::Hub>,
    /// The OpenAPI document as served, its paths under [`ServerConfig::base_path`].
    pub openapi: bytes::Bytes,
}

impl AppState {
    /// The path of an API resource as clients reach it: `rest` (such as
    /// `/tickets/{id}`) under [`ServerConfig::base_path`]; for `Location` headers.
    pub fn api_path(&self, rest: &str) -> String {
        format!("{}{rest}", self.config.base_path)
    }

    /// The client address: the peer, or, when the peer is a trusted proxy, the
    /// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let trusted = |ip: &IpAddr| self.config.trusted_proxies.iter().any(|n| n.contains(ip));
        if !trusted(&peer) {
            return peer;
        }
        let Some(xff) = forwarded_for else {
            return peer;
        };
        let mut client = peer;
        for entry in xff.rsplit(',') {
            match entry.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !trusted(&ip) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_base_path;

    #[test]
    fn base_paths_are_normalized() {
        assert_eq!(normalize_base_path("/api"), "/api");
        assert_eq!(normalize_base_path("support/"), "/support");
        assert_eq!(normalize_base_path("/a/b//"), "/a/b");
        assert_eq!(normalize_base_path(""), "");
        assert_eq!(normalize_base_path("/"), "");
    }

    #[test]
    #[should_panic(expected = "may not appear in a base path")]
    fn a_base_path_with_route_syntax_is_refused() {
        normalize_base_path("/{tenant}");
    }
}
