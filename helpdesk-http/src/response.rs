//! Response bodies and the small constructors every handler uses.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use serde::Serialize;

/// The boxed error type of response bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
/// The response body: a full buffer or a stream of chunks.
pub type Body = UnsyncBoxBody<Bytes, BoxError>;
/// A response.
pub type Resp = Response<Body>;

/// The JSON content type of every JSON answer.
pub const JSON: &str = "application/json; charset=utf-8";

/// A response with a whole body.
pub fn full(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(
        Full::new(body.into())
            .map_err(|e| match e {})
            .boxed_unsync(),
    );
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// A JSON answer, serialized straight from the rendering into the body's buffer.
pub fn json(status: StatusCode, value: &impl Serialize) -> Resp {
    let mut buf = Vec::with_capacity(1024);
    let rendered = serde_json::to_writer(&mut buf, value).map(|()| buf);
    json_rendered(status, rendered)
}

/// A JSON answer rendered already (as a kept search answer is).
pub fn json_rendered(status: StatusCode, rendered: serde_json::Result<impl Into<Bytes>>) -> Resp {
    match rendered {
        Ok(body) => full(status, JSON, body),
        Err(e) => {
            // Only a map with non-string keys fails, which no rendering has.
            tracing::error!(error = %e, "a response did not serialize");
            empty(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// 200 with JSON.
pub fn ok(value: impl Serialize) -> Resp {
    json(StatusCode::OK, &value)
}

/// 201 with JSON and `Location`.
pub fn created(location: &str, value: impl Serialize) -> Resp {
    let mut r = json(StatusCode::CREATED, &value);
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A response with no body.
pub fn empty(status: StatusCode) -> Resp {
    let mut r = Response::new(
        Full::new(Bytes::new())
            .map_err(|e| match e {})
            .boxed_unsync(),
    );
    *r.status_mut() = status;
    r
}

/// 204.
pub fn no_content() -> Resp {
    empty(StatusCode::NO_CONTENT)
}
