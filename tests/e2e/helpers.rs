//! Spawning the server and talking to it.

use std::sync::Arc;

use helpdesk::clock::ManualClock;
use helpdesk::store::Store;
use helpdesk::user::NewUser;
use helpdesk::{Config, Helpdesk, Principal, Role};
use helpdesk_http::{RunningServer, ServerConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A running server with a client.
pub struct App {
    pub server: RunningServer,
    pub client: reqwest::Client,
    pub hd: Helpdesk,
    /// The server's clock, which tests move; `None`: the system clock ([`spawn_live_app`]).
    manual_clock: Option<Arc<ManualClock>>,
    /// What holds the store's data; dropped (directory or database removed) last.
    _backing: Backing,
}

/// Where a test server keeps its data.
enum Backing {
    Sled(#[allow(dead_code)] tempfile::TempDir),
    Postgres(#[allow(dead_code)] Box<helpdesk_store_postgres::testing::TestDb>),
    /// Another app's (a second instance over the same database).
    Shared,
}

/// The environment variable choosing the store of the end-to-end tests: `sled` (the
/// default, in a temporary directory) or `postgres` (a fresh database on the server of
/// `HELPDESK_TEST_DATABASE_URL`).
pub const STORE_VAR: &str = "HELPDESK_E2E_STORE";

/// A fresh store of the kind [`STORE_VAR`] names.
async fn fresh_store() -> (Arc<dyn Store>, Backing) {
    match std::env::var(STORE_VAR).as_deref() {
        Ok("postgres") => {
            let db = helpdesk_store_postgres::testing::TestDb::create("e2e")
                .await
                .expect("HELPDESK_E2E_STORE=postgres needs HELPDESK_TEST_DATABASE_URL");
            (db.dyn_store(), Backing::Postgres(Box::new(db)))
        }
        Ok("sled") | Err(_) => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let store =
                helpdesk_store_sled::SledStore::open(dir.path().join("data")).expect("open sled");
            (Arc::new(store), Backing::Sled(dir))
        }
        Ok(other) => panic!("{STORE_VAR}={other}: expected sled or postgres"),
    }
}

/// A user with a token.
pub struct Who {
    pub id: String,
    pub token: String,
    pub refresh: String,
}

/// A server over a fresh store with cheap password hashing.
pub async fn spawn_app() -> App {
    spawn_app_with(Config::for_tests(), ServerConfig::default()).await
}

/// A server with the given configurations, on a clock the test moves.
pub async fn spawn_app_with(config: Config, server: ServerConfig) -> App {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    spawn_on(config, server, Some(clock)).await
}

/// A server on the system clock, as the binary runs: for what its scheduler fires
/// (snooze ends, SLA warnings and breaches) after short real waits.
pub async fn spawn_live_app() -> App {
    spawn_on(Config::for_tests(), ServerConfig::default(), None).await
}

/// Two servers on the system clock over one fresh PostgreSQL database (`None` without
/// `HELPDESK_TEST_DATABASE_URL`): two instances sharing a store.
pub async fn spawn_live_pair_on_postgres() -> Option<(App, App)> {
    let (a, second) = spawn_live_app_on_postgres().await?;
    let config = (Config::for_tests(), ServerConfig::default());
    let b = spawn_over(second, Backing::Shared, config.0, config.1, None).await;
    Some((a, b))
}

/// A server on the system clock over a fresh PostgreSQL database, and another store
/// on the same database for a second instance (`None` without
/// `HELPDESK_TEST_DATABASE_URL`).
pub async fn spawn_live_app_on_postgres() -> Option<(App, Arc<dyn Store>)> {
    let db = helpdesk_store_postgres::testing::TestDb::create("e2e_pair").await?;
    let second: Arc<dyn Store> = Arc::new(db.second_store());
    let first = db.dyn_store();
    let backing = Backing::Postgres(Box::new(db));
    let (config, server) = (Config::for_tests(), ServerConfig::default());
    let app = spawn_over(first, backing, config, server, None).await;
    Some((app, second))
}

async fn spawn_on(config: Config, server: ServerConfig, clock: Option<Arc<ManualClock>>) -> App {
    let (store, backing) = fresh_store().await;
    spawn_over(store, backing, config, server, clock).await
}

async fn spawn_over(
    store: Arc<dyn Store>,
    backing: Backing,
    config: Config,
    mut server: ServerConfig,
    clock: Option<Arc<ManualClock>>,
) -> App {
    let hd = match &clock {
        Some(clock) => Helpdesk::with_clock(store, config, clock.clone()),
        None => Helpdesk::new(store, config),
    };
    server.webhook_worker = false;
    let running = helpdesk_http::spawn(hd.clone(), server)
        .await
        .expect("spawn");
    App {
        server: running,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        hd,
        manual_clock: clock,
        _backing: backing,
    }
}

impl App {
    /// The clock the test moves (not for a [`spawn_live_app`] server).
    pub fn clock(&self) -> &ManualClock {
        self.manual_clock
            .as_deref()
            .expect("a server on a manual clock")
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// Sends a JSON request (body `None`: no body) and returns the status and the JSON
    /// answer (`Null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let bytes = resp.bytes().await.expect("body");
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, value)
    }

    /// A POST without a token.
    pub async fn anon_post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, None, Some(body)).await
    }
    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }
    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Signs up a customer over HTTP.
    pub async fn signup(&self, email: &str) -> Who {
        let (s, v) = self
            .call(
                Method::POST,
                "/api/auth/signup",
                None,
                Some(json!({"email": email, "password": "password123", "name": email.split('@').next().unwrap()})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        who(&v)
    }

    /// Creates a user of any role through the library, then logs in over HTTP.
    pub async fn user(&self, role: Role, email: &str) -> Who {
        self.hd
            .create_user(
                &Principal::system(),
                NewUser::new(email, email.split('@').next().unwrap(), role, "password123"),
            )
            .await
            .expect("create user");
        self.login(email, "password123").await
    }

    pub async fn login(&self, email: &str, password: &str) -> Who {
        let (s, v) = self
            .call(
                Method::POST,
                "/api/auth/login",
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        who(&v)
    }
}

fn who(v: &Value) -> Who {
    Who {
        id: v["user"]["id"].as_str().unwrap().to_string(),
        token: v["access_token"].as_str().unwrap().to_string(),
        refresh: v["refresh_token"].as_str().unwrap().to_string(),
    }
}

/// Replaces ids, times and tokens with placeholders for snapshots: any string that is a
/// UUID or an RFC 3339 time, whatever its key, and the values of token keys.
pub fn redact(v: &Value) -> Value {
    fn walk(key: Option<&str>, v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), walk(Some(k), x)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|x| walk(key, x)).collect()),
            Value::String(s) => {
                if matches!(key, Some("access_token" | "refresh_token" | "next_cursor")) {
                    json!("[token]")
                } else if uuid::Uuid::parse_str(s).is_ok() {
                    json!("[id]")
                } else if chrono::DateTime::parse_from_rfc3339(s).is_ok() {
                    json!("[datetime]")
                } else {
                    v.clone()
                }
            }
            _ => v.clone(),
        }
    }
    walk(None, v)
}

/// The `code` of a problem answer.
pub fn code(v: &Value) -> &str {
    v["code"].as_str().unwrap_or("<none>")
}

/// A WebSocket client on `/api/ws`.
pub struct Ws {
    pub stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl App {
    /// The WebSocket URL, with `query` (such as `token=...`) when given.
    pub fn ws_url(&self, query: &str) -> String {
        format!("ws://{}/api/ws{query}", self.server.addr)
    }

    /// Opens a WebSocket with the token in the `Authorization` header.
    pub async fn ws(&self, token: &str) -> Ws {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = self.ws_url("").into_client_request().expect("request");
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
        let (stream, resp) = tokio_tungstenite::connect_async(req)
            .await
            .expect("WebSocket connects");
        assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
        Ws { stream }
    }
}

impl Ws {
    /// The next JSON frame (pings are answered by the library), within 10 s.
    pub async fn next(&mut self) -> Value {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let msg = tokio::time::timeout(std::time::Duration::from_secs(10), self.stream.next())
                .await
                .expect("a frame within 10 s")
                .expect("the socket is open")
                .expect("a frame");
            match msg {
                Message::Text(t) => return serde_json::from_str(&t).expect("JSON frame"),
                Message::Close(c) => panic!("closed: {c:?}"),
                _ => {}
            }
        }
    }

    /// The next frame of type `kind`, skipping others.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let v = self.next().await;
            if v["type"] == kind {
                return v;
            }
        }
    }

    /// Sends a JSON frame.
    pub async fn send(&mut self, v: Value) {
        use futures_util::SinkExt;
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::text(v.to_string()))
            .await
            .expect("send");
    }

    /// Waits for the server to close the socket; returns the close code, if it sent one.
    pub async fn closed(&mut self) -> Option<u16> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let msg = tokio::time::timeout(std::time::Duration::from_secs(10), self.stream.next())
                .await
                .expect("closed within 10 s");
            match msg {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    }
}

/// The default group's id, as an admin or agent lists it (exactly one is the default).
pub async fn default_group(app: &App, token: &str) -> String {
    let (s, v) = app.get("/api/groups", token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let default: Vec<&Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["is_default"] == true)
        .collect();
    assert_eq!(default.len(), 1, "exactly one default group: {v}");
    default[0]["id"].as_str().unwrap().to_string()
}
