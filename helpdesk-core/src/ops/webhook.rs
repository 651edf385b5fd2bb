//! Webhook endpoints, their deliveries, and the worker that claims, signs and sends
//! them.

use crate::Helpdesk;
use crate::error::{Error, Result};
use crate::event::{Audience, Effects, EventKind, NewEvent};
use crate::page::{Cursor, Page, PageRequest, limit};
use crate::principal::Principal;
use crate::webhook::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use futures_util::{FutureExt, StreamExt};
use rand::RngCore;
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

/// How long a claimed delivery is reserved for its worker.
const CLAIM_LEASE_SECS: i64 = 60;

/// How long the webhook worker lets a burst of events gather before its round: what a
/// delivery may wait beyond its write, against one claim per event under load.
const WAKE_COALESCE: Duration = Duration::from_millis(20);

fn new_secret() -> String {
    let mut raw = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut raw);
    format!("whsec_{}", B64.encode(raw))
}

fn validate_events(events: &[String]) -> Result<Vec<String>> {
    if events.is_empty() {
        return Err(Error::invalid(
            "events",
            "must name at least one event type or \"*\"",
        ));
    }
    for e in events {
        let subscribable = e.parse::<EventKind>().is_ok_and(EventKind::subscribable);
        if e != "*" && !subscribable {
            return Err(Error::invalid(
                "events",
                format!("unknown event type {e:?}"),
            ));
        }
    }
    let mut v = events.to_vec();
    v.sort();
    v.dedup();
    Ok(v)
}

impl Helpdesk {
    async fn checked_url(&self, url: &str) -> Result<String> {
        crate::text::check("url", url)?;
        let url = url.trim();
        if url.len() > 2048 {
            return Err(Error::invalid("url", "must be at most 2048 characters"));
        }
        check_target(url, self.inner.config.webhooks_allow_private).await?;
        Ok(url.to_string())
    }

    /// Adds an endpoint (admins). The returned record carries the secret, shown once.
    pub async fn create_webhook(&self, p: &Principal, input: NewWebhook) -> Result<Webhook> {
        self.require_admin(p).await?;
        let events = validate_events(&input.events)?;
        let description = input.description.unwrap_or_default();
        crate::text::check("description", &description)?;
        let url = self.checked_url(&input.url).await?;
        let now = self.now();
        let w = Webhook {
            id: crate::clock::new_id(),
            url,
            events,
            description,
            active: input.active.unwrap_or(true),
            secret: new_secret(),
            previous_secret: None,
            created_at: now,
            updated_at: now,
        };
        self.st().insert_webhook(&w).await?;
        Ok(w)
    }

    /// Every endpoint (admins).
    pub async fn list_webhooks(&self, p: &Principal) -> Result<Vec<Webhook>> {
        self.require_admin(p).await?;
        Ok(self.st().list_webhooks().await?)
    }

    /// One endpoint (admins).
    pub async fn get_webhook(&self, p: &Principal, id: Uuid) -> Result<Webhook> {
        self.require_admin(p).await?;
        self.st().get_webhook(id).await?.ok_or(Error::NotFound)
    }

    /// Changes an endpoint (admins).
    pub async fn update_webhook(
        &self,
        p: &Principal,
        id: Uuid,
        patch: WebhookPatch,
    ) -> Result<Webhook> {
        let mut w = self.get_webhook(p, id).await?;
        if let Some(events) = &patch.events {
            w.events = validate_events(events)?;
        }
        if let Some(url) = &patch.url {
            w.url = self.checked_url(url).await?;
        }
        if let Some(d) = patch.description {
            crate::text::check("description", &d)?;
            w.description = d;
        }
        if let Some(a) = patch.active {
            w.active = a;
        }
        w.updated_at = self.now();
        self.st().update_webhook(&w).await?;
        Ok(w)
    }

    /// Deletes an endpoint and its deliveries (admins).
    pub async fn delete_webhook(&self, p: &Principal, id: Uuid) -> Result<()> {
        self.get_webhook(p, id).await?;
        self.st().delete_webhook(id).await?;
        Ok(())
    }

    /// Replaces the secret; the old one keeps signing (a second signature) for 24 hours.
    pub async fn rotate_webhook_secret(&self, p: &Principal, id: Uuid) -> Result<Webhook> {
        let mut w = self.get_webhook(p, id).await?;
        let now = self.now();
        w.previous_secret = Some((
            w.secret.clone(),
            now + chrono::Duration::hours(ROTATION_OVERLAP_HOURS),
        ));
        w.secret = new_secret();
        w.updated_at = now;
        self.st().update_webhook(&w).await?;
        Ok(w)
    }

    /// Queues a `webhook.test` event for this endpoint only.
    pub async fn test_webhook(&self, p: &Principal, id: Uuid) -> Result<()> {
        let w = self.get_webhook(p, id).await?;
        let now = self.now();
        let mut e = NewEvent::new(
            EventKind::WebhookTest,
            now,
            Audience::nobody(),
            json!({"webhook_id": w.id, "message": "This is a test event from Helpdesk."}),
        );
        e.only_webhook = Some(w.id);
        self.written(self.st().append_effects(&Effects::event(e)))
            .await?;
        Ok(())
    }

    /// An endpoint's deliveries, newest first (admins).
    pub async fn list_deliveries(
        &self,
        p: &Principal,
        id: Uuid,
        page: PageRequest,
    ) -> Result<Page<Delivery>> {
        let limit = limit(page.limit)?;
        self.get_webhook(p, id).await?;
        let items = self.st().list_deliveries(id, page.cursor, limit).await?;
        Ok(Page::from_overfetch(items, limit, |d| {
            Cursor::new(d.created_at.timestamp_micros(), d.id)
        }))
    }

    /// Makes a delivery due now, whatever its state (admins).
    pub async fn retry_delivery(
        &self,
        p: &Principal,
        webhook_id: Uuid,
        delivery_id: Uuid,
    ) -> Result<Delivery> {
        self.get_webhook(p, webhook_id).await?;
        let mut d = match self.st().get_delivery(delivery_id).await? {
            Some(d) if d.webhook_id == webhook_id => d,
            _ => return Err(Error::NotFound),
        };
        d.status = DeliveryStatus::Pending;
        d.next_attempt_at = Some(self.now());
        self.st().update_delivery(&d).await?;
        Ok(d)
    }

    /// Sends the deliveries due now through `transport`, once; returns how many were
    /// attempted. [`Helpdesk::run_webhook_worker`] calls this in a loop.
    pub async fn deliver_due_webhooks(&self, transport: &dyn WebhookTransport) -> Result<usize> {
        let now = self.now();
        let claimed = self
            .st()
            .claim_deliveries(now, now + chrono::Duration::seconds(CLAIM_LEASE_SECS), 32)
            .await?;
        let schedule = &self.inner.config.webhook_retry_schedule;
        for c in &claimed {
            let event = &c.event;
            let body = serde_json::to_vec(&json!({
                "type": event.kind,
                "timestamp": crate::event::ts(event.at),
                "data": event.data,
            }))
            .map_err(|e| Error::Internal(e.to_string()))?;
            let msg_id = format!("evt_{}", event.id);
            let sent_at = self.now();
            let timestamp = sent_at.timestamp();
            let mut signature = sign(&c.webhook.secret, &msg_id, timestamp, &body);
            if let Some((old, until)) = &c.webhook.previous_secret
                && *until > sent_at
            {
                signature.push(' ');
                signature.push_str(&sign(old, &msg_id, timestamp, &body));
            }
            let headers = vec![
                ("content-type".to_string(), "application/json".to_string()),
                ("webhook-id".to_string(), msg_id),
                ("webhook-timestamp".to_string(), timestamp.to_string()),
                ("webhook-signature".to_string(), signature),
            ];
            let outcome = transport.send(&c.webhook.url, &headers, &body).await;
            let mut d = c.delivery.clone();
            d.attempts += 1;
            let done = self.now();
            match outcome {
                SendOutcome::Status(s) if (200..300).contains(&s) => {
                    d.status = DeliveryStatus::Succeeded;
                    d.last_status_code = Some(s);
                    d.last_error = None;
                    d.next_attempt_at = None;
                }
                other => {
                    match &other {
                        SendOutcome::Status(s) => {
                            d.last_status_code = Some(*s);
                            d.last_error = None;
                        }
                        SendOutcome::Error(e) => d.last_error = Some(e.chars().take(500).collect()),
                    }
                    let retry = schedule.get(d.attempts as usize - 1).copied();
                    match retry {
                        Some(wait) if other != SendOutcome::Status(410) => {
                            d.status = DeliveryStatus::Failed;
                            d.next_attempt_at = Some(
                                done + chrono::Duration::from_std(wait)
                                    .unwrap_or(chrono::Duration::hours(10)),
                            );
                        }
                        _ => {
                            d.status = DeliveryStatus::Dead;
                            d.next_attempt_at = None;
                        }
                    }
                    if other == SendOutcome::Status(410) {
                        let mut w = c.webhook.clone();
                        w.active = false;
                        w.updated_at = done;
                        self.st().update_webhook(&w).await?;
                    }
                }
            }
            self.st().update_delivery(&d).await?;
        }
        Ok(claimed.len())
    }

    /// Delivers webhooks until `shutdown` resolves: wakes on new events and polls every
    /// second for due retries. A burst of events is one wake: the round starts 20 ms
    /// after the first, so a busy store is not asked for due deliveries once per event.
    pub async fn run_webhook_worker(
        &self,
        transport: std::sync::Arc<dyn WebhookTransport>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let mut events = loop {
            match self.subscribe().await {
                Ok(events) => break events,
                Err(e) => tracing::warn!(error = %e, "webhook worker cannot read the event log"),
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        };
        loop {
            match self.deliver_due_webhooks(transport.as_ref()).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook delivery round failed"),
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = events.recv() => {
                    tokio::time::sleep(WAKE_COALESCE).await;
                    while let Some(Some(_)) = events.next().now_or_never() {}
                }
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}
