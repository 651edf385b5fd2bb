//! The one place where errors become HTTP answers: RFC 9457 problem details
//! (`application/problem+json`) with a stable snake_case `code`.

use helpdesk_core::scope::Scopes;
use helpdesk_core::{Error, ErrorKind, FieldError, StoreError};
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
    /// The scopes an API key lacked (403 `insufficient_scope`): the problem member
    /// `required_scopes` and the `WWW-Authenticate` challenge.
    pub required_scopes: Option<Scopes>,
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
            required_scopes: None,
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

    /// The problem details object (the body of [`ApiError::into_response`]; bulk
    /// answers hold one per failed item).
    pub fn problem_json(&self) -> serde_json::Value {
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
        if let Some(scopes) = self.required_scopes {
            body["required_scopes"] = json!(scopes);
        }
        body
    }

    /// The problem+json response.
    pub fn into_response(self) -> Resp {
        let body = self.problem_json();
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
        if let Some(scopes) = self.required_scopes {
            // RFC 6750 §3: the scopes as one space-separated list.
            let challenge = format!("Bearer error=\"insufficient_scope\", scope=\"{scopes}\"");
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        resp
    }
}

/// The status of each kind of error.
fn status_of(kind: ErrorKind) -> StatusCode {
    use StatusCode as S;
    match kind {
        ErrorKind::Unauthorized => S::UNAUTHORIZED,
        ErrorKind::Forbidden => S::FORBIDDEN,
        ErrorKind::NotFound => S::NOT_FOUND,
        ErrorKind::Invalid => S::UNPROCESSABLE_ENTITY,
        ErrorKind::Conflict => S::CONFLICT,
        ErrorKind::TooLarge => S::PAYLOAD_TOO_LARGE,
        ErrorKind::RateLimited => S::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => S::SERVICE_UNAVAILABLE,
        _ => S::INTERNAL_SERVER_ERROR,
    }
}

impl From<Error> for ApiError {
    /// The status comes from [`Error::kind`], the code from [`Error::code`]; the detail is
    /// the error's own text except where the API words it for a caller who cannot act on
    /// the library's wording (and where a fault must not leak its cause).
    fn from(e: Error) -> Self {
        let (kind, code) = (e.kind(), e.code());
        match e {
            Error::ForbiddenField(field) => return ApiError::forbidden_field(&field),
            Error::UnknownField(field) => return ApiError::unknown_field(&field),
            Error::PayloadTooLarge { limit } => return ApiError::too_large(limit),
            _ => {}
        }
        let detail = match &e {
            Error::Unauthorized => "missing or invalid credentials".to_string(),
            Error::TokenExpired => "the access token has expired".to_string(),
            Error::Forbidden(reason)
            | Error::Conflict(reason)
            | Error::InUse(reason)
            | Error::DomainTaken(reason) => reason.clone(),
            Error::NotFound | Error::Store(StoreError::NotFound) => "no such resource".to_string(),
            Error::EmailTaken => "the email address is taken".to_string(),
            Error::SlugTaken => "the slug is taken".to_string(),
            Error::NameTaken => "the name is taken".to_string(),
            Error::ShortcutTaken => "the shortcut is taken by another canned reply".to_string(),
            Error::AddressTaken => "the address is taken by another mailbox".to_string(),
            Error::RateLimited { .. } => "too many requests, try again later".to_string(),
            Error::InsufficientScope(scopes) => {
                format!("the API key needs one of these scopes: {scopes}")
            }
            Error::Store(StoreError::Unavailable(source)) => {
                tracing::warn!(error = %source, "store unavailable");
                "the store is unavailable, try again later".to_string()
            }
            _ if kind == ErrorKind::Internal => {
                tracing::error!(error = %e, source = ?std::error::Error::source(&e), "internal error");
                return ApiError::internal();
            }
            other => other.to_string(),
        };
        let mut api = ApiError::new(status_of(kind), code, detail);
        match e {
            Error::Validation(errors) => api.errors = errors,
            Error::RateLimited { retry_after_secs } => api.retry_after = Some(retry_after_secs),
            Error::InsufficientScope(scopes) => api.required_scopes = Some(scopes),
            _ => {}
        }
        api
    }
}

/// A handler's result.
pub type ApiResult<T = Resp> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insufficient_scope_names_the_scopes_in_body_and_challenge() {
        use helpdesk_core::scope::Scope;
        let need = Scopes::one(Scope::TicketsWrite).with(Scope::MessagesWrite);
        let resp = ApiError::from(Error::InsufficientScope(need)).into_response();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            resp.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"insufficient_scope\", scope=\"messages:write tickets:write\""
        );
        let e = ApiError::from(Error::InsufficientScope(need));
        assert_eq!(e.code, "insufficient_scope");
        assert_eq!(e.required_scopes, Some(need));
    }

    #[test]
    fn group_conflicts_keep_their_codes() {
        let taken = ApiError::from(Error::NameTaken);
        assert_eq!(
            (taken.status, taken.code),
            (StatusCode::CONFLICT, "name_taken")
        );
        let in_use = ApiError::from(Error::InUse("the group holds tickets".into()));
        assert_eq!(
            (in_use.status, in_use.code),
            (StatusCode::CONFLICT, "in_use")
        );
        assert_eq!(in_use.detail, "the group holds tickets");
        let shortcut = ApiError::from(Error::ShortcutTaken);
        assert_eq!(
            (shortcut.status, shortcut.code),
            (StatusCode::CONFLICT, "shortcut_taken")
        );
        let domain = ApiError::from(Error::DomainTaken("acme.com is listed".into()));
        assert_eq!(
            (domain.status, domain.code, domain.detail.as_str()),
            (StatusCode::CONFLICT, "domain_taken", "acme.com is listed")
        );
    }
}
