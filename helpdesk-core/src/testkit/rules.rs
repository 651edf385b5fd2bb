//! Rules: who reads and writes them and the checks on their input; triggers on each
//! event, in order, as the system (`actor_id: null`, `via: rule`) before the cause's
//! answer; rule messages without a sender and no first response; failing steps recorded
//! and changing nothing; loop guards; automations edge-triggered (entering, re-entering,
//! counting matching tickets when made, never on closed tickets, time instants); dry
//! runs storing nothing; the store's run log, edge state and cleanup.

use std::sync::Arc;

use chrono::Duration;
use serde_json::json;
use uuid::Uuid;

use super::{Who, World, expect_err};
use crate::canned_reply::NewCannedReply;
use crate::event::EventKind;
use crate::message::MessagePageQuery;
use crate::ownership::ItemScope;
use crate::rule::*;
use crate::store::Store;
use crate::ticket::{NewTicket, Priority, Ticket, TicketPatch, Via};
use crate::{Error, PageRequest};

pub(super) fn trigger(
    name: &str,
    condition: serde_json::Value,
    actions: serde_json::Value,
) -> NewRule {
    NewRule {
        name: name.into(),
        kind: RuleKind::Trigger,
        active: None,
        position: None,
        condition: Some(condition),
        actions,
    }
}

fn automation(name: &str, condition: serde_json::Value, actions: serde_json::Value) -> NewRule {
    NewRule {
        kind: RuleKind::Automation,
        ..trigger(name, condition, actions)
    }
}

async fn make(w: &World, admin: &Who, input: NewRule) -> Rule {
    let name = input.name.clone();
    w.hd.create_rule(&admin.p, input)
        .await
        .unwrap_or_else(|e| panic!("create rule {name}: {e:?}"))
}

/// The field a validation error names.
fn field_of<T: std::fmt::Debug>(r: crate::Result<T>) -> String {
    match r {
        Err(Error::Validation(f)) => f[0].field.clone(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

async fn runs(w: &World, admin: &Who, rule: &Rule) -> Vec<RuleRun> {
    w.hd.list_rule_runs(&admin.p, rule.id).await.unwrap()
}

async fn patch(w: &World, who: &Who, t: &Ticket, patch: TicketPatch) -> Ticket {
    w.tick();
    w.hd.update_ticket(&who.p, t.id, patch).await.unwrap()
}

fn priority(p: Priority) -> TicketPatch {
    TicketPatch {
        priority: Some(p),
        ..Default::default()
    }
}

/// Resolves the ticket, then closes it with `priority` in the same change.
async fn close_as(w: &World, admin: &Who, t: &Ticket, p: Priority) -> Ticket {
    patch(
        w,
        admin,
        t,
        TicketPatch {
            status: Some(crate::status::StatusKey::new("resolved")),
            ..Default::default()
        },
    )
    .await;
    patch(
        w,
        admin,
        t,
        TicketPatch {
            status: Some(crate::status::StatusKey::new("closed")),
            priority: Some(p),
            ..Default::default()
        },
    )
    .await
}

async fn current(w: &World, t: &Ticket) -> Ticket {
    w.store.get_ticket(t.id).await.unwrap().unwrap()
}

/// Admins write and read rules; agents and customers do neither. Defaults, positions,
/// the fixed kind, condition checks by kind, `send_reply` of global replies only.
pub async fn rule_crud_rights_and_input(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let customer = w.customer().await;
    let input = trigger(
        "Tag new",
        json!({}),
        json!([{"action": "add_tags", "value": ["new"]}]),
    );
    for who in [&agent, &customer] {
        expect_err!(
            w.hd.create_rule(&who.p, input.clone()).await,
            Error::Forbidden(_)
        );
        expect_err!(w.hd.list_rules(&who.p).await, Error::Forbidden(_));
    }
    let a = make(&w, &admin, input.clone()).await;
    assert!(a.active);
    assert_eq!(a.position, 0);
    assert_eq!(a.kind, RuleKind::Trigger);
    let b = make(
        &w,
        &admin,
        automation(
            "Auto",
            json!({}),
            json!([{"action": "set_priority", "value": "high"}]),
        ),
    )
    .await;
    assert_eq!(b.position, 1, "after the last");
    expect_err!(w.hd.get_rule(&agent.p, a.id).await, Error::Forbidden(_));
    assert_eq!(w.hd.get_rule(&admin.p, a.id).await.unwrap(), a);
    let listed: Vec<Uuid> =
        w.hd.list_rules(&admin.p)
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
    assert_eq!(listed, vec![a.id, b.id]);
    // Trigger-only fields belong to triggers.
    let only = json!({"all": [{"field": "event", "op": "eq", "value": "ticket.created"}]});
    make(
        &w,
        &admin,
        trigger(
            "Evt",
            only.clone(),
            json!([{"action": "add_tags", "value": ["x"]}]),
        ),
    )
    .await;
    assert_eq!(
        field_of(
            w.hd.create_rule(
                &admin.p,
                automation("Evt", only, json!([{"action": "add_tags", "value": ["x"]}]))
            )
            .await
        ),
        "condition.all[0].field"
    );
    // Actions: 1..=20, checked; send_reply names a global reply.
    assert_eq!(
        field_of(
            w.hd.create_rule(&admin.p, trigger("None", json!({}), json!([])))
                .await
        ),
        "actions"
    );
    let personal =
        w.hd.create_canned_reply(
            &admin.p,
            NewCannedReply {
                title: "Mine".into(),
                shortcut: "mine".into(),
                body: "Hello".into(),
                scope: ItemScope::Personal,
                group_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        field_of(
            w.hd.create_rule(
                &admin.p,
                trigger("Reply", json!({}), json!([{"action": "add_tags", "value": ["x"]}, {"action": "send_reply", "value": personal.id}]))
            )
            .await
        ),
        "actions[1].value"
    );
    assert_eq!(
        field_of(
            w.hd.create_rule(
                &admin.p,
                trigger(
                    " ",
                    json!({}),
                    json!([{"action": "add_tags", "value": ["x"]}])
                )
            )
            .await
        ),
        "name"
    );
    // Changes: name, active, position; the rest stays.
    w.tick();
    let changed =
        w.hd.update_rule(
            &admin.p,
            a.id,
            RulePatch {
                name: Some("Renamed".into()),
                active: Some(false),
                position: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.name.as_str(), changed.active, changed.position),
        ("Renamed", false, 5)
    );
    assert_eq!(changed.kind, RuleKind::Trigger);
    assert!(changed.updated_at > a.updated_at);
    expect_err!(
        w.hd.update_rule(&agent.p, a.id, RulePatch::default()).await,
        Error::Forbidden(_)
    );
    w.hd.delete_rule(&admin.p, a.id).await.unwrap();
    expect_err!(w.hd.get_rule(&admin.p, a.id).await, Error::NotFound);
    expect_err!(w.hd.delete_rule(&admin.p, a.id).await, Error::NotFound);
    expect_err!(w.hd.list_rule_runs(&admin.p, a.id).await, Error::NotFound);
    // What a rule names is in use.
    let reply =
        w.hd.create_canned_reply(
            &admin.p,
            NewCannedReply {
                title: "Global".into(),
                shortcut: "global".into(),
                body: "Hello".into(),
                scope: ItemScope::Global,
                group_id: None,
            },
        )
        .await
        .unwrap();
    make(
        &w,
        &admin,
        trigger(
            "Send",
            json!({}),
            json!([{"action": "send_reply", "value": reply.id}]),
        ),
    )
    .await;
    expect_err!(
        w.hd.delete_canned_reply(&admin.p, reply.id).await,
        Error::InUse(_)
    );
}

/// Triggers run on `ticket.created`, `ticket.updated` and `message.created`, with the
/// event's context (`actor.role`, `message.internal`); their effects show in the answer
/// of the change that caused them; never on closed tickets.
pub async fn triggers_run_on_each_event(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let customer = w.customer().await;
    make(
        &w,
        &admin,
        trigger(
            "Created",
            json!({"all": [{"field": "event", "op": "eq", "value": "ticket.created"},
                       {"field": "actor.role", "op": "eq", "value": "customer"}]}),
            json!([{"action": "add_tags", "value": ["from-customer"]}]),
        ),
    )
    .await;
    make(
        &w,
        &admin,
        trigger(
            "Urgent",
            json!({"all": [{"field": "event", "op": "eq", "value": "ticket.updated"},
                       {"field": "priority", "op": "eq", "value": "urgent"}]}),
            json!([{"action": "add_tags", "value": ["hot"]}]),
        ),
    )
    .await;
    make(
        &w,
        &admin,
        trigger(
            "Public customer message",
            json!({"all": [{"field": "event", "op": "eq", "value": "message.created"},
                       {"field": "message.internal", "op": "eq", "value": false},
                       {"field": "actor.role", "op": "eq", "value": "customer"}]}),
            json!([{"action": "set_priority", "value": "high"}]),
        ),
    )
    .await;
    let t = w.ticket(&customer, "Printer").await;
    assert_eq!(
        t.tags,
        vec!["from-customer".to_string()],
        "in the answer of the create"
    );
    let staff_made =
        w.hd.create_ticket(
            &admin.p,
            NewTicket {
                requester_id: Some(customer.id()),
                ..NewTicket::new("By staff", "x")
            },
        )
        .await
        .unwrap();
    assert!(staff_made.tags.is_empty(), "actor.role is admin");
    let after = patch(&w, &agent, &t, priority(Priority::Urgent)).await;
    assert!(
        after.tags.contains(&"hot".to_string()),
        "in the answer of the PATCH: {:?}",
        after.tags
    );
    // Messages: an internal note is not a public customer message; a customer's is.
    w.note(&agent, t.conversation_id, "note").await;
    assert_eq!(current(&w, &t).await.priority, Priority::Urgent);
    w.send(&customer, t.conversation_id, "Any news?").await;
    assert_eq!(current(&w, &t).await.priority, Priority::High);
    // Closed tickets run nothing.
    let closed = w.ticket(&admin, "Closed").await;
    let closed = close_as(&w, &admin, &closed, Priority::Urgent).await;
    assert_eq!(closed.status.as_str(), "closed");
    assert!(!closed.tags.contains(&"hot".to_string()));
}

/// Triggers run on the `ticket.updated` of every kind of change, before its answer:
/// CCs and followers added and removed, snoozes set and ended, merges (on the target;
/// the source is closed) and unmerges.
pub async fn triggers_run_on_every_ticket_change(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let customer = w.customer().await;
    let copied = w.customer().await;
    let rule = make(
        &w,
        &admin,
        trigger(
            "Touched",
            json!({"all": [{"field": "event", "op": "eq", "value": "ticket.updated"}]}),
            json!([{"action": "add_tags", "value": ["touched"]}]),
        ),
    )
    .await;
    let t = w.ticket(&customer, "Printer").await;
    let target = w.ticket(&customer, "Printer again").await;
    let ran_on = |runs: Vec<RuleRun>| runs.iter().map(|r| r.ticket_id).collect::<Vec<_>>();
    let hd = &w.hd;

    let answered = hd
        .add_cc(&admin.p, t.id, crate::ticket::CcTarget::User(copied.id()))
        .await
        .unwrap();
    assert!(
        answered.tags.contains(&"touched".to_string()),
        "in the answer: {:?}",
        answered.tags
    );
    assert_eq!(ran_on(runs(&w, &admin, &rule).await), vec![t.id]);
    w.tick();
    hd.remove_cc(&admin.p, t.id, copied.id()).await.unwrap();
    w.tick();
    hd.follow(&admin.p, t.id, admin.id()).await.unwrap();
    w.tick();
    hd.unfollow(&admin.p, t.id, admin.id()).await.unwrap();
    w.tick();
    let snoozed = hd
        .snooze_ticket(&admin.p, t.id, w.hd.now() + Duration::hours(1), true)
        .await
        .unwrap();
    assert!(snoozed.snooze.is_some());
    w.tick();
    hd.unsnooze_ticket(&admin.p, t.id).await.unwrap();
    assert_eq!(runs(&w, &admin, &rule).await.len(), 6, "one run per change");
    w.tick();
    hd.merge_ticket(&admin.p, t.id, target.id).await.unwrap();
    assert_eq!(
        ran_on(runs(&w, &admin, &rule).await)[..1],
        [target.id],
        "the merge runs on the target"
    );
    w.tick();
    let back = hd.unmerge_ticket(&admin.p, t.id).await.unwrap();
    assert_eq!(
        runs(&w, &admin, &rule).await.len(),
        9,
        "and the unmerge on both"
    );
    assert!(back.tags.contains(&"touched".to_string()));
}

/// Triggers run in `(position, id)` order, each seeing what the ones before did, as the
/// system: timeline entries and events carry `via: {kind: rule, id}` and no actor.
pub async fn triggers_run_in_order_as_the_system(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let customer = w.customer().await;
    let second = make(
        &w,
        &admin,
        NewRule {
            position: Some(2),
            ..trigger(
                "Second",
                json!({"all": [{"field": "priority", "op": "eq", "value": "high"}]}),
                json!([{"action": "add_tags", "value": ["second"]}]),
            )
        },
    )
    .await;
    let first = make(
        &w,
        &admin,
        NewRule {
            position: Some(1),
            ..trigger(
                "First",
                json!({"all": [{"field": "event", "op": "eq", "value": "ticket.created"}]}),
                json!([{"action": "set_priority", "value": "high"}]),
            )
        },
    )
    .await;
    let last = w.last_event().await;
    let t = w.ticket(&customer, "Order").await;
    assert_eq!(t.priority, Priority::High);
    assert_eq!(
        t.tags,
        vec!["second".to_string()],
        "the second saw the first's change"
    );
    let timeline =
        w.hd.ticket_events(&admin.p, t.id, PageRequest::default())
            .await
            .unwrap()
            .items;
    let by_rule: Vec<_> = timeline.iter().filter(|e| e.via.is_some()).collect();
    assert!(by_rule.len() >= 2, "{timeline:?}");
    for e in &by_rule {
        assert_eq!(e.actor_id, None, "{e:?}");
    }
    assert!(by_rule.iter().any(|e| e.via == Some(Via::rule(first.id))));
    assert!(by_rule.iter().any(|e| e.via == Some(Via::rule(second.id))));
    let events = w.hd.events_after(last, 10_000).await.unwrap();
    let updated: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::TicketUpdated)
        .collect();
    assert!(
        updated
            .iter()
            .any(|e| e.data.get("via") == Some(&json!({"kind": "rule", "id": first.id}))),
        "{updated:?}"
    );
    assert_eq!(runs(&w, &admin, &first).await.len(), 1);
    assert_eq!(runs(&w, &admin, &first).await[0].result, RunResult::Applied);
}

/// Rule messages have `sender_id: null` and are no first response; `{{agent.name}}` is
/// the assignee's; `notify` titles with the rule's name.
pub async fn rule_messages_have_no_sender(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let customer = w.customer().await;
    let reply =
        w.hd.create_canned_reply(
            &admin.p,
            NewCannedReply {
                title: "Ack".into(),
                shortcut: "ack".into(),
                body: "Thanks {{requester.name}}, ticket #{{ticket.number}} ({{agent.name}})"
                    .into(),
                scope: ItemScope::Global,
                group_id: None,
            },
        )
        .await
        .unwrap();
    make(
        &w,
        &admin,
        trigger(
            "Acknowledge",
            json!({"all": [{"field": "event", "op": "eq", "value": "ticket.created"}]}),
            json!([{"action": "send_reply", "value": reply.id},
               {"action": "add_internal_note", "value": "Acknowledged"},
               {"action": "notify", "to": "requester", "value": "We got it"}]),
        ),
    )
    .await;
    let t = w.ticket(&customer, "Ack me").await;
    assert_eq!(
        t.first_response_at, None,
        "a rule's reply is no first response"
    );
    let messages =
        w.hd.list_messages(&admin.p, t.conversation_id, MessagePageQuery::default())
            .await
            .unwrap()
            .items;
    assert_eq!(messages.len(), 2, "{messages:?}");
    for m in &messages {
        assert_eq!(m.message.sender_id, None);
    }
    assert_eq!(
        messages[0].message.content,
        format!("Thanks {}, ticket #{} ()", customer.user.name, t.number)
    );
    assert!(!messages[0].message.internal);
    assert!(messages[1].message.internal);
    let notes =
        w.hd.list_notifications(&customer.p, Default::default())
            .await
            .unwrap()
            .page
            .items;
    assert!(
        notes.iter().any(
            |n| n.kind == crate::notification::NotificationKind::RuleNotification
                && n.title == "Acknowledge"
                && n.body == "We got it"
        ),
        "{notes:?}"
    );
    // The customer still sees it; a staff user's public reply is the first response.
    let seen =
        w.hd.list_messages(&customer.p, t.conversation_id, MessagePageQuery::default())
            .await
            .unwrap()
            .items;
    assert_eq!(seen.len(), 1);
    w.send(&admin, t.conversation_id, "Hello").await;
    assert!(current(&w, &t).await.first_response_at.is_some());
}

/// A failing step changes nothing and is recorded as a `failed` run with the problem;
/// the cause stands.
pub async fn failing_steps_are_recorded(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let customer = w.customer().await;
    let mut tags: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
    tags.sort();
    let t =
        w.hd.create_ticket(
            &customer.p,
            NewTicket {
                tags: vec![],
                ..NewTicket::new("Full", "x")
            },
        )
        .await
        .unwrap();
    let t = patch(
        &w,
        &admin,
        &t,
        TicketPatch {
            tags: Some(tags.clone()),
            ..Default::default()
        },
    )
    .await;
    let rule = make(
        &w,
        &admin,
        trigger(
            "Too many tags",
            json!({"all": [{"field": "priority", "op": "eq", "value": "low"}]}),
            json!([{"action": "set_status", "value": "pending"},
               {"action": "add_tags", "value": ["one-more"]}]),
        ),
    )
    .await;
    let after = patch(&w, &admin, &t, priority(Priority::Low)).await;
    assert_eq!(after.priority, Priority::Low, "the cause stands");
    assert_eq!(after.status.as_str(), "open", "the step changed nothing");
    assert_eq!(after.tags, tags);
    let log = runs(&w, &admin, &rule).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].result, RunResult::Failed);
    assert_eq!(log[0].ticket_id, t.id);
    assert_eq!(log[0].error.as_ref().unwrap().code, "validation_failed");
}

/// Two triggers flipping a tag back and forth each fire once per chain; a chain deeper
/// than ten stops with a `loop_limit` run. Nothing hangs.
pub async fn loop_guards_stop_chains(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let customer = w.customer().await;
    let ping = make(&w, &admin, trigger(
        "Ping",
        json!({"all": [{"field": "tags", "op": "contains", "value": "ping"}]}),
        json!([{"action": "remove_tags", "value": ["ping"]}, {"action": "add_tags", "value": ["pong"]}]),
    )).await;
    let pong = make(&w, &admin, trigger(
        "Pong",
        json!({"all": [{"field": "tags", "op": "contains", "value": "pong"}]}),
        json!([{"action": "remove_tags", "value": ["pong"]}, {"action": "add_tags", "value": ["ping"]}]),
    )).await;
    let t = w.ticket(&customer, "Loop").await;
    let after = patch(
        &w,
        &admin,
        &t,
        TicketPatch {
            tags: Some(vec!["ping".into()]),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(after.tags, vec!["ping".to_string()]);
    assert_eq!(runs(&w, &admin, &ping).await.len(), 1);
    assert_eq!(runs(&w, &admin, &pong).await.len(), 1);
    w.hd.delete_rule(&admin.p, ping.id).await.unwrap();
    w.hd.delete_rule(&admin.p, pong.id).await.unwrap();
    // A chain: step i needs s{i-1} and adds s{i}; later steps sort first, so each runs
    // on the event of the one before.
    let mut steps = Vec::new();
    for i in 1..=12 {
        steps.push(
            make(&w, &admin, NewRule {
                position: Some(100 - i),
                ..trigger(
                    &format!("Step {i}"),
                    json!({"all": [{"field": "tags", "op": "contains", "value": format!("s{}", i - 1)}]}),
                    json!([{"action": "add_tags", "value": [format!("s{i}")]}]),
                )
            })
            .await,
        );
    }
    let t = w.ticket(&customer, "Chain").await;
    let after = patch(
        &w,
        &admin,
        &t,
        TicketPatch {
            tags: Some(vec!["s0".into()]),
            ..Default::default()
        },
    )
    .await;
    let expected: Vec<String> = {
        let mut v: Vec<String> = (0..=MAX_CHAIN_DEPTH).map(|i| format!("s{i}")).collect();
        v.sort();
        v
    };
    assert_eq!(after.tags, expected, "ten steps deep, then nothing");
    let tenth = runs(&w, &admin, &steps[9]).await;
    assert_eq!(tenth.len(), 2, "{tenth:?}");
    assert_eq!(tenth[0].result, RunResult::Failed, "newest first");
    assert_eq!(tenth[0].error.as_ref().unwrap().code, LOOP_LIMIT);
    assert_eq!(tenth[1].result, RunResult::Applied);
    assert!(runs(&w, &admin, &steps[10]).await.is_empty());
}

/// An automation fires when a ticket enters its condition, not again while it stays,
/// again after leaving and re-entering; never on closed tickets.
pub async fn automations_are_edge_triggered(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let customer = w.customer().await;
    let rule = make(
        &w,
        &admin,
        automation(
            "Escalate",
            json!({"all": [{"field": "priority", "op": "eq", "value": "urgent"}]}),
            json!([{"action": "add_internal_note", "value": "Escalated"}]),
        ),
    )
    .await;
    let t = w.ticket(&customer, "Edge").await;
    assert!(runs(&w, &admin, &rule).await.is_empty());
    patch(&w, &admin, &t, priority(Priority::Urgent)).await;
    assert_eq!(runs(&w, &admin, &rule).await.len(), 1);
    patch(
        &w,
        &admin,
        &t,
        TicketPatch {
            subject: Some("Still urgent".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        runs(&w, &admin, &rule).await.len(),
        1,
        "stays inside: nothing"
    );
    patch(&w, &admin, &t, priority(Priority::Normal)).await;
    patch(&w, &admin, &t, priority(Priority::Urgent)).await;
    let log = runs(&w, &admin, &rule).await;
    assert_eq!(log.len(), 2, "re-entered");
    assert!(log.iter().all(|r| r.result == RunResult::Applied));
    let notes =
        w.hd.list_messages(&admin.p, t.conversation_id, MessagePageQuery::default())
            .await
            .unwrap()
            .items;
    assert_eq!(
        notes
            .iter()
            .filter(|m| m.message.content == "Escalated")
            .count(),
        2
    );
    // Closed: never.
    let c = w.ticket(&customer, "Closed").await;
    close_as(&w, &admin, &c, Priority::Urgent).await;
    assert_eq!(runs(&w, &admin, &rule).await.len(), 2);
}

/// Making, re-activating or re-conditioning an automation counts every matching
/// (non-closed) ticket as entering it.
pub async fn automations_count_matching_tickets_when_made(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let customer = w.customer().await;
    let a = w.ticket(&customer, "A").await;
    let b = w.ticket(&customer, "B").await;
    let c = w.ticket(&customer, "C").await;
    patch(&w, &admin, &a, priority(Priority::Urgent)).await;
    patch(&w, &admin, &b, priority(Priority::Urgent)).await;
    close_as(&w, &admin, &c, Priority::Urgent).await;
    let rule = make(
        &w,
        &admin,
        automation(
            "Urgent ones",
            json!({"all": [{"field": "priority", "op": "eq", "value": "urgent"}]}),
            json!([{"action": "add_tags", "value": ["seen"]}]),
        ),
    )
    .await;
    let log = runs(&w, &admin, &rule).await;
    let mut ids: Vec<Uuid> = log.iter().map(|r| r.ticket_id).collect();
    ids.sort();
    let mut want = vec![a.id, b.id];
    want.sort();
    assert_eq!(ids, want);
    assert!(current(&w, &a).await.tags.contains(&"seen".to_string()));
    assert!(current(&w, &c).await.tags.is_empty());
    // Deactivated: nothing; re-activated: both enter again.
    w.hd.update_rule(
        &admin.p,
        rule.id,
        RulePatch {
            active: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let d = w.ticket(&customer, "D").await;
    patch(&w, &admin, &d, priority(Priority::Urgent)).await;
    assert_eq!(runs(&w, &admin, &rule).await.len(), 2);
    w.hd.update_rule(
        &admin.p,
        rule.id,
        RulePatch {
            active: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(runs(&w, &admin, &rule).await.len(), 5, "a, b and d enter");
}

/// The instant an `hours_since_*` predicate turns is on the ticket's schedule (made
/// before or after the automation), and the scheduler fires the automation then, once;
/// a deleted automation and a closed ticket leave the schedule.
pub async fn automations_at_time_instants(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let customer = w.customer().await;
    let older = w.ticket(&customer, "Made before the automation").await;
    assert_eq!(older.automation_at, None, "no automation counts hours yet");
    w.tick();
    let rule = make(
        &w,
        &admin,
        automation(
            "Stale",
            json!({"all": [{"field": "hours_since_created", "op": "gt", "value": 2}]}),
            json!([{"action": "add_tags", "value": ["stale"]}]),
        ),
    )
    .await;
    let t = w.ticket(&customer, "Old").await;
    let now = w.hd.now();
    let at = next_instant([&rule.condition], &t, now).expect("an instant");
    assert!(at > t.created_at + Duration::hours(2) - Duration::seconds(1));
    assert!(at <= t.created_at + Duration::hours(2) + Duration::seconds(1));
    assert_eq!(t.automation_at, Some(at), "on the new ticket's schedule");
    assert_eq!(
        current(&w, &older).await.automation_at,
        Some(next_instant([&rule.condition], &older, now).unwrap()),
        "and on the older ticket's"
    );
    let lt = crate::condition::Condition::parse(
        &json!({"all": [{"field": "hours_since_updated", "op": "lt", "value": 0.5}]}),
        "condition",
        crate::condition::Usage::Automation,
        &crate::condition::NoCustomFields,
    )
    .unwrap();
    assert_eq!(
        next_instant([&rule.condition, &lt], &t, now),
        Some(t.updated_at + Duration::minutes(30)),
        "the earliest"
    );
    assert_eq!(w.hd.run_due().await.unwrap(), 0, "nothing due yet");
    assert!(runs(&w, &admin, &rule).await.is_empty(), "not yet");
    w.advance(Duration::hours(3));
    assert_eq!(
        next_instant([&rule.condition], &t, w.hd.now()),
        None,
        "passed"
    );
    assert_eq!(
        w.hd.run_due().await.unwrap(),
        2,
        "both tickets' instants fire"
    );
    assert_eq!(runs(&w, &admin, &rule).await.len(), 2);
    let fired = current(&w, &t).await;
    assert!(fired.tags.contains(&"stale".to_string()));
    assert_eq!(fired.automation_at, None, "nothing more to wake it for");
    assert_eq!(w.hd.run_due().await.unwrap(), 0, "once");
    assert_eq!(runs(&w, &admin, &rule).await.len(), 2, "still inside");

    // An automation that counts hours since the last change moves with each change, and
    // leaves the schedule with its deletion.
    let quiet = make(
        &w,
        &admin,
        automation(
            "Quiet",
            json!({"all": [{"field": "hours_since_updated", "op": "gt", "value": 1}]}),
            json!([{"action": "add_tags", "value": ["quiet"]}]),
        ),
    )
    .await;
    let changed = patch(&w, &admin, &t, priority(Priority::High)).await;
    assert_eq!(
        changed.automation_at,
        Some(changed.updated_at + Duration::hours(1) + Duration::microseconds(1))
    );
    w.hd.delete_rule(&admin.p, quiet.id).await.unwrap();
    assert_eq!(
        current(&w, &t).await.automation_at,
        None,
        "left the schedule"
    );
    w.advance(Duration::hours(2));
    assert_eq!(w.hd.run_due().await.unwrap(), 0);
    assert!(!current(&w, &t).await.tags.contains(&"quiet".to_string()));

    // A closed ticket runs no automation: nothing to wake it for.
    let fresh = w.ticket(&customer, "Fresh").await;
    assert!(fresh.automation_at.is_some());
    let closed = close_as(&w, &admin, &fresh, Priority::Low).await;
    assert_eq!(closed.automation_at, None);
}

/// A dry run evaluates and previews, storing and emitting nothing.
pub async fn dry_runs_store_nothing(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let customer = w.customer().await;
    let t = w.ticket(&customer, "Dry").await;
    let last = w.last_event().await;
    let input = DryRunInput {
        condition: json!({"all": [{"field": "priority", "op": "eq", "value": "normal"},
                                  {"field": "event", "op": "eq", "value": "ticket.updated"}],
                          "any": [{"field": "subject", "op": "contains", "value": "dry"},
                                  {"field": "subject", "op": "eq", "value": "nope"}]}),
        actions: json!([{"action": "set_priority", "value": "urgent"},
                        {"action": "add_tags", "value": ["wet"]},
                        {"action": "add_internal_note", "value": "hi"}]),
        ticket_id: t.id,
        event: None,
    };
    expect_err!(
        w.hd.dry_run_rule(&agent.p, input.clone()).await,
        Error::Forbidden(_)
    );
    let out = w.hd.dry_run_rule(&admin.p, input.clone()).await.unwrap();
    assert!(out.evaluation.matches);
    assert_eq!(out.evaluation.all, vec![true, true]);
    assert_eq!(out.evaluation.any, vec![true, false]);
    let preview = out.ticket.unwrap();
    assert_eq!(preview.priority, Priority::Urgent);
    assert_eq!(preview.tags, vec!["wet".to_string()]);
    assert!(out.error.is_none());
    let no =
        w.hd.dry_run_rule(
            &admin.p,
            DryRunInput {
                event: Some("ticket.created".into()),
                ..input.clone()
            },
        )
        .await
        .unwrap();
    assert!(!no.evaluation.matches);
    assert!(no.ticket.is_none());
    let failing = w
        .hd
        .dry_run_rule(&admin.p, DryRunInput {
            // 22 tags: over the limit of 20 when run.
            actions: json!([{"action": "add_tags", "value": (0..11).map(|i| format!("a{i}")).collect::<Vec<_>>()},
                            {"action": "add_tags", "value": (0..11).map(|i| format!("b{i}")).collect::<Vec<_>>()}]),
            ..input.clone()
        })
        .await
        .unwrap();
    assert!(failing.ticket.is_none());
    assert!(failing.error.is_some());
    assert_eq!(
        field_of(
            w.hd.dry_run_rule(
                &admin.p,
                DryRunInput {
                    ticket_id: Uuid::now_v7(),
                    ..input.clone()
                }
            )
            .await
        ),
        "ticket_id"
    );
    assert_eq!(
        field_of(
            w.hd.dry_run_rule(
                &admin.p,
                DryRunInput {
                    event: Some("ticket.nope".into()),
                    ..input
                }
            )
            .await
        ),
        "event"
    );
    assert_eq!(
        w.hd.events_after(last, 10).await.unwrap().len(),
        0,
        "nothing emitted"
    );
    let stored = current(&w, &t).await;
    assert_eq!(stored, t, "nothing stored");
}

/// The store: rules round trip under the limit; runs newest first, pruned to the newest
/// `keep`; edge state; deleting a ticket or a rule forgets its runs and state.
pub async fn store_rules_runs_and_edge_state(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let customer = w.customer().await;
    let t = w.ticket(&customer, "Stored").await;
    let u = w.ticket(&customer, "Other").await;
    let now = w.hd.now();
    let rule = |name: &str, position: i64| Rule {
        id: Uuid::now_v7(),
        name: name.into(),
        kind: RuleKind::Automation,
        active: true,
        position,
        condition: Default::default(),
        actions: vec![crate::action::Action::AddTags {
            value: vec!["x".into()],
        }],
        created_at: now,
        updated_at: now,
    };
    let a = rule("A", 1);
    let b = rule("B", 0);
    assert!(store.insert_rule(&a, 2).await.unwrap());
    assert!(store.insert_rule(&b, 2).await.unwrap());
    assert!(
        !store.insert_rule(&rule("C", 0), 2).await.unwrap(),
        "the limit"
    );
    expect_err!(
        store.insert_rule(&a, 10).await,
        crate::StoreError::Conflict(_)
    );
    assert_eq!(store.get_rule(a.id).await.unwrap(), Some(a.clone()));
    let ids: Vec<Uuid> = store
        .list_rules()
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, vec![b.id, a.id]);
    let changed = Rule {
        name: "A2".into(),
        active: false,
        kind: RuleKind::Trigger,
        ..a.clone()
    };
    store.update_rule(&changed).await.unwrap();
    let got = store.get_rule(a.id).await.unwrap().unwrap();
    assert_eq!(
        (got.name.as_str(), got.active, got.kind),
        ("A2", false, RuleKind::Automation)
    );
    expect_err!(
        store.update_rule(&rule("Z", 0)).await,
        crate::StoreError::NotFound
    );
    // Runs.
    for i in 0..5 {
        let run = RuleRun {
            id: Uuid::now_v7(),
            rule_id: a.id,
            ticket_id: if i % 2 == 0 { t.id } else { u.id },
            at: now + Duration::seconds(i),
            result: if i == 4 {
                RunResult::Failed
            } else {
                RunResult::Applied
            },
            error: (i == 4).then(RunError::loop_limit),
        };
        store.insert_rule_run(&run, 3).await.unwrap();
    }
    let log = store.list_rule_runs(a.id, 100).await.unwrap();
    assert_eq!(log.len(), 3, "pruned to the newest three");
    assert_eq!(log[0].at, now + Duration::seconds(4));
    assert_eq!(log[0].error, Some(RunError::loop_limit()));
    assert_eq!(log[2].at, now + Duration::seconds(2));
    assert_eq!(store.list_rule_runs(a.id, 1).await.unwrap().len(), 1);
    // Edge state.
    assert!(!store.rule_inside(a.id, t.id).await.unwrap());
    store.set_rule_inside(a.id, t.id, true).await.unwrap();
    store.set_rule_inside(a.id, u.id, true).await.unwrap();
    store.set_rule_inside(b.id, t.id, true).await.unwrap();
    assert!(store.rule_inside(a.id, t.id).await.unwrap());
    store.set_rule_inside(a.id, u.id, false).await.unwrap();
    assert!(!store.rule_inside(a.id, u.id).await.unwrap());
    store.clear_rule_inside(b.id).await.unwrap();
    assert!(!store.rule_inside(b.id, t.id).await.unwrap());
    assert!(store.rule_inside(a.id, t.id).await.unwrap());
    // Deleting a ticket forgets its runs and state.
    w.hd.delete_ticket(&crate::Principal::system(), t.id)
        .await
        .unwrap();
    assert!(!store.rule_inside(a.id, t.id).await.unwrap());
    let log = store.list_rule_runs(a.id, 100).await.unwrap();
    assert!(log.iter().all(|r| r.ticket_id == u.id), "{log:?}");
    assert_eq!(log.len(), 1);
    // Deleting a rule forgets its runs.
    store.set_rule_inside(a.id, u.id, true).await.unwrap();
    assert!(store.delete_rule(a.id).await.unwrap());
    assert!(!store.delete_rule(a.id).await.unwrap());
    assert!(store.list_rule_runs(a.id, 100).await.unwrap().is_empty());
    assert!(!store.rule_inside(a.id, u.id).await.unwrap());
}
