//! The real-time WebSocket, `GET /api/ws`: events from the log to the sockets of the
//! users who may see them, `typing` and `presence` between connected users, `resume`
//! from the log, pings both ways.
//!
//! One dispatcher per server reads the library's live stream, resolves each event's
//! viewers once and queues the event, serialized once, on every connection that may
//! see it. Each connection's task writes its own queue to its socket. The queue is
//! bounded: when it is full (a client that stopped reading) that connection is closed
//! and nobody else waits for it.
//!
//! Here: the handshake, which starts the connection's task. `hub`: the open sockets
//! and their tasks; `dispatch`: the event log's fan-out; `session`: one connection's
//! task; `delivery`: delivery records; `ephemeral`: `typing` and `presence`;
//! `replay`: `resume` from the log. The hub uses neither requests nor the server state
//! (which holds it). Socket.IO sockets (`crate::socketio`) register with the same hub
//! and get the same fan-out, `typing`, `presence`, `resume` and delivery records.

mod delivery;
pub(crate) mod dispatch;
pub(crate) mod ephemeral;
pub(crate) mod hub;
pub(crate) mod replay;
mod session;

use http::{HeaderValue, StatusCode, header};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use helpdesk_core::apikey::is_api_key;

use crate::error::{ApiError, ApiResult};
use crate::request::Ctx;
use crate::response::empty;

pub use hub::Hub;

/// The largest frame and message a client may send; a larger one closes the socket
/// with 1009 (the reason of that close frame names this size).
const MAX_CLIENT_FRAME: usize = 64 * 1024;

/// Small buffers: most sockets are idle, and the frames are small.
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(Some(MAX_CLIENT_FRAME))
        .max_frame_size(Some(MAX_CLIENT_FRAME))
}

fn header_has_token(ctx: &Ctx, name: header::HeaderName, token: &str) -> bool {
    ctx.parts
        .headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// `GET /api/ws`: checks the token (header or `?token=`; an API key only in the header,
/// with a read scope), the `Origin` and the upgrade, answers 101 and runs the connection
/// in its own task.
pub async fn connect(mut ctx: Ctx) -> ApiResult {
    let state = ctx.state.clone();
    let p = match (
        ctx.parts.headers.contains_key(header::AUTHORIZATION),
        ctx.query.text("token"),
    ) {
        // API keys never travel in URLs, which end up in logs and histories.
        (false, Some(token)) if is_api_key(&token) => return Err(ApiError::unauthorized()),
        (false, Some(token)) => state.hd.authenticate(&token).await?,
        // With a key: `tickets:read` or `messages:read` (the route's need), before the
        // upgrade.
        _ => ctx.principal().await?,
    };
    if !state
        .config
        .ws_allows(ctx.parts.headers.get(header::ORIGIN))
    {
        return Err(ApiError::forbidden("this Origin may not open WebSockets"));
    }
    let key = ctx.parts.headers.get(header::SEC_WEBSOCKET_KEY).cloned();
    let valid = header_has_token(&ctx, header::CONNECTION, "upgrade")
        && header_has_token(&ctx, header::UPGRADE, "websocket")
        && ctx
            .parts
            .headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_some_and(|v| v == "13");
    let on_upgrade = ctx.parts.extensions.remove::<OnUpgrade>();
    let (Some(key), Some(on_upgrade), true) = (key, on_upgrade, valid) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_upgrade",
            "a WebSocket upgrade needs Connection: Upgrade, Upgrade: websocket, \
             Sec-WebSocket-Version: 13 and Sec-WebSocket-Key",
        ));
    };
    let accept = derive_accept_key(key.as_bytes());
    // Tracked by the hub: shutdown waits for the close frame (1001).
    let hub = state.hub.clone();
    hub.spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let socket = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(socket_config()),
                )
                .await;
                session::run(state, p, socket).await;
            }
            Err(e) => tracing::debug!(error = %e, "WebSocket upgrade failed"),
        }
    });
    let mut resp = empty(StatusCode::SWITCHING_PROTOCOLS);
    let h = resp.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    Ok(resp)
}
