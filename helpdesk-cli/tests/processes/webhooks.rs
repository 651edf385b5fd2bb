//! Webhooks to a real HTTP receiver on loopback: signatures, retries, restarts, and
//! several instances never sending one delivery twice at once.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use helpdesk_store_postgres::testing::TestDb;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::*;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// A webhook receiver: answers `fail_status` to its first `fail_first` requests, then
/// 204.
pub struct Receiver {
    pub port: u16,
    pub got: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(port: u16, fail_first: usize) -> Receiver {
        Self::start_failing_with(port, fail_first, 500).await
    }

    pub async fn start_failing_with(port: u16, fail_first: usize, fail_status: u16) -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the receiver");
        let port = listener.local_addr().unwrap().port();
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let seen = got.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let seen = seen.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                            let seen = seen.clone();
                            async move {
                                let headers = req
                                    .headers()
                                    .iter()
                                    .map(|(k, v)| {
                                        (k.to_string(), v.to_str().unwrap_or("").to_string())
                                    })
                                    .collect();
                                let body = req
                                    .into_body()
                                    .collect()
                                    .await
                                    .map(|b| b.to_bytes().to_vec())
                                    .unwrap_or_default();
                                let n = {
                                    let mut g = seen.lock().unwrap();
                                    g.push(Received { headers, body });
                                    g.len()
                                };
                                let status = if n <= fail_first { fail_status } else { 204 };
                                let mut resp = Response::new(Full::new(Bytes::new()));
                                *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                                Ok::<_, Infallible>(resp)
                            }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver { port, got, task }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `n` requests arrived (30 s at most).
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..300 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the receiver got {} of {n} requests", self.received().len());
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Checks a Standard Webhooks signature independently of the server's code: one of the
/// `v1,<base64>` entries is the HMAC-SHA256 of `{id}.{timestamp}.{body}` under the
/// secret's base64 key.
fn signature_valid(secret: &str, r: &Received) -> bool {
    let key = B64
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64 secret");
    let signed = format!(
        "{}.{}.{}",
        r.headers["webhook-id"],
        r.headers["webhook-timestamp"],
        String::from_utf8_lossy(&r.body)
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(signed.as_bytes());
    let expected = format!("v1,{}", B64.encode(mac.finalize().into_bytes()));
    r.headers["webhook-signature"]
        .split(' ')
        .any(|s| s == expected)
}

const FAST_RETRIES: &[&str] = &[
    "--webhooks-allow-private",
    "--webhook-retry-schedule",
    "1s,1s,1s,1s,1s,1s,1s,1s,1s,1s",
];

/// Registers a webhook for `events`; returns its id and secret.
async fn add_webhook(server: &Server, admin: &str, url: &str, events: Value) -> (String, String) {
    let w = server
        .post(
            "/api/webhooks",
            admin,
            json!({"url": url, "events": events}),
        )
        .await;
    (
        w["id"].as_str().unwrap().to_string(),
        w["secret"].as_str().unwrap().to_string(),
    )
}

async fn open_ticket(server: &Server, token: &str, subject: &str) -> Value {
    server
        .post(
            "/api/tickets",
            token,
            json!({"subject": subject, "description": "details"}),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_and_retried_until_the_receiver_answers_2xx() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sled:{}", dir.path().join("data").display());
    create_user(&store, "admin@example.com", "admin");
    let server = Server::start(&store, FAST_RETRIES).await;
    let admin = server.login("admin@example.com").await;
    let receiver = Receiver::start(0, 3).await;
    let (hook, secret) =
        add_webhook(&server, &admin, &receiver.url(), json!(["ticket.created"])).await;

    let t = open_ticket(&server, &admin, "Printer on fire").await;
    let got = receiver.wait_for(4).await;
    assert!(
        got.iter().all(|r| signature_valid(&secret, r)),
        "every attempt is signed"
    );
    let ids: Vec<&str> = got
        .iter()
        .map(|r| r.headers["webhook-id"].as_str())
        .collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one webhook-id on every retry"
    );
    let body: Value = serde_json::from_slice(&got[3].body).unwrap();
    assert_eq!(body["type"], "ticket.created");
    assert_eq!(body["data"]["ticket"]["id"], t["id"]);
    assert!(body["timestamp"].is_string());

    // The delivery log says succeeded after 4 attempts.
    let mut delivery = Value::Null;
    for _ in 0..50 {
        let list = server
            .get(&format!("/api/webhooks/{hook}/deliveries"), &admin)
            .await;
        delivery = list["items"][0].clone();
        if delivery["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(delivery["status"], "succeeded", "{delivery}");
    assert_eq!(delivery["attempts"], 4);
    assert_eq!(delivery["last_status_code"], 204);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.received().len(), 4, "nothing after the success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_across_a_server_restart_still_gets_everything() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sled:{}", dir.path().join("data").display());
    create_user(&store, "admin@example.com", "admin");
    let port = free_port();
    let server = Server::start(&store, FAST_RETRIES).await;
    let admin = server.login("admin@example.com").await;
    let url = format!("http://127.0.0.1:{port}/hook");
    let (hook, secret) = add_webhook(&server, &admin, &url, json!(["ticket.created"])).await;
    let mut subjects = Vec::new();
    for i in 0..5 {
        subjects
            .push(open_ticket(&server, &admin, &format!("ticket {i}")).await["subject"].clone());
    }
    // The receiver is down: attempts fail. Then the server dies without warning.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill();

    let receiver = Receiver::start(port, 0).await;
    let server = Server::start(&store, FAST_RETRIES).await;
    let got = receiver.wait_for(5).await;
    let mut seen: Vec<Value> = got
        .iter()
        .map(|r| {
            assert!(signature_valid(&secret, r));
            serde_json::from_slice::<Value>(&r.body).unwrap()["data"]["ticket"]["subject"].clone()
        })
        .collect();
    seen.sort_by_key(|v| v.to_string());
    seen.dedup();
    assert_eq!(seen, subjects, "every event arrived after the restart");
    let admin = server.login("admin@example.com").await;
    let list = server
        .get(&format!("/api/webhooks/{hook}/deliveries"), &admin)
        .await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["attempts"].as_u64() >= Some(2))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_instances_send_each_delivery_once() {
    let Some(db) = TestDb::create("several_instances_send_each_delivery_once").await else {
        return;
    };
    let store = db.url();
    create_user(&store, "admin@example.com", "admin");
    let a = Server::start(&store, FAST_RETRIES).await;
    let b = Server::start(&store, FAST_RETRIES).await;
    let admin = a.login("admin@example.com").await;
    let receiver = Receiver::start(0, 0).await;
    add_webhook(&a, &admin, &receiver.url(), json!(["ticket.created"])).await;
    let n = 20;
    for i in 0..n {
        let server = if i % 2 == 0 { &a } else { &b };
        open_ticket(server, &admin, &format!("ticket {i}")).await;
    }
    let got = receiver.wait_for(n).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got_later = receiver.received();
    assert_eq!(got_later.len(), got.len(), "no late duplicates");
    let mut ids: Vec<&str> = got_later
        .iter()
        .map(|r| r.headers["webhook-id"].as_str())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "each of {n} deliveries exactly once");
    assert_eq!(got_later.len(), n);
}

/// The deliveries of a webhook, once `done` holds for the first (30 s at most).
async fn deliveries_when(
    server: &Server,
    admin: &str,
    hook: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let mut list = Value::Null;
    for _ in 0..300 {
        list = server
            .get(&format!("/api/webhooks/{hook}/deliveries"), admin)
            .await;
        if done(&list["items"][0]) {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the delivery never got there: {list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_after_the_schedule_then_a_manual_retry_and_410_disables() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sled:{}", dir.path().join("data").display());
    create_user(&store, "admin@example.com", "admin");
    let server = Server::start(
        &store,
        &[
            "--webhooks-allow-private",
            "--webhook-retry-schedule",
            "1s,1s",
        ],
    )
    .await;
    let admin = server.login("admin@example.com").await;

    // Three failures use up a schedule of two retries: dead.
    let failing = Receiver::start(0, 3).await;
    let (hook, _) = add_webhook(&server, &admin, &failing.url(), json!(["ticket.created"])).await;
    open_ticket(&server, &admin, "will die").await;
    let list = deliveries_when(&server, &admin, &hook, |d| d["status"] == "dead").await;
    let d = &list["items"][0];
    assert_eq!(
        (d["attempts"].clone(), d["last_status_code"].clone()),
        (json!(3), json!(500))
    );
    assert!(d["next_attempt_at"].is_null());
    // A manual retry still sends it, now successfully.
    let retried = server
        .post(
            &format!(
                "/api/webhooks/{hook}/deliveries/{}/retry",
                d["id"].as_str().unwrap()
            ),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(retried["status"], "pending");
    let list = deliveries_when(&server, &admin, &hook, |d| d["status"] == "succeeded").await;
    assert_eq!(list["items"][0]["attempts"], 4);
    assert_eq!(failing.received().len(), 4);

    // A 410 answer disables the endpoint and ends the delivery.
    let gone = Receiver::start_failing_with(0, 1, 410).await;
    let (hook, _) = add_webhook(&server, &admin, &gone.url(), json!(["ticket.created"])).await;
    open_ticket(&server, &admin, "gone").await;
    let list = deliveries_when(&server, &admin, &hook, |d| d["status"] == "dead").await;
    assert_eq!(list["items"][0]["last_status_code"], 410);
    let w = server.get(&format!("/api/webhooks/{hook}"), &admin).await;
    assert_eq!(w["active"], false);
    open_ticket(&server, &admin, "after 410").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        gone.received().len(),
        1,
        "a disabled endpoint gets nothing more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_rotation_both_secrets_sign_and_the_test_event_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sled:{}", dir.path().join("data").display());
    create_user(&store, "admin@example.com", "admin");
    let server = Server::start(&store, FAST_RETRIES).await;
    let admin = server.login("admin@example.com").await;
    let receiver = Receiver::start(0, 0).await;
    let (hook, old) = add_webhook(&server, &admin, &receiver.url(), json!(["*"])).await;

    server
        .post(&format!("/api/webhooks/{hook}/test"), &admin, json!({}))
        .await;
    let got = receiver.wait_for(1).await;
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["type"], "webhook.test");
    assert!(signature_valid(&old, &got[0]));
    assert_eq!(got[0].headers["webhook-signature"].split(' ').count(), 1);

    let rotated = server
        .post(
            &format!("/api/webhooks/{hook}/rotate-secret"),
            &admin,
            json!({}),
        )
        .await;
    let new = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    server
        .post(&format!("/api/webhooks/{hook}/test"), &admin, json!({}))
        .await;
    let got = receiver.wait_for(2).await;
    let r = &got[1];
    assert_eq!(r.headers["webhook-signature"].split(' ').count(), 2);
    assert!(signature_valid(&new, r), "the new secret signs");
    assert!(
        signature_valid(&old, r),
        "the old one too, during the overlap"
    );
}
