//! Operations endpoints: liveness, readiness, metrics, the OpenAPI document.

use bytes::Bytes;
use http::StatusCode;
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::request::Ctx;
use crate::response::{full, ok};

/// The OpenAPI 3.1 document of this API, with the API under `/api`.
pub const OPENAPI_YAML: &str = include_str!("../../../docs/openapi.yaml");

/// The OpenAPI document as served with the API under `base` (a normalized base path):
/// its paths, and the paths its descriptions name, moved from `/api` to `base`. The
/// operations endpoints stay at the root, as they do in the routes.
pub fn openapi_document(base: &str) -> Bytes {
    if base == crate::state::DEFAULT_BASE_PATH {
        return Bytes::from_static(OPENAPI_YAML.as_bytes());
    }
    // Every `/api/` of the document starts a path: a path key (`  /api/tickets:`) or a
    // path named in a description (`` `POST /api/auth/login` ``).
    OPENAPI_YAML
        .replace(" /api/", &format!(" {base}/"))
        .replace("`/api/", &format!("`{base}/"))
        .into()
}

/// `GET /healthz`: the process is up.
pub async fn healthz(_ctx: Ctx) -> ApiResult {
    Ok(ok(json!({"status": "ok"})))
}

/// `GET /readyz`: the store answers, else 503.
pub async fn readyz(ctx: Ctx) -> ApiResult {
    match ctx.state.hd.store().ping().await {
        Ok(()) => Ok(ok(json!({"status": "ready"}))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the store is not reachable",
            ))
        }
    }
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(ctx: Ctx) -> ApiResult {
    Ok(full(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        ctx.state.metrics.render() + &ctx.state.hub.render_metrics(),
    ))
}

/// `GET /api/openapi.yaml`: the document with its paths under the base path.
pub async fn openapi(ctx: Ctx) -> ApiResult {
    Ok(full(
        StatusCode::OK,
        "application/yaml; charset=utf-8",
        ctx.state.openapi.clone(),
    ))
}
