//! Races between operations that touch the same records: the store's atomicity and
//! version checks must keep counters, memberships and the status machine consistent.

use std::collections::HashSet;
use std::sync::Arc;

use super::{PASSWORD, World};
use crate::Error;
use crate::message::{MessagePageQuery, NewMessage};
use crate::notification::{NotificationFilter, NotificationList};
use crate::page::PageRequest;
use crate::status::StatusCategory;
use crate::store::Store;
use crate::ticket::{NewTicket, TicketFilter, TicketPatch};

/// Messages sent while the reader marks everything read: the unread count always
/// matches what was sent after the last mark.
pub async fn concurrent_sends_and_marks_stay_consistent(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    let sender = {
        let hd = w.hd.clone();
        let p = a.p;
        tokio::spawn(async move {
            for i in 0..40 {
                hd.send_message(&p, d, NewMessage::text(&format!("m{i}")))
                    .await
                    .unwrap();
            }
        })
    };
    let reader = {
        let hd = w.hd.clone();
        let p = b.p;
        tokio::spawn(async move {
            let mut last = 0;
            for _ in 0..40 {
                let s = hd.mark_all_read(&p, d).await.unwrap();
                assert!(s.last_read_seq >= last, "the watermark went back");
                last = s.last_read_seq;
                tokio::task::yield_now().await;
            }
        })
    };
    sender.await.unwrap();
    reader.await.unwrap();
    let part = w.store.get_participant(d, b.id()).await.unwrap().unwrap();
    let view = w.hd.get_conversation(&b.p, d).await.unwrap();
    assert_eq!(view.unread_count, 40 - part.last_read_seq);
    let s = w.hd.mark_all_read(&b.p, d).await.unwrap();
    assert_eq!((s.last_read_seq, s.unread_count), (40, 0));
    assert_eq!(w.hd.unread_overview(&b.p).await.unwrap().total_unread, 0);
}

/// Many members added at once while messages flow: every one is a member once, and
/// nobody has history as unread.
pub async fn concurrent_group_joins(store: Arc<dyn Store>) {
    let w = World::new(store);
    let owner = w.agent().await;
    let first = w.agent().await;
    let g = w.group(&owner, &[&first], "Big").await;
    let mut joiners = Vec::new();
    for _ in 0..12 {
        joiners.push(w.agent().await);
    }
    let mut tasks = Vec::new();
    for j in &joiners {
        let hd = w.hd.clone();
        let (p, id) = (owner.p, j.id());
        tasks.push(tokio::spawn(async move {
            hd.add_member(&p, g, id).await.map(|_| ())
        }));
    }
    for i in 0..6 {
        let hd = w.hd.clone();
        let p = first.p;
        tasks.push(tokio::spawn(async move {
            hd.send_message(&p, g, NewMessage::text(&format!("m{i}")))
                .await
                .map(|_| ())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let conv =
        w.hd.get_conversation(&owner.p, g)
            .await
            .unwrap()
            .conversation;
    assert_eq!(conv.members.len(), 14);
    let unique: HashSet<_> = conv.members.iter().map(|m| m.user_id).collect();
    assert_eq!(unique.len(), 14);
    for j in &joiners {
        let v = w.hd.get_conversation(&j.p, g).await.unwrap();
        assert!(v.unread_count <= 6, "{}", v.unread_count);
        let msgs =
            w.hd.list_messages(
                &j.p,
                g,
                MessagePageQuery {
                    limit: Some(50),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .items;
        let unread_in_list = msgs.iter().filter(|m| !m.is_read).count() as u64;
        assert_eq!(unread_in_list, v.unread_count);
    }
    // Adding one of them again is a conflict, not a second membership.
    expect_conflict(w.hd.add_member(&owner.p, g, joiners[0].id()).await);
}

fn expect_conflict<T: std::fmt::Debug>(r: crate::Result<T>) {
    assert!(matches!(r, Err(Error::Conflict(_))), "{r:?}");
}

/// Tickets created while a customer pages through theirs: every page is well formed and
/// every ticket from before the walk is seen once.
pub async fn concurrent_ticket_creation_and_listing(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let other = w.customer().await;
    let mut before = HashSet::new();
    for i in 0..20 {
        before.insert(w.ticket(&c, &format!("B{i}")).await.id);
    }
    let writer = {
        let hd = w.hd.clone();
        let (cp, op) = (c.p, other.p);
        tokio::spawn(async move {
            for i in 0..20 {
                let p = if i % 2 == 0 { cp } else { op };
                hd.create_ticket(&p, NewTicket::new("During", "x"))
                    .await
                    .unwrap();
            }
        })
    };
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page =
            w.hd.list_tickets(
                &c.p,
                TicketFilter {
                    cursor,
                    limit: Some(3),
                    sort: crate::ticket::TicketSort::CreatedAtDesc,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(page.items.iter().all(|t| t.requester_id == c.id()));
        seen.extend(page.items.iter().map(|t| t.id));
        tokio::task::yield_now().await;
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    writer.await.unwrap();
    let unique: HashSet<_> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len());
    assert!(before.is_subset(&unique));
    let agent = w.agent().await;
    let mut numbers: Vec<i64> =
        w.hd.list_tickets(
            &agent.p,
            TicketFilter {
                limit: Some(200),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items
        .iter()
        .map(|t| t.number)
        .collect();
    numbers.sort();
    assert_eq!(numbers, (1..=40).collect::<Vec<i64>>());
}

/// Notifications created while the user marks them all read: afterwards the unread
/// count equals the notifications without `read_at`.
pub async fn concurrent_notification_marks(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let c = w.customer().await;
    let creator = {
        let hd = w.hd.clone();
        let p = c.p;
        tokio::spawn(async move {
            for i in 0..20 {
                hd.create_ticket(&p, NewTicket::new(&format!("T{i}"), "x"))
                    .await
                    .unwrap();
            }
        })
    };
    for _ in 0..10 {
        w.hd.mark_all_notifications_read(&a.p).await.unwrap();
        tokio::task::yield_now().await;
    }
    creator.await.unwrap();
    let NotificationList {
        page,
        unread_count: unread,
    } =
        w.hd.list_notifications(
            &a.p,
            NotificationFilter {
                limit: Some(200),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 20);
    assert_eq!(
        unread,
        page.items.iter().filter(|n| n.read_at.is_none()).count() as u64
    );
    let NotificationList {
        page: unread_page, ..
    } =
        w.hd.list_notifications(
            &a.p,
            NotificationFilter {
                unread_only: true,
                limit: Some(200),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(unread_page.items.len() as u64, unread);
    assert_eq!(w.hd.mark_all_notifications_read(&a.p).await.unwrap(), 0);
}

/// The same refresh token presented twice at once: at most one gets new tokens, and
/// the reuse ends the session.
pub async fn concurrent_refreshes_one_wins(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let t = w.hd.login(c.email(), PASSWORD).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let hd = w.hd.clone();
        let token = t.refresh_token.clone();
        tasks.push(tokio::spawn(async move { hd.refresh(&token).await }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(tokens) => winners.push(tokens),
            Err(Error::Unauthorized) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(winners.len() <= 1, "{} refreshes won", winners.len());
    // Whoever won, the family was reused and is revoked now.
    for won in &winners {
        expect_unauthorized(w.hd.refresh(&won.refresh_token).await.map(|_| ()));
        expect_unauthorized(w.hd.authenticate(&won.access_token).await.map(|_| ()));
    }
    expect_unauthorized(w.hd.authenticate(&t.access_token).await.map(|_| ()));
}

fn expect_unauthorized(r: crate::Result<()>) {
    assert!(matches!(r, Err(Error::Unauthorized)), "{r:?}");
}

/// Racing status moves on one ticket: every result follows the table, and the timeline
/// agrees with the final status.
pub async fn concurrent_status_moves_follow_table(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let c = w.customer().await;
    let t = w.ticket(&c, "Race").await;
    let targets = [
        StatusCategory::Pending,
        StatusCategory::Resolved,
        StatusCategory::Closed,
        StatusCategory::OnHold,
        StatusCategory::Open,
        StatusCategory::Resolved,
        StatusCategory::Closed,
        StatusCategory::Pending,
    ];
    let mut tasks = Vec::new();
    for to in targets {
        let hd = w.hd.clone();
        let p = agent.p;
        tasks.push(tokio::spawn(async move {
            hd.update_ticket(
                &p,
                t.id,
                TicketPatch {
                    status: Some(to.into()),
                    ..Default::default()
                },
            )
            .await
        }));
    }
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) | Err(Error::InvalidTransition { .. }) | Err(Error::Conflict(_)) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    let final_ticket = w.hd.get_ticket(&agent.p, t.id).await.unwrap();
    let timeline =
        w.hd.ticket_events(
            &agent.p,
            t.id,
            PageRequest {
                limit: Some(200),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items;
    let moves: Vec<(String, String)> = timeline
        .iter()
        .filter(|e| e.kind == crate::ticket::TimelineKind::StatusChanged)
        .map(|e| {
            (
                e.data["from"].as_str().unwrap().to_string(),
                e.data["to"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut current = "open".to_string();
    for (from, to) in &moves {
        assert_eq!(from, &current, "the timeline skips a state");
        let f: StatusCategory = from.parse().unwrap();
        let tt: StatusCategory = to.parse().unwrap();
        assert!(f.can_move_to(tt), "{from} -> {to} is not in the table");
        current = to.clone();
    }
    assert_eq!(current, final_ticket.status.as_str());
    assert_eq!(final_ticket.version as usize, 1 + moves.len());
}
