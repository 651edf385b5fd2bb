//! Snooze and the scheduler (API-workflow.md "Snooze", "The scheduler"): a snooze is a
//! flag that ends at its time (fired by [`Helpdesk::run_due`] at most once, whatever the
//! number of instances), on a customer's reply, by hand, or by a status move; only staff
//! see it.
//!
//! [`Helpdesk::run_due`]: crate::Helpdesk::run_due

use std::sync::Arc;

use chrono::Duration;

use super::{World, expect_err};
use crate::Error;
use crate::Helpdesk;
use crate::event::EventKind;
use crate::message::NewMessage;
use crate::notification::NotificationKind;
use crate::page::PageRequest;
use crate::status::StatusCategory;
use crate::store::Store;
use crate::testkit::Who;
use crate::ticket::{Ticket, TicketFilter, TicketPatch, TimelineKind};

async fn assigned_ticket(w: &World, customer: &Who, agent: &Who) -> Ticket {
    let t = w.ticket(customer, "Printer on fire").await;
    w.hd.update_ticket(
        &agent.p,
        t.id,
        TicketPatch {
            assignee_id: Some(Some(agent.id())),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

async fn unsnoozed_reasons(w: &World) -> Vec<String> {
    w.event_data(EventKind::TicketUnsnoozed)
        .await
        .into_iter()
        .map(|d| d["reason"].as_str().unwrap().to_string())
        .collect()
}

/// Snoozing: the range of `until`, the refusals, what it writes and who sees it.
pub async fn snooze_rules_and_input(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (customer, agent) = (w.customer().await, w.agent().await);
    let t = assigned_ticket(&w, &customer, &agent).await;
    let now = w.hd.now();
    for until in [now, now - Duration::minutes(1), now + Duration::days(366)] {
        expect_err!(
            w.hd.snooze_ticket(&agent.p, t.id, until, true).await,
            Error::Validation(e) if e[0].field == "until"
        );
    }
    expect_err!(
        w.hd.snooze_ticket(&customer.p, t.id, now + Duration::hours(1), true)
            .await,
        Error::Forbidden(_)
    );

    w.tick();
    let before = w.last_event().await;
    let until = w.hd.now() + Duration::days(365);
    let s =
        w.hd.snooze_ticket(&agent.p, t.id, until, false)
            .await
            .unwrap();
    let snooze = s.snooze.expect("snoozed");
    assert_eq!((snooze.until, snooze.wake_on_reply), (until, false));
    assert_eq!(s.status, t.status, "a snooze keeps the status");
    assert_eq!(s.updated_at, w.hd.now());
    assert_eq!(w.hd.get_ticket(&agent.p, t.id).await.unwrap(), s);
    let kinds = w.event_kinds_after(before).await;
    assert_eq!(kinds, ["ticket.snoozed", "ticket.updated"], "{kinds:?}");
    for e in w.store.events_after(before, 10).await.unwrap() {
        assert!(w.hd.may_see(&agent.p, &e).await.unwrap());
        assert!(
            !w.hd.may_see(&customer.p, &e).await.unwrap(),
            "customers never hear of snoozes: {e:?}"
        );
    }
    let snoozed = &w.event_data(EventKind::TicketSnoozed).await[0];
    assert_eq!(snoozed["ticket_id"], serde_json::json!(t.id));
    assert_eq!(snoozed["wake_on_reply"], false);
    let timeline = |who: Who| {
        let w = &w;
        async move {
            w.hd.ticket_events(&who.p, t.id, PageRequest::default())
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|e| e.kind)
                .collect::<Vec<_>>()
        }
    };
    assert!(
        timeline(agent.clone())
            .await
            .contains(&TimelineKind::Snoozed)
    );
    assert!(
        !timeline(customer.clone())
            .await
            .contains(&TimelineKind::Snoozed)
    );

    // A later snooze replaces it; snoozing as it is changes nothing.
    w.tick();
    let sooner = w.hd.now() + Duration::hours(2);
    let s =
        w.hd.snooze_ticket(&agent.p, t.id, sooner, true)
            .await
            .unwrap();
    assert_eq!(s.snooze.unwrap().until, sooner);
    let last = w.last_event().await;
    let same =
        w.hd.snooze_ticket(&agent.p, t.id, sooner, true)
            .await
            .unwrap();
    assert_eq!(same, s);
    assert_eq!(w.last_event().await, last);

    // By hand: `manual`, nobody notified; again: nothing.
    w.tick();
    let woke = w.hd.unsnooze_ticket(&agent.p, t.id).await.unwrap();
    assert_eq!(woke.snooze, None);
    assert_eq!(unsnoozed_reasons(&w).await, ["manual"]);
    let last = w.last_event().await;
    w.hd.unsnooze_ticket(&agent.p, t.id).await.unwrap();
    assert_eq!(w.last_event().await, last, "not snoozed: no event");
    assert_eq!(
        w.notified(&agent, NotificationKind::TicketUnsnoozed).await,
        0
    );

    // Resolved: 409 conflict; closed: ticket_closed.
    let later = w.hd.now() + Duration::hours(1);
    w.set_category(&agent, &t, StatusCategory::Resolved).await;
    expect_err!(
        w.hd.snooze_ticket(&agent.p, t.id, later, true).await,
        Error::Conflict(_)
    );
    w.set_category(&agent, &t, StatusCategory::Closed).await;
    expect_err!(
        w.hd.snooze_ticket(&agent.p, t.id, later, true).await,
        Error::TicketClosed
    );
}

/// A snooze ends at its time, fired once by `run_due`, never before; the assignee hears.
pub async fn snooze_wakes_at_its_time_once(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (customer, agent) = (w.customer().await, w.agent().await);
    let t = assigned_ticket(&w, &customer, &agent).await;
    let until = w.hd.now() + Duration::minutes(10);
    w.hd.snooze_ticket(&agent.p, t.id, until, true)
        .await
        .unwrap();
    assert_eq!(w.hd.run_due().await.unwrap(), 0);

    w.advance(Duration::minutes(10) - Duration::microseconds(1));
    assert_eq!(w.hd.run_due().await.unwrap(), 0, "never before its time");
    assert!(
        w.hd.get_ticket(&agent.p, t.id)
            .await
            .unwrap()
            .snooze
            .is_some()
    );

    w.advance(Duration::microseconds(1));
    assert_eq!(w.hd.run_due().await.unwrap(), 1);
    let woke = w.hd.get_ticket(&agent.p, t.id).await.unwrap();
    assert_eq!(woke.snooze, None);
    assert_eq!(woke.updated_at, until);
    assert_eq!(unsnoozed_reasons(&w).await, ["time"]);
    assert_eq!(
        w.notified(&agent, NotificationKind::TicketUnsnoozed).await,
        1
    );

    w.advance(Duration::hours(1));
    assert_eq!(w.hd.run_due().await.unwrap(), 0);
    assert_eq!(unsnoozed_reasons(&w).await.len(), 1, "once");
}

/// A public customer message wakes a snooze (`reply`) unless `wake_on_reply` is false;
/// staff messages and notes do not.
pub async fn snooze_wakes_on_a_customer_reply(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (customer, agent) = (w.customer().await, w.agent().await);
    let t = assigned_ticket(&w, &customer, &agent).await;
    let until = w.hd.now() + Duration::days(1);
    let conv = t.conversation_id;

    w.hd.snooze_ticket(&agent.p, t.id, until, false)
        .await
        .unwrap();
    w.hd.send_message(&customer.p, conv, NewMessage::text("Any news?"))
        .await
        .unwrap();
    assert!(
        w.hd.get_ticket(&agent.p, t.id)
            .await
            .unwrap()
            .snooze
            .is_some()
    );

    w.hd.snooze_ticket(&agent.p, t.id, until, true)
        .await
        .unwrap();
    w.hd.send_message(&agent.p, conv, NewMessage::text("Looking into it"))
        .await
        .unwrap();
    let mut note = NewMessage::text("internal");
    note.internal = true;
    w.hd.send_message(&agent.p, conv, note).await.unwrap();
    assert!(
        w.hd.get_ticket(&agent.p, t.id)
            .await
            .unwrap()
            .snooze
            .is_some()
    );

    w.tick();
    w.hd.send_message(&customer.p, conv, NewMessage::text("Hello?"))
        .await
        .unwrap();
    assert_eq!(w.hd.get_ticket(&agent.p, t.id).await.unwrap().snooze, None);
    assert_eq!(unsnoozed_reasons(&w).await, ["reply"]);
    assert_eq!(
        w.notified(&agent, NotificationKind::TicketUnsnoozed).await,
        1
    );
    w.advance(Duration::days(2));
    assert_eq!(
        w.hd.run_due().await.unwrap(),
        0,
        "the woken snooze is not due"
    );
}

/// Entering `resolved` or being merged ends a snooze (`status`).
pub async fn resolving_or_merging_ends_a_snooze(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (customer, agent) = (w.customer().await, w.agent().await);
    let a = assigned_ticket(&w, &customer, &agent).await;
    let b = assigned_ticket(&w, &customer, &agent).await;
    let until = w.hd.now() + Duration::days(1);
    w.hd.snooze_ticket(&agent.p, a.id, until, true)
        .await
        .unwrap();
    w.hd.snooze_ticket(&agent.p, b.id, until, true)
        .await
        .unwrap();

    let on_hold = w.set_category(&agent, &a, StatusCategory::OnHold).await;
    assert!(on_hold.snooze.is_some(), "other moves keep it");
    assert_eq!(
        w.set_category(&agent, &a, StatusCategory::Resolved)
            .await
            .snooze,
        None
    );
    let merged = w.hd.merge_ticket(&agent.p, b.id, a.id).await.unwrap();
    assert_eq!(merged.snooze, None);
    assert_eq!(unsnoozed_reasons(&w).await, ["status", "status"]);
    assert_eq!(
        w.notified(&agent, NotificationKind::TicketUnsnoozed).await,
        0
    );
    w.advance(Duration::days(2));
    assert_eq!(w.hd.run_due().await.unwrap(), 0);
}

/// `snoozed=true|false` lists; customers may not filter by it; TicketFacts see it.
pub async fn snoozed_filter_is_staff_only(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (customer, agent) = (w.customer().await, w.agent().await);
    let a = assigned_ticket(&w, &customer, &agent).await;
    let b = assigned_ticket(&w, &customer, &agent).await;
    w.hd.snooze_ticket(&agent.p, a.id, w.hd.now() + Duration::hours(1), true)
        .await
        .unwrap();
    let list = |snoozed| {
        let w = &w;
        let agent = &agent;
        async move {
            let filter = TicketFilter {
                snoozed: Some(snoozed),
                ..Default::default()
            };
            let page = w.hd.list_tickets(&agent.p, filter).await.unwrap();
            page.items.into_iter().map(|t| t.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(list(true).await, vec![a.id]);
    assert_eq!(list(false).await, vec![b.id]);
    let filter = TicketFilter {
        snoozed: Some(true),
        ..Default::default()
    };
    expect_err!(
        w.hd.list_tickets(&customer.p, filter).await,
        Error::Forbidden(_)
    );
}

/// Two instances over one store fire a due item once between them; a claim keeps other
/// workers off a ticket until its hold ends or the ticket is written.
pub async fn due_items_fire_once_across_instances(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let (customer, agent) = (w.customer().await, w.agent().await);
    let mut ids = Vec::new();
    for _ in 0..20 {
        let t = assigned_ticket(&w, &customer, &agent).await;
        let until = w.hd.now() + Duration::minutes(5);
        w.hd.snooze_ticket(&agent.p, t.id, until, true)
            .await
            .unwrap();
        ids.push(t.id);
    }
    let other = Helpdesk::with_clock(store.clone(), crate::Config::for_tests(), w.clock.clone());
    w.advance(Duration::minutes(6));
    let (x, y) = tokio::join!(w.hd.run_due(), other.run_due());
    assert_eq!(x.unwrap() + y.unwrap(), 20);
    assert_eq!(unsnoozed_reasons(&w).await.len(), 20, "each fired once");
    for id in &ids {
        assert_eq!(w.hd.get_ticket(&agent.p, *id).await.unwrap().snooze, None);
    }

    // The store's claims.
    let t = assigned_ticket(&w, &customer, &agent).await;
    let until = w.hd.now() + Duration::minutes(1);
    w.hd.snooze_ticket(&agent.p, t.id, until, true)
        .await
        .unwrap();
    let now = w.hd.now();
    assert!(
        store
            .claim_due(now, now + Duration::seconds(30), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let at = until + Duration::seconds(1);
    let hold = at + Duration::seconds(30);
    assert_eq!(store.claim_due(at, hold, 10).await.unwrap(), vec![t.id]);
    assert!(
        store.claim_due(at, hold, 10).await.unwrap().is_empty(),
        "held"
    );
    assert_eq!(
        store
            .claim_due(hold, hold + Duration::seconds(30), 10)
            .await
            .unwrap(),
        vec![t.id],
        "the hold ended"
    );
    // A write releases the hold.
    w.hd.update_ticket(
        &agent.p,
        t.id,
        TicketPatch {
            subject: Some("Printer still on fire".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(store.claim_due(hold, hold, 10).await.unwrap(), vec![t.id]);
}
