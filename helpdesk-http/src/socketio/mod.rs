//! Socket.IO at `/socket.io/` (Engine.IO v4, Socket.IO v5, as socket.io-client v4 and
//! python-socketio 5 speak it) for front ends written for Flask-SocketIO, on the same
//! listener as the API (API-socketio.md).
//!
//! socketioxide serves the protocol: its service wraps the API's, which gets every
//! other path. Around it, here: what the contract asks of the handshake that
//! socketioxide does not do (the `Origin` check, CORS on polling answers, numeric
//! Engine.IO error codes, `EIO=3` and a transport not offered refused as the reference
//! server refuses them), its configuration, and its shutdown. `socket`: one socket's
//! authentication, client events and task. Sockets register with the `/api/ws` hub
//! ([`crate::ws::hub`]): one dispatcher serves both transports.

mod socket;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use socketioxide::handler::ConnectHandler as _;
use socketioxide::service::SocketIoService;
use socketioxide::{SocketIo, TransportType};
use tokio::task::JoinHandle;

use crate::api_service::{ApiService, ResponseFuture};
use crate::error::ApiError;
use crate::request::RequestBody;
use crate::response::{BoxError, Resp, empty, full};
use crate::state::{AppState, SocketIoMode};

/// Where Socket.IO is served, whatever the API's base path.
const PATH: &str = "/socket.io";
/// Engine.IO's heartbeat: a ping every 25 s, answered within 20 s.
const PING_INTERVAL: Duration = Duration::from_secs(25);
const PING_TIMEOUT: Duration = Duration::from_secs(20);
/// The largest packet (or polling payload) a client may send; a bigger one closes.
const MAX_PAYLOAD: usize = 1_000_000;
/// A connection that joins no namespace within this is closed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(45);

/// The Socket.IO server: socketioxide's service around the API's, and its sockets.
pub(crate) struct SocketIoServer {
    svc: SocketIoService<InnerApi>,
    io: SocketIo,
    state: Arc<AppState>,
    /// Closing every transport, once the shutdown began.
    closing: Mutex<Option<JoinHandle<()>>>,
}

impl SocketIoServer {
    /// The server for [`crate::ServerConfig::socketio`]; `None` when it is off.
    pub(crate) fn new(state: Arc<AppState>, api: ApiService) -> Option<Self> {
        let mode = state.config.socketio;
        if mode == SocketIoMode::Off {
            return None;
        }
        let mut builder = SocketIo::builder()
            .req_path(PATH)
            .ping_interval(PING_INTERVAL)
            .ping_timeout(PING_TIMEOUT)
            .max_payload(MAX_PAYLOAD as u64)
            .ws_max_message_size(MAX_PAYLOAD)
            .ws_max_frame_size(MAX_PAYLOAD)
            .connect_timeout(CONNECT_TIMEOUT)
            // Each event is one packet and at most one copy: a client that lets this
            // many pile up unread is too slow (as a full `/api/ws` queue).
            .max_buffer_size(2 * state.config.ws_queue.max(1) + 16);
        if mode == SocketIoMode::WebsocketOnly {
            builder = builder.transports([TransportType::Websocket]);
        }
        let (svc, io) = builder.build_with_inner_svc(InnerApi(api));
        io.ns(
            "/",
            socket::connected(state.clone()).with(socket::authenticate(state.clone())),
        );
        Some(SocketIoServer {
            svc,
            io,
            state,
            closing: Mutex::new(None),
        })
    }

    /// Answers a request: Socket.IO's under `/socket.io/`, the API's elsewhere.
    pub(crate) fn call(&self, req: Request<RequestBody>) -> ResponseFuture {
        use hyper::service::Service as _;
        if !is_socketio_path(req.uri().path()) {
            let fut = self.svc.call(req);
            return Box::pin(async move {
                let Ok(resp) = fut.await;
                Ok(into_resp(resp))
            });
        }
        let started = Instant::now();
        let state = self.state.clone();
        let method = req.method().clone();
        let cors = req
            .headers()
            .get(header::ORIGIN)
            .filter(|o| state.config.cors_allows(o))
            .cloned();
        let early = self.refusal(&req);
        let fut = early.is_none().then(|| self.svc.call(req));
        Box::pin(async move {
            let mut resp = match (early, fut) {
                (Some(resp), _) => resp,
                (None, Some(fut)) => {
                    let Ok(resp) = fut.await;
                    numeric_error_code(into_resp(resp)).await
                }
                (None, None) => ApiError::internal().into_response(),
            };
            if let Some(origin) = cors {
                let h = resp.headers_mut();
                h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                );
                h.append(header::VARY, HeaderValue::from_static("Origin"));
            }
            let status = resp.status().as_u16();
            state
                .metrics
                .record("/socket.io/", method.as_str(), status, started.elapsed());
            Ok(resp)
        })
    }

    /// The answer to a handshake or polling request refused before socketioxide sees
    /// it, or to a CORS preflight; `None` to pass it on.
    fn refusal(&self, req: &Request<RequestBody>) -> Option<Resp> {
        let config = &self.state.config;
        if req.method() == Method::OPTIONS {
            let mut r = empty(StatusCode::NO_CONTENT);
            let h = r.headers_mut();
            h.insert(
                header::ALLOW,
                HeaderValue::from_static("GET, POST, OPTIONS"),
            );
            if req
                .headers()
                .get(header::ORIGIN)
                .is_some_and(|o| config.cors_allows(o))
            {
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static("GET, POST"),
                );
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static("Authorization, Content-Type"),
                );
                h.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static("600"),
                );
            }
            return Some(r);
        }
        // The reference server's order: the transport, then the protocol version.
        let query = req.uri().query().unwrap_or("");
        let param = |name: &str| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let transport_ok = match param("transport").as_deref() {
            Some("websocket") => true,
            Some("polling") => config.socketio != SocketIoMode::WebsocketOnly,
            _ => false,
        };
        if !transport_ok {
            return Some(engine_io_error(0, "Transport unknown"));
        }
        if param("EIO").as_deref() != Some("4") {
            return Some(engine_io_error(5, "Unsupported protocol version"));
        }
        if !config.ws_allows(req.headers().get(header::ORIGIN)) {
            return Some(
                ApiError::forbidden("this Origin may not open Socket.IO connections")
                    .into_response(),
            );
        }
        None
    }

    /// Starts closing every socket's transport (its client sees `transport close` and
    /// reconnects by itself, to another instance); returns at once. Idempotent.
    pub(crate) fn begin_close(&self) {
        let mut closing = self.closing.lock().unwrap_or_else(|e| e.into_inner());
        if closing.is_some() {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let io = self.io.clone();
            *closing = Some(rt.spawn(async move { io.close().await }));
        }
    }

    /// Waits until every transport is closed (after [`Self::begin_close`]).
    pub(crate) async fn closed(&self) {
        let closing = self
            .closing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(closing) = closing {
            let _ = closing.await;
        }
    }
}

fn is_socketio_path(path: &str) -> bool {
    path.strip_prefix(PATH)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// An Engine.IO handshake error, as the reference server answers it (a numeric code).
fn engine_io_error(code: u8, message: &str) -> Resp {
    full(
        StatusCode::BAD_REQUEST,
        "application/json",
        serde_json::json!({"code": code, "message": message}).to_string(),
    )
}

/// socketioxide writes Engine.IO error codes as strings (`{"code":"1",...}`); the
/// reference server and its clients use numbers.
async fn numeric_error_code(resp: Resp) -> Resp {
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if resp.status() != StatusCode::BAD_REQUEST || !json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = body.collect().await.map(|b| b.to_bytes()) else {
        return engine_io_error(3, "Bad request");
    };
    let fixed = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| {
            let code: u8 = v["code"].as_str()?.parse().ok()?;
            let message = v["message"].as_str()?.to_string();
            Some(serde_json::json!({"code": code, "message": message}).to_string())
        });
    let body = fixed.map_or(bytes, Bytes::from);
    Response::from_parts(
        parts,
        Full::new(body).map_err(|e| match e {}).boxed_unsync(),
    )
}

/// socketioxide's response (its own or the API's) as the service's.
fn into_resp<B>(resp: Response<B>) -> Resp
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    resp.map(|b| b.map_err(Into::into).boxed_unsync())
}

/// The API as socketioxide's inner service. socketioxide wants a body error that is a
/// `std::error::Error`, which the API's boxed one is not.
#[derive(Clone)]
struct InnerApi(ApiService);

/// The API's body error, as a `std::error::Error`.
#[derive(Debug)]
struct InnerBodyError(BoxError);

impl std::fmt::Display for InnerBodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for InnerBodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

type InnerResp = Response<UnsyncBoxBody<Bytes, InnerBodyError>>;

impl hyper::service::Service<Request<RequestBody>> for InnerApi {
    type Response = InnerResp;
    type Error = Infallible;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<InnerResp, Infallible>> + Send>>;

    fn call(&self, req: Request<RequestBody>) -> Self::Future {
        let api = self.0.clone();
        Box::pin(async move {
            let resp = api.handle(req).await;
            Ok(resp.map(|b| b.map_err(InnerBodyError).boxed_unsync()))
        })
    }
}

impl tower_service::Service<Request<RequestBody>> for InnerApi {
    type Response = InnerResp;
    type Error = Infallible;
    type Future = <Self as hyper::service::Service<Request<RequestBody>>>::Future;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<RequestBody>) -> Self::Future {
        hyper::service::Service::call(&*self, req)
    }
}
