//! Writes that run as one statement without a transaction around it (a read mark, a
//! ticket's creation): a failed version check writes nothing, and while a webhook
//! endpoint is active the write still delivers to it.

use helpdesk_core::event::Effects;
use helpdesk_core::receipt::Participant;
use helpdesk_core::store::{ConversationStore, TicketStore, WebhookStore};
use helpdesk_core::ticket::Ticket;
use helpdesk_core::webhook::Webhook;
use helpdesk_core::{Conflict, StoreError};
use helpdesk_store_postgres::PostgresStore;
use uuid::Uuid;

use crate::common::{TestDb, group, new_ticket, one_event, t0, webhook};

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
