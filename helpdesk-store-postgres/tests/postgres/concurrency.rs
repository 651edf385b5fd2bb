//! Many writers at once: ticket numbers never collide (nor skip unless a creation fails
//! after taking one), message seqs never collide or skip, read watermarks only move
//! forward, and a sender's appends lose no delivery of theirs.

use std::sync::Arc;

use helpdesk_core::conversation::{ConversationKind, NewConversation};
use helpdesk_core::event::Effects;
use helpdesk_core::message::{MessageAppend, MessageRange, NewMessage};
use helpdesk_core::store::{ConversationStore, DeliveryAdvance, TicketStore};
use helpdesk_core::user::NewUser;
use helpdesk_core::{Config, Helpdesk, Principal, Role};
use uuid::Uuid;

use crate::common::{TestDb, group, new_ticket, t0, text_message};

const WRITERS: usize = 32;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ticket_numbers_are_unique_and_dense_under_32_writers() {
    let Some(db) = TestDb::create("ticket_numbers_are_unique_and_dense_under_32_writers").await
    else {
        return;
    };
    let requester = Uuid::now_v7();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|_| {
            let store = db.store.clone();
            tokio::spawn(async move {
                let new = new_ticket(&store, requester, t0()).await;
                store
                    .create_ticket(&new, &|_| Effects::none())
                    .await
                    .expect("create ticket")
                    .number
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.expect("task"));
    }
    numbers.sort();
    assert_eq!(numbers, (1..=WRITERS as i64).collect::<Vec<_>>());
    // A creation refused on its input fails before it takes a number: no gap.
    let mut bad = new_ticket(&db.store, requester, t0()).await;
    bad.attachment_ids = vec![Uuid::now_v7()];
    assert!(
        db.store
            .create_ticket(&bad, &|_| Effects::none())
            .await
            .is_err()
    );
    let next = db
        .store
        .create_ticket(&new_ticket(&db.store, requester, t0()).await, &|_| {
            Effects::none()
        })
        .await
        .unwrap();
    assert_eq!(next.number, WRITERS as i64 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn message_seqs_are_gapless_under_32_writers() {
    let Some(db) = TestDb::create("message_seqs_are_gapless_under_32_writers").await else {
        return;
    };
    let senders: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
    let conv = group(&senders, t0());
    db.store
        .create_conversation(&conv, &Effects::none())
        .await
        .unwrap();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|n| {
            let store = db.store.clone();
            let sender = senders[n % senders.len()];
            let conversation_id = conv.id;
            tokio::spawn(async move {
                let new = MessageAppend {
                    id: Uuid::now_v7(),
                    conversation_id,
                    sender_id: sender,
                    content: format!("message {n}"),
                    parent_id: None,
                    attachment_ids: vec![],
                    internal: n % 5 == 0,
                    created_at: t0(),
                    join_sender: false,
                    channel: Default::default(),
                    ticket_update: None,
                    base: None,
                };
                store
                    .append_message(&new, &|_| Effects::none())
                    .await
                    .expect("append")
                    .seq
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.expect("task"));
    }
    seqs.sort();
    assert_eq!(seqs, (1..=WRITERS as u64).collect::<Vec<_>>());
    let stored = db.store.get_conversation(conv.id).await.unwrap().unwrap();
    assert_eq!(stored.last_seq, WRITERS as u64);
    let all = db
        .store
        .list_messages(conv.id, MessageRange::After(0), true, 100)
        .await
        .unwrap();
    let seqs: Vec<u64> = all.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=WRITERS as u64).collect::<Vec<_>>());
    // Ordinals and per-sender counts add up as if the appends had run one by one.
    let public = all.iter().filter(|m| !m.internal).count() as u64;
    assert_eq!(stored.public_count, public);
    for s in &senders {
        let mine: Vec<_> = all.iter().filter(|m| m.sender_id == Some(*s)).collect();
        let ordinals: Vec<u64> = mine.iter().map(|m| m.sender_ordinal).collect();
        assert_eq!(ordinals, (1..=mine.len() as u64).collect::<Vec<_>>());
        let p = db
            .store
            .get_participant(conv.id, *s)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.sent_count, mine.len() as u64);
        assert_eq!(
            db.store
                .own_count_upto(conv.id, *s, WRITERS as u64)
                .await
                .unwrap(),
            mine.len() as u64
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn read_watermarks_only_move_forward_under_concurrent_marks() {
    let Some(db) = TestDb::create("read_watermarks_only_move_forward_under_concurrent_marks").await
    else {
        return;
    };
    let hd = Arc::new(Helpdesk::new(db.dyn_store(), Config::for_tests()));
    let sys = Principal::system();
    let alice = hd
        .create_user(
            &sys,
            NewUser::new(
                "alice@example.com",
                "Alice",
                Role::Agent,
                "correct horse battery",
            ),
        )
        .await
        .unwrap();
    let bob = hd
        .create_user(
            &sys,
            NewUser::new(
                "bob@example.com",
                "Bob",
                Role::Agent,
                "correct horse battery",
            ),
        )
        .await
        .unwrap();
    let a = hd.principal(alice.id).await.unwrap();
    let b = hd.principal(bob.id).await.unwrap();
    let (view, _) = hd
        .create_conversation(
            &a,
            NewConversation {
                kind: ConversationKind::Group,
                title: Some("g".into()),
                member_ids: vec![bob.id],
            },
        )
        .await
        .unwrap();
    let conv = view.conversation.id;
    let mut ids = Vec::new();
    for n in 0..WRITERS {
        let m = hd
            .send_message(&a, conv, NewMessage::text(&format!("hello {n}")))
            .await
            .unwrap();
        ids.push(m.message.id);
    }
    // Every task marks up to a different message, in a shuffled order; some mark one
    // message only, some everything.
    let tasks: Vec<_> = (0..WRITERS)
        .map(|n| {
            let hd = hd.clone();
            let id = ids[(n * 7) % WRITERS];
            tokio::spawn(async move {
                let state = match n % 8 {
                    0 => hd.mark_read(&b, conv, id).await,
                    7 => hd.mark_all_read(&b, conv).await,
                    _ => hd.mark_read_up_to(&b, conv, id).await,
                };
                state.expect("mark").last_read_seq
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    let p = db
        .store
        .get_participant(conv, bob.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.last_read_seq, WRITERS as u64, "mark_all_read must stick");
    assert!(p.read_above.is_empty());
    // An older mark never moves it back.
    let state = hd.mark_read_up_to(&b, conv, ids[0]).await.unwrap();
    assert_eq!(state.last_read_seq, WRITERS as u64);
    assert_eq!(state.unread_count, 0);
}

/// An append reads the sender's record without a lock first; deliveries to the sender,
/// which do not move the record's version, must survive appends that read it before.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deliveries_to_a_sender_survive_their_concurrent_appends() {
    let Some(db) = TestDb::create("deliveries_to_a_sender_survive_their_concurrent_appends").await
    else {
        return;
    };
    let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
    let conv = group(&[alice, bob], t0());
    let store = &db.store;
    store
        .create_conversation(&conv, &Effects::none())
        .await
        .unwrap();
    let none = |_: &helpdesk_core::message::Message| Effects::none();
    // Bob's messages, delivered to Alice one by one while she sends her own.
    let mut bobs = Vec::new();
    for n in 0..WRITERS {
        let m = store
            .append_message(&text_message(conv.id, bob, &format!("bob {n}")), &none)
            .await
            .unwrap();
        bobs.push(m.seq);
    }
    let sends: Vec<_> = (0..WRITERS)
        .map(|n| {
            let store = db.store.clone();
            tokio::spawn(async move {
                let new = text_message(conv.id, alice, &format!("alice {n}"));
                store.append_message(&new, &|_| Effects::none()).await
            })
        })
        .collect();
    let deliveries: Vec<_> = bobs
        .iter()
        .map(|&seq| {
            let store = db.store.clone();
            tokio::spawn(async move {
                let advance = DeliveryAdvance {
                    user_id: alice,
                    seq,
                    fx: Effects::none(),
                    from: None,
                };
                store.advance_delivered(conv.id, t0(), &[advance]).await
            })
        })
        .collect();
    for t in sends {
        t.await.expect("task").expect("append");
    }
    for t in deliveries {
        t.await.expect("task").expect("delivery");
    }
    let p = store
        .get_participant(conv.id, alice)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.sent_count, WRITERS as u64);
    assert!(
        p.delivered_seq >= WRITERS as u64,
        "Bob's last message reached Alice, yet her delivery watermark is {}",
        p.delivered_seq
    );
    // The delivery of Bob's last message is among the marks kept.
    assert!(
        p.delivered_marks.iter().any(|m| m.seq == WRITERS as u64),
        "{:?}",
        p.delivered_marks
    );
}
