//! Read receipts v2: the private read state (the reader's own `is_read` and unread
//! counts) apart from the public one (others' ticks, receipts and `message.read`),
//! private mode, `unread-from`, `message.unread`, what webhooks never get, and the
//! archive carrying both states.

use std::sync::Arc;

use uuid::Uuid;

use super::{Who, World, expect_err};
use crate::Error;
use crate::event::{Event, EventId, EventKind};
use crate::message::MessagePageQuery;
use crate::principal::Principal;
use crate::receipt::{MessageStatus, ReadReceipts};
use crate::store::Store;
use crate::user::ProfilePatch;
use crate::webhook::Webhook;

async fn is_read(w: &World, who: &Who, conv: Uuid) -> Vec<bool> {
    w.hd.list_messages(
        &who.p,
        conv,
        MessagePageQuery {
            limit: Some(200),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .items
    .into_iter()
    .map(|m| m.is_read)
    .collect()
}

async fn unread(w: &World, who: &Who, conv: Uuid) -> u64 {
    w.hd.get_conversation(&who.p, conv)
        .await
        .unwrap()
        .unread_count
}

async fn status_of(w: &World, who: &Who, conv: Uuid, id: Uuid) -> Option<MessageStatus> {
    w.hd.get_message(&who.p, conv, id).await.unwrap().status
}

/// Whether `reader`'s receipt on message `id` (as its sender sees it) has a `read_at`.
async fn receipt_read(w: &World, sender: &Who, conv: Uuid, id: Uuid, reader: &Who) -> bool {
    w.hd.receipts(&sender.p, conv, id)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.user_id == reader.id())
        .expect("a receipt per other member")
        .read_at
        .is_some()
}

async fn set_mode(w: &World, who: &Who, mode: ReadReceipts) {
    let u =
        w.hd.update_me(
            &who.p,
            ProfilePatch {
                read_receipts: Some(mode),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(u.read_receipts, mode);
}

/// A webhook endpoint subscribed to every event.
async fn hook_everything(w: &World) -> Webhook {
    let now = w.hd.now();
    let hook = Webhook {
        id: Uuid::now_v7(),
        url: "https://hooks.example.com/in".into(),
        events: vec!["*".into()],
        description: "everything".into(),
        active: true,
        secret: "whsec_dGVzdA==".into(),
        previous_secret: None,
        created_at: now,
        updated_at: now,
    };
    w.store.insert_webhook(&hook).await.unwrap();
    hook
}

/// The kinds of the deliveries the endpoint got for `events`, of read state only
/// (fetches deliver messages, and `message.delivered` is webhooked as ever).
async fn hooked_after(w: &World, hook: &Webhook, events: &[Event]) -> Vec<EventKind> {
    let ids: Vec<EventId> = events.iter().map(|e| e.id).collect();
    w.store
        .list_deliveries(hook.id, None, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| ids.contains(&d.event_id))
        .map(|d| d.event_type)
        .filter(|k| matches!(k, EventKind::MessageRead | EventKind::MessageUnread))
        .collect()
}

async fn events_since(w: &World, before: Option<EventId>) -> Vec<Event> {
    w.store.events_after(before, 1_000).await.unwrap()
}

fn of_kind(events: &[Event], kind: EventKind) -> Vec<&Event> {
    events.iter().filter(|e| e.kind == kind).collect()
}

/// A new user reads publicly; the choice is theirs and shows on their own record.
pub async fn read_receipts_default_public_and_self_set(store: Arc<dyn Store>) {
    let w = World::new(store);
    let b = w.agent().await;
    assert_eq!(
        w.hd.me(&b.p).await.unwrap().read_receipts,
        ReadReceipts::Public
    );
    set_mode(&w, &b, ReadReceipts::Private).await;
    assert_eq!(
        w.hd.me(&b.p).await.unwrap().read_receipts,
        ReadReceipts::Private
    );
    assert_eq!(
        w.hd.get_user(&Principal::system(), b.id())
            .await
            .unwrap()
            .read_receipts,
        ReadReceipts::Private
    );
    set_mode(&w, &b, ReadReceipts::Public).await;
    assert_eq!(
        "private".parse::<ReadReceipts>().unwrap(),
        ReadReceipts::Private
    );
    expect_err!("secret".parse::<ReadReceipts>(), Error::Validation(_));
}

/// A switch of mode is in force at the reader's next read, though the instance keeps
/// their session's user a moment.
pub async fn a_new_mode_applies_to_the_next_read(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let mut b = w.agent().await;
    let token = w.hd.issue_tokens(b.id()).await.unwrap().access_token;
    b.p = w.hd.authenticate(&token).await.unwrap();
    let d = w.direct(&a, &b).await;
    let first = w.send(&a, d, "first").await.message.id;
    let second = w.send(&a, d, "second").await.message.id;
    w.hd.mark_read(&b.p, d, first).await.unwrap();
    assert!(receipt_read(&w, &a, d, first, &b).await);
    set_mode(&w, &b, ReadReceipts::Private).await;
    w.hd.mark_read(&b.p, d, second).await.unwrap();
    assert!(!receipt_read(&w, &a, d, second, &b).await);
}

/// In private mode every read endpoint moves the reader's own state (is_read, unread
/// counts, the overview) but not what others see: no `read` tick, no `read_at`, and
/// `message.read` only for the reader's own connections, never webhooked.
pub async fn private_reads_stay_with_the_reader(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let hook = hook_everything(&w).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(w.send(&a, d, &format!("m{i}")).await.message.id);
    }
    set_mode(&w, &b, ReadReceipts::Private).await;
    let before = w.last_event().await;
    let s = w.hd.mark_read(&b.p, d, ids[0]).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (1, 3));
    let s = w.hd.mark_read_up_to(&b.p, d, ids[2]).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (3, 1));
    assert_eq!(is_read(&w, &b, d).await, vec![true, true, true, false]);
    assert_eq!(w.hd.unread_overview(&b.p).await.unwrap().total_unread, 1);
    let s = w.hd.mark_all_read(&b.p, d).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (4, 0));
    assert_eq!(unread(&w, &b, d).await, 0);
    assert_eq!(w.hd.unread_overview(&b.p).await.unwrap().total_unread, 0);

    // The sender sees nothing read.
    for id in &ids {
        assert_ne!(status_of(&w, &a, d, *id).await, Some(MessageStatus::Read));
        assert!(!receipt_read(&w, &a, d, *id, &b).await);
    }
    let events = events_since(&w, before).await;
    let reads = of_kind(&events, EventKind::MessageRead);
    assert_eq!(reads.len(), 3, "one per move: {reads:?}");
    for e in &reads {
        assert!(w.hd.may_see(&b.p, e).await.unwrap());
        assert!(!w.hd.may_see(&a.p, e).await.unwrap());
    }
    assert_eq!(reads[2].data["last_read_seq"], 4);
    assert!(hooked_after(&w, &hook, &events).await.is_empty());

    // The same reads in public mode, by another member, are seen and webhooked.
    let c = w.agent().await;
    let g = w.group(&a, &[&c], "G").await;
    let m = w.send(&a, g, "hello").await.message;
    let before = w.last_event().await;
    w.hd.mark_all_read(&c.p, g).await.unwrap();
    assert_eq!(status_of(&w, &a, g, m.id).await, Some(MessageStatus::Read));
    let events = events_since(&w, before).await;
    let read = of_kind(&events, EventKind::MessageRead)[0];
    assert!(w.hd.may_see(&a.p, read).await.unwrap());
    assert!(w.hd.may_see(&c.p, read).await.unwrap());
    assert_eq!(
        hooked_after(&w, &hook, &events).await,
        vec![EventKind::MessageRead]
    );
}

/// Switching back to public publishes none of the private reads; only reads made in
/// public mode from then on are seen.
pub async fn switching_back_does_not_publish_old_reads(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(w.send(&a, d, &format!("m{i}")).await.message.id);
    }
    set_mode(&w, &b, ReadReceipts::Private).await;
    w.hd.mark_all_read(&b.p, d).await.unwrap();
    set_mode(&w, &b, ReadReceipts::Public).await;
    // Marking again what is read already publishes nothing either... but a public mark
    // is a new read: a fresh message read one by one is seen, the old ones are not.
    let m4 = w.send(&a, d, "m3").await.message;
    let before = w.last_event().await;
    let s = w.hd.mark_read(&b.p, d, m4.id).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (4, 0));
    assert_eq!(status_of(&w, &a, d, m4.id).await, Some(MessageStatus::Read));
    assert!(receipt_read(&w, &a, d, m4.id, &b).await);
    for id in &ids {
        assert_ne!(status_of(&w, &a, d, *id).await, Some(MessageStatus::Read));
        assert!(!receipt_read(&w, &a, d, *id, &b).await);
    }
    let events = events_since(&w, before).await;
    let reads = of_kind(&events, EventKind::MessageRead);
    // What the sender is told names the public watermark, which did not move.
    let told_a: Vec<_> = {
        let mut v = Vec::new();
        for e in &reads {
            if w.hd.may_see(&a.p, e).await.unwrap() {
                v.push(*e);
            }
        }
        v
    };
    assert_eq!(told_a.len(), 1);
    assert_eq!(told_a[0].data["last_read_seq"], 0);
    assert_eq!(told_a[0].data["message_id"], serde_json::json!(m4.id));
    let part = w.store.get_participant(d, b.id()).await.unwrap().unwrap();
    assert_eq!((part.last_read_seq, part.public_read_seq), (4, 0));
    assert_eq!(part.public_read_above, vec![4]);
    // A public read-up-to now publishes the reads up to there.
    w.hd.mark_read_up_to(&b.p, d, ids[1]).await.unwrap();
    assert_eq!(
        status_of(&w, &a, d, ids[1]).await,
        Some(MessageStatus::Read)
    );
    assert_ne!(
        status_of(&w, &a, d, ids[2]).await,
        Some(MessageStatus::Read)
    );
}

/// Unread-from: the watermark goes back to just below the message, the reader's counts
/// follow, the public state (ticks, receipts) stays; `message.unread` reaches the reader
/// alone and no webhook. Idempotent.
pub async fn unread_from_moves_only_the_private_state_back(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let hook = hook_everything(&w).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(w.send(&a, d, &format!("m{i}")).await.message.id);
    }
    w.hd.mark_all_read(&b.p, d).await.unwrap();
    assert_eq!(
        status_of(&w, &a, d, ids[4]).await,
        Some(MessageStatus::Read)
    );
    let before = w.last_event().await;
    let s = w.hd.mark_unread_from(&b.p, d, ids[2]).await.unwrap();
    assert_eq!(s.conversation_id, d);
    assert_eq!((s.last_read_seq, s.unread_count), (2, 3));
    assert_eq!(
        is_read(&w, &b, d).await,
        vec![true, true, false, false, false]
    );
    assert_eq!(unread(&w, &b, d).await, 3);
    let overview = w.hd.unread_overview(&b.p).await.unwrap();
    assert_eq!(overview.total_unread, 3);
    assert_eq!(overview.conversations[0].conversation_id, d);
    for id in &ids {
        assert_eq!(status_of(&w, &a, d, *id).await, Some(MessageStatus::Read));
        assert!(receipt_read(&w, &a, d, *id, &b).await);
    }
    let events = events_since(&w, before).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e.kind, EventKind::MessageUnread);
    assert_eq!(
        e.data,
        serde_json::json!({
            "conversation_id": d, "user_id": b.id(), "last_read_seq": 2, "unread_count": 3,
        })
    );
    assert!(w.hd.may_see(&b.p, e).await.unwrap());
    assert!(!w.hd.may_see(&a.p, e).await.unwrap());
    assert!(hooked_after(&w, &hook, &events).await.is_empty());

    // Again: the same answer, nothing written.
    let before = w.last_event().await;
    let again = w.hd.mark_unread_from(&b.p, d, ids[2]).await.unwrap();
    assert_eq!(again, s);
    assert!(events_since(&w, before).await.is_empty());

    // Reading again in public mode moves the private state only: the public one is
    // ahead, so nothing new is published and the sender hears nothing.
    let before = w.last_event().await;
    let s = w.hd.mark_read_up_to(&b.p, d, ids[3]).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (4, 1));
    let events = events_since(&w, before).await;
    assert_eq!(of_kind(&events, EventKind::MessageRead).len(), 1);
    for e in &events {
        assert!(!w.hd.may_see(&a.p, e).await.unwrap());
        assert!(w.hd.may_see(&b.p, e).await.unwrap());
    }
    assert!(hooked_after(&w, &hook, &events).await.is_empty());
    let part = w.store.get_participant(d, b.id()).await.unwrap().unwrap();
    assert_eq!((part.last_read_seq, part.public_read_seq), (4, 5));
}

/// The watermark becomes min(watermark, s - 1): below `s` nothing changes (reads one by
/// one there stay), from `s` on reads one by one become unread.
pub async fn unread_from_takes_the_minimum(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(w.send(&a, d, &format!("m{i}")).await.message.id);
    }
    w.hd.mark_read_up_to(&b.p, d, ids[0]).await.unwrap();
    w.hd.mark_read(&b.p, d, ids[2]).await.unwrap();
    w.hd.mark_read(&b.p, d, ids[4]).await.unwrap();
    assert_eq!(
        is_read(&w, &b, d).await,
        vec![true, false, true, false, true, false]
    );
    let s = w.hd.mark_unread_from(&b.p, d, ids[3]).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (1, 4));
    assert_eq!(
        is_read(&w, &b, d).await,
        vec![true, false, true, false, false, false]
    );
    // The public state keeps every read.
    assert_eq!(
        status_of(&w, &a, d, ids[4]).await,
        Some(MessageStatus::Read)
    );
    // Unread from the very first message: nothing is read.
    let s = w.hd.mark_unread_from(&b.p, d, ids[0]).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (0, 6));
    assert_eq!(is_read(&w, &b, d).await, vec![false; 6]);
    assert_eq!(
        status_of(&w, &a, d, ids[0]).await,
        Some(MessageStatus::Read)
    );
    // And reading again works from there.
    let s = w.hd.mark_all_read(&b.p, d).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (6, 0));
}

/// The reader's own messages stay read, also when unread-from names one of them; in a
/// ticket conversation a customer's counts skip internal notes as before.
pub async fn unread_from_keeps_own_messages_read(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let m1 = w.send(&a, d, "theirs").await.message;
    let mine = w.send(&b, d, "mine").await.message;
    w.send(&a, d, "theirs again").await;
    w.hd.mark_all_read(&b.p, d).await.unwrap();
    let s = w.hd.mark_unread_from(&b.p, d, m1.id).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (0, 2));
    assert_eq!(is_read(&w, &b, d).await, vec![false, true, false]);
    w.hd.mark_all_read(&b.p, d).await.unwrap();
    let s = w.hd.mark_unread_from(&b.p, d, mine.id).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (1, 1));
    assert_eq!(is_read(&w, &b, d).await, vec![true, true, false]);

    // A customer: the count leaves internal notes out.
    let c = w.customer().await;
    let t = w.ticket(&c, "Unread").await;
    let conv = t.conversation_id;
    let staff = w.agent().await;
    let first = w.send(&staff, conv, "public one").await.message;
    w.note(&staff, conv, "internal").await;
    w.send(&staff, conv, "public two").await;
    w.hd.mark_all_read(&c.p, conv).await.unwrap();
    assert_eq!(unread(&w, &c, conv).await, 0);
    let s = w.hd.mark_unread_from(&c.p, conv, first.id).await.unwrap();
    assert_eq!(s.unread_count, 2);
    assert_eq!(unread(&w, &c, conv).await, 2);
    assert_eq!(w.hd.unread_overview(&c.p).await.unwrap().total_unread, 2);
}

/// A message not in the conversation, unknown, or not visible to the caller (an
/// internal note for a customer), and a conversation the caller cannot read: 404.
pub async fn unread_from_not_found(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    w.send(&a, d, "here").await;
    let other = w.direct(&a, &w.agent().await).await;
    let elsewhere = w.send(&a, other, "there").await.message;
    expect_err!(
        w.hd.mark_unread_from(&b.p, d, elsewhere.id).await,
        Error::NotFound
    );
    expect_err!(
        w.hd.mark_unread_from(&b.p, d, Uuid::now_v7()).await,
        Error::NotFound
    );
    expect_err!(
        w.hd.mark_unread_from(&b.p, other, elsewhere.id).await,
        Error::NotFound
    );
    let c = w.customer().await;
    let t = w.ticket(&c, "Notes").await;
    let note = w.note(&a, t.conversation_id, "staff only").await.message;
    expect_err!(
        w.hd.mark_unread_from(&c.p, t.conversation_id, note.id)
            .await,
        Error::NotFound
    );
}

/// `message.unread` cannot be subscribed to; an endpoint of `*` never gets it.
pub async fn message_unread_is_not_subscribable(store: Arc<dyn Store>) {
    let w = World::new(store);
    assert!(!EventKind::MessageUnread.subscribable());
    assert!(EventKind::MessageRead.subscribable());
    assert_eq!(
        "message.unread".parse::<EventKind>().unwrap(),
        EventKind::MessageUnread
    );
    let admin = w.admin().await;
    let refused =
        w.hd.create_webhook(
            &admin.p,
            crate::webhook::NewWebhook {
                url: "https://hooks.example.com/in".into(),
                events: vec!["message.unread".into()],
                description: None,
                active: None,
            },
        )
        .await;
    expect_err!(refused, Error::Validation(ref e) if e[0].field == "events");
}

/// The archive carries both states and the user's choice.
pub async fn archive_carries_both_read_states(store: Arc<dyn Store>) {
    let m = World::new(super::memory());
    let a = m.agent().await;
    let b = m.agent().await;
    let d = m.direct(&a, &b).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(m.send(&a, d, &format!("m{i}")).await.message.id);
    }
    m.hd.mark_all_read(&b.p, d).await.unwrap();
    m.hd.mark_unread_from(&b.p, d, ids[1]).await.unwrap();
    set_mode(&m, &b, ReadReceipts::Private).await;
    m.hd.mark_read(&b.p, d, ids[2]).await.unwrap();
    let part = m.store.get_participant(d, b.id()).await.unwrap().unwrap();
    assert_eq!((part.last_read_seq, part.public_read_seq), (1, 4));
    assert_eq!(part.read_above, vec![3]);

    let mut archive = Vec::new();
    m.hd.export_archive(&Principal::system(), &mut archive, &|_| {})
        .await
        .unwrap();
    let w = World::new(store);
    w.hd.import_archive(&Principal::system(), &archive[..], &|_| {})
        .await
        .unwrap();
    assert_eq!(
        w.store.get_participant(d, b.id()).await.unwrap().unwrap(),
        part
    );
    assert_eq!(
        w.store
            .get_user(b.id())
            .await
            .unwrap()
            .unwrap()
            .read_receipts,
        ReadReceipts::Private
    );
    let p = w.hd.principal(b.id()).await.unwrap();
    assert_eq!(
        is_read(
            &w,
            &Who {
                user: b.user.clone(),
                p
            },
            d
        )
        .await,
        vec![true, false, true, false]
    );
    let pa = w.hd.principal(a.id()).await.unwrap();
    let sender = Who {
        user: a.user.clone(),
        p: pa,
    };
    assert_eq!(
        status_of(&w, &sender, d, ids[3]).await,
        Some(MessageStatus::Read)
    );
}
