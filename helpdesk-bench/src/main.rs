//! `helpdesk-bench`: the benchmark of issue 8. It measures the machine's ceilings (a
//! bare hyper server for reads, `pgbench` INSERTs for writes), starts a `helpdesk serve`
//! process on a fresh store, seeds it over the HTTP API and drives it from this process
//! over loopback.
//!
//! Request workloads ([`load`]: `--connections` keep-alive connections, `--warmup`, then
//! `--duration` measured), each as the staff admin unless said:
//! - `t1`: create a ticket (subject + 200-byte description).
//! - `t2`: list 50 tickets filtered by status, out of `--tickets` (10,000) tickets.
//! - `m1`: send a 100-byte message into a 2-member (direct) conversation; one
//!   conversation per connection.
//! - `m2`: a member fetches the latest 50 messages (with `is_read`) of a conversation of
//!   `--messages` (10,000) messages; one member per connection.
//! - `m3`: a member reads up to the next message of that conversation (a moving
//!   watermark); one member per connection.
//! - `k1`: knowledge-base search over `--articles` (5,000) published articles.
//!
//! With `--scale` ([`scale`], issue 21) it builds a store of a million tickets and ten
//! million messages through `helpdesk import` instead, and runs t2, m2, k1 and m3 on it
//! and on a store of the 10,000-row sizes built the same way.
//!
//! And the real-time ones:
//! - `w1`: WebSocket fan-out. `--sockets` members of one group, each with a socket; the
//!   time from a message POST to the event's arrival on every socket (p50/p99 over all
//!   arrivals, and the time until the last socket has it).
//! - `idle`: server memory per idle WebSocket (`--idle` sockets opened over the
//!   members' tokens; the growth of the server's RSS divided by their number).
//! - `w1sio`, `idlesio`: the same over Socket.IO (`/socket.io/`, websocket transport,
//!   [`socketio`]'s client). They run last, on the server the restarts left (one
//!   server with both sets of idle sockets would need twice the descriptors), in the
//!   same order: W1's rounds, then the idle sockets with W1's still open.
#![forbid(unsafe_code)]

mod ceiling;
mod load;
mod scale;
mod server_bin;
mod socketio;

/// The same allocator as the `helpdesk` binary: the load generator and the hello-world
/// ceiling ran inside that binary before they moved here, and their figures stay
/// comparable.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Args, Parser, Subcommand};
use futures_util::StreamExt;
use hyper::Method;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use load::{LoadResult, LoadSpec, MakeRequest};

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Measure a `helpdesk serve` process on a fresh store, over loopback.
#[derive(Parser, Debug)]
#[command(
    name = "helpdesk-bench",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(flatten)]
    args: BenchArgs,
    #[command(subcommand)]
    command: Option<Hidden>,
}

#[derive(Subcommand, Debug)]
enum Hidden {
    /// The read ceiling: a bare hyper server answering `Hello, World!`, or a static page
    /// of `--body-bytes` (a process of its own, like `serve`).
    #[command(hide = true)]
    Hello {
        /// Address to listen on.
        #[arg(long)]
        bind: String,
        /// The answer's size in bytes (0: `Hello, World!`).
        #[arg(long, default_value_t = 0)]
        body_bytes: usize,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Hidden::Hello { bind, body_bytes }) => {
            ceiling::serve_hello(&bind, ceiling::page(body_bytes)).await
        }
        None => run(cli.args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Parses `500ms`, `10s`, `15m`, `2h`, or plain seconds (the `helpdesk` binary's
/// duration flags read the same).
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 10s or 500ms"))?;
    let secs = match unit.trim() {
        "ms" => return Ok(Duration::from_millis(n)),
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("`{s}` has an unknown unit (ms, s, m, h, d, w)")),
    };
    n.checked_mul(secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{s}` is too long"))
}

/// Every workload, in the order they run: reads on the seeded store first, then writes,
/// then the real-time ones (the Socket.IO pair after the restarts).
const WORKLOADS: &[&str] = &[
    "t2", "v1", "m2", "k1", "t1", "m1", "m3", "w1", "w1sio", "idle", "idlesio",
];

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  cargo run --release -p helpdesk-bench                        # everything, on a fresh sled store
  helpdesk-bench --on postgres://postgres@127.0.0.1/bench_empty
  helpdesk-bench --workloads t1,t2 --duration 5s --warmup 1s
  helpdesk-bench --workloads k1 --articles 500 --connections 4
  helpdesk-bench --workloads w1,idle --sockets 200 --idle 2000
  helpdesk-bench --workloads w1,w1sio,idle,idlesio --sockets 200 --idle 1000
  helpdesk-bench --scale                                       # 1M tickets, 10M messages, on sled
  helpdesk-bench --scale --scale-tickets 20000 --scale-messages 200000 --on postgres://postgres@127.0.0.1/postgres

The server is the `helpdesk` binary next to this one (target/release/helpdesk), or
--helpdesk-bin. Started by `cargo run`, the benchmark first builds that binary with the
same profile, so the server measured is the code of the working tree.

The write ceiling needs `pgbench` and `psql` and a PostgreSQL database where a scratch
table may be created (--pgbench-url, or HELPDESK_TEST_DATABASE_URL, or --on).")]
struct BenchArgs {
    /// The store to measure: `sled` (a fresh temporary directory) or the URL of an empty
    /// PostgreSQL database.
    #[arg(long, default_value = "sled")]
    on: String,
    /// Workloads, comma-separated: t1, t2, m1, m2, m3, k1, w1, w1sio, idle, idlesio.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "t1,t2,m1,m2,m3,k1,w1,w1sio,idle,idlesio"
    )]
    workloads: Vec<String>,
    /// Keep-alive connections of the request workloads.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Measured time per request workload (`10s`, `500ms`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Unmeasured time before it.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Tickets seeded for t2.
    #[arg(long, default_value_t = 10_000)]
    tickets: usize,
    /// Messages seeded in the m2/m3 conversation.
    #[arg(long, default_value_t = 10_000)]
    messages: usize,
    /// Published articles seeded for k1.
    #[arg(long, default_value_t = 5_000)]
    articles: usize,
    /// Requests in flight while seeding.
    #[arg(long, default_value_t = 64)]
    seed_concurrency: usize,
    /// PostgreSQL database for the pgbench write ceiling (a scratch table is created and
    /// dropped); default HELPDESK_TEST_DATABASE_URL, else the `--on` database.
    #[arg(long, env = "HELPDESK_TEST_DATABASE_URL", hide_env_values = true)]
    pgbench_url: Option<String>,
    /// Skip the ceilings (no hello-world run, no pgbench).
    #[arg(long)]
    no_ceilings: bool,
    /// Members of the W1 group, each with one socket (W1: `/api/ws`; W1 Socket.IO: a
    /// Socket.IO socket).
    #[arg(long, default_value_t = 1000)]
    sockets: usize,
    /// Messages posted in W1.
    #[arg(long, default_value_t = 30)]
    posts: usize,
    /// Idle sockets opened for the memory figure (`idle`, and as many Socket.IO ones for
    /// `idlesio`).
    #[arg(long, default_value_t = 10_000)]
    idle: usize,
    /// Scale mode (issue 21): build a store of `--scale-tickets` tickets and
    /// `--scale-messages` messages by streaming a generated archive into `helpdesk
    /// import` (not over HTTP), serve it, and run T2, M2, K1 and M3 (those of
    /// `--workloads`) on it; first the same on a store of `--tickets`, `--messages` (the
    /// M2/M3 conversation) and `--articles` built the same way, for the p99 ratios.
    /// Reports import rate, `serve` ready time, RSS and size on disk. With `--on
    /// postgres://.../DB` the two stores are databases `DB_scale_10k` and `DB_scale_big`
    /// created (and dropped) on that server.
    #[arg(long)]
    scale: bool,
    /// Scale mode: tickets of the big store (each with its ticket conversation).
    #[arg(long, default_value_t = 1_000_000)]
    scale_tickets: u64,
    /// Scale mode: messages of the big store in all: `--messages` in the M2/M3
    /// conversation, the rest spread evenly over the ticket conversations.
    #[arg(long, default_value_t = 10_000_000)]
    scale_messages: u64,
    /// Scale mode: skip the store of the 10,000-row sizes (no p99 ratios).
    #[arg(long)]
    no_baseline: bool,
    /// Scale mode, sled: where the stores' temporary directories go (default: the
    /// system's temporary directory).
    #[arg(long, value_name = "DIR")]
    scale_dir: Option<PathBuf>,
    /// Scale mode: wait this long after `serve` is ready before the first workload (on a
    /// large sled store, sled's IO thread keeps working for a while after the start and
    /// competes with the first workloads).
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    scale_settle: Duration,
    /// Scale mode: keep the stores (sled directories, databases) and print where they
    /// are, to look into them afterwards; remove them yourself.
    #[arg(long)]
    keep_stores: bool,
    /// Scale mode: write the big store's archive to this file (`-`: standard output)
    /// and stop, instead of importing and measuring (`helpdesk import` reads it).
    #[arg(long, value_name = "FILE")]
    scale_archive: Option<String>,
    /// The `helpdesk` binary to measure (default: the one next to this binary).
    #[arg(long, env = "HELPDESK_BIN", value_name = "PATH")]
    helpdesk_bin: Option<PathBuf>,
}

/// The server under test, killed when dropped.
struct ServerProcess {
    child: Child,
    /// The `helpdesk` binary it runs.
    bin: PathBuf,
    base: String,
    store: String,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

impl ServerProcess {
    /// The server's resident memory, in KiB.
    fn rss_kib(&self) -> u64 {
        rss_kib(self.child.id())
    }

    /// Stops the server (SIGTERM, or SIGKILL when `kill`) and starts it again on the same
    /// store; the time from the spawn to the first successful `/readyz`.
    async fn restart(&mut self, http: &reqwest::Client, kill: bool) -> BenchResult<Duration> {
        if kill {
            let _ = self.child.kill();
        } else {
            Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status()?;
        }
        let _ = self.child.wait();
        let started = Instant::now();
        self.child = spawn_serve(&self.bin, &self.store, &self.base)?;
        wait_ready(
            http,
            &self.base,
            started,
            Duration::from_millis(2),
            READY_LIMIT,
        )
        .await?;
        Ok(started.elapsed())
    }
}

fn free_port() -> BenchResult<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Starts `helpdesk serve`. Its log is dropped, unless `HELPDESK_BENCH_SERVER_LOG` names a
/// file: then it is appended there at `info`, one line per request with its time in the
/// server (`micros`), to tell the server's share of a slow answer from the client's.
fn spawn_serve(bin: &Path, store: &str, base: &str) -> BenchResult<Child> {
    let (level, log) = match std::env::var_os("HELPDESK_BENCH_SERVER_LOG") {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            ("info", Stdio::from(file))
        }
        None => ("warn", Stdio::null()),
    };
    Ok(Command::new(bin)
        .args(["serve", "--store", store, "--bind", base])
        // Tokens outlive the longest run.
        .args(["--access-token-ttl", "24h"])
        // The benchmark seeds its members through signup, all from loopback.
        .args(["--signup-limit", "1000000/1s"])
        .env("RUST_LOG", level)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?)
}

/// T2's requests: the first page of open tickets, as `token`.
fn t2_requests(host: String, token: String) -> MakeRequest {
    Arc::new(move |_, _| {
        load::request(
            Method::GET,
            &host,
            "/api/tickets?status=open&limit=50",
            Some(&token),
            None,
        )
    })
}

/// M2's requests: the latest 50 messages of group `gid`, as one member per connection.
fn m2_requests(host: String, tokens: Arc<Vec<String>>, gid: String) -> MakeRequest {
    Arc::new(move |c, _| {
        load::request(
            Method::GET,
            &host,
            &format!("/api/conversations/{gid}/messages?limit=50"),
            Some(&tokens[c % tokens.len()]),
            None,
        )
    })
}

/// M3's requests: each member's watermark in group `gid` moves one of `messages`
/// further per request.
fn m3_requests(
    host: String,
    tokens: Arc<Vec<String>>,
    gid: String,
    messages: Arc<Vec<String>>,
) -> MakeRequest {
    Arc::new(move |c, n| {
        let i = (n as usize).min(messages.len().saturating_sub(1));
        load::request(
            Method::POST,
            &host,
            &format!("/api/conversations/{gid}/read-up-to/{}", messages[i]),
            Some(&tokens[c % tokens.len()]),
            None,
        )
    })
}

/// K1's requests: a search for a vocabulary word, cycling through the vocabulary.
fn k1_requests(host: String, token: String) -> MakeRequest {
    Arc::new(move |c, n| {
        let i = (c * 31 + n as usize * 7) % VOCABULARY.len();
        load::request(
            Method::GET,
            &host,
            &format!("/api/kb/search?q={}", VOCABULARY[i]),
            Some(&token),
            None,
        )
    })
}

/// A report's first line: the store, the machine and the load.
fn report_header(on: &str, connections: usize, warmup: Duration, duration: Duration) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let store = if on == "sled" { "sled" } else { "PostgreSQL" };
    format!(
        "Store: {store}. {} cores, {cpu}; client and server share them. {connections} \
         connections, {} s warm-up, {} s measured.",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        warmup.as_secs_f64(),
        duration.as_secs_f64()
    )
}

/// How long a `serve` of the normal run may take to be ready.
const READY_LIMIT: Duration = Duration::from_secs(30);

/// Polls `/readyz` every `every` until it answers 2xx, at most `limit` after `started`.
async fn wait_ready(
    http: &reqwest::Client,
    base: &str,
    started: Instant,
    every: Duration,
    limit: Duration,
) -> BenchResult {
    loop {
        let ready = http
            .get(format!("http://{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            return Ok(());
        }
        if started.elapsed() > limit {
            return Err(format!("{base} did not become ready in {limit:?}").into());
        }
        tokio::time::sleep(every).await;
    }
}

/// Creates the admin with `helpdesk user create`, then starts `helpdesk serve`.
async fn start_server(
    bin: PathBuf,
    on: &str,
    http: &reqwest::Client,
) -> BenchResult<ServerProcess> {
    let (store, dir) = if on == "sled" {
        let dir = tempfile::tempdir()?;
        (
            format!("sled:{}", dir.path().join("data").display()),
            Some(dir),
        )
    } else {
        (on.to_string(), None)
    };
    let mut create = Command::new(&bin)
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
    let base = format!("127.0.0.1:{}", free_port()?);
    let started = Instant::now();
    let server = ServerProcess {
        child: spawn_serve(&bin, &store, &base)?,
        bin,
        base,
        store,
        _dir: dir,
    };
    wait_ready(
        http,
        &server.base,
        started,
        Duration::from_millis(20),
        READY_LIMIT,
    )
    .await?;
    Ok(server)
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

/// An open socket's reading task; dropping it closes the socket.
struct OpenSocket(tokio::task::AbortHandle);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Where a socket reports `message.created` arrivals: `(message id, when)`.
type Arrivals = mpsc::UnboundedSender<(String, Instant)>;

/// Opens an `/api/ws` socket that reports `message.created` arrivals.
async fn open_socket(
    base: &str,
    token: &str,
    arrivals: Option<Arrivals>,
) -> BenchResult<OpenSocket> {
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{base}/api/ws?token={token}")).await?;
    let task = tokio::spawn(async move {
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
    Ok(OpenSocket(task.abort_handle()))
}

/// Opens a Socket.IO socket (websocket transport, the token in CONNECT's auth) that
/// answers pings and reports `message.created` arrivals.
async fn open_socketio(
    base: &str,
    token: &str,
    arrivals: Option<Arrivals>,
) -> BenchResult<OpenSocket> {
    let mut client = socketio::Client::connect(base, token).await?;
    let task = tokio::spawn(async move {
        while let Ok(Some(event)) = client.next_event().await {
            if let Some(tx) = &arrivals
                && event.name == "message.created"
                && let Some(id) = event.arg["data"]["message"]["id"].as_str()
            {
                let _ = tx.send((id.to_string(), event.at));
            }
        }
    });
    Ok(OpenSocket(task.abort_handle()))
}

/// Which transport a real-time workload's sockets speak.
#[derive(Clone, Copy)]
enum Transport {
    /// `/api/ws`.
    Ws,
    /// Socket.IO at `/socket.io/`, websocket transport.
    SocketIo,
}

/// Opens one socket per token (`tokens[i % len]` for `i` in `0..n`), 64 at a time.
async fn open_sockets(
    transport: Transport,
    base: &str,
    tokens: &[String],
    n: usize,
    arrivals: Option<&Arrivals>,
) -> BenchResult<Vec<OpenSocket>> {
    let mut open = Vec::with_capacity(n);
    let mut opening = futures_util::stream::iter((0..n).map(|i| {
        let token = &tokens[i % tokens.len()];
        let arrivals = arrivals.cloned();
        async move {
            match transport {
                Transport::Ws => open_socket(base, token, arrivals).await,
                Transport::SocketIo => open_socketio(base, token, arrivals).await,
            }
        }
    }))
    .buffer_unordered(64);
    while let Some(r) = opening.next().await {
        open.push(r?);
    }
    Ok(open)
}

/// W1's rounds: `posts` messages into the group, one at a time, each timed from its
/// POST to its arrival on every one of `members` sockets (reported through
/// `arrivals`); the rows, named after `label`.
async fn fan_out(
    http: &reqwest::Client,
    url: &str,
    admin: &str,
    members: usize,
    posts: usize,
    arrivals: &mut mpsc::UnboundedReceiver<(String, Instant)>,
    label: &str,
) -> BenchResult<Vec<(String, String)>> {
    let mut all = Vec::new();
    let mut to_last = Vec::new();
    let mut answered = Vec::new();
    for round in 0..posts {
        let posted = Instant::now();
        let m = post(
            http,
            url.to_string(),
            Some(admin),
            json!({"content": format!("{label} round {round}")}),
        )
        .await?;
        answered.push(posted.elapsed());
        let id = m["id"].as_str().ok_or("no message id")?.to_string();
        let mut got = 0;
        let mut last = Duration::ZERO;
        while got < members {
            let (mid, at) = tokio::time::timeout(Duration::from_secs(30), arrivals.recv())
                .await
                .map_err(|_| {
                    format!(
                        "{label} round {round}: {got} of {members} sockets got the event in 30 s"
                    )
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
    let p50_p99 = |times: &mut Vec<Duration>| {
        times.sort();
        format!(
            "p50 {}  p99 {}",
            ms(percentile(times, 50.0)),
            ms(percentile(times, 99.0))
        )
    };
    Ok(vec![
        (format!("{label} POST answered"), p50_p99(&mut answered)),
        (
            format!("{label} POST → event on each of {members} sockets"),
            p50_p99(&mut all),
        ),
        (
            format!("{label} POST → event on the last socket"),
            p50_p99(&mut to_last),
        ),
    ])
}

/// RSS growth per socket, as a row value.
fn per_socket(before_kib: u64, after_kib: u64, n: usize) -> String {
    format!(
        "{:.1} KiB",
        after_kib.saturating_sub(before_kib) as f64 / n.max(1) as f64
    )
}

/// This process's limit on open files (the soft one, which the server inherits).
fn open_files_limit() -> Option<u64> {
    std::fs::read_to_string("/proc/self/limits")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Words of the seeded tickets, messages and articles, and of the K1 queries.
const VOCABULARY: &[&str] = &[
    "password",
    "reset",
    "login",
    "account",
    "invoice",
    "billing",
    "refund",
    "payment",
    "email",
    "notification",
    "browser",
    "mobile",
    "android",
    "iphone",
    "printer",
    "network",
    "wireless",
    "router",
    "firewall",
    "export",
    "import",
    "backup",
    "restore",
    "database",
    "server",
    "timeout",
    "error",
    "crash",
    "update",
    "upgrade",
    "install",
    "license",
    "subscription",
    "cancel",
    "renewal",
    "discount",
    "shipping",
    "delivery",
    "tracking",
    "address",
    "profile",
    "settings",
    "language",
    "timezone",
    "calendar",
    "meeting",
    "schedule",
    "report",
    "dashboard",
    "chart",
    "filter",
    "search",
    "permission",
    "role",
    "admin",
    "team",
    "invite",
    "security",
    "phishing",
    "verification",
    "certificate",
    "domain",
    "storage",
    "quota",
    "attachment",
    "upload",
    "download",
    "sync",
    "offline",
    "keyboard",
    "shortcut",
    "theme",
    "integration",
    "webhook",
    "token",
    "session",
    "logout",
    "locked",
    "disabled",
    "migration",
    "performance",
    "slow",
    "latency",
    "outage",
    "maintenance",
    "warranty",
    "replacement",
    "battery",
    "screen",
    "camera",
];

/// `n` words of the vocabulary, drawn with `rng`.
fn words(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| VOCABULARY[rng.gen_range(0..VOCABULARY.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

/// A made-up word of three syllables: the filler of article bodies (about 5,000 of them).
fn filler(rng: &mut StdRng) -> String {
    const ONSETS: &[&str] = &[
        "b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
    ];
    const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai"];
    (0..3)
        .map(|_| {
            format!(
                "{}{}",
                ONSETS[rng.gen_range(0..ONSETS.len())],
                VOWELS[rng.gen_range(0..VOWELS.len())]
            )
        })
        .collect()
}

/// An article body of `n` words: one in ten from the vocabulary (so a one-word query
/// matches about one article in eight), the rest filler.
fn article_body(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| {
            if rng.gen_range(0..10) == 0 {
                VOCABULARY[rng.gen_range(0..VOCABULARY.len())].to_string()
            } else {
                filler(rng)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Text of exactly `len` bytes (ASCII words).
fn text_of(rng: &mut StdRng, len: usize) -> String {
    let mut s = words(rng, len / 4 + 8);
    s.truncate(len);
    s
}

/// Runs `make(i)` for every `i` in `0..n`, `concurrency` at a time; the answers in
/// completion order.
async fn seed<F, Fut>(what: &str, n: usize, concurrency: usize, make: F) -> BenchResult<Vec<Value>>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = BenchResult<Value>>,
{
    let started = Instant::now();
    let mut out = Vec::with_capacity(n);
    let mut pending = futures_util::stream::iter((0..n).map(make)).buffer_unordered(concurrency);
    while let Some(v) = pending.next().await {
        out.push(v?);
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "  seeded {n} {what} in {took:.1} s ({:.0}/s)",
        n as f64 / took.max(1e-9)
    );
    Ok(out)
}

fn string_at(v: &Value, pointer: &str) -> BenchResult<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("no {pointer} in {v}").into())
}

/// One row of the request table.
struct Row {
    name: String,
    result: LoadResult,
    rss_kib: u64,
    /// `(ceiling name, ceiling requests/s, target ratio)`.
    against: Option<(&'static str, f64, f64)>,
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn print_rows(rows: &[Row]) {
    println!(
        "| workload | requests/s | p50 | p99 | errors | server CPU / request | server RSS | vs ceiling | target |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for r in rows {
        let (ratio, target) = match r.against {
            Some((name, ceiling, goal)) if ceiling > 0.0 => {
                let ratio = r.result.rps() / ceiling;
                (
                    format!("{:.1} % of {name}", ratio * 100.0),
                    format!(
                        "≥ {:.0} %: {}",
                        goal * 100.0,
                        if ratio >= goal { "met" } else { "**not met**" }
                    ),
                )
            }
            Some((name, _, goal)) => (
                format!("({name} not measured)"),
                format!("≥ {:.0} %", goal * 100.0),
            ),
            None => ("ceiling".to_string(), "".to_string()),
        };
        println!(
            "| {} | {:.0} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            r.result.rps(),
            ms(r.result.percentile(50.0)),
            ms(r.result.percentile(99.0)),
            r.result.errors,
            r.result
                .server_cpu_per_request()
                .map_or("–".to_string(), |d| format!("{} µs", d.as_micros())),
            mib(r.rss_kib),
            ratio,
            target
        );
    }
}

/// A read ceiling: `helpdesk-bench hello` (answering `body_bytes`, 0: `Hello, World!`)
/// driven like the workloads.
async fn hello_ceiling(
    spec: LoadSpec,
    http: &reqwest::Client,
    body_bytes: usize,
) -> BenchResult<(LoadResult, u64)> {
    let base = format!("127.0.0.1:{}", free_port()?);
    let child = Command::new(std::env::current_exe()?)
        .args([
            "hello",
            "--bind",
            &base,
            "--body-bytes",
            &body_bytes.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let guard = ServerProcess {
        child,
        bin: PathBuf::new(),
        base: base.clone(),
        store: String::new(),
        _dir: None,
    };
    let started = Instant::now();
    loop {
        if http.get(format!("http://{base}/")).send().await.is_ok() {
            break;
        }
        if started.elapsed() > Duration::from_secs(10) {
            return Err("helpdesk-bench hello did not answer in 10 s".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let host = base.clone();
    let make: MakeRequest =
        Arc::new(move |_, _| load::request(Method::GET, &host, "/", Some("hello-token"), None));
    let result = load::drive(&base, spec, make, Some(guard.child.id())).await?;
    let rss = guard.rss_kib();
    Ok((result, rss))
}

/// What a workload is held against.
#[derive(Clone, Copy)]
enum Against {
    /// Hello world (reads without a page-size answer: K1, V1), target 25 %.
    HelloWorld,
    /// A static page as large as the workload's answer (T2, M2), target 50 %.
    SamePage,
    /// pgbench's single-row INSERT (writes), target 50 %.
    Pgbench,
}

/// Runs the benchmark.
async fn run(args: BenchArgs) -> BenchResult {
    for w in &args.workloads {
        if !WORKLOADS.iter().any(|k| k.eq_ignore_ascii_case(w)) {
            return Err(format!("unknown workload `{w}` (known: {})", WORKLOADS.join(", ")).into());
        }
    }
    // Found (and under `cargo run`, built) before anything is measured.
    let bin = server_bin::locate(args.helpdesk_bin.clone())?;
    if args.scale {
        return scale::run(&args, bin).await;
    }
    let want = |w: &str| args.workloads.iter().any(|x| x.eq_ignore_ascii_case(w));
    let spec = LoadSpec {
        connections: args.connections.max(1),
        warmup: args.warmup,
        duration: args.duration.max(Duration::from_millis(100)),
    };
    let reads = ["t2", "v1", "m2", "k1"].iter().any(|w| want(w));
    let writes = ["t1", "m1", "m3"].iter().any(|w| want(w));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.seed_concurrency.max(64))
        .build()?;
    let mut rows: Vec<Row> = Vec::new();

    // The ceilings first, with nothing else running.
    let mut hello_rps = 0.0;
    let mut pg_tps = 0.0;
    let mut ceiling_notes = Vec::new();
    if !args.no_ceilings && reads {
        println!("read ceiling: hyper hello world ...");
        let (result, rss) = hello_ceiling(spec, &http, 0).await?;
        hello_rps = result.rps();
        rows.push(Row {
            name: "hello world (hyper, read ceiling)".into(),
            result,
            rss_kib: rss,
            against: None,
        });
    }
    if !args.no_ceilings && writes {
        let url = args
            .pgbench_url
            .clone()
            .or_else(|| args.on.starts_with("postgres").then(|| args.on.clone()));
        match url {
            Some(url) => {
                println!(
                    "write ceiling: pgbench single-row INSERT, {} clients ...",
                    spec.connections
                );
                match ceiling::pgbench(&url, spec.connections, spec.warmup, spec.duration) {
                    Ok(pg) => {
                        pg_tps = pg.tps;
                        ceiling_notes.push(format!(
                            "| pgbench INSERT (write ceiling) | {:.0} | {} | {} | {} | – | – | ceiling | |",
                            pg.tps,
                            ms(pg.p50),
                            ms(pg.p99),
                            pg.failed
                        ));
                    }
                    Err(e) => println!("  pgbench failed, no write ceiling: {e}"),
                }
            }
            None => println!(
                "  no PostgreSQL for pgbench (--pgbench-url or HELPDESK_TEST_DATABASE_URL): no write ceiling"
            ),
        }
    }

    println!(
        "starting a server on a fresh {} store ...",
        if args.on == "sled" {
            "sled"
        } else {
            "PostgreSQL"
        }
    );
    let mut server = start_server(bin, &args.on, &http).await?;
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
    let admin_id = {
        let me: Value = http
            .get(format!("http://{base}/api/users/me"))
            .bearer_auth(&admin)
            .send()
            .await?
            .json()
            .await?;
        string_at(&me, "/id")?
    };
    let _ = admin_id;

    // Members sign up over the API (an argon2 hash each, so 16 at a time).
    let chat = ["m1", "m2", "m3"].iter().any(|w| want(w));
    let fan_outs = want("w1") || want("w1sio");
    let realtime = fan_outs || ((want("idle") || want("idlesio")) && args.idle > 0);
    // Sockets open at once, on each side: W1's and `idle`'s, then (on the restarted
    // server) the Socket.IO ones.
    let open = |w1: &str, idle: &str| {
        usize::from(want(w1)) * args.sockets + usize::from(want(idle)) * args.idle
    };
    let at_once = open("w1", "idle").max(open("w1sio", "idlesio"));
    if let Some(limit) = open_files_limit()
        && at_once as u64 + 256 > limit
    {
        return Err(format!(
            "{at_once} sockets at once need more open files than the limit of {limit}: \
             raise it (ulimit -n {}) or lower --sockets / --idle",
            at_once + 256
        )
        .into());
    }
    let members = (if chat { spec.connections } else { 0 }).max(if realtime {
        args.sockets.max(1)
    } else {
        0
    });
    println!("seeding over the API ...");
    let signed = seed("members", members, 16, |i| {
        post(
            &http,
            format!("http://{base}/api/auth/signup"),
            None,
            json!({"email": format!("member{i}@bench.example"), "password": "bench-password", "name": format!("Member {i}")}),
        )
    })
    .await?;
    let mut tokens = Vec::with_capacity(members);
    let mut ids = Vec::with_capacity(members);
    for v in &signed {
        tokens.push(string_at(v, "/access_token")?);
        ids.push(string_at(v, "/user/id")?);
    }
    let conc = args.seed_concurrency.max(1);

    if want("t2") || want("v1") {
        seed("tickets", args.tickets, conc, |i| {
            let mut rng = StdRng::seed_from_u64(i as u64);
            let body = json!({
                "subject": format!("Ticket {i}: {}", words(&mut rng, 4)),
                "description": text_of(&mut rng, 200),
            });
            let url = format!("http://{base}/api/tickets");
            let (http, admin, base) = (&http, &admin, &base);
            async move {
                let t = post(http, url, Some(admin), body).await?;
                // Every tenth ticket waits on its requester, so the filter filters.
                if i % 10 == 0 {
                    let id = string_at(&t, "/id")?;
                    let resp = http
                        .patch(format!("http://{base}/api/tickets/{id}"))
                        .bearer_auth(admin)
                        .json(&json!({"status": "pending"}))
                        .send()
                        .await?;
                    if !resp.status().is_success() {
                        return Err(format!("PATCH ticket: {}", resp.status()).into());
                    }
                }
                Ok(t)
            }
        })
        .await?;
    }

    // The long conversation of m2/m3: the admin and one member per connection.
    let mut history = (String::new(), Vec::<String>::new());
    if want("m2") || want("m3") {
        let group = post(
            &http,
            format!("http://{base}/api/conversations"),
            Some(&admin),
            json!({"kind": "group", "title": "History", "member_ids": &ids[..spec.connections]}),
        )
        .await?;
        let gid = string_at(&group, "/id")?;
        let url = format!("http://{base}/api/conversations/{gid}/messages");
        let sent = seed("messages in one conversation", args.messages, conc, |i| {
            let mut rng = StdRng::seed_from_u64(i as u64);
            post(
                &http,
                url.clone(),
                Some(&admin),
                json!({"content": text_of(&mut rng, 100)}),
            )
        })
        .await?;
        let mut by_seq = BTreeMap::new();
        for m in &sent {
            by_seq.insert(m["seq"].as_u64().ok_or("no seq")?, string_at(m, "/id")?);
        }
        history = (gid, by_seq.into_values().collect());
    }

    // The direct conversations of m1: the admin and member `c` for connection `c`.
    let mut directs = Vec::new();
    if want("m1") {
        for id in &ids[..spec.connections] {
            let c = post(
                &http,
                format!("http://{base}/api/conversations"),
                Some(&admin),
                json!({"kind": "direct", "member_ids": [id]}),
            )
            .await?;
            directs.push(string_at(&c, "/id")?);
        }
    }

    if want("k1") {
        seed("articles", args.articles, conc, |i| {
            let mut rng = StdRng::seed_from_u64(1_000_000 + i as u64);
            let tags: Vec<&str> = (0..2)
                .map(|_| VOCABULARY[rng.gen_range(0..VOCABULARY.len())])
                .collect();
            post(
                &http,
                format!("http://{base}/api/kb/articles"),
                Some(&admin),
                json!({
                    "title": format!("{} ({i})", words(&mut rng, 2)),
                    "body": article_body(&mut rng, 120),
                    "tags": tags,
                    "status": "published",
                }),
            )
        })
        .await?;
    }
    if args.on.starts_with("postgres") {
        // Fresh statistics, as autovacuum gathers them within a minute or so of a bulk
        // load: without them the planner takes 15,000 open tickets for 100 and sorts.
        println!("  ANALYZE (what autovacuum does after a bulk load) ...");
        ceiling::psql(&args.on, "ANALYZE")?;
    }
    let rss_seeded = server.rss_kib();

    let hello = (!args.no_ceilings && hello_rps > 0.0).then_some(hello_rps);
    let pg = (!args.no_ceilings && pg_tps > 0.0).then_some(pg_tps);
    let no_ceilings = args.no_ceilings;
    let mut measure = async |name: String, make: MakeRequest, against: Against| -> BenchResult {
        println!("{name} ...");
        // The answer's size, for the same-size static page (one request, not timed).
        let size = match against {
            Against::SamePage => Some(load::answer_size(&base, make.clone()).await?),
            _ => None,
        };
        let result = load::drive(&base, spec, make, Some(server.child.id())).await?;
        if let Some(e) = &result.first_error {
            println!("  first error: {e}");
        }
        let rss_kib = server.rss_kib();
        let against = match (against, size) {
            (Against::HelloWorld, _) => Some(("hello world", hello.unwrap_or(0.0), 0.25)),
            (Against::Pgbench, _) => Some(("pgbench", pg.unwrap_or(0.0), 0.5)),
            (Against::SamePage, Some(bytes)) if !no_ceilings => {
                // The ceiling right after the workload, the helpdesk server idle.
                let (page, page_rss) = hello_ceiling(spec, &http, bytes).await?;
                let page_rps = page.rps();
                rows.push(Row {
                    name: format!("static page of {bytes} bytes (hyper, ceiling)"),
                    result: page,
                    rss_kib: page_rss,
                    against: None,
                });
                Some(("the same-size page", page_rps, 0.5))
            }
            (Against::SamePage, _) => Some(("the same-size page", 0.0, 0.5)),
        };
        rows.push(Row {
            name,
            result,
            rss_kib,
            against,
        });
        Ok(())
    };
    let host = base.clone();
    let admin_token = admin.clone();

    if want("t2") {
        let make = t2_requests(host.clone(), admin_token.clone());
        let name = format!("T2 list 50 open tickets of {}", args.tickets);
        measure(name, make, Against::SamePage).await?;
    }
    if want("v1") {
        // T2's filter as a saved view: its first page goes through the view's pushdown
        // and the condition evaluated on every candidate.
        let filter = json!({"all": [{"field": "status", "op": "eq", "value": "open"}]});
        let view = post(
            &http,
            format!("http://{base}/api/views"),
            Some(&admin_token),
            json!({"name": "Open", "scope": "global", "filter": filter}),
        )
        .await?;
        let (host, token, id) = (host.clone(), admin_token.clone(), string_at(&view, "/id")?);
        let make: MakeRequest = Arc::new(move |_, _| {
            load::request(
                Method::GET,
                &host,
                &format!("/api/views/{id}/tickets?limit=50"),
                Some(&token),
                None,
            )
        });
        let name = format!("V1 a view's first 50 open tickets of {}", args.tickets);
        measure(name, make, Against::HelloWorld).await?;
    }
    if want("m2") {
        let make = m2_requests(host.clone(), Arc::new(tokens.clone()), history.0.clone());
        let name = format!("M2 latest 50 of {} messages", args.messages);
        measure(name, make, Against::SamePage).await?;
    }
    if want("k1") {
        let make = k1_requests(host.clone(), admin_token.clone());
        let name = format!("K1 search {} articles", args.articles);
        measure(name, make, Against::HelloWorld).await?;
    }
    if want("t1") {
        let (host, token) = (host.clone(), admin_token.clone());
        let make: MakeRequest = Arc::new(move |c, n| {
            let mut rng = StdRng::seed_from_u64((c as u64) << 32 | n);
            let body = json!({
                "subject": format!("Load {c}-{n}: {}", words(&mut rng, 4)),
                "description": text_of(&mut rng, 200),
            });
            load::request(
                Method::POST,
                &host,
                "/api/tickets",
                Some(&token),
                Some(Bytes::from(body.to_string())),
            )
        });
        measure("T1 create a ticket".into(), make, Against::Pgbench).await?;
    }
    if want("m1") {
        let (host, token, directs) = (host.clone(), admin_token.clone(), directs.clone());
        let make: MakeRequest = Arc::new(move |c, n| {
            let mut rng = StdRng::seed_from_u64((c as u64) << 32 | n);
            let body = json!({"content": text_of(&mut rng, 100)});
            load::request(
                Method::POST,
                &host,
                &format!("/api/conversations/{}/messages", directs[c % directs.len()]),
                Some(&token),
                Some(Bytes::from(body.to_string())),
            )
        });
        measure("M1 send 100 bytes (direct)".into(), make, Against::Pgbench).await?;
    }
    if want("m3") {
        let messages = Arc::new(history.1.clone());
        let make = m3_requests(
            host.clone(),
            Arc::new(tokens.clone()),
            history.0.clone(),
            messages,
        );
        let name = format!("M3 read-up-to, {} messages", args.messages);
        measure(name, make, Against::Pgbench).await?;
    }

    // The real-time workloads, reported as measures.
    let mut rows2: Vec<(String, String)> = Vec::new();
    let rows_rt = &mut rows2;
    let group_id = if fan_outs {
        let group = post(
            &http,
            format!("http://{base}/api/conversations"),
            Some(&admin),
            json!({"kind": "group", "title": "Bench", "member_ids": &ids[..members]}),
        )
        .await?;
        let in_group = group["members"].as_array().map_or(0, Vec::len);
        if in_group != members + 1 {
            return Err(format!("the group has {in_group} members, not {}", members + 1).into());
        }
        string_at(&group, "/id")?
    } else {
        String::new()
    };
    let group_url = format!("http://{base}/api/conversations/{group_id}/messages");
    let mut w1_open = Vec::new();
    if want("w1") {
        println!("W1: {members} sockets, {} posts ...", args.posts);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let rss_before = server.rss_kib();
        w1_open = open_sockets(Transport::Ws, &base, &tokens, members, Some(&tx)).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let rss_after = server.rss_kib();
        let rows = fan_out(
            &http, &group_url, &admin, members, args.posts, &mut rx, "W1",
        )
        .await?;
        rows_rt.extend(rows);
        rows_rt.push((
            format!("server RSS growth per W1 socket ({members})"),
            per_socket(rss_before, rss_after, members),
        ));
    }
    let mut idle_open = Vec::new();
    if want("idle") && args.idle > 0 {
        println!("idle: opening {} sockets ...", args.idle);
        let rss_before = server.rss_kib();
        idle_open = open_sockets(Transport::Ws, &base, &tokens, args.idle, None).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        rows_rt.push((
            format!("server RSS growth per idle socket ({})", args.idle),
            per_socket(rss_before, server.rss_kib(), args.idle),
        ));
    }
    rows_rt.push(("server RSS at start (empty store)".into(), mib(rss_start)));
    rows_rt.push(("server RSS after seeding".into(), mib(rss_seeded)));
    rows_rt.push(("server RSS at the end".into(), mib(server.rss_kib())));
    // Ready time on an existing store: stopped by SIGTERM, then by kill -9 (recovery).
    let ready = server.restart(&http, false).await?;
    rows_rt.push((
        "`serve` ready after SIGTERM, first start after the run's writes".into(),
        ms(ready),
    ));
    let ready = server.restart(&http, true).await?;
    rows_rt.push((
        "`serve` ready after kill -9, right after that start".into(),
        ms(ready),
    ));
    rows_rt.push((
        "server RSS after the restart (idle)".into(),
        mib(server.rss_kib()),
    ));
    // The restarts closed every socket; the bench's own ends go now.
    drop((w1_open, idle_open));

    // Socket.IO on the restarted server, as W1 and `idle` on the first: W1's rounds,
    // then the idle sockets with W1's still open. Each member's session is read once
    // first, as signing up did on the first server: the memory figures are then the
    // sockets', not the store's cache filling after the restart.
    if want("w1sio") || (want("idlesio") && args.idle > 0) {
        seed(
            "sessions read again (GET /api/users/me)",
            members,
            conc,
            |i| {
                let (http, base, token) = (&http, &base, &tokens[i]);
                async move {
                    let resp = http
                        .get(format!("http://{base}/api/users/me"))
                        .bearer_auth(token)
                        .send()
                        .await?;
                    if !resp.status().is_success() {
                        return Err(format!("GET /api/users/me: {}", resp.status()).into());
                    }
                    Ok(Value::Null)
                }
            },
        )
        .await?;
    }
    let mut w1sio_open = Vec::new();
    if want("w1sio") {
        let label = "W1 (Socket.IO)";
        println!("{label}: {members} sockets, {} posts ...", args.posts);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let rss_before = server.rss_kib();
        w1sio_open = open_sockets(Transport::SocketIo, &base, &tokens, members, Some(&tx)).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let rss_after = server.rss_kib();
        let rows = fan_out(
            &http, &group_url, &admin, members, args.posts, &mut rx, label,
        )
        .await?;
        rows_rt.extend(rows);
        rows_rt.push((
            format!("server RSS growth per {label} socket ({members})"),
            per_socket(rss_before, rss_after, members),
        ));
    }
    if want("idlesio") && args.idle > 0 {
        println!("idle Socket.IO: opening {} sockets ...", args.idle);
        let rss_before = server.rss_kib();
        let open = open_sockets(Transport::SocketIo, &base, &tokens, args.idle, None).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        rows_rt.push((
            format!(
                "server RSS growth per idle Socket.IO socket ({})",
                args.idle
            ),
            per_socket(rss_before, server.rss_kib(), args.idle),
        ));
        drop(open);
    }
    drop(w1sio_open);

    println!();
    println!(
        "{}",
        report_header(&args.on, spec.connections, spec.warmup, spec.duration)
    );
    println!();
    if !rows.is_empty() || !ceiling_notes.is_empty() {
        print_rows(&rows);
        for line in &ceiling_notes {
            println!("{line}");
        }
        println!();
    }
    println!("| measure | value |");
    println!("|---|---|");
    for (k, v) in rows2 {
        println!("| {k} | {v} |");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("5y").is_err());
    }
}
