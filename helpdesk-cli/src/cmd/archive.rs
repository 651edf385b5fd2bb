//! `helpdesk export FILE|-` and `helpdesk import FILE|-`: the whole store as a JSON
//! Lines archive (see `helpdesk_core::archive`), streamed, with a progress bar on a
//! terminal. Locally they call the library; over `--url` the admin endpoints
//! `GET /api/admin/export` and `POST /api/admin/import`, which call the same functions.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use futures_util::StreamExt;
use helpdesk_core::archive::{ArchiveSummary, ImportOptions};
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};

use super::backend::{Backend, check};
use super::error::{CliError, CliResult, Exit};
use super::output;

const BUFFER: usize = 256 * 1024;

/// `helpdesk export`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  helpdesk export backup.jsonl
  helpdesk export --url https://helpdesk.example.com backup.jsonl   # a live server, with HELPDESK_TOKEN
  helpdesk export --store sled:./helpdesk-data - | helpdesk import --store postgres://db/helpdesk -")]
pub struct ExportArgs {
    #[command(flatten)]
    pub admin: super::AdminArgs,
    /// The archive file, or `-` for standard output.
    pub file: String,
    /// Replace the file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// `helpdesk import`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  helpdesk import --store postgres://db/helpdesk backup.jsonl
  helpdesk export --store sled:./helpdesk-data - | helpdesk import --store postgres://db/helpdesk -

The store must be empty (a new sled directory or a new database). A failed import
leaves what it wrote so far: start again with an empty store.

Text may not hold control characters other than tab, newline and carriage return. An
archive of a store written before that rule may: the import names the line and field,
and --replace-control-chars imports it with each such character replaced by U+FFFD.")]
pub struct ImportArgs {
    #[command(flatten)]
    pub admin: super::AdminArgs,
    /// The archive file, or `-` for standard input.
    pub file: String,
    /// Replace control characters that text may not hold with U+FFFD instead of
    /// refusing the archive.
    #[arg(long)]
    pub replace_control_chars: bool,
}

fn progress_bar(total: Option<u64>) -> ProgressBar {
    match total {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template(
                "{spinner} {bar:30} {bytes}/{total_bytes} {msg} ({eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {bytes} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    }
}

/// A progress bar on standard error when it is a terminal and the archive is a file
/// (none when piped).
fn maybe_bar(file: &str, total: Option<u64>) -> Option<ProgressBar> {
    (file != "-" && std::io::stderr().is_terminal()).then(|| progress_bar(total))
}

fn tick(bar: &Option<ProgressBar>, s: &ArchiveSummary) {
    if let Some(b) = bar {
        b.set_position(s.bytes);
        if s.records.is_multiple_of(1000) {
            b.set_message(format!("{} records", s.records));
        }
    }
}

fn report(verb: &str, file: &str, s: &ArchiveSummary, json_out: bool) {
    if json_out {
        output::json(&json!({
            "records": s.records,
            "bytes": s.bytes,
            "replaced_characters": s.replaced_characters,
        }));
        return;
    }
    if std::io::stderr().is_terminal() && file != "-" {
        eprintln!(
            "{verb} {} records ({:.1} MiB)",
            s.records,
            s.bytes as f64 / (1024.0 * 1024.0)
        );
    }
    if s.replaced_characters > 0 {
        eprintln!(
            "replaced {} control characters with U+FFFD",
            s.replaced_characters
        );
    }
}

/// Runs `export`.
pub async fn export(b: &Backend, args: ExportArgs, json_out: bool) -> CliResult {
    let out: Box<dyn AsyncWrite + Unpin + Send> = if args.file == "-" {
        Box::new(tokio::io::stdout())
    } else {
        let path = PathBuf::from(&args.file);
        if path.exists() && !args.force {
            return Err(CliError::new(
                Exit::Conflict,
                format!(
                    "{} exists: choose another file or pass --force",
                    path.display()
                ),
            ));
        }
        let f = tokio::fs::File::create(&path)
            .await
            .map_err(|e| CliError::invalid(format!("cannot create {}: {e}", path.display())))?;
        Box::new(f)
    };
    let mut out = BufWriter::with_capacity(BUFFER, out);
    let bar = maybe_bar(&args.file, None);
    let summary = match b {
        Backend::Local { hd, actor } => {
            hd.export_archive(actor, &mut out, &|s| tick(&bar, s))
                .await?
        }
        Backend::Remote(r) => {
            let resp = r
                .request(Method::GET, "/api/admin/export")
                .send()
                .await
                .map_err(|e| r.unreachable(e))?;
            let mut body = check(resp).await?.bytes_stream();
            let mut s = ArchiveSummary::default();
            let mut ended = false;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| {
                    CliError::new(Exit::Failure, format!("the export broke off: {e}"))
                })?;
                s.records += chunk.iter().filter(|b| **b == b'\n').count() as u64;
                s.bytes += chunk.len() as u64;
                ended = chunk.ends_with(b"\n");
                out.write_all(&chunk).await?;
                tick(&bar, &s);
            }
            if !ended && s.bytes > 0 {
                return Err(CliError::new(
                    Exit::Failure,
                    "the export broke off mid-line",
                ));
            }
            // Lines, less the header and end lines.
            s.records = s.records.saturating_sub(2);
            s
        }
    };
    out.flush().await?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    report("exported", &args.file, &summary, json_out);
    Ok(())
}

/// Runs `import`.
pub async fn import(b: &Backend, args: ImportArgs, json_out: bool) -> CliResult {
    let (input, total): (Box<dyn AsyncRead + Unpin + Send>, Option<u64>) = if args.file == "-" {
        (Box::new(tokio::io::stdin()), None)
    } else {
        let f = tokio::fs::File::open(&args.file)
            .await
            .map_err(|e| CliError::invalid(format!("cannot open {}: {e}", args.file)))?;
        let len = f.metadata().await.ok().map(|m| m.len());
        (Box::new(f), len)
    };
    let bar = maybe_bar(&args.file, total);
    let summary = match b {
        Backend::Local { hd, actor } => {
            let reader = BufReader::with_capacity(BUFFER, input);
            let options = ImportOptions {
                replace_refused_text: args.replace_control_chars,
            };
            hd.import_archive_with(actor, reader, options, &|s| tick(&bar, s))
                .await
                .map_err(|e| {
                    let e = CliError::from(e);
                    e.context("import failed")
                })?
        }
        Backend::Remote(r) => {
            let bar2 = bar.clone();
            let chunks = futures_util::stream::unfold(
                (input, vec![0u8; 64 * 1024], 0u64),
                move |(mut input, mut buf, sent)| {
                    let bar = bar2.clone();
                    async move {
                        match input.read(&mut buf).await {
                            Ok(0) => None,
                            Ok(n) => {
                                let sent = sent + n as u64;
                                if let Some(b) = &bar {
                                    b.set_position(sent);
                                }
                                let chunk = buf[..n].to_vec();
                                Some((Ok::<_, std::io::Error>(chunk), (input, buf, sent)))
                            }
                            Err(e) => Some((Err(e), (input, buf, sent))),
                        }
                    }
                },
            );
            let path = if args.replace_control_chars {
                "/api/admin/import?replace_control_chars=true"
            } else {
                "/api/admin/import"
            };
            let resp = r
                .request(Method::POST, path)
                .header("content-type", "application/x-ndjson")
                .body(reqwest::Body::wrap_stream(chunks))
                .send()
                .await
                .map_err(|e| r.unreachable(e))?;
            let v: serde_json::Value = check(resp)
                .await
                .map_err(|e| e.context("import failed"))?
                .json()
                .await
                .map_err(|e| r.unreachable(e))?;
            ArchiveSummary {
                records: v["records"].as_u64().unwrap_or(0),
                bytes: v["bytes"].as_u64().unwrap_or(0),
                replaced_characters: v["replaced_characters"].as_u64().unwrap_or(0),
            }
        }
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    report("imported", &args.file, &summary, json_out);
    Ok(())
}
