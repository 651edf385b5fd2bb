//! `POST /api/mailboxes/{id}/test` against real mail servers (dovecot for IMAP, aiosmtpd
//! for SMTP): a good account and server are `ok`; a wrong password, a missing folder, a
//! closed port and an SMTP login the server cannot take are not (with the reason); parts
//! a mailbox lacks are null; only admins may ask; nothing is sent. And a ticket's
//! `mailbox_id` set and cleared by PATCH: staff only, an unknown mailbox refused as POST
//! refuses it, the change on the timeline, and the replies mailed through the mailbox it
//! names (and not once cleared).

use std::time::Duration;

use helpdesk::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::mail_support::{Dovecot, SmtpServer, free_port};

/// Creates a mailbox as `token`; returns its id.
async fn mailbox(app: &App, token: &str, body: Value) -> String {
    let (s, m) = app.post("/api/mailboxes", token, body).await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    m["id"].as_str().unwrap().to_string()
}

/// An IMAP inbound on the test dovecot.
fn imap(dovecot: &Dovecot, password: &str, folder: &str) -> Value {
    json!({"kind": "imap", "host": "127.0.0.1", "port": dovecot.port, "tls": "none",
        "username": dovecot.user, "password": password, "folder": folder})
}

/// `POST /api/mailboxes/{id}/test` as `token`.
async fn test(app: &App, token: &str, id: &str) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        &format!("/api/mailboxes/{id}/test"),
        Some(token),
        None,
    )
    .await
}

/// A check that failed: `ok` false with a reason that says `why`.
fn assert_failed(check: &Value, why: &str) {
    assert_eq!(check["ok"], false, "{check}");
    let error = check["error"].as_str().unwrap_or_default();
    assert!(
        error.to_lowercase().contains(&why.to_lowercase()),
        "{why:?} not in {check}"
    );
    assert_eq!(check.as_object().unwrap().len(), 2, "{check}");
}

#[tokio::test]
async fn test_logs_in_to_imap_and_smtp_and_reports_each() {
    let dovecot = Dovecot::start().await;
    let smtp = SmtpServer::start().await;
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;
    let smtp_url = format!("smtp://127.0.0.1:{}", smtp.port);

    // A good IMAP account and an SMTP server that takes the connection.
    let good = mailbox(
        &app,
        &admin.token,
        json!({"address": "good@example.com", "name": "Good",
            "inbound": imap(&dovecot, &dovecot.password, "INBOX"),
            "outbound": {"kind": "smtp", "url": smtp_url}}),
    )
    .await;
    let (s, v) = test(&app, &admin.token, &good).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"inbound": {"ok": true, "error": null}, "outbound": {"ok": true, "error": null}})
    );

    // A wrong password: the IMAP check fails with the server's reason; SMTP still passes.
    let wrong = mailbox(
        &app,
        &admin.token,
        json!({"address": "wrong@example.com", "name": "Wrong",
            "inbound": imap(&dovecot, "not-the-password", "INBOX"),
            "outbound": {"kind": "smtp", "url": smtp_url}}),
    )
    .await;
    let (s, v) = test(&app, &admin.token, &wrong).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_failed(&v["inbound"], "authentication failed");
    assert_eq!(v["outbound"], json!({"ok": true, "error": null}));

    // A folder the account does not have: LOGIN passes, SELECT fails.
    let missing = mailbox(
        &app,
        &admin.token,
        json!({"address": "missing@example.com", "name": "Missing",
            "inbound": imap(&dovecot, &dovecot.password, "No-Such-Folder")}),
    )
    .await;
    let (s, v) = test(&app, &admin.token, &missing).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_failed(&v["inbound"], "No-Such-Folder");
    // No outbound: null.
    assert_eq!(v["outbound"], Value::Null);

    // An SMTP server that is not there (a closed port on loopback) fails at once, as does
    // an IMAP server that is not there.
    let closed = free_port();
    let gone = mailbox(
        &app,
        &admin.token,
        json!({"address": "gone@example.com", "name": "Gone",
            "inbound": {"kind": "imap", "host": "127.0.0.1", "port": closed, "tls": "none",
                "username": "nobody", "password": "pw"},
            "outbound": {"kind": "smtp", "url": format!("smtp://127.0.0.1:{closed}")}}),
    )
    .await;
    let started = std::time::Instant::now();
    let (s, v) = test(&app, &admin.token, &gone).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_failed(&v["inbound"], "refused");
    assert_failed(&v["outbound"], "refused");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a closed port took {:?}",
        started.elapsed()
    );

    // A URL naming a user logs in: aiosmtpd offers no AUTH, so the check fails (and
    // still sends nothing).
    let auth = mailbox(
        &app,
        &admin.token,
        json!({"address": "auth@example.com", "name": "Auth", "inbound": {"kind": "pipe"},
            "outbound": {"kind": "smtp", "url": format!("smtp://support@127.0.0.1:{}", smtp.port),
                "password": "smtp-password"}}),
    )
    .await;
    let (s, v) = test(&app, &admin.token, &auth).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["inbound"], Value::Null);
    assert_failed(&v["outbound"], "authentication mechanism");

    // A webhook mailbox that sends nothing: both null.
    let hooks = mailbox(
        &app,
        &admin.token,
        json!({"address": "hooks@example.com", "name": "Hooks",
            "inbound": {"kind": "webhook", "provider": "raw"}}),
    )
    .await;
    let (s, v) = test(&app, &admin.token, &hooks).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"inbound": null, "outbound": null}));

    // Admins only: agents and customers 403, as on the other admin mailbox routes; an
    // unknown mailbox 404.
    for who in [&agent, &customer] {
        let (s, v) = test(&app, &who.token, &good).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        assert_eq!(code(&v), "forbidden", "{v}");
    }
    let (s, v) = test(&app, &admin.token, &uuid::Uuid::now_v7().to_string()).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    // Testing sent nothing: aiosmtpd recorded no envelope, and no outbound mail was made.
    assert!(smtp.mails().is_empty(), "aiosmtpd got mail");
    let (s, v) = app
        .get(&format!("/api/mailboxes/{good}/outbox"), &admin.token)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["items"], json!([]), "{v}");
}

/// Waits until aiosmtpd holds `n` mails; returns their recipients.
async fn recipients(server: &SmtpServer, n: usize) -> Vec<Vec<String>> {
    for _ in 0..200 {
        let got = server.mails();
        if got.len() >= n {
            return got.into_iter().map(|m| m.rcpt_tos).collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("aiosmtpd holds {} mails, not {n}", server.mails().len());
}

#[tokio::test]
async fn staff_set_and_clear_a_tickets_mailbox_by_patch() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;
    let support = mailbox(
        &app,
        &admin.token,
        json!({"address": "support@example.com", "name": "Support",
            "inbound": {"kind": "smtp"},
            "outbound": {"kind": "smtp", "url": format!("smtp://127.0.0.1:{}", smtp.port)}}),
    )
    .await;

    // Carol's web ticket names no mailbox.
    let (s, t) = app
        .post(
            "/api/tickets",
            &customer.token,
            json!({"subject": "Printer", "description": "It is on fire."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert_eq!(t["mailbox_id"], Value::Null);
    let ticket = format!("/api/tickets/{}", t["id"].as_str().unwrap());
    let messages = format!(
        "/api/conversations/{}/messages",
        t["conversation_id"].as_str().unwrap()
    );

    // The requester may not set or clear it: 403 `forbidden_field`, the ticket unchanged.
    for body in [json!({"mailbox_id": support}), json!({"mailbox_id": null})] {
        let (s, v) = app.patch(&ticket, &customer.token, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        assert_eq!(code(&v), "forbidden_field", "{v}");
    }

    // An unknown mailbox is refused as POST refuses it.
    let unknown = uuid::Uuid::now_v7().to_string();
    let (post_status, post_error) = app
        .post(
            "/api/tickets",
            &agent.token,
            json!({"subject": "S", "description": "D",
                "requester_id": customer.id, "mailbox_id": unknown}),
        )
        .await;
    let (s, v) = app
        .patch(&ticket, &agent.token, json!({"mailbox_id": unknown}))
        .await;
    assert_eq!(
        post_status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{post_error}"
    );
    assert_eq!(s, post_status, "{v}");
    assert_eq!(code(&v), code(&post_error), "{v}");
    assert_eq!(v["errors"], post_error["errors"], "{v}");
    assert_eq!(v["errors"][0]["field"], "mailbox_id", "{v}");

    // An agent sets it: shown on the ticket, on the timeline as an `updated` entry.
    let (s, v) = app
        .patch(&ticket, &agent.token, json!({"mailbox_id": support}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["mailbox_id"], support.as_str());
    let (_, v) = app.get(&ticket, &customer.token).await;
    assert_eq!(v["mailbox_id"], support.as_str(), "{v}");
    let (_, events) = app.get(&format!("{ticket}/events"), &agent.token).await;
    let last = events["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "updated", "{events}");
    assert_eq!(last["data"]["fields"], json!(["mailbox_id"]), "{events}");
    assert_eq!(last["actor_id"], agent.id.as_str(), "{events}");
    // Setting it again changes nothing.
    let (s, _) = app
        .patch(&ticket, &agent.token, json!({"mailbox_id": support}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, again) = app.get(&format!("{ticket}/events"), &agent.token).await;
    assert_eq!(again["items"], events["items"]);

    // The agent's reply now goes out through that mailbox, to Carol.
    let (s, v) = app
        .post(&messages, &agent.token, json!({"content": "Unplug it."}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        recipients(&smtp, 1).await,
        vec![vec!["carol@example.com".to_string()]]
    );
    // While a ticket names it, the mailbox cannot be deleted.
    let (s, v) = app
        .delete(&format!("/api/mailboxes/{support}"), &admin.token)
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(code(&v), "in_use", "{v}");

    // Cleared with null: replies are no longer mailed (no outbound mail is recorded).
    let (s, v) = app
        .patch(&ticket, &agent.token, json!({"mailbox_id": null}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["mailbox_id"], Value::Null);
    let (_, events) = app.get(&format!("{ticket}/events"), &agent.token).await;
    let last = events["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "updated", "{events}");
    assert_eq!(last["data"]["fields"], json!(["mailbox_id"]), "{events}");
    let (s, _) = app
        .post(&messages, &agent.token, json!({"content": "Done?"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, outbox) = app
        .get(&format!("/api/mailboxes/{support}/outbox"), &admin.token)
        .await;
    assert_eq!(outbox["items"].as_array().unwrap().len(), 1, "{outbox}");
}
