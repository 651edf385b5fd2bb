//! The mail we build, read back with our own parser: headers, threading, body, size limit
//! and header injection.

use chrono::{TimeZone, Utc};
use uuid::Uuid;

use super::*;

const MAILBOX: OutgoingMailbox<'static> = OutgoingMailbox {
    address: "support@help.example",
    name: "Help Desk",
};

fn reply<'a>(kind: ReplyKind<'a>, attachments: &'a [OutgoingAttachment]) -> ReplyMail<'a> {
    ReplyMail {
        kind,
        mailbox: MAILBOX,
        outbound_id: Uuid::from_u128(0x0190_aa00_1111_7000_8000_0000_0000_0001),
        ticket_number: 42,
        ticket_subject: "Printer on fire",
        has_inbound_mail: true,
        token: "42-abcdefghijklmnop",
        loop_id: "inst-6f1c",
        to: vec![Recipient {
            address: "Ann@Example.com".into(),
            name: Some("Ann Customer".into()),
        }],
        cc: vec![Recipient {
            address: "cc@example.com".into(),
            name: None,
        }],
        thread: Some(ThreadRef {
            message_id: "caf3u9@mail.gmail.com".into(),
            in_reply_to: vec![],
            references: (0..12).map(|i| format!("r{i}@x")).collect(),
        }),
        content: "Please restart the printer.\nThen try again.",
        attachments,
        max_size: 40 * 1024 * 1024,
        date: Utc.with_ymd_and_hms(2024, 3, 5, 16, 2, 0).unwrap(),
    }
}

fn read(bytes: &[u8]) -> ParsedMail {
    parse(bytes, ParseLimits::default()).unwrap()
}

#[test]
fn reply_headers_and_body() {
    let built = build_reply(&reply(ReplyKind::Reply { author_name: "Bob" }, &[])).unwrap();
    assert_eq!(
        built.message_id,
        "0190aa00-1111-7000-8000-000000000001@help.example"
    );
    let m = read(&built.bytes);
    assert_eq!(m.message_id.as_deref(), Some(built.message_id.as_str()));
    let from = m.from.as_ref().unwrap();
    assert_eq!(from.address, "support@help.example");
    assert_eq!(from.name.as_deref(), Some("Bob via Help Desk"));
    assert_eq!(
        m.header("Reply-To"),
        Some("<support+42-abcdefghijklmnop@help.example>")
    );
    assert_eq!(m.to[0].address, "ann@example.com");
    assert_eq!(m.to[0].name.as_deref(), Some("Ann Customer"));
    assert_eq!(m.cc[0].address, "cc@example.com");
    assert_eq!(m.subject, "Re: [#42] Printer on fire");
    assert_eq!(m.in_reply_to, ["caf3u9@mail.gmail.com"]);
    assert_eq!(m.references.len(), 10);
    assert_eq!(m.references[0], "r0@x");
    assert_eq!(m.references[1], "r4@x");
    assert_eq!(m.references[9], "caf3u9@mail.gmail.com");
    assert_eq!(m.header("X-Helpdesk-Loop"), Some("inst-6f1c"));
    assert_eq!(m.header("Auto-Submitted"), None);
    assert!(!is_automatic(&m));
    assert_eq!(own_mail(&m, [], "inst-6f1c"), Some(OwnMail::LoopHeader));
    assert_eq!(
        m.text,
        format!("{REPLY_MARKER}\n\nPlease restart the printer.\nThen try again.")
    );
    assert!(m.date.is_some_and(|d| d.timestamp() == 1_709_654_520));
    let raw = String::from_utf8_lossy(&built.bytes);
    assert!(
        raw.contains("text/plain; charset=utf-8") || raw.contains("text/plain; charset=\"utf-8\"")
    );
}

#[test]
fn first_mail_on_a_web_ticket_has_no_re_and_no_thread() {
    let mut mail = reply(ReplyKind::Reply { author_name: "Bob" }, &[]);
    mail.has_inbound_mail = false;
    mail.thread = None;
    mail.cc.clear();
    let m = read(&build_reply(&mail).unwrap().bytes);
    assert_eq!(m.subject, "[#42] Printer on fire");
    assert!(m.in_reply_to.is_empty() && m.references.is_empty() && m.cc.is_empty());
}

#[test]
fn auto_reply_is_marked_automatic() {
    let text = default_auto_reply_text(42, "Printer\non fire");
    assert!(text.contains("ticket #42 (\"Printer on fire\")"), "{text}");
    let mut mail = reply(ReplyKind::AutoReply, &[]);
    mail.content = &text;
    let m = read(&build_reply(&mail).unwrap().bytes);
    assert!(m.text.ends_with("keep the ticket number in the subject."));
    assert_eq!(m.from.as_ref().unwrap().name.as_deref(), Some("Help Desk"));
    assert_eq!(m.header("Auto-Submitted"), Some("auto-replied"));
    assert_eq!(m.header("X-Auto-Response-Suppress"), Some("All"));
    assert!(is_automatic(&m));
}

#[test]
fn notification_mail() {
    let mail = NotificationMail {
        mailbox: MAILBOX,
        outbound_id: Uuid::from_u128(9),
        ticket: Some((5, "5-qrstuvwxyz234567")),
        title: "New reply on Printer on fire",
        body: "Bob replied.\nOpen the ticket to answer.",
        loop_id: "inst-6f1c",
        to: Recipient {
            address: "agent@help.example".into(),
            name: Some("Agent Smith".into()),
        },
        date: Utc::now(),
    };
    let built = build_notification(&mail).unwrap();
    let m = read(&built.bytes);
    assert_eq!(m.subject, "[#5] New reply on Printer on fire");
    assert_eq!(m.from.as_ref().unwrap().name.as_deref(), Some("Help Desk"));
    assert_eq!(m.header("Auto-Submitted"), Some("auto-generated"));
    assert_eq!(m.header("X-Auto-Response-Suppress"), Some("All"));
    assert_eq!(
        m.header("Reply-To"),
        Some("<support+5-qrstuvwxyz234567@help.example>")
    );
    assert_eq!(m.text, "Bob replied.\nOpen the ticket to answer.");
    assert_eq!(m.message_id.as_deref(), Some(built.message_id.as_str()));
    let m = read(
        &build_notification(&NotificationMail {
            ticket: None,
            ..mail
        })
        .unwrap()
        .bytes,
    );
    assert_eq!(m.subject, "New reply on Printer on fire");
    assert_eq!(m.header("Reply-To"), None);
}

#[test]
fn header_injection_is_neutralised() {
    let mut mail = reply(
        ReplyKind::Reply {
            author_name: "Eve\r\nBcc: victim@evil.example",
        },
        &[],
    );
    mail.ticket_subject = "Hi\r\nBcc: victim@evil.example\nX-Evil: 1";
    mail.mailbox.name = "Desk\nX-Evil: 2";
    let built = build_reply(&mail).unwrap();
    let raw = String::from_utf8_lossy(&built.bytes);
    for line in raw.lines() {
        assert!(
            !line.starts_with("Bcc:") && !line.starts_with("X-Evil:"),
            "{raw}"
        );
    }
    let m = read(&built.bytes);
    assert_eq!(m.subject, "Re: [#42] Hi Bcc: victim@evil.example X-Evil: 1");
    assert_eq!(
        m.from.unwrap().name.as_deref(),
        Some("Eve Bcc: victim@evil.example via Desk X-Evil: 2")
    );
    mail.to[0].address = "ann@example.com\r\nBcc: victim@evil.example".into();
    assert!(matches!(
        build_reply(&mail),
        Err(MailError::InvalidAddress(_))
    ));
    let mut mail = reply(ReplyKind::AutoReply, &[]);
    mail.token = "42-x>\r\nBcc: y";
    assert!(matches!(
        build_reply(&mail),
        Err(MailError::InvalidAddress(_))
    ));
}

#[test]
fn non_ascii_names_and_subjects_round_trip() {
    let mut mail = reply(
        ReplyKind::Reply {
            author_name: "Jürgen Müller",
        },
        &[],
    );
    mail.ticket_subject = "Grüße aus Köln — Drucker 🖨";
    mail.content = "Schöne Grüße";
    let built = build_reply(&mail).unwrap();
    assert!(built.bytes.is_ascii());
    let m = read(&built.bytes);
    assert_eq!(m.subject, "Re: [#42] Grüße aus Köln — Drucker 🖨");
    assert_eq!(
        m.from.unwrap().name.as_deref(),
        Some("Jürgen Müller via Help Desk")
    );
    assert!(m.text.ends_with("Schöne Grüße"));
}

#[test]
fn attachments_beyond_the_size_limit_are_named_in_the_body() {
    let files = [
        OutgoingAttachment {
            filename: "small.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: b"%PDF-1.4 small".to_vec(),
        },
        OutgoingAttachment {
            filename: "../big.zip".into(),
            content_type: "not a type".into(),
            bytes: vec![0; 200_000],
        },
    ];
    let mut mail = reply(ReplyKind::Reply { author_name: "Bob" }, &files);
    mail.max_size = 100_000;
    let built = build_reply(&mail).unwrap();
    assert_eq!(built.omitted_attachments, ["big.zip"]);
    assert!(built.bytes.len() < 100_000);
    let m = read(&built.bytes);
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].filename, "small.pdf");
    assert_eq!(m.attachments[0].content_type, "application/pdf");
    assert_eq!(m.attachments[0].bytes, b"%PDF-1.4 small");
    assert!(
        m.text
            .ends_with("Not attached (too large for mail):\n- big.zip"),
        "{}",
        m.text
    );
    mail.max_size = 1_000_000;
    let m = read(&build_reply(&mail).unwrap().bytes);
    assert_eq!(m.attachments.len(), 2);
    assert_eq!(m.attachments[1].content_type, "application/octet-stream");
    assert_eq!(m.attachments[1].bytes.len(), 200_000);
}

#[test]
fn reply_to_our_own_reply_threads_and_strips() {
    let built = build_reply(&reply(ReplyKind::Reply { author_name: "Bob" }, &[])).unwrap();
    let ours = read(&built.bytes);
    let answer = format!(
        "From: ann@example.com\r\nTo: support+42-abcdefghijklmnop@help.example\r\n\
         Subject: Re: {}\r\nIn-Reply-To: <{}>\r\n\r\nDone, thanks!\r\n\r\n> {}\r\n>\r\n> Please restart the printer.\r\n",
        ours.subject, built.message_id, REPLY_MARKER
    );
    let m = read(answer.as_bytes());
    assert_eq!(m.reply_text(), "Done, thanks!");
    assert_eq!(
        thread_candidates(&m.in_reply_to, &m.references),
        [built.message_id]
    );
    assert_eq!(clean_subject(&m.subject), "Printer on fire");
}
