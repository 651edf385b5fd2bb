//! [`EventStore`] and [`WebhookStore`]: the event log (by id), webhook endpoints (one
//! record, so event-writing transactions can read them all), and deliveries indexed by
//! endpoint (newest first) and by due time (the claim queue).

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use helpdesk_core::StoreError;
use helpdesk_core::event::{Effects, Event, EventId};
use helpdesk_core::page::Cursor;
use helpdesk_core::store::{EventStore, StoreResult, WebhookStore};
use helpdesk_core::webhook::{ClaimedDelivery, Delivery, DeliveryStatus, Webhook};

use crate::effects::{
    EVENT_SEQ, WEBHOOKS, event_key, put_delivery, remove_delivery, webhooks, write_effects,
};
use crate::keys::{Key, PRUNE_BATCH, trailing_id, tree};
use crate::{SledStore, Tx, TxResult, abort, decode, sled_error};
use sled::IVec;

pub(crate) fn put_webhooks(tx: &Tx<'_>, mut hooks: Vec<Webhook>) -> TxResult<()> {
    hooks.sort_by_key(|w| (w.created_at, w.id));
    tx.put_json(tree::META, WEBHOOKS, &hooks)
}

impl SledStore {
    fn all_webhooks(&self) -> StoreResult<Vec<Webhook>> {
        Ok(self
            .get_json::<Vec<Webhook>>(tree::META, WEBHOOKS)?
            .unwrap_or_default())
    }

    fn delivery_ids_of(&self, webhook_id: Uuid) -> StoreResult<Vec<Uuid>> {
        Ok(self
            .keys_with_prefix(tree::DELIVERY_IDX, webhook_id.as_bytes())?
            .iter()
            .filter_map(|k| trailing_id(k))
            .collect())
    }
}

#[async_trait]
impl EventStore for SledStore {
    async fn append_effects(&self, fx: &Effects) -> StoreResult<()> {
        self.write(|tx| write_effects(tx, fx)).await
    }

    async fn events_after(&self, after: Option<EventId>, limit: usize) -> StoreResult<Vec<Event>> {
        let from = after.map(event_key);
        self.scan(tree::EVENTS, &[], from.as_ref().map(|k| &k[..]), false)
            .take(limit)
            .map(|item| {
                let (_, v) = item?;
                decode(&v, "events")
            })
            .collect()
    }

    async fn last_event_id(&self) -> StoreResult<Option<EventId>> {
        // The counter, not the log's last key: pruning never makes ids go back.
        let seq = self.meta_u64(EVENT_SEQ)?;
        Ok((seq > 0).then_some(EventId(seq)))
    }

    async fn prune_events(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        // The events deliveries name stay (their redelivery sends them): every
        // delivery is read once.
        let mut named = HashSet::new();
        for entry in self.scan(tree::DELIVERIES, &[], None, false) {
            let (_, value) = entry?;
            named.insert(decode::<Delivery>(&value, "deliveries")?.event_id);
        }
        let mut gone = 0;
        let mut after: Option<IVec> = None;
        loop {
            let mut batch = Vec::new();
            let mut reached_end = true;
            for entry in self.scan(tree::EVENTS, &[], after.as_deref(), false) {
                let (key, value) = entry?;
                let event: Event = decode(&value, "events")?;
                if event.at >= before {
                    break;
                }
                after = Some(key);
                if !named.contains(&event.id) {
                    batch.push(event.id);
                    if batch.len() == PRUNE_BATCH {
                        reached_end = false;
                        break;
                    }
                }
            }
            if let Some(&EventId(last)) = batch.last() {
                self.write(|tx| {
                    for id in &batch {
                        tx.del(tree::EVENTS, event_key(*id))?;
                    }
                    let through = tx.get_u64(tree::META, EVENTS_PRUNED)?;
                    tx.put_u64(tree::META, EVENTS_PRUNED, through.max(last))
                })
                .await?;
                gone += batch.len() as u64;
            }
            if reached_end {
                return Ok(gone);
            }
        }
    }

    async fn events_pruned_through(&self) -> StoreResult<Option<EventId>> {
        let through = self.meta_u64(EVENTS_PRUNED)?;
        Ok((through > 0).then_some(EventId(through)))
    }
}

/// The `meta` key of the highest event id pruned.
const EVENTS_PRUNED: &[u8] = b"events_pruned_through";

#[async_trait]
impl WebhookStore for SledStore {
    async fn insert_webhook(&self, webhook: &Webhook) -> StoreResult<()> {
        self.write(|tx| {
            let mut hooks = webhooks(tx)?;
            hooks.retain(|w| w.id != webhook.id);
            hooks.push(webhook.clone());
            put_webhooks(tx, hooks)
        })
        .await
    }

    async fn update_webhook(&self, webhook: &Webhook) -> StoreResult<()> {
        self.write(|tx| {
            let mut hooks = webhooks(tx)?;
            let Some(w) = hooks.iter_mut().find(|w| w.id == webhook.id) else {
                return abort(StoreError::NotFound);
            };
            *w = webhook.clone();
            put_webhooks(tx, hooks)
        })
        .await
    }

    async fn delete_webhook(&self, id: Uuid) -> StoreResult<()> {
        let ids = self.delivery_ids_of(id)?;
        let remove = |tx: &Tx<'_>, ids: &[Uuid]| -> TxResult<()> {
            for d in ids {
                if let Some(d) = tx.get_json::<Delivery>(tree::DELIVERIES, d.as_bytes())? {
                    remove_delivery(tx, &d)?;
                }
            }
            Ok(())
        };
        self.transact(|tx| {
            let mut hooks = webhooks(tx)?;
            if !hooks.iter().any(|w| w.id == id) {
                return abort(StoreError::NotFound);
            }
            hooks.retain(|w| w.id != id);
            put_webhooks(tx, hooks)?;
            remove(tx, &ids)
        })?;
        // Once the endpoint is gone no transaction adds deliveries for it, so a second
        // pass catches any written between the first read and the removal.
        let late = self.delivery_ids_of(id)?;
        if !late.is_empty() {
            self.transact(|tx| remove(tx, &late))?;
        }
        self.flush().await
    }

    async fn get_webhook(&self, id: Uuid) -> StoreResult<Option<Webhook>> {
        Ok(self.all_webhooks()?.into_iter().find(|w| w.id == id))
    }

    async fn list_webhooks(&self) -> StoreResult<Vec<Webhook>> {
        self.all_webhooks()
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let hooks = self.all_webhooks()?;
        let active = |id: Uuid| hooks.iter().any(|w| w.id == id && w.active);
        // Candidates from the due queue, read outside the transaction; the transaction
        // checks each again, so concurrent claimers never both get one.
        let end = Key::new().exact_time(now).u64(u64::MAX).raw(&[0xff; 16]);
        let candidates: Vec<Uuid> = self
            .records_by_index(
                self.tree(tree::DELIVERY_DUE)
                    .range(..=end.0)
                    .map(|r| r.map_err(sled_error)),
                tree::DELIVERIES,
                limit,
                |k, _| trailing_id(k),
                |_, d: &Delivery| active(d.webhook_id),
            )?
            .into_iter()
            .map(|d| d.id)
            .collect();
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let claimed = self.transact(|tx| {
            let hooks = webhooks(tx)?;
            let mut out = Vec::new();
            for id in &candidates {
                let Some(d) = tx.get_json::<Delivery>(tree::DELIVERIES, id.as_bytes())? else {
                    continue;
                };
                let due = matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::Failed)
                    && d.next_attempt_at.is_some_and(|t| t <= now);
                let Some(webhook) = hooks.iter().find(|w| w.id == d.webhook_id && w.active) else {
                    continue;
                };
                if !due {
                    continue;
                }
                let Some(event) = tx.get_json::<Event>(tree::EVENTS, event_key(d.event_id))? else {
                    continue;
                };
                let mut leased = d.clone();
                leased.next_attempt_at = Some(lease_until);
                put_delivery(tx, &leased, Some(&d))?;
                out.push(ClaimedDelivery {
                    delivery: d,
                    event,
                    webhook: webhook.clone(),
                });
            }
            Ok(out)
        })?;
        if !claimed.is_empty() {
            self.flush().await?;
        }
        Ok(claimed)
    }

    async fn update_delivery(&self, delivery: &Delivery) -> StoreResult<()> {
        self.write(|tx| {
            let Some(old) = tx.get_json::<Delivery>(tree::DELIVERIES, delivery.id.as_bytes())?
            else {
                return abort(StoreError::NotFound);
            };
            put_delivery(tx, delivery, Some(&old))
        })
        .await
    }

    async fn get_delivery(&self, id: Uuid) -> StoreResult<Option<Delivery>> {
        self.get_json(tree::DELIVERIES, id.as_bytes())
    }

    async fn list_deliveries(
        &self,
        webhook_id: Uuid,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<Delivery>> {
        let prefix = Key::new().id(webhook_id);
        let after = cursor.map(|c| prefix.clone().i64(c.key).id(c.id));
        self.records_by_index(
            self.scan(
                tree::DELIVERY_IDX,
                prefix.bytes(),
                after.as_ref().map(Key::bytes),
                true,
            ),
            tree::DELIVERIES,
            limit.saturating_add(1),
            |k, _| trailing_id(k),
            |_, d: &Delivery| d.webhook_id == webhook_id,
        )
    }
}
