//! `helpdesk mail ingest` as an MTA's `pipe` runs it: the mail on standard input, the
//! answer in the exit code (sysexits), over `--url` and on the store.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::common::*;

/// Runs `helpdesk mail ingest` with `args`, `mail` on standard input: exit code, stdout.
fn ingest<S: AsRef<std::ffi::OsStr>>(args: &[S], mail: &str) -> (i32, String) {
    let mut child = Command::new(BIN)
        .args(["mail", "ingest", "--json"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run helpdesk mail ingest");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(mail.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

const MAIL: &str = "From: Carol <carol@example.net>\r\nTo: support@example.com\r\n\
    Subject: Piped in\r\nMessage-ID: <pipe-1@example.net>\r\n\r\nHello.\r\n";

#[tokio::test]
async fn mail_ingest_exits_as_mtas_expect() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sled:{}", dir.path().join("data").display());
    create_user(&store, "admin@example.com", "admin");
    create_user(&store, "agent@example.com", "agent");
    let server = Server::start(&store, &[]).await;
    let admin = server.login("admin@example.com").await;
    let agent = server.login("agent@example.com").await;
    let mailbox = server
        .post(
            "/api/mailboxes",
            &admin,
            json!({"address": "support@example.com", "name": "Support", "inbound": {"kind": "pipe"}}),
        )
        .await;
    let id = mailbox["id"].as_str().unwrap().to_string();
    let url = server.url("");
    let remote = |token: &str| -> Vec<String> {
        vec![
            "--url".into(),
            url.clone(),
            "--token".into(),
            token.into(),
            "--mailbox".into(),
            id.clone(),
        ]
    };

    // Stored: 0; the same mail again: 0, a duplicate.
    let a = remote(&admin);
    let (code, out) = ingest(&a, MAIL);
    assert_eq!(code, 0, "{out}");
    let first: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(first["result"], "ticket_created");
    assert_eq!(
        first["via"], "http",
        "over --url the server's HTTP path takes it"
    );
    let (code, out) = ingest(&a, MAIL);
    assert_eq!(code, 0);
    let again: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (again["duplicate"].clone(), again["id"].clone()),
        (json!(true), first["id"].clone())
    );

    // Not a mail: 65; no such mailbox: 67; not an admin: 77.
    assert_eq!(ingest(&a, "").0, 65);
    assert_eq!(ingest(&a, "not a mail at all").0, 65);
    let mut nowhere = a.clone();
    *nowhere.last_mut().unwrap() = "0190f6b4-0000-7000-8000-000000000000".into();
    assert_eq!(ingest(&nowhere, MAIL).0, 67);
    assert_eq!(ingest(&remote(&agent), MAIL).0, 77);
    server.stop();

    // The server is gone: 75, the MTA tries again.
    assert_eq!(ingest(&a, MAIL).0, 75);

    // On the store itself: a reply threads into the ticket, via `cli`.
    let reply = "From: carol@example.net\r\nTo: support@example.com\r\nSubject: Re: Piped in\r\n\
        Message-ID: <pipe-2@example.net>\r\nIn-Reply-To: <pipe-1@example.net>\r\n\r\nMore.\r\n";
    let (code, out) = ingest(&["--store", &store, "--mailbox", &id], reply);
    assert_eq!(code, 0, "{out}");
    let rec: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rec["result"], "message_added");
    assert_eq!(rec["via"], "cli");
    assert_eq!(rec["ticket_id"], first["ticket_id"]);
}
