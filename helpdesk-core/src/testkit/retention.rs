//! The retention window at the store level: pruning deletes old events except those a
//! webhook delivery names, remembers how far it went, never lets ids go back; read
//! notifications older than the window go, unread ones stay.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::World;
use crate::event::{Audience, Effects, EventId, EventKind, NewEvent};
use crate::notification::{Notification, NotificationData, NotificationKind};
use crate::store::Store;
use crate::webhook::Webhook;

fn labelled(label: &str, at: DateTime<Utc>) -> NewEvent {
    NewEvent::new(
        EventKind::TicketUpdated,
        at,
        Audience::nobody(),
        serde_json::json!({"k": label}),
    )
}

async fn ids(store: &Arc<dyn Store>) -> Vec<EventId> {
    let events = store.events_after(None, 1000).await.unwrap();
    events.into_iter().map(|e| e.id).collect()
}

async fn append(store: &Arc<dyn Store>, label: &str, at: DateTime<Utc>) -> EventId {
    store
        .append_effects(&Effects::event(labelled(label, at)))
        .await
        .unwrap();
    store.last_event_id().await.unwrap().unwrap()
}

/// Events before the cutoff go, except those a delivery names; the horizon is the
/// highest id pruned; ids never go back, even with the log pruned empty.
pub async fn pruning_keeps_the_window_and_what_deliveries_send(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let t0 = w.hd.now();
    assert_eq!(store.events_pruned_through().await.unwrap(), None);
    let old = append(&store, "old", t0).await;
    let hook = Webhook {
        id: Uuid::now_v7(),
        url: "https://hooks.example.com/in".into(),
        events: vec!["*".into()],
        description: "keeps its events".into(),
        active: true,
        secret: "whsec_dGVzdA==".into(),
        previous_secret: None,
        created_at: t0,
        updated_at: t0,
    };
    store.insert_webhook(&hook).await.unwrap();
    let delivered = append(&store, "delivered", t0).await;
    let later = t0 + Duration::days(31);
    let recent = append(&store, "recent", later).await;

    let cutoff = later - Duration::days(30);
    assert_eq!(store.prune_events(cutoff).await.unwrap(), 1);
    assert_eq!(ids(&store).await, [delivered, recent]);
    assert_eq!(store.events_pruned_through().await.unwrap(), Some(old));
    assert_eq!(store.prune_events(cutoff).await.unwrap(), 0, "nothing left");
    assert_eq!(store.events_pruned_through().await.unwrap(), Some(old));

    // Without its endpoint (its deliveries go with it), the delivered event goes too;
    // then everything: ids carry on after the last.
    store.delete_webhook(hook.id).await.unwrap();
    assert_eq!(
        store.prune_events(later + Duration::days(1)).await.unwrap(),
        2
    );
    assert_eq!(ids(&store).await, []);
    assert_eq!(store.events_pruned_through().await.unwrap(), Some(recent));
    assert_eq!(store.last_event_id().await.unwrap(), Some(recent));
    let next = append(&store, "next", later).await;
    assert!(next > recent, "{next} after {recent}");
    assert_eq!(ids(&store).await, [next]);
}

/// Read notifications older than the cutoff go; unread ones stay whatever their age,
/// and the unread count does not move.
pub async fn pruning_drops_old_read_notifications(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let agent = w.agent().await;
    let t0 = w.hd.now();
    let note = |title: &str, read_at: Option<DateTime<Utc>>| Notification {
        id: Uuid::now_v7(),
        user_id: agent.id(),
        kind: NotificationKind::TicketAssigned,
        title: title.into(),
        body: String::new(),
        data: NotificationData::default(),
        read_at,
        created_at: t0,
    };
    let notes = vec![
        note("read long ago", Some(t0)),
        note("never read", None),
        note("read lately", Some(t0 + Duration::days(20))),
    ];
    store
        .append_effects(&Effects {
            notifications: notes,
            ..Default::default()
        })
        .await
        .unwrap();
    let cutoff = t0 + Duration::days(10);
    assert_eq!(store.prune_read_notifications(cutoff).await.unwrap(), 1);
    let mut left: Vec<String> = store
        .list_notifications(agent.id(), false, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.title)
        .collect();
    left.sort();
    assert_eq!(left, ["never read", "read lately"]);
    assert_eq!(store.unread_notifications(agent.id()).await.unwrap(), 1);
    assert_eq!(store.prune_read_notifications(cutoff).await.unwrap(), 0);
}
