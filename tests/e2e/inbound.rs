//! Mail in over HTTP (`POST /api/inbound/email/{id}`, Standard Webhooks signed or with an
//! admin's token; Mailgun's raw-MIME route): a customer's mail opens a ticket, the same
//! mail again is a duplicate, a reply threads into the ticket by its headers or by
//! `[#n]`, own mail is ignored, and every refusal has its status.

use helpdesk::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// A `raw` webhook mailbox; returns its id and secret.
async fn raw_mailbox(app: &App, admin: &str, address: &str) -> (String, String) {
    let (s, m) = app
        .post(
            "/api/mailboxes",
            admin,
            json!({"address": address, "name": "Support",
                "inbound": {"kind": "webhook", "provider": "raw"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    (
        m["id"].as_str().unwrap().to_string(),
        m["secret"].as_str().unwrap().to_string(),
    )
}

fn mail(from: &str, subject: &str, message_id: &str, extra: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: support@example.com\r\nSubject: {subject}\r\n\
         Message-ID: <{message_id}>\r\nDate: Sun, 6 Dec 2026 10:00:00 +0000\r\n{extra}\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

/// Posts `raw` signed with `secret` (Standard Webhooks).
async fn post_signed(app: &App, mailbox: &str, secret: &str, raw: &str) -> (StatusCode, Value) {
    let ts = chrono::Utc::now().timestamp();
    let id = format!("msg_{}", uuid::Uuid::now_v7());
    let sig = helpdesk::webhook::sign(secret, &id, ts, raw.as_bytes());
    let resp = app
        .client
        .post(app.url(&format!("/api/inbound/email/{mailbox}")))
        .header("content-type", "message/rfc822")
        .header("webhook-id", id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", sig)
        .body(raw.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_customer_mail_opens_a_ticket_and_replies_thread_into_it() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let (mailbox, secret) = raw_mailbox(&app, &admin.token, "support@example.com").await;

    let first = mail(
        "Carol Client <Carol@Example.net>",
        "Printer on fire",
        "first@mail.example.net",
        "Cc: Dave <dave@example.net>\r\n",
        "It is burning.\r\nPlease help.",
    );
    let (s, rec) = post_signed(&app, &mailbox, &secret, &first).await;
    assert_eq!(s, StatusCode::OK, "{rec}");
    assert_eq!(rec["result"], "ticket_created");
    assert_eq!(rec["duplicate"], false);
    assert_eq!(rec["via"], "http");
    assert_eq!(rec["from"], "carol@example.net");
    assert_eq!(rec["internet_message_id"], "first@mail.example.net");
    assert_eq!(rec["size"], first.len());
    let ticket_id = rec["ticket_id"].as_str().unwrap().to_string();
    let (s, t) = app
        .get(&format!("/api/tickets/{ticket_id}"), &agent.token)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(t["subject"], "Printer on fire");
    assert_eq!(t["description"], "It is burning.\nPlease help.");
    assert_eq!(t["channel"], "email");
    assert_eq!(t["mailbox_id"], mailbox.as_str());
    assert_eq!(t["follow_up_of"], Value::Null);
    // The unknown sender and the copied address became customers; Dave is a CC.
    let (_, carol) = app
        .get(
            &format!("/api/users/{}", t["requester_id"].as_str().unwrap()),
            &admin.token,
        )
        .await;
    assert_eq!(carol["email"], "carol@example.net");
    assert_eq!(carol["name"], "Carol Client");
    assert_eq!(carol["role"], "customer");
    assert_eq!(
        carol["email_notifications"], true,
        "mail is how they hear back"
    );
    assert_eq!(t["cc"].as_array().unwrap().len(), 1);

    // The same mail again: the first record, nothing new.
    let (s, again) = post_signed(&app, &mailbox, &secret, &first).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["id"], rec["id"]);
    let (_, list) = app.get("/api/tickets", &agent.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // A reply by its headers lands in the ticket, its quote stripped.
    let reply = mail(
        "carol@example.net",
        "Re: Printer on fire",
        "second@mail.example.net",
        "In-Reply-To: <first@mail.example.net>\r\nReferences: <first@mail.example.net>\r\n",
        "Still burning.\r\n\r\nOn Sun, 6 Dec 2026, Support wrote:\r\n> It is burning.",
    );
    let (s, r2) = post_signed(&app, &mailbox, &secret, &reply).await;
    assert_eq!(s, StatusCode::OK, "{r2}");
    assert_eq!(r2["result"], "message_added");
    assert_eq!(r2["ticket_id"], ticket_id.as_str());
    let conv = t["conversation_id"].as_str().unwrap();
    let (_, msgs) = app
        .get(&format!("/api/conversations/{conv}/messages"), &agent.token)
        .await;
    let last = msgs["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["content"], "Still burning.");
    assert_eq!(last["channel"], "email");
    assert_eq!(last["id"], r2["message_id"]);

    // `[#n]` matches for the requester, not for a stranger.
    let number = t["number"].as_i64().unwrap();
    let by_subject = mail(
        "carol@example.net",
        &format!("[#{number}] more"),
        "third@mail.example.net",
        "",
        "Third.",
    );
    let (_, r3) = post_signed(&app, &mailbox, &secret, &by_subject).await;
    assert_eq!(r3["result"], "message_added");
    assert_eq!(r3["ticket_id"], ticket_id.as_str());
    let stranger = mail(
        "eve@example.org",
        &format!("Re: [#{number}] Printer on fire"),
        "fourth@mail.example.org",
        "",
        "Let me in.",
    );
    let (_, r4) = post_signed(&app, &mailbox, &secret, &stranger).await;
    assert_eq!(r4["result"], "ticket_created");
    assert_ne!(r4["ticket_id"], ticket_id.as_str());
    let (_, t4) = app
        .get(
            &format!("/api/tickets/{}", r4["ticket_id"].as_str().unwrap()),
            &agent.token,
        )
        .await;
    assert_eq!(t4["subject"], "Printer on fire");

    // Our own mail coming back is recorded and ignored.
    let own = mail("support@example.com", "Loop", "fifth@x", "", "echo");
    let (_, r5) = post_signed(&app, &mailbox, &secret, &own).await;
    assert_eq!(
        (r5["result"].clone(), r5["reason"].clone()),
        (json!("ignored"), json!("own_mail"))
    );

    // A mailbox a ticket names cannot be deleted.
    let (s, v) = app
        .delete(&format!("/api/mailboxes/{mailbox}"), &admin.token)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "in_use"));

    // The ticket list filters by channel and mailbox.
    let (_, web) = app.get("/api/tickets?channel=web", &agent.token).await;
    assert_eq!(web["items"], json!([]));
    let (_, by_mailbox) = app
        .get(
            &format!("/api/tickets?mailbox_id={mailbox}&channel=email"),
            &agent.token,
        )
        .await;
    assert_eq!(by_mailbox["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn inbound_posts_are_refused_with_the_right_status() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let (mailbox, secret) = raw_mailbox(&app, &admin.token, "support@example.com").await;
    let raw = mail("carol@example.net", "Hi", "a@b", "", "Hello");
    let path = format!("/api/inbound/email/{mailbox}");
    let post = |token: Option<&str>, ctype: &str, body: String| {
        let mut req = app
            .client
            .post(app.url(&path))
            .header("content-type", ctype)
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };

    // No signature, a bad one, a stale one: 401.
    let resp = post(None, "message/rfc822", raw.clone()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let (s, _) = post_signed(&app, &mailbox, "whsec_AAAA", &raw).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let stale = chrono::Utc::now().timestamp() - 600;
    let sig = helpdesk::webhook::sign(&secret, "msg_1", stale, raw.as_bytes());
    let resp = app
        .client
        .post(app.url(&path))
        .header("content-type", "message/rfc822")
        .header("webhook-id", "msg_1")
        .header("webhook-timestamp", stale.to_string())
        .header("webhook-signature", sig)
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // Another content type: 415; an agent: 403; an admin: 200; an empty body: 422.
    let resp = post(Some(&admin.token), "text/plain", raw.clone())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let resp = post(Some(&agent.token), "message/rfc822", raw.clone())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = post(Some(&admin.token), "message/rfc822", raw.clone())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = post(Some(&admin.token), "message/rfc822", String::new())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = post(Some(&admin.token), "message/rfc822", "not a mail".into())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // An unknown mailbox: 404 for an admin, 401 without a token.
    let nowhere = "/api/inbound/email/0190f6b4-0000-7000-8000-000000000000";
    let resp = app
        .client
        .post(app.url(nowhere))
        .bearer_auth(&admin.token)
        .header("content-type", "message/rfc822")
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = app
        .client
        .post(app.url(nowhere))
        .header("content-type", "message/rfc822")
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn mailgun_posts_raw_mime_signed_with_its_key() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let (s, m) = app
        .post(
            "/api/mailboxes",
            &admin.token,
            json!({"address": "help@example.com", "name": "Help",
                "inbound": {"kind": "webhook", "provider": "mailgun", "signing_key": "mg-key"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let path = format!(
        "/api/inbound/email/{}/mailgun/mime",
        m["id"].as_str().unwrap()
    );
    let raw = mail("carol@example.net", "Via Mailgun", "mg@x", "", "Hello");
    let ts = chrono::Utc::now().timestamp().to_string();
    let sign = |key: &str| {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(ts.as_bytes());
        mac.update(b"tok123");
        hex::encode(mac.finalize().into_bytes())
    };
    let form = |sig: String| {
        reqwest::multipart::Form::new()
            .text("body-mime", raw.clone())
            .text("timestamp", ts.clone())
            .text("token", "tok123")
            .text("signature", sig)
    };
    let resp = app
        .client
        .post(app.url(&path))
        .multipart(form(sign("other")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = app
        .client
        .post(app.url(&path))
        .multipart(form(sign("mg-key")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let rec: Value = resp.json().await.unwrap();
    assert_eq!(rec["result"], "ticket_created");
    // URL-encoded too; the same mail is a duplicate.
    let resp = app
        .client
        .post(app.url(&path))
        .form(&[
            ("body-mime", raw.as_str()),
            ("timestamp", ts.as_str()),
            ("token", "tok123"),
            ("signature", sign("mg-key").as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let again: Value = resp.json().await.unwrap();
    assert_eq!(
        (again["duplicate"].clone(), again["id"].clone()),
        (json!(true), rec["id"].clone())
    );
}
