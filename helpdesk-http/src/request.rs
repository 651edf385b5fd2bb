//! The request context handlers receive: path parameters, query parameters, the bearer
//! principal, and JSON bodies checked in API.md's order (syntax 400 first, unknown fields
//! 422 and types 422 only when the handler asks, after its 401/403/404 checks). Also the
//! one request body type every handler reads, whatever body the host's server gives.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use helpdesk_core::scope::Scopes;
use helpdesk_core::{Cursor, NameCursor, Principal};
use http::header;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Limited};
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::response::BoxError;
use crate::state::AppState;

/// A request body as handlers read it: the body of any server (hyper's `Incoming`,
/// axum's `Body`, ...) boxed once at the edge. Still a stream: nothing is buffered
/// until a handler reads it, and then only up to its limit.
pub type RequestBody = UnsyncBoxBody<Bytes, BodyError>;

/// Boxes any body into a [`RequestBody`], chunk by chunk (a `Bytes` chunk is moved,
/// not copied).
pub fn box_body<B>(body: B) -> RequestBody
where
    B: hyper::body::Body + Send + 'static,
    B::Error: Into<BoxError>,
{
    body.map_frame(|frame| frame.map_data(|mut data| data.copy_to_bytes(data.remaining())))
        .map_err(|e| BodyError(e.into()))
        .boxed_unsync()
}

/// The host server's error reading a request body (a broken connection).
///
/// A type of its own rather than a bare `Box<dyn Error>`: `Limited` needs the body's
/// error to convert into a boxed error, and for a boxed error itself that conversion is
/// the identity, which the compiler cannot prove `Send` inside the handlers' futures.
#[derive(Debug)]
pub struct BodyError(pub BoxError);

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "reading the request body failed: {}", self.0)
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// Largest JSON body, in bytes.
pub const JSON_LIMIT: usize = 1024 * 1024;

/// Where a request's body waits until a handler takes it.
///
/// Handlers hold `&Ctx` across awaits, so [`Ctx`] must be `Sync`, but the bodies of
/// other servers are only `Send` (axum's is): the mutex makes the slot `Sync` and is
/// never locked, only reached through `&mut`.
#[derive(Default)]
pub struct BodySlot(std::sync::Mutex<Option<RequestBody>>);

impl BodySlot {
    /// A slot holding `body`.
    pub fn new(body: RequestBody) -> Self {
        BodySlot(std::sync::Mutex::new(Some(body)))
    }

    /// The body; `None` once taken.
    pub fn take(&mut self) -> Option<RequestBody> {
        self.0.get_mut().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Everything a handler gets about its request.
pub struct Ctx {
    /// The shared server state.
    pub state: Arc<AppState>,
    /// Method, URI, headers.
    pub parts: http::request::Parts,
    /// The body, until a handler takes it.
    pub body: BodySlot,
    /// Path parameters by name.
    pub params: Vec<(String, String)>,
    /// The client's address (the peer, or the trusted proxy's `X-Forwarded-For` entry).
    pub client_ip: IpAddr,
    /// Parsed query parameters.
    pub query: Query,
    /// What an API key needs to call this route (the route table's
    /// [`need`](crate::router::need)): any one of these scopes.
    pub needs: Scopes,
}

impl Ctx {
    /// A path parameter as a UUID (400 `invalid_id` when malformed).
    pub fn id(&self, name: &str) -> ApiResult<Uuid> {
        let raw = self.param(name);
        Uuid::try_parse(raw).map_err(|_| ApiError::invalid_id(name))
    }

    /// A path parameter as text.
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// The bearer token, when an `Authorization` header is present.
    fn bearer(&self) -> Option<ApiResult<&str>> {
        let value = self.parts.headers.get(header::AUTHORIZATION)?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty());
        Some(token.ok_or_else(ApiError::unauthorized))
    }

    /// The authenticated caller: 401 without a valid access token or API key; 403
    /// `insufficient_scope` for a key without the route's scope ([`Ctx::needs`]), checked
    /// before anything else the handler checks; 429 over a key's request rate.
    pub async fn principal(&self) -> ApiResult<Principal> {
        let token = self.bearer().ok_or_else(ApiError::unauthorized)??;
        let p = self.state.hd.authenticate(token).await?;
        p.require_scope(self.needs)?;
        Ok(p)
    }

    /// The caller when a token is given (a given but bad token is still 401), for
    /// routes that need none: an API key without the route's scope counts as no token.
    pub async fn maybe_principal(&self) -> ApiResult<Option<Principal>> {
        match self.bearer() {
            None => Ok(None),
            Some(token) => {
                let p = self.state.hd.authenticate(token?).await?;
                Ok(p.require_scope(self.needs).is_ok().then_some(p))
            }
        }
    }

    /// The user a path's `{name}` names: `None` for `me` (the caller, known once the
    /// token is checked), else a UUID (400 `invalid_id` when malformed).
    pub fn user_param(&self, name: &str) -> ApiResult<Option<Uuid>> {
        match self.param(name) {
            "me" => Ok(None),
            _ => self.id(name).map(Some),
        }
    }

    /// True when the content type's media type is `expected`.
    pub fn content_type_is(&self, expected: &str) -> bool {
        self.parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case(expected))
    }

    /// Reads the JSON body: 415 for another content type, 413 above 1 MiB, 400 for bad
    /// syntax. Fields are checked later with [`JsonBody`]'s methods.
    pub async fn json(&mut self) -> ApiResult<JsonBody> {
        if !self.content_type_is("application/json") {
            return Err(ApiError::unsupported_media_type("application/json"));
        }
        let bytes = self.read_body(JSON_LIMIT).await?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::invalid_json(format!("the body is not valid JSON: {e}")))?;
        Ok(JsonBody(value))
    }

    /// Reads the whole body up to `limit` bytes (413 above).
    pub async fn read_body(&mut self, limit: usize) -> ApiResult<Bytes> {
        let Some(body) = self.body.take() else {
            return Ok(Bytes::new());
        };
        match Limited::new(body, limit).collect().await {
            Ok(c) => Ok(c.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                Err(ApiError::too_large(limit as u64))
            }
            Err(_) => Err(ApiError::invalid_json("the body could not be read")),
        }
    }
}

/// A syntactically valid JSON body whose fields are not checked yet.
#[derive(Debug)]
pub struct JsonBody(pub Value);

impl JsonBody {
    /// 422 `validation_failed` unless an object; 422 `unknown_field` for a key not in
    /// `known`.
    pub fn check(&self, known: &[&str]) -> ApiResult<()> {
        let Some(map) = self.0.as_object() else {
            return Err(ApiError::invalid("body", "must be a JSON object"));
        };
        match map.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(ApiError::unknown_field(k)),
            None => Ok(()),
        }
    }

    /// True when the field is present (even as `null`).
    pub fn has(&self, field: &str) -> bool {
        self.0.get(field).is_some()
    }

    /// 403 `forbidden_field` for the first of `fields` present, unless `allowed`.
    pub fn forbid_unless(&self, allowed: bool, fields: &[&str]) -> ApiResult<()> {
        if allowed {
            return Ok(());
        }
        match fields.iter().find(|f| self.has(f)) {
            Some(f) => Err(ApiError::forbidden_field(f)),
            None => Ok(()),
        }
    }

    /// Checks the keys and converts; a wrong type or a missing field is 422
    /// `validation_failed` naming the field.
    pub fn parse<T: DeserializeOwned>(self, known: &[&str]) -> ApiResult<T> {
        self.check(known)?;
        self.convert()
    }

    /// Converts without the key check (already done).
    pub fn convert<T: DeserializeOwned>(self) -> ApiResult<T> {
        serde_path_to_error::deserialize::<_, T>(self.0).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            let (field, message) = match inner.strip_prefix("missing field `") {
                Some(rest) => (
                    rest.trim_end_matches('`').to_string(),
                    "is required".to_string(),
                ),
                None => (
                    if path == "." {
                        "body".to_string()
                    } else {
                        path
                    },
                    inner,
                ),
            };
            ApiError::invalid(&field, message)
        })
    }
}

/// Decoded query parameters.
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses a raw query string: 400 `invalid_query` when a value holds a control
    /// character that text may not hold ([`helpdesk_core::text`]).
    pub fn parse(raw: Option<&str>) -> ApiResult<Self> {
        let pairs: Vec<(String, String)> = raw
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        for (name, value) in &pairs {
            if let Some(c) = helpdesk_core::text::first_refused(value) {
                return Err(ApiError::invalid_query(
                    name,
                    helpdesk_core::text::refusal(c),
                ));
            }
        }
        Ok(Query(pairs))
    }
    /// The last value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// Every parameter whose name starts with `prefix`, as (the rest of the name,
    /// value), in order.
    pub fn prefixed(&self, prefix: &str) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(prefix)
                    .map(|rest| (rest.to_string(), v.clone()))
            })
            .collect()
    }
    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    /// A non-empty text value.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }
    /// `limit`: 1..=200 (400 `invalid_query` otherwise).
    pub fn limit(&self) -> ApiResult<Option<usize>> {
        match self.get("limit") {
            None => Ok(None),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=helpdesk_core::page::MAX_LIMIT).contains(&n) => Ok(Some(n)),
                _ => Err(ApiError::invalid_query(
                    "limit",
                    "must be an integer between 1 and 200",
                )),
            },
        }
    }
    /// `cursor`: an opaque cursor (400 `invalid_query` when malformed).
    pub fn cursor(&self) -> ApiResult<Option<Cursor>> {
        match self.get("cursor") {
            None => Ok(None),
            Some(v) => Cursor::decode(v)
                .map(Some)
                .map_err(|_| ApiError::invalid_query("cursor", "is not a valid cursor")),
        }
    }
    /// `cursor` of a list ordered by name (400 `invalid_query` when malformed).
    pub fn name_cursor(&self) -> ApiResult<Option<NameCursor>> {
        match self.get("cursor") {
            None => Ok(None),
            Some(v) => NameCursor::decode(v)
                .map(Some)
                .map_err(|_| ApiError::invalid_query("cursor", "is not a valid cursor")),
        }
    }
    /// A UUID value.
    pub fn uuid(&self, name: &str) -> ApiResult<Option<Uuid>> {
        self.get(name)
            .map(|v| {
                Uuid::try_parse(v).map_err(|_| ApiError::invalid_query(name, "is not a valid UUID"))
            })
            .transpose()
    }
    /// A value parsed with `FromStr`.
    pub fn parsed<T: std::str::FromStr>(&self, name: &str, what: &str) -> ApiResult<Option<T>> {
        self.get(name)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|_| ApiError::invalid_query(name, what))
            })
            .transpose()
    }
    /// A boolean (`true`/`false`/`1`/`0`).
    pub fn bool(&self, name: &str) -> ApiResult<Option<bool>> {
        self.get(name)
            .map(|v| match v {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(ApiError::invalid_query(name, "must be true or false")),
            })
            .transpose()
    }
}
