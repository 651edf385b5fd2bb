//! The mail corpus (`tests/fixtures/mail/*.eml`, written for these tests) parsed end to
//! end: body text, quote-stripped reply text, attachments, classification, bounces.

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        parse(
            include_bytes!(concat!("../../tests/fixtures/mail/", $name)),
            ParseLimits::default(),
        )
        .expect($name)
    };
}

#[test]
fn gmail_reply() {
    let m = fixture!("gmail_reply.eml");
    assert_eq!(
        m.message_id.as_deref(),
        Some("caf3u9xv+qzl=8vq@mail.gmail.com")
    );
    let from = m.from.as_ref().unwrap();
    assert_eq!(from.address, "ann.customer@gmail.com");
    assert_eq!(from.name.as_deref(), Some("Ann Customer"));
    assert_eq!(m.subject, "Re: [#42] Printer on fire");
    assert_eq!(subject_ticket_number(&m.subject), Some(42));
    assert_eq!(clean_subject(&m.subject), "Printer on fire");
    assert_eq!(
        m.in_reply_to,
        ["0190aa00-1111-7000-8000-000000000001@help.example"]
    );
    assert_eq!(m.delivered_to, ["support@help.example"]);
    assert!(!m.text_from_html);
    assert!(
        m.text
            .starts_with("Thanks, it works again after the restart.")
    );
    assert!(m.text.contains("> Please restart the printer."));
    assert_eq!(
        m.reply_text(),
        "Thanks, it works again after the restart.\n\nAnn"
    );
    let tokens = m.reply_tokens(&["support+7-qrstuvwxyz234567@help.example".to_string()]);
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[0].number, 7);
    assert_eq!(tokens[1].number, 42);
    assert_eq!(tokens[1].mac, "abcdefghijklmnop");
    let thread = ThreadRef::from_mail(&m).unwrap();
    assert_eq!(thread.message_id, "caf3u9xv+qzl=8vq@mail.gmail.com");
    assert_eq!(thread.references, m.references);
    assert!(!is_automatic(&m));
    assert!(m.attachments.is_empty());
    assert!(m.date.is_some());
    assert_eq!(
        m.size,
        include_bytes!("../../tests/fixtures/mail/gmail_reply.eml").len()
    );
    assert!(m.report.is_none());
}

#[test]
fn outlook_reply_text_and_html() {
    let m = fixture!("outlook_reply.eml");
    assert_eq!(m.cc[0].address, "dana@contoso.com");
    assert_eq!(m.cc[0].name.as_deref(), Some("Dana Doe"));
    assert_eq!(
        m.reply_text(),
        "Hi,\n\nthe VPN works now, thank you.\n\nCarl"
    );
    assert!(!m.text.contains('\r'));
    // The HTML alone, as a client without a text part would send it.
    let html = m.html.as_deref().unwrap();
    let text = html::html_to_text(html, &Default::default(), true);
    assert_eq!(text, "Hi,\nthe VPN works now, thank you.\nCarl");
    assert!(!text.contains("enabled"));
    assert!(!text.contains("p{margin"));
}

#[test]
fn outlook_classic_original_message() {
    let m = fixture!("outlook_classic.eml");
    assert_eq!(clean_subject(&m.subject), "Invoice copy");
    assert_eq!(subject_ticket_number(&m.subject), Some(12));
    assert_eq!(m.reply_text(), "Please send it to accounting as well.");
    assert!(m.text.contains("Here is your invoice."));
}

#[test]
fn apple_mail_reply() {
    let m = fixture!("apple_reply.eml");
    assert_eq!(m.reply_text(), "Got it, I can log in now.");
    assert_eq!(
        thread_candidates(&m.in_reply_to, &m.references),
        [
            "0190aa00-3333-7000-8000-000000000009@help.example",
            "a1@icloud.com"
        ]
    );
    let html = m.html.as_deref().unwrap();
    assert_eq!(
        html::html_to_text(html, &Default::default(), true),
        "Got it, I can log in now."
    );
}

#[test]
fn html_only_mail() {
    let m = fixture!("html_only.eml");
    assert!(m.text_from_html);
    assert!(m.text.starts_with("Where is my order?"), "{}", m.text);
    assert!(
        m.text.contains("https://shop.example/orders/15"),
        "{}",
        m.text
    );
    assert!(m.text.contains("We shipped it."));
    assert!(!m.text.contains("alert"));
    let reply = m.reply_text();
    assert!(!reply.contains("We shipped it."), "{reply}");
    assert!(reply.starts_with("Where is my order?"));
}

#[test]
fn text_then_inline_image_then_text() {
    let raw = "From: a@example.com\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n\
        --m\r\nContent-Type: text/plain\r\n\r\nBefore the picture.\r\n\
        --m\r\nContent-Type: image/jpeg; name=photo.jpg\r\nContent-Disposition: inline; filename=photo.jpg\r\n\
        Content-Transfer-Encoding: base64\r\n\r\n/9j/4AAQ\r\n\
        --m\r\nContent-Type: text/plain\r\n\r\nAfter the picture.\r\n--m--\r\n";
    let m = parse(raw.as_bytes(), ParseLimits::default()).unwrap();
    assert_eq!(
        m.text,
        "Before the picture.\n[image: photo.jpg]\nAfter the picture."
    );
    assert_eq!(m.attachments.len(), 1);
    assert!(m.attachments[0].inline);
}

#[test]
fn winmail_dat_is_kept_and_empty_parts_skipped() {
    let m = fixture!("winmail.eml");
    assert_eq!(m.text, "Please find the draft attached.");
    assert_eq!(m.attachments.len(), 1);
    let a = &m.attachments[0];
    assert_eq!(a.filename, "winmail.dat");
    assert_eq!(a.content_type, "application/ms-tnef");
    assert_eq!(a.bytes.len(), 209);
    assert!(!a.inline);
    assert_eq!(m.dropped_attachments, 0);
}

#[test]
fn inline_cid_image() {
    let m = fixture!("inline_cid.eml");
    assert!(m.text_from_html);
    assert_eq!(
        m.text,
        "The error looks like this:\n\n[image: error screen.png]\n\nAny idea?"
    );
    let a = &m.attachments[0];
    assert_eq!(a.filename, "error screen.png");
    assert_eq!(a.content_type, "image/png");
    assert!(a.inline);
    assert_eq!(a.content_id.as_deref(), Some("ii_lt1xyz@example.net"));
    assert!(a.bytes.starts_with(b"\x89PNG"));
}

#[test]
fn encoded_headers_and_8bit_body() {
    let m = fixture!("encoded_headers.eml");
    assert_eq!(
        m.from.as_ref().unwrap().name.as_deref(),
        Some("Jürgen Müller")
    );
    assert_eq!(m.to[0].name.as_deref(), Some("Support Köln"));
    assert_eq!(m.subject, "Grüße aus Köln — Drucker 🖨");
    assert_eq!(m.text, "Der Drucker in Köln druckt nur noch Grüße.");
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].filename, "Prüfbericht.txt");
    assert_eq!(m.attachments[0].content_type, "text/plain");
    assert_eq!(
        String::from_utf8(m.attachments[0].bytes.clone())
            .unwrap()
            .trim(),
        "Prüfbericht: alles grün."
    );
}

#[test]
fn delivery_status_notification() {
    let m = fixture!("dsn.eml");
    let report = m.report.as_ref().unwrap();
    assert_eq!(
        report.original_message_id.as_deref(),
        Some("0190aa00-4444-7000-8000-000000000042@help.example")
    );
    assert_eq!(report.recipients.len(), 2);
    let failed = &report.recipients[0];
    assert_eq!(failed.address, "nobody@example.com");
    assert_eq!(failed.action, DeliveryAction::Failed);
    assert_eq!(failed.status.unwrap().to_string(), "5.1.1");
    assert!(failed.is_permanent_failure());
    assert_eq!(
        failed.note(),
        "Delivery to nobody@example.com failed: 5.1.1 550 5.1.1 <nobody@example.com>: \
         Recipient address rejected: User unknown"
    );
    let delayed = &report.recipients[1];
    assert_eq!(delayed.action, DeliveryAction::Delayed);
    assert!(!delayed.is_permanent_failure());
    assert_eq!(delayed.address, "slow@example.org");
    // From MAILER-DAEMON, but a report: flagged automatic through Auto-Submitted and
    // the null Return-Path, never answered.
    assert!(is_automatic(&m));
}

#[test]
fn dsn_with_attached_original_message() {
    let raw = "From: postmaster@mx.example\r\nTo: support@help.example\r\nSubject: failure\r\n\
        Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n\
        --b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n\
        --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n\
        Final-Recipient: rfc822; x@y.example\r\nAction: failed\r\nStatus: 5.2.2\r\n\r\n\
        --b\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <Orig@Help.Example>\r\nSubject: s\r\n\r\nbody\r\n\
        --b--\r\n";
    let m = parse(raw.as_bytes(), ParseLimits::default()).unwrap();
    let report = m.report.unwrap();
    assert_eq!(
        report.original_message_id.as_deref(),
        Some("orig@help.example")
    );
    assert_eq!(report.recipients[0].status.unwrap().to_string(), "5.2.2");
    assert_eq!(report.recipients[0].diagnostic, None);
}

#[test]
fn out_of_office_and_mailing_list_are_automatic() {
    let ooo = fixture!("out_of_office.eml");
    assert!(is_automatic(&ooo));
    assert_eq!(ooo.text, "I am out of the office until Monday.");
    let list = fixture!("mailing_list.eml");
    assert!(is_automatic(&list));
    assert!(!is_automatic(&fixture!("apple_reply.eml")));
}

#[test]
fn malformed_mime_keeps_what_it_can() {
    let m = fixture!("malformed.eml");
    assert_eq!(m.text, "The text survives.");
    assert_eq!(m.subject, "Broken mail");
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].filename, "report.pdf");
    assert!(m.attachments[0].bytes.starts_with(b"%PDF-1.4"));
}

#[test]
fn attached_message_becomes_eml() {
    let m = fixture!("attached_message.eml");
    assert_eq!(m.text, "See the attached mail.");
    assert_eq!(m.attachments.len(), 1);
    let a = &m.attachments[0];
    assert_eq!(a.filename, "You won: a prize really?.eml");
    assert_eq!(a.content_type, "message/rfc822");
    assert!(String::from_utf8_lossy(&a.bytes).contains("Send money."));
}

#[test]
fn not_a_mail() {
    for raw in [
        &b""[..],
        b"   \r\n",
        b"\x00\x01\x02 binary",
        b"just some words\n",
    ] {
        assert!(
            matches!(
                parse(raw, ParseLimits::default()),
                Err(MailError::NotAMail(_))
            ),
            "{raw:?}"
        );
    }
}

#[test]
fn no_sender_and_no_message_id() {
    let raw = b"To: support@help.example\r\nSubject: anonymous\r\n\r\nhi\r\n";
    let m = parse(raw, ParseLimits::default()).unwrap();
    assert!(m.from.is_none());
    assert!(m.message_id.is_none());
    assert_eq!(m.sha256_hex().len(), 64);
    let again = parse(raw, ParseLimits::default()).unwrap();
    assert_eq!(m.sha256, again.sha256);
}

#[test]
fn huge_references_header() {
    let refs: String = (0..8000)
        .map(|i| format!(" <ref-{i:05}@example.com>\r\n"))
        .collect();
    assert!(refs.len() > 200_000);
    let raw = format!(
        "From: a@example.com\r\nSubject: long thread\r\nMessage-ID: <m@example.com>\r\n\
         References:{refs}In-Reply-To: <ref-07999@example.com>\r\n\r\nbody\r\n"
    );
    let m = parse(raw.as_bytes(), ParseLimits::default()).unwrap();
    assert_eq!(m.references.len(), 8000);
    assert_eq!(m.references[0], "ref-00000@example.com");
    assert_eq!(m.text, "body");
    let candidates = thread_candidates(&m.in_reply_to, &m.references);
    assert_eq!(candidates[0], "ref-07999@example.com");
    assert_eq!(candidates[1], "ref-07998@example.com");
    let next = reply_references(&m.references, &m.in_reply_to, m.message_id.as_deref());
    assert_eq!(next.len(), 10);
    assert_eq!(next[0], "ref-00000@example.com");
    assert_eq!(next[9], "m@example.com");
}

#[test]
fn attachment_bomb_is_capped() {
    let mut raw = String::from(
        "From: a@example.com\r\nSubject: bomb\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n\
         --z\r\nContent-Type: text/plain\r\n\r\nhello\r\n",
    );
    for i in 0..5000 {
        raw.push_str(&format!(
            "--z\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; \
             filename=f{i}.bin\r\n\r\nx{i}\r\n"
        ));
    }
    raw.push_str("--z--\r\n");
    let limits = ParseLimits {
        max_attachments: 20,
        max_attachment_bytes: 1024,
    };
    let m = parse(raw.as_bytes(), limits).unwrap();
    assert_eq!(m.text, "hello");
    assert_eq!(m.attachments.len(), 20);
    assert_eq!(m.dropped_attachments, 4980);
    assert_eq!(m.attachments[19].filename, "f19.bin");
}

#[test]
fn deeply_nested_multipart_and_messages() {
    let depth = 2000;
    let mut raw = String::from("From: a@example.com\r\nSubject: deep\r\n");
    for i in 0..depth {
        raw.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"
        ));
    }
    raw.push_str("Content-Type: text/plain\r\n\r\ninnermost\r\n");
    for i in (0..depth).rev() {
        raw.push_str(&format!("--b{i}--\r\n"));
    }
    let m = parse(raw.as_bytes(), ParseLimits::default()).unwrap();
    assert_eq!(m.text, "innermost");
    let mut nested = String::from("hello");
    for i in 0..50 {
        nested = format!(
            "From: n{i}@example.com\r\nSubject: level {i}\r\nContent-Type: message/rfc822\r\n\r\n{nested}"
        );
    }
    let raw = format!(
        "From: top@example.com\r\nSubject: top\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Type: text/plain\r\n\r\nouter\r\n--q\r\n{nested}\r\n--q--\r\n"
    );
    let m = parse(raw.as_bytes(), ParseLimits::default()).unwrap();
    assert_eq!(m.text, "outer");
}

#[test]
fn size_limit_drops_large_attachments() {
    let big = "A".repeat(76);
    let body: String = std::iter::repeat_n(format!("{big}\r\n"), 2000).collect();
    let raw = format!(
        "From: a@example.com\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n\
         --z\r\nContent-Type: text/plain\r\n\r\nsee files\r\n\
         --z\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=big.pdf\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{body}\
         --z\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=small.pdf\r\n\
         Content-Transfer-Encoding: base64\r\n\r\nQUJD\r\n--z--\r\n"
    );
    let limits = ParseLimits {
        max_attachments: 20,
        max_attachment_bytes: 100_000,
    };
    let m = parse(raw.as_bytes(), limits).unwrap();
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].filename, "small.pdf");
    assert_eq!(m.attachments[0].bytes, b"ABC");
    assert_eq!(m.dropped_attachments, 1);
}

mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            // Unfenced, so that a panic anywhere (ours or mail-parser's) fails the test.
            if let Ok(m) = parse::parse_inner(&bytes, ParseLimits::default()) {
                let _ = m.reply_text();
                let _ = is_automatic(&m);
            }
        }

        #[test]
        fn mail_shaped_input_never_panics(
            ct in prop_oneof![
                Just("multipart/mixed; boundary=b"),
                Just("multipart/alternative; boundary=b"),
                Just("multipart/report; report-type=delivery-status; boundary=b"),
                Just("message/rfc822"),
                Just("text/html"),
            ],
            parts in proptest::collection::vec("[ -~\r\n]{0,200}", 0..6),
        ) {
            let mut raw = format!("From: a@b.c\r\nSubject: x\r\nContent-Type: {ct}\r\n\r\n");
            for p in &parts {
                raw.push_str("--b\r\n");
                raw.push_str(p);
                raw.push_str("\r\n");
            }
            if let Ok(m) = parse::parse_inner(raw.as_bytes(), ParseLimits::default()) {
                let _ = m.reply_text();
                let _ = m.report;
            }
        }
    }
}

#[test]
fn large_mail_parses_quickly() {
    // A 41 MiB mail: a text part and one 30 MiB attachment in base64.
    let line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n";
    let lines = 41 * 1024 * 1024 / line.len();
    let mut raw = String::with_capacity(41 * 1024 * 1024 + 1024);
    raw.push_str(
        "From: a@example.com\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n\
         --z\r\nContent-Type: text/plain\r\n\r\nsee the file\r\n\
         --z\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename=big.zip\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n",
    );
    for _ in 0..lines {
        raw.push_str(line);
    }
    raw.push_str("--z--\r\n");
    let started = std::time::Instant::now();
    let limits = ParseLimits {
        max_attachments: 20,
        max_attachment_bytes: 40 * 1024 * 1024,
    };
    let m = parse(raw.as_bytes(), limits).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(m.size, raw.len());
    assert_eq!(m.text, "see the file");
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].bytes.len(), lines * 54);
    // About 0.4 s in a debug build with mail-parser optimised (the workspace profile).
    assert!(elapsed < std::time::Duration::from_secs(10), "{elapsed:?}");
}

#[test]
fn mbox_envelope_line_is_skipped() {
    let raw = b"From ann@example.com Tue Mar  5 18:13:52 2024\nFrom: Ann <ann@example.com>\nSubject: hi\n\nbody\n";
    let m = parse(raw, ParseLimits::default()).unwrap();
    assert_eq!(m.from.unwrap().address, "ann@example.com");
    assert_eq!(m.subject, "hi");
    assert_eq!(m.size, raw.len());
}
