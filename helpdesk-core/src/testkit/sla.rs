//! SLA policies (API-workflow.md "SLA policies"): selection by condition, the three
//! metrics and their cycles, pauses, recomputation from history, and warnings and
//! breaches fired by the scheduler once per (ticket, metric, cycle).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::{World, expect_err};
use crate::Error;
use crate::event::EventKind;
use crate::message::NewMessage;
use crate::notification::NotificationKind;
use crate::sla::Metric;
use crate::sla_policy::{NewSlaPolicy, SlaPolicy, SlaPolicyPatch};
use crate::status::StatusCategory;
use crate::store::Store;
use crate::testkit::Who;
use crate::ticket::{Priority, SlaFilter, Ticket, TicketFilter, TicketPatch, TicketSort};
use crate::{Config, Helpdesk};

pub(super) fn policy(name: &str, targets: serde_json::Value) -> NewSlaPolicy {
    NewSlaPolicy {
        name: name.into(),
        position: None,
        active: None,
        condition: None,
        calendar_id: None,
        targets,
        warn_percent: None,
    }
}

async fn make(w: &World, admin: &Who, p: NewSlaPolicy) -> SlaPolicy {
    w.hd.create_sla_policy(&admin.p, p).await.unwrap()
}

async fn fresh(w: &World, who: &Who, t: &Ticket) -> Ticket {
    w.hd.get_ticket(&who.p, t.id).await.unwrap()
}

async fn patch(w: &World, who: &Who, t: &Ticket, patch: TicketPatch) -> Ticket {
    w.hd.update_ticket(&who.p, t.id, patch).await.unwrap()
}

async fn assigned(w: &World, customer: &Who, agent: &Who) -> Ticket {
    let t = w.ticket(customer, "Printer on fire").await;
    let p = TicketPatch {
        assignee_id: Some(Some(agent.id())),
        ..Default::default()
    };
    patch(w, agent, &t, p).await
}

fn due(t: &Ticket, m: Metric) -> Option<DateTime<Utc>> {
    t.sla.running(m).map(|d| d.due_at)
}

/// Creating, reading, changing and deleting policies: defaults, rights, and every
/// input problem at its path.
pub async fn sla_policy_crud_and_input(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (admin, agent, customer) = (w.admin().await, w.agent().await, w.customer().await);
    let p = make(
        &w,
        &admin,
        policy("Standard", json!({"first_response": {"normal": 60}})),
    )
    .await;
    assert!(p.active);
    assert_eq!(p.warn_percent, Some(80));
    assert!(p.condition.is_empty());
    assert_eq!(p.calendar_id, None);
    assert_eq!(p.position, 0);
    let q = make(&w, &admin, policy("Second", json!({}))).await;
    assert_eq!(q.position, 1, "after the last");
    assert_eq!(
        w.hd.list_sla_policies(&agent.p).await.unwrap(),
        vec![p.clone(), q.clone()]
    );
    expect_err!(
        w.hd.list_sla_policies(&customer.p).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.create_sla_policy(&agent.p, policy("No", json!({})))
            .await,
        Error::Forbidden(_)
    );

    for (targets, field) in [
        (
            json!({"first_response": {"normal": 0}}),
            "targets.first_response.normal",
        ),
        (
            json!({"resolution": {"urgent": 525_601}}),
            "targets.resolution.urgent",
        ),
        (
            json!({"resolution": {"high": "1h"}}),
            "targets.resolution.high",
        ),
        (json!({"resolution": 5}), "targets.resolution"),
        (json!([]), "targets"),
    ] {
        expect_err!(
            w.hd.create_sla_policy(&admin.p, policy("Bad", targets.clone())).await,
            Error::Validation(e) if e[0].field == field,
        );
    }
    expect_err!(
        w.hd.create_sla_policy(&admin.p, policy("Bad", json!({"response": {}}))).await,
        Error::UnknownField(f) if f == "targets.response"
    );
    for (warn, ok) in [(0, false), (100, false), (1, true), (99, true)] {
        let mut input = policy("Warn", json!({}));
        input.warn_percent = Some(Some(warn));
        let made = w.hd.create_sla_policy(&admin.p, input).await;
        match ok {
            true => assert_eq!(made.unwrap().warn_percent, Some(warn as u8)),
            false => expect_err!(made, Error::Validation(e) if e[0].field == "warn_percent"),
        }
    }
    for (condition, field) in [
        (
            json!({"all": [{"field": "hours_since_created", "op": "gt", "value": 1}]}),
            "condition.all[0].field",
        ),
        (
            json!({"all": [{"field": "sla.breached", "op": "eq", "value": true}]}),
            "condition.all[0].field",
        ),
        (
            json!({"all": [{"field": "event", "op": "eq", "value": "ticket.created"}]}),
            "condition.all[0].field",
        ),
    ] {
        let mut input = policy("Cond", json!({}));
        input.condition = Some(condition);
        expect_err!(
            w.hd.create_sla_policy(&admin.p, input).await,
            Error::Validation(e) if e[0].field == field,
        );
    }
    let mut input = policy("Calendar", json!({}));
    input.calendar_id = Some(crate::clock::new_id());
    expect_err!(
        w.hd.create_sla_policy(&admin.p, input).await,
        Error::Validation(e) if e[0].field == "calendar_id"
    );

    let changed =
        w.hd.update_sla_policy(
            &admin.p,
            p.id,
            SlaPolicyPatch {
                name: Some("Gold".into()),
                warn_percent: Some(None),
                active: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.name.as_str(), changed.warn_percent, changed.active),
        ("Gold", None, false)
    );
    assert_eq!(w.hd.get_sla_policy(&agent.p, p.id).await.unwrap(), changed);
    w.hd.delete_sla_policy(&admin.p, p.id).await.unwrap();
    expect_err!(w.hd.get_sla_policy(&agent.p, p.id).await, Error::NotFound);
    expect_err!(
        w.hd.delete_sla_policy(&admin.p, p.id).await,
        Error::NotFound
    );
}

/// First response: due from creation, warned at 80 %, breached at the due time (once,
/// by the scheduler), fulfilled late by the first public staff message.
pub async fn first_response_warns_breaches_and_fulfils(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (admin, agent, customer) = (w.admin().await, w.agent().await, w.customer().await);
    make(
        &w,
        &admin,
        policy("Std", json!({"first_response": {"normal": 10}})),
    )
    .await;
    let t = assigned(&w, &customer, &agent).await;
    let created = t.created_at;
    assert_eq!(
        due(&t, Metric::FirstResponse),
        Some(created + Duration::minutes(10))
    );
    assert_eq!(due(&t, Metric::Resolution), None, "no target, no cycle");

    w.advance(Duration::minutes(8) - Duration::microseconds(1));
    assert_eq!(w.hd.run_due().await.unwrap(), 0);
    w.advance(Duration::microseconds(1));
    assert_eq!(w.hd.run_due().await.unwrap(), 1);
    let warned = w.event_data(EventKind::TicketSlaWarning).await;
    assert_eq!(warned.len(), 1);
    assert_eq!(warned[0]["metric"], "first_response");
    assert_eq!(warned[0]["cycle"], 1);
    assert_eq!(w.notified(&agent, NotificationKind::SlaWarning).await, 1);
    assert!(
        fresh(&w, &agent, &t)
            .await
            .sla
            .breached(w.hd.now())
            .is_empty()
    );

    w.advance(Duration::minutes(2));
    assert_eq!(w.hd.run_due().await.unwrap(), 1);
    assert_eq!(w.event_data(EventKind::TicketSlaBreached).await.len(), 1);
    assert_eq!(w.notified(&agent, NotificationKind::SlaBreached).await, 1);
    let now = fresh(&w, &agent, &t).await;
    assert_eq!(now.sla.breached(w.hd.now()), vec![Metric::FirstResponse]);
    assert_eq!(
        now.updated_at, t.updated_at,
        "SLA changes are no ticket change"
    );
    w.advance(Duration::hours(1));
    assert_eq!(w.hd.run_due().await.unwrap(), 0, "once");

    // An internal note fulfils nothing; a public staff message does, late.
    let mut note = NewMessage::text("looking");
    note.internal = true;
    w.hd.send_message(&agent.p, t.conversation_id, note)
        .await
        .unwrap();
    assert!(due(&fresh(&w, &agent, &t).await, Metric::FirstResponse).is_some());
    w.hd.send_message(&agent.p, t.conversation_id, NewMessage::text("On it"))
        .await
        .unwrap();
    let done = w.event_data(EventKind::TicketSlaFulfilled).await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["within_target"], false);
    assert_eq!(done[0]["metric"], "first_response");
    let after = fresh(&w, &agent, &t).await;
    assert_eq!(due(&after, Metric::FirstResponse), None);
    assert!(
        after.sla.breached(w.hd.now()).is_empty(),
        "breached is live state"
    );
    assert_eq!(w.event_data(EventKind::TicketSlaBreached).await.len(), 1);
}

/// Resolution pauses in pending and on hold, is fulfilled on entering resolved, and a
/// reopen starts its next cycle counting on from the minutes spent.
pub async fn resolution_pauses_and_counts_on_after_a_reopen(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (admin, agent, customer) = (w.admin().await, w.agent().await, w.customer().await);
    make(
        &w,
        &admin,
        policy("Std", json!({"resolution": {"normal": 60}})),
    )
    .await;
    let t = assigned(&w, &customer, &agent).await;
    w.advance(Duration::minutes(20));
    let pending = w.set_category(&agent, &t, StatusCategory::Pending).await;
    assert!(pending.sla.paused);
    assert_eq!(due(&pending, Metric::Resolution), None, "null while paused");
    w.advance(Duration::minutes(30));
    assert_eq!(w.hd.run_due().await.unwrap(), 0);
    let open = w.set_category(&agent, &t, StatusCategory::Open).await;
    assert!(!open.sla.paused);
    assert_eq!(
        due(&open, Metric::Resolution),
        Some(w.hd.now() + Duration::minutes(40))
    );
    w.advance(Duration::minutes(10));
    let resolved = w.set_category(&agent, &t, StatusCategory::Resolved).await;
    assert_eq!(due(&resolved, Metric::Resolution), None);
    let done = w.event_data(EventKind::TicketSlaFulfilled).await;
    assert_eq!(done.len(), 1);
    assert_eq!(
        (done[0]["metric"].clone(), done[0]["within_target"].clone()),
        (json!("resolution"), json!(true))
    );

    // The requester writes back: reopened, cycle 2, 30 minutes spent already.
    w.advance(Duration::hours(5));
    w.hd.send_message(
        &customer.p,
        t.conversation_id,
        NewMessage::text("Still broken"),
    )
    .await
    .unwrap();
    let reopened = fresh(&w, &agent, &t).await;
    assert_eq!(reopened.status_category, StatusCategory::Open);
    let d = reopened.sla.running(Metric::Resolution).unwrap();
    assert_eq!((d.cycle, d.due_at), (2, w.hd.now() + Duration::minutes(30)));
    w.advance(Duration::minutes(30));
    w.hd.run_due().await.unwrap();
    let breached = w.event_data(EventKind::TicketSlaBreached).await;
    assert_eq!(breached.len(), 1);
    assert_eq!(breached[0]["cycle"], 2);
}

/// Changing a policy mid-pause recomputes from the history: the paused minutes stay
/// excluded, and a cycle the change made overdue breaches at the next run.
pub async fn a_policy_change_keeps_paused_minutes(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (admin, agent, customer) = (w.admin().await, w.agent().await, w.customer().await);
    let p = make(
        &w,
        &admin,
        policy("Std", json!({"resolution": {"normal": 60}})),
    )
    .await;
    let t = assigned(&w, &customer, &agent).await;
    w.advance(Duration::minutes(10));
    w.set_category(&agent, &t, StatusCategory::OnHold).await;
    w.advance(Duration::minutes(20));
    let change = |minutes: u32| SlaPolicyPatch {
        targets: Some(json!({"resolution": {"normal": minutes}})),
        ..Default::default()
    };
    w.hd.update_sla_policy(&admin.p, p.id, change(30))
        .await
        .unwrap();
    let paused = fresh(&w, &agent, &t).await;
    assert!(paused.sla.paused);
    assert_eq!(paused.updated_at, t.updated_at + Duration::minutes(10));
    w.advance(Duration::minutes(5));
    let open = w.set_category(&agent, &t, StatusCategory::Open).await;
    assert_eq!(
        due(&open, Metric::Resolution),
        Some(w.hd.now() + Duration::minutes(20))
    );

    // 10 + 5 minutes run; a target of 12 is overdue since 2 minutes: it breaches now.
    w.advance(Duration::minutes(5));
    w.hd.update_sla_policy(&admin.p, p.id, change(12))
        .await
        .unwrap();
    let overdue = fresh(&w, &agent, &t).await;
    assert_eq!(
        due(&overdue, Metric::Resolution),
        Some(w.hd.now() - Duration::minutes(3))
    );
    assert!(w.event_data(EventKind::TicketSlaBreached).await.is_empty());
    assert_eq!(w.hd.run_due().await.unwrap(), 1);
    assert_eq!(w.event_data(EventKind::TicketSlaBreached).await.len(), 1);
    assert!(
        w.event_data(EventKind::TicketSlaWarning).await.is_empty(),
        "no warning when the breach is due too"
    );
}

/// Next response: a public customer message after the first response starts a cycle,
/// the next public staff message fulfils it; entering resolved ends it silently.
pub async fn next_response_cycles(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (admin, agent, customer) = (w.admin().await, w.agent().await, w.customer().await);
    make(
        &w,
        &admin,
        policy(
            "Std",
            json!({"first_response": {"normal": 30}, "next_response": {"normal": 15}}),
        ),
    )
    .await;
    let t = assigned(&w, &customer, &agent).await;
    let conv = t.conversation_id;
    w.hd.send_message(&customer.p, conv, NewMessage::text("more details"))
        .await
        .unwrap();
    assert_eq!(
        due(&fresh(&w, &agent, &t).await, Metric::NextResponse),
        None,
        "before the first response"
    );
    w.advance(Duration::minutes(5));
    w.hd.send_message(&agent.p, conv, NewMessage::text("hello"))
        .await
        .unwrap();
    w.advance(Duration::minutes(5));
    w.hd.send_message(&customer.p, conv, NewMessage::text("and?"))
        .await
        .unwrap();
    let started = w.hd.now();
    w.advance(Duration::minutes(1));
    w.hd.send_message(&customer.p, conv, NewMessage::text("hello?"))
        .await
        .unwrap();
    let running = fresh(&w, &agent, &t).await;
    let d = running.sla.running(Metric::NextResponse).unwrap();
    assert_eq!(
        (d.cycle, d.due_at),
        (1, started + Duration::minutes(15)),
        "one runs already"
    );
    w.hd.send_message(&agent.p, conv, NewMessage::text("fixed"))
        .await
        .unwrap();
    let fulfilled: Vec<_> = w
        .event_data(EventKind::TicketSlaFulfilled)
        .await
        .into_iter()
        .map(|d| {
            (
                d["metric"].clone(),
                d["cycle"].clone(),
                d["within_target"].clone(),
            )
        })
        .collect();
    assert_eq!(
        fulfilled,
        [
            (json!("first_response"), json!(1), json!(true)),
            (json!("next_response"), json!(1), json!(true)),
        ]
    );
    w.hd.send_message(&customer.p, conv, NewMessage::text("thanks"))
        .await
        .unwrap();
    assert_eq!(
        fresh(&w, &agent, &t)
            .await
            .sla
            .running(Metric::NextResponse)
            .unwrap()
            .cycle,
        2
    );
    let resolved = w.set_category(&agent, &t, StatusCategory::Resolved).await;
    assert_eq!(due(&resolved, Metric::NextResponse), None);
    assert_eq!(
        w.event_data(EventKind::TicketSlaFulfilled).await.len(),
        2,
        "ended without an event"
    );
}

/// The first active policy by position whose condition matches applies, chosen again
/// when the ticket changes; none: no SLA.
pub async fn policies_are_chosen_by_condition_and_order(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (admin, agent, customer) = (w.admin().await, w.agent().await, w.customer().await);
    let mut urgent = policy(
        "Urgent",
        json!({"first_response": {"urgent": 5, "normal": 5}}),
    );
    urgent.condition = Some(json!({"all": [{"field": "priority", "op": "eq", "value": "urgent"}]}));
    let urgent = make(&w, &admin, urgent).await;
    let mut off = policy("Off", json!({"first_response": {"urgent": 1}}));
    off.active = Some(false);
    off.position = Some(0);
    make(&w, &admin, off).await;
    let t = assigned(&w, &customer, &agent).await;
    assert_eq!(t.sla.policy_id, None, "no policy matches");
    let up = patch(
        &w,
        &agent,
        &t,
        TicketPatch {
            priority: Some(Priority::Urgent),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(up.sla.policy_id, Some(urgent.id));
    assert_eq!(
        due(&up, Metric::FirstResponse),
        Some(t.created_at + Duration::minutes(5))
    );
    let fallback = make(
        &w,
        &admin,
        policy("All", json!({"first_response": {"normal": 60}})),
    )
    .await;
    let down = patch(
        &w,
        &agent,
        &t,
        TicketPatch {
            priority: Some(Priority::Normal),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(down.sla.policy_id, Some(fallback.id));
    assert_eq!(
        due(&down, Metric::FirstResponse),
        Some(t.created_at + Duration::minutes(60))
    );
    w.hd.delete_sla_policy(&admin.p, fallback.id).await.unwrap();
    assert_eq!(fresh(&w, &agent, &t).await.sla.policy_id, None);
}

/// `sla=breached`, `sla=due_within:<m>` and the SLA orders (no due time last both ways);
/// customers may use none of them.
pub async fn sla_filters_and_orders(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (admin, agent, customer) = (w.admin().await, w.agent().await, w.customer().await);
    let mut fast = policy("Fast", json!({"first_response": {"high": 10}}));
    fast.condition = Some(json!({"all": [{"field": "priority", "op": "eq", "value": "high"}]}));
    make(&w, &admin, fast).await;
    make(
        &w,
        &admin,
        policy("Slow", json!({"first_response": {"normal": 60}})),
    )
    .await;
    let none = w.ticket(&customer, "low").await;
    let none = patch(
        &w,
        &agent,
        &none,
        TicketPatch {
            priority: Some(Priority::Low),
            ..Default::default()
        },
    )
    .await;
    w.tick();
    let slow = w.ticket(&customer, "slow").await;
    w.tick();
    let fast = w.ticket(&customer, "fast").await;
    let fast = patch(
        &w,
        &agent,
        &fast,
        TicketPatch {
            priority: Some(Priority::High),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(none.sla.due_at(), None, "its policy has no target for low");
    let list = |filter: TicketFilter| {
        let w = &w;
        let agent = &agent;
        async move {
            let page = w.hd.list_tickets(&agent.p, filter).await.unwrap();
            page.items.into_iter().map(|t| t.id).collect::<Vec<_>>()
        }
    };
    let sorted = |sort| TicketFilter {
        sort,
        ..Default::default()
    };
    assert_eq!(
        list(sorted(TicketSort::SlaDue)).await,
        [fast.id, slow.id, none.id]
    );
    assert_eq!(
        list(sorted(TicketSort::SlaDueDesc)).await,
        [slow.id, fast.id, none.id]
    );
    let sla = |f| TicketFilter {
        sla: Some(f),
        ..Default::default()
    };
    assert!(list(sla(SlaFilter::Breached)).await.is_empty());
    assert_eq!(
        list(sla(SlaFilter::DueWithin(Duration::minutes(30)))).await,
        [fast.id]
    );
    w.advance(Duration::minutes(11));
    assert_eq!(list(sla(SlaFilter::Breached)).await, [fast.id]);
    assert!(
        list(sla(SlaFilter::DueWithin(Duration::minutes(30))))
            .await
            .is_empty()
    );
    assert_eq!(
        list(sla(SlaFilter::DueWithin(Duration::minutes(60)))).await,
        [slow.id]
    );
    // Paged: the cursor carries the order.
    let first =
        w.hd.list_tickets(
            &agent.p,
            TicketFilter {
                limit: Some(1),
                ..sorted(TicketSort::SlaDueDesc)
            },
        )
        .await
        .unwrap();
    let second =
        w.hd.list_tickets(
            &agent.p,
            TicketFilter {
                limit: Some(2),
                cursor: first.next_cursor,
                ..sorted(TicketSort::SlaDueDesc)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        second.items.iter().map(|t| t.id).collect::<Vec<_>>(),
        [fast.id, none.id]
    );
    for filter in [sla(SlaFilter::Breached), sorted(TicketSort::SlaDue)] {
        expect_err!(
            w.hd.list_tickets(&customer.p, filter).await,
            Error::Forbidden(_)
        );
    }
}

/// Two instances over one store fire each breach once between them.
pub async fn breaches_fire_once_across_instances(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let (admin, customer) = (w.admin().await, w.customer().await);
    make(
        &w,
        &admin,
        policy("Std", json!({"first_response": {"normal": 1}})),
    )
    .await;
    for n in 0..30 {
        w.ticket(&customer, &format!("t{n}")).await;
    }
    let other = Helpdesk::with_clock(store, Config::for_tests(), w.clock.clone());
    w.advance(Duration::minutes(2));
    let (a, b) = tokio::join!(w.hd.run_due(), other.run_due());
    assert_eq!(a.unwrap() + b.unwrap(), 30);
    let breaches = w.event_data(EventKind::TicketSlaBreached).await;
    assert_eq!(breaches.len(), 30, "each once");
    assert!(w.event_data(EventKind::TicketSlaWarning).await.is_empty());
}

/// A policy with a calendar counts its open hours: a target that runs out of the week's
/// hours is due after the weekend; changing the calendar moves the due time; a calendar
/// a policy uses is not deleted.
pub async fn calendar_targets_count_business_minutes(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (admin, agent, customer) = (w.admin().await, w.agent().await, w.customer().await);
    let weekdays = json!({
        "mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]],
        "thu": [["09:00", "17:00"]], "fri": [["09:00", "17:00"]]
    });
    let office =
        w.hd.create_calendar(
            &admin.p,
            crate::calendar::NewCalendar {
                name: "Office".into(),
                timezone: "UTC".into(),
                hours: weekdays.clone(),
                holidays: None,
            },
        )
        .await
        .unwrap();
    let mut input = policy("Office hours", json!({"first_response": {"normal": 60}}));
    input.calendar_id = Some(office.id);
    make(&w, &admin, input).await;
    // The suite's clock starts on Wednesday 2025-01-01 09:00 UTC: Friday 16:30.
    w.advance(Duration::days(2) + Duration::minutes(7 * 60 + 30));
    let t = assigned(&w, &customer, &agent).await;
    let monday = |h, m| chrono::TimeZone::with_ymd_and_hms(&Utc, 2025, 1, 6, h, m, 0).unwrap();
    assert_eq!(due(&t, Metric::FirstResponse), Some(monday(9, 30)));

    let mut hours = weekdays;
    hours["sat"] = json!([["09:00", "10:00"]]);
    w.hd.update_calendar(
        &admin.p,
        office.id,
        crate::calendar::CalendarPatch {
            hours: Some(hours),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let saturday = chrono::TimeZone::with_ymd_and_hms(&Utc, 2025, 1, 4, 9, 30, 0).unwrap();
    assert_eq!(
        due(&fresh(&w, &agent, &t).await, Metric::FirstResponse),
        Some(saturday)
    );
    expect_err!(
        w.hd.delete_calendar(&admin.p, office.id).await,
        Error::InUse(_)
    );
}

/// Triggers run on what the scheduler fires: a breach tags the ticket, as the system,
/// once.
pub async fn breaches_and_wakes_run_triggers(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (admin, agent, customer) = (w.admin().await, w.agent().await, w.customer().await);
    make(
        &w,
        &admin,
        policy("Std", json!({"first_response": {"normal": 5}})),
    )
    .await;
    for (event, tag) in [
        ("ticket.sla_breached", "late"),
        ("ticket.unsnoozed", "awake"),
    ] {
        w.hd.create_rule(
            &admin.p,
            crate::rule::NewRule {
                name: format!("Tag {tag}"),
                kind: crate::rule::RuleKind::Trigger,
                active: None,
                position: None,
                condition: Some(json!({"all": [{"field": "event", "op": "eq", "value": event}]})),
                actions: json!([{"action": "add_tags", "value": [tag]}]),
            },
        )
        .await
        .unwrap();
    }
    let t = assigned(&w, &customer, &agent).await;
    w.hd.snooze_ticket(&agent.p, t.id, w.hd.now() + Duration::minutes(1), true)
        .await
        .unwrap();
    w.advance(Duration::minutes(2));
    w.hd.run_due().await.unwrap();
    assert_eq!(fresh(&w, &agent, &t).await.tags, ["awake"]);
    w.advance(Duration::minutes(5));
    w.hd.run_due().await.unwrap();
    assert_eq!(fresh(&w, &agent, &t).await.tags, ["awake", "late"]);
    w.advance(Duration::minutes(5));
    w.hd.run_due().await.unwrap();
    assert_eq!(w.event_data(EventKind::TicketSlaBreached).await.len(), 1);
}
