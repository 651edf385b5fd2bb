//! The administration commands, run as a person or a script would: their output
//! (snapshotted with ids and times redacted), exit codes and errors, `--help` examples,
//! completions, the KB files round trip, and the same verbs over `--url` against a
//! running server that holds the sled store.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use helpdesk_store_postgres::testing::TestDb;

use crate::common::*;

/// Runs `helpdesk` with `args` on `store`, `stdin` on standard input.
pub fn run(store: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let env = [
        ("HELPDESK_STORE", store),
        ("HELPDESK_WEBHOOKS_ALLOW_PRIVATE", "true"),
    ];
    helpdesk(&env, args, stdin)
}

/// Runs `helpdesk` with `args` and these environment variables (and no
/// `HELPDESK_URL` or `HELPDESK_TOKEN` but those given).
pub fn helpdesk(env: &[(&str, &str)], args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("HELPDESK_URL")
        .env_remove("HELPDESK_TOKEN")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run helpdesk");
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// Runs and expects success; standard output.
pub fn ok(store: &str, args: &[&str]) -> String {
    let out = run(store, args, None);
    assert!(
        out.status.success(),
        "helpdesk {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs and expects exit `code`; standard error.
pub fn fails(store: &str, args: &[&str], code: i32) -> String {
    let out = run(store, args, None);
    assert_eq!(
        out.status.code(),
        Some(code),
        "helpdesk {args:?}: stdout {} stderr {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "nothing on stdout when failing");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Replaces uuids, times and webhook secrets by placeholders.
pub fn redact(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let is_hex = |c: char| c.is_ascii_hexdigit();
    'outer: while i < chars.len() {
        // A uuid: 8-4-4-4-12 hex digits.
        if i + 36 <= chars.len() {
            let cand: String = chars[i..i + 36].iter().collect();
            let shape = cand.char_indices().all(|(j, c)| {
                if [8, 13, 18, 23].contains(&j) {
                    c == '-'
                } else {
                    is_hex(c)
                }
            });
            if shape {
                out.push_str("[id]");
                i += 36;
                continue;
            }
        }
        // A time: YYYY-MM-DD[T ]HH:MM, then optional :SS.ffffffZ.
        if i + 16 <= chars.len() {
            let c = &chars[i..i + 16];
            let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15];
            if digits.iter().all(|&j| c[j].is_ascii_digit())
                && c[4] == '-'
                && c[7] == '-'
                && (c[10] == 'T' || c[10] == ' ')
                && c[13] == ':'
            {
                let mut j = i + 16;
                while j < chars.len() && (chars[j].is_ascii_digit() || ":.Z".contains(chars[j])) {
                    j += 1;
                }
                out.push_str("[time]");
                i = j;
                continue 'outer;
            }
        }
        if chars[i..].starts_with(&['w', 'h', 's', 'e', 'c', '_']) {
            let mut j = i;
            while j < chars.len() && !chars[j].is_whitespace() && chars[j] != '"' {
                j += 1;
            }
            out.push_str("[secret]");
            i = j;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// A sled store with an admin (ada), a customer (cy) and ticket 1 of cy's.
fn admin_customer_and_ticket(dir: &Path, subject: &str) -> String {
    let store = sled(dir);
    create_user(&store, "ada@example.com", "admin");
    create_user(&store, "cy@example.com", "customer");
    let args = ["ticket", "create", "--requester", "cy@example.com"];
    ok(
        &store,
        &[&args[..], &["--subject", subject, "--description", "D"]].concat(),
    );
    store
}

fn sled(dir: &Path) -> String {
    format!("sled:{}", dir.join("data").display())
}

#[test]
fn users_and_tickets_as_an_admin_sees_them() {
    let dir = tempfile::tempdir().unwrap();
    users_and_tickets(&sled(dir.path()));
}

/// The same session on PostgreSQL prints the same.
#[test]
fn users_and_tickets_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(db) = rt.block_on(TestDb::create("users_and_tickets_on_postgres")) else {
        return;
    };
    users_and_tickets(&db.url());
    let db = rt.block_on(TestDb::create("webhooks_on_postgres")).unwrap();
    webhooks(&db.url());
}

fn users_and_tickets(store: &str) {
    let store = store.to_string();
    let pw = Some("password123\n");
    for (email, name, role) in [
        ("ada@example.com", "Ada", "admin"),
        ("gus@example.com", "Gus", "agent"),
        ("cy@example.com", "Cy", "customer"),
    ] {
        let out = run(
            &store,
            &[
                "user",
                "create",
                "--email",
                email,
                "--name",
                name,
                "--role",
                role,
                "--password-stdin",
            ],
            pw,
        );
        assert!(out.status.success());
        assert!(out.stdout.is_empty(), "quiet success");
    }
    // A generated password is printed once, alone on stdout.
    let generated = ok(
        &store,
        &[
            "user",
            "create",
            "--email",
            "dee@example.com",
            "--name",
            "Dee",
            "--role",
            "customer",
        ],
    );
    assert_eq!(generated.trim().len(), 20);
    insta::assert_snapshot!("user_list", redact(&ok(&store, &["user", "list"])));
    ok(&store, &["user", "set-role", "gus@example.com", "admin"]);
    ok(&store, &["user", "set-role", "gus@example.com", "agent"]);
    ok(&store, &["user", "deactivate", "dee@example.com"]);
    insta::assert_snapshot!(
        "user_show_json",
        redact(&ok(&store, &["user", "show", "dee@example.com", "--json"]))
    );
    ok(&store, &["user", "activate", "dee@example.com"]);
    let lines = ok(&store, &["user", "list", "--json", "--role", "customer"]);
    assert_eq!(lines.lines().count(), 2, "one JSON object per line");
    for l in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["role"], "customer");
        assert_eq!(v["is_active"], true);
    }
    let reset = ok(&store, &["user", "reset-password", "cy@example.com"]);
    assert_eq!(reset.trim().len(), 20);

    let n = ok(
        &store,
        &[
            "ticket",
            "create",
            "--requester",
            "cy@example.com",
            "--subject",
            "VPN down",
            "--description",
            "Since 9am\nfrom home",
            "--priority",
            "high",
            "--tag",
            "network",
        ],
    );
    assert_eq!(n.trim(), "1");
    ok(
        &store,
        &[
            "ticket",
            "create",
            "--as",
            "gus@example.com",
            "--requester",
            "dee@example.com",
            "--subject",
            "Refund",
            "--description",
            "Order 1234",
            "--tag",
            "billing",
        ],
    );
    ok(&store, &["ticket", "assign", "1", "gus@example.com"]);
    ok(
        &store,
        &[
            "ticket",
            "status",
            "1",
            "pending",
            "--as",
            "gus@example.com",
        ],
    );
    ok(
        &store,
        &[
            "ticket",
            "comment",
            "1",
            "--as",
            "gus@example.com",
            "-m",
            "Restarted the gateway.",
        ],
    );
    let out = run(
        &store,
        &[
            "ticket",
            "comment",
            "1",
            "--as",
            "gus@example.com",
            "--internal",
        ],
        Some("Customer sounds calm\n"),
    );
    assert!(out.status.success());
    insta::assert_snapshot!("ticket_list", redact(&ok(&store, &["ticket", "list"])));
    insta::assert_snapshot!(
        "ticket_list_filtered",
        redact(&ok(
            &store,
            &["ticket", "list", "--assignee", "none", "--status", "open"]
        ))
    );
    insta::assert_snapshot!("ticket_show", redact(&ok(&store, &["ticket", "show", "1"])));
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&store, &["ticket", "show", "1", "--json"])).unwrap();
    assert_eq!(shown["messages"].as_array().unwrap().len(), 2);
    assert_eq!(shown["ticket"]["status"], "pending");
    let tagged = ok(&store, &["ticket", "list", "--tag", "billing", "--json"]);
    assert_eq!(tagged.lines().count(), 1);
}

#[test]
fn bad_input_gets_a_clear_error_and_an_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let store = admin_customer_and_ticket(dir.path(), "S");
    let mut errors = Vec::new();
    for (args, code) in [
        (vec!["user", "show", "nobody@example.com"], 3),
        (vec!["ticket", "show", "99"], 3),
        (vec!["ticket", "status", "1", "closed"], 4),
        (
            vec![
                "user",
                "create",
                "--email",
                "ada@example.com",
                "--name",
                "A",
                "--role",
                "agent",
            ],
            4,
        ),
        (
            vec![
                "user",
                "create",
                "--email",
                "not-an-email",
                "--name",
                "A",
                "--role",
                "agent",
            ],
            2,
        ),
        (
            vec!["ticket", "create", "--subject", "S", "--description", "D"],
            2,
        ),
        (vec!["ticket", "comment", "1", "-m", "hi"], 2),
        (vec!["ticket", "list", "--as", "cy@example.com"], 5),
        (vec!["ticket", "status", "1", "sideways"], 2),
        (vec!["kb", "import", "/nonexistent/kb"], 2),
        (vec!["import", "/nonexistent/archive.jsonl"], 2),
        (vec!["user", "list", "--url", "http://127.0.0.1:9"], 5),
    ] {
        let err = fails(&store, &args, code);
        errors.push(format!("$ helpdesk {}\n{}", args.join(" "), err.trim_end()));
    }
    insta::assert_snapshot!("errors", errors.join("\n\n"));
    let err = fails("nonsense:store", &["user", "list"], 1);
    assert!(err.contains("sled:PATH, postgres://... or memory"), "{err}");
}

/// Every command and subcommand has `--help` with at least one example.
#[test]
fn every_command_has_help_with_an_example() {
    let commands: &[&[&str]] = &[
        &[],
        &["serve"],
        &["migrate"],
        &["user"],
        &["ticket"],
        &["kb"],
        &["webhook"],
        &["user", "create"],
        &["user", "list"],
        &["user", "show"],
        &["user", "set-role"],
        &["user", "deactivate"],
        &["user", "activate"],
        &["user", "reset-password"],
        &["ticket", "list"],
        &["ticket", "show"],
        &["ticket", "create"],
        &["ticket", "assign"],
        &["ticket", "status"],
        &["ticket", "comment"],
        &["kb", "import"],
        &["kb", "export"],
        &["webhook", "list"],
        &["webhook", "add"],
        &["webhook", "remove"],
        &["webhook", "deliveries"],
        &["webhook", "retry"],
        &["export"],
        &["import"],
        &["completions"],
    ];
    for c in commands {
        let mut args = c.to_vec();
        args.push("--help");
        let out = ok("memory", &args);
        assert!(
            out.contains("Example"),
            "`helpdesk {}` has no example",
            args.join(" ")
        );
        assert!(out.contains("helpdesk "), "{out}");
    }
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let out = ok("memory", &["completions", shell]);
        assert!(out.contains("reset-password"), "{shell}");
        assert!(out.contains("deliveries"), "{shell}");
    }
    fails("memory", &["completions", "tcsh"], 2);
}

#[test]
fn kb_files_round_trip_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = sled(dir.path());
    let kb = dir.path().join("kb");
    std::fs::create_dir(&kb).unwrap();
    std::fs::write(
        kb.join("passwords.md"),
        "---\ntitle: Resetting your password\nslug: resetting-your-password\ntags: [account, howto]\nstatus: published\n---\nOpen **Settings**.\n\n---\nNot front matter.\n",
    )
    .unwrap();
    std::fs::write(
        kb.join("vpn-setup.md"),
        "---\ntitle: \"  VPN: setup\"\n---\nDraft body without a newline",
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(run(&store, &["kb", "import", kb.to_str().unwrap()], None).stderr)
            .unwrap(),
        "2 created, 0 updated, 0 unchanged\n"
    );
    let out = dir.path().join("out");
    ok(&store, &["kb", "export", out.to_str().unwrap()]);
    let exported = std::fs::read_to_string(out.join("resetting-your-password.md")).unwrap();
    assert_eq!(
        exported,
        std::fs::read_to_string(kb.join("passwords.md")).unwrap()
    );
    let draft = std::fs::read_to_string(out.join("vpn-setup.md")).unwrap();
    insta::assert_snapshot!("kb_export_draft", draft);
    // Export → import elsewhere → export gives the same files.
    let other = sled(&dir.path().join("other"));
    create_user(&other, "ada@example.com", "admin");
    ok(&other, &["kb", "import", out.to_str().unwrap()]);
    let again = dir.path().join("again");
    ok(&other, &["kb", "export", again.to_str().unwrap()]);
    for name in ["resetting-your-password.md", "vpn-setup.md"] {
        assert_eq!(
            std::fs::read(out.join(name)).unwrap(),
            std::fs::read(again.join(name)).unwrap(),
            "{name}"
        );
    }
    // Re-import changes nothing; an edited file updates its article by slug.
    let json = ok(&store, &["kb", "import", out.to_str().unwrap(), "--json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json).unwrap()["unchanged"],
        2
    );
    std::fs::write(
        out.join("vpn-setup.md"),
        draft.replace("status: draft", "status: published"),
    )
    .unwrap();
    let json = ok(&store, &["kb", "import", out.to_str().unwrap(), "--json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json).unwrap()["updated"],
        1
    );
    // A bad file stops the import before anything is written.
    std::fs::write(kb.join("broken.md"), "---\ntitle: x\ncolour: red\n---\n").unwrap();
    let err = fails(&store, &["kb", "import", kb.to_str().unwrap()], 2);
    assert!(
        err.contains("broken.md: line 3: unknown key `colour`"),
        "{err}"
    );
}

#[test]
fn webhooks_add_list_deliveries_retry_remove() {
    let dir = tempfile::tempdir().unwrap();
    webhooks(&sled(dir.path()));
}

fn webhooks(store: &str) {
    let store = store.to_string();
    create_user(&store, "cy@example.com", "customer");
    let added = ok(
        &store,
        &[
            "webhook",
            "add",
            "http://127.0.0.1:9/in",
            "--description",
            "CRM",
        ],
    );
    let mut lines = added.lines();
    let id = lines.next().unwrap().to_string();
    assert!(lines.next().unwrap().starts_with("whsec_"));
    insta::assert_snapshot!("webhook_list", redact(&ok(&store, &["webhook", "list"])));
    ok(
        &store,
        &[
            "ticket",
            "create",
            "--requester",
            "cy@example.com",
            "--subject",
            "S",
            "--description",
            "D",
        ],
    );
    let deliveries = ok(&store, &["webhook", "deliveries", &id, "--json"]);
    let first: serde_json::Value =
        serde_json::from_str(deliveries.lines().next().unwrap()).unwrap();
    assert_eq!(first["status"], "pending");
    insta::assert_snapshot!(
        "webhook_deliveries",
        redact(&ok(&store, &["webhook", "deliveries", &id]))
    );
    ok(
        &store,
        &["webhook", "retry", &id, first["id"].as_str().unwrap()],
    );
    ok(&store, &["webhook", "remove", &id]);
    fails(&store, &["webhook", "remove", &id], 3);
}

/// A server holds the sled store: local commands say so and point to `--url`, and the
/// same verbs work over the HTTP API, export and import included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_url_against_a_server_holding_the_sled_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = admin_customer_and_ticket(dir.path(), "VPN down");
    let server = Server::start(&store, &["--webhooks-allow-private"]).await;

    let err = fails(&store, &["user", "list"], 6);
    assert!(err.contains("--url"), "{err}");

    let token = server.login("ada@example.com").await;
    let url = server.url("");
    let remote = |args: &[&str], stdin: Option<&str>| -> Output {
        helpdesk(
            &[("HELPDESK_URL", &url), ("HELPDESK_TOKEN", &token)],
            args,
            stdin,
        )
    };
    let remote_ok = |args: &[&str]| -> String {
        let out = remote(args, None);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let local_users = redact(&remote_ok(&["user", "list"]));
    insta::assert_snapshot!("url_user_list", local_users);
    let out = remote(
        &[
            "user",
            "create",
            "--email",
            "gus@example.com",
            "--name",
            "Gus",
            "--role",
            "agent",
            "--password-stdin",
        ],
        Some("password123"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    remote_ok(&["user", "deactivate", "cy@example.com"]);
    remote_ok(&["user", "activate", "cy@example.com"]);
    remote_ok(&["ticket", "assign", "1", "gus@example.com"]);
    remote_ok(&["ticket", "status", "1", "on_hold"]);
    remote_ok(&["ticket", "comment", "1", "-m", "Looking into it"]);
    let n = remote_ok(&[
        "ticket",
        "create",
        "--requester",
        "cy@example.com",
        "--subject",
        "Second",
        "--description",
        "D",
        "--tag",
        "x",
    ]);
    assert_eq!(n.trim(), "2");
    insta::assert_snapshot!("url_ticket_list", redact(&remote_ok(&["ticket", "list"])));
    let shown: serde_json::Value =
        serde_json::from_str(&remote_ok(&["ticket", "show", "1", "--json"])).unwrap();
    assert_eq!(shown["ticket"]["status"], "on_hold");
    assert_eq!(shown["messages"][0]["content"], "Looking into it");
    let kb = dir.path().join("kb");
    std::fs::create_dir(&kb).unwrap();
    std::fs::write(
        kb.join("a.md"),
        "---\ntitle: A\ntags: [x]\nstatus: published\n---\nBody\n",
    )
    .unwrap();
    remote_ok(&["kb", "import", kb.to_str().unwrap()]);
    let hook = remote_ok(&["webhook", "add", "http://127.0.0.1:9/in"]);
    let hook_id = hook.lines().next().unwrap().to_string();
    remote_ok(&["webhook", "list"]);
    remote_ok(&["webhook", "deliveries", &hook_id]);
    let out = remote(&["user", "reset-password", "cy@example.com"], None);
    assert_eq!(out.status.code(), Some(1));
    let out = remote(&["user", "list", "--as", "ada@example.com"], None);
    assert_eq!(out.status.code(), Some(2));

    // Export from the live server; import into a second, empty server set up with
    // only the importing admin's account.
    let archive = dir.path().join("live.jsonl");
    remote_ok(&["export", archive.to_str().unwrap()]);
    let text = std::fs::read_to_string(&archive).unwrap();
    assert!(text.starts_with("{\"type\":\"header\""));
    assert!(text.trim_end().ends_with("}}"));
    assert!(text.contains("\"type\":\"end\""));

    let target = sled(&dir.path().join("target"));
    create_user(&target, "importer@example.com", "admin");
    let second = Server::start(&target, &[]).await;
    let token2 = second.login("importer@example.com").await;
    let out = Command::new(BIN)
        .args(["import", archive.to_str().unwrap(), "--json"])
        .env("HELPDESK_URL", second.url(""))
        .env("HELPDESK_TOKEN", &token2)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["bytes"].as_u64(), Some(text.len() as u64));
    // A second import is refused: the store is no longer empty.
    let out = Command::new(BIN)
        .args(["import", archive.to_str().unwrap()])
        .env("HELPDESK_URL", second.url(""))
        .env("HELPDESK_TOKEN", &token2)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    drop(second);
    drop(server);
    // What the second server holds is what the first one had (plus the importer).
    let copy = dir.path().join("copy.jsonl");
    ok(&target, &["export", copy.to_str().unwrap()]);
    let copy = std::fs::read_to_string(copy).unwrap();
    let copied: std::collections::HashSet<&str> = copy.lines().collect();
    for line in text.lines().filter(|l| !l.contains("\"type\":\"end\"")) {
        assert!(copied.contains(line), "missing after the import: {line}");
    }
}
