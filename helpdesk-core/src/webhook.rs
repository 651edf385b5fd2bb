//! Webhooks: endpoints, Standard Webhooks signing, and deliveries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::{Event, EventId};

/// A webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// Id.
    pub id: Uuid,
    /// Where to POST.
    pub url: String,
    /// Event types, or `["*"]`.
    pub events: Vec<String>,
    /// Free text.
    pub description: String,
    /// Inactive endpoints get no deliveries.
    pub active: bool,
    /// `whsec_<base64>`.
    pub secret: String,
    /// The secret before the last rotation and when it stops signing.
    pub previous_secret: Option<(String, DateTime<Utc>)>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl Webhook {
    /// True when this endpoint gets deliveries of `event`: active, and either the event
    /// names it (`only_webhook`) or, for a broadcast event, the filter lists its type.
    pub fn wants(&self, event: &Event) -> bool {
        self.active
            && match event.only_webhook {
                Some(id) => id == self.id,
                None => self.events.iter().any(|e| e == "*" || *e == event.kind),
            }
    }
}

/// A delivery's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not tried yet.
    Pending,
    /// A 2xx answer.
    Succeeded,
    /// The last attempt failed; another follows.
    Failed,
    /// The schedule is used up.
    Dead,
}

/// One event to send to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Id (the `webhook-id` header is the event id, the same on every retry).
    pub id: Uuid,
    /// The endpoint.
    pub webhook_id: Uuid,
    /// The event.
    pub event_id: EventId,
    /// Its type.
    pub event_type: String,
    /// State.
    pub status: DeliveryStatus,
    /// Attempts so far.
    pub attempts: u32,
    /// The last HTTP status.
    pub last_status_code: Option<u16>,
    /// The last transport error.
    pub last_error: Option<String>,
    /// When it is due (`None`: never again unless retried by hand).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl Delivery {
    /// The pending delivery of `event` to `webhook`, due at once. Stores call this for
    /// every endpoint that [`Webhook::wants`] an event they append.
    pub fn pending(webhook: &Webhook, event: &Event) -> Self {
        Delivery {
            id: crate::clock::new_id(),
            webhook_id: webhook.id,
            event_id: event.id,
            event_type: event.kind.clone(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_status_code: None,
            last_error: None,
            next_attempt_at: Some(event.at),
            created_at: event.at,
        }
    }
}

/// A delivery claimed by a worker, with what it needs to send it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedDelivery {
    /// The delivery, as before the claim.
    pub delivery: Delivery,
    /// Its event.
    pub event: Event,
    /// Its endpoint.
    pub webhook: Webhook,
}

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::json;
use sha2::Sha256;

use crate::Helpdesk;
use crate::error::{Error, Result};
use crate::event::{Audience, Effects, NewEvent};
use crate::page::{Cursor, Page, limit};
use crate::principal::Principal;

/// Event types a webhook may subscribe to (besides `*`). `typing` and `presence` are
/// ephemeral and never webhooked.
pub const EVENT_TYPES: &[&str] = &[
    "message.created",
    "message.updated",
    "message.deleted",
    "message.read",
    "message.delivered",
    "conversation.created",
    "conversation.updated",
    "conversation.member_added",
    "conversation.member_removed",
    "ticket.created",
    "ticket.updated",
    "notification.created",
];

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;
/// How long a claimed delivery is reserved for its worker.
const CLAIM_LEASE_SECS: i64 = 60;

/// Input for a new endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewWebhook {
    /// Where to POST.
    pub url: String,
    /// Event types or `*`.
    pub events: Vec<String>,
    /// Free text.
    pub description: Option<String>,
    /// Default true.
    pub active: Option<bool>,
}

/// A change to an endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPatch {
    /// URL.
    pub url: Option<String>,
    /// Event filter.
    pub events: Option<Vec<String>>,
    /// Description.
    pub description: Option<String>,
    /// Active.
    pub active: Option<bool>,
}

/// The API rendering of an endpoint; the secret only when asked (create, rotate).
pub fn webhook_json(w: &Webhook, with_secret: bool) -> serde_json::Value {
    let mut v = json!({
        "id": w.id,
        "url": w.url,
        "events": w.events,
        "description": w.description,
        "active": w.active,
        "created_at": crate::event::ts(w.created_at),
    });
    if with_secret {
        v["secret"] = json!(w.secret);
    }
    v
}

/// The API rendering of a delivery.
pub fn delivery_json(d: &Delivery) -> serde_json::Value {
    json!({
        "id": d.id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "status": d.status,
        "attempts": d.attempts,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "next_attempt_at": d.next_attempt_at.map(crate::event::ts),
        "created_at": crate::event::ts(d.created_at),
    })
}

fn new_secret() -> String {
    let mut raw = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut raw);
    format!("whsec_{}", B64.encode(raw))
}

/// The Standard Webhooks signature `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`
/// with a `whsec_` secret (its base64 part is the key).
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let key_b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = B64
        .decode(key_b64)
        .unwrap_or_else(|_| key_b64.as_bytes().to_vec());
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes keys of any length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

/// True for addresses a webhook may not reach unless the operator allows private
/// targets: loopback, private, link-local (cloud metadata included), multicast,
/// unspecified, CGNAT and unique-local ranges.
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        IpAddr::V6(v6) => {
            let seg0 = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg0 & 0xfe00) == 0xfc00
                || (seg0 & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_forbidden_ip(IpAddr::V4(v4)))
        }
    }
}

/// Splits an `http(s)://host[:port]/...` URL into host and port.
pub fn url_host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.contains('@') || authority.is_empty() {
        return None;
    }
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => Some((h.to_string(), p.parse().ok()?)),
        None => Some((authority.to_string(), default_port)),
    }
}

/// Resolves a URL's host and refuses forbidden addresses (unless allowed). Returns the
/// addresses that may be used.
pub async fn check_target(url: &str, allow_private: bool) -> Result<Vec<std::net::SocketAddr>> {
    let (host, port) =
        url_host_port(url).ok_or_else(|| Error::invalid("url", "must be an http or https URL"))?;
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|_| Error::invalid("url", "host does not resolve"))?
        .collect();
    if addrs.is_empty() {
        return Err(Error::invalid("url", "host does not resolve"));
    }
    if !allow_private && addrs.iter().any(|a| is_forbidden_ip(a.ip())) {
        return Err(Error::invalid(
            "url",
            "resolves to a loopback, private, link-local or metadata address",
        ));
    }
    Ok(addrs)
}

fn validate_events(events: &[String]) -> Result<Vec<String>> {
    if events.is_empty() {
        return Err(Error::invalid(
            "events",
            "must name at least one event type or \"*\"",
        ));
    }
    for e in events {
        if e != "*" && !EVENT_TYPES.contains(&e.as_str()) {
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

/// What a transport reports about one POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The receiver answered with this status.
    Status(u16),
    /// No answer (connection refused, timeout, refused target).
    Error(String),
}

/// Sends one signed webhook request. The library ships a reqwest transport (feature
/// `webhooks-http`); tests and embedders may bring their own.
#[async_trait]
pub trait WebhookTransport: Send + Sync {
    /// POSTs `body` with `headers` to `url`.
    async fn send(&self, url: &str, headers: &[(String, String)], body: &[u8]) -> SendOutcome;
}

/// The reqwest transport: 10 s timeout, no redirects, and the address guard applied at
/// send time too (DNS rebinding).
#[cfg(feature = "webhooks-http")]
pub struct HttpTransport {
    client: reqwest::Client,
    allow_private: bool,
}

#[cfg(feature = "webhooks-http")]
impl HttpTransport {
    /// A transport; `allow_private` lets it reach private addresses.
    pub fn new(allow_private: bool) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("helpdesk-webhooks/1")
            .build()
            .expect("a reqwest client with static settings builds");
        HttpTransport {
            client,
            allow_private,
        }
    }
}

#[cfg(feature = "webhooks-http")]
#[async_trait]
impl WebhookTransport for HttpTransport {
    async fn send(&self, url: &str, headers: &[(String, String)], body: &[u8]) -> SendOutcome {
        let addrs = match check_target(url, self.allow_private).await {
            Ok(a) => a,
            Err(e) => return SendOutcome::Error(e.to_string()),
        };
        // Pin the connection to the addresses just checked, so a second lookup cannot
        // swap in a forbidden one.
        let client = match url_host_port(url) {
            Some((host, _)) if host.parse::<IpAddr>().is_err() => reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .resolve_to_addrs(&host, &addrs)
                .build()
                .unwrap_or_else(|_| self.client.clone()),
            _ => self.client.clone(),
        };
        let mut req = client.post(url).body(body.to_vec());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        match req.send().await {
            Ok(resp) => SendOutcome::Status(resp.status().as_u16()),
            Err(e) => SendOutcome::Error(e.to_string()),
        }
    }
}

impl Helpdesk {
    async fn checked_url(&self, url: &str) -> Result<String> {
        let url = url.trim();
        if url.len() > 2048 {
            return Err(Error::invalid("url", "must be at most 2048 characters"));
        }
        check_target(url, self.inner.config.webhooks_allow_private).await?;
        Ok(url.to_string())
    }

    /// Adds an endpoint (admins). The returned record carries the secret, shown once.
    pub async fn create_webhook(&self, p: &Principal, input: NewWebhook) -> Result<Webhook> {
        p.require_admin()?;
        let events = validate_events(&input.events)?;
        let url = self.checked_url(&input.url).await?;
        let now = self.now();
        let w = Webhook {
            id: crate::clock::new_id(),
            url,
            events,
            description: input.description.unwrap_or_default(),
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
        p.require_admin()?;
        Ok(self.st().list_webhooks().await?)
    }

    /// One endpoint (admins).
    pub async fn get_webhook(&self, p: &Principal, id: Uuid) -> Result<Webhook> {
        p.require_admin()?;
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
            "webhook.test",
            now,
            Audience::nobody(),
            json!({"webhook_id": w.id, "message": "This is a test event from Helpdesk."}),
        );
        e.only_webhook = Some(w.id);
        self.st().append_effects(&Effects::event(e)).await?;
        self.wake();
        Ok(())
    }

    /// An endpoint's deliveries, newest first (admins).
    pub async fn list_deliveries(
        &self,
        p: &Principal,
        id: Uuid,
        cursor: Option<Cursor>,
        page_size: Option<usize>,
    ) -> Result<Page<Delivery>> {
        let limit = limit(page_size)?;
        self.get_webhook(p, id).await?;
        let items = self.st().list_deliveries(id, cursor, limit).await?;
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
        self.wake();
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

    /// Delivers webhooks until `shutdown` resolves: wakes on local writes and polls
    /// every second for due retries and other instances' events.
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
                _ = events.recv() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "fe80::1",
            "fc00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_forbidden_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1"] {
            assert!(!is_forbidden_ip(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn targets_are_checked_when_registered_and_when_sent() {
        for url in [
            "http://127.0.0.1:9/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/x",
            "http://10.0.0.1/x",
        ] {
            assert!(check_target(url, false).await.is_err(), "{url}");
            assert!(
                check_target(url, true).await.is_ok(),
                "{url} with private allowed"
            );
        }
        assert!(check_target("ftp://example.com/x", true).await.is_err());
        // The transport checks again at send time: nothing is sent to a forbidden address.
        #[cfg(feature = "webhooks-http")]
        {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}/hook", listener.local_addr().unwrap());
            listener.set_nonblocking(true).unwrap();
            let outcome = HttpTransport::new(false).send(&url, &[], b"{}").await;
            assert!(matches!(outcome, SendOutcome::Error(_)), "{outcome:?}");
            assert!(listener.accept().is_err(), "no connection was made");
        }
    }
}
