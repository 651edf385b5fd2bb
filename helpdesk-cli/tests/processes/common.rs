//! Starting `helpdesk` processes and talking to them.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_helpdesk");

/// A free loopback port (bound, then released for the server to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Runs `helpdesk user create` on a store, the password on standard input.
pub fn create_user(store: &str, email: &str, role: &str) {
    let mut child = Command::new(BIN)
        .args(["user", "create", "--store", store, "--email", email])
        .args(["--name", email.split('@').next().unwrap(), "--role", role])
        .arg("--password-stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("run helpdesk user create");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"password123\n")
        .unwrap();
    assert!(
        child.wait().unwrap().success(),
        "helpdesk user create failed"
    );
}

/// A `helpdesk serve` process, killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    pub http: reqwest::Client,
}

impl Server {
    /// Starts `helpdesk serve` on `store` with `extra` flags and waits until it is ready.
    pub async fn start(store: &str, extra: &[&str]) -> Server {
        Server::start_logging(store, extra, "warn", Stdio::inherit()).await
    }

    /// [`Server::start`] with the log filter `level` (`RUST_LOG`), its log (standard
    /// error) going to `log`.
    pub async fn start_logging(store: &str, extra: &[&str], level: &str, log: Stdio) -> Server {
        let port = free_port();
        let child = Command::new(BIN)
            .args([
                "serve",
                "--store",
                store,
                "--bind",
                &format!("127.0.0.1:{port}"),
            ])
            .args(extra)
            .env("RUST_LOG", level)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("run helpdesk serve");
        let server = Server {
            child,
            port,
            http: reqwest::Client::new(),
        };
        let started = Instant::now();
        loop {
            if let Ok(r) = server.http.get(server.url("/readyz")).send().await
                && r.status().is_success()
            {
                return server;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Stops the process with SIGTERM (a graceful shutdown) and waits for it.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.child.wait();
    }

    /// Stops the process with SIGKILL (no graceful anything) and waits for it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Logs in; the access token.
    pub async fn login(&self, email: &str) -> String {
        let v: Value = self
            .http
            .post(self.url("/api/auth/login"))
            .json(&json!({"email": email, "password": "password123"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["access_token"].as_str().expect("a token").to_string()
    }

    /// A JSON request; the status and the answer.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Value {
        let (s, v) = self
            .call(reqwest::Method::POST, path, token, Some(body))
            .await;
        assert!((200..300).contains(&s), "POST {path}: {s} {v}");
        v
    }

    pub async fn get(&self, path: &str, token: &str) -> Value {
        let (s, v) = self.call(reqwest::Method::GET, path, token, None).await;
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
