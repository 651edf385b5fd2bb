//! API key scopes over every route, the cases drawn from the server's own OpenAPI
//! document (each operation's `x-api-key-scopes`, which a router unit test keeps equal
//! to the route table): a key without any listed scope is refused with 403
//! `insufficient_scope`, its challenge and `required_scopes` before anything else is
//! checked; a key with one of them (or `admin`) gets past that check; operations that
//! need no token, or no scope, never answer `insufficient_scope`. And the WebSocket's
//! scope check before the upgrade, with keys refused in its URL.

use std::collections::BTreeMap;

use helpdesk::Role;
use helpdesk_http::ServerConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::*;

/// Every scope a key may hold (API-access.md, "API keys").
const SCOPES: [&str; 8] = [
    "admin",
    "kb:read",
    "kb:write",
    "messages:read",
    "messages:write",
    "tickets:read",
    "tickets:write",
    "users:read",
];

/// One operation of the OpenAPI document.
#[derive(Debug)]
struct Operation {
    method: Method,
    /// The path template, such as `/api/tickets/{id}`.
    path: String,
    /// `x-api-key-scopes`: any one of them suffices; empty: none needed.
    scopes: Vec<String>,
    /// Callable without a token: `security: []`, or `{}` among its alternatives.
    token_free: bool,
    /// The media type of its request body, if it takes one.
    body: Option<String>,
}

impl Operation {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// The operations of the document's `paths`, in the document's order. It is read by
/// its layout (two spaces a level, as the router's unit test reads it): no YAML parser
/// is among the test's dependencies.
fn operations(doc: &str) -> Vec<Operation> {
    #[derive(PartialEq)]
    enum Within {
        Other,
        Scopes,
        Security,
        RequestBody,
    }
    let mut ops: Vec<Operation> = Vec::new();
    let mut path = String::new();
    let mut within = Within::Other;
    for line in doc.lines() {
        if line == "components:" {
            break;
        }
        if let Some(p) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && p.starts_with('/')
        {
            path = p.to_string();
            continue;
        }
        if let Some(m) = line.strip_prefix("    ").and_then(|l| l.strip_suffix(':'))
            && ["get", "post", "put", "patch", "delete"].contains(&m)
        {
            ops.push(Operation {
                method: Method::from_bytes(m.to_uppercase().as_bytes()).unwrap(),
                path: path.clone(),
                scopes: Vec::new(),
                token_free: false,
                body: None,
            });
            within = Within::Other;
            continue;
        }
        let Some(op) = ops.last_mut() else { continue };
        let operation_level = line.starts_with("      ") && !line.starts_with("       ");
        if operation_level {
            if let Some(item) = line.strip_prefix("      - ") {
                match within {
                    Within::Scopes => op.scopes.push(item.to_string()),
                    Within::Security if item == "{}" => op.token_free = true,
                    _ => {}
                }
                continue;
            }
            within = match line.trim() {
                "x-api-key-scopes:" => Within::Scopes,
                "security:" => Within::Security,
                "security: []" => {
                    op.token_free = true;
                    Within::Other
                }
                "requestBody:" => Within::RequestBody,
                _ => Within::Other,
            };
        } else if within == Within::RequestBody
            && let Some(media) = line
                .strip_prefix("          ")
                .and_then(|l| l.strip_suffix(':'))
            && !media.starts_with(' ')
            && media.contains('/')
        {
            op.body = Some(media.to_string());
        }
    }
    ops
}

/// What a call answered: status, problem body, `WWW-Authenticate`.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    body: Value,
    challenge: Option<String>,
}

impl Answer {
    fn insufficient_scope(&self) -> bool {
        self.status == StatusCode::FORBIDDEN && code(&self.body) == "insufficient_scope"
    }

    /// Asserts the refusal of a key without any of `scopes`.
    fn assert_refused(&self, scopes: &[String], what: &str) {
        assert_eq!(
            (self.status, code(&self.body)),
            (StatusCode::FORBIDDEN, "insufficient_scope"),
            "{what}: {self:?}"
        );
        assert_eq!(
            self.challenge.as_deref(),
            Some(
                format!(
                    "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                    scopes.join(" ")
                )
                .as_str()
            ),
            "{what}"
        );
        assert_eq!(self.body["required_scopes"], json!(scopes), "{what}");
    }
}

/// Calls `op` at `path` with `token`, with a body of the media type it takes (`{}`, or
/// a small file): the WebSocket by its handshake, everything else over HTTP.
async fn call(app: &App, op: &Operation, path: &str, token: &str) -> Answer {
    if op.path.ends_with("/ws") {
        return handshake(app, "", Some(token)).await;
    }
    let mut req = app
        .client
        .request(op.method.clone(), app.url(path))
        .bearer_auth(token);
    req = match op.body.as_deref() {
        None => req,
        Some("application/json") => req.json(&json!({})),
        Some("multipart/form-data") => {
            let part = reqwest::multipart::Part::bytes(b"hello".to_vec())
                .file_name("hello.txt")
                .mime_str("text/plain")
                .unwrap();
            req.multipart(reqwest::multipart::Form::new().part("file", part))
        }
        Some(media) => req.header("content-type", media).body("{}\n"),
    };
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|h| h.to_str().unwrap().to_string());
    let bytes = resp.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        body,
        challenge,
    }
}

/// A WebSocket handshake on `/api/ws{query}`, with `bearer` in `Authorization` when
/// given: 101 when upgraded, else the refusal.
async fn handshake(app: &App, query: &str, bearer: Option<&str>) -> Answer {
    let mut req = app.ws_url(query).into_client_request().expect("request");
    if let Some(t) = bearer {
        req.headers_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((mut stream, resp)) => {
            let _ = stream.close(None).await;
            Answer {
                status: StatusCode::from_u16(resp.status().as_u16()).unwrap(),
                body: Value::Null,
                challenge: None,
            }
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Answer {
            status: StatusCode::from_u16(resp.status().as_u16()).unwrap(),
            body: resp
                .body()
                .as_ref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null),
            challenge: resp
                .headers()
                .get("www-authenticate")
                .map(|h| h.to_str().unwrap().to_string()),
        },
        Err(e) => panic!("the handshake failed otherwise: {e}"),
    }
}

/// An API key of `who` holding `scopes`: its token and its id.
async fn key(app: &App, who: &Who, scopes: &[&str]) -> (String, String) {
    let (s, v) = app
        .post(
            "/api/users/me/api-keys",
            &who.token,
            json!({"name": format!("key {}", scopes.join(" ")), "scopes": scopes}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (
        v["token"].as_str().unwrap().to_string(),
        v["id"].as_str().unwrap().to_string(),
    )
}

/// POSTs `body` as `who`; the new object's id.
async fn made(app: &App, who: &Who, path: &str, body: Value) -> String {
    let (s, v) = app.post(path, &who.token, body).await;
    assert!(s.is_success(), "{path}: {s} {v}");
    v["id"].as_str().unwrap().to_string()
}

/// Real objects for the path parameters, by the collection a parameter follows
/// (`/tickets/{id}` takes the ticket, `/members/{user_id}` a member).
async fn fixtures(app: &App, admin: &Who) -> BTreeMap<&'static str, String> {
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let customer = app.signup("carol@example.com").await;
    let cc = app.signup("dan@example.com").await;
    let ticket = made(
        app,
        &customer,
        "/api/tickets",
        json!({"subject": "Printer", "description": "On fire"}),
    )
    .await;
    made(
        app,
        admin,
        &format!("/api/tickets/{ticket}/cc"),
        json!({"user_id": cc.id}),
    )
    .await;
    made(
        app,
        admin,
        &format!("/api/tickets/{ticket}/followers"),
        json!({"user_id": agent.id}),
    )
    .await;
    let group = made(app, admin, "/api/groups", json!({"name": "Billing"})).await;
    let (s, v) = app
        .call(
            Method::PUT,
            &format!("/api/groups/{group}/members/{}", agent.id),
            Some(&admin.token),
            Some(json!({"access": "read"})),
        )
        .await;
    assert!(s.is_success(), "{s} {v}");
    let organization = made(
        app,
        admin,
        "/api/organizations",
        json!({"name": "Acme", "domains": ["acme.com"]}),
    )
    .await;
    let conversation = made(
        app,
        admin,
        "/api/conversations",
        json!({"kind": "group", "title": "Ops", "member_ids": [agent.id]}),
    )
    .await;
    let message = made(
        app,
        admin,
        &format!("/api/conversations/{conversation}/messages"),
        json!({"content": "Hello"}),
    )
    .await;
    let webhook = made(
        app,
        admin,
        "/api/webhooks",
        json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]}),
    )
    .await;
    let (s, _) = app
        .post(
            &format!("/api/webhooks/{webhook}/test"),
            &admin.token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, deliveries) = app
        .get(&format!("/api/webhooks/{webhook}/deliveries"), &admin.token)
        .await;
    assert_eq!(s, StatusCode::OK, "{deliveries}");
    let delivery = deliveries["items"][0]["id"].as_str().unwrap().to_string();
    let article = made(
        app,
        admin,
        "/api/kb/articles",
        json!({"title": "Reset a password", "body": "Text.", "status": "published"}),
    )
    .await;
    let part = reqwest::multipart::Part::bytes(b"invoice".to_vec())
        .file_name("invoice.txt")
        .mime_str("text/plain")
        .unwrap();
    let r = app
        .client
        .post(app.url("/api/attachments"))
        .bearer_auth(&admin.token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let attachment: Value = r.json().await.unwrap();
    let (s, notifications) = app.get("/api/notifications", &admin.token).await;
    assert_eq!(s, StatusCode::OK);
    let notification = notifications["items"][0]["id"]
        .as_str()
        .expect("the admin was told of the new ticket")
        .to_string();
    // Keys manage no keys: the one a key tries to delete is one nobody probes with.
    let (_, spare) = key(app, admin, &["kb:read"]).await;

    BTreeMap::from([
        ("users", customer.id),
        ("api-keys", spare),
        ("groups", group),
        ("members", agent.id.clone()),
        ("organizations", organization),
        ("tickets", ticket),
        ("cc", cc.id),
        ("followers", agent.id),
        ("conversations", conversation),
        ("messages", message.clone()),
        ("read-up-to", message),
        ("notifications", notification),
        ("webhooks", webhook),
        ("deliveries", delivery),
        ("articles", article),
        (
            "attachments",
            attachment["id"].as_str().unwrap().to_string(),
        ),
    ])
}

/// `template` with each parameter replaced by the object of the collection it follows,
/// or a fresh UUID when there is none.
fn fill(template: &str, ids: &BTreeMap<&str, String>) -> String {
    let mut previous = "";
    template
        .split('/')
        .map(|segment| {
            let out = if segment.starts_with('{') {
                ids.get(previous)
                    .cloned()
                    .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
            } else {
                segment.to_string()
            };
            previous = segment;
            out
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_operation_checks_its_keys_scopes_first() {
    // Webhooks to a loopback address (never sent: the tests' servers run no worker).
    let config = helpdesk::Config {
        webhooks_allow_private: true,
        ..helpdesk::Config::for_tests()
    };
    let app = spawn_app_with(config, ServerConfig::default()).await;
    let admin = app.user(Role::Admin, "admin@example.com").await;

    // The document the server serves, read as the router's unit test reads it.
    let doc = app
        .client
        .get(app.url("/api/openapi.yaml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut ops = operations(&doc);
    let documented = doc
        .split("\ncomponents:")
        .next()
        .unwrap()
        .matches("\n      x-api-key-scopes:\n")
        .count();
    let scoped = ops.iter().filter(|o| !o.scopes.is_empty()).count();
    assert_eq!(scoped, documented, "every x-api-key-scopes read");
    let find = |method: Method, path: &str| {
        ops.iter()
            .find(|o| o.method == method && o.path == path)
            .unwrap_or_else(|| panic!("{method} {path} in the document"))
    };
    let t = find(Method::POST, "/api/tickets");
    assert_eq!(
        (&t.scopes[..], t.token_free),
        (&["tickets:write".to_string()][..], false)
    );
    assert_eq!(t.body.as_deref(), Some("application/json"));
    let upload = find(Method::POST, "/api/attachments");
    assert_eq!(upload.scopes, ["messages:write", "tickets:write"]);
    assert_eq!(upload.body.as_deref(), Some("multipart/form-data"));
    assert!(find(Method::GET, "/api/kb/articles").token_free);
    assert!(find(Method::POST, "/api/auth/login").token_free);
    assert!(!find(Method::GET, "/api/ws").token_free);
    assert!(find(Method::GET, "/api/users/me").scopes.is_empty());

    let ids = fixtures(&app, &admin).await;
    let mut keys = BTreeMap::new();
    for scope in SCOPES {
        keys.insert(scope, key(&app, &admin, &[scope]).await.0);
    }
    // Keys holding every scope but an operation's (and admin), one per scope list.
    let mut complements: BTreeMap<Vec<String>, String> = BTreeMap::new();

    // Deletions last, deepest first, so the other operations meet real objects.
    ops.sort_by_key(|o| {
        if o.method == Method::DELETE {
            usize::MAX - o.path.matches('/').count()
        } else {
            0
        }
    });
    let mut walked = 0;
    for op in &ops {
        let path = fill(&op.path, &ids);
        let what = op.name();
        if op.token_free || op.scopes.is_empty() {
            // No token needed, or no scope: a key never meets insufficient_scope.
            for (scope, token) in &keys {
                let a = call(&app, op, &path, token).await;
                assert!(!a.insufficient_scope(), "{what} with {scope}: {a:?}");
            }
            continue;
        }
        walked += 1;
        let others: Vec<&str> = SCOPES
            .into_iter()
            .filter(|s| *s != "admin" && !op.scopes.iter().any(|l| l == s))
            .collect();
        assert!(!others.is_empty(), "{what}");
        for scope in &others {
            call(&app, op, &path, &keys[scope])
                .await
                .assert_refused(&op.scopes, &format!("{what} with {scope}"));
        }
        if !complements.contains_key(&op.scopes) {
            let token = key(&app, &admin, &others).await.0;
            complements.insert(op.scopes.clone(), token);
        }
        call(&app, op, &path, &complements[&op.scopes])
            .await
            .assert_refused(&op.scopes, &format!("{what} with {others:?}"));
        let mut allowed: Vec<&str> = op.scopes.iter().map(String::as_str).collect();
        if !allowed.contains(&"admin") {
            allowed.push("admin");
        }
        for scope in allowed {
            let a = call(&app, op, &path, &keys[scope]).await;
            assert!(
                !a.insufficient_scope() && a.status != StatusCode::UNAUTHORIZED,
                "{what} with {scope}: {a:?}"
            );
        }
    }
    assert!(walked >= 60, "only {walked} operations list scopes");
    eprintln!(
        "walked {walked} operations that need a scope, of {} documented",
        ops.len()
    );
}

#[tokio::test]
async fn the_websocket_checks_a_keys_scope_before_the_upgrade() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let (kb, _) = key(&app, &admin, &["kb:read", "kb:write", "users:read"]).await;
    let (writer, _) = key(&app, &admin, &["messages:write", "tickets:write"]).await;
    let (reader, _) = key(&app, &admin, &["tickets:read"]).await;
    let (all, _) = key(&app, &admin, &["admin"]).await;
    let read_any = ["messages:read".to_string(), "tickets:read".to_string()];

    // Without a read scope: refused before the upgrade.
    for token in [&kb, &writer] {
        handshake(&app, "", Some(token))
            .await
            .assert_refused(&read_any, "/api/ws");
    }
    // With one, or admin: upgraded.
    for token in [&reader, &all] {
        let a = handshake(&app, "", Some(token)).await;
        assert_eq!(a.status, StatusCode::SWITCHING_PROTOCOLS, "{a:?}");
    }
    // In the URL: 401, whatever the key may do.
    for token in [&reader, &all, &kb] {
        let a = handshake(&app, &format!("?token={token}"), None).await;
        assert_eq!(
            (a.status, code(&a.body)),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{a:?}"
        );
    }
}
