//! Webhook delivery claims with `FOR UPDATE SKIP LOCKED`: concurrent claimers never get
//! the same delivery.

use std::collections::HashSet;

use chrono::Duration;
use helpdesk_core::store::{EventStore, WebhookStore};
use helpdesk_core::webhook::DeliveryStatus;
use uuid::Uuid;

use crate::common::{TestDb, one_event, t0, webhook};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_never_share_a_delivery() {
    let Some(db) = TestDb::create("concurrent_claimers_never_share_a_delivery").await else {
        return;
    };
    let active = webhook(true);
    let inactive = webhook(false);
    db.store.insert_webhook(&active).await.unwrap();
    db.store.insert_webhook(&inactive).await.unwrap();
    const EVENTS: usize = 120;
    for n in 0..EVENTS {
        db.store
            .append_effects(&one_event("ticket.created", n as u64))
            .await
            .unwrap();
    }
    let now = t0() + Duration::seconds(1);
    let lease = now + Duration::minutes(5);
    let claimers: Vec<_> = (0..4)
        .map(|_| {
            let store = db.store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store.claim_deliveries(now, lease, 5).await.unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch);
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for c in claimers {
        all.extend(c.await.unwrap());
    }
    let ids: HashSet<Uuid> = all.iter().map(|c| c.delivery.id).collect();
    assert_eq!(ids.len(), all.len(), "a delivery was claimed twice");
    assert_eq!(
        all.len(),
        EVENTS,
        "every delivery of the active endpoint, once"
    );
    for c in &all {
        assert_eq!(c.webhook.id, active.id);
        assert_eq!(c.event.id, c.delivery.event_id);
        assert_eq!(c.delivery.status, DeliveryStatus::Pending);
        assert_eq!(
            c.delivery.next_attempt_at,
            Some(t0()),
            "the delivery as before the claim"
        );
        let stored = db.store.get_delivery(c.delivery.id).await.unwrap().unwrap();
        assert_eq!(stored.next_attempt_at, Some(lease));
    }
    // Nothing is due again before the lease ends; all of it after.
    assert!(
        db.store
            .claim_deliveries(now, lease, 500)
            .await
            .unwrap()
            .is_empty()
    );
    let later = db
        .store
        .claim_deliveries(lease, lease + Duration::minutes(5), 500)
        .await
        .unwrap();
    assert_eq!(later.len(), EVENTS);
    // Oldest due first.
    let events = db.store.events_after(None, 1000).await.unwrap();
    let order: Vec<_> = later.iter().map(|c| c.delivery.event_id).collect();
    let expected: Vec<_> = events.iter().map(|e| e.id).collect();
    assert_eq!(order, expected);
}
