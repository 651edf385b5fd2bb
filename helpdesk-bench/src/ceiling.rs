//! The machine's ceilings: a minimal hyper "hello world" server (`helpdesk bench-hello`,
//! a hidden subcommand so it runs as its own process like `serve`) for reads, and
//! `pgbench` with a one-row INSERT script, 16 clients, for writes.

use std::convert::Infallible;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use crate::BenchResult;

/// The page the read ceiling serves: `Hello, World!`, or `bytes` of JSON (a string of
/// that length in all).
pub fn page(bytes: usize) -> Bytes {
    if bytes == 0 {
        return Bytes::from_static(b"Hello, World!");
    }
    let mut page = vec![b'x'; bytes.max(2)];
    page[0] = b'"';
    page[bytes.max(2) - 1] = b'"';
    Bytes::from(page)
}

/// Serves `page` to every request on `bind` until killed: the same hyper connection
/// setup as `helpdesk serve`, with nothing behind it.
pub async fn serve_hello(bind: &str, page: Bytes) -> BenchResult {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let page = page.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_req| {
                let page = page.clone();
                async move { Ok::<_, Infallible>(Response::new(Full::new(page))) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// What pgbench measured.
#[derive(Debug)]
pub struct Pgbench {
    pub tps: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub failed: u64,
}

/// Runs `sql` with `psql`.
pub fn psql(url: &str, sql: &str) -> BenchResult {
    let out = Command::new("psql")
        .args([url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()?;
    if !out.status.success() {
        return Err(format!("psql: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(())
}

/// Single-row INSERTs (a 200-byte text column, a bigserial key, a default timestamp:
/// about a ticket's shape) by `clients` pgbench clients on 2 threads, after `warmup`.
pub fn pgbench(
    url: &str,
    clients: usize,
    warmup: Duration,
    duration: Duration,
) -> BenchResult<Pgbench> {
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("insert.sql");
    std::fs::write(
        &script,
        "INSERT INTO helpdesk_bench_insert (body) VALUES (repeat('x', 200));\n",
    )?;
    psql(
        url,
        "DROP TABLE IF EXISTS helpdesk_bench_insert; \
         CREATE TABLE helpdesk_bench_insert (id bigserial PRIMARY KEY, body text NOT NULL, \
         created_at timestamptz NOT NULL DEFAULT now())",
    )?;
    let run = |secs: u64, log: bool| -> BenchResult<std::process::Output> {
        let mut cmd = Command::new("pgbench");
        cmd.args(["-n", "-f"]).arg(&script).args([
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &secs.max(1).to_string(),
        ]);
        if log {
            cmd.arg("-l")
                .arg(format!("--log-prefix={}", dir.path().join("log").display()));
        }
        let out = cmd.arg(url).output()?;
        if !out.status.success() {
            return Err(format!("pgbench: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        Ok(out)
    };
    if !warmup.is_zero() {
        run(warmup.as_secs(), false)?;
    }
    let out = run(duration.as_secs(), true)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let tps = text
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| format!("no tps in pgbench's output:\n{text}"))?;
    let failed = text
        .lines()
        .find_map(|l| l.strip_prefix("number of failed transactions: "))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    // Per-transaction log lines: client, transaction number, latency in µs, ...
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(dir.path())? {
        let path = entry?.path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("log"))
        {
            for line in std::fs::read_to_string(&path)?.lines() {
                if let Some(us) = line.split_whitespace().nth(2).and_then(|v| v.parse().ok()) {
                    latencies.push(Duration::from_micros(us));
                }
            }
        }
    }
    latencies.sort_unstable();
    let _ = psql(url, "DROP TABLE IF EXISTS helpdesk_bench_insert");
    Ok(Pgbench {
        tps,
        p50: crate::percentile(&latencies, 50.0),
        p99: crate::percentile(&latencies, 99.0),
        failed,
    })
}
