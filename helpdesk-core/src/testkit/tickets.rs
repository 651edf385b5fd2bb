//! Tickets: numbers, the status table, requester rights, timestamps, the timeline,
//! filters, orders, cursors and visibility.

use std::collections::HashSet;
use std::sync::Arc;

use uuid::Uuid;

use super::{Who, World, expect_err};
use crate::event::Effects;
use crate::message::NewMessage;
use crate::page::Cursor;
use crate::status::StatusCategory;
use crate::store::Store;
use crate::ticket::{
    AssigneeFilter, NewTicket, Priority, Ticket, TicketFilter, TicketPatch, TicketSort,
    TimelineKind,
};
use crate::{Error, Principal};

use crate::conversation::ConversationFilter;
use crate::page::PageRequest;
use StatusCategory::*;

fn status(s: StatusCategory) -> TicketPatch {
    TicketPatch {
        status: Some(s.into()),
        ..Default::default()
    }
}

/// Moves a fresh ticket into `target` along allowed moves.
async fn ticket_in(w: &World, staff: &Who, requester: &Who, target: StatusCategory) -> Ticket {
    let t = w.ticket(requester, "Needs help").await;
    let path: &[StatusCategory] = match target {
        Open => &[],
        Pending => &[Pending],
        OnHold => &[OnHold],
        Resolved => &[Resolved],
        Closed => &[Resolved, Closed],
    };
    let mut t = t;
    for s in path {
        t =
            w.hd.update_ticket(&staff.p, t.id, status(*s))
                .await
                .unwrap();
    }
    assert_eq!(t.status_category, target);
    t
}

async fn list_ids(w: &World, p: &Principal, filter: TicketFilter) -> Vec<Uuid> {
    w.hd.list_tickets(p, filter)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|t| t.id)
        .collect()
}

/// Numbers are 1, 2, 3, ... and find their ticket.
pub async fn numbers_are_sequential(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let mut ids = Vec::new();
    for i in 1..=5 {
        let t = w.ticket(&c, &format!("Ticket {i}")).await;
        assert_eq!(t.number, i);
        assert_eq!(t.status_category, Open);
        assert_eq!(t.priority, Priority::Normal);
        ids.push(t.id);
    }
    for (i, id) in ids.iter().enumerate() {
        let t = w.hd.get_ticket_by_number(&c.p, i as i64 + 1).await.unwrap();
        assert_eq!(t.id, *id);
    }
    expect_err!(w.hd.get_ticket_by_number(&c.p, 6).await, Error::NotFound);
}

/// 32 simultaneous creators get 1..=32: no collisions, no gaps.
pub async fn concurrent_creators_get_unique_gapless_numbers(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let mut tasks = Vec::new();
    for i in 0..32 {
        let hd = w.hd.clone();
        let p = c.p;
        tasks.push(tokio::spawn(async move {
            hd.create_ticket(&p, NewTicket::new(&format!("T{i}"), "x"))
                .await
                .unwrap()
                .number
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap());
    }
    numbers.sort();
    assert_eq!(numbers, (1..=32).collect::<Vec<i64>>());
    let agent = w.agent().await;
    let all =
        w.hd.list_tickets(
            &agent.p,
            TicketFilter {
                limit: Some(200),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.items.len(), 32);
}

/// Every move the table allows works for staff.
pub async fn every_allowed_status_move_succeeds(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let c = w.customer().await;
    for from in StatusCategory::ALL {
        for to in StatusCategory::ALL {
            // Naming the current status is no move (tested with statuses as data).
            if !from.can_move_to(to) || from == to {
                continue;
            }
            let t = ticket_in(&w, &agent, &c, from).await;
            let moved = w.hd.update_ticket(&agent.p, t.id, status(to)).await;
            let moved = moved.unwrap_or_else(|e| panic!("{from} -> {to}: {e:?}"));
            assert_eq!(moved.status_category, to);
            assert_eq!(
                w.hd.get_ticket(&c.p, t.id).await.unwrap().status_category,
                to
            );
        }
    }
    // The table itself, as API.md states it.
    let allowed: HashSet<(StatusCategory, StatusCategory)> = [
        // Inside a category (statuses of their own), but closed.
        (Open, Open),
        (Pending, Pending),
        (OnHold, OnHold),
        (Resolved, Resolved),
        (Open, Pending),
        (Open, OnHold),
        (Pending, Open),
        (Pending, OnHold),
        (OnHold, Open),
        (OnHold, Pending),
        (Open, Resolved),
        (Pending, Resolved),
        (OnHold, Resolved),
        (Resolved, Open),
        (Resolved, Closed),
    ]
    .into_iter()
    .collect();
    for from in StatusCategory::ALL {
        for to in StatusCategory::ALL {
            assert_eq!(
                from.can_move_to(to),
                allowed.contains(&(from, to)),
                "{from} -> {to}"
            );
        }
    }
}

/// Every move the table does not allow fails with `InvalidTransition`, changing nothing.
pub async fn every_forbidden_status_move_is_invalid_transition(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let c = w.customer().await;
    for from in StatusCategory::ALL {
        for to in StatusCategory::ALL {
            if from == to || from.can_move_to(to) {
                continue;
            }
            let t = ticket_in(&w, &admin, &c, from).await;
            match w.hd.update_ticket(&admin.p, t.id, status(to)).await {
                Err(Error::InvalidTransition { from: f, to: tt }) => {
                    assert_eq!((f.as_str(), tt.as_str()), (from.as_str(), to.as_str()));
                }
                other => panic!("{from} -> {to}: {other:?}"),
            }
            let after = w.hd.get_ticket(&admin.p, t.id).await.unwrap();
            assert_eq!(after, t);
        }
    }
}

/// Setting the current status again is no change: no timeline entry, no new version.
pub async fn same_status_is_not_a_change(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let c = w.customer().await;
    let t = w.ticket(&c, "Same").await;
    w.tick();
    let again =
        w.hd.update_ticket(&agent.p, t.id, status(Open))
            .await
            .unwrap();
    assert_eq!(again, t);
    let timeline =
        w.hd.ticket_events(&c.p, t.id, PageRequest::default())
            .await
            .unwrap();
    assert_eq!(timeline.items.len(), 1);
}

/// The requester may resolve, reopen and close their ticket.
pub async fn requester_may_resolve_reopen_and_close(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let c = w.customer().await;
    let t = w.ticket(&c, "Mine").await;
    let t =
        w.hd.update_ticket(&c.p, t.id, status(Resolved))
            .await
            .unwrap();
    assert_eq!(t.status_category, Resolved);
    let t = w.hd.update_ticket(&c.p, t.id, status(Open)).await.unwrap();
    assert_eq!(t.status_category, Open);
    let t2 = ticket_in(&w, &agent, &c, Pending).await;
    assert_eq!(
        w.hd.update_ticket(&c.p, t2.id, status(Resolved))
            .await
            .unwrap()
            .status_category,
        Resolved
    );
    let t2 =
        w.hd.update_ticket(&c.p, t2.id, status(Closed))
            .await
            .unwrap();
    assert_eq!(t2.status_category, Closed);
    let t3 = ticket_in(&w, &agent, &c, OnHold).await;
    w.hd.update_ticket(&c.p, t3.id, status(Resolved))
        .await
        .unwrap();
    // Subject and description are the requester's too.
    let t =
        w.hd.update_ticket(
            &c.p,
            t.id,
            TicketPatch {
                subject: Some("New subject".into()),
                description: Some("More".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (t.subject.as_str(), t.description.as_str()),
        ("New subject", "More")
    );
}

/// The requester may not set staff statuses (`Forbidden`), nor move out of the table
/// (`InvalidTransition`).
pub async fn requester_may_not_set_staff_statuses(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let c = w.customer().await;
    let t = w.ticket(&c, "Mine").await;
    expect_err!(
        w.hd.update_ticket(&c.p, t.id, status(Pending)).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.update_ticket(&c.p, t.id, status(OnHold)).await,
        Error::Forbidden(_)
    );
    let p = ticket_in(&w, &agent, &c, Pending).await;
    expect_err!(
        w.hd.update_ticket(&c.p, p.id, status(Open)).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.update_ticket(&c.p, t.id, status(Closed)).await,
        Error::InvalidTransition { .. }
    );
    assert_eq!(
        w.hd.get_ticket(&c.p, t.id).await.unwrap().status_category,
        Open
    );
    assert_eq!(
        w.hd.get_ticket(&c.p, p.id).await.unwrap().status_category,
        Pending
    );
}

/// Priority, assignee and tags are staff fields: `ForbiddenField`, nothing applied.
pub async fn requester_may_not_set_staff_fields(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let c = w.customer().await;
    let t = w.ticket(&c, "Mine").await;
    let patches = [
        (
            "priority",
            TicketPatch {
                priority: Some(Priority::Urgent),
                subject: Some("Changed".into()),
                ..Default::default()
            },
        ),
        (
            "assignee_id",
            TicketPatch {
                assignee_id: Some(Some(agent.id())),
                subject: Some("Changed".into()),
                ..Default::default()
            },
        ),
        (
            "tags",
            TicketPatch {
                tags: Some(vec!["vip".into()]),
                subject: Some("Changed".into()),
                ..Default::default()
            },
        ),
    ];
    for (field, patch) in patches {
        match w.hd.update_ticket(&c.p, t.id, patch).await {
            Err(Error::ForbiddenField(f)) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(w.hd.get_ticket(&c.p, t.id).await.unwrap(), t);
}

/// Customers may not open tickets for others or assign them.
pub async fn customer_may_not_name_requester_or_assignee(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let c = w.customer().await;
    let other = w.customer().await;
    let mut input = NewTicket::new("For someone", "x");
    input.requester_id = Some(other.id());
    expect_err!(
        w.hd.create_ticket(&c.p, input).await,
        Error::ForbiddenField(f) if f == "requester_id"
    );
    let mut input = NewTicket::new("Assigned", "x");
    input.assignee_id = Some(agent.id());
    expect_err!(
        w.hd.create_ticket(&c.p, input).await,
        Error::ForbiddenField(f) if f == "assignee_id"
    );
    // Staff may do both.
    let mut input = NewTicket::new("On behalf", "x");
    input.requester_id = Some(other.id());
    input.assignee_id = Some(agent.id());
    let t = w.hd.create_ticket(&agent.p, input).await.unwrap();
    assert_eq!(t.requester_id, other.id());
    assert_eq!(t.assignee_id, Some(agent.id()));
    w.hd.get_ticket(&other.p, t.id).await.unwrap();
    // A customer cannot be an assignee.
    let mut input = NewTicket::new("Bad assignee", "x");
    input.assignee_id = Some(c.id());
    expect_err!(
        w.hd.create_ticket(&agent.p, input).await,
        Error::Validation(_)
    );
}

/// `resolved_at` is set on resolving and cleared on reopening; `closed_at` on closing.
pub async fn resolved_and_closed_timestamps(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let c = w.customer().await;
    let t = w.ticket(&c, "Times").await;
    assert_eq!((t.resolved_at, t.closed_at), (None, None));
    w.tick();
    let t =
        w.hd.update_ticket(&agent.p, t.id, status(Resolved))
            .await
            .unwrap();
    assert_eq!(t.resolved_at, Some(w.hd.now()));
    assert_eq!(t.updated_at, w.hd.now());
    w.tick();
    let t = w.hd.update_ticket(&c.p, t.id, status(Open)).await.unwrap();
    assert_eq!(t.resolved_at, None);
    w.tick();
    let t =
        w.hd.update_ticket(&agent.p, t.id, status(Resolved))
            .await
            .unwrap();
    let resolved = w.hd.now();
    w.tick();
    let t =
        w.hd.update_ticket(&agent.p, t.id, status(Closed))
            .await
            .unwrap();
    assert_eq!(t.resolved_at, Some(resolved));
    assert_eq!(t.closed_at, Some(w.hd.now()));
    let stored = w.hd.get_ticket(&agent.p, t.id).await.unwrap();
    assert_eq!(stored, t);
}

/// Only the first public staff message sets `first_response_at`.
pub async fn first_response_at_set_by_first_public_staff_message(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let c = w.customer().await;
    let t = w.ticket(&c, "Response").await;
    w.tick();
    w.send(&c, t.conversation_id, "Anyone?").await;
    w.tick();
    w.note(&agent, t.conversation_id, "internal").await;
    assert_eq!(
        w.hd.get_ticket(&c.p, t.id).await.unwrap().first_response_at,
        None
    );
    w.tick();
    w.send(&agent, t.conversation_id, "Hello").await;
    let first = w.hd.now();
    w.tick();
    w.send(&agent, t.conversation_id, "Again").await;
    assert_eq!(
        w.hd.get_ticket(&c.p, t.id).await.unwrap().first_response_at,
        Some(first)
    );
}

/// A requester's message moves a pending or resolved ticket back to open.
pub async fn requester_message_reopens_pending_and_resolved(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let c = w.customer().await;
    for from in [Pending, Resolved] {
        let t = ticket_in(&w, &agent, &c, from).await;
        w.send(&c, t.conversation_id, "It is still broken").await;
        let t = w.hd.get_ticket(&c.p, t.id).await.unwrap();
        assert_eq!(t.status_category, Open, "from {from}");
        assert_eq!(t.resolved_at, None);
        let kinds: Vec<TimelineKind> =
            w.hd.ticket_events(&agent.p, t.id, PageRequest::default())
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|e| e.kind)
                .collect();
        assert_eq!(kinds.last(), Some(&TimelineKind::StatusChanged));
    }
    let t = ticket_in(&w, &agent, &c, OnHold).await;
    w.send(&c, t.conversation_id, "Any news?").await;
    assert_eq!(
        w.hd.get_ticket(&c.p, t.id).await.unwrap().status_category,
        OnHold
    );
}

/// Staff messages leave the status alone.
pub async fn staff_message_does_not_reopen(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let c = w.customer().await;
    for from in [Pending, Resolved] {
        let t = ticket_in(&w, &agent, &c, from).await;
        w.send(&agent, t.conversation_id, "FYI").await;
        assert_eq!(
            w.hd.get_ticket(&c.p, t.id).await.unwrap().status_category,
            from
        );
    }
}

/// A closed ticket's conversation takes no messages from anyone.
pub async fn closed_ticket_refuses_messages(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let admin = w.admin().await;
    let c = w.customer().await;
    let t = ticket_in(&w, &agent, &c, Closed).await;
    for who in [&c, &agent, &admin] {
        expect_err!(
            w.hd.send_message(&who.p, t.conversation_id, NewMessage::text("hi"))
                .await,
            Error::TicketClosed
        );
    }
    let page =
        w.hd.list_messages(&agent.p, t.conversation_id, Default::default())
            .await
            .unwrap();
    assert!(page.items.is_empty());
}

/// The timeline records each kind of change with its data and actor, oldest first.
pub async fn timeline_records_every_kind(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let c = w.customer().await;
    let t = w.ticket(&c, "Timeline").await;
    w.tick();
    w.hd.update_ticket(&agent.p, t.id, status(Pending))
        .await
        .unwrap();
    w.tick();
    w.hd.update_ticket(
        &agent.p,
        t.id,
        TicketPatch {
            assignee_id: Some(Some(agent.id())),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    w.tick();
    w.hd.update_ticket(
        &agent.p,
        t.id,
        TicketPatch {
            priority: Some(Priority::High),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    w.tick();
    w.hd.update_ticket(
        &agent.p,
        t.id,
        TicketPatch {
            tags: Some(vec!["Billing".into(), "vip".into()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    w.tick();
    w.hd.update_ticket(
        &agent.p,
        t.id,
        TicketPatch {
            tags: Some(vec!["vip".into(), "refund".into()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    w.tick();
    w.hd.update_ticket(
        &c.p,
        t.id,
        TicketPatch {
            subject: Some("Timeline!".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let items =
        w.hd.ticket_events(&c.p, t.id, PageRequest::default())
            .await
            .unwrap()
            .items;
    let kinds: Vec<&str> = items.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "created",
            "status_changed",
            "assigned",
            "priority_changed",
            "tags_changed",
            "tags_changed",
            "updated"
        ]
    );
    assert!(items.iter().all(|e| e.ticket_id == t.id));
    assert!(items.windows(2).all(|p| p[0].at < p[1].at));
    assert_eq!(items[0].actor_id, Some(c.id()));
    assert_eq!(items[1].actor_id, Some(agent.id()));
    assert_eq!(
        items[1].data,
        serde_json::json!({"from": "open", "to": "pending"})
    );
    assert_eq!(
        items[2].data,
        serde_json::json!({"from": null, "to": agent.id()})
    );
    assert_eq!(
        items[3].data,
        serde_json::json!({"from": "normal", "to": "high"})
    );
    assert_eq!(
        items[4].data,
        serde_json::json!({"added": ["billing", "vip"], "removed": []})
    );
    assert_eq!(
        items[5].data,
        serde_json::json!({"added": ["refund"], "removed": ["billing"]})
    );
    assert_eq!(items[6].data, serde_json::json!({"fields": ["subject"]}));
    assert_eq!(items[6].actor_id, Some(c.id()));
}

/// The timeline pages oldest first without repeats, even when entries share a time.
pub async fn timeline_pages_oldest_first(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let c = w.customer().await;
    let t = w.ticket(&c, "Paged").await;
    for i in 0..9 {
        if i % 3 == 0 {
            w.tick();
        }
        w.hd.update_ticket(
            &agent.p,
            t.id,
            TicketPatch {
                description: Some(format!("v{i}")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let all =
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
    assert_eq!(all.len(), 10);
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page =
            w.hd.ticket_events(
                &agent.p,
                t.id,
                PageRequest {
                    cursor,
                    limit: Some(3),
                },
            )
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|e| e.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, all.iter().map(|e| e.id).collect::<Vec<_>>());
}

struct Fixture {
    w: World,
    agent: Who,
    agent2: Who,
    c1: Who,
    c2: Who,
    /// open/normal/c1/unassigned/[billing], pending/high/c1/agent, on_hold/low/c2/agent2/[vip],
    /// resolved/urgent/c2/unassigned/[billing vip]
    t: Vec<Ticket>,
}

async fn fixture(store: Arc<dyn Store>) -> Fixture {
    let w = World::new(store);
    let agent = w.agent().await;
    let agent2 = w.agent().await;
    let c1 = w.customer().await;
    let c2 = w.customer().await;
    let specs = [
        (
            &c1,
            "Printer jam",
            "paper stuck",
            Priority::Normal,
            None,
            vec!["Billing"],
            Open,
        ),
        (
            &c1,
            "VPN down",
            "cannot connect",
            Priority::High,
            Some(&agent),
            vec![],
            Pending,
        ),
        (
            &c2,
            "Refund",
            "printer broke",
            Priority::Low,
            Some(&agent2),
            vec!["vip"],
            OnHold,
        ),
        (
            &c2,
            "Invoice",
            "wrong amount",
            Priority::Urgent,
            None,
            vec!["billing", "vip"],
            Resolved,
        ),
    ];
    let mut t = Vec::new();
    for (req, subject, desc, prio, assignee, tags, st) in specs {
        w.tick();
        let mut input = NewTicket::new(subject, desc);
        input.priority = Some(prio);
        input.tags = tags.into_iter().map(String::from).collect();
        input.requester_id = Some(req.id());
        input.assignee_id = assignee.map(|a| a.id());
        let created = w.hd.create_ticket(&agent.p, input).await.unwrap();
        let moved = if st == Open {
            created
        } else {
            w.hd.update_ticket(&agent.p, created.id, status(st))
                .await
                .unwrap()
        };
        t.push(moved);
    }
    Fixture {
        w,
        agent,
        agent2,
        c1,
        c2,
        t,
    }
}

fn ids(ts: &[&Ticket]) -> HashSet<Uuid> {
    ts.iter().map(|t| t.id).collect()
}

async fn filtered(f: &Fixture, p: &Principal, filter: TicketFilter) -> HashSet<Uuid> {
    list_ids(&f.w, p, filter).await.into_iter().collect()
}

/// The status filter takes several statuses.
pub async fn filter_by_statuses(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let got = filtered(
        &f,
        &f.agent.p,
        TicketFilter {
            categories: vec![Open, OnHold],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(got, ids(&[&f.t[0], &f.t[2]]));
    let got = filtered(
        &f,
        &f.agent.p,
        TicketFilter {
            categories: vec![Closed],
            ..Default::default()
        },
    )
    .await;
    assert!(got.is_empty());
}

/// The priority filter.
pub async fn filter_by_priority(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    for (prio, i) in [
        (Priority::Low, 2),
        (Priority::Normal, 0),
        (Priority::High, 1),
        (Priority::Urgent, 3),
    ] {
        let got = filtered(
            &f,
            &f.agent.p,
            TicketFilter {
                priority: Some(prio),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(got, ids(&[&f.t[i]]), "{prio:?}");
    }
}

/// The assignee filter: one user, or nobody.
pub async fn filter_by_assignee_and_nobody(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let got = filtered(
        &f,
        &f.agent.p,
        TicketFilter {
            assignee: Some(AssigneeFilter::User(f.agent2.id())),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(got, ids(&[&f.t[2]]));
    let got = filtered(
        &f,
        &f.agent.p,
        TicketFilter {
            assignee: Some(AssigneeFilter::Nobody),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(got, ids(&[&f.t[0], &f.t[3]]));
}

/// The requester filter (staff); customers asking for someone else's get nothing.
pub async fn filter_by_requester(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let got = filtered(
        &f,
        &f.agent.p,
        TicketFilter {
            requester_id: Some(f.c2.id()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(got, ids(&[&f.t[2], &f.t[3]]));
    let got = filtered(
        &f,
        &f.c1.p,
        TicketFilter {
            requester_id: Some(f.c2.id()),
            ..Default::default()
        },
    )
    .await;
    assert!(got.is_empty());
}

/// The tag filter, whatever the case of the asked tag.
pub async fn filter_by_tag(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let got = filtered(
        &f,
        &f.agent.p,
        TicketFilter {
            tag: Some("BILLING".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(got, ids(&[&f.t[0], &f.t[3]]));
    assert_eq!(f.t[0].tags, vec!["billing".to_string()]);
}

/// The text filter looks in subject and description, case-insensitively, and combines
/// with the others.
pub async fn filter_by_text(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let got = filtered(
        &f,
        &f.agent.p,
        TicketFilter {
            q: Some("PRINTER".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(got, ids(&[&f.t[0], &f.t[2]]));
    let got = filtered(
        &f,
        &f.agent.p,
        TicketFilter {
            q: Some("printer".into()),
            categories: vec![Open],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(got, ids(&[&f.t[0]]));
    let got = filtered(
        &f,
        &f.c2.p,
        TicketFilter {
            q: Some("printer".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(got, ids(&[&f.t[2]]));
}

/// Each of the six orders, with ties broken by id.
pub async fn every_sort_order(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    // Touch the first ticket last so updated order differs from created order.
    f.w.tick();
    f.w.hd
        .update_ticket(
            &f.agent.p,
            f.t[0].id,
            TicketPatch {
                description: Some("touched".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let t = &f.t;
    let cases = [
        (TicketSort::CreatedAt, vec![0, 1, 2, 3]),
        (TicketSort::CreatedAtDesc, vec![3, 2, 1, 0]),
        (TicketSort::UpdatedAt, vec![1, 2, 3, 0]),
        (TicketSort::UpdatedAtDesc, vec![0, 3, 2, 1]),
        (TicketSort::Priority, vec![2, 0, 1, 3]),
        (TicketSort::PriorityDesc, vec![3, 1, 0, 2]),
    ];
    for (sort, order) in cases {
        let got = list_ids(
            &f.w,
            &f.agent.p,
            TicketFilter {
                sort,
                ..Default::default()
            },
        )
        .await;
        let want: Vec<Uuid> = order.iter().map(|i| t[*i].id).collect();
        assert_eq!(got, want, "{sort:?}");
    }
    // The default is newest first.
    assert_eq!(TicketSort::default(), TicketSort::CreatedAtDesc);
    let _ = &f.c1;
}

/// Walking pages of 4 returns every ticket that existed for the whole walk exactly once,
/// in order, even with tickets created between pages — for each order.
pub async fn cursor_walk_sees_each_ticket_once_despite_inserts(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let c = w.customer().await;
    let mut original = HashSet::new();
    for i in 0..18 {
        if i % 2 == 0 {
            w.tick();
        }
        let mut input = NewTicket::new(&format!("T{i}"), "x");
        input.priority = Some(Priority::ALL[i % 4]);
        original.insert(w.hd.create_ticket(&c.p, input).await.unwrap().id);
    }
    for sort in [
        TicketSort::CreatedAt,
        TicketSort::CreatedAtDesc,
        TicketSort::Priority,
        TicketSort::PriorityDesc,
    ] {
        let mut seen = Vec::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let page =
                w.hd.list_tickets(
                    &agent.p,
                    TicketFilter {
                        sort,
                        cursor,
                        limit: Some(4),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert!(page.items.len() <= 4);
            seen.extend(page.items.iter().map(|t| (sort.key(t), t.id)));
            // Others keep opening tickets while we walk (at the same time, earlier
            // priorities and later ones).
            let mut input = NewTicket::new("Inserted", "x");
            input.priority = Some(Priority::ALL[pages % 4]);
            w.hd.create_ticket(&c.p, input).await.unwrap();
            pages += 1;
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
            assert!(pages < 100, "the walk does not end");
        }
        let unique: HashSet<Uuid> = seen.iter().map(|(_, id)| *id).collect();
        assert_eq!(unique.len(), seen.len(), "{sort:?}: an item came twice");
        assert!(original.is_subset(&unique), "{sort:?}: an item was skipped");
        let mut sorted = seen.clone();
        sorted.sort();
        if sort.descending() {
            sorted.reverse();
        }
        assert_eq!(seen, sorted, "{sort:?}: out of order");
    }
}

/// Customers list only their own tickets and get `NotFound` for others'.
pub async fn customers_see_only_their_own(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c1 = w.customer().await;
    let c2 = w.customer().await;
    let agent = w.agent().await;
    let mine = w.ticket(&c1, "Mine").await;
    let theirs = w.ticket(&c2, "Theirs").await;
    assert_eq!(
        list_ids(&w, &c1.p, TicketFilter::default()).await,
        vec![mine.id]
    );
    expect_err!(w.hd.get_ticket(&c1.p, theirs.id).await, Error::NotFound);
    expect_err!(
        w.hd.get_ticket_by_number(&c1.p, theirs.number).await,
        Error::NotFound
    );
    expect_err!(
        w.hd.update_ticket(&c1.p, theirs.id, status(Resolved)).await,
        Error::NotFound
    );
    expect_err!(
        w.hd.update_ticket(
            &c1.p,
            theirs.id,
            TicketPatch {
                priority: Some(Priority::Low),
                ..Default::default()
            }
        )
        .await,
        Error::NotFound
    );
    expect_err!(
        w.hd.ticket_events(&c1.p, theirs.id, PageRequest::default())
            .await,
        Error::NotFound
    );
    expect_err!(
        w.hd.get_conversation(&c1.p, theirs.conversation_id).await,
        Error::NotFound
    );
    expect_err!(
        w.hd.get_ticket(&c1.p, Uuid::now_v7()).await,
        Error::NotFound
    );
    assert_eq!(
        list_ids(&w, &agent.p, TicketFilter::default()).await.len(),
        2
    );
}

/// Only admins delete; the ticket and its conversation are gone afterwards.
pub async fn delete_is_admin_only_and_removes_conversation(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let c = w.customer().await;
    let t = w.ticket(&c, "Delete me").await;
    w.send(&c, t.conversation_id, "hello").await;
    expect_err!(
        w.hd.delete_ticket(&agent.p, t.id).await,
        Error::Forbidden(_)
    );
    expect_err!(w.hd.delete_ticket(&c.p, t.id).await, Error::Forbidden(_));
    w.hd.delete_ticket(&admin.p, t.id).await.unwrap();
    expect_err!(w.hd.get_ticket(&admin.p, t.id).await, Error::NotFound);
    expect_err!(
        w.hd.get_conversation(&admin.p, t.conversation_id).await,
        Error::NotFound
    );
    assert!(
        w.store
            .get_ticket_by_number(t.number)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        list_ids(&w, &admin.p, TicketFilter::default())
            .await
            .is_empty()
    );
    expect_err!(w.hd.delete_ticket(&admin.p, t.id).await, Error::NotFound);
    // Numbers are never reused.
    assert_eq!(w.ticket(&c, "Next").await.number, 2);
}

/// Bad subjects are refused; tags are lowercased, sorted and deduplicated.
pub async fn validation_and_tag_normalisation(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    expect_err!(
        w.hd.create_ticket(&c.p, NewTicket::new("   ", "x")).await,
        Error::Validation(_)
    );
    expect_err!(
        w.hd.create_ticket(&c.p, NewTicket::new(&"s".repeat(201), "x"))
            .await,
        Error::Validation(_)
    );
    let mut input = NewTicket::new("  Tags  ", "x");
    input.tags = vec!["VIP".into(), "billing".into(), "vip".into()];
    let t = w.hd.create_ticket(&c.p, input).await.unwrap();
    assert_eq!(t.subject, "Tags");
    assert_eq!(t.tags, vec!["billing".to_string(), "vip".to_string()]);
    // Simple case mapping: `İ` is kept (its full lowercase, `i` and a combining dot, is
    // not a letter), the rest lowercased; filters fold the same way.
    let mut input = NewTicket::new("Dotted", "x");
    input.tags = vec![" İSTANBUL ".into()];
    let dotted = w.hd.create_ticket(&c.p, input).await.unwrap();
    assert_eq!(dotted.tags, vec!["İstanbul".to_string()]);
    let by_tag = TicketFilter {
        tag: Some("İstanBUL".into()),
        ..Default::default()
    };
    assert_eq!(list_ids(&w, &c.p, by_tag).await, vec![dotted.id]);
    let mut input = NewTicket::new("Bad tag", "x");
    input.tags = vec!["no/slashes".into()];
    expect_err!(w.hd.create_ticket(&c.p, input).await, Error::Validation(_));
    // Nothing of the refused ones was stored.
    let agent = w.agent().await;
    assert_eq!(
        list_ids(&w, &agent.p, TicketFilter::default()).await.len(),
        2
    );
}

/// The ticket's conversation has the requester; the assignee joins on assignment.
pub async fn assignee_joins_ticket_conversation(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let c = w.customer().await;
    let t = w.ticket(&c, "Join").await;
    let conv =
        w.hd.get_conversation(&c.p, t.conversation_id)
            .await
            .unwrap();
    assert_eq!(conv.conversation.ticket_id, Some(t.id));
    assert_eq!(
        conv.conversation
            .members
            .iter()
            .map(|m| m.user_id)
            .collect::<Vec<_>>(),
        vec![c.id()]
    );
    w.hd.update_ticket(
        &agent.p,
        t.id,
        TicketPatch {
            assignee_id: Some(Some(agent.id())),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let conv =
        w.hd.get_conversation(&c.p, t.conversation_id)
            .await
            .unwrap();
    assert!(conv.conversation.is_member(agent.id()));
    let listed =
        w.hd.list_conversations(&agent.p, ConversationFilter::default())
            .await
            .unwrap();
    assert!(
        listed
            .items
            .iter()
            .any(|v| v.conversation.id == t.conversation_id)
    );
    // Unassigning leaves the ticket unassigned.
    let t =
        w.hd.update_ticket(
            &agent.p,
            t.id,
            TicketPatch {
                assignee_id: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(t.assignee_id, None);
}

/// Store level: a ticket write with a stale version fails with `Conflict::Version`.
pub async fn store_update_ticket_checks_version(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let c = w.customer().await;
    let t = w.ticket(&c, "Versioned").await;
    assert_eq!(t.version, 1);
    let mut next = t.clone();
    next.subject = "v2".into();
    next.version = 2;
    store
        .update_ticket(&next, None, &Effects::none())
        .await
        .unwrap();
    let mut stale = t.clone();
    stale.subject = "stale".into();
    stale.version = 2;
    let e = store
        .update_ticket(&stale, None, &Effects::none())
        .await
        .unwrap_err();
    assert!(e.is_conflict(crate::Conflict::Version), "{e:?}");
    let mut skip = t.clone();
    skip.version = 4;
    assert!(
        store
            .update_ticket(&skip, None, &Effects::none())
            .await
            .unwrap_err()
            .is_conflict(crate::Conflict::Version)
    );
    let got = store.get_ticket(t.id).await.unwrap().unwrap();
    assert_eq!((got.subject.as_str(), got.version), ("v2", 2));
    let mut ghost = t.clone();
    ghost.id = Uuid::now_v7();
    ghost.version = 2;
    assert!(matches!(
        store.update_ticket(&ghost, None, &Effects::none()).await,
        Err(crate::StoreError::NotFound)
    ));
}

/// Sixteen simultaneous updates of different fields all land.
pub async fn concurrent_updates_lose_nothing(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let c = w.customer().await;
    let t = w.ticket(&c, "Busy").await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let hd = w.hd.clone();
        let p = agent.p;
        tasks.push(tokio::spawn(async move {
            let patch = if i == 0 {
                TicketPatch {
                    priority: Some(Priority::Urgent),
                    ..Default::default()
                }
            } else if i == 1 {
                TicketPatch {
                    tags: Some(vec!["busy".into()]),
                    ..Default::default()
                }
            } else {
                TicketPatch {
                    description: Some(format!("d{i}")),
                    ..Default::default()
                }
            };
            hd.update_ticket(&p, t.id, patch).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::Conflict(_)) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    let got = w.hd.get_ticket(&agent.p, t.id).await.unwrap();
    assert_eq!(got.version, 1 + ok);
    assert!(ok >= 2, "retries should make most updates land");
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
    assert_eq!(timeline.len() as u64, 1 + ok);
    let _ = got;
}

/// Store level: a ticket's update and its new assignee's joining of the conversation are
/// one atomic operation: both land, with the join's event, or neither (a stale version
/// adds no member); a user who is a member already gets no second event.
pub async fn store_update_ticket_joins_atomically(store: Arc<dyn Store>) {
    use crate::conversation::Member;
    use crate::event::{Audience, EventKind, NewEvent};
    use crate::store::MemberChange;
    let w = World::new(store.clone());
    let c = w.customer().await;
    let agent = w.agent().await;
    let t = w.ticket(&c, "Assign me").await;
    let now = w.hd.now();
    let join = MemberChange::Join {
        member: Member {
            user_id: agent.id(),
            joined_at: now,
        },
        event: NewEvent::new(
            EventKind::ConversationMemberAdded,
            now,
            Audience::users([agent.id()]),
            serde_json::json!({"conversation_id": t.conversation_id, "user_id": agent.id()}),
        ),
    };
    let members = |store: Arc<dyn Store>, id: Uuid| async move {
        let conv = store.get_conversation(id).await.unwrap().unwrap();
        conv.members.iter().map(|m| m.user_id).collect::<Vec<_>>()
    };
    let mut stale = t.clone();
    stale.assignee_id = Some(agent.id());
    stale.version = 3;
    let e = store
        .update_ticket(&stale, Some(&join), &Effects::none())
        .await
        .unwrap_err();
    assert!(e.is_conflict(crate::Conflict::Version), "{e:?}");
    assert_eq!(
        members(store.clone(), t.conversation_id).await,
        vec![c.id()]
    );
    assert_eq!(member_added_events(&w).await, 0);

    let mut next = t.clone();
    next.assignee_id = Some(agent.id());
    next.version = 2;
    store
        .update_ticket(&next, Some(&join), &Effects::none())
        .await
        .unwrap();
    assert_eq!(
        members(store.clone(), t.conversation_id).await,
        vec![c.id(), agent.id()]
    );
    assert_eq!(member_added_events(&w).await, 1);
    assert!(
        store
            .get_participant(t.conversation_id, agent.id())
            .await
            .unwrap()
            .is_some(),
        "the new member has read state"
    );
    let mut again = next.clone();
    again.version = 3;
    store
        .update_ticket(&again, Some(&join), &Effects::none())
        .await
        .unwrap();
    assert_eq!(member_added_events(&w).await, 1, "a member joins once");
}

/// How many `conversation.member_added` events the log holds.
async fn member_added_events(w: &World) -> usize {
    w.events()
        .await
        .into_iter()
        .filter(|e| e.kind == crate::event::EventKind::ConversationMemberAdded)
        .count()
}
