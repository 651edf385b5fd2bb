//! The email channel end to end, with real mail servers: a customer mails support
//! through the SMTP listener (Python's `smtplib`), gets the auto-reply, an agent answers
//! in the web API and the answer is mailed (to aiosmtpd, the mailbox's SMTP server) with
//! the threading headers; the customer's reply from their mail client lands in the same
//! ticket; an out-of-office answer changes nothing and is not answered; a bounce of our
//! mail suppresses the address.

use std::time::Duration;

use helpdesk::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::mail_support::SmtpServer;

/// Sends `raw` with Python's smtplib to the listener at `port`.
async fn smtplib_send(port: u16, from: &str, to: &[&str], raw: &str) {
    let script = "import smtplib, sys, json\n\
        port, sender, rcpts, data = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]\n\
        with smtplib.SMTP('127.0.0.1', port) as s:\n\
        \x20   s.sendmail(sender, rcpts, data.encode('utf-8'))\n";
    let out = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(port.to_string())
        .arg(from)
        .arg(serde_json::to_string(to).unwrap())
        .arg(raw)
        .output()
        .await
        .expect("run python3");
    assert!(
        out.status.success(),
        "smtplib failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until aiosmtpd holds `n` mails; returns them as text.
pub(crate) async fn mails(server: &SmtpServer, n: usize) -> Vec<String> {
    for _ in 0..200 {
        let got = server.mails();
        if got.len() >= n {
            return got
                .into_iter()
                .map(|m| String::from_utf8_lossy(&m.data).into_owned())
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("aiosmtpd holds {} mails, not {n}", server.mails().len());
}

/// A header's value in a mail's text (unfolded, first occurrence).
pub(crate) fn header(mail: &str, name: &str) -> Option<String> {
    let head = mail.split("\r\n\r\n").next().unwrap_or(mail);
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

#[tokio::test]
async fn customer_mails_agent_replies_customer_replies() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app().await;
    let listener = helpdesk_http::mail::listen_smtp(app.hd.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("SMTP listener");
    let port = listener.local_addr().port();
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let (s, mailbox) = app
        .post(
            "/api/mailboxes",
            &admin.token,
            json!({"address": "support@example.com", "name": "Support",
                "inbound": {"kind": "smtp"},
                "outbound": {"kind": "smtp", "url": format!("smtp://127.0.0.1:{}", smtp.port)},
                "auto_reply": {"enabled": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{mailbox}");
    let mailbox_id = mailbox["id"].as_str().unwrap().to_string();

    // 1. The customer mails support.
    let first = "From: Carol <carol@example.net>\r\nTo: support@example.com\r\n\
        Subject: Printer on fire\r\nMessage-ID: <m1@mail.example.net>\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\r\nIt is burning.\r\n";
    smtplib_send(port, "carol@example.net", &["support@example.com"], first).await;
    let (_, list) = app.get("/api/tickets", &agent.token).await;
    let ticket = list["items"][0].clone();
    assert_eq!(ticket["subject"], "Printer on fire");
    assert_eq!(ticket["channel"], "email");
    let number = ticket["number"].as_i64().unwrap();
    let conversation = ticket["conversation_id"].as_str().unwrap().to_string();

    // The auto-reply answers it, marked automatic, threaded to it.
    let sent = mails(&smtp, 1).await;
    let auto = &sent[0];
    assert_eq!(
        header(auto, "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    assert_eq!(
        header(auto, "In-Reply-To").as_deref(),
        Some("<m1@mail.example.net>")
    );
    assert_eq!(
        header(auto, "Subject"),
        Some(format!("Re: [#{number}] Printer on fire"))
    );
    assert!(header(auto, "To").unwrap().contains("carol@example.net"));

    // 2. The agent answers in the web API: mailed to Carol with the threading headers.
    let (s, _) = app
        .post(
            &format!("/api/conversations/{conversation}/messages"),
            &agent.token,
            json!({"content": "Unplug it, please."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let sent = mails(&smtp, 2).await;
    let reply = &sent[1];
    assert_eq!(header(reply, "Auto-Submitted"), None);
    assert_eq!(
        header(reply, "In-Reply-To").as_deref(),
        Some("<m1@mail.example.net>")
    );
    assert_eq!(
        header(reply, "References").as_deref(),
        Some("<m1@mail.example.net>")
    );
    let reply_to = header(reply, "Reply-To").unwrap();
    let token_address = reply_to.trim_matches(['<', '>']).to_string();
    assert!(
        token_address.starts_with(&format!("support+{number}-")),
        "{reply_to}"
    );
    assert!(header(reply, "From").unwrap().contains("via Support"));
    assert!(reply.contains("Unplug it, please."));
    let reply_id = header(reply, "Message-ID").unwrap();

    // 3. Carol answers from her mail client: to the Reply-To, quoting the agent.
    let answer = format!(
        "From: Carol <carol@example.net>\r\nTo: {token_address}\r\n\
         Subject: Re: [#{number}] Printer on fire\r\nMessage-ID: <m2@mail.example.net>\r\n\
         In-Reply-To: {reply_id}\r\nReferences: <m1@mail.example.net> {reply_id}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nDone, thanks.\r\n\r\n\
         On Sun, 6 Dec 2026, Agent via Support wrote:\r\n> Unplug it, please.\r\n"
    );
    smtplib_send(port, "carol@example.net", &[&token_address], &answer).await;
    let (_, msgs) = app
        .get(
            &format!("/api/conversations/{conversation}/messages"),
            &agent.token,
        )
        .await;
    let items = msgs["items"].as_array().unwrap();
    let last = items.last().unwrap();
    assert_eq!(last["content"], "Done, thanks.");
    assert_eq!(last["channel"], "email");
    let (_, list) = app.get("/api/tickets", &agent.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "one ticket");

    // 4. An out-of-office answer: stored, automatic, not answered.
    let ooo = format!(
        "From: carol@example.net\r\nTo: {token_address}\r\nSubject: Out of office\r\n\
         Message-ID: <ooo@mail.example.net>\r\nAuto-Submitted: auto-replied\r\n\r\nAway.\r\n"
    );
    smtplib_send(port, "carol@example.net", &[&token_address], &ooo).await;
    let (_, inbound) = app
        .get(
            &format!("/api/mailboxes/{mailbox_id}/inbound"),
            &admin.token,
        )
        .await;
    let newest = &inbound["items"][0];
    assert_eq!(newest["auto"], true);
    assert_eq!(newest["result"], "message_added");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(smtp.mails().len(), 2, "no answer to automatic mail");

    // 5. A bounce of the agent's reply suppresses Carol.
    let bounce = format!(
        "From: MAILER-DAEMON@mx.example.net\r\nTo: support@example.com\r\n\
         Subject: Undelivered Mail\r\nMessage-ID: <dsn1@mx.example.net>\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nIt bounced.\r\n\
         --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n\
         Final-Recipient: rfc822; carol@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n\
         --b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {reply_id}\r\nSubject: x\r\n\r\n--b--\r\n"
    );
    smtplib_send(port, "", &["support@example.com"], &bounce).await;
    let (s, sup) = app
        .get("/api/email-suppressions/carol@example.net", &admin.token)
        .await;
    assert_eq!(s, StatusCode::OK, "{sup}");
    assert_eq!(sup["reason"], "bounce");
    let (_, outbox) = app
        .get(
            &format!("/api/mailboxes/{mailbox_id}/outbox?status=bounced"),
            &admin.token,
        )
        .await;
    assert_eq!(outbox["items"].as_array().unwrap().len(), 1, "{outbox}");
    let (_, msgs) = app
        .get(
            &format!("/api/conversations/{conversation}/messages"),
            &agent.token,
        )
        .await;
    let note = msgs["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(note["internal"], true);
    assert_eq!(note["sender_id"], Value::Null);
    assert!(
        note["content"]
            .as_str()
            .unwrap()
            .starts_with("Delivery to carol@example.net failed: 5.1.1")
    );

    // Suppressed: the next reply is recorded but not sent.
    app.post(
        &format!("/api/conversations/{conversation}/messages"),
        &agent.token,
        json!({"content": "Anyone there?"}),
    )
    .await;
    let (_, outbox) = app
        .get(
            &format!("/api/mailboxes/{mailbox_id}/outbox?status=suppressed"),
            &admin.token,
        )
        .await;
    assert_eq!(outbox["items"].as_array().unwrap().len(), 1, "{outbox}");
    listener.shutdown().await;
}
