//! Notification mail end to end, with aiosmtpd as the mailboxes' SMTP server: a user
//! with `email_notifications` is mailed their notifications through the ticket's
//! mailbox (else the default one), with a personal Reply-To that lets a staff member
//! answer by mail; a requester who gets the reply mail is not told again; and a
//! recipient our SMTP server refuses at `RCPT` gets the bounce treatment (event, note,
//! suppression).

use std::time::Duration;

use helpdesk::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::mail_flow::{header, mails};
use crate::mail_support::SmtpServer;

/// A mailbox sending through aiosmtpd on `port`; returns its id.
async fn mailbox(
    app: &App,
    admin: &Who,
    address: &str,
    name: &str,
    port: u16,
    default: bool,
) -> String {
    let (s, v) = app
        .post(
            "/api/mailboxes",
            &admin.token,
            json!({"address": address, "name": name, "is_default": default,
                "inbound": {"kind": "smtp"},
                "outbound": {"kind": "smtp", "url": format!("smtp://127.0.0.1:{port}")}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_string()
}

/// Turns `who`'s notification mail on.
async fn opt_in(app: &App, who: &Who) {
    let (s, v) = app
        .patch(
            "/api/users/me",
            &who.token,
            json!({"email_notifications": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["email_notifications"], true);
}

/// An admin's ticket for `requester`, assigned to `assignee`, through `mailbox`.
async fn ticket(
    app: &App,
    admin: &Who,
    requester: &Who,
    assignee: &Who,
    mailbox: Option<&str>,
) -> Value {
    let mut body = json!({"subject": "Printer on fire", "description": "It is burning.",
        "requester_id": requester.id, "assignee_id": assignee.id});
    if let Some(m) = mailbox {
        body["mailbox_id"] = json!(m);
    }
    let (s, t) = app.post("/api/tickets", &admin.token, body).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    t
}

async fn assign(app: &App, admin: &Who, ticket: &Value, to: &Who) {
    let (s, v) = app
        .patch(
            &format!("/api/tickets/{}", ticket["id"].as_str().unwrap()),
            &admin.token,
            json!({"assignee_id": to.id}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// A mailbox's outbound mail of `kind`, oldest first.
async fn outbox(app: &App, admin: &Who, mailbox: &str, kind: &str) -> Vec<Value> {
    let (s, v) = app
        .get(&format!("/api/mailboxes/{mailbox}/outbox"), &admin.token)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut items: Vec<Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == kind)
        .cloned()
        .collect();
    items.reverse();
    items
}

/// The mail aiosmtpd took for `address` (waiting until it holds `n` in all).
async fn mail_to(smtp: &SmtpServer, n: usize, address: &str) -> Vec<String> {
    let all = mails(smtp, n).await;
    smtp.mails()
        .iter()
        .zip(all)
        .filter(|(r, _)| r.rcpt_tos.iter().any(|t| t == address))
        .map(|(_, text)| text)
        .collect()
}

async fn join_full(app: &App, admin: &Who, group: &str, who: &Who) {
    let (s, v) = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/groups/{group}/members/{}", who.id),
            Some(&admin.token),
            Some(json!({"access": "full"})),
        )
        .await;
    assert!(s.is_success(), "{s} {v}");
}

#[tokio::test]
async fn notifications_are_mailed_to_those_who_opted_in() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let ann = app.user(Role::Agent, "ann@example.com").await;
    let bob = app.user(Role::Agent, "bob@example.com").await;
    let carol = app.user(Role::Customer, "carol@example.net").await;
    let group = default_group(&app, &admin.token).await;
    for agent in [&ann, &bob] {
        join_full(&app, &admin, &group, agent).await;
    }
    opt_in(&app, &ann).await;
    opt_in(&app, &carol).await;
    let support = mailbox(
        &app,
        &admin,
        "support@example.com",
        "Support",
        smtp.port,
        false,
    )
    .await;

    // Assigned to Bob, who did not opt in: no mail.
    let t = ticket(&app, &admin, &carol, &bob, Some(&support)).await;
    let number = t["number"].as_i64().unwrap();
    assert!(
        outbox(&app, &admin, &support, "notification")
            .await
            .is_empty()
    );

    // Assigned to Ann, who did: one mail through the ticket's mailbox.
    assign(&app, &admin, &t, &ann).await;
    let recorded = outbox(&app, &admin, &support, "notification").await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["to"], json!(["ann@example.com"]));
    assert_eq!(recorded[0]["ticket_id"], t["id"]);
    assert!(recorded[0]["notification_id"].is_string());
    let (_, notes) = app.get("/api/notifications", &ann.token).await;
    assert_eq!(
        recorded[0]["notification_id"], notes["items"][0]["id"],
        "the mail carries Ann's notification"
    );
    let sent = mail_to(&smtp, 1, "ann@example.com").await;
    let mail = &sent[0];
    assert_eq!(
        header(mail, "From").as_deref(),
        Some("\"Support\" <support@example.com>")
    );
    assert_eq!(
        header(mail, "Subject"),
        Some(format!("[#{number}] Ticket #{number} was assigned to you"))
    );
    assert_eq!(
        header(mail, "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert_eq!(
        header(mail, "X-Auto-Response-Suppress").as_deref(),
        Some("All")
    );
    assert!(mail.contains("Printer on fire"), "the body: {mail}");
    let reply_to = header(mail, "Reply-To").unwrap();
    let personal = reply_to.trim_matches(['<', '>']).to_string();
    assert!(
        personal.starts_with(&format!("support+{number}-")) && personal.ends_with("@example.com"),
        "{reply_to}"
    );

    // Ann answers the notification from her mail client: the personal token verifies
    // her, so it is her public reply, mailed to Carol.
    let answer = format!(
        "From: Ann <ann@example.com>\r\nTo: {personal}\r\n\
         Subject: Re: [#{number}] Ticket #{number} was assigned to you\r\n\
         Message-ID: <ann1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Unplug it, please.\r\n"
    );
    let record = post_mail(&app, &admin, &support, answer).await;
    assert_eq!(record["result"], "message_added", "{record}");
    let conversation = t["conversation_id"].as_str().unwrap();
    let (_, msgs) = app
        .get(
            &format!("/api/conversations/{conversation}/messages"),
            &ann.token,
        )
        .await;
    let last = msgs["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["content"], "Unplug it, please.");
    assert_eq!(last["sender_id"], ann.id.as_str());
    assert_eq!(last["internal"], false);
    let to_carol = mail_to(&smtp, 2, "carol@example.net").await;
    assert!(to_carol[0].contains("Unplug it, please."));

    // Carol, the requester, was told of the message in the app, not by mail: the
    // reply reached her.
    let (_, carols) = app.get("/api/notifications", &carol.token).await;
    assert!(
        carols["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "ticket_message"),
        "{carols}"
    );
    let replies = outbox(&app, &admin, &support, "reply").await;
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["to"], json!(["carol@example.net"]));
    assert_eq!(
        outbox(&app, &admin, &support, "notification").await.len(),
        1
    );

    // A ticket without a mailbox and no default mailbox: nothing is mailed.
    let other = ticket(&app, &admin, &carol, &bob, None).await;
    assign(&app, &admin, &other, &ann).await;
    let (_, anns) = app.get("/api/notifications", &ann.token).await;
    assert_eq!(anns["items"][0]["data"]["ticket_id"], other["id"]);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        smtp.mails().len(),
        2,
        "nothing mailed without a default mailbox"
    );
    assert_eq!(
        outbox(&app, &admin, &support, "notification").await.len(),
        1
    );

    // With a default mailbox, it goes through that one.
    let help = mailbox(&app, &admin, "help@example.com", "Help", smtp.port, true).await;
    assign(&app, &admin, &other, &bob).await;
    assign(&app, &admin, &other, &ann).await;
    let recorded = outbox(&app, &admin, &help, "notification").await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["ticket_id"], other["id"]);
    let to_ann = mail_to(&smtp, 3, "ann@example.com").await;
    let mail = to_ann.last().unwrap();
    assert_eq!(
        header(mail, "From").as_deref(),
        Some("\"Help\" <help@example.com>")
    );
    let other_number = other["number"].as_i64().unwrap();
    assert!(
        header(mail, "Reply-To")
            .unwrap()
            .starts_with(&format!("<help+{other_number}-")),
        "{mail}"
    );
    assert_eq!(
        outbox(&app, &admin, &support, "notification").await.len(),
        1
    );

    // Ann answers that one to its From address: a mail sent to her alone, matched by
    // its Message-ID, verifies her too.
    let answer = format!(
        "From: Ann <ann@example.com>\r\nTo: help@example.com\r\n\
         Subject: Re: [#{other_number}] Ticket #{other_number} was assigned to you\r\n\
         Message-ID: <ann2@example.com>\r\nIn-Reply-To: {}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nLooking now.\r\n",
        header(mail, "Message-ID").unwrap()
    );
    let record = post_mail(&app, &admin, &help, answer).await;
    assert_eq!(record["result"], "message_added", "{record}");
    assert_eq!(record["ticket_id"], other["id"]);
    let conversation = other["conversation_id"].as_str().unwrap();
    let (_, msgs) = app
        .get(
            &format!("/api/conversations/{conversation}/messages"),
            &ann.token,
        )
        .await;
    let last = msgs["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["content"], "Looking now.");
    assert_eq!(last["sender_id"], ann.id.as_str());
}

/// Posts a raw mail to a mailbox's HTTP inbound endpoint; returns the inbound record.
async fn post_mail(app: &App, admin: &Who, mailbox: &str, raw: String) -> Value {
    let (s, record) = crate::mail_log::post_mail(app, &admin.token, mailbox, &raw).await;
    assert_eq!(s, StatusCode::OK, "{record}");
    record
}

#[tokio::test]
async fn a_refusal_at_rcpt_is_reported_like_a_bounce() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let ann = app.user(Role::Agent, "ann@example.com").await;
    let gone = app.user(Role::Customer, "reject550@example.net").await;
    let dave = app.user(Role::Customer, "dave@example.net").await;
    let group = default_group(&app, &admin.token).await;
    join_full(&app, &admin, &group, &ann).await;
    let support = mailbox(
        &app,
        &admin,
        "support@example.com",
        "Support",
        smtp.port,
        false,
    )
    .await;
    let t = ticket(&app, &admin, &gone, &ann, Some(&support)).await;
    let id = t["id"].as_str().unwrap();
    let (s, v) = app
        .post(
            &format!("/api/tickets/{id}/cc"),
            &admin.token,
            json!({"user_id": dave.id}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mut ws = app.ws(&admin.token).await;

    // Ann's reply goes to the requester, whom aiosmtpd refuses with 550, and Dave.
    let conversation = t["conversation_id"].as_str().unwrap();
    let (s, _) = app
        .post(
            &format!("/api/conversations/{conversation}/messages"),
            &ann.token,
            json!({"content": "Unplug it, please."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let bounced = ws.next_of("email.bounced").await;
    let reply = &outbox(&app, &admin, &support, "reply").await[0];
    assert_eq!(
        bounced["data"],
        json!({"inbound_id": null, "outbound_id": reply["id"], "ticket_id": id,
            "recipient": "reject550@example.net", "status": "550", "action": "failed",
            "permanent": true})
    );
    // Dave got it: the mail stays `sent`, the refusal listed.
    let sent = mail_to(&smtp, 1, "dave@example.net").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(reply["status"], "sent", "{reply}");
    assert_eq!(reply["rejected"][0]["address"], "reject550@example.net");
    assert_eq!(reply["rejected"][0]["code"], 550);
    let (s, sup) = app
        .get(
            "/api/email-suppressions/reject550@example.net",
            &admin.token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{sup}");
    assert_eq!(sup["reason"], "rejected");

    // The ticket's internal note from no one names the refusal.
    let mut note = Value::Null;
    for _ in 0..100 {
        let (_, msgs) = app
            .get(
                &format!("/api/conversations/{conversation}/messages"),
                &ann.token,
            )
            .await;
        let last = msgs["items"].as_array().unwrap().last().unwrap().clone();
        if last["internal"] == true {
            note = last;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(note["sender_id"], Value::Null, "{note}");
    assert!(
        note["content"]
            .as_str()
            .unwrap()
            .starts_with("Delivery to reject550@example.net failed: 550 5.1.1"),
        "{note}"
    );
    // The customer never sees it.
    let (_, theirs) = app
        .get(
            &format!("/api/conversations/{conversation}/messages"),
            &dave.token,
        )
        .await;
    assert!(
        theirs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["internal"] != true),
        "{theirs}"
    );
}
