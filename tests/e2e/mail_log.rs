//! The mail logs and suppressions over HTTP: a staff reply on a mailbox's ticket is in
//! the outbox with its bytes, a delivery report about it suppresses the recipient, and
//! an admin finds and lifts the suppression by its address, percent-encoded or not.

use helpdesk::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// Posts `raw` to a mailbox with an admin's token.
pub(crate) async fn post_mail(
    app: &App,
    admin: &str,
    mailbox: &str,
    raw: &str,
) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(app.url(&format!("/api/inbound/email/{mailbox}")))
        .bearer_auth(admin)
        .header("content-type", "message/rfc822")
        .body(raw.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A delivery report (RFC 3464) saying `recipient` failed for good for `message_id`.
fn dsn(message_id: &str, recipient: &str) -> String {
    format!(
        "From: MAILER-DAEMON@mx.example.org\r\nTo: support@example.com\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mx.example.org>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n\
         --b1\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; mx.example.org\r\n\r\n\
         Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n\r\n\
         --b1\r\nContent-Type: text/rfc822-headers\r\n\r\n\
         Message-ID: <{message_id}>\r\nFrom: support@example.com\r\nTo: {recipient}\r\n\
         Subject: Re: Printer\r\n\r\n--b1--\r\n"
    )
}

#[tokio::test]
async fn a_bounced_reply_suppresses_its_recipient_until_an_admin_lifts_it() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let carol = app.signup("carol@example.com").await;
    let (s, mailbox) = app
        .post(
            "/api/mailboxes",
            &admin.token,
            json!({"address": "support@example.com", "name": "Support",
                "inbound": {"kind": "webhook", "provider": "raw"},
                "outbound": {"kind": "smtp", "url": "smtp://127.0.0.1:9"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{mailbox}");
    let mailbox = mailbox["id"].as_str().unwrap().to_string();

    // A public staff reply on the mailbox's ticket is recorded in its outbox.
    let (s, t) = app
        .post(
            "/api/tickets",
            &admin.token,
            json!({"subject": "Printer", "description": "On fire",
                "requester_id": carol.id, "mailbox_id": mailbox}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert_eq!(t["mailbox_id"], mailbox.as_str());
    assert_eq!(t["channel"], "web");
    let (s, _) = app
        .post(
            &format!(
                "/api/conversations/{}/messages",
                t["conversation_id"].as_str().unwrap()
            ),
            &admin.token,
            json!({"content": "We are on it."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, outbox) = app
        .get(&format!("/api/mailboxes/{mailbox}/outbox"), &admin.token)
        .await;
    assert_eq!(s, StatusCode::OK, "{outbox}");
    let items = outbox["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{outbox}");
    let sent = &items[0];
    assert_eq!(sent["kind"], "reply");
    assert_eq!(sent["to"], json!(["carol@example.com"]));
    let outbound_id = sent["id"].as_str().unwrap();
    let raw = app
        .client
        .get(app.url(&format!(
            "/api/mailboxes/{mailbox}/outbox/{outbound_id}/raw"
        )))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::OK);
    assert_eq!(raw.headers()["content-type"], "message/rfc822");
    assert!(raw.text().await.unwrap().contains("We are on it."));

    // The delivery report suppresses Carol.
    let report = dsn(
        sent["internet_message_id"].as_str().unwrap(),
        "carol@example.com",
    );
    let (s, rec) = post_mail(&app, &admin.token, &mailbox, &report).await;
    assert_eq!(s, StatusCode::OK, "{rec}");
    assert_eq!(rec["result"], "bounce", "{rec}");
    let (s, list) = app.get("/api/email-suppressions", &admin.token).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["items"][0]["address"], "carol@example.com");
    assert_eq!(list["items"][0]["reason"], "bounce");
    assert_eq!(list["items"][0]["outbound_id"], outbound_id);
    assert_eq!(list["next_cursor"], Value::Null);

    // Found by its address as written, percent-encoded (`encodeURIComponent`), any case.
    for path in [
        "carol@example.com",
        "carol%40example.com",
        "Carol%40Example.COM",
    ] {
        let (s, one) = app
            .get(&format!("/api/email-suppressions/{path}"), &admin.token)
            .await;
        assert_eq!(s, StatusCode::OK, "{path}: {one}");
        assert_eq!(one["address"], "carol@example.com");
    }
    let (s, _) = app
        .get("/api/email-suppressions/carol%40example.com", &agent.token)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Lifted: mailed again, and no longer found.
    let (s, _) = app
        .delete("/api/email-suppressions/carol%40example.com", &admin.token)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app
        .get("/api/email-suppressions/carol@example.com", &admin.token)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .delete("/api/email-suppressions/carol%40example.com", &admin.token)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
