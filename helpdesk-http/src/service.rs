//! The mountable server: [`service()`] makes a [`HelpdeskService`], a tower and a hyper
//! `Service` over requests with any body, which any host can call: [`crate::serve`]'s
//! own connections, an axum router, a hyper-util server. Here: the per-request dispatch
//! (request ids, client address, CORS, 404/405, panics caught, metrics, logs) and the
//! background work a running API needs (the WebSocket event fan-out, the upload
//! sweeper, the webhook worker) with its shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use futures_util::FutureExt;
use helpdesk_core::{Background, BackgroundTasks, Helpdesk};
use http::{HeaderValue, Method, Request, StatusCode, header};
use tokio::task::JoinHandle;

use crate::error::ApiError;
use crate::request::{BodySlot, Ctx, Query, RequestBody, box_body};
use crate::response::{BoxError, Resp, empty};
use crate::router::Router;
use crate::state::{AppState, ServerConfig, normalize_base_path};
use crate::ws::dispatch;
use crate::ws::hub::Hub;

const X_REQUEST_ID: &str = "x-request-id";

/// The client's address, put in a request's extensions by whoever accepted the
/// connection: [`crate::serve`] does; a host calling a [`HelpdeskService`] itself
/// inserts it (with axum, from `ConnectInfo<SocketAddr>`; see `examples/mount_axum.rs`).
///
/// The failed-login limits count per client address. A request without one counts as
/// coming from `0.0.0.0`, all together: stricter than the truth, never laxer. Not
/// `127.0.0.1`, which deployments list among their trusted proxies, so that any client
/// could choose its address with `X-Forwarded-For`. When the service sits behind a proxy
/// that gives no address (a Unix socket), list `0.0.0.0/32` in
/// [`ServerConfig::trusted_proxies`] to take the client from the proxy's
/// `X-Forwarded-For`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl From<IpAddr> for ClientAddr {
    fn from(ip: IpAddr) -> Self {
        ClientAddr(ip)
    }
}

impl From<SocketAddr> for ClientAddr {
    fn from(addr: SocketAddr) -> Self {
        ClientAddr(addr.ip())
    }
}

/// The address a request without a [`ClientAddr`] counts as.
const UNKNOWN_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// The future of a [`HelpdeskService`] call. It never fails: every error is an answer.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Result<Resp, Infallible>> + Send>>;

/// The whole Helpdesk server (API.md's routes, the WebSocket, the operations endpoints)
/// as a `Service` a host mounts: [`tower_service::Service`] (axum, tower) and
/// [`hyper::service::Service`] (hyper's own connections), for requests with any body.
/// Cloning is cheap and every clone is the same server. Made by [`service()`].
///
/// # Where the host sends what
/// The service routes on the whole request path: the API under
/// [`ServerConfig::base_path`] (`{base}/tickets`, `{base}/ws`, `{base}/openapi.yaml`)
/// and `/healthz`, `/readyz`, `/metrics` at the root; any other path answers a
/// problem+json 404. The host forwards what it wants: with axum,
/// `route_service("/support/{*path}", svc)` for a base path `/support`, or
/// `fallback_service(svc)`. Not `nest_service`, which strips the prefix from the path:
/// the service would not find its routes, and its `Location` headers and OpenAPI
/// document must name the paths clients use. A host with its own `/metrics` can add
/// [`HelpdeskService::metrics`] to it.
///
/// # WebSockets
/// `{base}/ws` upgrades through hyper's `OnUpgrade`, which hyper puts in the request's
/// extensions when its connection runs `with_upgrades` (axum's `serve` does, and axum
/// keeps extensions). Without it, the handshake answers 400 `invalid_upgrade`.
///
/// # Client address
/// From the request's [`ClientAddr`] extension; see there.
///
/// # Background work and shutdown
/// [`service()`] starts the WebSocket event fan-out, the sweeper of unattached uploads
/// and (when [`ServerConfig::webhook_worker`]) the webhook worker. They run until
/// [`HelpdeskService::shutdown`], or until the last clone is dropped.
#[derive(Clone)]
pub struct HelpdeskService {
    inner: Arc<Inner>,
}

struct Inner {
    state: Arc<AppState>,
    api: ApiService,
    /// Socket.IO around the API, when [`ServerConfig::socketio`] is not off.
    #[cfg(feature = "socketio")]
    socketio: Option<crate::socketio::SocketIoServer>,
    /// Taken when the shutdown begins.
    running: Mutex<Option<Running>>,
    /// The library's background tasks stopping, once the shutdown began.
    stopping: Mutex<Option<JoinHandle<()>>>,
}

/// The API's dispatch (everything but Socket.IO): cheap to clone.
#[derive(Clone)]
pub(crate) struct ApiService(Arc<Api>);

struct Api {
    state: Arc<AppState>,
    router: Router,
    /// A request without a [`ClientAddr`] was logged once.
    warned_no_addr: AtomicBool,
}

impl ApiService {
    /// Answers a request of the API (a problem+json 404 outside it).
    pub(crate) async fn handle(&self, req: Request<RequestBody>) -> Resp {
        self.0.handle(req).await
    }
}

/// The work that stops when the shutdown begins.
struct Running {
    /// The WebSocket event fan-out.
    dispatcher: JoinHandle<()>,
    /// `typing` and `presence` from the library's ephemeral channel to the sockets.
    relay: JoinHandle<()>,
    /// The library's sweeper and webhook worker.
    background: BackgroundTasks,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.begin_shutdown();
    }
}

impl Inner {
    fn begin_shutdown(&self) {
        let Some(running) = lock(&self.running).take() else {
            return;
        };
        running.dispatcher.abort();
        running.relay.abort();
        self.state.hub.close_all();
        #[cfg(feature = "socketio")]
        if let Some(socketio) = &self.socketio {
            socketio.begin_close();
        }
        let grace = self.state.config.shutdown_grace;
        // Outside a runtime (the last clone dropped after it), dropping the tasks' handle
        // stops them too, without waiting.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let hd = self.state.hd.clone();
            *lock(&self.stopping) = Some(rt.spawn(async move {
                // The other instances take this one's users offline now, not after
                // three silent heartbeats.
                if let Ok(channel) = hd.ephemeral().await {
                    channel.leave().await;
                }
                running.background.shutdown(grace).await
            }));
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Makes the server as a mountable [`HelpdeskService`], and starts its background work
/// (see there). Call it within a Tokio runtime. It returns once the WebSocket fan-out
/// is subscribed to the library's events (when the store answers; else the fan-out
/// retries every second), so that every socket gets every later event.
///
/// ```no_run
/// # async fn run() {
/// use std::sync::Arc;
/// use helpdesk_core::{Config, Helpdesk, store::memory::MemoryStore};
/// use helpdesk_http::ServerConfig;
/// let hd = Helpdesk::new(Arc::new(MemoryStore::new()), Config::default());
/// let config = ServerConfig { base_path: "/support".into(), ..ServerConfig::default() };
/// let svc = helpdesk_http::service(hd, config).await;
/// // Mount `svc` in the host's router (axum: `route_service("/support/{*path}", svc)`);
/// // when the host stops:
/// svc.shutdown().await;
/// # }
/// ```
///
/// # Panics
/// When [`ServerConfig::base_path`] holds a character a base path may not hold (see
/// there); outside a Tokio runtime.
pub async fn service(hd: Helpdesk, mut config: ServerConfig) -> HelpdeskService {
    config.base_path = normalize_base_path(&config.base_path);
    let sweep_every = config.sweep_interval;
    let run_worker = config.webhook_worker;
    let hub = Arc::new(Hub::default());
    hub.start(&hd);
    let subscription = hd.subscribe().await;
    if let Ok(s) = &subscription {
        hub.start_at(s.after());
    }
    let dispatcher = tokio::spawn(dispatch::run(hd.clone(), hub.clone(), subscription));
    let relay = tokio::spawn(crate::ws::ephemeral::relay(hd.clone(), hub.clone()));
    let router = Router::new(&config.base_path);
    let state = Arc::new(AppState {
        openapi: crate::api::ops::openapi_document(&config.base_path),
        hd: hd.clone(),
        config,
        metrics: crate::metrics::Metrics::default(),
        hub,
    });

    let background = hd.spawn_background(Background {
        sweep_every,
        webhooks: if run_worker {
            Background::for_helpdesk(&hd).webhooks
        } else {
            None
        },
    });

    let api = ApiService(Arc::new(Api {
        state: state.clone(),
        router,
        warned_no_addr: AtomicBool::new(false),
    }));
    HelpdeskService {
        inner: Arc::new(Inner {
            #[cfg(feature = "socketio")]
            socketio: crate::socketio::SocketIoServer::new(state.clone(), api.clone()),
            state,
            api,
            running: Mutex::new(Some(Running {
                dispatcher,
                relay,
                background,
            })),
            stopping: Mutex::new(None),
        }),
    }
}

impl HelpdeskService {
    /// The normalized base path of the API (`/api` unless configured).
    pub fn base_path(&self) -> &str {
        &self.inner.state.config.base_path
    }

    /// The Prometheus text `/metrics` answers: requests by route, method and status,
    /// latencies, WebSockets. For a host that serves its own `/metrics`.
    pub fn metrics(&self) -> String {
        let state = &self.inner.state;
        state.metrics.render() + &state.hub.render_metrics()
    }

    /// How many WebSockets are open.
    pub fn websockets(&self) -> usize {
        self.inner.state.hub.connections()
    }

    /// Stops the background work and closes every WebSocket with 1001 (going away),
    /// then waits for the sockets' close frames and the webhook worker's current
    /// delivery, each up to [`ServerConfig::shutdown_grace`]. HTTP requests are the
    /// host's: stop its connections first (axum: after `serve(..)
    /// .with_graceful_shutdown(..)` returns), since a socket upgraded after this began
    /// is closed at once. Calling it again, on any clone, only waits for what is left.
    pub async fn shutdown(&self) {
        let grace = self.inner.state.config.shutdown_grace;
        self.begin_shutdown();
        if tokio::time::timeout(grace, self.inner.state.hub.closed())
            .await
            .is_err()
        {
            tracing::warn!("shutdown deadline passed; WebSockets still open");
        }
        self.wait_for_background().await;
    }

    /// Stops the fan-out, tells every WebSocket to close with 1001 and the sweeper and
    /// the webhook worker to stop; returns at once. Idempotent.
    pub(crate) fn begin_shutdown(&self) {
        self.inner.begin_shutdown();
    }

    /// The open WebSockets and their tasks.
    pub(crate) fn hub(&self) -> &Arc<Hub> {
        &self.inner.state.hub
    }

    /// Waits for the library's background tasks once told to stop: the webhook worker
    /// finishes the delivery it is sending, up to the grace period.
    pub(crate) async fn wait_for_background(&self) {
        let stopping = lock(&self.inner.stopping).take();
        if let Some(stopping) = stopping {
            let _ = stopping.await;
        }
        #[cfg(feature = "socketio")]
        if let Some(socketio) = &self.inner.socketio {
            socketio.closed().await;
        }
    }

    /// The library.
    pub(crate) fn helpdesk(&self) -> &Helpdesk {
        &self.inner.state.hd
    }

    fn respond<B>(&self, req: Request<B>) -> ResponseFuture
    where
        B: hyper::body::Body + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let req = req.map(box_body);
        #[cfg(feature = "socketio")]
        if let Some(socketio) = &self.inner.socketio {
            return socketio.call(req);
        }
        let api = self.inner.api.clone();
        Box::pin(async move { Ok(api.handle(req).await) })
    }
}

impl<B> tower_service::Service<Request<B>> for HelpdeskService
where
    B: hyper::body::Body + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Resp;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> ResponseFuture {
        self.respond(req)
    }
}

impl<B> hyper::service::Service<Request<B>> for HelpdeskService
where
    B: hyper::body::Body + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Resp;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request<B>) -> ResponseFuture {
        self.respond(req)
    }
}

fn request_id<B>(req: &Request<B>) -> HeaderValue {
    req.headers()
        .get(X_REQUEST_ID)
        .filter(|v| {
            let b = v.as_bytes();
            !b.is_empty() && b.len() <= 200 && b.iter().all(|c| c.is_ascii_graphic())
        })
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
                .unwrap_or(HeaderValue::from_static("-"))
        })
}

impl Api {
    /// The peer's address from the request's [`ClientAddr`], else [`UNKNOWN_CLIENT`].
    fn peer(&self, extensions: &http::Extensions) -> IpAddr {
        match extensions.get::<ClientAddr>() {
            Some(ClientAddr(ip)) => *ip,
            None => {
                if !self.warned_no_addr.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "a request came without a ClientAddr extension: such requests count \
                         as one client (0.0.0.0) for the failed-login limits"
                    );
                }
                UNKNOWN_CLIENT
            }
        }
    }

    async fn handle(&self, req: Request<RequestBody>) -> Resp {
        let state = &self.state;
        let started = Instant::now();
        let rid = request_id(&req);
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .filter(|o| state.config.cors_allows(o))
            .and_then(|o| o.to_str().ok())
            .map(str::to_string);
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let matched = self.router.find(&path);
        let route = matched
            .as_ref()
            .map_or("unmatched", |m| m.route.pattern.as_str());

        let mut resp = match &matched {
            None => ApiError::not_found().into_response(),
            Some(m) if method == Method::OPTIONS => {
                let mut r = empty(StatusCode::NO_CONTENT);
                let allow = m.route.allow();
                if let Ok(v) = HeaderValue::from_str(&allow) {
                    r.headers_mut().insert(header::ALLOW, v.clone());
                    if origin.is_some() {
                        let h = r.headers_mut();
                        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
                        h.insert(
                            header::ACCESS_CONTROL_ALLOW_HEADERS,
                            HeaderValue::from_static("Authorization, Content-Type, X-Request-Id"),
                        );
                        h.insert(
                            header::ACCESS_CONTROL_MAX_AGE,
                            HeaderValue::from_static("600"),
                        );
                    }
                }
                r
            }
            Some(m) => match m.route.handler(&method) {
                None => ApiError::method_not_allowed(m.route.allow()).into_response(),
                Some(handler) => {
                    let (parts, body) = req.into_parts();
                    let forwarded = parts
                        .headers
                        .get("x-forwarded-for")
                        .and_then(|v| v.to_str().ok());
                    let client_ip = state.client_ip(self.peer(&parts.extensions), forwarded);
                    match Query::parse(parts.uri.query()) {
                        Err(e) => e.into_response(),
                        Ok(query) => {
                            let ctx = Ctx {
                                state: state.clone(),
                                parts,
                                body: BodySlot::new(body),
                                params: m.params.clone(),
                                client_ip,
                                query,
                            };
                            let fut = handler(ctx);
                            match AssertUnwindSafe(fut).catch_unwind().await {
                                Ok(Ok(r)) => r,
                                Ok(Err(e)) => e.into_response(),
                                Err(_) => {
                                    tracing::error!(route, "handler panicked");
                                    ApiError::internal().into_response()
                                }
                            }
                        }
                    }
                }
            },
        };

        let headers = resp.headers_mut();
        headers.insert(X_REQUEST_ID, rid.clone());
        if let Some(o) = origin
            && let Ok(v) = HeaderValue::from_str(&o)
        {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("X-Request-Id, Location, Retry-After"),
            );
            headers.append(header::VARY, HeaderValue::from_static("Origin"));
        }
        let status = resp.status().as_u16();
        let took = started.elapsed();
        state.metrics.record(route, method.as_str(), status, took);
        tracing::info!(
            request_id = rid.to_str().unwrap_or("-"),
            method = %method,
            route,
            status,
            micros = took.as_micros() as u64,
            "request"
        );
        resp
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use helpdesk_core::store::memory::MemoryStore;
    use helpdesk_core::{Config, Helpdesk};
    use http::{Request, StatusCode, header};
    use http_body_util::{BodyExt, Full};
    use tower_service::Service as _;

    use super::{ClientAddr, service};
    use crate::state::ServerConfig;

    async fn support() -> super::HelpdeskService {
        let hd = Helpdesk::new(Arc::new(MemoryStore::new()), Config::for_tests());
        let config = ServerConfig {
            base_path: "support/".into(),
            webhook_worker: false,
            ..ServerConfig::default()
        };
        service(hd, config).await
    }

    fn post(path: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
        let mut req = Request::post(path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(body.into()))
            .unwrap();
        req.extensions_mut()
            .insert(ClientAddr("192.0.2.1".parse().unwrap()));
        req
    }

    /// A body that is not hyper's `Incoming` reaches the handlers, under the base path,
    /// and the JSON limit still holds.
    #[tokio::test]
    async fn any_body_under_the_base_path() {
        let mut svc = support().await;
        assert_eq!(svc.base_path(), "/support");
        let signup =
            r#"{"email": "carol@example.com", "password": "password123", "name": "Carol"}"#;
        let resp = svc
            .call(post("/support/auth/signup", signup))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);
        let location = resp.headers()[header::LOCATION].to_str().unwrap();
        assert!(location.starts_with("/support/users/"), "{location}");

        let resp = svc.call(post("/api/auth/signup", signup)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);

        let big = vec![b' '; crate::request::JSON_LIMIT + 1];
        let resp = svc.call(post("/support/auth/login", big)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);

        let resp = svc
            .call(
                Request::get("/support/openapi.yaml")
                    .body(Full::new(Bytes::new()))
                    .unwrap(),
            )
            .await
            .unwrap();
        let doc = resp.into_body().collect().await.unwrap().to_bytes();
        let doc = std::str::from_utf8(&doc).unwrap();
        assert!(doc.contains("\n  /support/auth/signup:\n"));
        assert!(doc.contains("\n  /healthz:\n"));
        assert!(!doc.contains("/api/"));
        svc.shutdown().await;
    }
}
