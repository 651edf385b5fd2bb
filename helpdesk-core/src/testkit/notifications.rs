//! Notifications: each kind to its recipients and never to the actor, unread counts,
//! marking read, and privacy.

use std::sync::Arc;

use uuid::Uuid;

use super::{Who, World, expect_err};
use crate::Error;
use crate::message::NewMessage;
use crate::notification::{Notification, NotificationKind};
use crate::notification::{NotificationFilter, NotificationList};
use crate::status::StatusCategory;
use crate::store::Store;
use crate::ticket::{NewTicket, TicketPatch};

async fn all(w: &World, who: &Who) -> Vec<Notification> {
    w.hd.list_notifications(
        &who.p,
        NotificationFilter {
            limit: Some(200),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .page
    .items
}

async fn kinds(w: &World, who: &Who) -> Vec<NotificationKind> {
    all(w, who).await.into_iter().map(|n| n.kind).collect()
}

/// An unassigned new ticket notifies every staff member except its creator, and no
/// customer.
pub async fn ticket_created_goes_to_staff(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a1 = w.agent().await;
    let a2 = w.agent().await;
    let admin = w.admin().await;
    let c = w.customer().await;
    let other = w.customer().await;
    let t = w.ticket(&c, "New").await;
    for staff in [&a1, &a2, &admin] {
        let n = all(&w, staff).await;
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].kind, NotificationKind::TicketCreated);
        assert_eq!(n[0].data.ticket_id, Some(t.id));
        assert_eq!(n[0].data.conversation_id, Some(t.conversation_id));
        assert_eq!(n[0].read_at, None);
    }
    assert!(all(&w, &c).await.is_empty());
    assert!(all(&w, &other).await.is_empty());
    // Staff opening a ticket are not told about it themselves.
    let mut input = NewTicket::new("By staff", "x");
    input.requester_id = Some(c.id());
    w.hd.create_ticket(&a1.p, input).await.unwrap();
    assert_eq!(all(&w, &a1).await.len(), 1);
    assert_eq!(all(&w, &a2).await.len(), 2);
}

/// A ticket created with an assignee notifies only the assignee (unless they made it).
pub async fn assigned_ticket_notifies_assignee(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a1 = w.agent().await;
    let a2 = w.agent().await;
    let c = w.customer().await;
    let mut input = NewTicket::new("Assigned", "x");
    input.requester_id = Some(c.id());
    input.assignee_id = Some(a2.id());
    let t = w.hd.create_ticket(&a1.p, input).await.unwrap();
    assert_eq!(kinds(&w, &a2).await, vec![NotificationKind::TicketAssigned]);
    assert_eq!(all(&w, &a2).await[0].data.ticket_id, Some(t.id));
    assert!(all(&w, &a1).await.is_empty());
    assert!(all(&w, &c).await.is_empty());
    let mut input = NewTicket::new("Self-assigned", "x");
    input.requester_id = Some(c.id());
    input.assignee_id = Some(a1.id());
    w.hd.create_ticket(&a1.p, input).await.unwrap();
    assert!(all(&w, &a1).await.is_empty());
}

/// Assigning a ticket notifies the new assignee, not the one who assigned.
pub async fn assignment_change_notifies_new_assignee(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a1 = w.agent().await;
    let a2 = w.agent().await;
    let c = w.customer().await;
    let t = w.ticket(&c, "Assign me").await;
    let before = all(&w, &a2).await.len();
    w.tick();
    w.hd.update_ticket(
        &a1.p,
        t.id,
        TicketPatch {
            assignee_id: Some(Some(a2.id())),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let n = all(&w, &a2).await;
    assert_eq!(n.len(), before + 1);
    assert_eq!(n[0].kind, NotificationKind::TicketAssigned);
    assert_eq!(kinds(&w, &a1).await, vec![NotificationKind::TicketCreated]);
    // Taking a ticket oneself tells nobody.
    w.hd.update_ticket(
        &a1.p,
        t.id,
        TicketPatch {
            assignee_id: Some(Some(a1.id())),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(kinds(&w, &a1).await, vec![NotificationKind::TicketCreated]);
    assert!(all(&w, &c).await.is_empty());
}

/// A status change notifies the requester and the assignee, except whoever made it.
pub async fn status_change_notifies_requester_and_assignee(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a1 = w.agent().await;
    let a2 = w.agent().await;
    let c = w.customer().await;
    let mut input = NewTicket::new("Status", "x");
    input.requester_id = Some(c.id());
    input.assignee_id = Some(a2.id());
    let t = w.hd.create_ticket(&a1.p, input).await.unwrap();
    w.tick();
    let status = |s: StatusCategory| TicketPatch {
        status: Some(s.into()),
        ..Default::default()
    };
    w.hd.update_ticket(&a1.p, t.id, status(StatusCategory::Pending))
        .await
        .unwrap();
    assert_eq!(
        kinds(&w, &c).await,
        vec![NotificationKind::TicketStatusChanged]
    );
    assert_eq!(
        kinds(&w, &a2).await,
        vec![
            NotificationKind::TicketStatusChanged,
            NotificationKind::TicketAssigned
        ]
    );
    assert!(all(&w, &a1).await.is_empty());
    w.hd.update_ticket(&c.p, t.id, status(StatusCategory::Resolved))
        .await
        .unwrap();
    // The requester's own move tells them nothing but the CSAT survey of the resolve.
    assert_eq!(
        kinds(&w, &c).await,
        vec![
            NotificationKind::CsatRequested,
            NotificationKind::TicketStatusChanged
        ]
    );
    assert_eq!(all(&w, &a2).await.len(), 3);
    assert!(all(&w, &a1).await.is_empty());
}

/// A message on a ticket notifies its requester and assignee, never the sender.
pub async fn ticket_message_notifies_requester_and_assignee(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a1 = w.agent().await;
    let a2 = w.agent().await;
    let c = w.customer().await;
    let mut input = NewTicket::new("Chat", "x");
    input.requester_id = Some(c.id());
    input.assignee_id = Some(a2.id());
    let t = w.hd.create_ticket(&a1.p, input).await.unwrap();
    w.tick();
    let m = w.send(&c, t.conversation_id, "hello").await.message;
    let n = all(&w, &a2).await;
    assert_eq!(n[0].kind, NotificationKind::TicketMessage);
    assert_eq!(n[0].data.message_id, Some(m.id));
    assert_eq!(n[0].data.ticket_id, Some(t.id));
    assert!(all(&w, &c).await.is_empty());
    w.send(&a1, t.conversation_id, "I can help").await;
    assert_eq!(kinds(&w, &c).await, vec![NotificationKind::TicketMessage]);
    assert_eq!(all(&w, &a2).await.len(), 3);
    assert!(all(&w, &a1).await.is_empty());
}

/// A note does not notify the requester; it does the assignee.
pub async fn internal_note_does_not_notify_requester(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a1 = w.agent().await;
    let a2 = w.agent().await;
    let c = w.customer().await;
    let mut input = NewTicket::new("Notes", "x");
    input.requester_id = Some(c.id());
    input.assignee_id = Some(a2.id());
    let t = w.hd.create_ticket(&a1.p, input).await.unwrap();
    w.tick();
    w.note(&a1, t.conversation_id, &format!("ask @{} maybe", c.email()))
        .await;
    assert!(all(&w, &c).await.is_empty());
    assert_eq!(kinds(&w, &a2).await[0], NotificationKind::TicketMessage);
    assert_eq!(
        w.hd.list_notifications(
            &c.p,
            NotificationFilter {
                unread_only: true,
                ..Default::default()
            }
        )
        .await
        .unwrap()
        .unread_count,
        0
    );
}

/// A reply notifies the parent's author, not someone replying to themselves.
pub async fn reply_notifies_parent_author(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let c = w.agent().await;
    let g = w.group(&a, &[&b, &c], "G").await;
    let root = w.send(&a, g, "root").await.message;
    w.hd.send_message(&b.p, g, NewMessage::reply("re", root.id))
        .await
        .unwrap();
    let n = all(&w, &a).await;
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].kind, NotificationKind::Reply);
    assert_eq!(n[0].data.conversation_id, Some(g));
    assert!(all(&w, &c).await.is_empty());
    w.hd.send_message(&a.p, g, NewMessage::reply("self", root.id))
        .await
        .unwrap();
    assert_eq!(all(&w, &a).await.len(), 1);
    assert!(all(&w, &b).await.is_empty());
}

/// `@email` mentions notify members who can read the conversation; not the author,
/// not strangers, not unknown addresses.
pub async fn mention_by_email(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let c = w.agent().await;
    let stranger = w.customer().await;
    let g = w.group(&a, &[&b, &c], "G").await;
    let text = format!(
        "hey @{}, and @{}. also @{} and @nobody@example.com",
        b.email().to_uppercase(),
        a.email(),
        stranger.email()
    );
    let m = w.send(&a, g, &text).await.message;
    let n = all(&w, &b).await;
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].kind, NotificationKind::Mention);
    assert_eq!(n[0].data.message_id, Some(m.id));
    assert!(all(&w, &a).await.is_empty());
    assert!(all(&w, &c).await.is_empty());
    assert!(all(&w, &stranger).await.is_empty());
}

/// The unread count and the unread filter.
pub async fn unread_count_and_filter(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let c = w.customer().await;
    for i in 0..3 {
        w.tick();
        w.ticket(&c, &format!("T{i}")).await;
    }
    let NotificationList {
        page,
        unread_count: unread,
    } =
        w.hd.list_notifications(&a.p, NotificationFilter::default())
            .await
            .unwrap();
    assert_eq!((page.items.len(), unread), (3, 3));
    w.hd.mark_notification_read(&a.p, page.items[1].id)
        .await
        .unwrap();
    let NotificationList {
        page,
        unread_count: unread,
    } =
        w.hd.list_notifications(
            &a.p,
            NotificationFilter {
                unread_only: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(unread, 2);
    assert_eq!(page.items.len(), 2);
    assert!(page.items.iter().all(|n| n.read_at.is_none()));
    let NotificationList { page, .. } =
        w.hd.list_notifications(&a.p, NotificationFilter::default())
            .await
            .unwrap();
    assert_eq!(page.items.len(), 3);
}

/// Marking one read sets `read_at` once; someone else's is `NotFound`.
pub async fn mark_one_and_others_not_found(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let c = w.customer().await;
    w.ticket(&c, "T").await;
    let n = all(&w, &a).await.remove(0);
    let first = w.hd.now();
    let marked = w.hd.mark_notification_read(&a.p, n.id).await.unwrap();
    assert_eq!(marked.read_at, Some(first));
    assert_eq!(marked.id, n.id);
    w.tick();
    let again = w.hd.mark_notification_read(&a.p, n.id).await.unwrap();
    assert_eq!(again.read_at, Some(first));
    let theirs = all(&w, &b).await.remove(0);
    expect_err!(
        w.hd.mark_notification_read(&a.p, theirs.id).await,
        Error::NotFound
    );
    expect_err!(
        w.hd.mark_notification_read(&c.p, theirs.id).await,
        Error::NotFound
    );
    expect_err!(
        w.hd.mark_notification_read(&a.p, Uuid::now_v7()).await,
        Error::NotFound
    );
    assert_eq!(all(&w, &b).await[0].read_at, None);
}

/// Mark-all zeroes the caller's count only.
pub async fn mark_all(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let c = w.customer().await;
    for _ in 0..4 {
        w.ticket(&c, "T").await;
    }
    assert_eq!(w.hd.mark_all_notifications_read(&a.p).await.unwrap(), 0);
    assert!(all(&w, &a).await.iter().all(|n| n.read_at.is_some()));
    assert_eq!(
        w.hd.list_notifications(&b.p, NotificationFilter::default())
            .await
            .unwrap()
            .unread_count,
        4
    );
    w.ticket(&c, "After").await;
    assert_eq!(
        w.hd.list_notifications(&a.p, NotificationFilter::default())
            .await
            .unwrap()
            .unread_count,
        1
    );
}

/// Newest first, and pages without repeats.
pub async fn list_newest_first_and_pages(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let c = w.customer().await;
    let mut tickets = Vec::new();
    for i in 0..7 {
        if i % 2 == 0 {
            w.tick();
        }
        tickets.push(w.ticket(&c, &format!("T{i}")).await.id);
    }
    let listed: Vec<Uuid> = all(&w, &a)
        .await
        .into_iter()
        .map(|n| n.data.ticket_id.unwrap())
        .collect();
    let mut newest_first = tickets.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first);
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let NotificationList { page, .. } =
            w.hd.list_notifications(
                &a.p,
                NotificationFilter {
                    cursor,
                    limit: Some(3),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|n| n.data.ticket_id.unwrap()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, newest_first);
}

/// A notification and its `notification.created` event are written together, and only
/// its recipient may see the event.
pub async fn notification_event_written_with_it(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let c = w.customer().await;
    let before = w.last_event().await;
    w.ticket(&c, "T").await;
    let events = w.store.events_after(before, 100).await.unwrap();
    let announced: Vec<_> = events
        .iter()
        .filter(|e| e.kind == crate::event::EventKind::NotificationCreated)
        .collect();
    assert_eq!(announced.len(), 2);
    let n = all(&w, &a).await.remove(0);
    let mine = announced
        .iter()
        .find(|e| e.data["id"] == serde_json::json!(n.id))
        .expect("an event for the notification");
    assert_eq!(mine.data["kind"], serde_json::json!("ticket_created"));
    assert!(w.hd.may_see(&a.p, mine).await.unwrap());
    assert!(!w.hd.may_see(&b.p, mine).await.unwrap());
    assert!(!w.hd.may_see(&c.p, mine).await.unwrap());
}
