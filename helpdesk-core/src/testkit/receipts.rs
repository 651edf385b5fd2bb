//! Read receipts: `is_read` per caller, watermarks and gap closing, unread counts, the
//! sender's `status`, per-member receipts, concurrency and late joiners.

use std::sync::Arc;

use uuid::Uuid;

use super::{Who, World, expect_err};
use crate::Error;
use crate::conversation::ConversationFilter;
use crate::event::Effects;
use crate::message::MessagePageQuery;
use crate::receipt::{MARK_HISTORY, MessageStatus, Participant};
use crate::store::{DeliveryAdvance, Store};

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
    // Read through the store-backed view without counting as a fetch by someone else.
    w.hd.get_message(&who.p, conv, id).await.unwrap().status
}

/// Reading is per caller: one member's marks change nothing for another.
pub async fn is_read_is_per_caller(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let c = w.agent().await;
    let g = w.group(&a, &[&b, &c], "G").await;
    let m1 = w.send(&a, g, "one").await.message;
    w.send(&a, g, "two").await;
    w.hd.mark_read(&b.p, g, m1.id).await.unwrap();
    assert_eq!(is_read(&w, &b, g).await, vec![true, false]);
    assert_eq!(is_read(&w, &c, g).await, vec![false, false]);
    assert_eq!(unread(&w, &b, g).await, 1);
    assert_eq!(unread(&w, &c, g).await, 2);
}

/// A caller's own messages are always read, and never unread.
pub async fn own_messages_are_read(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    w.send(&b, d, "theirs").await;
    w.send(&a, d, "mine").await;
    w.send(&b, d, "theirs again").await;
    assert_eq!(is_read(&w, &a, d).await, vec![false, true, false]);
    assert_eq!(unread(&w, &a, d).await, 2);
    assert_eq!(unread(&w, &b, d).await, 1);
    assert!(w.send(&a, d, "mine again").await.is_read);
}

/// Marking one message read above the watermark leaves it in place until the gap
/// closes; then the watermark jumps over everything read.
pub async fn mark_one_and_gap_closing(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(w.send(&a, d, &format!("m{i}")).await.message.id);
    }
    let s = w.hd.mark_read(&b.p, d, ids[2]).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (0, 4));
    assert_eq!(s.conversation_id, d);
    let s = w.hd.mark_read(&b.p, d, ids[1]).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (0, 3));
    assert_eq!(
        is_read(&w, &b, d).await,
        vec![false, true, true, false, false]
    );
    let s = w.hd.mark_read(&b.p, d, ids[0]).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (3, 2));
    let s = w.hd.mark_read(&b.p, d, ids[4]).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (3, 1));
    // b's own message in between closes over too.
    w.send(&b, d, "mine").await;
    let s = w.hd.mark_read(&b.p, d, ids[3]).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (6, 0));
    expect_err!(
        w.hd.mark_read(&b.p, d, Uuid::now_v7()).await,
        Error::NotFound
    );
}

/// Marking everything read zeroes the count and moves the watermark to the end.
pub async fn mark_all_read(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    for i in 0..7 {
        w.send(&a, d, &format!("m{i}")).await;
    }
    let s = w.hd.mark_all_read(&b.p, d).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (7, 0));
    assert!(is_read(&w, &b, d).await.iter().all(|r| *r));
    assert_eq!(unread(&w, &b, d).await, 0);
    w.send(&a, d, "new").await;
    assert_eq!(unread(&w, &b, d).await, 1);
    assert_eq!(w.hd.unread_overview(&b.p).await.unwrap().total_unread, 1);
}

/// Read-up-to marks everything up to a message; an older one un-reads nothing.
pub async fn read_up_to_never_goes_backwards(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(w.send(&a, d, &format!("m{i}")).await.message.id);
    }
    let s = w.hd.mark_read_up_to(&b.p, d, ids[4]).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (5, 3));
    let s = w.hd.mark_read_up_to(&b.p, d, ids[1]).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (5, 3));
    let s = w.hd.mark_all_read(&b.p, d).await.unwrap();
    assert_eq!(s.last_read_seq, 8);
    let s = w.hd.mark_read_up_to(&b.p, d, ids[0]).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (8, 0));
    let s = w.hd.mark_read(&b.p, d, ids[2]).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (8, 0));
    assert!(is_read(&w, &b, d).await.iter().all(|r| *r));
}

/// Marks are idempotent and write no event the second time.
pub async fn marks_are_idempotent(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let m = w.send(&a, d, "m").await.message;
    w.send(&a, d, "n").await;
    let first = w.hd.mark_read(&b.p, d, m.id).await.unwrap();
    let after_first = w.last_event().await;
    assert_eq!(w.hd.mark_read(&b.p, d, m.id).await.unwrap(), first);
    assert_eq!(w.hd.mark_read_up_to(&b.p, d, m.id).await.unwrap(), first);
    assert_eq!(w.last_event().await, after_first);
    let all = w.hd.mark_all_read(&b.p, d).await.unwrap();
    let after_all = w.last_event().await;
    assert_eq!(w.hd.mark_all_read(&b.p, d).await.unwrap(), all);
    assert_eq!(w.last_event().await, after_all);
}

/// The overview lists only conversations with unread messages, with the right counts
/// and total.
pub async fn unread_overview_per_conversation_and_total(store: Arc<dyn Store>) {
    let w = World::new(store);
    let me = w.agent().await;
    let x = w.agent().await;
    let y = w.agent().await;
    let dx = w.direct(&me, &x).await;
    let dy = w.direct(&me, &y).await;
    let g = w.group(&x, &[&me, &y], "G").await;
    for _ in 0..3 {
        w.send(&x, dx, "x").await;
    }
    w.send(&y, dy, "y").await;
    w.send(&me, g, "mine").await;
    let o = w.hd.unread_overview(&me.p).await.unwrap();
    assert_eq!(o.total_unread, 4);
    let mut got: Vec<(Uuid, u64)> = o
        .conversations
        .iter()
        .map(|c| (c.conversation_id, c.unread_count))
        .collect();
    got.sort();
    let mut want = vec![(dx, 3), (dy, 1)];
    want.sort();
    assert_eq!(got, want);
    w.hd.mark_all_read(&me.p, dx).await.unwrap();
    let o = w.hd.unread_overview(&me.p).await.unwrap();
    assert_eq!(o.total_unread, 1);
    assert_eq!(o.conversations.len(), 1);
    assert_eq!(o.conversations[0].conversation_id, dy);
    let fresh = w.agent().await;
    let o = w.hd.unread_overview(&fresh.p).await.unwrap();
    assert_eq!((o.total_unread, o.conversations.len()), (0, 0));
}

/// Messages a customer cannot see count as read: notes never add to their unread, and
/// a mark closes over them.
pub async fn invisible_messages_count_as_read(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let a = w.agent().await;
    let t = w.ticket(&c, "Help").await;
    let conv = t.conversation_id;
    let p1 = w.send(&a, conv, "p1").await.message;
    w.note(&a, conv, "n1").await;
    w.note(&a, conv, "n2").await;
    let p2 = w.send(&a, conv, "p2").await.message;
    w.note(&a, conv, "n3").await;
    assert_eq!(unread(&w, &c, conv).await, 2);
    let s = w.hd.mark_read(&c.p, conv, p1.id).await.unwrap();
    assert_eq!(s.unread_count, 1);
    assert_eq!(s.last_read_seq, 3);
    let s = w.hd.mark_read(&c.p, conv, p2.id).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (5, 0));
    assert_eq!(w.hd.unread_overview(&c.p).await.unwrap().total_unread, 0);
    // Staff count the notes.
    let a2 = w.agent().await;
    w.send(&a2, conv, "joined").await;
    assert_eq!(unread(&w, &a, conv).await, 1);
    // A customer cannot mark a note.
    let n4 = w.note(&a, conv, "n4").await.message;
    expect_err!(w.hd.mark_read(&c.p, conv, n4.id).await, Error::NotFound);
    expect_err!(
        w.hd.mark_read_up_to(&c.p, conv, n4.id).await,
        Error::NotFound
    );
    assert_eq!(unread(&w, &c, conv).await, 1);
}

/// The sender sees sent, then delivered once the other member fetched it, then read.
pub async fn status_sent_delivered_read(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let sent = w.send(&a, d, "hello").await;
    assert_eq!(sent.status, Some(MessageStatus::Sent));
    let m = sent.message;
    assert_eq!(status_of(&w, &a, d, m.id).await, Some(MessageStatus::Sent));
    // The other member lists messages: delivered.
    let theirs =
        w.hd.list_messages(&b.p, d, MessagePageQuery::default())
            .await
            .unwrap();
    assert_eq!(theirs.items[0].status, None);
    assert_eq!(
        status_of(&w, &a, d, m.id).await,
        Some(MessageStatus::Delivered)
    );
    w.hd.mark_read(&b.p, d, m.id).await.unwrap();
    assert_eq!(status_of(&w, &a, d, m.id).await, Some(MessageStatus::Read));
    // A second message: get and thread count as delivery too.
    let m2 = w.send(&a, d, "again").await.message;
    assert_eq!(status_of(&w, &a, d, m2.id).await, Some(MessageStatus::Sent));
    w.hd.get_message(&b.p, d, m2.id).await.unwrap();
    assert_eq!(
        status_of(&w, &a, d, m2.id).await,
        Some(MessageStatus::Delivered)
    );
    let reply =
        w.hd.send_message(
            &a.p,
            d,
            crate::message::NewMessage::reply("threaded", m2.id),
        )
        .await
        .unwrap()
        .message;
    w.hd.thread(&b.p, d, m2.id).await.unwrap();
    assert_eq!(
        status_of(&w, &a, d, reply.id).await,
        Some(MessageStatus::Delivered)
    );
    // The first stays read.
    assert_eq!(status_of(&w, &a, d, m.id).await, Some(MessageStatus::Read));
}

/// In a group, delivered and read wait for every other member.
pub async fn status_waits_for_every_group_member(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let c = w.agent().await;
    let g = w.group(&a, &[&b, &c], "G").await;
    let m = w.send(&a, g, "all of you").await.message;
    w.hd.list_messages(&b.p, g, MessagePageQuery::default())
        .await
        .unwrap();
    assert_eq!(status_of(&w, &a, g, m.id).await, Some(MessageStatus::Sent));
    w.hd.list_messages(&c.p, g, MessagePageQuery::default())
        .await
        .unwrap();
    assert_eq!(
        status_of(&w, &a, g, m.id).await,
        Some(MessageStatus::Delivered)
    );
    w.hd.mark_all_read(&b.p, g).await.unwrap();
    assert_eq!(
        status_of(&w, &a, g, m.id).await,
        Some(MessageStatus::Delivered)
    );
    w.hd.mark_all_read(&c.p, g).await.unwrap();
    assert_eq!(status_of(&w, &a, g, m.id).await, Some(MessageStatus::Read));
    // A member who leaves no longer holds it back.
    let m2 = w.send(&a, g, "again").await.message;
    w.hd.mark_all_read(&b.p, g).await.unwrap();
    w.hd.remove_member(&a.p, g, c.id()).await.unwrap();
    assert_eq!(status_of(&w, &a, g, m2.id).await, Some(MessageStatus::Read));
}

/// The conversation list's last message is not a delivery.
pub async fn last_message_in_list_is_not_delivery(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let m = w.send(&a, d, "hi").await.message;
    let listed =
        w.hd.list_conversations(&b.p, ConversationFilter::default())
            .await
            .unwrap();
    assert_eq!(
        listed.items[0].last_message.as_ref().map(|x| x.message.id),
        Some(m.id)
    );
    w.hd.get_conversation(&b.p, d).await.unwrap();
    w.hd.unread_overview(&b.p).await.unwrap();
    assert_eq!(status_of(&w, &a, d, m.id).await, Some(MessageStatus::Sent));
}

/// Receipts list one entry per other member with delivery and read times.
pub async fn receipts_list_times(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let c = w.agent().await;
    let g = w.group(&a, &[&b, &c], "G").await;
    let t0 = w.hd.now();
    let m = w.send(&a, g, "tracked").await.message;
    w.tick();
    let t1 = w.hd.now();
    w.hd.list_messages(&b.p, g, MessagePageQuery::default())
        .await
        .unwrap();
    w.tick();
    let t2 = w.hd.now();
    w.hd.mark_read(&b.p, g, m.id).await.unwrap();
    let mut r = w.hd.receipts(&a.p, g, m.id).await.unwrap();
    r.sort_by_key(|x| x.user_id);
    assert_eq!(r.len(), 2);
    let rb = r.iter().find(|x| x.user_id == b.id()).unwrap();
    let rc = r.iter().find(|x| x.user_id == c.id()).unwrap();
    assert_eq!((rb.delivered_at, rb.read_at), (Some(t1), Some(t2)));
    assert_eq!((rc.delivered_at, rc.read_at), (None, None));
    assert!(t0 < t1);
    // Reading without a fetch first counts as delivery at the read time.
    w.tick();
    let t3 = w.hd.now();
    w.hd.mark_all_read(&c.p, g).await.unwrap();
    let r = w.hd.receipts(&a.p, g, m.id).await.unwrap();
    let rc = r.iter().find(|x| x.user_id == c.id()).unwrap();
    assert_eq!((rc.delivered_at, rc.read_at), (Some(t3), Some(t3)));
    assert!(r.iter().all(|x| x.user_id != a.id()));
}

/// Only the sender and staff see receipts.
pub async fn receipts_visible_to_sender_and_staff_only(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let a = w.agent().await;
    let a2 = w.agent().await;
    let g = w.group(&a, &[&c, &a2], "G").await;
    let m = w.send(&a2, g, "x").await.message;
    let mine = w.send(&c, g, "y").await.message;
    expect_err!(w.hd.receipts(&c.p, g, m.id).await, Error::Forbidden(_));
    assert_eq!(w.hd.receipts(&a.p, g, m.id).await.unwrap().len(), 2);
    assert_eq!(w.hd.receipts(&c.p, g, mine.id).await.unwrap().len(), 2);
    let outsider = w.customer().await;
    expect_err!(w.hd.receipts(&outsider.p, g, m.id).await, Error::NotFound);
}

/// Read-up-to and mark-all on a conversation with many messages give exact counts.
pub async fn many_messages_read_up_to_and_all(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let mut ids = Vec::new();
    for i in 0..300 {
        let who = if i % 10 == 9 { &b } else { &a };
        ids.push(w.send(who, d, "m").await.message.id);
    }
    // b sent 30 (every tenth), a 270.
    assert_eq!(unread(&w, &b, d).await, 270);
    let s = w.hd.mark_read_up_to(&b.p, d, ids[149]).await.unwrap();
    assert_eq!(s.last_read_seq, 150);
    assert_eq!(s.unread_count, 135);
    let s = w.hd.mark_all_read(&b.p, d).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (300, 0));
    assert_eq!(unread(&w, &a, d).await, 30);
    let s = w.hd.mark_read_up_to(&a.p, d, ids[299]).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (300, 0));
}

/// Simultaneous marks only ever move the watermark forward: it ends at the highest.
pub async fn concurrent_marks_only_move_forward(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(w.send(&a, d, &format!("m{i}")).await.message.id);
    }
    let mut tasks = Vec::new();
    for i in 0..16usize {
        let hd = w.hd.clone();
        let p = b.p;
        let target = ids[(i * 7) % 32];
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                hd.mark_read_up_to(&p, d, target).await
            } else {
                hd.mark_read(&p, d, target).await
            }
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let max_up_to = (0..16usize)
        .filter(|i| i % 2 == 0)
        .map(|i| (i * 7) % 32 + 1)
        .max()
        .unwrap() as u64;
    let s = w.hd.mark_read_up_to(&b.p, d, ids[0]).await.unwrap();
    assert!(s.last_read_seq >= max_up_to, "{s:?}");
    let read = is_read(&w, &b, d).await;
    for i in 0..16usize {
        assert!(
            read[(i * 7) % 32],
            "message {} lost its read mark",
            (i * 7) % 32 + 1
        );
    }
    let read_count = read.iter().filter(|r| **r).count() as u64;
    assert_eq!(s.unread_count, 40 - read_count);
}

/// A late joiner of a group does not inherit the history as unread; only what comes
/// after.
pub async fn joining_late_reads_history(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let late = w.agent().await;
    let g = w.group(&a, &[&b], "G").await;
    for _ in 0..5 {
        w.send(&a, g, "before").await;
    }
    w.hd.add_member(&a.p, g, late.id()).await.unwrap();
    assert_eq!(unread(&w, &late, g).await, 0);
    w.send(&b, g, "after").await;
    w.send(&a, g, "after 2").await;
    assert_eq!(unread(&w, &late, g).await, 2);
    assert_eq!(w.hd.unread_overview(&late.p).await.unwrap().total_unread, 2);
    let s = w.hd.mark_all_read(&late.p, g).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (7, 0));
    // Leave, miss messages, rejoin: still nothing unread from the gap.
    w.hd.remove_member(&late.p, g, late.id()).await.unwrap();
    w.send(&a, g, "while away").await;
    w.hd.add_member(&a.p, g, late.id()).await.unwrap();
    assert_eq!(unread(&w, &late, g).await, 0);
    w.send(&late, g, "back").await;
    w.send(&a, g, "welcome").await;
    assert_eq!(unread(&w, &late, g).await, 1);
}

/// Each mark that moves something emits `message.read` with the new watermark.
pub async fn mark_read_emits_event(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let m = w.send(&a, d, "m").await.message;
    let before = w.last_event().await;
    w.hd.mark_read(&b.p, d, m.id).await.unwrap();
    let events = w.store.events_after(before, 10).await.unwrap();
    let read: Vec<_> = events
        .iter()
        .filter(|e| e.kind == crate::event::EventKind::MessageRead)
        .collect();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].data["conversation_id"], serde_json::json!(d));
    assert_eq!(read[0].data["user_id"], serde_json::json!(b.id()));
    assert_eq!(read[0].data["last_read_seq"], serde_json::json!(1));
    assert_eq!(read[0].data["message_id"], serde_json::json!(m.id));
    assert!(w.hd.may_see(&a.p, read[0]).await.unwrap());
}

/// For an internal note, delivered and read consider the staff members only.
pub async fn internal_note_status_counts_staff_only(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let a = w.agent().await;
    let a2 = w.agent().await;
    let t = w.ticket(&c, "Help").await;
    let conv = t.conversation_id;
    w.send(&a, conv, "joining").await;
    w.send(&a2, conv, "me too").await;
    let note = w.note(&a, conv, "between us").await.message;
    assert_eq!(
        status_of(&w, &a, conv, note.id).await,
        Some(MessageStatus::Sent)
    );
    w.hd.mark_all_read(&a2.p, conv).await.unwrap();
    assert_eq!(
        status_of(&w, &a, conv, note.id).await,
        Some(MessageStatus::Read)
    );
    let r = w.hd.receipts(&a.p, conv, note.id).await.unwrap();
    assert_eq!(
        r.iter().map(|x| x.user_id).collect::<Vec<_>>(),
        vec![a2.id()]
    );
}

/// Messages pushed on live connections are delivered to each member who got them, one
/// `message.delivered` for the sender per member; a lower push changes nothing, a push
/// into a vanished conversation is ignored, and pushing again records nothing.
pub async fn pushed_deliveries_are_recorded_together(store: Arc<dyn Store>) {
    use crate::message::Pushed;
    let w = World::new(store);
    let a = w.agent().await;
    let mut members = Vec::new();
    // More members than the library reads one by one.
    for _ in 0..10 {
        members.push(w.agent().await);
    }
    let refs: Vec<&Who> = members.iter().collect();
    let g = w.group(&a, &refs, "G").await;
    let m1 = w.send(&a, g, "one").await.message;
    let m2 = w.send(&a, g, "two").await.message;
    let d = w.direct(&a, &members[0]).await;
    let md = w.send(&a, d, "direct").await.message;
    let push = |who: &Who, conversation_id: Uuid, seq: u64| Pushed {
        principal: who.p,
        conversation_id,
        seq,
        sender_id: Some(a.id()),
    };
    // All but the last member got m2; the first got m1 after it (a late, lower push).
    let mut pushed: Vec<Pushed> = members[..9].iter().map(|m| push(m, g, m2.seq)).collect();
    pushed.push(push(&members[0], g, m1.seq));
    pushed.push(push(&members[0], d, md.seq));
    pushed.push(push(&members[0], Uuid::now_v7(), 1));
    let before = w.last_event().await;
    w.hd.mark_pushed(&pushed).await.unwrap();

    let events = w.store.events_after(before, 100).await.unwrap();
    let delivered: Vec<_> = events
        .iter()
        .filter(|e| e.kind == crate::event::EventKind::MessageDelivered)
        .collect();
    assert_eq!(delivered.len(), 10, "nine in the group, one in the direct");
    for e in &delivered {
        assert!(w.hd.may_see(&a.p, e).await.unwrap());
    }
    let receipts = w.hd.receipts(&a.p, g, m2.id).await.unwrap();
    let reached = receipts.iter().filter(|r| r.delivered_at.is_some()).count();
    assert_eq!(reached, 9);
    // One member still lacks it: sent; then it reaches them too: delivered.
    assert_eq!(status_of(&w, &a, g, m2.id).await, Some(MessageStatus::Sent));
    assert_eq!(
        status_of(&w, &a, d, md.id).await,
        Some(MessageStatus::Delivered)
    );
    w.hd.mark_pushed(&[push(&members[9], g, m2.seq)])
        .await
        .unwrap();
    assert_eq!(
        status_of(&w, &a, g, m2.id).await,
        Some(MessageStatus::Delivered)
    );

    // Pushing again records nothing.
    let before = w.last_event().await;
    pushed.truncate(10);
    w.hd.mark_pushed(&pushed).await.unwrap();
    assert_eq!(w.event_kinds_after(before).await, Vec::<String>::new());

    // The store applies advances in order; an unknown conversation is not found.
    let x = w.agent().await;
    let advance = |seq| DeliveryAdvance {
        user_id: x.id(),
        seq,
        fx: Effects::none(),
        from: None,
    };
    let at = w.hd.now();
    let moved = w
        .store
        .advance_delivered(g, at, &[advance(1), advance(2), advance(1)])
        .await
        .unwrap();
    assert_eq!(moved, vec![true, true, false]);
    let x_state = w.store.get_participant(g, x.id()).await.unwrap().unwrap();
    assert_eq!(x_state.delivered_seq, 2);

    // An advance from the watermark as its caller read it: a record that moved since is
    // not written over (the watermark never falls, the move made meanwhile keeps its
    // mark), one that did not is.
    let over = |base: &Participant, seq| DeliveryAdvance {
        from: Some(base.delivered_seq),
        ..advance(seq)
    };
    let advanced = async |a: DeliveryAdvance| w.store.advance_delivered(g, at, &[a]).await;
    assert_eq!(advanced(advance(3)).await.unwrap(), vec![true]);
    assert_eq!(advanced(over(&x_state, 3)).await.unwrap(), vec![false]);
    assert_eq!(advanced(over(&x_state, 4)).await.unwrap(), vec![true]);
    let x_state = w.store.get_participant(g, x.id()).await.unwrap().unwrap();
    assert_eq!(advanced(over(&x_state, 5)).await.unwrap(), vec![true]);
    assert_eq!(advanced(over(&x_state, 5)).await.unwrap(), vec![false]);
    let x_state = w.store.get_participant(g, x.id()).await.unwrap().unwrap();
    assert_eq!(x_state.delivered_seq, 5);
    let marked: Vec<u64> = x_state.delivered_marks.iter().map(|m| m.seq).collect();
    assert!(marked.ends_with(&[2, 3, 4, 5]), "delivery marks {marked:?}");

    // Past the history's length, a move over the record read keeps the newest marks,
    // in order, each with its time.
    let last = 5 + MARK_HISTORY as u64 + 2;
    let mut x_state = x_state;
    for seq in 6..=last {
        assert_eq!(advanced(over(&x_state, seq)).await.unwrap(), vec![true]);
        x_state = w.store.get_participant(g, x.id()).await.unwrap().unwrap();
    }
    let marked: Vec<u64> = x_state.delivered_marks.iter().map(|m| m.seq).collect();
    let newest: Vec<u64> = (last + 1 - MARK_HISTORY as u64..=last).collect();
    assert_eq!(marked, newest);
    assert!(x_state.delivered_marks.iter().all(|m| m.at == at && !m.one));

    // The watermarks a delivery reads: of the users asked who have a record, a handful
    // or many.
    let stranger = Uuid::now_v7();
    let mut asked = vec![x.id(), a.id(), stranger];
    let mut got = w.store.delivery_watermarks(g, &asked).await.unwrap();
    got.sort();
    let sender = w.store.get_participant(g, a.id()).await.unwrap().unwrap();
    let mut want = vec![(x.id(), last), (a.id(), sender.delivered_seq)];
    want.sort();
    assert_eq!(got, want);
    asked.extend(members.iter().map(|m| m.id()));
    let got = w.store.delivery_watermarks(g, &asked).await.unwrap();
    assert_eq!(got.len(), 2 + members.len());
    assert!(got.contains(&(x.id(), last)));
    assert!(got.contains(&(members[9].id(), m2.seq)));
    assert!(!got.iter().any(|(u, _)| *u == stranger));
    expect_err!(
        w.store
            .advance_delivered(Uuid::now_v7(), at, &[advance(1)])
            .await,
        crate::StoreError::NotFound
    );
}
