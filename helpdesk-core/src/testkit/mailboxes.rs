//! Mailboxes: who reads and writes them, their input checks (problems at their JSON
//! paths), unique addresses and one default. Their secrets, the IMAP state and the
//! archive are in [`super::mailbox_secrets`].

use std::sync::Arc;

use serde_json::{Value, json};
use uuid::Uuid;

use super::{World, expect_err};
use crate::Error;
use crate::canned_reply::NewCannedReply;
use crate::group::NewGroup;
use crate::mailbox::*;
use crate::ownership::ItemScope;
use crate::store::Store;

pub(crate) fn imap() -> Value {
    json!({"kind": "imap", "host": "imap.example.com", "username": "support",
        "password": "imap-pw"})
}

pub(crate) fn new(address: &str, inbound: Value) -> NewMailbox {
    NewMailbox {
        address: address.into(),
        name: "Support".into(),
        group_id: None,
        is_default: None,
        inbound,
        outbound: None,
        auto_reply: None,
    }
}

pub(crate) fn field_of<T: std::fmt::Debug>(r: crate::Result<T>) -> String {
    match r {
        Err(Error::Validation(f)) => f[0].field.clone(),
        Err(Error::UnknownField(f)) => format!("unknown:{f}"),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

pub(crate) fn imap_of(m: &Mailbox) -> &Imap {
    match &m.inbound {
        Inbound::Imap(i) => i,
        other => panic!("expected IMAP, got {other:?}"),
    }
}

/// Admins write mailboxes; staff read them; customers do neither.
pub async fn mailbox_crud_and_rights(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let admin = w.admin().await;
    let agent = w.agent().await;
    let customer = w.customer().await;

    let saved =
        w.hd.create_mailbox(&admin.p, new(" Support@Example.com ", imap()))
            .await
            .unwrap();
    assert_eq!(saved.new_secret, None, "IMAP has no secret");
    let m = saved.mailbox;
    assert_eq!(m.address, "support@example.com");
    assert_eq!(m.name, "Support");
    assert!(!m.is_default);
    assert_eq!(m.outbound, Outbound::None);
    assert_eq!(m.auto_reply, AutoReply::default());
    let i = imap_of(&m);
    assert_eq!(
        (i.port, i.tls, i.folder.as_str(), &i.after, i.poll_interval),
        (993, ImapTls::Implicit, "INBOX", &After::Seen, 60)
    );
    assert_eq!(i.password, "imap-pw");
    assert_eq!(m.created_at, m.updated_at);

    assert_eq!(w.hd.get_mailbox(&agent.p, m.id).await.unwrap(), m);
    assert_eq!(
        w.hd.list_mailboxes(&agent.p).await.unwrap(),
        vec![m.clone()]
    );
    expect_err!(
        w.hd.get_mailbox(&customer.p, m.id).await,
        Error::Forbidden(_)
    );
    expect_err!(w.hd.list_mailboxes(&customer.p).await, Error::Forbidden(_));
    for who in [&agent, &customer] {
        expect_err!(
            w.hd.create_mailbox(&who.p, new("x@example.com", imap()))
                .await,
            Error::Forbidden(_)
        );
        expect_err!(
            w.hd.update_mailbox(&who.p, m.id, MailboxPatch::default())
                .await,
            Error::Forbidden(_)
        );
        expect_err!(w.hd.delete_mailbox(&who.p, m.id).await, Error::Forbidden(_));
        expect_err!(
            w.hd.rotate_mailbox_secret(&who.p, m.id).await,
            Error::Forbidden(_)
        );
    }
    let nowhere = Uuid::now_v7();
    expect_err!(w.hd.get_mailbox(&agent.p, nowhere).await, Error::NotFound);
    expect_err!(
        w.hd.update_mailbox(&admin.p, nowhere, MailboxPatch::default())
            .await,
        Error::NotFound
    );
    expect_err!(
        w.hd.delete_mailbox(&admin.p, nowhere).await,
        Error::NotFound
    );

    // Listed by address.
    let b =
        w.hd.create_mailbox(
            &admin.p,
            new("billing@example.com", json!({"kind": "pipe"})),
        )
        .await
        .unwrap()
        .mailbox;
    let listed: Vec<String> =
        w.hd.list_mailboxes(&agent.p)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.address)
            .collect();
    assert_eq!(listed, vec!["billing@example.com", "support@example.com"]);
    assert_eq!(
        store
            .get_mailbox_by_address("billing@example.com")
            .await
            .unwrap(),
        Some(b.clone())
    );

    w.hd.delete_mailbox(&admin.p, m.id).await.unwrap();
    expect_err!(w.hd.get_mailbox(&admin.p, m.id).await, Error::NotFound);
    expect_err!(w.hd.delete_mailbox(&admin.p, m.id).await, Error::NotFound);
    assert_eq!(w.hd.list_mailboxes(&admin.p).await.unwrap(), vec![b]);
}

/// Every problem of the input is named at its JSON path; nothing is stored.
pub async fn mailbox_input_problems_at_their_fields(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let admin = w.admin().await;
    let bad = |f: &dyn Fn(&mut NewMailbox)| {
        let mut n = new("support@example.com", imap());
        f(&mut n);
        n
    };
    let with_imap = |k: &str, v: Value| {
        let mut i = imap();
        i[k] = v;
        i
    };
    let cases: Vec<(NewMailbox, &str)> = vec![
        (
            bad(&|n| n.address = "support+x@example.com".into()),
            "address",
        ),
        (bad(&|n| n.address = "nope".into()), "address"),
        (bad(&|n| n.name = " ".into()), "name"),
        (bad(&|n| n.name = "x".repeat(101)), "name"),
        (bad(&|n| n.group_id = Some(Uuid::now_v7())), "group_id"),
        (bad(&|n| n.inbound = json!({"kind": "fax"})), "inbound.kind"),
        (
            bad(&|n| n.inbound = with_imap("after", json!("move"))),
            "inbound.move_to",
        ),
        (
            bad(&|n| n.inbound = with_imap("poll_interval", json!(0))),
            "inbound.poll_interval",
        ),
        (
            bad(&|n| n.inbound = with_imap("port", json!(0))),
            "inbound.port",
        ),
        (
            bad(&|n| {
                let mut i = imap();
                i.as_object_mut().unwrap().remove("password");
                n.inbound = i;
            }),
            "inbound.password",
        ),
        (
            bad(&|n| n.inbound = json!({"kind": "webhook", "provider": "mailgun"})),
            "inbound.signing_key",
        ),
        (
            bad(&|n| n.inbound = with_imap("state", json!({}))),
            "unknown:inbound.state",
        ),
        (
            bad(&|n| {
                n.outbound = Some(json!({"kind": "smtp", "url": "smtp://u:pw@mail.example.com"}))
            }),
            "outbound.url",
        ),
        (
            bad(&|n| n.outbound = Some(json!({"kind": "smtp", "url": "ftp://x"}))),
            "outbound.url",
        ),
        (
            bad(&|n| n.outbound = Some(json!({"kind": "pigeon"}))),
            "outbound.kind",
        ),
        (
            bad(&|n| {
                n.auto_reply = Some(json!({"enabled": true, "canned_reply_id": Uuid::now_v7()}))
            }),
            "auto_reply.canned_reply_id",
        ),
    ];
    for (input, field) in cases {
        assert_eq!(
            field_of(w.hd.create_mailbox(&admin.p, input).await),
            field,
            "{field}"
        );
    }
    assert!(w.hd.list_mailboxes(&admin.p).await.unwrap().is_empty());

    // What exists is accepted.
    let group =
        w.hd.create_group(
            &admin.p,
            NewGroup {
                name: "Billing".into(),
                description: None,
                is_default: false,
            },
        )
        .await
        .unwrap();
    let reply =
        w.hd.create_canned_reply(
            &admin.p,
            NewCannedReply {
                title: "Thanks".into(),
                shortcut: "thanks".into(),
                body: "We got your mail.".into(),
                scope: ItemScope::Global,
                group_id: None,
            },
        )
        .await
        .unwrap();
    let m =
        w.hd.create_mailbox(
            &admin.p,
            NewMailbox {
                group_id: Some(group.id),
                outbound: Some(json!({"kind": "smtp",
                    "url": "smtp://support@mail.example.com:587?tls=required",
                    "password": "smtp-pw"})),
                auto_reply: Some(json!({"enabled": true, "canned_reply_id": reply.id})),
                ..new(
                    "support@example.com",
                    with_imap("after", json!("move"))
                        .as_object()
                        .map(|o| {
                            let mut o = o.clone();
                            o.insert("move_to".into(), json!("Done"));
                            Value::Object(o)
                        })
                        .unwrap(),
                )
            },
        )
        .await
        .unwrap()
        .mailbox;
    assert_eq!(m.group_id, Some(group.id));
    assert_eq!(
        m.auto_reply,
        AutoReply {
            enabled: true,
            canned_reply_id: Some(reply.id)
        }
    );
    assert_eq!(
        imap_of(&m).after,
        After::Move {
            move_to: "Done".into()
        }
    );
    assert_eq!(
        m.outbound,
        Outbound::Smtp {
            url: "smtp://support@mail.example.com:587?tls=required".into(),
            password: Some("smtp-pw".into())
        }
    );
    assert_eq!(store.get_mailbox(m.id).await.unwrap(), Some(m));
}

/// Addresses are unique whatever their case, on create and on change.
pub async fn mailbox_address_unique_case_insensitively(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let a =
        w.hd.create_mailbox(&admin.p, new("help@example.com", json!({"kind": "smtp"})))
            .await
            .unwrap()
            .mailbox;
    expect_err!(
        w.hd.create_mailbox(&admin.p, new("HELP@Example.com", json!({"kind": "pipe"})))
            .await,
        Error::AddressTaken
    );
    let b =
        w.hd.create_mailbox(&admin.p, new("sales@example.com", json!({"kind": "pipe"})))
            .await
            .unwrap()
            .mailbox;
    let to_help = MailboxPatch {
        address: Some("Help@EXAMPLE.com".into()),
        ..Default::default()
    };
    expect_err!(
        w.hd.update_mailbox(&admin.p, b.id, to_help.clone()).await,
        Error::AddressTaken
    );
    // Its own address again is no conflict.
    let same = w.hd.update_mailbox(&admin.p, a.id, to_help).await.unwrap();
    assert_eq!(same.mailbox, a);
    // Freed by a delete, it can be taken.
    w.hd.delete_mailbox(&admin.p, a.id).await.unwrap();
    w.hd.create_mailbox(&admin.p, new("help@example.com", json!({"kind": "pipe"})))
        .await
        .unwrap();
}

/// One mailbox at most is the default: setting it clears the others.
pub async fn one_default_mailbox(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let admin = w.admin().await;
    let mk = |addr: &'static str| NewMailbox {
        is_default: Some(true),
        ..new(addr, json!({"kind": "smtp"}))
    };
    let a =
        w.hd.create_mailbox(&admin.p, mk("a@example.com"))
            .await
            .unwrap()
            .mailbox;
    assert!(a.is_default);
    let b =
        w.hd.create_mailbox(&admin.p, mk("b@example.com"))
            .await
            .unwrap()
            .mailbox;
    let defaults = |all: Vec<Mailbox>| -> Vec<String> {
        all.into_iter()
            .filter(|m| m.is_default)
            .map(|m| m.address)
            .collect()
    };
    assert_eq!(
        defaults(store.list_mailboxes().await.unwrap()),
        vec!["b@example.com"]
    );
    let set = MailboxPatch {
        is_default: Some(true),
        ..Default::default()
    };
    w.tick();
    w.hd.update_mailbox(&admin.p, a.id, set).await.unwrap();
    assert_eq!(
        defaults(store.list_mailboxes().await.unwrap()),
        vec!["a@example.com"]
    );
    let unset = MailboxPatch {
        is_default: Some(false),
        ..Default::default()
    };
    w.hd.update_mailbox(&admin.p, a.id, unset).await.unwrap();
    assert!(defaults(store.list_mailboxes().await.unwrap()).is_empty());
    assert!(!store.get_mailbox(b.id).await.unwrap().unwrap().is_default);
}
