//! Operations endpoints: liveness, readiness, metrics, the OpenAPI document.

use http::StatusCode;
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::request::Ctx;
use crate::response::{full, ok};

/// The OpenAPI 3.1 document of this API.
pub const OPENAPI_YAML: &str = include_str!("../../../docs/openapi.yaml");

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

/// `GET /api/openapi.yaml`.
pub async fn openapi(_ctx: Ctx) -> ApiResult {
    Ok(full(
        StatusCode::OK,
        "application/yaml; charset=utf-8",
        OPENAPI_YAML,
    ))
}
