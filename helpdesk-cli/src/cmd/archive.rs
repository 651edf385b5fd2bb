//! `helpdesk export FILE|-` and `helpdesk import FILE|-`: the whole store as a JSON
//! Lines archive (see `helpdesk_core::archive`), streamed, with a progress bar on a
//! terminal. Locally they call the library; over `--url` the admin endpoints
//! `GET /api/admin/export` and `POST /api/admin/import`, which call the same functions.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use helpdesk_core::archive::{ArchiveSummary, ImportOptions};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};

use super::admin::{Admin, ArchiveInput, Progress};
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
    pub flags: super::AdminArgs,
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
    pub flags: super::AdminArgs,
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

/// What a transfer reports, shown on the bar if there is one.
fn progress(bar: &Option<ProgressBar>) -> Progress {
    let bar = bar.clone();
    Arc::new(move |s: &ArchiveSummary| {
        if let Some(b) = &bar {
            b.set_position(s.bytes);
            if s.records.is_multiple_of(1000) {
                b.set_message(format!("{} records", s.records));
            }
        }
    })
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
pub async fn export(admin: &dyn Admin, args: ExportArgs, json_out: bool) -> CliResult {
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
    let summary = admin.export(&mut out, progress(&bar)).await?;
    out.flush().await?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    report("exported", &args.file, &summary, json_out);
    Ok(())
}

/// Runs `import`.
pub async fn import(admin: &dyn Admin, args: ImportArgs, json_out: bool) -> CliResult {
    let (input, total): (ArchiveInput, Option<u64>) = if args.file == "-" {
        (Box::new(tokio::io::stdin()), None)
    } else {
        let f = tokio::fs::File::open(&args.file)
            .await
            .map_err(|e| CliError::invalid(format!("cannot open {}: {e}", args.file)))?;
        let len = f.metadata().await.ok().map(|m| m.len());
        (Box::new(f), len)
    };
    let bar = maybe_bar(&args.file, total);
    let options = ImportOptions {
        replace_refused_text: args.replace_control_chars,
    };
    let summary = admin.import(input, options, progress(&bar)).await?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    report("imported", &args.file, &summary, json_out);
    Ok(())
}
