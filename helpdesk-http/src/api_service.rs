//! The API's own dispatch, one request in, one answer out: request ids, the client's
//! address, CORS, routing (404/405), panics caught, metrics and logs. The mountable
//! server ([`crate::service()`]) and Socket.IO (which wraps it) both call it.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use futures_util::FutureExt;
use http::{HeaderValue, Method, Request, StatusCode, header};

use crate::error::ApiError;
use crate::request::{BodySlot, Ctx, Query, RequestBody};
use crate::response::{Resp, empty};
use crate::router::Router;
use crate::state::AppState;

const X_REQUEST_ID: &str = "x-request-id";

/// The future of a [`crate::HelpdeskService`] call. It never fails: every error is an
/// answer.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Result<Resp, Infallible>> + Send>>;

/// The client's address, put in a request's extensions by whoever accepted the
/// connection: [`crate::serve`] does; a host calling a [`crate::HelpdeskService`] itself
/// inserts it (with axum, from `ConnectInfo<SocketAddr>`; see `examples/mount_axum.rs`).
///
/// The failed-login limits count per client address. A request without one counts as
/// coming from `0.0.0.0`, all together: stricter than the truth, never laxer. Not
/// `127.0.0.1`, which deployments list among their trusted proxies, so that any client
/// could choose its address with `X-Forwarded-For`. When the service sits behind a proxy
/// that gives no address (a Unix socket), list `0.0.0.0/32` in
/// [`crate::ServerConfig::trusted_proxies`] to take the client from the proxy's
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
    /// The dispatch of `state`'s API over `router`.
    pub(crate) fn new(state: Arc<AppState>, router: Router) -> Self {
        ApiService(Arc::new(Api {
            state,
            router,
            warned_no_addr: AtomicBool::new(false),
        }))
    }

    /// Answers a request of the API (a problem+json 404 outside it).
    pub(crate) async fn handle(&self, req: Request<RequestBody>) -> Resp {
        self.0.handle(req).await
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
            Some(m) => match m.route.endpoint(&method) {
                None => ApiError::method_not_allowed(m.route.allow()).into_response(),
                Some(endpoint) => {
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
                                needs: endpoint.needs,
                            };
                            let fut = (endpoint.handler)(ctx);
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
