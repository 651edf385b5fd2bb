//! Mailboxes' secrets and state: PATCH replacing the parts whole while keeping left-out
//! secrets, the `raw` secret's rotation with a day of grace, the IMAP state's own write,
//! and an archive round trip (secrets included).

use std::sync::Arc;

use chrono::Duration;
use serde_json::json;
use uuid::Uuid;

use super::mailboxes::{field_of, imap, imap_of, new};
use super::{World, expect_err};
use crate::Error;
use crate::mailbox::*;
use crate::principal::Principal;
use crate::store::Store;

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

/// One IMAP poller at a time: a lease is granted when free, ended or already the
/// holder's, refused while another's runs, released by a zero hold, and of many
/// concurrent takers exactly one wins.
pub async fn imap_lease_has_one_holder(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let admin = w.admin().await;
    let m =
        w.hd.create_mailbox(&admin.p, new("imap@example.com", imap()))
            .await
            .unwrap()
            .mailbox;
    let system = Principal::system();
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let minute = std::time::Duration::from_secs(60);
    let lease = |holder, hold| w.hd.lease_imap_mailbox(&system, m.id, holder, hold);
    assert!(lease(a, minute).await.unwrap(), "free: granted");
    assert!(!lease(b, minute).await.unwrap(), "held by another");
    assert!(lease(a, minute).await.unwrap(), "renewed by its holder");
    w.clock.advance(Duration::seconds(59));
    assert!(
        !lease(b, minute).await.unwrap(),
        "a renewal counts from its own time"
    );
    w.clock.advance(Duration::seconds(1));
    assert!(lease(b, minute).await.unwrap(), "ended: taken over");
    assert!(!lease(a, minute).await.unwrap(), "the old holder lost it");
    assert!(
        lease(b, std::time::Duration::ZERO).await.unwrap(),
        "released"
    );
    assert!(
        lease(a, minute).await.unwrap(),
        "a released lease is free at once"
    );
    let agent = w.agent().await;
    expect_err!(
        w.hd.lease_imap_mailbox(&agent.p, m.id, b, minute).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.lease_imap_mailbox(&system, Uuid::now_v7(), a, minute)
            .await,
        Error::NotFound
    );

    // Many takers at once on a free lease: one wins.
    assert!(lease(a, std::time::Duration::ZERO).await.unwrap());
    let takers = (0..8).map(|_| {
        let hd = w.hd.clone();
        tokio::spawn(async move {
            hd.lease_imap_mailbox(&system, m.id, Uuid::now_v7(), minute)
                .await
                .unwrap()
        })
    });
    let mut won = 0;
    for taker in takers.collect::<Vec<_>>() {
        won += usize::from(taker.await.unwrap());
    }
    assert_eq!(won, 1, "exactly one concurrent taker holds the lease");

    // The lease goes with its mailbox.
    store.delete_mailbox(m.id).await.unwrap();
    expect_err!(lease(a, minute).await, Error::NotFound);
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
