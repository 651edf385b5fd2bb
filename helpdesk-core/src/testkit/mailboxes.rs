//! Mailboxes: who reads and writes them, their input checks (problems at their JSON
//! paths), unique addresses, one default, PATCH replacing the parts whole while keeping
//! left-out secrets, the `raw` secret's rotation with a day of grace, the IMAP state's
//! own write, and an archive round trip (secrets included).

use std::sync::Arc;

use chrono::Duration;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{World, expect_err};
use crate::Error;
use crate::canned_reply::NewCannedReply;
use crate::group::NewGroup;
use crate::mailbox::*;
use crate::ownership::ItemScope;
use crate::principal::Principal;
use crate::store::Store;

fn imap() -> Value {
    json!({"kind": "imap", "host": "imap.example.com", "username": "support",
        "password": "imap-pw"})
}

fn new(address: &str, inbound: Value) -> NewMailbox {
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

fn field_of<T: std::fmt::Debug>(r: crate::Result<T>) -> String {
    match r {
        Err(Error::Validation(f)) => f[0].field.clone(),
        Err(Error::UnknownField(f)) => format!("unknown:{f}"),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn imap_of(m: &Mailbox) -> &Imap {
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

/// PATCH replaces `inbound`, `outbound` and `auto_reply` whole; a left-out secret is
/// kept while the kind stays and required when it changes; a change to a `raw` webhook
/// makes a secret, a change away drops it.
pub async fn mailbox_patch_replaces_parts_and_keeps_secrets(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let admin = w.admin().await;
    let m = w
        .hd
        .create_mailbox(
            &admin.p,
            NewMailbox {
                outbound: Some(json!({"kind": "smtp", "url": "smtp://mail.example.com", "password": "smtp-pw"})),
                auto_reply: Some(json!({"enabled": true})),
                ..new("support@example.com", imap())
            },
        )
        .await
        .unwrap()
        .mailbox;
    w.tick();
    // The IMAP password is kept, the rest replaced (folder back to its default).
    let patch = MailboxPatch {
        name: Some("Help desk".into()),
        inbound: Some(
            json!({"kind": "imap", "host": "imap2.example.com", "username": "help", "port": 143, "tls": "starttls"}),
        ),
        outbound: Some(json!({"kind": "smtp", "url": "smtps://mail.example.com"})),
        auto_reply: Some(json!({})),
        ..Default::default()
    };
    let saved = w.hd.update_mailbox(&admin.p, m.id, patch).await.unwrap();
    assert_eq!(saved.new_secret, None);
    let p = saved.mailbox;
    assert_eq!(p.name, "Help desk");
    let i = imap_of(&p);
    assert_eq!(
        (i.host.as_str(), i.port, i.tls, i.username.as_str()),
        ("imap2.example.com", 143, ImapTls::StartTls, "help")
    );
    assert_eq!(i.password, "imap-pw");
    assert_eq!(
        p.outbound,
        Outbound::Smtp {
            url: "smtps://mail.example.com".into(),
            password: Some("smtp-pw".into())
        }
    );
    assert_eq!(p.auto_reply, AutoReply::default(), "replaced whole");
    assert!(p.updated_at > m.updated_at);
    assert_eq!(store.get_mailbox(m.id).await.unwrap().unwrap(), p);

    // A kind change needs its secret.
    let to_mailgun = MailboxPatch {
        inbound: Some(json!({"kind": "webhook", "provider": "mailgun"})),
        ..Default::default()
    };
    assert_eq!(
        field_of(w.hd.update_mailbox(&admin.p, m.id, to_mailgun).await),
        "inbound.signing_key"
    );
    let mut back_to_imap = imap();
    back_to_imap.as_object_mut().unwrap().remove("password");
    w.hd.update_mailbox(
        &admin.p,
        m.id,
        MailboxPatch {
            inbound: Some(json!({"kind": "pipe"})),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        field_of(
            w.hd.update_mailbox(
                &admin.p,
                m.id,
                MailboxPatch {
                    inbound: Some(back_to_imap),
                    ..Default::default()
                }
            )
            .await
        ),
        "inbound.password"
    );
    // To raw: a secret, shown once; kept over other changes; dropped leaving raw.
    let to_raw = MailboxPatch {
        inbound: Some(json!({"kind": "webhook", "provider": "raw"})),
        ..Default::default()
    };
    let raw =
        w.hd.update_mailbox(&admin.p, m.id, to_raw.clone())
            .await
            .unwrap();
    let secret = raw.new_secret.expect("a new raw secret");
    assert_eq!(raw.mailbox.secret.as_deref(), Some(secret.as_str()));
    let again = w.hd.update_mailbox(&admin.p, m.id, to_raw).await.unwrap();
    assert_eq!(again.new_secret, None);
    assert_eq!(again.mailbox.secret.as_deref(), Some(secret.as_str()));
    let mailgun = MailboxPatch {
        inbound: Some(json!({"kind": "webhook", "provider": "mailgun", "signing_key": "mg-key"})),
        ..Default::default()
    };
    let mg =
        w.hd.update_mailbox(&admin.p, m.id, mailgun)
            .await
            .unwrap()
            .mailbox;
    assert_eq!(mg.secret, None);
    // Mailgun's key is kept while Mailgun stays.
    let keep = MailboxPatch {
        inbound: Some(json!({"kind": "webhook", "provider": "mailgun"})),
        ..Default::default()
    };
    let kept =
        w.hd.update_mailbox(&admin.p, m.id, keep)
            .await
            .unwrap()
            .mailbox;
    assert_eq!(
        kept.inbound,
        Inbound::Webhook {
            provider: WebhookProvider::Mailgun,
            signing_key: Some("mg-key".into())
        }
    );
    // The SMTP password is cleared by null.
    let cleared =
        w.hd.update_mailbox(
            &admin.p,
            m.id,
            MailboxPatch {
                outbound: Some(
                    json!({"kind": "smtp", "url": "smtp://mail.example.com", "password": null}),
                ),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .mailbox;
    assert_eq!(
        cleared.outbound,
        Outbound::Smtp {
            url: "smtp://mail.example.com".into(),
            password: None
        }
    );
}

/// A `raw` mailbox's secret rotates; the old one verifies for 24 hours by the clock.
/// Other mailboxes have none to rotate.
pub async fn raw_secret_rotates_with_a_day_of_grace(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let admin = w.admin().await;
    let saved =
        w.hd.create_mailbox(
            &admin.p,
            new(
                "hook@example.com",
                json!({"kind": "webhook", "provider": "raw"}),
            ),
        )
        .await
        .unwrap();
    let first = saved.new_secret.expect("a raw secret");
    assert!(first.starts_with("whsec_"));
    let id = saved.mailbox.id;
    let m = store.get_mailbox(id).await.unwrap().unwrap();
    assert!(w.hd.verify_mailbox_secret(&m, &first));
    assert!(!w.hd.verify_mailbox_secret(&m, "whsec_AAAA"));

    let second = w.hd.rotate_mailbox_secret(&admin.p, id).await.unwrap();
    assert_ne!(second, first);
    let m = store.get_mailbox(id).await.unwrap().unwrap();
    assert_eq!(m.secret.as_deref(), Some(second.as_str()));
    assert!(w.hd.verify_mailbox_secret(&m, &first));
    assert!(w.hd.verify_mailbox_secret(&m, &second));
    w.advance(Duration::hours(23) + Duration::minutes(59));
    assert!(w.hd.verify_mailbox_secret(&m, &first));
    w.advance(Duration::minutes(1));
    assert!(!w.hd.verify_mailbox_secret(&m, &first), "the grace is over");
    assert!(w.hd.verify_mailbox_secret(&m, &second));

    let pipe =
        w.hd.create_mailbox(&admin.p, new("pipe@example.com", json!({"kind": "pipe"})))
            .await
            .unwrap()
            .mailbox;
    expect_err!(
        w.hd.rotate_mailbox_secret(&admin.p, pipe.id).await,
        Error::Conflict(_)
    );
    expect_err!(
        w.hd.rotate_mailbox_secret(&admin.p, Uuid::now_v7()).await,
        Error::NotFound
    );
}

/// The IMAP state is written on its own: an admin's change (read before) keeps it while
/// the folder stays, and a new folder starts it afresh.
pub async fn imap_state_is_its_own_write(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let admin = w.admin().await;
    let m =
        w.hd.create_mailbox(&admin.p, new("imap@example.com", imap()))
            .await
            .unwrap()
            .mailbox;
    let state = ImapState {
        uidvalidity: Some(42),
        last_uid: Some(17),
        last_poll_at: Some(w.hd.now()),
        last_error: Some("timed out".into()),
    };
    assert!(
        w.hd.save_imap_state(&Principal::system(), m.id, &state)
            .await
            .unwrap()
    );
    assert_eq!(
        imap_of(&store.get_mailbox(m.id).await.unwrap().unwrap()).state,
        state
    );
    let agent = w.agent().await;
    expect_err!(
        w.hd.save_imap_state(&agent.p, m.id, &state).await,
        Error::Forbidden(_)
    );
    // A whole-record write of the stale record keeps the poller's state.
    store
        .update_mailbox(&Mailbox {
            name: "Renamed".into(),
            ..m.clone()
        })
        .await
        .unwrap();
    let now = store.get_mailbox(m.id).await.unwrap().unwrap();
    assert_eq!(now.name, "Renamed");
    assert_eq!(imap_of(&now).state, state);
    // So does a PATCH of the same folder; another folder starts afresh.
    let same = w
        .hd
        .update_mailbox(
            &admin.p,
            m.id,
            MailboxPatch {
                inbound: Some(json!({"kind": "imap", "host": "imap.example.com", "username": "support", "poll_interval": 30})),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .mailbox;
    assert_eq!(imap_of(&same).state, state);
    assert_eq!(imap_of(&same).poll_interval, 30);
    let moved = w
        .hd
        .update_mailbox(
            &admin.p,
            m.id,
            MailboxPatch {
                inbound: Some(json!({"kind": "imap", "host": "imap.example.com", "username": "support", "folder": "Support"})),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .mailbox;
    assert_eq!(imap_of(&moved).state, ImapState::default());
    // Not IMAP any more: nothing written.
    w.hd.update_mailbox(
        &admin.p,
        m.id,
        MailboxPatch {
            inbound: Some(json!({"kind": "smtp"})),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        !w.hd
            .save_imap_state(&Principal::system(), m.id, &state)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_mailbox(m.id).await.unwrap().unwrap().inbound,
        Inbound::Smtp
    );
    expect_err!(
        w.hd.save_imap_state(&Principal::system(), Uuid::now_v7(), &state)
            .await,
        Error::NotFound
    );
}

/// Mailboxes survive an export and import unchanged, secrets and state included, and
/// keep their rules (unique address, one default) in the importing store.
pub async fn mailboxes_survive_an_archive_round_trip(store: Arc<dyn Store>) {
    let source = World::new(crate::testkit::memory());
    let admin = source.admin().await;
    let raw = source
        .hd
        .create_mailbox(
            &admin.p,
            NewMailbox {
                is_default: Some(true),
                outbound: Some(
                    json!({"kind": "smtp", "url": "smtp://u@mail.example.com", "password": "pw"}),
                ),
                ..new(
                    "hook@example.com",
                    json!({"kind": "webhook", "provider": "raw"}),
                )
            },
        )
        .await
        .unwrap()
        .mailbox;
    source
        .hd
        .rotate_mailbox_secret(&admin.p, raw.id)
        .await
        .unwrap();
    let raw = source.store.get_mailbox(raw.id).await.unwrap().unwrap();
    let polled = source
        .hd
        .create_mailbox(&admin.p, new("imap@example.com", imap()))
        .await
        .unwrap()
        .mailbox;
    let state = ImapState {
        uidvalidity: Some(1),
        last_uid: Some(2),
        last_poll_at: Some(source.hd.now()),
        last_error: None,
    };
    source
        .hd
        .save_imap_state(&Principal::system(), polled.id, &state)
        .await
        .unwrap();
    let polled = source.store.get_mailbox(polled.id).await.unwrap().unwrap();

    let mut archive = Vec::new();
    source
        .hd
        .export_archive(&Principal::system(), &mut archive, &|_| {})
        .await
        .unwrap();
    let target = World::new(store.clone());
    target
        .hd
        .import_archive(&Principal::system(), &archive[..], &|_| {})
        .await
        .unwrap();
    assert_eq!(store.get_mailbox(raw.id).await.unwrap(), Some(raw.clone()));
    assert_eq!(store.get_mailbox(polled.id).await.unwrap(), Some(polled));
    let mut again = Vec::new();
    target
        .hd
        .export_archive(&Principal::system(), &mut again, &|_| {})
        .await
        .unwrap();
    assert_eq!(archive, again);
    // The imported secrets verify, and the rules hold over imported records.
    let m = store.get_mailbox(raw.id).await.unwrap().unwrap();
    let old = raw.previous_secret.clone().unwrap().secret;
    assert!(target.hd.verify_mailbox_secret(&m, &old));
    // The imported admin acts in the target.
    expect_err!(
        target
            .hd
            .create_mailbox(&admin.p, new("Hook@example.com", json!({"kind": "pipe"})))
            .await,
        Error::AddressTaken
    );
    target
        .hd
        .create_mailbox(
            &admin.p,
            NewMailbox {
                is_default: Some(true),
                ..new("new@example.com", json!({"kind": "pipe"}))
            },
        )
        .await
        .unwrap();
    assert!(!store.get_mailbox(raw.id).await.unwrap().unwrap().is_default);
}
