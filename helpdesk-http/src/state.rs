//! The server configuration and the state shared by every request.

use std::net::IpAddr;
use std::time::Duration;

use helpdesk_core::Helpdesk;
use ipnet::IpNet;

use crate::metrics::Metrics;

/// What the server needs beyond the library's own [`helpdesk_core::Config`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
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
    /// How often the server pings a WebSocket and checks its session again; a socket
    /// silent for two intervals is dropped.
    pub ws_ping_interval: Duration,
    /// Frames a WebSocket may have waiting; a client that lets more pile up is
    /// disconnected.
    pub ws_queue: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            cors_origins: Vec::new(),
            ws_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            shutdown_grace: Duration::from_secs(30),
            sweep_interval: Duration::from_secs(60 * 60),
            webhook_worker: true,
            ws_ping_interval: Duration::from_secs(20),
            ws_queue: 256,
        }
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
}

impl AppState {
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
