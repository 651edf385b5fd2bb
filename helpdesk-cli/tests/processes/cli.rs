//! The command line itself: which flags each command takes, their old spellings, and
//! logs that stay plain text when standard error is not a terminal.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::admin::{fails, ok};
use crate::common::{BIN, free_port};

const ADMIN_FLAGS: [&str; 4] = ["--url", "--token", "--as", "--json"];

/// Whether a `--help` text lists `flag` among its options.
fn lists(help: &str, flag: &str) -> bool {
    help.lines().any(|l| {
        let l = l.trim_start();
        l == flag || l.starts_with(&format!("{flag} "))
    })
}

/// `--url`, `--token`, `--as` and `--json` are listed by the administration commands
/// only.
#[test]
fn admin_flags_show_where_they_apply() {
    for command in [&["serve"][..], &["migrate"], &["completions"]] {
        let help = ok("memory", &[command, &["--help"]].concat());
        for flag in ADMIN_FLAGS {
            assert!(
                !lists(&help, flag),
                "`helpdesk {} --help` lists {flag}:\n{help}",
                command.join(" ")
            );
        }
    }
    for command in [
        &["user"][..],
        &["user", "list"],
        &["ticket", "show"],
        &["kb", "import"],
        &["webhook", "add"],
        &["export"],
        &["import"],
    ] {
        let help = ok("memory", &[command, &["--help"]].concat());
        for flag in ADMIN_FLAGS {
            assert!(
                lists(&help, flag),
                "`helpdesk {} --help` does not list {flag}",
                command.join(" ")
            );
        }
    }
    let top = ok("memory", &["--help"]);
    assert!(!lists(&top, "--url"), "{top}");
}

/// The flags go before the command group, inside it or after the verb, as when they
/// were global; before a command they do not apply to, they are refused.
#[test]
fn admin_flags_keep_every_spelling() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sled:{}", dir.path().join("data").display());
    crate::common::create_user(&store, "ada@example.com", "admin");
    let lines = [
        ok(&store, &["--json", "user", "list"]),
        ok(&store, &["user", "--json", "list"]),
        ok(&store, &["user", "list", "--json"]),
        ok(
            &store,
            &["--as", "ada@example.com", "user", "list", "--json"],
        ),
    ];
    for out in &lines {
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["email"], "ada@example.com");
    }
    let err = fails(
        "memory",
        &["--url", "http://127.0.0.1:9", "user", "list"],
        5,
    );
    assert!(err.contains("HELPDESK_TOKEN"), "{err}");
    let err = fails("memory", &["--json", "migrate"], 2);
    assert!(
        err.contains("--json belongs to the administration commands"),
        "{err}"
    );
}

/// Logs written to a pipe or a file carry no ANSI colour codes.
#[test]
fn logs_to_a_pipe_have_no_colour_codes() {
    let mut child = Command::new(BIN)
        .args(["serve", "--store", "memory", "--bind"])
        .arg(format!("127.0.0.1:{}", free_port()))
        .env("RUST_LOG", "info")
        .env_remove("HELPDESK_LOG_FORMAT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run helpdesk serve");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("listening") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "serve ended before it listened"
        );
        assert!(!line.contains('\u{1b}'), "a colour code in {line:?}");
    }
    let _ = child.kill();
    let _ = child.wait();
}
