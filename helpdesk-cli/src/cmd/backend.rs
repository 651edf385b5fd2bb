//! How a command reaches the helpdesk: [`Backend::Local`] opens the store and calls the
//! library as the actor (`--as`, else the system); [`Backend::Remote`] calls a running
//! server's HTTP API with an admin token.

use helpdesk_core::{Config, Cursor, ErrorKind, Helpdesk, Page, Principal};
use reqwest::Method;
use serde_json::Value;

use super::AdminArgs;
use super::error::{CliError, CliResult, Exit};

/// The way to the helpdesk.
pub enum Backend {
    /// The library over a store this process opened.
    Local {
        /// The library.
        hd: Helpdesk,
        /// Who acts.
        actor: Principal,
    },
    /// A server's HTTP API.
    Remote(Remote),
}

impl Backend {
    /// Opens the store named by `store_spec`, or prepares HTTP calls to `--url`.
    /// `webhooks_allow_private` is `serve`'s switch of the same name, for a local store.
    pub async fn connect(
        global: &AdminArgs,
        store_spec: &str,
        webhooks_allow_private: bool,
    ) -> CliResult<Backend> {
        if let Some(url) = &global.url {
            if global.as_email.is_some() {
                return Err(CliError::invalid(
                    "--as works on a local store only: over --url the token's user is the actor",
                ));
            }
            let Some(token) = global.token.clone().filter(|t| !t.trim().is_empty()) else {
                return Err(CliError::new(
                    Exit::NotAllowed,
                    "--url needs an admin's access token in HELPDESK_TOKEN (or --token)",
                ));
            };
            let base = url.trim_end_matches('/').to_string();
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                return Err(CliError::invalid(format!(
                    "--url `{url}` must start with http:// or https://"
                )));
            }
            return Ok(Backend::Remote(Remote {
                base,
                token,
                http: reqwest::Client::new(),
            }));
        }
        let store = crate::store::open_store(store_spec).await?;
        let config = Config {
            webhooks_allow_private,
            ..Config::default()
        };
        let hd = Helpdesk::new(store, config);
        let actor = match &global.as_email {
            None => Principal::system(),
            Some(email) => {
                let u = hd
                    .find_user_by_email(&Principal::system(), email)
                    .await
                    .map_err(|e| match CliError::from(e) {
                        e if e.is_not_found() => {
                            CliError::not_found(format!("--as {email}: no such user"))
                        }
                        e => e,
                    })?;
                if !u.role.is_staff() || !u.is_active {
                    return Err(CliError::new(
                        Exit::NotAllowed,
                        format!("--as {email}: only an active admin or agent can act here"),
                    ));
                }
                Principal::user(u.id, u.role)
            }
        };
        Ok(Backend::Local { hd, actor })
    }
}

/// A server's HTTP API, called with a bearer token.
pub struct Remote {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Remote {
    /// A request builder for `path` (which starts with `/api/`).
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// Sends a request; a 2xx answer's JSON (null when empty), else the problem as an
    /// error.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> CliResult<Value> {
        let resp = req.send().await.map_err(|e| self.unreachable(e))?;
        let resp = check(resp).await?;
        let bytes = resp.bytes().await.map_err(|e| self.unreachable(e))?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            CliError::new(
                Exit::Failure,
                format!("the server's answer is not JSON: {e}"),
            )
        })
    }

    /// A JSON call.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> CliResult<Value> {
        let mut req = self.request(method, path);
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    /// Every item of a paged list, following `next_cursor` (`path` has its query).
    pub async fn walk(&self, path: &str) -> CliResult<Vec<Value>> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut p = format!("{path}{sep}limit=200");
            if let Some(c) = &cursor {
                p.push_str(&format!("&cursor={}", encode(c)));
            }
            let page = self.call(Method::GET, &p, None).await?;
            out.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return Ok(out),
            }
        }
    }

    pub(crate) fn unreachable(&self, e: reqwest::Error) -> CliError {
        CliError::new(
            Exit::Unavailable,
            format!("cannot reach the server at {}: {e}", self.base),
        )
    }
}

/// Turns a non-2xx answer into an error with the problem's detail and exit code.
pub async fn check(resp: reqwest::Response) -> CliResult<reqwest::Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let problem: Value = resp.json().await.unwrap_or(Value::Null);
    let detail = problem["detail"]
        .as_str()
        .or(problem["title"].as_str())
        .unwrap_or(status.canonical_reason().unwrap_or("error"))
        .to_string();
    let exit = Exit::of(kind_of_status(status.as_u16()));
    let hint = if status.as_u16() == 401 {
        " (is HELPDESK_TOKEN a current admin access token?)"
    } else {
        ""
    };
    Err(CliError::new(
        exit,
        format!("the server answered {}: {detail}{hint}", status.as_u16()),
    ))
}

/// The kind of error an HTTP status stands for: the inverse of helpdesk-http's table,
/// so an answer over `--url` exits as the same failure would on a local store.
fn kind_of_status(status: u16) -> ErrorKind {
    match status {
        400 | 415 | 422 => ErrorKind::Invalid,
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::Conflict,
        413 => ErrorKind::TooLarge,
        429 => ErrorKind::RateLimited,
        503 => ErrorKind::Unavailable,
        _ => ErrorKind::Internal,
    }
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Every item of a library list, page after page (200 at a time).
pub async fn all_pages<T, F, Fut>(mut page: F) -> CliResult<Vec<T>>
where
    F: FnMut(Option<Cursor>) -> Fut,
    Fut: std::future::Future<Output = helpdesk_core::Result<Page<T>>>,
{
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let p = page(cursor).await?;
        out.extend(p.items);
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}
