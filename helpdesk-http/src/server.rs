//! The accept loop, per-request dispatch (request ids, CORS, 404/405, panics caught,
//! metrics, logs) and graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;
use helpdesk_core::Helpdesk;
use http::{HeaderValue, Method, Request, StatusCode, header};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::error::ApiError;
use crate::request::{Ctx, Query};
use crate::response::{Resp, empty};
use crate::router::Router;
use crate::state::{AppState, ServerConfig};
use crate::ws::dispatch;
use crate::ws::hub::Hub;

const X_REQUEST_ID: &str = "x-request-id";

/// Serves the API on `listener` until `shutdown` completes, then stops accepting,
/// lets requests in flight finish and WebSockets close with 1001 (together up to
/// [`ServerConfig::shutdown_grace`]) and returns.
pub async fn serve(
    listener: TcpListener,
    hd: Helpdesk,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let grace = config.shutdown_grace;
    let sweep_every = config.sweep_interval;
    let run_worker = config.webhook_worker;
    let hub = Arc::new(Hub::default());
    hub.start(&hd);
    // Subscribed before the first accept (when the store answers), so every socket gets
    // every later event.
    let subscription = hd.subscribe().await;
    if let Ok(s) = &subscription {
        hub.start_at(s.after());
    }
    let dispatcher = tokio::spawn(dispatch::run(hd.clone(), hub.clone(), subscription));
    let state = Arc::new(AppState {
        hd: hd.clone(),
        config,
        metrics: crate::metrics::Metrics::default(),
        hub: hub.clone(),
    });
    let router = Arc::new(Router::new());
    // Connections watch `stopping` and each holds a clone of `open`; when the last
    // clone is gone, `closed` yields None. (hyper-util's GracefulShutdown does not take
    // connections with upgrades.) A connection ends when it upgrades: the WebSocket's
    // task, tracked by the hub, goes on.
    let (stopping, _) = tokio::sync::watch::channel(false);
    let (open, mut closed) = tokio::sync::mpsc::channel::<()>(1);

    match hd.has_no_users().await {
        Ok(true) => tracing::warn!(
            "no users yet: create the first admin with `helpdesk user create --role admin --email <email> --name <name> --password-stdin`"
        ),
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "could not count users"),
    }

    let sweeper = tokio::spawn(async move {
        let mut tick = tokio::time::interval(sweep_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match hd.sweep_unattached().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "swept unattached uploads"),
                Err(e) => tracing::warn!(error = %e, "sweeping unattached uploads failed"),
            }
        }
    });

    let (stop_worker, worker_stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = run_worker.then(|| {
        let hd = state.hd.clone();
        let transport = Arc::new(helpdesk_core::webhook::HttpTransport::new(
            hd.config().webhooks_allow_private,
        ));
        tokio::spawn(async move {
            hd.run_webhook_worker(transport, async move {
                let _ = worker_stopped.await;
            })
            .await;
        })
    });

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let state = state.clone();
                let router = router.clone();
                let service = service_fn(move |req: Request<Incoming>| {
                    let state = state.clone();
                    let router = router.clone();
                    async move { Ok::<_, Infallible>(handle(state, router, req, peer).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(std::time::Duration::from_secs(30))
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades();
                let mut stop = stopping.subscribe();
                let open = open.clone();
                tokio::spawn(async move {
                    let mut conn = std::pin::pin!(conn);
                    let result = tokio::select! {
                        r = conn.as_mut() => r,
                        _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                            conn.as_mut().graceful_shutdown();
                            conn.await
                        }
                    };
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    drop(open);
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    sweeper.abort();
    dispatcher.abort();
    hub.close_all();
    let _ = stop_worker.send(());
    tracing::info!("shutting down: finishing requests in flight");
    stopping.send_replace(true);
    drop(open);
    // HTTP connections first: an upgrade starts its WebSocket's task before its
    // connection ends, so none starts after them. Then the WebSockets' tasks, told by
    // `close_all` to send 1001 and end. One deadline for both.
    let drained = async {
        let _ = closed.recv().await;
        hub.closed().await;
    };
    tokio::select! {
        _ = drained => tracing::info!("all connections closed"),
        _ = tokio::time::sleep(grace) => tracing::warn!("shutdown deadline passed; closing remaining connections"),
    }
    if let Some(worker) = worker {
        let _ = tokio::time::timeout(grace, worker).await;
    }
    Ok(())
}

/// A server running in the background on a loopback port (tests, embedding).
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// The absolute URL of a path on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
    /// Stops the server gracefully and waits for it.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task)
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `127.0.0.1:0` and serves in a background task.
pub async fn spawn(hd: Helpdesk, config: ServerConfig) -> std::io::Result<RunningServer> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, hd, config, async move {
        let _ = stopped.await;
    }));
    Ok(RunningServer {
        addr,
        stop: Some(stop),
        task,
    })
}

fn request_id(req: &Request<Incoming>) -> HeaderValue {
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

async fn handle(
    state: Arc<AppState>,
    router: Arc<Router>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Resp {
    let started = Instant::now();
    let rid = request_id(&req);
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| state.config.cors_origins.iter().any(|a| a == o))
        .map(str::to_string);
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let matched = router.find(&path);
    let route = matched.as_ref().map_or("unmatched", |m| m.route.pattern);

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
                let client_ip: IpAddr = state.client_ip(peer.ip(), forwarded);
                match Query::parse(parts.uri.query()) {
                    Err(e) => e.into_response(),
                    Ok(query) => {
                        let ctx = Ctx {
                            state: state.clone(),
                            parts,
                            body: Some(body),
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
