//! Socket.IO at `/socket.io/` with real clients: python-socketio 5 and socket.io-client
//! 4.8 (Node) run the scripts in `tests/socketio/` against the real server and print
//! JSON lines, which these tests check. The handshake's HTTP answers (CORS, `Origin`,
//! `EIO=3`, a transport not offered, `--socketio off`) are checked here with reqwest.
//!
//! The clients are installed by `tests/socketio/install` (which `.ci/run` calls).
//! Without them a test fails when `CI` is set and otherwise says it skipped.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use helpdesk::Role;
use helpdesk_http::{ServerConfig, SocketIoMode};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/socketio")
}

/// The venv `tests/socketio/install` fills (`HELPDESK_SOCKETIO_VENV` to move it).
fn python() -> Option<PathBuf> {
    let venv = std::env::var_os("HELPDESK_SOCKETIO_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
            Some(cache.join("helpdesk/socketio-venv"))
        })?;
    let python = venv.join("bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import socketio, websocket, requests"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(python)
}

fn node() -> Option<PathBuf> {
    let installed = scripts()
        .join("node/node_modules/socket.io-client/package.json")
        .exists();
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (installed && node).then(|| PathBuf::from("node"))
}

/// The client, or `None` after saying why the test skips (a failure under CI).
fn client(found: Option<PathBuf>, what: &str) -> Option<PathBuf> {
    if found.is_none() {
        let msg = format!(
            "{what} is not installed: run tests/socketio/install (.ci/run does) to install \
             python-socketio and socket.io-client"
        );
        if std::env::var_os("CI").is_some() {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
    }
    found
}

/// A client script running, its JSON lines read as they come.
struct Script {
    child: Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    stderr: Arc<Mutex<String>>,
    seen: Vec<String>,
}

impl Script {
    fn start(program: &Path, script: &str, scenario: &str, params: Value) -> Script {
        let mut child = Command::new(program)
            .arg(scripts().join(script))
            .arg(scenario)
            .arg(params.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the client script");
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = String::new();
            let _ = err.read_to_string(&mut buf);
            *sink.lock().unwrap() = buf;
        });
        Script {
            child,
            lines,
            stderr,
            seen: Vec::new(),
        }
    }

    fn failure(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(200));
        panic!(
            "{why}\n--- lines so far:\n{}\n--- stderr:\n{}",
            self.seen.join("\n"),
            self.stderr.lock().unwrap()
        );
    }

    /// The next line whose `step` is `step` (within 30 s).
    async fn step(&mut self, step: &str) -> Value {
        loop {
            let line = match tokio::time::timeout(Duration::from_secs(30), self.lines.recv()).await
            {
                Ok(Some(line)) => line,
                Ok(None) => self.failure(&format!("the script ended before `{step}`")),
                Err(_) => self.failure(&format!("no `{step}` within 30 s")),
            };
            self.seen.push(line.clone());
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if v["step"] == step {
                return v;
            }
        }
    }

    /// Waits for `done` and a successful exit.
    async fn done(mut self) {
        self.step("done").await;
        let status = tokio::task::spawn_blocking(move || {
            let status = self.child.wait();
            (status, self)
        })
        .await
        .unwrap();
        let (status, mut this) = status;
        if !status.is_ok_and(|s| s.success()) {
            this.failure("the script failed");
        }
    }
}

async fn direct(app: &App, who: &Who, with: &Who) -> String {
    let (s, c) = app
        .post(
            "/api/conversations",
            &who.token,
            json!({"kind": "direct", "member_ids": [with.id]}),
        )
        .await;
    assert!(s.is_success(), "{c}");
    c["id"].as_str().unwrap().to_string()
}

fn base(app: &App) -> String {
    format!("http://{}", app.server.addr)
}

#[tokio::test]
async fn socketio_events_match_api_ws_and_copies_follow_joins() {
    let Some(python) = client(python(), "python-socketio") else {
        return;
    };
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let bob = app.signup("bob@example.com").await;
    let bob_dm = direct(&app, &bob, &agent).await;
    // The parallel /api/ws of the same user.
    let mut ws = app.ws(&agent.token).await;

    let mut script = Script::start(
        &python,
        "client.py",
        "events",
        json!({"base": base(&app), "agent": agent.token, "agent_id": agent.id,
               "alice": alice.token, "bob": bob.token, "bob_dm": bob_dm}),
    );
    let connected = script.step("connected").await;
    assert!(
        connected["transport"] == "polling" || connected["transport"] == "websocket",
        "{connected}"
    );
    let join = script.step("join").await;
    assert_eq!(
        join["ack"],
        json!({"ok": true, "conversation_id": join["conversation_id"]})
    );
    for step in ["foreign_join", "random_join"] {
        let v = script.step(step).await;
        assert_eq!(v["ack"]["ok"], false, "{v}");
        assert_eq!(v["ack"]["error"], "not_found", "{v}");
    }
    let bad = script.step("bad_join").await;
    assert_eq!(bad["ack"]["error"], "invalid_payload", "{bad}");
    let unknown = script.step("unknown_acked").await;
    assert_eq!(unknown["ack"]["error"], "unknown_event", "{unknown}");
    let unknown = script.step("unknown_unacked").await;
    assert_eq!(unknown["error"]["code"], "unknown_event", "{unknown}");
    let events = script.step("events").await;
    script.done().await;

    // The same ids in the same order as /api/ws.
    let ids: Vec<&str> = events["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let last = *ids.last().unwrap();
    let mut ws_ids = Vec::new();
    while ws_ids.last().map(String::as_str) != Some(last) {
        let frame = ws.next().await;
        if let Some(id) = frame["id"].as_str() {
            ws_ids.push(id.to_string());
        }
    }
    // The /api/ws socket connected first: it may have had events from before the
    // Socket.IO client connected (on PostgreSQL the fan-out can lag the writes it
    // follows). From the first the Socket.IO client got, both must agree.
    let start = ws_ids
        .iter()
        .position(|id| id == ids[0])
        .expect("/api/ws got the Socket.IO client's first event");
    assert_eq!(ids, ws_ids[start..], "Socket.IO and /api/ws disagree");
    assert!(ids.len() >= 8, "{ids:?}");

    // Copies: notifications without a join; messages and the ticket only after it,
    // none for the conversation not joined.
    let copies = events["copies"].as_array().unwrap();
    let ticket = &events["ticket"];
    assert_eq!(
        copies[0],
        json!({"event": "notification", "ticket_id": ticket}),
        "the new ticket's notification, before any join: {copies:?}"
    );
    let messages: Vec<&Value> = copies
        .iter()
        .filter(|c| c["event"] == "new_message")
        .map(|c| &c["message_id"])
        .collect();
    assert_eq!(
        messages,
        vec![&events["m2"], &events["sentinel"]],
        "new_message only after the join: {copies:?}"
    );
    let joined_at = copies
        .iter()
        .position(|c| c["event"] == "new_message")
        .unwrap();
    let tickets: Vec<&Value> = copies
        .iter()
        .enumerate()
        .filter(|(_, c)| c["event"] == "ticket_updated")
        .map(|(i, c)| {
            assert!(i > joined_at, "ticket_updated before the join: {copies:?}");
            assert_eq!(&c["ticket_id"], ticket);
            &c["status"]
        })
        .collect();
    assert_eq!(tickets.first(), Some(&&json!("pending")), "{copies:?}");
    assert!(
        copies
            .iter()
            .all(|c| ["notification", "new_message", "ticket_updated"]
                .contains(&c["event"].as_str().unwrap())),
        "{copies:?}"
    );
}

#[tokio::test]
async fn socketio_typing_both_ways_and_resume_without_gaps() {
    let Some(python) = client(python(), "python-socketio") else {
        return;
    };
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let conv = direct(&app, &alice, &agent).await;
    let mut script = Script::start(
        &python,
        "client.py",
        "typing_resume",
        json!({"base": base(&app), "agent": agent.token, "alice": alice.token, "conv": conv}),
    );
    let v = script.step("typing_to_ws").await;
    assert_eq!(v["ack"], json!({"ok": true}));
    assert_eq!(
        v["frame"]["data"],
        json!({"conversation_id": conv, "user_id": agent.id})
    );
    assert!(v["frame"].get("id").is_none(), "typing has no id");
    let v = script.step("typing_again").await;
    assert_eq!(
        v["ack"],
        json!({"ok": true}),
        "within the second: acked, dropped"
    );
    let v = script.step("typing_foreign").await;
    assert_eq!(v["ack"]["error"], "not_found");
    let v = script.step("typing_from_ws").await;
    assert_eq!(v["event"]["type"], "typing");
    assert_eq!(
        v["event"]["data"],
        json!({"conversation_id": conv, "user_id": alice.id})
    );

    let v = script.step("resume").await;
    script.done().await;
    assert_eq!(v["ack"], json!({"ok": true}));
    let after = v["after"].as_str().unwrap();
    let ids: Vec<&str> = v["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    let ws_ids: Vec<&str> = v["ws_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .filter(|id| *id > after)
        .collect();
    assert_eq!(
        ids, ws_ids,
        "after auth.after and a resume: every event once, in order"
    );
    assert!(ids.contains(&v["e4"].as_str().unwrap()));
}

/// Past the retention window, `auth.after` and `resume` from a pruned event get a
/// `resume_gap` event (the client refetches); live events go on.
#[tokio::test]
async fn socketio_resume_from_before_the_retention_window_gets_resume_gap() {
    let Some(python) = client(python(), "python-socketio") else {
        return;
    };
    // Tokens outliving the month the test skips.
    let config = helpdesk::Config {
        access_token_ttl: chrono::Duration::days(60),
        ..helpdesk::Config::for_tests()
    };
    let app = spawn_app_with(config, helpdesk_http::ServerConfig::default()).await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let conv = direct(&app, &alice, &agent).await;
    let mut old = String::new();
    for text in ["a month ago", "also old"] {
        let (s, _) = app
            .post(
                &format!("/api/conversations/{conv}/messages"),
                &alice.token,
                json!({"content": text}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        if old.is_empty() {
            // The first message's events: the second's are pruned after them.
            let last = app.hd.subscribe().await.unwrap().after().unwrap();
            old = last.to_string();
        }
    }
    app.clock().advance(chrono::Duration::days(31));
    app.hd.prune_retention().await.unwrap();

    let mut script = Script::start(
        &python,
        "client.py",
        "resume_gap",
        json!({"base": base(&app), "agent": agent.token, "alice": alice.token, "conv": conv, "old": old}),
    );
    let v = script.step("gap").await;
    script.done().await;
    assert_eq!(v["on_connect"], json!({}));
    assert_eq!(v["ack"], json!({"ok": true}));
    assert_eq!(v["on_resume"], json!({}));
    assert!(v["live"].as_str().unwrap() > old.as_str(), "{v}");
}

#[tokio::test]
async fn socketio_bad_input_never_hurts_others() {
    let Some(python) = client(python(), "python-socketio") else {
        return;
    };
    let app = spawn_app().await;
    let ws_only = spawn_app_with(
        helpdesk::Config::for_tests(),
        ServerConfig {
            socketio: SocketIoMode::WebsocketOnly,
            ..Default::default()
        },
    )
    .await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let conv = direct(&app, &alice, &agent).await;
    let mut script = Script::start(
        &python,
        "client.py",
        "bad_input",
        json!({"base": base(&app), "ws_only": base(&ws_only), "agent": agent.token,
               "alice": alice.token, "conv": conv}),
    );
    let open = script.step("open").await["open"].clone();
    assert_eq!(
        open["upgrades"],
        json!([]),
        "a WebSocket at once has no upgrades"
    );
    assert_eq!(open["pingInterval"], 25000);
    assert_eq!(open["pingTimeout"], 20000);
    assert_eq!(open["maxPayload"], 1_000_000);
    assert_eq!(script.step("connect").await["packet"], "40");
    assert_eq!(script.step("malformed_closes").await["closed"], true);
    let ns = script.step("namespace").await;
    assert_eq!(ns["packet"], r#"44/admin,{"message":"Invalid namespace"}"#);
    assert_eq!(script.step("oversized_closes").await["closed"], true);
    assert_eq!(script.step("unknown_packet_closes").await["closed"], true);
    assert_eq!(script.step("others_fine").await["ok"], true);
    let open = script.step("ws_only_open").await["open"].clone();
    assert_eq!(open["upgrades"], json!([]));
    script.done().await;
    // Still serving.
    let (s, _) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn socketio_transports_auth_and_handshake_answers() {
    let Some(node) = client(node(), "socket.io-client (Node)") else {
        return;
    };
    let app = spawn_app_with(
        helpdesk::Config::for_tests(),
        ServerConfig {
            cors_origins: vec!["https://app.example.com".into()],
            ws_origins: vec!["https://app.example.com".into()],
            ..Default::default()
        },
    )
    .await;
    let ws_only = spawn_app_with(
        helpdesk::Config::for_tests(),
        ServerConfig {
            socketio: SocketIoMode::WebsocketOnly,
            ..Default::default()
        },
    )
    .await;
    let off = spawn_app_with(
        helpdesk::Config::for_tests(),
        ServerConfig {
            socketio: SocketIoMode::Off,
            ..Default::default()
        },
    )
    .await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    // A token that has expired: the clock moves past its 15 minutes.
    let expired = agent.token.clone();
    app.clock().advance(chrono::Duration::minutes(16));
    let agent = app.login("agent@example.com", "password123").await;
    ws_only
        .hd
        .create_user(
            &helpdesk::Principal::system(),
            helpdesk::user::NewUser::new("agent@example.com", "agent", Role::Agent, "password123"),
        )
        .await
        .unwrap();
    let (_, v) = ws_only
        .anon_post(
            "/api/auth/login",
            json!({"email": "agent@example.com", "password": "password123"}),
        )
        .await;
    let ws_only_token = v["access_token"].as_str().unwrap().to_string();

    // The handshake over HTTP: OPEN, CORS, Origin, EIO=3, transports, off.
    let get = |app: &App, query: &str, origin: Option<&str>| {
        let mut req = app.client.get(app.url(&format!("/socket.io/?{query}")));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    let resp = get(
        &app,
        "EIO=4&transport=polling",
        Some("https://app.example.com"),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers().clone();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert!(h.get_all("vary").iter().any(|v| v == "Origin"));
    let body = resp.text().await.unwrap();
    let open: Value =
        serde_json::from_str(body.strip_prefix('0').expect("an OPEN packet")).unwrap();
    assert_eq!(open["upgrades"], json!(["websocket"]));
    assert_eq!(
        (
            &open["pingInterval"],
            &open["pingTimeout"],
            &open["maxPayload"]
        ),
        (&json!(25000), &json!(20000), &json!(1_000_000))
    );
    let preflight = app
        .client
        .request(
            Method::OPTIONS,
            app.url("/socket.io/?EIO=4&transport=polling"),
        )
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    let h = preflight.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(h["access-control-allow-methods"], "GET, POST");
    assert_eq!(
        h["access-control-allow-headers"],
        "Authorization, Content-Type"
    );

    let resp = get(
        &app,
        "EIO=4&transport=polling",
        Some("https://evil.example"),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    let v: Value = resp.json().await.unwrap();
    assert_eq!(code(&v), "forbidden");

    let resp = get(&app, "EIO=3&transport=polling", None).await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        v,
        json!({"code": 5, "message": "Unsupported protocol version"})
    );
    let resp = get(&ws_only, "EIO=4&transport=polling", None)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v, json!({"code": 0, "message": "Transport unknown"}));
    let resp = get(&app, "EIO=4&transport=polling&sid=nope", None)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["code"], 1, "numeric codes, as the reference server: {v}");
    let resp = get(&off, "EIO=4&transport=polling", None).await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );

    // The real client.
    let mut script = Script::start(
        &node,
        "client.mjs",
        "transports",
        json!({"base": base(&app), "ws_only": base(&ws_only), "agent": agent.token,
               "expired": expired, "ws_only_token": ws_only_token}),
    );
    let v = script.step("upgrade").await;
    assert_eq!(
        (&v["before"], &v["after"]),
        (&json!("polling"), &json!("websocket"))
    );
    for way in ["auth", "query", "header", "header_ws"] {
        let v = script.step("auth").await;
        assert_eq!(v["way"], way);
        assert_eq!(v["connected"], true, "{v}");
    }
    for (why, error) in [
        ("garbage", "unauthorized"),
        ("none", "unauthorized"),
        ("expired", "token_expired"),
        ("expired_query", "token_expired"),
    ] {
        let v = script.step("refused").await;
        assert_eq!(v["why"], why);
        assert_eq!(
            (&v["connected"], &v["error"]),
            (&json!(false), &json!(error)),
            "{v}"
        );
    }
    let v = script.step("namespace").await;
    assert_eq!(v["error"], "Invalid namespace");
    let v = script.step("ws_only").await;
    assert_eq!(
        (&v["connected"], &v["transport"]),
        (&json!(true), &json!("websocket"))
    );
    let v = script.step("ws_only_polling").await;
    assert_eq!(v["connected"], false, "polling is not offered: {v}");
    script.done().await;
}

#[tokio::test]
async fn socketio_logout_disconnects_and_shutdown_closes_transports() {
    let Some(node) = client(node(), "socket.io-client (Node)") else {
        return;
    };
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;

    // Logout: the server disconnects the socket (no automatic reconnect).
    let mut script = Script::start(
        &node,
        "client.mjs",
        "revoked",
        json!({"base": base(&app), "agent": agent.token}),
    );
    script.step("ready").await;
    let (s, v) = app
        .post(
            "/api/auth/logout",
            &agent.token,
            json!({"refresh_token": agent.refresh}),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let v = script.step("disconnect").await;
    assert_eq!(v["reason"], "io server disconnect");
    script.done().await;

    // Shutdown: the transport closes (the client would reconnect by itself).
    let agent = app.login("agent@example.com", "password123").await;
    let mut script = Script::start(
        &node,
        "client.mjs",
        "shutdown",
        json!({"base": base(&app), "agent": agent.token}),
    );
    script.step("ready").await;
    let stopped = tokio::time::timeout(Duration::from_secs(10), app.server.shutdown()).await;
    assert!(stopped.is_ok(), "the server stops within 10 s");
    let v = script.step("disconnect").await;
    assert_eq!(v["reason"], "transport close");
    script.done().await;
}
