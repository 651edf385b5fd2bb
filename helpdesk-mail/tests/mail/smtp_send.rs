//! The sender against aiosmtpd (tests/mail/smtp_server.py), which refuses or defers
//! recipients on demand by their local part.

use std::time::Duration;

use helpdesk_mail::{RecipientReply, SEND_TIMEOUT, SendOutcome, send, test_smtp};

use crate::support::{Recorded, SmtpServer, free_port};

const MAIL: &[u8] = b"From: Support <support@example.com>\r\nTo: alice@example.net\r\nSubject: Re: [#7] Printer\r\nMessage-ID: <m1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xc3\xbc\xc3\x9fe,\r\n.a line starting with a dot\r\n\r\nbye\r\n";

fn to(addresses: &[&str]) -> Vec<String> {
    addresses.iter().map(|a| (*a).to_owned()).collect()
}

fn url(server: &SmtpServer) -> String {
    format!("smtp://127.0.0.1:{}", server.port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_to_the_accepted_and_reports_each_refused_recipient() {
    let server = SmtpServer::start().await;
    let recipients = to(&[
        "alice@example.net",
        "reject550+bob@example.net",
        "defer451+carol@example.net",
        "dave@example.org",
    ]);
    let outcome = send(
        &url(&server),
        None,
        "support@example.com",
        &recipients,
        MAIL,
        SEND_TIMEOUT,
    )
    .await;
    let SendOutcome::Sent {
        accepted,
        rejected,
        deferred,
    } = outcome
    else {
        panic!("expected Sent, got {outcome:?}");
    };
    assert_eq!(accepted, to(&["alice@example.net", "dave@example.org"]));
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].address, "reject550+bob@example.net");
    assert_eq!(rejected[0].code, Some(550));
    assert!(
        rejected[0].text.contains("refused on demand"),
        "{:?}",
        rejected[0]
    );
    assert_eq!(deferred.len(), 1);
    assert_eq!(
        (deferred[0].address.as_str(), deferred[0].code),
        ("defer451+carol@example.net", Some(451))
    );

    let mails = server.mails();
    assert_eq!(mails.len(), 1, "one mail delivered");
    let Recorded {
        mail_from: from,
        rcpt_tos: rcpts,
        mail_options: options,
        data,
    } = &mails[0];
    assert_eq!(from, "support@example.com");
    assert_eq!(rcpts, &to(&["alice@example.net", "dave@example.org"]));
    assert!(
        options
            .iter()
            .any(|o| o.eq_ignore_ascii_case("BODY=8BITMIME")),
        "{options:?}"
    );
    // The bytes arrive as sent: 8-bit kept, the leading dot unstuffed again by the server,
    // no blank line added at the end.
    assert_eq!(String::from_utf8_lossy(data), String::from_utf8_lossy(MAIL));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_recipient_refused_is_permanent_and_sends_nothing() {
    let server = SmtpServer::start().await;
    let recipients = to(&["reject550+a@example.net", "reject550+b@example.net"]);
    let outcome = send(
        &url(&server),
        None,
        "support@example.com",
        &recipients,
        MAIL,
        SEND_TIMEOUT,
    )
    .await;
    let SendOutcome::Permanent { code, rejected, .. } = &outcome else {
        panic!("expected Permanent, got {outcome:?}");
    };
    assert_eq!(*code, Some(550));
    let addresses: Vec<&str> = rejected
        .iter()
        .map(|r: &RecipientReply| r.address.as_str())
        .collect();
    assert_eq!(
        addresses,
        ["reject550+a@example.net", "reject550+b@example.net"]
    );
    assert!(server.mails().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deferred_recipients_without_an_accepted_one_are_temporary() {
    let server = SmtpServer::start().await;
    let recipients = to(&["reject550+a@example.net", "defer451+b@example.net"]);
    let outcome = send(
        &url(&server),
        None,
        "support@example.com",
        &recipients,
        MAIL,
        SEND_TIMEOUT,
    )
    .await;
    let SendOutcome::Temporary { code, rejected, .. } = &outcome else {
        panic!("expected Temporary, got {outcome:?}");
    };
    assert_eq!(*code, Some(451));
    assert_eq!(
        rejected.len(),
        1,
        "the 5xx one is still reported for suppression"
    );
    assert!(server.mails().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_of_mail_from_and_data_are_told_apart() {
    let server = SmtpServer::start().await;
    let rcpt = to(&["alice@example.net"]);
    let sender_refused = send(
        &url(&server),
        None,
        "reject550+x@example.com",
        &rcpt,
        MAIL,
        SEND_TIMEOUT,
    )
    .await;
    assert!(
        matches!(
            sender_refused,
            SendOutcome::Permanent {
                code: Some(550),
                ..
            }
        ),
        "{sender_refused:?}"
    );

    let data_deferred = send(
        &url(&server),
        None,
        "support@example.com",
        &to(&["datafail451+a@example.net"]),
        MAIL,
        SEND_TIMEOUT,
    )
    .await;
    assert!(
        matches!(
            data_deferred,
            SendOutcome::Temporary {
                code: Some(451),
                ..
            }
        ),
        "{data_deferred:?}"
    );

    let data_refused = send(
        &url(&server),
        None,
        "support@example.com",
        &to(&["datafail554+a@example.net", "reject550+b@example.net"]),
        MAIL,
        SEND_TIMEOUT,
    )
    .await;
    let SendOutcome::Permanent {
        code: Some(554),
        rejected,
        ..
    } = &data_refused
    else {
        panic!("expected Permanent 554, got {data_refused:?}");
    };
    assert_eq!(rejected.len(), 1);
    assert!(server.mails().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_null_sender_is_sent_as_such() {
    let server = SmtpServer::start().await;
    let outcome = send(
        &url(&server),
        None,
        "",
        &to(&["alice@example.net"]),
        b"Subject: x\r\n\r\nbody\r\n",
        SEND_TIMEOUT,
    )
    .await;
    assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    let mails = server.mails();
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].mail_from.is_empty() || mails[0].mail_from == "<>",
        "null sender, got {:?}",
        mails[0].mail_from
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_server_and_a_silent_server_are_temporary() {
    let rcpt = to(&["alice@example.net"]);
    let closed = format!("smtp://127.0.0.1:{}", free_port());
    let refused = send(
        &closed,
        None,
        "support@example.com",
        &rcpt,
        MAIL,
        SEND_TIMEOUT,
    )
    .await;
    assert!(
        matches!(refused, SendOutcome::Temporary { code: None, .. }),
        "{refused:?}"
    );

    // Accepts the connection and never greets: the timeout ends the attempt.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let _hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let started = std::time::Instant::now();
    let outcome = send(
        &format!("smtp://127.0.0.1:{port}"),
        None,
        "support@example.com",
        &rcpt,
        MAIL,
        Duration::from_secs(1),
    )
    .await;
    let SendOutcome::Temporary {
        code: None, text, ..
    } = &outcome
    else {
        panic!("expected a timeout, got {outcome:?}");
    };
    assert!(text.contains("timed out"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_that_cannot_happen_is_temporary() {
    let server = SmtpServer::start().await;
    let rcpt = to(&["alice@example.net"]);
    // smtps:// to a plain server: the handshake meets a greeting.
    let implicit = format!("smtps://127.0.0.1:{}", server.port);
    let outcome = send(
        &implicit,
        None,
        "support@example.com",
        &rcpt,
        MAIL,
        SEND_TIMEOUT,
    )
    .await;
    assert!(
        matches!(outcome, SendOutcome::Temporary { code: None, .. }),
        "{outcome:?}"
    );
    // STARTTLS required, not offered: nothing is sent in clear.
    let required = format!("smtp://127.0.0.1:{}?tls=required", server.port);
    let outcome = send(
        &required,
        None,
        "support@example.com",
        &rcpt,
        MAIL,
        SEND_TIMEOUT,
    )
    .await;
    let SendOutcome::Temporary { text, .. } = &outcome else {
        panic!("expected Temporary, got {outcome:?}");
    };
    assert!(text.contains("STARTTLS"), "{text}");
    // Opportunistic: not offered, so plain it is.
    let opportunistic = format!("smtp://127.0.0.1:{}?tls=opportunistic", server.port);
    let outcome = send(
        &opportunistic,
        None,
        "support@example.com",
        &rcpt,
        MAIL,
        SEND_TIMEOUT,
    )
    .await;
    assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    assert_eq!(server.mails().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_settings_are_permanent() {
    let rcpt = to(&["alice@example.net"]);
    for bad in [
        "http://127.0.0.1:25",
        "smtp://user:pw@127.0.0.1:25",
        "smtp://127.0.0.1:25?tls=sometimes",
        "not a url",
    ] {
        let outcome = send(bad, None, "support@example.com", &rcpt, MAIL, SEND_TIMEOUT).await;
        assert!(
            matches!(outcome, SendOutcome::Permanent { code: None, .. }),
            "{bad}: {outcome:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_smtp_connects_without_sending() {
    let server = SmtpServer::start().await;
    assert_eq!(test_smtp(&url(&server), None).await, Ok(()));
    // aiosmtpd offers no AUTH on a plain connection: naming a user must fail, saying why.
    let err = test_smtp(
        &format!("smtp://agent@127.0.0.1:{}", server.port),
        Some("pw"),
    )
    .await
    .expect_err("no AUTH offered");
    assert!(err.to_lowercase().contains("auth"), "{err}");
    let err = test_smtp(&format!("smtp://127.0.0.1:{}", free_port()), None)
        .await
        .expect_err("nothing listens");
    assert!(!err.is_empty());
    // STARTTLS required but not offered.
    let err = test_smtp(
        &format!("smtp://127.0.0.1:{}?tls=required", server.port),
        None,
    )
    .await
    .expect_err("no STARTTLS");
    assert!(err.contains("STARTTLS"), "{err}");
    assert!(server.mails().is_empty());
}
