//! The mountable server: [`service()`] makes a [`HelpdeskService`], a tower and a hyper
//! `Service` over requests with any body, which any host can call: [`crate::serve`]'s
//! own connections, an axum router, a hyper-util server. Here: Socket.IO in front of the
//! API's dispatch (`api_service.rs`) and the background work a running API needs (the
//! WebSocket event fan-out, typing and presence, the upload sweeper, the webhook
//! worker) with its shutdown.

use helpdesk_core::email::MailTransport;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use helpdesk_core::{Background, BackgroundTasks, Helpdesk};
use http::Request;
use tokio::task::JoinHandle;

use crate::api_service::{ApiService, ResponseFuture};
use crate::request::box_body;
use crate::response::{BoxError, Resp};
use crate::router::Router;
use crate::state::{AppState, ServerConfig, normalize_base_path};
use crate::ws::dispatch;
use crate::ws::hub::Hub;

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
/// From the request's [`crate::ClientAddr`] extension; see there.
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

/// The work that stops when the shutdown begins.
struct Running {
    /// The WebSocket event fan-out.
    dispatcher: JoinHandle<()>,
    /// `typing` and `presence` from the library's ephemeral channel to the sockets.
    relay: JoinHandle<()>,
    /// The library's sweeper and webhook worker.
    background: BackgroundTasks,
    /// The IMAP pollers, when [`ServerConfig::mail_worker`].
    imap: Option<crate::imap::ImapPollers>,
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
                if let Some(imap) = running.imap {
                    imap.shutdown(grace).await;
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
    let send_mail = config.mail_worker;
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
        mail: send_mail.then(|| Arc::new(crate::mail::SmtpSender) as Arc<dyn MailTransport>),
        ..Background::for_helpdesk(&hd)
    });

    let api = ApiService::new(state.clone(), router);
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
                imap: send_mail.then(|| crate::imap::ImapPollers::spawn(hd)),
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use helpdesk_core::store::memory::MemoryStore;
    use helpdesk_core::{Config, Helpdesk};
    use http::{Request, StatusCode, header};
    use http_body_util::{BodyExt, Full};
    use tower_service::Service as _;

    use super::service;
    use crate::api_service::ClientAddr;
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
