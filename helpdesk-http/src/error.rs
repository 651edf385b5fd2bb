//! The one place where errors become HTTP answers: RFC 9457 problem details
//! (`application/problem+json`) with a stable snake_case `code`.

use helpdesk_core::{Error, FieldError, StoreError};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

use crate::response::{Resp, full};

/// An error answer: a status, a stable code, a human detail and optional field errors.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable machine-readable code.
    pub code: &'static str,
    /// A human-readable explanation.
    pub detail: String,
    /// Per-field problems (validation errors).
    pub errors: Vec<FieldError>,
    /// Seconds for `Retry-After` (429).
    pub retry_after: Option<u64>,
    /// Methods for `Allow` (405).
    pub allow: Option<String>,
}

impl ApiError {
    /// An error with a status, a code and a detail.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            allow: None,
        }
    }
    /// 400 `invalid_json`.
    pub fn invalid_json(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_json", detail)
    }
    /// 400 `invalid_id`.
    pub fn invalid_id(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            format!("`{name}` is not a valid UUID"),
        )
    }
    /// 400 `invalid_query`.
    pub fn invalid_query(name: &str, message: impl std::fmt::Display) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("query parameter `{name}` {message}"),
        );
        e.errors.push(FieldError {
            field: name.to_string(),
            message: message.to_string(),
        });
        e
    }
    /// 401 `unauthorized`.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid credentials",
        )
    }
    /// 403 `forbidden`.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }
    /// 403 `forbidden_field`.
    pub fn forbidden_field(field: &str) -> Self {
        let mut e = Self::new(
            StatusCode::FORBIDDEN,
            "forbidden_field",
            format!("field `{field}` may not be set by this role"),
        );
        e.errors.push(FieldError {
            field: field.to_string(),
            message: "may not be set by this role".into(),
        });
        e
    }
    /// 404 `not_found`.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }
    /// 405 with the allowed methods.
    pub fn method_not_allowed(allow: String) -> Self {
        let mut e = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this method is not allowed on this resource",
        );
        e.allow = Some(allow);
        e
    }
    /// 422 `unknown_field`.
    pub fn unknown_field(field: &str) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_field",
            format!("unknown field `{field}`"),
        );
        e.errors.push(FieldError {
            field: field.to_string(),
            message: "is not a known field".into(),
        });
        e
    }
    /// 422 `validation_failed` on one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::from(Error::invalid(field, message))
    }
    /// 413 `payload_too_large`.
    pub fn too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {limit} bytes"),
        )
    }
    /// 415 `unsupported_media_type`.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("the body must be {expected}"),
        )
    }
    /// 500 `internal`.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an unexpected error occurred",
        )
    }

    /// The problem+json response.
    pub fn into_response(self) -> Resp {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let mut body = json!({
            "type": "about:blank",
            "title": title,
            "status": self.status.as_u16(),
            "detail": self.detail,
            "code": self.code,
        });
        if !self.errors.is_empty() {
            body["errors"] = json!(self.errors);
        }
        let mut resp = full(
            self.status,
            "application/problem+json",
            serde_json::to_vec(&body).unwrap_or_default(),
        );
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        if let Some(allow) = self.allow
            && let Ok(v) = HeaderValue::from_str(&allow)
        {
            resp.headers_mut().insert(header::ALLOW, v);
        }
        resp
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        use StatusCode as S;
        match e {
            Error::Unauthorized => ApiError::unauthorized(),
            Error::TokenExpired => ApiError::new(
                S::UNAUTHORIZED,
                "token_expired",
                "the access token has expired",
            ),
            Error::Forbidden(reason) => ApiError::forbidden(reason),
            Error::ForbiddenField(field) => ApiError::forbidden_field(&field),
            Error::NotFound => ApiError::not_found(),
            Error::Validation(errors) => {
                let detail = errors
                    .iter()
                    .map(|f| format!("{} {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut e = ApiError::new(S::UNPROCESSABLE_ENTITY, "validation_failed", detail);
                e.errors = errors;
                e
            }
            Error::UnknownField(field) => ApiError::unknown_field(&field),
            Error::Conflict(what) => ApiError::new(S::CONFLICT, "conflict", what),
            Error::EmailTaken => {
                ApiError::new(S::CONFLICT, "email_taken", "the email address is taken")
            }
            Error::SlugTaken => ApiError::new(S::CONFLICT, "slug_taken", "the slug is taken"),
            e @ Error::InvalidTransition { .. } => {
                ApiError::new(S::CONFLICT, "invalid_transition", e.to_string())
            }
            Error::TicketClosed => {
                ApiError::new(S::CONFLICT, "ticket_closed", "the ticket is closed")
            }
            Error::PayloadTooLarge { limit } => ApiError::too_large(limit),
            Error::RateLimited { retry_after_secs } => {
                let mut e = ApiError::new(
                    S::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "too many attempts, try again later",
                );
                e.retry_after = Some(retry_after_secs);
                e
            }
            Error::Store(StoreError::NotFound) => ApiError::not_found(),
            Error::Store(StoreError::Conflict(what)) => {
                ApiError::new(S::CONFLICT, "conflict", format!("conflict: {what}"))
            }
            Error::Store(StoreError::Unavailable(source)) => {
                tracing::warn!(error = %source, "store unavailable");
                ApiError::new(
                    S::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the store is unavailable, try again later",
                )
            }
            other => {
                tracing::error!(error = %other, source = ?std::error::Error::source(&other), "internal error");
                ApiError::internal()
            }
        }
    }
}

/// A handler's result.
pub type ApiResult<T = Resp> = Result<T, ApiError>;
