//! Which `helpdesk` binary the benchmark starts: `--helpdesk-bin` / `HELPDESK_BIN`, else
//! the one next to this executable (`target/release/helpdesk` beside
//! `target/release/helpdesk-bench`). Under `cargo run` that one is built first, with the
//! same profile: `cargo run -p helpdesk-bench` builds only this package, and a stale
//! server binary would be measured without a word.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::BenchResult;

/// The server binary to run.
pub fn locate(explicit: Option<PathBuf>) -> BenchResult<PathBuf> {
    if let Some(bin) = explicit {
        return if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!("--helpdesk-bin {}: no such file", bin.display()).into())
        };
    }
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .ok_or("the benchmark's own executable has no directory")?;
    let bin = dir.join(format!("helpdesk{}", std::env::consts::EXE_SUFFIX));
    if let Some(cargo) = std::env::var_os("CARGO") {
        build(Path::new(&cargo), dir)?;
    }
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "no `helpdesk` binary at {}: build it (cargo build --release -p helpdesk-cli) \
             or name one with --helpdesk-bin",
            bin.display()
        )
        .into())
    }
}

/// `cargo build -p helpdesk-cli --bin helpdesk` with the profile whose output directory
/// is `dir` (`debug` is the dev profile; `release` and custom profiles by name).
fn build(cargo: &Path, dir: &Path) -> BenchResult {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace above helpdesk-bench")?
        .join("Cargo.toml");
    let profile = match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(name) => name,
    };
    eprintln!("building the server: cargo build --profile {profile} -p helpdesk-cli");
    let status = Command::new(cargo)
        .arg("build")
        .arg("--manifest-path")
        .arg(&manifest)
        .args([
            "--profile",
            profile,
            "-p",
            "helpdesk-cli",
            "--bin",
            "helpdesk",
        ])
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("building the helpdesk binary failed ({status})").into())
    }
}
