//! `helpdesk bench`: starts this binary's own server on a fresh store, seeds it over the
//! HTTP API and measures it from this process over loopback.
//!
//! Workloads so far:
//! - `w1`: WebSocket fan-out. `--sockets` members of one group, each with a socket; the
//!   time from a message POST to the event's arrival on every socket (p50/p99 over all
//!   arrivals, and the time until the last socket has it).
//! - `idle`: server memory per idle WebSocket (`--idle` sockets opened over the
//!   members' tokens; the growth of the server's RSS divided by their number).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    helpdesk bench                       # w1 and idle on a fresh sled store\n  \
    helpdesk bench --sockets 200 --idle 0\n  \
    helpdesk bench --on postgres://postgres@127.0.0.1/bench_empty")]
pub struct BenchArgs {
    /// The store to measure: `sled` (a fresh temporary directory) or the URL of an empty
    /// PostgreSQL database.
    #[arg(long, default_value = "sled")]
    on: String,
    /// Workloads, comma-separated: w1, idle.
    #[arg(long, value_delimiter = ',', default_value = "w1,idle")]
    workloads: Vec<String>,
    /// Members of the W1 group, each with one socket.
    #[arg(long, default_value_t = 1000)]
    sockets: usize,
    /// Messages posted in W1.
    #[arg(long, default_value_t = 30)]
    posts: usize,
    /// Idle sockets opened for the memory figure.
    #[arg(long, default_value_t = 10_000)]
    idle: usize,
}

/// The server under test, killed when dropped.
struct ServerProcess {
    child: Child,
    base: String,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    /// The server's resident memory, in KiB.
    fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0)
    }
}

fn free_port() -> BenchResult<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Creates the admin with this binary's `user create`, then starts `serve`.
async fn start_server(on: &str, http: &reqwest::Client) -> BenchResult<ServerProcess> {
    let exe = std::env::current_exe()?;
    let (store, dir) = if on == "sled" {
        let dir = tempfile::tempdir()?;
        (
            format!("sled:{}", dir.path().join("data").display()),
            Some(dir),
        )
    } else {
        (on.to_string(), None)
    };
    let mut create = Command::new(&exe)
        .args(["user", "create", "--store", &store, "--role", "admin"])
        .args(["--email", "bench-admin@example.com", "--name", "Bench"])
        .arg("--password-stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    if let Some(mut stdin) = create.stdin.take() {
        use std::io::Write;
        stdin.write_all(b"bench-password\n")?;
    }
    if !create.wait()?.success() {
        return Err("could not create the bench admin (is the store empty?)".into());
    }
    let port = free_port()?;
    let child = Command::new(&exe)
        .args([
            "serve",
            "--store",
            &store,
            "--bind",
            &format!("127.0.0.1:{port}"),
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let server = ServerProcess {
        child,
        base: format!("127.0.0.1:{port}"),
        _dir: dir,
    };
    let started = Instant::now();
    loop {
        let ready = http
            .get(format!("http://{}/readyz", server.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            return Ok(server);
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err("the server did not become ready in 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A POST with JSON; the JSON answer, or an error naming the status.
async fn post(
    http: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> BenchResult<Value> {
    let mut req = http.post(&url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await?;
    let status = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(format!("POST {url}: {status} {v}").into());
    }
    Ok(v)
}

/// Percentile `p` (0..=100) of sorted durations.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Opens a socket that reports `message.created` arrivals `(message id, when)`.
async fn open_socket(
    base: &str,
    token: &str,
    arrivals: Option<mpsc::UnboundedSender<(String, Instant)>>,
) -> BenchResult<()> {
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{base}/api/ws?token={token}")).await?;
    tokio::spawn(async move {
        while let Some(Ok(frame)) = ws.next().await {
            let (Message::Text(text), Some(tx)) = (frame, &arrivals) else {
                continue;
            };
            let at = Instant::now();
            if let Ok(v) = serde_json::from_str::<Value>(&text)
                && v["type"] == "message.created"
                && let Some(id) = v["data"]["message"]["id"].as_str()
            {
                let _ = tx.send((id.to_string(), at));
            }
        }
    });
    Ok(())
}

/// Runs `helpdesk bench`.
pub async fn run(args: BenchArgs) -> BenchResult {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    println!(
        "starting a server on a fresh {} store ...",
        if args.on == "sled" {
            "sled"
        } else {
            "PostgreSQL"
        }
    );
    let server = start_server(&args.on, &http).await?;
    let base = server.base.clone();
    let rss_start = server.rss_kib();
    let admin = post(
        &http,
        format!("http://{base}/api/auth/login"),
        None,
        json!({"email": "bench-admin@example.com", "password": "bench-password"}),
    )
    .await?["access_token"]
        .as_str()
        .ok_or("no token")?
        .to_string();

    // Members sign up over the API, 16 at a time.
    let members = args.sockets.max(1);
    println!("signing up {members} members ...");
    let mut tokens = Vec::with_capacity(members);
    let mut ids = Vec::with_capacity(members);
    let mut pending = futures_util::stream::iter((0..members).map(|i| {
        let http = http.clone();
        let url = format!("http://{base}/api/auth/signup");
        async move {
            post(
                &http,
                url,
                None,
                json!({"email": format!("member{i}@bench.example"), "password": "bench-password", "name": format!("Member {i}")}),
            )
            .await
        }
    }))
    .buffer_unordered(16);
    while let Some(v) = pending.next().await {
        let v = v?;
        tokens.push(v["access_token"].as_str().ok_or("no token")?.to_string());
        ids.push(v["user"]["id"].clone());
    }
    let group = post(
        &http,
        format!("http://{base}/api/conversations"),
        Some(&admin),
        json!({"kind": "group", "title": "Bench", "member_ids": ids}),
    )
    .await?;
    let group_id = group["id"].as_str().ok_or("no group id")?.to_string();
    let in_group = group["members"].as_array().map_or(0, Vec::len);
    if in_group != members + 1 {
        return Err(format!("the group has {in_group} members, not {}", members + 1).into());
    }

    let mut rows: Vec<(String, String)> = Vec::new();
    let want = |w: &str| args.workloads.iter().any(|x| x.eq_ignore_ascii_case(w));

    if want("w1") {
        println!("W1: {members} sockets, {} posts ...", args.posts);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let rss_before = server.rss_kib();
        let mut opening = futures_util::stream::iter(tokens.iter().map(|t| {
            let base = base.clone();
            let tx = tx.clone();
            async move { open_socket(&base, t, Some(tx)).await }
        }))
        .buffer_unordered(64);
        while let Some(r) = opening.next().await {
            r?;
        }
        drop(opening);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let rss_after = server.rss_kib();
        let mut all = Vec::new();
        let mut to_last = Vec::new();
        for round in 0..args.posts {
            let posted = Instant::now();
            let m = post(
                &http,
                format!("http://{base}/api/conversations/{group_id}/messages"),
                Some(&admin),
                json!({"content": format!("W1 round {round}")}),
            )
            .await?;
            let id = m["id"].as_str().ok_or("no message id")?.to_string();
            let mut got = 0;
            let mut last = Duration::ZERO;
            while got < members {
                let (mid, at) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                    .await
                    .map_err(|_| {
                        format!("round {round}: {got} of {members} sockets got the event in 30 s")
                    })?
                    .ok_or("the sockets closed")?;
                if mid == id {
                    let took = at.duration_since(posted);
                    all.push(took);
                    last = last.max(took);
                    got += 1;
                }
            }
            to_last.push(last);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        all.sort();
        to_last.sort();
        rows.push((
            format!("W1 POST → event on each of {members} sockets"),
            format!(
                "p50 {}  p99 {}",
                ms(percentile(&all, 50.0)),
                ms(percentile(&all, 99.0))
            ),
        ));
        rows.push((
            "W1 POST → event on the last socket".into(),
            format!(
                "p50 {}  p99 {}",
                ms(percentile(&to_last, 50.0)),
                ms(percentile(&to_last, 99.0))
            ),
        ));
        rows.push((
            format!("server RSS growth per W1 socket ({members})"),
            format!(
                "{:.1} KiB",
                rss_after.saturating_sub(rss_before) as f64 / members as f64
            ),
        ));
    }

    if want("idle") && args.idle > 0 {
        println!("idle: opening {} sockets ...", args.idle);
        let rss_before = server.rss_kib();
        let mut opening = futures_util::stream::iter((0..args.idle).map(|i| {
            let base = base.clone();
            let token = tokens[i % tokens.len()].clone();
            async move { open_socket(&base, &token, None).await }
        }))
        .buffer_unordered(64);
        while let Some(r) = opening.next().await {
            r?;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rss_after = server.rss_kib();
        rows.push((
            format!("server RSS growth per idle socket ({})", args.idle),
            format!(
                "{:.1} KiB",
                rss_after.saturating_sub(rss_before) as f64 / args.idle as f64
            ),
        ));
    }
    rows.push((
        "server RSS at start (seeded, before sockets)".into(),
        format!("{:.1} MiB", rss_start as f64 / 1024.0),
    ));
    rows.push((
        "server RSS at the end".into(),
        format!("{:.1} MiB", server.rss_kib() as f64 / 1024.0),
    ));

    let machine = format!(
        "{} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::env::consts::ARCH
    );
    println!();
    println!("| measure ({machine}; client and server share the machine) | value |");
    println!("|---|---|");
    for (k, v) in rows {
        println!("| {k} | {v} |");
    }
    Ok(())
}
