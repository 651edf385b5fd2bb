//! The pure rules of mailboxes: input paths, URL checks, secrets and rotation.

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::input::*;
use super::*;
use crate::error::Error;

fn field_of<T: std::fmt::Debug>(r: crate::Result<T>) -> String {
    match r {
        Err(Error::Validation(f)) => f[0].field.clone(),
        Err(Error::UnknownField(f)) => format!("unknown:{f}"),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn addresses_are_lower_cased_and_refuse_plus() {
    assert_eq!(
        validate_address("  Support@Example.COM ").unwrap(),
        "support@example.com"
    );
    assert_eq!(field_of(validate_address("a+b@example.com")), "address");
    assert_eq!(field_of(validate_address("not an address")), "address");
    assert_eq!(field_of(validate_address("x@localhost")), "address");
}

#[test]
fn names_are_one_to_a_hundred_characters() {
    assert_eq!(validate_name(" Support ").unwrap(), "Support");
    assert_eq!(field_of(validate_name("")), "name");
    assert_eq!(field_of(validate_name(&"x".repeat(101))), "name");
    assert!(validate_name(&"é".repeat(100)).is_ok());
}

#[test]
fn imap_defaults_and_problems_at_their_paths() {
    let i = parse_inbound(&json!({"kind": "imap", "host": "Mail.Example.com",
        "username": "u", "password": "p"}))
    .unwrap();
    let InboundInput::Imap(imap) = i else {
        panic!("imap expected")
    };
    assert_eq!(imap.host, "mail.example.com");
    assert_eq!(imap.port, 993);
    assert_eq!(imap.tls, ImapTls::Implicit);
    assert_eq!(imap.folder, "INBOX");
    assert_eq!(imap.after, After::Seen);
    assert_eq!(imap.poll_interval, 60);

    let base = json!({"kind": "imap", "host": "h", "username": "u", "password": "p"});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        parse_inbound(&b)
    };
    assert_eq!(field_of(with("after", json!("move"))), "inbound.move_to");
    assert_eq!(field_of(with("move_to", json!("Done"))), "inbound.move_to");
    assert_eq!(
        field_of(with("poll_interval", json!(0))),
        "inbound.poll_interval"
    );
    assert_eq!(
        field_of(with("poll_interval", json!(3601))),
        "inbound.poll_interval"
    );
    assert_eq!(
        field_of(with("poll_interval", json!(2.5))),
        "inbound.poll_interval"
    );
    assert!(with("poll_interval", json!(3600.0)).is_ok());
    assert_eq!(field_of(with("port", json!(70000))), "inbound.port");
    assert_eq!(field_of(with("tls", json!("ssl"))), "inbound.tls");
    assert_eq!(field_of(with("host", json!(""))), "inbound.host");
    assert_eq!(field_of(with("state", json!({}))), "unknown:inbound.state");
    assert_eq!(
        field_of(parse_inbound(&json!({"kind": "imap"}))),
        "inbound.host"
    );
    assert_eq!(
        field_of(parse_inbound(&json!({"kind": "fax"}))),
        "inbound.kind"
    );
    assert_eq!(field_of(parse_inbound(&json!([]))), "inbound");
    let moved = with("after", json!("move"));
    assert!(moved.is_err());
    let mut m = base.clone();
    m["after"] = json!("move");
    m["move_to"] = json!("Archive");
    let InboundInput::Imap(imap) = parse_inbound(&m).unwrap() else {
        panic!("imap expected")
    };
    assert_eq!(
        imap.after,
        After::Move {
            move_to: "Archive".into()
        }
    );
}

#[test]
fn webhook_keys_follow_the_provider() {
    assert_eq!(
        field_of(parse_inbound(
            &json!({"kind": "webhook", "provider": "raw", "signing_key": "k"})
        )),
        "inbound.signing_key"
    );
    let mg = parse_inbound(&json!({"kind": "webhook", "provider": "mailgun"})).unwrap();
    assert_eq!(
        field_of(resolve_inbound(mg.clone(), None)),
        "inbound.signing_key"
    );
    let before = Inbound::Webhook {
        provider: WebhookProvider::Mailgun,
        signing_key: Some("old".into()),
    };
    assert_eq!(resolve_inbound(mg, Some(&before)).unwrap(), before);
    assert_eq!(
        field_of(parse_inbound(&json!({"kind": "smtp", "provider": "raw"}))),
        "unknown:inbound.provider"
    );
}

#[test]
fn an_imap_password_is_kept_while_imap_stays_and_the_cursor_while_the_folder_does() {
    let input = |folder: &str| {
        parse_inbound(&json!({"kind": "imap", "host": "h", "username": "u", "folder": folder}))
            .unwrap()
    };
    assert_eq!(
        field_of(resolve_inbound(input("INBOX"), None)),
        "inbound.password"
    );
    assert_eq!(
        field_of(resolve_inbound(input("INBOX"), Some(&Inbound::Smtp))),
        "inbound.password"
    );
    let InboundInput::Imap(mut old) = input("INBOX") else {
        panic!()
    };
    old.password = "secret".into();
    old.state.last_uid = Some(7);
    let before = Inbound::Imap(old);
    let Inbound::Imap(same) = resolve_inbound(input("INBOX"), Some(&before)).unwrap() else {
        panic!()
    };
    assert_eq!(same.password, "secret");
    assert_eq!(same.state.last_uid, Some(7));
    let Inbound::Imap(other) = resolve_inbound(input("Other"), Some(&before)).unwrap() else {
        panic!()
    };
    assert_eq!(other.password, "secret");
    assert_eq!(other.state, ImapState::default());
}

#[test]
fn smtp_urls_as_lettre_reads_them() {
    for ok in [
        "smtp://mail.example.com",
        "smtp://user@mail.example.com:587?tls=required",
        "smtp://127.0.0.1:2525?tls=opportunistic",
        "smtps://user%40example.com@mail.example.com:465",
    ] {
        assert!(validate_smtp_url(ok).is_ok(), "{ok}");
    }
    for bad in [
        "smtp://user:pw@mail.example.com",
        "http://mail.example.com",
        "smtp://mail.example.com/path",
        "smtp://mail.example.com?tls=maybe",
        "smtps://mail.example.com?tls=required",
        "smtp://mail.example.com?x=1",
        "mail.example.com",
    ] {
        assert!(validate_smtp_url(bad).is_err(), "{bad}");
    }
    assert_eq!(
        field_of(parse_outbound(
            &json!({"kind": "smtp", "url": "smtp://u:p@h"})
        )),
        "outbound.url"
    );
    assert_eq!(
        field_of(parse_outbound(&json!({"kind": "smtp"}))),
        "outbound.url"
    );
    let kept = resolve_outbound(
        parse_outbound(&json!({"kind": "smtp", "url": "smtp://h"})).unwrap(),
        Some(&Outbound::Smtp {
            url: "smtp://old".into(),
            password: Some("pw".into()),
        }),
    );
    assert_eq!(
        kept,
        Outbound::Smtp {
            url: "smtp://h".into(),
            password: Some("pw".into())
        }
    );
    let cleared = resolve_outbound(
        parse_outbound(&json!({"kind": "smtp", "url": "smtp://h", "password": null})).unwrap(),
        Some(&kept),
    );
    assert_eq!(
        cleared,
        Outbound::Smtp {
            url: "smtp://h".into(),
            password: None
        }
    );
}

#[test]
fn auto_reply_defaults_and_types() {
    assert_eq!(parse_auto_reply(&json!({})).unwrap(), AutoReply::default());
    assert_eq!(
        field_of(parse_auto_reply(&json!({"enabled": "yes"}))),
        "auto_reply.enabled"
    );
    assert_eq!(
        field_of(parse_auto_reply(&json!({"canned_reply_id": "nope"}))),
        "auto_reply.canned_reply_id"
    );
    assert_eq!(
        field_of(parse_auto_reply(&json!({"other": 1}))),
        "unknown:auto_reply.other"
    );
}

#[test]
fn secrets_rotate_with_a_day_of_grace() {
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut m = Mailbox {
        id: Uuid::now_v7(),
        address: "a@example.com".into(),
        name: "A".into(),
        group_id: None,
        is_default: false,
        inbound: Inbound::Webhook {
            provider: WebhookProvider::Raw,
            signing_key: None,
        },
        outbound: Outbound::None,
        auto_reply: AutoReply::default(),
        secret: None,
        previous_secret: None,
        created_at: t0,
        updated_at: t0,
    };
    let first = m.settle_secret().expect("a raw webhook gets a secret");
    assert!(first.starts_with("whsec_"));
    assert_eq!(B64.decode(&first["whsec_".len()..]).unwrap().len(), 32);
    assert_eq!(m.settle_secret(), None, "kept while raw");
    assert!(m.secret_matches(&first, t0));
    assert!(!m.secret_matches("whsec_other", t0));
    assert!(m.rotate_secret(t0));
    let second = m.secret.clone().unwrap();
    assert_ne!(first, second);
    assert!(m.secret_matches(&first, t0 + Duration::hours(23)));
    assert!(m.secret_matches(&second, t0 + Duration::hours(23)));
    assert!(!m.secret_matches(&first, t0 + Duration::hours(24)));
    assert!(m.secret_matches(&second, t0 + Duration::hours(48)));
    m.inbound = Inbound::Pipe;
    assert_eq!(m.settle_secret(), None);
    assert_eq!((m.secret.clone(), m.previous_secret.clone()), (None, None));
    assert!(!m.rotate_secret(t0));
    assert!(!m.secret_matches("", t0));
}
