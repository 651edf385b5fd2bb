//! The event log: every change appends events, ids increase, resuming misses nothing,
//! the live stream delivers, and `may_see` keeps events to their audience.

use std::collections::HashSet;
use std::sync::Arc;

use super::{World, expect_err};
use crate::event::{EventId, NewEvent};
use crate::message::NewMessage;
use crate::notification::{NotificationFilter, NotificationList};
use crate::status::StatusCategory;
use crate::store::Store;
use crate::ticket::{NewTicket, TicketPatch};
use crate::{Error, Principal};

async fn expect(w: &World, mark: &mut Option<EventId>, kinds: &[&str]) {
    let got = w.event_kinds_after(*mark).await;
    for kind in kinds {
        assert!(got.iter().any(|k| k == kind), "no {kind} in {got:?}");
    }
    *mark = w.last_event().await;
}

/// Each kind of change appends its events, with strictly increasing ids.
pub async fn changes_append_events_with_increasing_ids(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let c = w.customer().await;
    assert_eq!(w.last_event().await, None);
    let mut mark = None;
    let t = w.ticket(&c, "Events").await;
    expect(&w, &mut mark, &["ticket.created", "conversation.created"]).await;
    w.hd.update_ticket(
        &a.p,
        t.id,
        TicketPatch {
            status: Some(StatusCategory::Pending.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    expect(&w, &mut mark, &["ticket.updated"]).await;
    let g = w.group(&a, &[&b], "G").await;
    expect(&w, &mut mark, &["conversation.created"]).await;
    w.hd.rename_conversation(&a.p, g, "H").await.unwrap();
    expect(&w, &mut mark, &["conversation.updated"]).await;
    let d = w.agent().await;
    w.hd.add_member(&a.p, g, d.id()).await.unwrap();
    expect(&w, &mut mark, &["conversation.member_added"]).await;
    w.hd.remove_member(&a.p, g, d.id()).await.unwrap();
    expect(&w, &mut mark, &["conversation.member_removed"]).await;
    let m = w.send(&a, g, "hi").await.message;
    expect(&w, &mut mark, &["message.created"]).await;
    w.hd.list_messages(&b.p, g, Default::default())
        .await
        .unwrap();
    expect(&w, &mut mark, &["message.delivered"]).await;
    w.hd.mark_all_read(&b.p, g).await.unwrap();
    expect(&w, &mut mark, &["message.read"]).await;
    w.hd.edit_message(&a.p, g, m.id, "hello").await.unwrap();
    expect(&w, &mut mark, &["message.updated"]).await;
    w.hd.delete_message(&a.p, g, m.id).await.unwrap();
    expect(&w, &mut mark, &["message.deleted"]).await;
    let all = w.events().await;
    assert!(all.windows(2).all(|p| p[0].id < p[1].id));
    assert_eq!(w.last_event().await, all.last().map(|e| e.id));
    let ids: HashSet<EventId> = all.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), all.len());
}

/// A message, its event and its notification appear together.
pub async fn message_event_and_notification_together(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let g = w.group(&a, &[&b], "G").await;
    let root = w.send(&b, g, "root").await.message;
    let before = w.last_event().await;
    let m =
        w.hd.send_message(&a.p, g, NewMessage::reply("re", root.id))
            .await
            .unwrap()
            .message;
    // A store may hand back events from just before `before` too (PostgreSQL's position
    // stays below transactions still running anywhere): the reply's own start at its
    // message.
    let events: Vec<_> = w
        .store
        .events_after(before, 100)
        .await
        .unwrap()
        .into_iter()
        .skip_while(|e| e.data["message"]["id"] != serde_json::json!(m.id))
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, vec!["message.created", "notification.created"]);
    let NotificationList {
        page,
        unread_count: unread,
    } =
        w.hd.list_notifications(&b.p, NotificationFilter::default())
            .await
            .unwrap();
    assert_eq!(unread, 1);
    assert_eq!(page.items[0].data.message_id, Some(m.id));
    assert_eq!(events[1].data["id"], serde_json::json!(page.items[0].id));
    assert_eq!(events[0].data["message"]["id"], serde_json::json!(m.id));
}

/// Reading the log in small pages after the last seen id gives the whole log, in
/// order, once — also while others keep writing.
pub async fn events_after_resumes_without_gaps(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    for i in 0..10 {
        w.send(&a, d, &format!("m{i}")).await;
    }
    let mut seen = Vec::new();
    let mut after = None;
    let mut rounds = 0;
    loop {
        let page = w.hd.events_after(after, 3).await.unwrap();
        assert!(page.len() <= 3);
        if page.is_empty() {
            break;
        }
        after = page.last().map(|e| e.id);
        seen.extend(page.into_iter().map(|e| e.id));
        if rounds < 4 {
            w.send(&b, d, "meanwhile").await;
        }
        rounds += 1;
    }
    let all: Vec<EventId> = w.events().await.into_iter().map(|e| e.id).collect();
    assert_eq!(seen, all);
    assert!(w.hd.events_after(after, 10).await.unwrap().is_empty());
    assert_eq!(w.hd.events_after(None, 2).await.unwrap().len(), 2);
}

/// Many writers at once: the log stays strictly ordered with distinct ids and holds
/// every event.
pub async fn concurrent_writers_ordered_log(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let c = w.customer().await;
    let before = w.events().await.len();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let hd = w.hd.clone();
        let (ap, cp) = (a.p, c.p);
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                hd.send_message(&ap, d, NewMessage::text("x"))
                    .await
                    .map(|_| ())
            } else {
                hd.create_ticket(&cp, NewTicket::new("t", "x"))
                    .await
                    .map(|_| ())
            }
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let all = w.events().await;
    assert!(all.windows(2).all(|p| p[0].id < p[1].id));
    let new = &all[before..];
    assert_eq!(
        new.iter()
            .filter(|e| e.kind == crate::event::EventKind::MessageCreated)
            .count(),
        12
    );
    assert_eq!(
        new.iter()
            .filter(|e| e.kind == crate::event::EventKind::TicketCreated)
            .count(),
        12
    );
    // Pages after any id agree with the full log.
    let mid = all[all.len() / 2].id;
    let tail = w.hd.events_after(Some(mid), 10_000).await.unwrap();
    assert_eq!(
        tail.iter().map(|e| e.id).collect::<Vec<_>>(),
        all.iter()
            .filter(|e| e.id > mid)
            .map(|e| e.id)
            .collect::<Vec<_>>()
    );
}

/// A subscriber receives events appended after it subscribed, in order.
pub async fn subscribe_receives_live_events(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    w.send(&a, d, "before").await;
    let mut rx = w.hd.subscribe().await.unwrap();
    let m1 = w.send(&a, d, "live 1").await.message;
    let m2 = w.send(&b, d, "live 2").await.message;
    let mut got = Vec::new();
    let mut last = None;
    while got.len() < 2 {
        let e = tokio::time::timeout(std::time::Duration::from_secs(30), rx.recv())
            .await
            .expect("a live event within 30 s")
            .expect("the stream is open");
        if let Some(prev) = last {
            assert!(e.id > prev);
        }
        last = Some(e.id);
        if e.kind == crate::event::EventKind::MessageCreated {
            got.push(e.data["message"]["id"].clone());
        }
    }
    assert_eq!(
        got,
        vec![serde_json::json!(m1.id), serde_json::json!(m2.id)]
    );
}

/// A delivery or a read is news for the senders of the messages (and a read for the
/// reader's other devices), not for every member: in a large group that would be a
/// frame per member per member.
pub async fn receipt_news_goes_to_the_senders(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let c = w.agent().await;
    let g = w.group(&a, &[&b, &c], "G").await;
    w.send(&a, g, "from a").await;
    w.send(&c, g, "from c").await;
    let before = w.last_event().await;
    w.hd.list_messages(&b.p, g, Default::default())
        .await
        .unwrap();
    let events = w.store.events_after(before, 100).await.unwrap();
    let delivered: Vec<_> = events
        .iter()
        .filter(|e| e.kind == crate::event::EventKind::MessageDelivered)
        .collect();
    assert_eq!(delivered.len(), 1);
    let e = delivered[0];
    assert_eq!(e.data["user_id"], serde_json::json!(b.id()));
    assert_eq!(e.data["delivered_seq"], 2);
    assert!(w.hd.may_see(&a.p, e).await.unwrap());
    assert!(w.hd.may_see(&c.p, e).await.unwrap());
    // c's own fetch delivers a's message only: b, who sent nothing, is not told.
    let before = w.last_event().await;
    w.hd.list_messages(&c.p, g, Default::default())
        .await
        .unwrap();
    let events = w.store.events_after(before, 100).await.unwrap();
    let e = events
        .iter()
        .find(|e| e.kind == crate::event::EventKind::MessageDelivered)
        .expect("c's delivery is logged");
    assert!(w.hd.may_see(&a.p, e).await.unwrap());
    assert!(!w.hd.may_see(&b.p, e).await.unwrap());

    // b reads everything: a and c, whose messages b read, and b are told; d, a member
    // who sent nothing, is not.
    let d = w.agent().await;
    w.hd.add_member(&a.p, g, d.id()).await.unwrap();
    let before = w.last_event().await;
    w.hd.mark_all_read(&b.p, g).await.unwrap();
    let events = w.store.events_after(before, 100).await.unwrap();
    let e = events
        .iter()
        .find(|e| e.kind == crate::event::EventKind::MessageRead)
        .expect("the read is logged");
    for (who, sees) in [(&a, true), (&b, true), (&c, true), (&d, false)] {
        assert_eq!(w.hd.may_see(&who.p, e).await.unwrap(), sees);
    }
}

/// Internal notes' events are never for customers, even members.
pub async fn may_see_hides_internal_notes(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let a = w.agent().await;
    let t = w.ticket(&c, "T").await;
    let before = w.last_event().await;
    w.note(&a, t.conversation_id, "internal").await;
    w.send(&a, t.conversation_id, "public").await;
    let events = w.store.events_after(before, 100).await.unwrap();
    let created: Vec<_> = events
        .iter()
        .filter(|e| e.kind == crate::event::EventKind::MessageCreated)
        .collect();
    assert_eq!(created.len(), 2);
    assert!(!w.hd.may_see(&c.p, created[0]).await.unwrap());
    assert!(w.hd.may_see(&c.p, created[1]).await.unwrap());
    assert!(w.hd.may_see(&a.p, created[0]).await.unwrap());
    let other = w.customer().await;
    assert!(!w.hd.may_see(&other.p, created[1]).await.unwrap());
}

/// A member removed from a group stops seeing its events at once, even older ones.
pub async fn removed_member_stops_seeing_group(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let c = w.agent().await;
    let g = w.group(&a, &[&b, &c], "G").await;
    let before = w.last_event().await;
    w.send(&a, g, "while in").await;
    let old = w.store.events_after(before, 10).await.unwrap();
    assert!(w.hd.may_see(&c.p, &old[0]).await.unwrap());
    let mark = w.last_event().await;
    w.hd.remove_member(&a.p, g, c.id()).await.unwrap();
    let removed = w.store.events_after(mark, 10).await.unwrap();
    assert_eq!(
        removed[0].kind,
        crate::event::EventKind::ConversationMemberRemoved
    );
    // The removed member is told about the removal itself.
    assert!(w.hd.may_see(&c.p, &removed[0]).await.unwrap());
    let mark = w.last_event().await;
    w.send(&a, g, "after").await;
    let after = w.store.events_after(mark, 10).await.unwrap();
    assert!(!w.hd.may_see(&c.p, &after[0]).await.unwrap());
    assert!(!w.hd.may_see(&c.p, &old[0]).await.unwrap());
    assert!(w.hd.may_see(&b.p, &after[0]).await.unwrap());
}

/// Ticket events reach the requester, the assignee and staff; not other customers.
pub async fn ticket_events_visible_to_requester_and_staff(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let other = w.customer().await;
    let a = w.agent().await;
    let before = w.last_event().await;
    w.ticket(&c, "Mine").await;
    let events = w.store.events_after(before, 100).await.unwrap();
    let created = events
        .iter()
        .find(|e| e.kind == crate::event::EventKind::TicketCreated)
        .unwrap();
    assert!(w.hd.may_see(&c.p, created).await.unwrap());
    assert!(w.hd.may_see(&a.p, created).await.unwrap());
    assert!(!w.hd.may_see(&other.p, created).await.unwrap());
    assert_eq!(created.data["ticket"]["subject"], serde_json::json!("Mine"));
    assert_eq!(created.data["ticket"]["number"], serde_json::json!(1));
}

/// Notification events reach their recipient only.
pub async fn notification_events_only_to_recipient(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let g = w.group(&a, &[&b], "G").await;
    let before = w.last_event().await;
    w.send(&a, g, &format!("ping @{}", b.email())).await;
    let events = w.store.events_after(before, 100).await.unwrap();
    let n = events
        .iter()
        .find(|e| e.kind == crate::event::EventKind::NotificationCreated)
        .unwrap();
    assert!(w.hd.may_see(&b.p, n).await.unwrap());
    assert!(!w.hd.may_see(&a.p, n).await.unwrap());
    let admin = w.admin().await;
    assert!(!w.hd.may_see(&admin.p, n).await.unwrap());
    assert!(!w.hd.may_see(&Principal::system(), n).await.unwrap());
}

/// Event ids are fixed-width strings whose plain order is delivery order; malformed ids
/// are refused; events appended on their own (webhook tests) go in the log too.
pub async fn event_id_string_order(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    for i in 0..12 {
        let fx = crate::event::Effects::event(NewEvent::new(
            crate::event::EventKind::WebhookTest,
            w.hd.now(),
            crate::event::Audience::nobody(),
            serde_json::json!({"i": i}),
        ));
        store.append_effects(&fx).await.unwrap();
    }
    let all = w.events().await;
    assert_eq!(all.len(), 12);
    let strings: Vec<String> = all.iter().map(|e| e.id.to_string()).collect();
    let mut sorted = strings.clone();
    sorted.sort();
    assert_eq!(strings, sorted);
    assert!(strings.iter().all(|s| s.len() == strings[0].len()));
    for (e, s) in all.iter().zip(&strings) {
        assert_eq!(s.parse::<EventId>().unwrap(), e.id);
        assert_eq!(
            e.data["i"],
            serde_json::json!(all.iter().position(|x| x.id == e.id).unwrap())
        );
    }
    expect_err!("12a".parse::<EventId>(), Error::Validation(_));
    expect_err!("".parse::<EventId>(), Error::Validation(_));
    let a = w.agent().await;
    assert!(!w.hd.may_see(&a.p, &all[0]).await.unwrap());
}

/// A user's own live stream (`subscribe_as`) carries what that user may see and nothing
/// else, and a subscription is a `Stream`.
pub async fn subscribe_as_keeps_to_what_the_user_may_see(store: Arc<dyn Store>) {
    use futures_util::StreamExt;
    let w = World::new(store);
    let a = w.agent().await;
    let c = w.customer().await;
    let t = w.ticket(&c, "Mine").await;
    let stream = w.hd.subscribe_as(&c.p).await.unwrap();
    let mut stream = std::pin::pin!(stream);
    let mut all = w.hd.subscribe().await.unwrap();
    let note = w.note(&a, t.conversation_id, "between staff").await.message;
    let reply = w.send(&a, t.conversation_id, "for you").await.message;
    // The whole stream has the note's event first; the customer's skips it.
    let first = within(all.next()).await.unwrap().unwrap();
    assert_eq!(first.data["message"]["id"], serde_json::json!(note.id));
    loop {
        let e = within(stream.next()).await.unwrap().unwrap();
        assert_ne!(
            e.data["message"]["id"],
            serde_json::json!(note.id),
            "a note leaked"
        );
        if e.data["message"]["id"] == serde_json::json!(reply.id) {
            break;
        }
    }
}

/// `f`'s output, within 30 s.
async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(std::time::Duration::from_secs(30), f)
        .await
        .expect("an event within 30 s")
}
