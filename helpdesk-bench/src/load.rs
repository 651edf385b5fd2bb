//! The load generator: `connections` keep-alive HTTP/1.1 connections (hyper's client
//! connection, no pool), each sending its next request as soon as the previous answer
//! has been read in full. It is a closed loop on purpose: the benchmark asks what
//! throughput 16 busy clients get and how long each of their requests takes; it makes
//! no claim about latency at a fixed offered rate, which is where an open loop (and
//! the correction for coordinated omission) would be needed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use crate::BenchResult;

/// Builds request number `n` of connection `conn`; the URI is a path (origin form).
pub type MakeRequest = Arc<dyn Fn(usize, u64) -> Request<Full<Bytes>> + Send + Sync>;

/// How hard and how long to drive.
#[derive(Debug, Clone, Copy)]
pub struct LoadSpec {
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// What one run measured: requests sent inside the measured window.
#[derive(Debug, Default)]
pub struct LoadResult {
    /// 2xx answers.
    pub ok: u64,
    /// Other answers and transport failures.
    pub errors: u64,
    /// The first error seen, to say what went wrong.
    pub first_error: Option<String>,
    /// Latencies of the 2xx answers, sorted.
    pub latencies: Vec<Duration>,
    pub window: Duration,
    /// CPU time (user + system) the server process spent inside the measured window.
    pub server_cpu: Option<Duration>,
}

impl LoadResult {
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64()
    }
    pub fn percentile(&self, p: f64) -> Duration {
        crate::percentile(&self.latencies, p)
    }
    /// The server's CPU time per answered request: a figure that other load on the
    /// machine disturbs far less than requests/s.
    pub fn server_cpu_per_request(&self) -> Option<Duration> {
        let answered = u32::try_from(self.ok + self.errors)
            .ok()
            .filter(|n| *n > 0)?;
        Some(self.server_cpu? / answered)
    }
}

/// The CPU time (user + system, all threads) process `pid` has used so far, from
/// `/proc/<pid>/stat`, in Linux's user-visible clock ticks (USER_HZ, 100 per second on
/// every architecture Linux exports to user space).
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are space-separated.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

async fn connect(addr: &str) -> BenchResult<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(send)
}

#[derive(Default)]
struct ConnResult {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    latencies: Vec<Duration>,
}

/// The size of the body one request of `make` is answered with (the first of
/// connection 0, not timed): what the same-size static page serves.
pub async fn answer_size(addr: &str, make: MakeRequest) -> BenchResult<usize> {
    let mut sender = connect(addr).await?;
    sender.ready().await?;
    let resp = sender.send_request(make(0, 0)).await?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&body)).into());
    }
    Ok(body.len())
}

/// One connection: back-to-back requests until the window ends. A failed connection
/// is reopened (and counted as an error).
async fn drive_one(
    addr: String,
    conn: usize,
    make: MakeRequest,
    measure_from: Instant,
    end: Instant,
) -> ConnResult {
    let mut out = ConnResult::default();
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    let mut n = 0u64;
    loop {
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let outcome: BenchResult<hyper::StatusCode> = async {
            if sender.as_ref().is_none_or(|s| s.is_closed()) {
                sender = Some(connect(&addr).await?);
            }
            let s = sender.as_mut().ok_or("no connection")?;
            s.ready().await?;
            let resp = s.send_request(make(conn, n)).await?;
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            if !status.is_success() {
                return Err(format!("{status}: {}", String::from_utf8_lossy(&body)).into());
            }
            Ok(status)
        }
        .await;
        n += 1;
        let done = Instant::now();
        let measured = sent >= measure_from;
        match outcome {
            Ok(_) if measured => {
                out.ok += 1;
                out.latencies.push(done - sent);
            }
            Ok(_) => {}
            Err(e) => {
                if measured {
                    out.errors += 1;
                }
                if out.first_error.is_none() {
                    out.first_error = Some(e.to_string());
                }
                sender = None;
                // Do not spin on a server that refuses connections.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    out
}

/// Drives `addr` with `spec.connections` connections: `spec.warmup`, then the measured
/// `spec.duration`. With the server's `pid`, also measures its CPU time in the window.
pub async fn drive(
    addr: &str,
    spec: LoadSpec,
    make: MakeRequest,
    pid: Option<u32>,
) -> BenchResult<LoadResult> {
    let start = Instant::now();
    let measure_from = start + spec.warmup;
    let end = measure_from + spec.duration;
    let cpu = pid.map(|pid| {
        tokio::spawn(async move {
            tokio::time::sleep_until(measure_from.into()).await;
            let before = cpu_time(pid)?;
            tokio::time::sleep_until(end.into()).await;
            cpu_time(pid)?.checked_sub(before)
        })
    });
    let tasks: Vec<_> = (0..spec.connections)
        .map(|c| {
            tokio::spawn(drive_one(
                addr.to_string(),
                c,
                make.clone(),
                measure_from,
                end,
            ))
        })
        .collect();
    let mut result = LoadResult {
        window: spec.duration,
        ..LoadResult::default()
    };
    for t in tasks {
        let r = t.await?;
        result.ok += r.ok;
        result.errors += r.errors;
        if result.first_error.is_none() {
            result.first_error = r.first_error;
        }
        result.latencies.extend(r.latencies);
    }
    result.latencies.sort_unstable();
    if let Some(cpu) = cpu {
        result.server_cpu = cpu.await?;
    }
    Ok(result)
}

/// A request with the headers every workload sends.
pub fn request(
    method: hyper::Method,
    host: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Bytes>,
) -> Request<Full<Bytes>> {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, host);
    if let Some(t) = token {
        b = b.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if body.is_some() {
        b = b.header(hyper::header::CONTENT_TYPE, "application/json");
    }
    b.body(Full::new(body.unwrap_or_default()))
        .unwrap_or_else(|_| Request::new(Full::new(Bytes::new())))
}
