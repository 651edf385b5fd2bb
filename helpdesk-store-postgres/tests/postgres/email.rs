//! The email channel's records on PostgreSQL (`0025_email.sql`): the migration over a
//! database with tickets and messages, concurrent ingests of one mail and concurrent
//! outbox claimers, a mailbox held by its tickets through the foreign key, and effects
//! whose mail writes would touch one row twice in one statement.

use std::sync::Arc;

use chrono::Duration;
use helpdesk_core::email::{
    InboundRecord, InboundResult, InboundVia, InboundWrite, MailEffects, OutboundKind,
    OutboundMail, OutboundStatus, OutboundWrite, Suppression, SuppressionReason,
};
use helpdesk_core::event::Effects;
use helpdesk_core::mailbox::{AutoReply, Inbound, Mailbox, Outbound};
use helpdesk_core::message::{Message, MessageAppend};
use helpdesk_core::store::{ConversationStore, EmailStore, EventStore, MailboxStore, TicketStore};
use helpdesk_core::ticket::{Channel, TicketQuery};
use helpdesk_core::{Conflict, StoreError};
use uuid::Uuid;

use crate::common::{TestDb, new_ticket, t0};

fn mailbox(address: &str) -> Mailbox {
    Mailbox {
        id: Uuid::now_v7(),
        address: address.into(),
        name: "Support".into(),
        group_id: None,
        is_default: false,
        inbound: Inbound::Smtp,
        outbound: Outbound::None,
        auto_reply: AutoReply {
            enabled: false,
            canned_reply_id: None,
        },
        secret: None,
        previous_secret: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

fn inbound(mailbox_id: Uuid, message_id: &str, raw: &[u8]) -> InboundWrite {
    InboundWrite {
        record: InboundRecord {
            id: Uuid::now_v7(),
            mailbox_id,
            internet_message_id: Some(message_id.into()),
            dedupe_key: message_id.to_ascii_lowercase(),
            from: Some("ann@example.com".into()),
            to: vec!["support@example.com".into()],
            cc: vec![],
            subject: "Printer on fire".into(),
            size: raw.len() as u64,
            via: InboundVia::Smtp,
            auto: false,
            result: InboundResult::Ignored,
            reason: None,
            ticket_id: None,
            message_id: None,
            left_out: vec![],
            references: vec![],
            received_at: t0(),
        },
        raw: Arc::from(raw),
    }
}

fn outbound(mailbox_id: Uuid, n: i64) -> OutboundWrite {
    let id = Uuid::now_v7();
    OutboundWrite {
        mail: OutboundMail {
            id,
            mailbox_id,
            kind: OutboundKind::Reply,
            ticket_id: None,
            message_id: None,
            notification_id: None,
            to: vec!["ann@example.com".into()],
            cc: vec![],
            subject: "Re: Printer on fire".into(),
            internet_message_id: format!("{id}@example.com"),
            references: vec![],
            status: OutboundStatus::Pending,
            attempts: 0,
            last_smtp_code: None,
            last_error: None,
            rejected: vec![],
            next_attempt_at: Some(t0() + Duration::milliseconds(n)),
            sent_at: None,
            created_at: t0(),
        },
        raw: Arc::from(&b"Subject: Re: Printer on fire\r\n\r\nIt is out.\r\n"[..]),
    }
}

fn mail(m: MailEffects) -> Effects {
    Effects {
        mail: m,
        ..Effects::none()
    }
}

#[tokio::test]
async fn migration_25_keeps_older_tickets_and_messages_on_the_web() {
    let Some(db) = TestDb::create("migration_25_keeps_older_tickets_and_messages_on_the_web").await
    else {
        return;
    };
    let s = &db.store;
    let requester = Uuid::now_v7();
    let ticket = s
        .create_ticket(&new_ticket(s, requester, t0()).await, &|_| Effects::none())
        .await
        .unwrap();
    let m = MessageAppend {
        id: Uuid::now_v7(),
        conversation_id: ticket.conversation_id,
        sender_id: requester,
        content: "Still burning".into(),
        parent_id: None,
        attachment_ids: Vec::new(),
        internal: false,
        created_at: t0(),
        join_sender: false,
        channel: Channel::Web,
        ticket_update: None,
        base: None,
    };
    s.append_message(&m, &|_: &Message| Effects::none())
        .await
        .unwrap();
    // Put the schema back as migration 24 left it, then migrate again.
    sqlx::raw_sql(
        "DROP TABLE inbound_raw, inbound_mail, outbound_raw, outbound_mail, suppressions; \
         ALTER TABLE tickets DROP COLUMN channel, DROP COLUMN mailbox_id, \
             DROP COLUMN follow_up_of; \
         ALTER TABLE messages DROP COLUMN channel; \
         DELETE FROM _sqlx_migrations WHERE version = 25;",
    )
    .execute(s.pool())
    .await
    .unwrap();
    s.migrate().await.unwrap();
    let after = s.get_ticket(ticket.id).await.unwrap().unwrap();
    assert_eq!(
        (after.channel, after.mailbox_id, after.follow_up_of),
        (Channel::Web, None, None)
    );
    let stored = s
        .get_message(ticket.conversation_id, m.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.channel, Channel::Web);
    // The new columns take writes and filters.
    let mb = mailbox("support@example.com");
    s.insert_mailbox(&mb).await.unwrap();
    let mut t = after.clone();
    t.channel = Channel::Email;
    t.mailbox_id = Some(mb.id);
    t.version += 1;
    s.update_ticket(&t, None, &Effects::none()).await.unwrap();
    let found = s
        .list_tickets(&TicketQuery {
            channel: Some(Channel::Email),
            mailbox_id: Some(mb.id),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.iter().map(|t| t.id).collect::<Vec<_>>(), [t.id]);
    assert!(
        s.list_tickets(&TicketQuery {
            channel: Some(Channel::Web),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_ingests_of_one_mail_store_it_once() {
    let Some(db) = TestDb::create("concurrent_ingests_of_one_mail_store_it_once").await else {
        return;
    };
    let mb = Uuid::now_v7();
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let store = db.store.clone();
            // The same Message-ID in other cases: the same mail.
            let id = if n % 2 == 0 {
                "A@example.com"
            } else {
                "a@example.com"
            };
            let w = inbound(mb, id, format!("copy {n}").as_bytes());
            tokio::spawn(async move {
                let fx = mail(MailEffects {
                    inbound: Some(w.clone()),
                    ..Default::default()
                });
                (w, store.append_effects(&fx).await)
            })
        })
        .collect();
    let mut stored = Vec::new();
    for t in tasks {
        let (w, result) = t.await.unwrap();
        match result {
            Ok(()) => stored.push(w),
            Err(StoreError::Conflict(Conflict::Duplicate)) => {
                assert_eq!(db.store.get_inbound(w.record.id).await.unwrap(), None);
                assert_eq!(db.store.inbound_raw(w.record.id).await.unwrap(), None);
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(stored.len(), 1, "one ingest wins");
    let first = &stored[0];
    let found = db
        .store
        .find_inbound(mb, "a@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, first.record);
    assert_eq!(
        db.store.inbound_raw(found.id).await.unwrap().as_deref(),
        Some(&first.raw[..])
    );
    // Another mailbox takes the same mail.
    let other = inbound(Uuid::now_v7(), "A@example.com", b"copy");
    db.store
        .append_effects(&mail(MailEffects {
            inbound: Some(other),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(
        db.store
            .mail_by_message_id("a@EXAMPLE.com")
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn one_operation_may_record_and_bounce_a_mail_and_suppress_twice() {
    let Some(db) =
        TestDb::create("one_operation_may_record_and_bounce_a_mail_and_suppress_twice").await
    else {
        return;
    };
    let s = &db.store;
    let mb = Uuid::now_v7();
    let (old, new) = (outbound(mb, 0), outbound(mb, 1));
    s.append_effects(&mail(MailEffects {
        outbound: vec![old.clone()],
        ..Default::default()
    }))
    .await
    .unwrap();
    let suppression = |detail: &str| Suppression {
        address: "ann@example.com".into(),
        reason: SuppressionReason::Bounce,
        detail: detail.into(),
        outbound_id: Some(old.mail.id),
        created_at: t0(),
    };
    s.append_effects(&mail(MailEffects {
        outbound: vec![new.clone()],
        suppressions: vec![suppression("5.1.1 first"), suppression("5.1.1 second")],
        bounced: vec![old.mail.id, new.mail.id, Uuid::now_v7()],
        ..Default::default()
    }))
    .await
    .unwrap();
    for id in [old.mail.id, new.mail.id] {
        let m = s.get_outbound(id).await.unwrap().unwrap();
        assert_eq!(
            (m.status, m.next_attempt_at),
            (OutboundStatus::Bounced, None)
        );
    }
    assert_eq!(
        s.outbound_raw(new.mail.id).await.unwrap().as_deref(),
        Some(&new.raw[..])
    );
    let kept = s.get_suppression("ann@example.com").await.unwrap().unwrap();
    assert_eq!(kept.detail, "5.1.1 first");
    // A later one for the address changes nothing either.
    s.append_effects(&mail(MailEffects {
        suppressions: vec![suppression("5.1.1 third")],
        ..Default::default()
    }))
    .await
    .unwrap();
    assert_eq!(s.list_suppressions(None, 10).await.unwrap(), vec![kept]);
}
