//! Macros and the action executor: who reads and writes macros, the checks on their
//! input (problems at their JSON paths), the limit and the list order; what each action
//! does to a ticket; all or nothing; `via` on the timeline and in events; bulk changes
//! with a result per ticket.

use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;

use super::{Who, World, expect_err};
use crate::canned_reply::NewCannedReply;
use crate::event::EventKind;
use crate::group::{Access, NewGroup};
use crate::macros::*;
use crate::message::MessagePageQuery;
use crate::notification::{NotificationFilter, NotificationKind};
use crate::ownership::ItemScope;
use crate::status::StatusCategory;
use crate::store::Store;
use crate::ticket::{Priority, Ticket, TicketEvent, Via, ViaKind};
use crate::{Error, PageRequest};

fn new_macro(name: &str, actions: serde_json::Value) -> NewMacro {
    NewMacro {
        name: name.into(),
        actions,
        position: None,
    }
}

async fn make(w: &World, admin: &Who, name: &str, actions: serde_json::Value) -> Macro {
    w.hd.create_macro(&admin.p, new_macro(name, actions))
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e:?}"))
}

/// The field a validation error names.
fn field_of<T: std::fmt::Debug>(r: crate::Result<T>) -> String {
    match r {
        Err(Error::Validation(f)) => f[0].field.clone(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// A new group with `member` in it at `access` (none: not a member).
async fn group(w: &World, admin: &Who, name: &str, member: Option<(&Who, Access)>) -> Uuid {
    let g =
        w.hd.create_group(
            &admin.p,
            NewGroup {
                name: name.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    if let Some((who, access)) = member {
        w.hd.put_membership(&admin.p, g.id, who.id(), access)
            .await
            .unwrap();
    }
    g.id
}

/// A ticket of `customer` moved by `admin` to `group_id`.
async fn ticket_in(w: &World, admin: &Who, customer: &Who, group_id: Uuid) -> Ticket {
    let t = w.ticket(customer, "Elsewhere").await;
    w.hd.update_ticket(
        &admin.p,
        t.id,
        crate::ticket::TicketPatch {
            group_id: Some(group_id),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// The messages of a ticket's conversation as `who` reads them: (internal, sender,
/// content).
async fn messages(w: &World, who: &Who, t: &Ticket) -> Vec<(bool, Option<Uuid>, String)> {
    w.hd.list_messages(&who.p, t.conversation_id, MessagePageQuery::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|m| (m.message.internal, m.message.sender_id, m.message.content))
        .collect()
}

async fn timeline(w: &World, who: &Who, t: &Ticket) -> Vec<TicketEvent> {
    w.hd.ticket_events(&who.p, t.id, PageRequest::default())
        .await
        .unwrap()
        .items
}

/// The `rule_notification`s of `who`: (title, body, ticket).
async fn rule_notifications(w: &World, who: &Who) -> Vec<(String, String, Option<Uuid>)> {
    w.hd.list_notifications(&who.p, NotificationFilter::default())
        .await
        .unwrap()
        .page
        .items
        .into_iter()
        .filter(|n| n.kind == NotificationKind::RuleNotification)
        .map(|n| (n.title, n.body, n.data.ticket_id))
        .collect()
}

/// Admins write macros; staff read them; customers do neither. Names, actions and
/// positions are checked, problems named by their JSON path; the list is by
/// `(position, id)`, a new macro going after the last.
pub async fn macro_crud_rules_and_input(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let customer = w.customer().await;
    let prio = json!([{"action": "set_priority", "value": "high"}]);
    expect_err!(
        w.hd.create_macro(&agent.p, new_macro("Mine", prio.clone()))
            .await,
        Error::Forbidden(_)
    );
    let a = make(&w, &admin, "  Escalate ", prio.clone()).await;
    assert_eq!(a.name, "Escalate");
    assert_eq!(a.position, 0);
    let b = make(&w, &admin, "Second", prio.clone()).await;
    assert_eq!(b.position, 1);
    let c =
        w.hd.create_macro(
            &admin.p,
            NewMacro {
                position: Some(0),
                ..new_macro("First too", prio.clone())
            },
        )
        .await
        .unwrap();
    let mut zero = [a.id, c.id];
    zero.sort();
    let listed: Vec<Uuid> =
        w.hd.list_macros(&agent.p)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
    assert_eq!(listed, [zero[0], zero[1], b.id]);
    assert_eq!(w.hd.get_macro(&agent.p, a.id).await.unwrap(), a);
    expect_err!(w.hd.list_macros(&customer.p).await, Error::Forbidden(_));
    expect_err!(w.hd.get_macro(&customer.p, a.id).await, Error::Forbidden(_));
    expect_err!(
        w.hd.get_macro(&agent.p, Uuid::now_v7()).await,
        Error::NotFound
    );

    // Input problems, each at its path.
    for (name, actions, field) in [
        ("", prio.clone(), "name"),
        (&*"x".repeat(101), prio.clone(), "name"),
        ("Empty", json!([]), "actions"),
        ("Not a list", json!({"action": "assign"}), "actions"),
        (
            "Too many",
            json!(vec![json!({"action": "set_priority", "value": "low"}); 21]),
            "actions",
        ),
        (
            "Bad priority",
            json!([{"action": "add_tags", "value": ["a"]}, {"action": "set_priority", "value": "asap"}]),
            "actions[1].value",
        ),
        (
            "Unknown group",
            json!([{"action": "set_group", "value": Uuid::now_v7()}]),
            "actions[0].value",
        ),
        (
            "Unknown reply",
            json!([{"action": "set_priority", "value": "low"}, {"action": "send_reply", "value": Uuid::now_v7()}]),
            "actions[1].value",
        ),
        (
            "Customer assignee",
            json!([{"action": "assign", "value": customer.id()}]),
            "actions[0].value",
        ),
        (
            "Bad placeholder",
            json!([{"action": "add_internal_note", "value": "Hi {{ticket.owner}}"}]),
            "actions[0].value",
        ),
        (
            "No status",
            json!([{"action": "set_status", "value": "frozen"}]),
            "actions[0].value",
        ),
    ] {
        assert_eq!(
            field_of(w.hd.create_macro(&admin.p, new_macro(name, actions)).await),
            field,
            "{name}"
        );
    }
    expect_err!(
        w.hd.create_macro(
            &admin.p,
            new_macro("Typo", json!([{"action": "set_priority", "valeu": "low"}]))
        )
        .await,
        Error::UnknownField(_)
    );
    assert_eq!(
        field_of(
            w.hd.create_macro(
                &admin.p,
                NewMacro {
                    position: Some(-1),
                    ..new_macro("Negative", prio.clone())
                },
            )
            .await
        ),
        "position"
    );
    assert_eq!(w.hd.list_macros(&admin.p).await.unwrap().len(), 3);

    // Changes: admins only, checked likewise; nothing changed keeps `updated_at`.
    w.tick();
    let patch = MacroPatch {
        name: Some("Renamed".into()),
        actions: Some(json!([{"action": "add_tags", "value": ["VIP", "vip"]}])),
        position: Some(7),
    };
    expect_err!(
        w.hd.update_macro(&agent.p, a.id, patch.clone()).await,
        Error::Forbidden(_)
    );
    let changed = w.hd.update_macro(&admin.p, a.id, patch).await.unwrap();
    assert_eq!(changed.name, "Renamed");
    assert_eq!(
        changed.actions,
        vec![crate::action::Action::AddTags {
            value: vec!["vip".into()]
        }]
    );
    assert_eq!(changed.position, 7);
    assert!(changed.updated_at > a.updated_at);
    assert_eq!(changed.created_at, a.created_at);
    assert_eq!(w.hd.get_macro(&agent.p, a.id).await.unwrap(), changed);
    w.tick();
    let same =
        w.hd.update_macro(&admin.p, a.id, MacroPatch::default())
            .await
            .unwrap();
    assert_eq!(same, changed);
    assert_eq!(
        field_of(
            w.hd.update_macro(
                &admin.p,
                a.id,
                MacroPatch {
                    actions: Some(json!([])),
                    ..Default::default()
                }
            )
            .await
        ),
        "actions"
    );
    expect_err!(
        w.hd.update_macro(&admin.p, Uuid::now_v7(), MacroPatch::default())
            .await,
        Error::NotFound
    );

    // Deleting: admins only; gone is gone.
    expect_err!(w.hd.delete_macro(&agent.p, b.id).await, Error::Forbidden(_));
    w.hd.delete_macro(&admin.p, b.id).await.unwrap();
    expect_err!(w.hd.delete_macro(&admin.p, b.id).await, Error::NotFound);
    expect_err!(w.hd.get_macro(&agent.p, b.id).await, Error::NotFound);
    assert_eq!(w.hd.list_macros(&admin.p).await.unwrap().len(), 2);
}

/// The store keeps a macro as written, changes only its name, actions, position and
/// `updated_at`, and counts the limit in the insert.
pub async fn store_macros_round_trip_and_limit(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let admin = w.admin().await;
    let m = make(
        &w,
        &admin,
        "Round",
        json!([
            {"action": "set_status", "value": "pending"},
            {"action": "assign", "value": null},
            {"action": "add_tags", "value": ["b", "a"]},
            {"action": "notify", "to": "requester", "value": "We are on it"},
            {"action": "notify", "to": admin.id(), "value": "Look"},
            {"action": "add_internal_note", "value": "Hello {{ requester.name }}"}
        ]),
    )
    .await;
    assert_eq!(store.get_macro(m.id).await.unwrap().unwrap(), m);
    let changed = Macro {
        name: "Changed".into(),
        actions: vec![crate::action::Action::SetPriority {
            value: Priority::Low,
        }],
        position: 4,
        created_at: m.created_at + chrono::Duration::seconds(5),
        updated_at: m.updated_at + chrono::Duration::seconds(1),
        ..m.clone()
    };
    store.update_macro(&changed).await.unwrap();
    assert_eq!(
        store.get_macro(m.id).await.unwrap().unwrap(),
        Macro {
            created_at: m.created_at,
            ..changed.clone()
        }
    );
    expect_err!(
        store
            .update_macro(&Macro {
                id: Uuid::now_v7(),
                ..changed.clone()
            })
            .await,
        crate::StoreError::NotFound
    );
    // The limit: one macro exists, so a limit of 1 refuses, 2 admits.
    let another = Macro {
        id: crate::clock::new_id(),
        ..changed.clone()
    };
    assert!(!store.insert_macro(&another, 1).await.unwrap());
    assert!(store.insert_macro(&another, 2).await.unwrap());
    expect_err!(
        store.insert_macro(&another, 10).await,
        crate::StoreError::Conflict(_)
    );
    assert_eq!(store.list_macros().await.unwrap().len(), 2);
    assert!(store.delete_macro(another.id).await.unwrap());
    assert!(!store.delete_macro(another.id).await.unwrap());
    // Deleting frees its place under the limit.
    assert!(store.insert_macro(&another, 2).await.unwrap());
    assert_eq!(MAX_MACROS, 500);
}

/// Every action kind does what its PATCH or post would, as the caller: fields, tags,
/// group and assignee in one change; a rendered internal note and a rendered canned
/// reply from the caller; `rule_notification`s titled with the macro's name.
pub async fn macro_actions_take_effect(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let other = w.agent().await;
    let customer = w.customer().await;
    let billing = group(&w, &admin, "Billing", Some((&agent, Access::Full))).await;
    let reply =
        w.hd.create_canned_reply(
            &admin.p,
            NewCannedReply {
                title: "Thanks".into(),
                shortcut: "thanks".into(),
                body: "Dear {{requester.name}}, ticket #{{ticket.number}} is with {{agent.name}}."
                    .into(),
                scope: ItemScope::Global,
                group_id: None,
            },
        )
        .await
        .unwrap();
    let t = w.ticket(&customer, "Printer on fire").await;
    w.hd.update_ticket(
        &admin.p,
        t.id,
        crate::ticket::TicketPatch {
            tags: Some(vec!["old".into(), "keep".into()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let m = make(
        &w,
        &admin,
        "Escalate to billing",
        json!([
            {"action": "set_priority", "value": "low"},
            {"action": "set_status", "value": "pending"},
            {"action": "set_group", "value": billing},
            {"action": "assign", "value": agent.id()},
            {"action": "add_tags", "value": ["Billing", "vip"]},
            {"action": "remove_tags", "value": ["old", "vip"]},
            {"action": "add_internal_note", "value": "{{agent.name}} moved #{{ticket.number}} ({{ticket.subject}})"},
            {"action": "send_reply", "value": reply.id},
            {"action": "notify", "to": "assignee", "value": "Yours now"},
            {"action": "notify", "to": "requester", "value": "Moved to billing"},
            {"action": "notify", "to": other.id(), "value": "FYI"},
            {"action": "set_priority", "value": "urgent"}
        ]),
    )
    .await;
    w.tick();
    let after = w.hd.apply_macro(&admin.p, t.id, m.id).await.unwrap();
    // A later action wins; tags folded in order.
    assert_eq!(after.priority, Priority::Urgent);
    assert_eq!(after.status_category, StatusCategory::Pending);
    assert_eq!(after.group_id, billing);
    assert_eq!(after.assignee_id, Some(agent.id()));
    assert_eq!(after.tags, vec!["billing".to_string(), "keep".to_string()]);
    assert_eq!(w.hd.get_ticket(&admin.p, t.id).await.unwrap(), after);
    // The staff message is the first response.
    assert!(after.first_response_at.is_some());
    let admin_name = admin.user.name.clone();
    assert_eq!(
        messages(&w, &admin, &t).await,
        vec![
            (
                true,
                Some(admin.id()),
                format!("{admin_name} moved #{} (Printer on fire)", t.number)
            ),
            (
                false,
                Some(admin.id()),
                format!(
                    "Dear {}, ticket #{} is with {admin_name}.",
                    customer.user.name, t.number
                )
            ),
        ]
    );
    // The customer sees the reply, not the note.
    assert_eq!(messages(&w, &customer, &t).await.len(), 1);
    let told = |text: &str| vec![(m.name.clone(), text.to_string(), Some(t.id))];
    assert_eq!(rule_notifications(&w, &agent).await, told("Yours now"));
    assert_eq!(
        rule_notifications(&w, &customer).await,
        told("Moved to billing")
    );
    assert_eq!(rule_notifications(&w, &other).await, told("FYI"));
    assert!(rule_notifications(&w, &admin).await.is_empty());

    // No assignee: `notify assignee` tells nobody, and the rest still runs.
    let t2 = w.ticket(&customer, "Quiet").await;
    let quiet = make(
        &w,
        &admin,
        "Ping",
        json!([{"action": "notify", "to": "assignee", "value": "Anyone?"},
               {"action": "assign", "value": null}]),
    )
    .await;
    let same = w.hd.apply_macro(&admin.p, t2.id, quiet.id).await.unwrap();
    assert_eq!(same, w.hd.get_ticket(&admin.p, t2.id).await.unwrap());
    assert_eq!(rule_notifications(&w, &agent).await.len(), 1);
}

/// A run checks everything first: a failing action answers as its PATCH or post would
/// and nothing of the run is written (no message, no field change, no notification).
pub async fn macro_runs_all_or_nothing(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let customer = w.customer().await;
    let t = w.ticket(&customer, "Careful").await;
    let before_timeline = timeline(&w, &admin, &t).await.len();
    // Open cannot move to closed (resolve first): the 3rd action fails.
    let bad_move = make(
        &w,
        &admin,
        "Close at once",
        json!([
            {"action": "set_priority", "value": "high"},
            {"action": "add_internal_note", "value": "Closing this"},
            {"action": "set_status", "value": "closed"},
            {"action": "notify", "to": "requester", "value": "Closed"}
        ]),
    )
    .await;
    expect_err!(
        w.hd.apply_macro(&admin.p, t.id, bad_move.id).await,
        Error::InvalidTransition { .. }
    );
    // More than 20 tags once folded: 422 at `tags`, as the PATCH would.
    let tags = |prefix: &str| -> Vec<String> { (0..15).map(|i| format!("{prefix}{i}")).collect() };
    let too_many = make(
        &w,
        &admin,
        "Tag storm",
        json!([
            {"action": "add_internal_note", "value": "Tagging"},
            {"action": "add_tags", "value": tags("a")},
            {"action": "add_tags", "value": tags("b")}
        ]),
    )
    .await;
    assert_eq!(
        field_of(w.hd.apply_macro(&admin.p, t.id, too_many.id).await),
        "tags"
    );
    let unchanged = w.hd.get_ticket(&admin.p, t.id).await.unwrap();
    assert_eq!(unchanged, t);
    assert!(messages(&w, &admin, &t).await.is_empty());
    assert!(rule_notifications(&w, &customer).await.is_empty());
    assert_eq!(timeline(&w, &admin, &t).await.len(), before_timeline);

    // A closed ticket takes no message: `ticket_closed`, and the priority stays.
    for status in [StatusCategory::Resolved, StatusCategory::Closed] {
        w.hd.update_ticket(
            &admin.p,
            t.id,
            crate::ticket::TicketPatch {
                status: Some(status.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let note = make(
        &w,
        &admin,
        "Note",
        json!([{"action": "set_priority", "value": "urgent"},
               {"action": "add_internal_note", "value": "Late"}]),
    )
    .await;
    expect_err!(
        w.hd.apply_macro(&admin.p, t.id, note.id).await,
        Error::TicketClosed
    );
    assert_eq!(
        w.hd.get_ticket(&admin.p, t.id).await.unwrap().priority,
        Priority::Normal
    );
}

/// Who may apply a macro: staff with `full` access to the ticket. A ticket the caller
/// cannot see is `NotFound`, a lower level `Forbidden`, a customer `Forbidden`; a macro
/// that does not exist is invalid at `macro_id`.
pub async fn applying_needs_full_access(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let customer = w.customer().await;
    let readonly = group(&w, &admin, "Read only", Some((&agent, Access::Read))).await;
    let secret = group(&w, &admin, "Secret", None).await;
    let m = make(
        &w,
        &admin,
        "Prio",
        json!([{"action": "set_priority", "value": "high"}]),
    )
    .await;
    let mine = w.ticket(&customer, "Mine").await;
    let read = ticket_in(&w, &admin, &customer, readonly).await;
    let hidden = ticket_in(&w, &admin, &customer, secret).await;
    expect_err!(
        w.hd.apply_macro(&customer.p, mine.id, m.id).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.apply_macro(&agent.p, read.id, m.id).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.apply_macro(&agent.p, hidden.id, m.id).await,
        Error::NotFound
    );
    assert_eq!(
        field_of(w.hd.apply_macro(&agent.p, mine.id, Uuid::now_v7()).await),
        "macro_id"
    );
    let done = w.hd.apply_macro(&agent.p, mine.id, m.id).await.unwrap();
    assert_eq!(done.priority, Priority::High);
    assert_eq!(
        w.hd.get_ticket(&admin.p, read.id).await.unwrap().priority,
        Priority::Normal
    );
}

/// The timeline entries of a macro's run carry `via: {kind: macro, id}` (others none),
/// as do its `ticket.updated` and `message.created` events.
pub async fn macro_runs_carry_via(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let customer = w.customer().await;
    let t = w.ticket(&customer, "Via").await;
    let m = make(
        &w,
        &admin,
        "Pend",
        json!([{"action": "set_status", "value": "pending"},
               {"action": "add_tags", "value": ["waiting"]},
               {"action": "add_internal_note", "value": "Waiting on them"}]),
    )
    .await;
    w.tick();
    let last_before =
        w.hd.events_after(None, 10_000)
            .await
            .unwrap()
            .last()
            .map(|e| e.id);
    w.hd.apply_macro(&admin.p, t.id, m.id).await.unwrap();
    let entries = timeline(&w, &admin, &t).await;
    let via = Some(Via {
        kind: ViaKind::Macro,
        id: m.id,
    });
    let (run, before): (Vec<_>, Vec<_>) = entries.iter().partition(|e| e.at > t.created_at);
    assert_eq!(before.len(), 1, "the creation entry");
    assert_eq!(before[0].via, None);
    assert!(run.len() >= 2, "status and tags entries: {run:?}");
    for e in &run {
        assert_eq!(e.via, via, "{e:?}");
        assert_eq!(e.actor_id, Some(admin.id()));
    }
    let events = w.hd.events_after(last_before, 10_000).await.unwrap();
    let marked: Vec<EventKind> = events
        .iter()
        .filter(|e| e.data.get("via") == Some(&json!({"kind": "macro", "id": m.id})))
        .map(|e| e.kind)
        .collect();
    assert!(marked.contains(&EventKind::TicketUpdated), "{events:?}");
    assert!(marked.contains(&EventKind::MessageCreated), "{events:?}");
    // A plain change carries no via.
    w.tick();
    w.hd.update_ticket(
        &admin.p,
        t.id,
        crate::ticket::TicketPatch {
            priority: Some(Priority::Low),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let last = timeline(&w, &admin, &t).await.pop().unwrap();
    assert_eq!(last.via, None);
}

/// A bulk change answers one result per ticket in request order: done, forbidden
/// (`full` missing), or not found (invisible), each ticket on its own; a bad request
/// (ids, actions, macro) is refused whole, changing nothing.
pub async fn bulk_reports_each_ticket(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let customer = w.customer().await;
    let readonly = group(&w, &admin, "Read only", Some((&agent, Access::Read))).await;
    let secret = group(&w, &admin, "Secret", None).await;
    let a = w.ticket(&customer, "A").await;
    let read = ticket_in(&w, &admin, &customer, readonly).await;
    let hidden = ticket_in(&w, &admin, &customer, secret).await;
    let b = w.ticket(&customer, "B").await;
    let missing = Uuid::now_v7();
    let ids = [a.id, read.id, hidden.id, missing, b.id];
    let results =
        w.hd.bulk_change(
            &agent.p,
            &ids,
            BulkChange::Actions(json!([{"action": "add_tags", "value": ["bulk"]},
                                        {"action": "set_priority", "value": "high"}])),
        )
        .await
        .unwrap();
    assert_eq!(results.iter().map(|(id, _)| *id).collect::<Vec<_>>(), ids);
    for (i, (_, r)) in results.iter().enumerate() {
        match i {
            0 | 4 => {
                let t = r.as_ref().unwrap();
                assert_eq!(t.tags, vec!["bulk".to_string()]);
                assert_eq!(t.priority, Priority::High);
            }
            1 => expect_err!(r, Error::Forbidden(_)),
            _ => expect_err!(r, Error::NotFound),
        }
    }
    assert_eq!(
        w.hd.get_ticket(&admin.p, read.id).await.unwrap().priority,
        Priority::Normal
    );
    assert_eq!(
        w.hd.get_ticket(&admin.p, hidden.id).await.unwrap().priority,
        Priority::Normal
    );
    // Each ticket atomic: one that fails its transition keeps nothing, the others run.
    let m = make(
        &w,
        &admin,
        "Resolve",
        json!([{"action": "set_priority", "value": "low"},
               {"action": "set_status", "value": "resolved"}]),
    )
    .await;
    w.hd.apply_macro(&admin.p, b.id, m.id).await.unwrap();
    let b =
        w.hd.update_ticket(
            &admin.p,
            b.id,
            crate::ticket::TicketPatch {
                status: Some(StatusCategory::Closed.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let results =
        w.hd.bulk_change(&admin.p, &[b.id, a.id], BulkChange::Macro(m.id))
            .await
            .unwrap();
    expect_err!(&results[0].1, Error::InvalidTransition { .. });
    assert_eq!(w.hd.get_ticket(&admin.p, b.id).await.unwrap(), b);
    let a_after = results[1].1.as_ref().unwrap();
    assert_eq!(a_after.status_category, StatusCategory::Resolved);
    assert_eq!(a_after.priority, Priority::Low);
    let via = timeline(&w, &admin, &a).await.pop().unwrap().via;
    assert_eq!(via, Some(Via::macro_run(m.id)));

    // Bad requests: nothing done.
    let tag = || BulkChange::Actions(json!([{"action": "add_tags", "value": ["never"]}]));
    let c = w.ticket(&customer, "C").await;
    for (ids, change, field) in [
        (vec![], tag(), "ticket_ids"),
        (vec![c.id; 2], tag(), "ticket_ids[1]"),
        (
            (0..101).map(|_| Uuid::now_v7()).collect(),
            tag(),
            "ticket_ids",
        ),
        (vec![c.id], BulkChange::Actions(json!([])), "actions"),
        (
            vec![c.id],
            BulkChange::Actions(json!([{"action": "set_priority", "value": "asap"}])),
            "actions[0].value",
        ),
        (vec![c.id], BulkChange::Macro(Uuid::now_v7()), "macro_id"),
    ] {
        assert_eq!(
            field_of(w.hd.bulk_change(&admin.p, &ids, change).await),
            field
        );
    }
    assert!(
        w.hd.get_ticket(&admin.p, c.id)
            .await
            .unwrap()
            .tags
            .is_empty()
    );
    expect_err!(
        w.hd.bulk_change(&customer.p, &[c.id], tag()).await,
        Error::Forbidden(_)
    );
}
