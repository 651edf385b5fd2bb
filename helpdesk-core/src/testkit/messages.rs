//! Messages: per-conversation seq, nested replies and threads, internal notes, edits,
//! soft deletes, the three ways of paging, attachments.

use std::collections::HashSet;
use std::sync::Arc;

use uuid::Uuid;

use super::{Who, World, expect_err};
use crate::Error;
use crate::conversation::ConversationFilter;
use crate::message::{MessagePageQuery, MessageView, NewMessage};
use crate::store::Store;

async fn page(
    w: &World,
    who: &Who,
    conv: Uuid,
    q: MessagePageQuery,
) -> (Vec<u64>, Option<crate::Cursor>) {
    let p = w.hd.list_messages(&who.p, conv, q).await.unwrap();
    (
        p.items.iter().map(|m| m.message.seq).collect(),
        p.next_cursor,
    )
}

fn limit(n: usize) -> MessagePageQuery {
    MessagePageQuery {
        limit: Some(n),
        ..Default::default()
    }
}

async fn ticket_with_agent(w: &World) -> (Who, Who, crate::ticket::Ticket) {
    let c = w.customer().await;
    let a = w.agent().await;
    let t = w.ticket(&c, "Help").await;
    (c, a, t)
}

/// Seqs run 1, 2, 3, ... per conversation, independently.
pub async fn seq_counts_from_one(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let c = w.agent().await;
    let x = w.direct(&a, &b).await;
    let y = w.direct(&a, &c).await;
    for i in 1..=5u64 {
        assert_eq!(w.send(&a, x, "x").await.message.seq, i);
        if i <= 3 {
            assert_eq!(w.send(&c, y, "y").await.message.seq, i);
        }
    }
    let m = w.send(&b, x, "last").await.message;
    assert_eq!(m.seq, 6);
    assert_eq!(m.sender_id, Some(b.id()));
    assert_eq!(m.conversation_id, x);
    assert_eq!(m.content, "last");
    assert_eq!((m.edited_at, m.deleted_at, m.parent_id), (None, None, None));
    assert_eq!(page(&w, &a, x, limit(50)).await.0, vec![1, 2, 3, 4, 5, 6]);
}

/// 32 simultaneous senders get seqs 1..=32: no collisions, no gaps.
pub async fn concurrent_senders_get_gapless_seqs(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let g = w.group(&a, &[&b], "Busy").await;
    let mut tasks = Vec::new();
    for i in 0..32 {
        let hd = w.hd.clone();
        let p = if i % 2 == 0 { a.p } else { b.p };
        tasks.push(tokio::spawn(async move {
            hd.send_message(&p, g, NewMessage::text(&format!("m{i}")))
                .await
                .unwrap()
                .message
                .seq
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (1..=32).collect::<Vec<u64>>());
    assert_eq!(
        page(&w, &a, g, limit(50)).await.0,
        (1..=32).collect::<Vec<u64>>()
    );
    let conv = w.hd.get_conversation(&a.p, g).await.unwrap();
    assert_eq!(conv.last_message.map(|m| m.message.seq), Some(32));
}

/// A send whose readability was checked before other writes to the conversation (a
/// message by another member, the sender's own read mark) takes the next seq and keeps
/// what those writes did: the read mark is not undone, the counters add up.
pub async fn send_after_writes_since_its_check(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let a = w.agent().await;
    let b = w.agent().await;
    let g = w.group(&a, &[&b], "Checked").await;
    w.send(&b, g, "one").await;
    let checked = w.hd.check_readable(&a.p, g).await.unwrap();
    w.send(&b, g, "two").await;
    let sent =
        w.hd.send_message_to(&a.p, checked, NewMessage::text("three"))
            .await
            .unwrap()
            .message;
    assert_eq!(
        (sent.seq, sent.public_ordinal, sent.sender_ordinal),
        (3, 3, 1)
    );

    let four = w.send(&b, g, "four").await.message;
    let checked = w.hd.check_readable(&a.p, g).await.unwrap();
    w.hd.mark_read_up_to(&a.p, g, four.id).await.unwrap();
    let sent =
        w.hd.send_message_to(&a.p, checked, NewMessage::text("five"))
            .await
            .unwrap()
            .message;
    assert_eq!((sent.seq, sent.sender_ordinal), (5, 2));
    let mine = store.get_participant(g, a.id()).await.unwrap().unwrap();
    // Read up to four, then over their own five.
    assert_eq!((mine.last_read_seq, mine.sent_count), (5, 2));
    let conv = store.get_conversation(g).await.unwrap().unwrap();
    assert_eq!((conv.last_seq, conv.public_count), (5, 5));
}

/// Replies nest to any depth; `reply_count` counts direct replies; a thread lists every
/// descendant oldest first with its depth.
pub async fn replies_nest_to_any_depth(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let root = w.send(&a, d, "root").await.message;
    let mut parent = root.id;
    let mut chain = Vec::new();
    for depth in 1..=6 {
        let who = if depth % 2 == 0 { &a } else { &b };
        let m =
            w.hd.send_message(&who.p, d, NewMessage::reply(&format!("d{depth}"), parent))
                .await
                .unwrap()
                .message;
        assert_eq!(m.parent_id, Some(parent));
        chain.push(m.id);
        parent = m.id;
    }
    w.send(&a, d, "unrelated").await;
    let second =
        w.hd.send_message(&b.p, d, NewMessage::reply("another", root.id))
            .await
            .unwrap()
            .message;
    let root_now = w.hd.get_message(&a.p, d, root.id).await.unwrap().message;
    assert_eq!(root_now.reply_count, 2);
    let first_reply = w.hd.get_message(&a.p, d, chain[0]).await.unwrap().message;
    assert_eq!(first_reply.reply_count, 1);
    let last = w.hd.get_message(&a.p, d, chain[5]).await.unwrap().message;
    assert_eq!(last.reply_count, 0);
    let thread = w.hd.thread(&b.p, d, root.id).await.unwrap();
    let got: Vec<(Uuid, u32)> = thread
        .iter()
        .map(|t| (t.message.message.id, t.depth))
        .collect();
    let mut want: Vec<(Uuid, u32)> = chain.iter().copied().zip(1..).collect();
    want.push((second.id, 1));
    assert_eq!(got, want);
    assert!(
        thread
            .windows(2)
            .all(|p| p[0].message.message.seq < p[1].message.message.seq)
    );
    let sub = w.hd.thread(&a.p, d, chain[3]).await.unwrap();
    assert_eq!(
        sub.iter()
            .map(|t| (t.message.message.id, t.depth))
            .collect::<Vec<_>>(),
        vec![(chain[4], 1), (chain[5], 2)]
    );
    assert!(w.hd.thread(&a.p, d, chain[5]).await.unwrap().is_empty());
}

/// A parent from another conversation (or none at all) is a validation error and
/// nothing is stored.
pub async fn parent_in_other_conversation_is_invalid(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let c = w.agent().await;
    let x = w.direct(&a, &b).await;
    let y = w.direct(&a, &c).await;
    let in_y = w.send(&a, y, "elsewhere").await.message;
    for parent in [in_y.id, Uuid::now_v7()] {
        expect_err!(
            w.hd.send_message(&a.p, x, NewMessage::reply("re", parent))
                .await,
            Error::Validation(_)
        );
    }
    assert!(page(&w, &a, x, limit(50)).await.0.is_empty());
    let y_now = w.hd.get_message(&a.p, y, in_y.id).await.unwrap().message;
    assert_eq!(y_now.reply_count, 0);
    expect_err!(w.hd.get_message(&a.p, x, in_y.id).await, Error::NotFound);
}

/// Internal notes are not in a customer's lists, and their seqs leave gaps.
pub async fn internal_notes_hidden_from_customers_in_lists(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (c, a, t) = ticket_with_agent(&w).await;
    let conv = t.conversation_id;
    w.send(&c, conv, "question").await;
    let note = w.note(&a, conv, "customer seems confused").await;
    assert!(note.message.internal);
    w.send(&a, conv, "answer").await;
    assert_eq!(page(&w, &c, conv, limit(50)).await.0, vec![1, 3]);
    assert_eq!(page(&w, &a, conv, limit(50)).await.0, vec![1, 2, 3]);
    let other_agent = w.agent().await;
    assert_eq!(
        page(&w, &other_agent, conv, limit(50)).await.0,
        vec![1, 2, 3]
    );
}

/// Customers get `NotFound` for a note, and threads leave notes (and their replies)
/// out.
pub async fn internal_notes_hidden_from_customers_in_get_and_thread(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (c, a, t) = ticket_with_agent(&w).await;
    let conv = t.conversation_id;
    let q = w.send(&c, conv, "question").await.message;
    let note =
        w.hd.send_message(
            &a.p,
            conv,
            NewMessage {
                content: "internal reply".into(),
                parent_id: Some(q.id),
                internal: true,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .message;
    let public =
        w.hd.send_message(&a.p, conv, NewMessage::reply("public reply", q.id))
            .await
            .unwrap()
            .message;
    expect_err!(w.hd.get_message(&c.p, conv, note.id).await, Error::NotFound);
    expect_err!(w.hd.thread(&c.p, conv, note.id).await, Error::NotFound);
    expect_err!(
        w.hd.send_message(&c.p, conv, NewMessage::reply("re", note.id))
            .await,
        Error::Validation(_)
    );
    let thread = w.hd.thread(&c.p, conv, q.id).await.unwrap();
    assert_eq!(
        thread
            .iter()
            .map(|t| t.message.message.id)
            .collect::<Vec<_>>(),
        vec![public.id]
    );
    let staff_thread = w.hd.thread(&a.p, conv, q.id).await.unwrap();
    assert_eq!(staff_thread.len(), 2);
    expect_err!(
        w.hd.list_messages(
            &c.p,
            conv,
            MessagePageQuery {
                before: Some(note.id),
                ..Default::default()
            }
        )
        .await,
        Error::NotFound
    );
}

/// Notes count for no customer: not unread, not the last message.
pub async fn internal_notes_hidden_from_customers_in_counts(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (c, a, t) = ticket_with_agent(&w).await;
    let conv = t.conversation_id;
    let public = w.send(&a, conv, "public").await.message;
    w.note(&a, conv, "note 1").await;
    w.note(&a, conv, "note 2").await;
    let vc = w.hd.get_conversation(&c.p, conv).await.unwrap();
    assert_eq!(vc.unread_count, 1);
    assert_eq!(vc.last_message.map(|m| m.message.id), Some(public.id));
    let overview = w.hd.unread_overview(&c.p).await.unwrap();
    assert_eq!(overview.total_unread, 1);
    let va = w.hd.get_conversation(&a.p, conv).await.unwrap();
    assert_eq!(va.last_message.map(|m| m.message.seq), Some(3));
    let listed =
        w.hd.list_conversations(&c.p, ConversationFilter::default())
            .await
            .unwrap();
    assert_eq!(listed.items[0].unread_count, 1);
    assert_eq!(
        listed.items[0].last_message.as_ref().map(|m| m.message.id),
        Some(public.id)
    );
}

/// No event of a note reaches a customer; staff members see them.
pub async fn internal_notes_hidden_from_customers_in_events(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (c, a, t) = ticket_with_agent(&w).await;
    let conv = t.conversation_id;
    w.send(&a, conv, "join").await;
    let before = w.last_event().await;
    let note = w.note(&a, conv, "secret").await.message;
    w.hd.edit_message(&a.p, conv, note.id, "secret 2")
        .await
        .unwrap();
    w.hd.delete_message(&a.p, conv, note.id).await.unwrap();
    let events = w.store.events_after(before, 1000).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == crate::event::EventKind::MessageCreated)
            && events
                .iter()
                .any(|e| e.kind == crate::event::EventKind::MessageUpdated)
            && events
                .iter()
                .any(|e| e.kind == crate::event::EventKind::MessageDeleted)
    );
    for e in &events {
        assert!(!w.hd.may_see(&c.p, e).await.unwrap(), "{} leaked", e.kind);
        assert!(!e.data.to_string().contains("secret") || e.audience.staff_only);
    }
    let message_events: Vec<_> = events
        .iter()
        .filter(|e| e.kind.as_str().starts_with("message."))
        .collect();
    for e in message_events {
        assert!(w.hd.may_see(&a.p, e).await.unwrap(), "{}", e.kind);
    }
}

/// A reply by `who` to `parent`, internal or not.
async fn reply(w: &World, who: &Who, conv: Uuid, parent: Uuid, internal: bool) -> MessageView {
    w.hd.send_message(
        &who.p,
        conv,
        NewMessage {
            content: if internal {
                "internal reply"
            } else {
                "public reply"
            }
            .into(),
            parent_id: Some(parent),
            internal,
            ..Default::default()
        },
    )
    .await
    .expect("send reply")
}

/// The `reply_count` of a message as `who` gets it, and as `who`'s first page of the
/// conversation lists it.
async fn reply_counts(w: &World, who: &Who, conv: Uuid, id: Uuid) -> (u64, u64) {
    let got = w.hd.get_message(&who.p, conv, id).await.unwrap().message;
    let page = w.hd.list_messages(&who.p, conv, limit(50)).await.unwrap();
    let listed = page
        .items
        .iter()
        .find(|v| v.message.id == id)
        .expect("the message is listed");
    (got.reply_count, listed.message.reply_count)
}

/// A customer's `reply_count` counts the replies they can see: an internal reply to
/// their message, deleted or not, is not counted for them (get, list, thread, the
/// conversation's last message), while staff count every direct reply.
pub async fn internal_replies_not_counted_for_customers(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (c, a, t) = ticket_with_agent(&w).await;
    let conv = t.conversation_id;
    let q = w.send(&c, conv, "question").await.message;
    let public = reply(&w, &a, conv, q.id, false).await.message;
    let note = reply(&w, &a, conv, q.id, true).await.message;
    let counts = |who| reply_counts(&w, who, conv, q.id);
    assert_eq!(counts(&c).await, (1, 1), "the customer sees one reply");
    assert_eq!(counts(&a).await, (2, 2), "staff see both");
    let other_agent = w.agent().await;
    assert_eq!(counts(&other_agent).await, (2, 2));
    // A thread's messages count the same way: the public reply gets a note of its own.
    reply(&w, &a, conv, public.id, true).await;
    let thread = w.hd.thread(&c.p, conv, q.id).await.unwrap();
    assert_eq!(
        thread
            .iter()
            .map(|i| (i.message.message.id, i.message.message.reply_count))
            .collect::<Vec<_>>(),
        vec![(public.id, 0)]
    );
    let staff_thread = w.hd.thread(&a.p, conv, q.id).await.unwrap();
    assert_eq!(staff_thread[0].message.message.reply_count, 1);
    // The customer's conversation view ends at the public reply.
    let vc = w.hd.get_conversation(&c.p, conv).await.unwrap();
    let last = vc.last_message.expect("a last message").message;
    assert_eq!((last.id, last.reply_count), (public.id, 0));
    // A deleted note keeps its place, for staff only.
    w.hd.delete_message(&a.p, conv, note.id).await.unwrap();
    assert_eq!(
        counts(&c).await,
        (1, 1),
        "a deleted note still does not count"
    );
    assert_eq!(counts(&a).await, (2, 2));
    // A public reply after the note counts for everyone.
    reply(&w, &a, conv, q.id, false).await;
    assert_eq!(counts(&c).await, (2, 2));
    assert_eq!(counts(&a).await, (3, 3));
}

/// An edit's `message.updated` event reaches customers with the count they may see,
/// whoever edits.
pub async fn internal_replies_not_counted_in_events(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (c, a, t) = ticket_with_agent(&w).await;
    let conv = t.conversation_id;
    let q = w.send(&c, conv, "question").await.message;
    let answer = reply(&w, &a, conv, q.id, false).await.message;
    reply(&w, &a, conv, q.id, true).await;
    reply(&w, &a, conv, answer.id, true).await;
    let before = w.last_event().await;
    w.hd.edit_message(&c.p, conv, q.id, "question, edited")
        .await
        .unwrap();
    let staff_view =
        w.hd.edit_message(&a.p, conv, answer.id, "answer, edited")
            .await
            .unwrap();
    assert_eq!(staff_view.message.reply_count, 1, "the editor is staff");
    let events = w.store.events_after(before, 100).await.unwrap();
    let updated: Vec<_> = events
        .iter()
        .filter(|e| e.kind == crate::event::EventKind::MessageUpdated)
        .collect();
    assert_eq!(updated.len(), 2);
    for (e, id, count) in [(updated[0], q.id, 1), (updated[1], answer.id, 0)] {
        assert!(w.hd.may_see(&c.p, e).await.unwrap());
        assert_eq!(e.data["message"]["id"], serde_json::json!(id));
        assert_eq!(e.data["message"]["reply_count"], serde_json::json!(count));
    }
}

/// An archive written before `internal_reply_count` existed (its message records lack
/// it) imports with the counts recounted: customers and staff see what they saw, and
/// the import exports the same bytes as the store it came from.
pub async fn archive_without_internal_reply_counts_imports_them(store: Arc<dyn Store>) {
    use crate::Principal;
    let m = World::new(super::memory());
    let (c, a, t) = ticket_with_agent(&m).await;
    let conv = t.conversation_id;
    let q = m.send(&c, conv, "question").await.message;
    let answer = reply(&m, &a, conv, q.id, false).await.message;
    reply(&m, &a, conv, q.id, true).await;
    reply(&m, &a, conv, answer.id, true).await;
    let note = reply(&m, &a, conv, q.id, true).await.message;
    m.hd.delete_message(&a.p, conv, note.id).await.unwrap();
    let mut archive = Vec::new();
    m.hd.export_archive(&Principal::system(), &mut archive, &|_| {})
        .await
        .expect("export");
    let text = String::from_utf8(archive.clone()).unwrap();
    let field = ",\"internal_reply_count\":";
    assert_eq!(
        text.matches(field).count(),
        5,
        "every message has the field"
    );
    let mut old = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find(field) {
        old.push_str(&rest[..at]);
        rest = rest[at + field.len()..].trim_start_matches(|ch: char| ch.is_ascii_digit());
    }
    old.push_str(rest);
    assert!(!old.contains("internal_reply_count"));
    let w = World::new(store);
    w.hd.import_archive(&Principal::system(), old.as_bytes(), &|_| {})
        .await
        .expect("import an archive without the field");
    // Compared before any read: reading a message records its delivery.
    let mut again = Vec::new();
    w.hd.export_archive(&Principal::system(), &mut again, &|_| {})
        .await
        .expect("export the import");
    assert!(again == archive, "the import exports other bytes");
    for (who, q_count, answer_count) in [(&c, 1, 0), (&a, 3, 1)] {
        assert_eq!(reply_counts(&w, who, conv, q.id).await, (q_count, q_count));
        assert_eq!(
            reply_counts(&w, who, conv, answer.id).await,
            (answer_count, answer_count)
        );
    }
}

/// Only staff write notes, and only on ticket conversations.
pub async fn internal_notes_are_staff_and_ticket_only(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (c, a, t) = ticket_with_agent(&w).await;
    let note = NewMessage {
        content: "n".into(),
        internal: true,
        ..Default::default()
    };
    expect_err!(
        w.hd.send_message(&c.p, t.conversation_id, note.clone()).await,
        Error::ForbiddenField(f) if f == "internal"
    );
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    expect_err!(
        w.hd.send_message(&a.p, d, note.clone()).await,
        Error::Validation(_)
    );
    assert!(
        page(&w, &a, t.conversation_id, limit(10))
            .await
            .0
            .is_empty()
    );
    assert!(page(&w, &a, d, limit(10)).await.0.is_empty());
}

/// Only the sender edits, admins included; an edit sets `edited_at`.
pub async fn edit_by_sender_only(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let admin = w.admin().await;
    let g = w.group(&a, &[&admin], "G").await;
    let m = w.send(&a, g, "typo").await.message;
    w.tick();
    expect_err!(
        w.hd.edit_message(&admin.p, g, m.id, "hijack").await,
        Error::Forbidden(_)
    );
    let edited = w.hd.edit_message(&a.p, g, m.id, "fixed").await.unwrap();
    assert_eq!(edited.message.content, "fixed");
    assert_eq!(edited.message.edited_at, Some(w.hd.now()));
    let got = w.hd.get_message(&admin.p, g, m.id).await.unwrap().message;
    assert_eq!(got.content, "fixed");
    assert_eq!(got.edited_at, Some(w.hd.now()));
    assert_eq!(got.seq, m.seq);
    expect_err!(
        w.hd.edit_message(&a.p, g, m.id, "   ").await,
        Error::Validation(_)
    );
    let outsider = w.agent().await;
    expect_err!(
        w.hd.edit_message(&outsider.p, g, m.id, "x").await,
        Error::NotFound
    );
}

/// A deleted message keeps its place with empty content; sender or admin only;
/// edits after deletion are refused.
pub async fn delete_keeps_place(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let a = w.agent().await;
    let admin = w.admin().await;
    let g = w.group(&a, &[&c, &admin], "G").await;
    w.send(&a, g, "one").await;
    let two = w.send(&a, g, "two").await.message;
    let three = w.send(&c, g, "three").await.message;
    expect_err!(
        w.hd.delete_message(&c.p, g, two.id).await,
        Error::Forbidden(_)
    );
    w.tick();
    w.hd.delete_message(&a.p, g, two.id).await.unwrap();
    let msgs = w.hd.list_messages(&c.p, g, limit(10)).await.unwrap().items;
    assert_eq!(
        msgs.iter().map(|m| m.message.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(msgs[1].message.content, "");
    assert_eq!(msgs[1].message.deleted_at, Some(w.hd.now()));
    expect_err!(
        w.hd.edit_message(&a.p, g, two.id, "back").await,
        Error::Conflict(_)
    );
    // Deleting again is harmless; an admin may delete anyone's message.
    w.hd.delete_message(&a.p, g, two.id).await.unwrap();
    w.hd.delete_message(&admin.p, g, three.id).await.unwrap();
    let got = w.hd.get_message(&c.p, g, three.id).await.unwrap().message;
    assert!(got.deleted_at.is_some() && got.content.is_empty());
}

/// Without before/after: the newest page oldest to newest, then older pages through
/// the cursor, then the end.
pub async fn pages_latest_then_older(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    for i in 0..25 {
        w.send(&a, d, &format!("m{i}")).await;
    }
    let (seqs, cursor) = page(&w, &b, d, limit(10)).await;
    assert_eq!(seqs, (16..=25).collect::<Vec<u64>>());
    let (seqs, cursor) = page(
        &w,
        &b,
        d,
        MessagePageQuery {
            cursor,
            limit: Some(10),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(seqs, (6..=15).collect::<Vec<u64>>());
    let (seqs, cursor) = page(
        &w,
        &b,
        d,
        MessagePageQuery {
            cursor,
            limit: Some(10),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(seqs, (1..=5).collect::<Vec<u64>>());
    assert_eq!(cursor, None);
    // Exactly a page's worth: no cursor.
    let (seqs, cursor) = page(&w, &b, d, limit(25)).await;
    assert_eq!(seqs.len(), 25);
    assert_eq!(cursor, None);
    // A well-formed cursor no page handed out: before the first message, nothing.
    let before_all = MessagePageQuery {
        cursor: Some(crate::page::Cursor::new(0, uuid::Uuid::nil())),
        ..Default::default()
    };
    assert_eq!(page(&w, &b, d, before_all).await, (vec![], None));
    expect_err!(
        w.hd.list_messages(&b.p, d, limit(0)).await,
        Error::Validation(_)
    );
}

/// `after`: the page just newer, oldest first, then newer pages, null at the end.
pub async fn pages_after_then_newer(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let mut ids = Vec::new();
    for i in 0..23 {
        ids.push(w.send(&a, d, &format!("m{i}")).await.message.id);
    }
    let (seqs, cursor) = page(
        &w,
        &b,
        d,
        MessagePageQuery {
            after: Some(ids[2]),
            limit: Some(8),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(seqs, (4..=11).collect::<Vec<u64>>());
    let (seqs, cursor) = page(
        &w,
        &b,
        d,
        MessagePageQuery {
            cursor,
            limit: Some(8),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(seqs, (12..=19).collect::<Vec<u64>>());
    // New messages arrive during the walk; walking newer picks them up.
    w.send(&b, d, "late 1").await;
    w.send(&b, d, "late 2").await;
    let (seqs, cursor) = page(
        &w,
        &b,
        d,
        MessagePageQuery {
            cursor,
            limit: Some(8),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(seqs, (20..=25).collect::<Vec<u64>>());
    assert_eq!(cursor, None);
    let (seqs, cursor) = page(
        &w,
        &b,
        d,
        MessagePageQuery {
            after: Some(ids[22]),
            limit: Some(8),
            ..Default::default()
        },
    )
    .await;
    assert_eq!((seqs, cursor), (vec![24, 25], None));
}

/// `before` a message gives the page just older; the walk reaches the start without
/// gaps or repeats.
pub async fn pages_before_and_after_a_message(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(w.send(&b, d, &format!("m{i}")).await.message.id);
    }
    let mut seen = Vec::new();
    let (seqs, mut cursor) = page(
        &w,
        &a,
        d,
        MessagePageQuery {
            before: Some(ids[15]),
            limit: Some(6),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(seqs, (10..=15).collect::<Vec<u64>>());
    seen.splice(0..0, seqs);
    while cursor.is_some() {
        let (seqs, next) = page(
            &w,
            &a,
            d,
            MessagePageQuery {
                cursor,
                limit: Some(6),
                ..Default::default()
            },
        )
        .await;
        seen.splice(0..0, seqs);
        cursor = next;
    }
    assert_eq!(seen, (1..=15).collect::<Vec<u64>>());
    let (seqs, cursor) = page(
        &w,
        &a,
        d,
        MessagePageQuery {
            before: Some(ids[0]),
            limit: Some(6),
            ..Default::default()
        },
    )
    .await;
    assert_eq!((seqs, cursor), (vec![], None));
    expect_err!(
        w.hd.list_messages(
            &a.p,
            d,
            MessagePageQuery {
                before: Some(Uuid::now_v7()),
                ..Default::default()
            }
        )
        .await,
        Error::NotFound
    );
}

/// A customer pages through a conversation full of notes: every visible message once,
/// full pages, in order, both directions.
pub async fn customer_pages_skip_internal_notes_without_gaps(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (c, a, t) = ticket_with_agent(&w).await;
    let conv = t.conversation_id;
    let mut public = Vec::new();
    let mut first_id = None;
    for i in 0..30 {
        let m = if i % 3 == 1 {
            w.note(&a, conv, "note").await
        } else {
            w.send(&a, conv, "public").await
        };
        if !m.message.internal {
            public.push(m.message.seq);
            first_id.get_or_insert(m.message.id);
        }
    }
    let mut seen: Vec<u64> = Vec::new();
    let mut q = limit(4);
    loop {
        let p = w.hd.list_messages(&c.p, conv, q).await.unwrap();
        assert!(p.items.iter().all(|m| !m.message.internal));
        if p.next_cursor.is_some() {
            assert_eq!(p.items.len(), 4);
        }
        let mut s: Vec<u64> = p.items.iter().map(|m| m.message.seq).collect();
        s.extend(seen);
        seen = s;
        match p.next_cursor {
            Some(cur) => {
                q = MessagePageQuery {
                    cursor: Some(cur),
                    limit: Some(4),
                    ..Default::default()
                }
            }
            None => break,
        }
    }
    assert_eq!(seen, public);
    let mut forward = vec![public[0]];
    let mut q = MessagePageQuery {
        after: first_id,
        limit: Some(4),
        ..Default::default()
    };
    loop {
        let p = w.hd.list_messages(&c.p, conv, q).await.unwrap();
        forward.extend(p.items.iter().map(|m| m.message.seq));
        match p.next_cursor {
            Some(cur) => {
                q = MessagePageQuery {
                    cursor: Some(cur),
                    limit: Some(4),
                    ..Default::default()
                }
            }
            None => break,
        }
    }
    assert_eq!(forward, public);
}

/// Attachments are attached by their uploader only, once; they show on the message.
pub async fn attachments_by_uploader_only(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let upload = |who: Who| {
        let hd = w.hd.clone();
        async move {
            let body = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(
                bytes::Bytes::from_static(b"hello"),
            )]);
            hd.upload(&who.p, "a.txt", "text/plain", None, body)
                .await
                .unwrap()
        }
    };
    let mine = upload(a.clone()).await;
    let theirs = upload(b.clone()).await;
    let with = |ids: Vec<Uuid>| NewMessage {
        content: String::new(),
        attachment_ids: ids,
        ..Default::default()
    };
    expect_err!(
        w.hd.send_message(&a.p, d, with(vec![theirs.id])).await,
        Error::Validation(_)
    );
    expect_err!(
        w.hd.send_message(&a.p, d, with(vec![Uuid::now_v7()])).await,
        Error::Validation(_)
    );
    let sent =
        w.hd.send_message(&a.p, d, with(vec![mine.id]))
            .await
            .unwrap();
    assert_eq!(sent.message.attachment_ids, vec![mine.id]);
    assert_eq!(sent.attachments.len(), 1);
    assert_eq!(sent.attachments[0].id, mine.id);
    assert_eq!(
        sent.attachments[0].sha256,
        crate::auth::sha256_hex(b"hello")
    );
    let seen_by_b = w.hd.get_message(&b.p, d, sent.message.id).await.unwrap();
    assert_eq!(seen_by_b.attachments.len(), 1);
    // Attached once only.
    expect_err!(
        w.hd.send_message(&a.p, d, with(vec![mine.id])).await,
        Error::Validation(_)
    );
    assert_eq!(page(&w, &a, d, limit(10)).await.0, vec![1]);
}

/// Empty and overlong content is refused.
pub async fn content_validation(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    for bad in ["", "   \n ", &"x".repeat(32_001)] {
        expect_err!(
            w.hd.send_message(&a.p, d, NewMessage::text(bad)).await,
            Error::Validation(_)
        );
    }
    let max = "é".repeat(32_000);
    assert_eq!(w.send(&a, d, &max).await.message.content, max);
    assert_eq!(page(&w, &a, d, limit(10)).await.0, vec![1]);
}

/// Non-members cannot post: `NotFound` where they cannot see, `Forbidden` where they
/// can (an admin reading a group).
pub async fn non_members_cannot_post(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let outsider = w.customer().await;
    let other_agent = w.agent().await;
    let admin = w.admin().await;
    let g = w.group(&a, &[&b], "Private").await;
    let t = w.ticket(&w.customer().await, "Someone's").await;
    expect_err!(
        w.hd.send_message(&outsider.p, g, NewMessage::text("hi"))
            .await,
        Error::NotFound
    );
    expect_err!(
        w.hd.send_message(&outsider.p, t.conversation_id, NewMessage::text("hi"))
            .await,
        Error::NotFound
    );
    expect_err!(
        w.hd.send_message(&other_agent.p, g, NewMessage::text("hi"))
            .await,
        Error::NotFound
    );
    expect_err!(
        w.hd.send_message(&admin.p, g, NewMessage::text("hi")).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.list_messages(&outsider.p, g, limit(10)).await,
        Error::NotFound
    );
    assert!(page(&w, &a, g, limit(10)).await.0.is_empty());
}

/// Staff posting on a ticket conversation join it, and then list it.
pub async fn staff_posting_on_ticket_joins(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (c, a, t) = ticket_with_agent(&w).await;
    w.send(&c, t.conversation_id, "hello?").await;
    let reply = w.send(&a, t.conversation_id, "on it").await;
    assert_eq!(reply.message.seq, 2);
    let v =
        w.hd.get_conversation(&c.p, t.conversation_id)
            .await
            .unwrap();
    assert!(v.conversation.is_member(a.id()));
    let mine =
        w.hd.list_conversations(&a.p, ConversationFilter::default())
            .await
            .unwrap();
    assert_eq!(
        mine.items
            .iter()
            .map(|v| v.conversation.id)
            .collect::<Vec<_>>(),
        vec![t.conversation_id]
    );
    // Joining reads the history: the customer's earlier message is not unread.
    assert_eq!(mine.items[0].unread_count, 0);
}

/// Store level: a message is found only in its own conversation, and by seq.
pub async fn store_message_lookup_respects_conversation(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let a = w.agent().await;
    let b = w.agent().await;
    let c = w.agent().await;
    let x = w.direct(&a, &b).await;
    let y = w.direct(&a, &c).await;
    let m = w.send(&a, x, "here").await.message;
    assert_eq!(store.get_message(x, m.id).await.unwrap(), Some(m.clone()));
    assert_eq!(store.get_message(y, m.id).await.unwrap(), None);
    assert_eq!(
        store.get_message_by_seq(x, 1).await.unwrap(),
        Some(m.clone())
    );
    assert_eq!(store.get_message_by_seq(x, 2).await.unwrap(), None);
    assert_eq!(store.get_message_by_seq(x, 0).await.unwrap(), None);
    assert_eq!(store.get_message_by_seq(y, 1).await.unwrap(), None);
    assert_eq!(m.public_ordinal, 1);
    assert_eq!(m.sender_ordinal, 1);
    let m2 = w.send(&b, x, "there").await.message;
    assert_eq!((m2.public_ordinal, m2.sender_ordinal), (2, 1));
    assert_eq!(store.own_count_upto(x, a.id(), 2).await.unwrap(), 1);
    assert_eq!(store.own_count_upto(x, b.id(), 1).await.unwrap(), 0);
    assert_eq!(store.own_count_upto(x, b.id(), 2).await.unwrap(), 1);
}

/// `message.created` carries the message as the API renders it.
pub async fn message_created_event_payload(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let before = w.last_event().await;
    let MessageView { message: m, .. } = w.send(&a, d, "payload").await;
    let events = w.store.events_after(before, 100).await.unwrap();
    let created: Vec<_> = events
        .iter()
        .filter(|e| e.kind == crate::event::EventKind::MessageCreated)
        .collect();
    assert_eq!(created.len(), 1);
    let data = &created[0].data["message"];
    assert_eq!(data["id"], serde_json::json!(m.id));
    assert_eq!(data["seq"], serde_json::json!(1));
    assert_eq!(data["content"], serde_json::json!("payload"));
    assert_eq!(data["conversation_id"], serde_json::json!(d));
    assert_eq!(data["internal"], serde_json::json!(false));
    assert!(w.hd.may_see(&b.p, created[0]).await.unwrap());
    let outsider = w.agent().await;
    assert!(!w.hd.may_see(&outsider.p, created[0]).await.unwrap());
    let ids: HashSet<_> = events.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), events.len());
}

/// A reply to an internal note is internal too: a public one would show customers the
/// note's id as its parent, so it is refused and nothing is stored.
pub async fn public_reply_to_an_internal_note_is_refused(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (c, a, t) = ticket_with_agent(&w).await;
    let conv = t.conversation_id;
    let note = w.note(&a, conv, "between us").await.message;
    match w
        .hd
        .send_message(&a.p, conv, NewMessage::reply("public", note.id))
        .await
    {
        Err(Error::Validation(e)) => assert_eq!(e[0].field, "parent_id"),
        other => panic!("expected a validation error on parent_id, got {other:?}"),
    }
    let internal_reply =
        w.hd.send_message(
            &a.p,
            conv,
            NewMessage {
                content: "still between us".into(),
                parent_id: Some(note.id),
                internal: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(internal_reply.message.internal);
    let seen =
        w.hd.list_messages(&c.p, conv, Default::default())
            .await
            .unwrap();
    assert!(
        seen.items
            .iter()
            .all(|m| m.message.parent_id != Some(note.id))
    );
}
