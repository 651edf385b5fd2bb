//! Writes that run as one statement without a transaction around it (a read mark, a
//! ticket's creation, a message's append): a failed version check writes nothing, and
//! while a webhook endpoint is active the write still delivers to it.

use helpdesk_core::event::Effects;
use helpdesk_core::receipt::Participant;
use helpdesk_core::store::{ConversationStore, TicketStore, WebhookStore};
use helpdesk_core::ticket::Ticket;
use helpdesk_core::webhook::Webhook;
use helpdesk_core::{Conflict, StoreError};
use helpdesk_store_postgres::PostgresStore;
use uuid::Uuid;

use crate::common::{TestDb, group, new_ticket, one_event, t0, text_message, webhook};

async fn count(s: &PostgresStore, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(s.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_lone_write_is_all_or_nothing_and_delivers_to_active_endpoints() {
    let Some(db) =
        TestDb::create("a_lone_write_is_all_or_nothing_and_delivers_to_active_endpoints").await
    else {
        return;
    };
    let s = &db.store;
    let reader = Uuid::now_v7();
    let conv = group(&[reader], t0());
    s.create_conversation(&conv, &Effects::none())
        .await
        .unwrap();
    // The member's record, as the conversation's creation wrote it.
    let mut p = s.get_participant(conv.id, reader).await.unwrap().unwrap();
    let v0 = p.version;
    let mark = async |p: &mut Participant, n: u64| {
        p.version += 1;
        p.last_read_seq = n;
        s.put_read_state(p, &one_event("ticket.updated", n)).await
    };
    mark(&mut p, 1).await.unwrap();
    assert_eq!(count(s, "events").await, 1);

    // A stale version: neither the record nor the event is written.
    let mut stale = p.clone();
    stale.version = 0; // as if creating the record
    let failed = mark(&mut stale, 5).await;
    assert!(
        matches!(failed, Err(StoreError::Conflict(Conflict::Version))),
        "{failed:?}"
    );
    assert_eq!(count(s, "events").await, 1);
    let stored = s.get_participant(conv.id, reader).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.last_read_seq), (v0 + 1, 1));

    let hook = webhook(true);
    s.insert_webhook(&hook).await.unwrap();
    mark(&mut p, 2).await.unwrap();
    mark(&mut p, 3).await.unwrap();
    assert_eq!(
        (count(s, "events").await, count(s, "deliveries").await),
        (3, 2)
    );
    let failed = mark(&mut stale, 6).await;
    assert!(
        matches!(failed, Err(StoreError::Conflict(Conflict::Version))),
        "{failed:?}"
    );
    assert_eq!(
        (count(s, "events").await, count(s, "deliveries").await),
        (3, 2)
    );

    s.update_webhook(&Webhook {
        active: false,
        ..hook
    })
    .await
    .unwrap();
    mark(&mut p, 4).await.unwrap();
    mark(&mut p, 5).await.unwrap();
    assert_eq!(
        (count(s, "events").await, count(s, "deliveries").await),
        (5, 2)
    );
    let stored = s.get_participant(conv.id, reader).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.last_read_seq), (v0 + 5, 5));
}

#[tokio::test]
async fn a_ticket_is_created_by_one_statement_and_delivered_to_active_endpoints() {
    let Some(db) =
        TestDb::create("a_ticket_is_created_by_one_statement_and_delivered_to_active_endpoints")
            .await
    else {
        return;
    };
    let s = &db.store;
    let requester = Uuid::now_v7();
    let created = |t: &Ticket| one_event("ticket.created", t.number as u64);
    let first = s
        .create_ticket(&new_ticket(s, requester, t0()).await, &created)
        .await
        .unwrap();
    assert_eq!(first.number, 1);
    assert_eq!(s.get_ticket(first.id).await.unwrap(), Some(first.clone()));
    assert!(
        s.get_conversation(first.conversation_id)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        (count(s, "events").await, count(s, "deliveries").await),
        (1, 0)
    );

    s.insert_webhook(&webhook(true)).await.unwrap();
    let second = s
        .create_ticket(&new_ticket(s, requester, t0()).await, &created)
        .await
        .unwrap();
    assert_eq!(second.number, 2);
    assert_eq!(s.get_ticket(second.id).await.unwrap(), Some(second));
    assert_eq!(
        (count(s, "events").await, count(s, "deliveries").await),
        (2, 1)
    );
}

#[tokio::test]
async fn a_message_is_appended_by_one_statement_and_a_lost_check_writes_nothing() {
    let Some(db) =
        TestDb::create("a_message_is_appended_by_one_statement_and_a_lost_check_writes_nothing")
            .await
    else {
        return;
    };
    let s = &db.store;
    let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
    let conv = group(&[alice, bob], t0());
    s.create_conversation(&conv, &Effects::none())
        .await
        .unwrap();
    let sent = |m: &helpdesk_core::message::Message| one_event("message.created", m.seq);
    let first = s
        .append_message(&text_message(conv.id, alice, "one"), &sent)
        .await
        .unwrap();
    assert_eq!(first.seq, 1);
    // A rename between two appends is neither undone by the next nor stops it.
    sqlx::query("UPDATE conversations SET title = 'renamed' WHERE id = $1")
        .bind(conv.id)
        .execute(s.pool())
        .await
        .unwrap();
    let second = s
        .append_message(&text_message(conv.id, alice, "two"), &sent)
        .await
        .unwrap();
    assert_eq!((second.seq, second.sender_ordinal), (2, 2));
    assert_eq!(count(s, "events").await, 2);
    let stored = s.get_conversation(conv.id).await.unwrap().unwrap();
    assert_eq!(stored.title.as_deref(), Some("renamed"));

    // A reply to a message of another conversation: nothing written, the seq not taken.
    let other = group(&[alice], t0());
    s.create_conversation(&other, &Effects::none())
        .await
        .unwrap();
    let elsewhere = s
        .append_message(&text_message(other.id, alice, "elsewhere"), &sent)
        .await
        .unwrap();
    let orphan = helpdesk_core::message::MessageAppend {
        parent_id: Some(elsewhere.id),
        ..text_message(conv.id, alice, "orphan")
    };
    let failed = s.append_message(&orphan, &sent).await;
    assert!(matches!(failed, Err(StoreError::NotFound)), "{failed:?}");
    assert_eq!(
        (count(s, "events").await, count(s, "messages").await),
        (3, 3)
    );
    let stored = s.get_conversation(conv.id).await.unwrap().unwrap();
    assert_eq!(stored.last_seq, 2);
    let p = s.get_participant(conv.id, alice).await.unwrap().unwrap();
    assert_eq!(p.sent_count, 2);

    let reply = helpdesk_core::message::MessageAppend {
        parent_id: Some(first.id),
        ..text_message(conv.id, bob, "reply")
    };
    s.insert_webhook(&webhook(true)).await.unwrap();
    let reply = s.append_message(&reply, &sent).await.unwrap();
    assert_eq!(reply.seq, 3);
    let parent = s.get_message(conv.id, first.id).await.unwrap().unwrap();
    assert_eq!(parent.reply_count, 1);
    assert_eq!(
        (count(s, "events").await, count(s, "deliveries").await),
        (4, 1)
    );
}
