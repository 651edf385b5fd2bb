//! Webhook endpoints and deliveries at the store level: deliveries written with their
//! events for matching active endpoints, exclusive claims, leases, updates and lists.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::World;
use crate::event::{Audience, Effects, EventKind, NewEvent};
use crate::store::Store;
use crate::webhook::{Delivery, DeliveryStatus, Webhook};

/// Now, at the microsecond precision every store keeps.
fn now() -> DateTime<Utc> {
    crate::clock::truncate(Utc::now())
}

fn endpoint(events: &[&str], active: bool, at: DateTime<Utc>) -> Webhook {
    Webhook {
        id: Uuid::now_v7(),
        url: "https://hooks.example.com/in".into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        description: "test".into(),
        active,
        secret: "whsec_dGVzdA==".into(),
        previous_secret: None,
        created_at: at,
        updated_at: at,
    }
}

fn event(kind: EventKind, at: DateTime<Utc>) -> NewEvent {
    NewEvent::new(kind, at, Audience::nobody(), serde_json::json!({"k": kind}))
}

/// An event told apart from others of its kind by `label` in its data.
fn numbered(label: &str, at: DateTime<Utc>) -> NewEvent {
    NewEvent::new(
        EventKind::TicketUpdated,
        at,
        Audience::nobody(),
        serde_json::json!({"k": label}),
    )
}

async fn deliveries(store: &Arc<dyn Store>, webhook: Uuid) -> Vec<Delivery> {
    store.list_deliveries(webhook, None, 10_000).await.unwrap()
}

/// A change writes a pending delivery, due at once, for every active endpoint whose
/// filter names the event (or is `*`); none for others.
pub async fn deliveries_for_matching_active_endpoints(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let now = w.hd.now();
    let all = endpoint(&["*"], true, now);
    let tickets = endpoint(&["ticket.created"], true, now);
    let inactive = endpoint(&["*"], false, now);
    for e in [&all, &tickets, &inactive] {
        store.insert_webhook(e).await.unwrap();
    }
    let c = w.customer().await;
    let t = w.ticket(&c, "Hooked").await;
    w.send(&c, t.conversation_id, "hello").await;
    let events = w.events().await;
    let to_all = deliveries(&store, all.id).await;
    assert_eq!(to_all.len(), events.len());
    let event_ids: HashSet<_> = events.iter().map(|e| e.id).collect();
    assert_eq!(
        to_all.iter().map(|d| d.event_id).collect::<HashSet<_>>(),
        event_ids
    );
    for d in &to_all {
        let e = events.iter().find(|e| e.id == d.event_id).unwrap();
        assert_eq!(d.event_type, e.kind);
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!(d.attempts, 0);
        assert_eq!(d.next_attempt_at, Some(e.at));
        assert_eq!(d.webhook_id, all.id);
    }
    let to_tickets = deliveries(&store, tickets.id).await;
    assert_eq!(to_tickets.len(), 1);
    assert_eq!(to_tickets[0].event_type, EventKind::TicketCreated);
    assert!(deliveries(&store, inactive.id).await.is_empty());
    // Endpoints see only events appended after they exist.
    let late = endpoint(&["*"], true, now);
    store.insert_webhook(&late).await.unwrap();
    assert!(deliveries(&store, late.id).await.is_empty());
}

/// An event aimed at one endpoint goes to it alone, whatever the filters.
pub async fn only_webhook_event_goes_to_one_endpoint(store: Arc<dyn Store>) {
    let now = now();
    let target = endpoint(&["ticket.created"], true, now);
    let other = endpoint(&["*"], true, now);
    store.insert_webhook(&target).await.unwrap();
    store.insert_webhook(&other).await.unwrap();
    let mut e = event(EventKind::WebhookTest, now);
    e.only_webhook = Some(target.id);
    store.append_effects(&Effects::event(e)).await.unwrap();
    let d = deliveries(&store, target.id).await;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].event_type, EventKind::WebhookTest);
    assert!(deliveries(&store, other.id).await.is_empty());
}

/// Claims take due pending or failed deliveries of active endpoints, oldest due first;
/// not succeeded, dead, future ones or those of inactive endpoints.
pub async fn claim_respects_due_time_and_status(store: Arc<dyn Store>) {
    let t0 = now();
    let hook = endpoint(&["*"], true, t0);
    store.insert_webhook(&hook).await.unwrap();
    for i in 0..6 {
        store
            .append_effects(&Effects::event(numbered(&format!("e{i}"), t0)))
            .await
            .unwrap();
    }
    let mut ds = deliveries(&store, hook.id).await;
    ds.sort_by_key(|d| d.event_id);
    assert_eq!(ds.len(), 6);
    // e0 pending (due now), e1 failed due later, e2 failed due earlier, e3 succeeded,
    // e4 dead, e5 pending due in the future.
    let mut set = |i: usize, status, at: Option<DateTime<Utc>>| {
        ds[i].status = status;
        ds[i].next_attempt_at = at;
        ds[i].clone()
    };
    let updates = [
        set(1, DeliveryStatus::Failed, Some(t0 - Duration::seconds(1))),
        set(2, DeliveryStatus::Failed, Some(t0 - Duration::seconds(10))),
        set(3, DeliveryStatus::Succeeded, None),
        set(4, DeliveryStatus::Dead, None),
        set(5, DeliveryStatus::Pending, Some(t0 + Duration::hours(1))),
    ];
    for d in &updates {
        store.update_delivery(d).await.unwrap();
    }
    let lease = t0 + Duration::minutes(1);
    let claimed = store.claim_deliveries(t0, lease, 10).await.unwrap();
    let order: Vec<Uuid> = claimed.iter().map(|c| c.delivery.id).collect();
    assert_eq!(order, vec![ds[2].id, ds[1].id, ds[0].id]);
    for c in &claimed {
        assert_eq!(c.webhook.id, hook.id);
        assert_eq!(c.event.id, c.delivery.event_id);
        assert_eq!(c.event.kind, c.delivery.event_type);
    }
    // Inactive endpoints get nothing claimed.
    let mut off = hook.clone();
    off.active = false;
    store.update_webhook(&off).await.unwrap();
    let later = t0 + Duration::hours(2);
    assert!(
        store
            .claim_deliveries(later, later, 10)
            .await
            .unwrap()
            .is_empty()
    );
    store.update_webhook(&hook).await.unwrap();
    let again = store
        .claim_deliveries(later, later + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 4);
    // A limit is a limit.
    assert!(
        store
            .claim_deliveries(later, later, 0)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A claimed delivery is leased: not claimable again until the lease ends.
pub async fn claim_lease_hides_delivery(store: Arc<dyn Store>) {
    let t0 = now();
    let hook = endpoint(&["*"], true, t0);
    store.insert_webhook(&hook).await.unwrap();
    store
        .append_effects(&Effects::event(numbered("e", t0)))
        .await
        .unwrap();
    let lease = t0 + Duration::seconds(30);
    let first = store.claim_deliveries(t0, lease, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].delivery.next_attempt_at, Some(t0));
    assert_eq!(
        store
            .get_delivery(first[0].delivery.id)
            .await
            .unwrap()
            .unwrap()
            .next_attempt_at,
        Some(lease)
    );
    assert!(
        store
            .claim_deliveries(t0 + Duration::seconds(29), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let second = store
        .claim_deliveries(lease, lease + Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].delivery.id, first[0].delivery.id);
}

/// Concurrent claimers never get the same delivery, and together get them all.
pub async fn concurrent_claimers_never_share(store: Arc<dyn Store>) {
    let t0 = now();
    let hook = endpoint(&["*"], true, t0);
    store.insert_webhook(&hook).await.unwrap();
    let mut fx = Effects::none();
    for i in 0..60 {
        fx.push(numbered(&format!("e{i}"), t0));
    }
    store.append_effects(&fx).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = store
                    .claim_deliveries(t0, t0 + Duration::hours(1), 4)
                    .await
                    .unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|c| c.delivery.id));
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<Uuid> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "a delivery was claimed twice");
    assert_eq!(unique.len(), 60);
}

/// Deliveries are updated, read back, and listed newest first in pages.
pub async fn update_get_and_list_deliveries(store: Arc<dyn Store>) {
    let t0 = now();
    let hook = endpoint(&["*"], true, t0);
    store.insert_webhook(&hook).await.unwrap();
    for i in 0..7 {
        let at = t0 + Duration::seconds(i / 2);
        store
            .append_effects(&Effects::event(numbered(&format!("e{i}"), at)))
            .await
            .unwrap();
    }
    let all = deliveries(&store, hook.id).await;
    assert_eq!(all.len(), 7);
    assert!(
        all.windows(2)
            .all(|p| (p[0].created_at, p[0].id) > (p[1].created_at, p[1].id))
    );
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let mut page = store.list_deliveries(hook.id, cursor, 3).await.unwrap();
        let more = page.len() > 3;
        page.truncate(3);
        seen.extend(page.iter().map(|d| d.id));
        if !more {
            break;
        }
        let last = page.last().unwrap();
        cursor = Some(crate::Cursor::new(
            last.created_at.timestamp_micros(),
            last.id,
        ));
    }
    assert_eq!(seen, all.iter().map(|d| d.id).collect::<Vec<_>>());
    let mut d = all[3].clone();
    d.status = DeliveryStatus::Failed;
    d.attempts = 2;
    d.last_status_code = Some(502);
    d.last_error = Some("bad gateway".into());
    d.next_attempt_at = Some(t0 + Duration::minutes(5));
    store.update_delivery(&d).await.unwrap();
    assert_eq!(store.get_delivery(d.id).await.unwrap(), Some(d.clone()));
    let mut ghost = d.clone();
    ghost.id = Uuid::now_v7();
    assert!(matches!(
        store.update_delivery(&ghost).await,
        Err(crate::StoreError::NotFound)
    ));
    assert_eq!(store.get_delivery(ghost.id).await.unwrap(), None);
}

/// Deleting an endpoint deletes its deliveries; other endpoints keep theirs.
pub async fn delete_webhook_removes_deliveries(store: Arc<dyn Store>) {
    let t0 = now();
    let a = endpoint(&["*"], true, t0);
    let b = endpoint(&["*"], true, t0);
    store.insert_webhook(&a).await.unwrap();
    store.insert_webhook(&b).await.unwrap();
    store
        .append_effects(&Effects::event(numbered("e", t0)))
        .await
        .unwrap();
    let da = deliveries(&store, a.id).await;
    store.delete_webhook(a.id).await.unwrap();
    assert_eq!(store.get_webhook(a.id).await.unwrap(), None);
    assert_eq!(store.get_delivery(da[0].id).await.unwrap(), None);
    assert!(deliveries(&store, a.id).await.is_empty());
    assert_eq!(deliveries(&store, b.id).await.len(), 1);
    assert!(matches!(
        store.delete_webhook(a.id).await,
        Err(crate::StoreError::NotFound)
    ));
    assert!(matches!(
        store.update_webhook(&a).await,
        Err(crate::StoreError::NotFound)
    ));
    let claimed = store.claim_deliveries(t0, t0, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].webhook.id, b.id);
}

/// Endpoints list in creation order and read back as written.
pub async fn list_webhooks_in_creation_order(store: Arc<dyn Store>) {
    let t0 = now();
    let mut hooks = Vec::new();
    for i in 0..4 {
        let mut h = endpoint(
            &["ticket.created", "message.created"],
            i % 2 == 0,
            t0 + Duration::seconds(i),
        );
        h.previous_secret = (i == 3).then(|| ("whsec_b2xk".to_string(), t0));
        hooks.push(h);
    }
    for h in hooks.iter().rev() {
        store.insert_webhook(h).await.unwrap();
    }
    assert_eq!(store.list_webhooks().await.unwrap(), hooks);
    assert_eq!(
        store.get_webhook(hooks[3].id).await.unwrap(),
        Some(hooks[3].clone())
    );
    let mut changed = hooks[1].clone();
    changed.url = "https://hooks.example.com/new".into();
    changed.active = true;
    store.update_webhook(&changed).await.unwrap();
    assert_eq!(store.get_webhook(changed.id).await.unwrap(), Some(changed));
}
