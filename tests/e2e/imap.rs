//! IMAP mailboxes end to end: dovecot (started by the test, maildir in a temp dir) as
//! the mail server, fed and checked with Python's `imaplib`; the server's poller ingests
//! new mail, flags or moves it after commit, keeps its cursor and its errors in the
//! mailbox's `state`, starts over on a new UIDVALIDITY, and never makes a second ticket
//! from mail it sees again (a crash between commit and flag).

use std::time::Duration;

use helpdesk::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::mail_support::Dovecot;

/// Runs `ops` against dovecot with Python's imaplib, one session; returns each result.
/// Ops: `{"op": "create"|"delete", folder}`, `{"op": "append", folder, raw, seen}`,
/// `{"op": "list", folder}` (→ `[{uid, seen, subject}]`), `{"op": "unsee", folder}`
/// (clears `\Seen` everywhere in it).
async fn imaplib(d: &Dovecot, ops: Value) -> Vec<Value> {
    let script = r#"
import imaplib, json, sys
port, user, pw, ops = int(sys.argv[1]), sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
m = imaplib.IMAP4('127.0.0.1', port)
m.login(user, pw)
out = []
for op in ops:
    kind, folder = op['op'], op['folder']
    if kind == 'create':
        out.append(m.create(folder)[0])
    elif kind == 'delete':
        out.append(m.delete(folder)[0])
    elif kind == 'append':
        flags = '(\\Seen)' if op.get('seen') else None
        out.append(m.append(folder, flags, None, op['raw'].encode())[0])
    elif kind == 'list':
        m.select(folder, readonly=True)
        items = []
        for uid in m.uid('SEARCH', None, 'ALL')[1][0].split():
            flags = m.uid('FETCH', uid, '(FLAGS)')[1][0].decode()
            head = m.uid('FETCH', uid, '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')[1][0][1].decode()
            items.append({'uid': int(uid), 'seen': '\\Seen' in flags,
                          'subject': head.split(':', 1)[1].strip()})
        out.append(items)
    elif kind == 'unsee':
        m.select(folder)
        out.append(m.uid('STORE', '1:*', '-FLAGS.SILENT', '(\\Seen)')[0])
m.logout()
print(json.dumps(out))
"#;
    let out = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(d.port.to_string())
        .arg(&d.user)
        .arg(&d.password)
        .arg(ops.to_string())
        .output()
        .await
        .expect("run python3");
    assert!(
        out.status.success(),
        "imaplib failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("imaplib's JSON")
}

/// A customer's mail with this subject and Message-ID.
fn mail(subject: &str, message_id: &str) -> String {
    format!(
        "From: Carol <carol@example.net>\r\nTo: support@example.com\r\nSubject: {subject}\r\n\
         Message-ID: <{message_id}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         About {subject}.\r\n"
    )
}

fn append(folder: &str, subject: &str, message_id: &str, seen: bool) -> Value {
    json!({"op": "append", "folder": folder, "raw": mail(subject, message_id), "seen": seen})
}

/// The messages of a folder as `(subject, seen)`, by UID.
async fn folder(d: &Dovecot, name: &str) -> Vec<(String, bool)> {
    let out = imaplib(d, json!([{"op": "list", "folder": name}])).await;
    out[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["subject"].as_str().unwrap().to_owned(), m["seen"] == true))
        .collect()
}

/// An IMAP mailbox on dovecot, polled every second where IDLE is not used.
async fn imap_mailbox(app: &App, admin: &str, d: &Dovecot, extra: Value) -> Value {
    let mut inbound = json!({"kind": "imap", "host": "127.0.0.1", "port": d.port, "tls": "none",
        "username": d.user, "password": d.password, "poll_interval": 1});
    for (k, v) in extra.as_object().unwrap() {
        inbound[k] = v.clone();
    }
    let (s, m) = app
        .post(
            "/api/mailboxes",
            admin,
            json!({"address": "support@example.com", "name": "Support", "inbound": inbound}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    m
}

/// Waits (up to 20 s) until `check` holds for the app's tickets' subjects, sorted.
async fn tickets_become(app: &App, token: &str, want: &[&str]) {
    let mut subjects = Vec::new();
    for _ in 0..400 {
        let (_, list) = app.get("/api/tickets?limit=100", token).await;
        subjects = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["subject"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>();
        subjects.sort();
        if subjects == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("tickets {subjects:?}, expected {want:?}");
}

/// Waits (up to 20 s) until the mailbox's `state` satisfies `check`; returns it.
async fn state_when(app: &App, token: &str, id: &str, check: impl Fn(&Value) -> bool) -> Value {
    let mut state = Value::Null;
    for _ in 0..400 {
        let (_, m) = app.get(&format!("/api/mailboxes/{id}"), token).await;
        state = m["inbound"]["state"].clone();
        if check(&state) {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the mailbox's state stayed {state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_mail_becomes_tickets_once_and_is_flagged_after_commit() {
    let d = Dovecot::start().await;
    // Mail read before the mailbox was set up stays untouched; unread mail is taken.
    imaplib(
        &d,
        json!([
            append("INBOX", "Old and read", "old@example.net", true),
            append("INBOX", "Printer jam", "m1@example.net", false)
        ]),
    )
    .await;
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let m = imap_mailbox(&app, &admin.token, &d, json!({})).await;
    let id = m["id"].as_str().unwrap();
    assert_eq!(m["inbound"]["state"]["last_uid"], Value::Null);

    tickets_become(&app, &admin.token, &["Printer jam"]).await;
    let state = state_when(&app, &admin.token, id, |s| s["last_uid"] == 2).await;
    assert!(state["uidvalidity"].is_u64(), "{state}");
    assert!(state["last_poll_at"].is_string(), "{state}");
    assert_eq!(state["last_error"], Value::Null);
    assert_eq!(
        folder(&d, "INBOX").await,
        [("Old and read".into(), true), ("Printer jam".into(), true)],
        "the ingested mail is \\Seen after commit"
    );
    let (_, inbound) = app
        .get(&format!("/api/mailboxes/{id}/inbound"), &admin.token)
        .await;
    assert_eq!(inbound["items"][0]["via"], "imap");
    assert_eq!(inbound["items"][0]["result"], "ticket_created");

    // New mail after the first poll is taken by UID (IDLE wakes the poller).
    imaplib(
        &d,
        json!([append("INBOX", "Screen flickers", "m2@example.net", false)]),
    )
    .await;
    tickets_become(&app, &admin.token, &["Printer jam", "Screen flickers"]).await;
    state_when(&app, &admin.token, id, |s| s["last_uid"] == 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_mail_is_moved_and_a_new_uidvalidity_starts_over() {
    let d = Dovecot::start().await;
    imaplib(
        &d,
        json!([{"op": "create", "folder": "Support"}, {"op": "create", "folder": "Done"},
               append("Support", "Password reset", "p1@example.net", false)]),
    )
    .await;
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let m = imap_mailbox(
        &app,
        &admin.token,
        &d,
        json!({"folder": "Support", "after": "move", "move_to": "Done"}),
    )
    .await;
    let id = m["id"].as_str().unwrap();
    tickets_become(&app, &admin.token, &["Password reset"]).await;
    let first = state_when(&app, &admin.token, id, |s| s["last_uid"] == 1).await;
    assert_eq!(folder(&d, "Support").await, []);
    assert_eq!(
        folder(&d, "Done").await,
        [("Password reset".into(), false)],
        "moved as it was"
    );

    // The folder is made anew (dovecot gives it a new UIDVALIDITY a second later):
    // the poller restarts on its unread mail; a copy of mail it already took is
    // dropped as a duplicate.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    imaplib(
        &d,
        json!([{"op": "delete", "folder": "Support"}, {"op": "create", "folder": "Support"},
               append("Support", "Password reset", "p1@example.net", false),
               append("Support", "Read elsewhere", "r1@example.net", true),
               append("Support", "VPN down", "v1@example.net", false)]),
    )
    .await;
    tickets_become(&app, &admin.token, &["Password reset", "VPN down"]).await;
    let second = state_when(&app, &admin.token, id, |s| {
        s["uidvalidity"] != first["uidvalidity"] && s["last_uid"] == 3
    })
    .await;
    assert_eq!(second["last_error"], Value::Null);
    assert_eq!(
        folder(&d, "Support").await,
        [("Read elsewhere".into(), true)],
        "read mail below the new cursor is left alone"
    );
    assert_eq!(folder(&d, "Done").await.len(), 3);
}

/// A login error is kept in `state.last_error` until a poll succeeds. That poll meets
/// mail committed before, as a crash between commit and flag leaves it (ingested,
/// still unread, the cursor behind it): fetched again, dropped as a duplicate, flagged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_errors_stay_until_a_poll_succeeds_and_seen_mail_is_not_taken_twice() {
    let d = Dovecot::start().await;
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let m = imap_mailbox(&app, &admin.token, &d, json!({"password": "wrong"})).await;
    let id = m["id"].as_str().unwrap();
    let failed = state_when(&app, &admin.token, id, |s| s["last_error"].is_string()).await;
    let error = failed["last_error"].as_str().unwrap();
    assert!(error.contains("login"), "{error}");
    assert_eq!(failed["last_uid"], Value::Null);

    // Committed by an earlier poll that died before flagging it.
    imaplib(
        &d,
        json!([append("INBOX", "Committed once", "c1@example.net", false)]),
    )
    .await;
    app.hd
        .ingest_mail(helpdesk::IncomingMail {
            mailbox_id: id.parse().unwrap(),
            raw: mail("Committed once", "c1@example.net").into_bytes().into(),
            envelope: Vec::new(),
            via: helpdesk::email::InboundVia::Imap,
            too_large: false,
        })
        .await
        .unwrap();

    // The admin mends the password: the next poll (after a second's backoff) clears it.
    let (s, _) = app
        .patch(
            &format!("/api/mailboxes/{id}"),
            &admin.token,
            json!({"inbound": {"kind": "imap", "host": "127.0.0.1", "port": d.port,
                "tls": "none", "username": d.user, "password": d.password, "poll_interval": 1}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    imaplib(
        &d,
        json!([append("INBOX", "Mended", "x1@example.net", false)]),
    )
    .await;
    tickets_become(&app, &admin.token, &["Committed once", "Mended"]).await;
    let state = state_when(&app, &admin.token, id, |s| s["last_error"].is_null()).await;
    assert_eq!(state["last_uid"], 2);
    assert_eq!(
        folder(&d, "INBOX").await,
        [("Committed once".into(), true), ("Mended".into(), true)]
    );
    let (_, inbound) = app
        .get(&format!("/api/mailboxes/{id}/inbound"), &admin.token)
        .await;
    assert_eq!(
        inbound["items"].as_array().unwrap().len(),
        2,
        "one record per mail: {inbound}"
    );
}

/// Two instances over one PostgreSQL database: one polls the mailbox; when it stops,
/// the other takes over at once (the stopping one releases its lease).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instance_takes_over_the_mailbox() {
    let Some((a, b)) = spawn_live_pair_on_postgres().await else {
        return;
    };
    let d = Dovecot::start().await;
    let admin = a.user(Role::Admin, "admin@example.com").await;
    let m = imap_mailbox(&a, &admin.token, &d, json!({})).await;
    let id = m["id"].as_str().unwrap();
    imaplib(
        &d,
        json!([append("INBOX", "First", "f1@example.net", false)]),
    )
    .await;
    tickets_become(&a, &admin.token, &["First"]).await;

    a.server.shutdown().await.unwrap();
    imaplib(
        &d,
        json!([append("INBOX", "Second", "s1@example.net", false)]),
    )
    .await;
    tickets_become(&b, &admin.token, &["First", "Second"]).await;
    state_when(&b, &admin.token, id, |s| s["last_uid"] == 2).await;
}
