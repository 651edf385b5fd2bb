//! Statuses as data: the five defaults every store starts with, statuses of one's own
//! within the categories (labels, keys, limits, deactivation, deletion in use), tickets
//! moving between them by the categories' table, and the ticket list's status filters.

use std::sync::Arc;

use serde_json::json;

use super::{World, expect_err};
use crate::Error;
use crate::principal::TicketView;
use crate::schema::ticket_json_for;
use crate::status::{NewStatus, Status, StatusCategory, StatusKey, StatusPatch};
use crate::store::Store;
use crate::ticket::{TicketFilter, TicketPatch};
use crate::view::NewView;

pub(super) fn new_status(key: &str, category: StatusCategory, label: &str) -> NewStatus {
    NewStatus {
        key: key.into(),
        category,
        agent_label: label.into(),
        customer_label: None,
        position: None,
        active: None,
    }
}

fn to(key: &str) -> TicketPatch {
    TicketPatch {
        status: Some(StatusKey::new(key)),
        ..Default::default()
    }
}

async fn make(w: &World, key: &str, category: StatusCategory, label: &str) -> Status {
    let admin = w.admin().await;
    w.hd.create_status(&admin.p, new_status(key, category, label))
        .await
        .unwrap_or_else(|e| panic!("create {key}: {e:?}"))
}

/// A new store holds the five defaults, one per category, with the fixed ids, labels
/// and keys of the contract; they are never deactivated or deleted.
pub async fn store_starts_with_the_default_statuses(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let all = w.hd.list_statuses(&admin.p).await.unwrap();
    let keys: Vec<&str> = all.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["open", "pending", "on_hold", "resolved", "closed"]);
    for (s, c) in all.iter().zip(StatusCategory::ALL) {
        assert_eq!(
            (s.category, s.id, s.is_default, s.active),
            (c, c.default_status_id(), true, true)
        );
        assert_eq!(
            (s.agent_label.as_str(), s.customer_label.as_str()),
            (c.default_label(), c.default_label())
        );
        assert_eq!(s.position, 0);
    }
    let open = &all[0];
    expect_err!(
        w.hd.update_status(
            &admin.p,
            open.id,
            StatusPatch {
                active: Some(false),
                ..Default::default()
            }
        )
        .await,
        Error::Conflict(_)
    );
    expect_err!(
        w.hd.delete_status(&admin.p, open.id).await,
        Error::Conflict(_)
    );
    // Labels of a default may change.
    let renamed =
        w.hd.update_status(
            &admin.p,
            open.id,
            StatusPatch {
                agent_label: Some("New".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            renamed.agent_label.as_str(),
            renamed.customer_label.as_str()
        ),
        ("New", "Open")
    );
}

/// Keys are checked and unique, labels trimmed, the customer label defaults to the
/// agent label, positions follow the category's last; customers read the active ones
/// only; only admins write.
pub async fn status_input_is_checked(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let customer = w.customer().await;
    let parts = make(
        &w,
        "waiting_for_parts",
        StatusCategory::Pending,
        "  Waiting for parts ",
    )
    .await;
    assert_eq!(parts.agent_label, "Waiting for parts");
    assert_eq!(parts.customer_label, "Waiting for parts");
    assert_eq!(
        (parts.position, parts.is_default, parts.active),
        (1, false, true)
    );
    expect_err!(
        w.hd.create_status(
            &admin.p,
            new_status("waiting_for_parts", StatusCategory::OnHold, "Again")
        )
        .await,
        Error::KeyTaken
    );
    expect_err!(
        w.hd.create_status(&admin.p, new_status("open", StatusCategory::Open, "Again"))
            .await,
        Error::KeyTaken
    );
    for bad in ["", "Waiting", "1st", "a-b", &"k".repeat(51)] {
        expect_err!(
            w.hd.create_status(&admin.p, new_status(bad, StatusCategory::Open, "X")).await,
            Error::Validation(f) if f[0].field == "key"
        );
    }
    expect_err!(
        w.hd.create_status(&admin.p, new_status("blank", StatusCategory::Open, "  ")).await,
        Error::Validation(f) if f[0].field == "agent_label"
    );
    expect_err!(
        w.hd.create_status(&agent.p, new_status("mine", StatusCategory::Open, "Mine"))
            .await,
        Error::Forbidden(_)
    );
    let hidden =
        w.hd.create_status(
            &admin.p,
            NewStatus {
                customer_label: Some("Being looked at".into()),
                active: Some(false),
                ..new_status("triage", StatusCategory::Open, "Triage")
            },
        )
        .await
        .unwrap();
    assert_eq!(hidden.customer_label, "Being looked at");
    let seen: Vec<String> =
        w.hd.list_statuses(&customer.p)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.key.to_string())
            .collect();
    assert!(seen.contains(&"waiting_for_parts".to_string()));
    assert!(!seen.contains(&"triage".to_string()));
    expect_err!(
        w.hd.get_status(&customer.p, hidden.id).await,
        Error::NotFound
    );
    assert_eq!(w.hd.get_status(&agent.p, hidden.id).await.unwrap(), hidden);
}

/// A category holds at most 50 statuses, counted with its default.
pub async fn statuses_per_category_are_limited(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    for i in 1..crate::status::MAX_PER_CATEGORY {
        make(&w, &format!("hold_{i}"), StatusCategory::OnHold, "Hold").await;
    }
    expect_err!(
        w.hd.create_status(&admin.p, new_status("hold_more", StatusCategory::OnHold, "Hold"))
            .await,
        Error::Validation(f) if f[0].field == "category"
    );
    make(&w, "elsewhere", StatusCategory::Pending, "Elsewhere").await;
}

/// Tickets move between statuses by their categories' table: inside a category (not
/// `closed`), naming the current status changes nothing, the ticket shows the status's
/// id, category and the label of the viewer's side; events tell customers their label.
pub async fn tickets_move_by_category(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let c = w.customer().await;
    let parts =
        w.hd.create_status(
            &w.admin().await.p,
            NewStatus {
                customer_label: Some("Waiting on us".into()),
                ..new_status(
                    "waiting_for_parts",
                    StatusCategory::Pending,
                    "Waiting for parts",
                )
            },
        )
        .await
        .unwrap();
    let t = w.ticket(&c, "Broken").await;
    assert_eq!(
        (t.status.as_str(), t.status_category),
        ("open", StatusCategory::Open)
    );
    let t =
        w.hd.update_ticket(&agent.p, t.id, to("pending"))
            .await
            .unwrap();
    w.tick();
    let t =
        w.hd.update_ticket(&agent.p, t.id, to("waiting_for_parts"))
            .await
            .unwrap();
    assert_eq!(
        (t.status.as_str(), t.status_category),
        ("waiting_for_parts", StatusCategory::Pending)
    );
    assert_eq!(t.status_changed_at, Some(w.hd.now()));
    let schema = w.hd.ticket_schema().await.unwrap();
    let staff = serde_json::to_value(ticket_json_for(&t, TicketView::Staff, &schema)).unwrap();
    let customer =
        serde_json::to_value(ticket_json_for(&t, TicketView::Customer, &schema)).unwrap();
    assert_eq!(staff["status_label"], "Waiting for parts");
    assert_eq!(customer["status_label"], "Waiting on us");
    assert_eq!(
        (staff["status_id"].clone(), staff["status_category"].clone()),
        (json!(parts.id), json!("pending"))
    );
    // The event as each side sees it.
    let events = w.hd.events_after(None, 1000).await.unwrap();
    let last = events
        .iter()
        .rev()
        .find(|e| e.kind == crate::event::EventKind::TicketUpdated)
        .unwrap();
    assert_eq!(last.data["ticket"]["status_label"], "Waiting for parts");
    let theirs = last.customer_view().expect("customers see another label");
    assert_eq!(theirs.data["ticket"]["status_label"], "Waiting on us");
    // Naming the current status is no change at all.
    let version = t.version;
    let same =
        w.hd.update_ticket(&agent.p, t.id, to("waiting_for_parts"))
            .await
            .unwrap();
    assert_eq!(same.version, version);
    assert_eq!(
        w.hd.events_after(None, 1000).await.unwrap().len(),
        events.len()
    );
    // Pending to resolved is allowed, whatever the status; closed is final, even inside
    // its own category.
    let done = make(&w, "done_for_good", StatusCategory::Closed, "Done").await;
    let t =
        w.hd.update_ticket(&agent.p, t.id, to("resolved"))
            .await
            .unwrap();
    let t =
        w.hd.update_ticket(&agent.p, t.id, to("closed"))
            .await
            .unwrap();
    expect_err!(
        w.hd.update_ticket(&agent.p, t.id, to(done.key.as_str()))
            .await,
        Error::InvalidTransition { .. }
    );
    // Pending may not go to closed, in any status of either.
    let t2 = w.ticket(&c, "Other").await;
    let t2 =
        w.hd.update_ticket(&agent.p, t2.id, to("waiting_for_parts"))
            .await
            .unwrap();
    expect_err!(
        w.hd.update_ticket(&agent.p, t2.id, to(done.key.as_str()))
            .await,
        Error::InvalidTransition { .. }
    );
    // Unknown keys are invalid.
    expect_err!(
        w.hd.update_ticket(&agent.p, t2.id, to("nope")).await,
        Error::Validation(f) if f[0].field == "status"
    );
}

/// Requesters name default statuses only (another key: `Forbidden`); a requester's
/// message in a pending or resolved category moves the ticket to the default `open`.
pub async fn requesters_name_default_statuses(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let c = w.customer().await;
    make(
        &w,
        "solved_remotely",
        StatusCategory::Resolved,
        "Solved remotely",
    )
    .await;
    make(
        &w,
        "waiting_for_customer",
        StatusCategory::Pending,
        "Waiting for you",
    )
    .await;
    let t = w.ticket(&c, "Mine").await;
    expect_err!(
        w.hd.update_ticket(&c.p, t.id, to("solved_remotely")).await,
        Error::Forbidden(_)
    );
    let t =
        w.hd.update_ticket(&c.p, t.id, to("resolved"))
            .await
            .unwrap();
    assert_eq!(t.status.as_str(), "resolved");
    let t = w.hd.update_ticket(&c.p, t.id, to("open")).await.unwrap();
    let t =
        w.hd.update_ticket(&agent.p, t.id, to("waiting_for_customer"))
            .await
            .unwrap();
    w.send(&c, t.conversation_id, "Here it is").await;
    let t = w.hd.get_ticket(&c.p, t.id).await.unwrap();
    assert_eq!(
        (t.status.as_str(), t.status_category),
        ("open", StatusCategory::Open)
    );
    let t =
        w.hd.update_ticket(&agent.p, t.id, to("solved_remotely"))
            .await
            .unwrap();
    w.send(&c, t.conversation_id, "Not solved").await;
    assert_eq!(
        w.hd.get_ticket(&c.p, t.id).await.unwrap().status.as_str(),
        "open"
    );
}

/// An inactive status cannot be set, and tickets in it keep it; a status a ticket
/// has, or a view's filter names, is in use (the default's `Conflict` wins).
pub async fn inactive_and_used_statuses(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let c = w.customer().await;
    let parts = make(&w, "parts", StatusCategory::OnHold, "Parts").await;
    let t = w.ticket(&c, "Waiting").await;
    let t =
        w.hd.update_ticket(&agent.p, t.id, to("parts"))
            .await
            .unwrap();
    let off = StatusPatch {
        active: Some(false),
        ..Default::default()
    };
    w.hd.update_status(&admin.p, parts.id, off).await.unwrap();
    let other = w.ticket(&c, "Other").await;
    expect_err!(
        w.hd.update_ticket(&agent.p, other.id, to("parts")).await,
        Error::Validation(f) if f[0].field == "status"
    );
    assert_eq!(
        w.hd.get_ticket(&agent.p, t.id)
            .await
            .unwrap()
            .status
            .as_str(),
        "parts"
    );
    expect_err!(
        w.hd.delete_status(&admin.p, parts.id).await,
        Error::InUse(_)
    );
    let t =
        w.hd.update_ticket(&agent.p, t.id, to("open"))
            .await
            .unwrap();
    assert_eq!(t.status.as_str(), "open");
    // A view naming it.
    let view =
        w.hd.create_view(
            &admin.p,
            NewView {
                name: "Parts".into(),
                scope: crate::ownership::ItemScope::Global,
                group_id: None,
                filter: Some(json!({"all": [{"field": "status", "op": "eq", "value": "parts"}]})),
                sort: None,
                position: None,
            },
        )
        .await
        .unwrap();
    expect_err!(
        w.hd.delete_status(&admin.p, parts.id).await,
        Error::InUse(_)
    );
    w.hd.delete_view(&admin.p, view.id).await.unwrap();
    w.hd.delete_status(&admin.p, parts.id).await.unwrap();
    expect_err!(w.hd.get_status(&admin.p, parts.id).await, Error::NotFound);
    expect_err!(
        w.hd.delete_status(&admin.p, parts.id).await,
        Error::NotFound
    );
    // Its key is free again.
    make(&w, "parts", StatusCategory::Pending, "Parts").await;
}

/// The list filters by status key and by category (each repeatable; given both, a
/// ticket matches both); an unknown key is invalid.
pub async fn list_filters_by_status_and_category(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let c = w.customer().await;
    make(&w, "parts", StatusCategory::Pending, "Parts").await;
    let a = w.ticket(&c, "A").await;
    let b = w.ticket(&c, "B").await;
    let d = w.ticket(&c, "D").await;
    w.hd.update_ticket(&agent.p, b.id, to("pending"))
        .await
        .unwrap();
    w.hd.update_ticket(&agent.p, d.id, to("parts"))
        .await
        .unwrap();
    let ids = |filter: TicketFilter| {
        let (w, agent) = (&w, &agent);
        async move {
            let mut ids: Vec<_> =
                w.hd.list_tickets(&agent.p, filter)
                    .await
                    .unwrap()
                    .items
                    .into_iter()
                    .map(|t| t.id)
                    .collect();
            ids.sort();
            ids
        }
    };
    let sorted = |mut v: Vec<uuid::Uuid>| {
        v.sort();
        v
    };
    let keys = |k: &[&str]| k.iter().map(|k| StatusKey::new(*k)).collect::<Vec<_>>();
    assert_eq!(
        ids(TicketFilter {
            statuses: keys(&["parts"]),
            ..Default::default()
        })
        .await,
        vec![d.id]
    );
    assert_eq!(
        ids(TicketFilter {
            categories: vec![StatusCategory::Pending],
            ..Default::default()
        })
        .await,
        sorted(vec![b.id, d.id])
    );
    assert_eq!(
        ids(TicketFilter {
            statuses: keys(&["open", "parts"]),
            ..Default::default()
        })
        .await,
        sorted(vec![a.id, d.id])
    );
    assert_eq!(
        ids(TicketFilter {
            statuses: keys(&["open", "parts"]),
            categories: vec![StatusCategory::Pending],
            ..Default::default()
        })
        .await,
        vec![d.id]
    );
    expect_err!(
        w.hd.list_tickets(&agent.p, TicketFilter { statuses: keys(&["nope"]), ..Default::default() }).await,
        Error::Validation(f) if f[0].field == "status"
    );
}
