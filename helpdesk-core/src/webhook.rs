//! Webhooks: endpoints, Standard Webhooks signing, and deliveries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::{Event, EventId, EventKind};

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
    /// names it (`only_webhook`) or, for a broadcast event of a kind endpoints may
    /// subscribe to, the filter lists its type.
    pub fn wants(&self, event: &Event) -> bool {
        self.active
            && match event.only_webhook {
                Some(id) => id == self.id,
                None => {
                    event.kind.subscribable()
                        && self
                            .events
                            .iter()
                            .any(|e| e == "*" || e == event.kind.as_str())
                }
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
    pub event_type: EventKind,
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
            event_type: event.kind,
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

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
#[cfg(feature = "webhooks-http")]
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use url::{Host, Url};

use crate::error::{Error, Result};

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;

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
/// unspecified, CGNAT, reserved and unique-local or site-local ranges, and IPv6
/// addresses that carry a forbidden IPv4 address (IPv4-mapped, -compatible and
/// -translated, NAT64, 6to4, Teredo): a NAT64 gateway or a 6to4 relay delivers those
/// to the IPv4 address inside.
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(v4: Ipv4Addr) -> bool {
    let o = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_multicast()
        || v4.is_unspecified()
        // "This network", 0.0.0.0/8.
        || o[0] == 0
        // Shared address space (CGNAT), 100.64.0.0/10.
        || (o[0] == 100 && (64..128).contains(&o[1]))
        // IETF protocol assignments, 192.0.0.0/24.
        || (o[0], o[1], o[2]) == (192, 0, 0)
        // Benchmarking, 198.18.0.0/15.
        || (o[0] == 198 && (o[1] & 0xfe) == 18)
        // Reserved, 240.0.0.0/4, the limited broadcast address included.
        || o[0] >= 240
}

fn is_forbidden_v6(v6: Ipv6Addr) -> bool {
    let s = v6.segments();
    v6.is_loopback()
        || v6.is_unspecified()
        || v6.is_multicast()
        // Unique local, fc00::/7.
        || (s[0] & 0xfe00) == 0xfc00
        // Link-local, fe80::/10.
        || (s[0] & 0xffc0) == 0xfe80
        // Site-local, fec0::/10: deprecated, but still routed inside some networks.
        || (s[0] & 0xffc0) == 0xfec0
        // Local-use NAT64, 64:ff9b:1::/48 (RFC 8215): a prefix for private networks,
        // translated to whatever IPv4 addresses the operator chose, and not always at
        // the /96 position, so the whole range is refused whatever it seems to carry.
        || (s[0], s[1], s[2]) == (0x64, 0xff9b, 1)
        || embedded_ipv4(v6).into_iter().flatten().any(is_forbidden_v4)
}

/// The IPv4 addresses an IPv6 address delivers to, in the forms that carry one.
fn embedded_ipv4(v6: Ipv6Addr) -> [Option<Ipv4Addr>; 2] {
    let s = v6.segments();
    let v4 = |hi: u16, lo: u16| Some(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    match s {
        // IPv4-compatible ::/96 (:: and ::1 are refused above), IPv4-mapped
        // ::ffff:0:0/96, IPv4-translated ::ffff:0:0:0/96 (RFC 2765).
        [0, 0, 0, 0, 0, 0, hi, lo]
        | [0, 0, 0, 0, 0, 0xffff, hi, lo]
        | [0, 0, 0, 0, 0xffff, 0, hi, lo] => [v4(hi, lo), None],
        // NAT64 well-known prefix, 64:ff9b::/96 (RFC 6052).
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => [v4(hi, lo), None],
        // 6to4, 2002::/16: the IPv4 address is bits 16..48.
        [0x2002, hi, lo, ..] => [v4(hi, lo), None],
        // Teredo, 2001::/32: the server in bits 32..64, the client in the last 32 bits
        // inverted.
        [0x2001, 0, server_hi, server_lo, _, _, client_hi, client_lo] => {
            [v4(server_hi, server_lo), v4(!client_hi, !client_lo)]
        }
        _ => [None, None],
    }
}

/// Splits an `http(s)` URL into host and port as the webhook transport sees them (the
/// WHATWG parse of the `url` crate, which reqwest uses too); `None` for other schemes,
/// URLs with a user name or password, and URLs that do not parse. IPv6 hosts come
/// without brackets.
pub fn url_host_port(url: &str) -> Option<(String, u16)> {
    let url = parse_url(url).ok()?;
    let host = match url.host()? {
        Host::Domain(d) => d.to_string(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => ip.to_string(),
    };
    Some((host, url.port_or_known_default()?))
}

/// Parses a webhook URL once, the way both the address check and the connection read
/// it: `http` or `https`, a host, no user name or password.
fn parse_url(url: &str) -> Result<Url> {
    let parsed = Url::parse(url.trim())
        .map_err(|_| Error::invalid("url", "must be an http or https URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::invalid("url", "must be an http or https URL"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::invalid(
            "url",
            "must not contain a user name or password",
        ));
    }
    if parsed.host().is_none() || parsed.port_or_known_default().is_none() {
        return Err(Error::invalid("url", "must name a host"));
    }
    Ok(parsed)
}

/// The addresses a parsed URL leads to: its IP host itself, or its domain resolved;
/// forbidden ones are refused unless allowed.
async fn check_url(url: &Url, allow_private: bool) -> Result<Vec<SocketAddr>> {
    let port = url
        .port_or_known_default()
        .ok_or_else(|| Error::invalid("url", "must name a host"))?;
    let addrs: Vec<SocketAddr> = match url.host() {
        Some(Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(Host::Domain(domain)) => tokio::net::lookup_host((domain, port))
            .await
            .map_err(|_| Error::invalid("url", "host does not resolve"))?
            .collect(),
        None => return Err(Error::invalid("url", "must name a host")),
    };
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

/// Resolves a URL's host and refuses forbidden addresses (unless allowed). Returns the
/// addresses that may be used.
pub async fn check_target(url: &str, allow_private: bool) -> Result<Vec<SocketAddr>> {
    check_url(&parse_url(url)?, allow_private).await
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

/// The settings of every webhook client.
#[cfg(feature = "webhooks-http")]
fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        // A proxy from the environment would resolve and connect by itself, past the
        // address check and the pinning: webhooks go direct.
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("helpdesk-webhooks/1")
}

#[cfg(feature = "webhooks-http")]
impl HttpTransport {
    /// A transport; `allow_private` lets it reach private addresses.
    pub fn new(allow_private: bool) -> Self {
        let client = client_builder()
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
        // One parse for the check and the request: the host checked is the host
        // connected to.
        let target = match parse_url(url) {
            Ok(t) => t,
            Err(e) => return SendOutcome::Error(e.to_string()),
        };
        let addrs = match check_url(&target, self.allow_private).await {
            Ok(a) => a,
            Err(e) => return SendOutcome::Error(e.to_string()),
        };
        // Pin a domain to the addresses just checked, so a second lookup cannot swap in
        // a forbidden one. An IP host is connected to as it is.
        let client = match target.host() {
            Some(Host::Domain(domain)) => {
                match client_builder().resolve_to_addrs(domain, &addrs).build() {
                    Ok(c) => c,
                    Err(e) => return SendOutcome::Error(e.to_string()),
                }
            }
            _ => self.client.clone(),
        };
        let mut req = client.post(target).body(body.to_vec());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        match req.send().await {
            Ok(resp) => SendOutcome::Status(resp.status().as_u16()),
            Err(e) => SendOutcome::Error(e.to_string()),
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
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            // IETF protocol assignments, benchmarking, reserved.
            "192.0.0.1",
            "192.0.0.170",
            "198.18.0.1",
            "198.19.255.254",
            "240.0.0.1",
            "250.1.2.3",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "fec0::1",
            "feff::1",
            "ff02::1",
            // IPv4-mapped and IPv4-translated.
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0:127.0.0.1",
            "::ffff:0:a9fe:a9fe",
            // IPv4-compatible (deprecated, still routed by some stacks).
            "::127.0.0.1",
            "::a9fe:a9fe",
            "::10.0.0.1",
            "::2",
            // NAT64, well-known prefix.
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::7f00:1",
            "64:ff9b::192.168.0.1",
            // Local-use NAT64: refused whatever it carries.
            "64:ff9b:1::808:808",
            "64:ff9b:1:ffff::1",
            // 6to4.
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::1",
            "2002:0a00:0001:1234::5",
            // Teredo: a forbidden server, or a forbidden client (inverted).
            "2001:0:7f00:1::1",
            "2001:0:a9fe:a9fe::1",
            "2001:0:808:808:0:0:80ff:fffe",
            "2001:0:808:808::5601:5601",
        ] {
            assert!(is_forbidden_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "192.0.2.1",
            "198.20.0.1",
            "223.255.255.254",
            "2606:2800:220:1::1",
            "2606:4700::1111",
            // Public IPv4 addresses in every embedding form.
            "::ffff:8.8.8.8",
            "::8.8.8.8",
            "::ffff:0:8.8.8.8",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
            // Teredo between a public server and a public client (8.8.4.4 inverted).
            "2001:0:808:808::f7f7:fbfb",
            // Not Teredo (2001:db8::/32 and other 2001:: space): no IPv4 inside.
            "2001:4860::8888",
        ] {
            assert!(!is_forbidden_ip(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn embedded_addresses_are_read_from_their_bits() {
        let v4 = |s: &str| Some(s.parse::<Ipv4Addr>().unwrap());
        let of = |s: &str| embedded_ipv4(s.parse().unwrap());
        assert_eq!(of("::ffff:1.2.3.4"), [v4("1.2.3.4"), None]);
        assert_eq!(of("::1.2.3.4"), [v4("1.2.3.4"), None]);
        assert_eq!(of("::ffff:0:1.2.3.4"), [v4("1.2.3.4"), None]);
        assert_eq!(of("64:ff9b::1.2.3.4"), [v4("1.2.3.4"), None]);
        assert_eq!(of("2002:102:304:5::6"), [v4("1.2.3.4"), None]);
        // RFC 4380's example: server 65.54.227.120, client 192.0.2.45.
        assert_eq!(
            of("2001:0000:4136:e378:8000:63bf:3fff:fdd2"),
            [v4("65.54.227.120"), v4("192.0.2.45")]
        );
        assert_eq!(of("2606:4700::1111"), [None, None]);
        assert_eq!(of("64:ff9b:0:1::1.2.3.4"), [None, None]);
    }

    /// The host and port a URL is checked by are those reqwest connects to: both read
    /// the URL through the `url` crate (`send` hands reqwest the parsed URL itself).
    #[test]
    fn urls_are_read_as_the_connector_reads_them() {
        let host_of = url_host_port;
        let hp = |h: &str, p: u16| Some((h.to_string(), p));
        // Numeric forms of IPv4 addresses are IPv4 addresses.
        for url in [
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://127.0.0.1./",
            "http://%31%32%37.0.0.1/",
            "http://\u{ff11}\u{ff12}\u{ff17}.0.0.1/",
            "HTTP://127.0.0.1:80/",
            "http://127.0.0.\n1/",
        ] {
            assert_eq!(host_of(url), hp("127.0.0.1", 80), "{url:?}");
        }
        // A backslash ends the authority in an http URL, as a slash does: the `@`
        // after it is in the path.
        assert_eq!(
            host_of("http://127.0.0.1\\@example.com/"),
            hp("127.0.0.1", 80)
        );
        assert_eq!(
            host_of("http://example.com\\@127.0.0.1/"),
            hp("example.com", 80)
        );
        assert_eq!(host_of("https://Example.COM./x"), hp("example.com.", 443));
        assert_eq!(host_of("http:example.com:8080"), hp("example.com", 8080));
        assert_eq!(host_of("http:///x"), hp("x", 80));
        assert_eq!(host_of("http://[::127.0.0.1]/"), hp("::7f00:1", 80));
        assert_eq!(
            host_of("https://[64:ff9b::a9fe:a9fe]:8443/"),
            hp("64:ff9b::a9fe:a9fe", 8443)
        );
        // User names and passwords, other schemes, no host, bad hosts: refused.
        for url in [
            "http://user@example.com/",
            "http://user:pw@example.com/",
            "http://example.com@127.0.0.1/",
            "http://a@b@127.0.0.1/",
            "http://127.0.0.1%2f@example.com/",
            "ftp://example.com/x",
            "file:///etc/passwd",
            "gopher://127.0.0.1/",
            "http://",
            "http://[fe80::1%25eth0]/",
            "http://[fe80::1%eth0]/",
            "http://1.2.3.256/",
            "http://exa mple.com/",
            "//example.com/",
            "example.com",
        ] {
            assert_eq!(host_of(url), None, "{url:?}");
        }
    }

    #[tokio::test]
    async fn targets_are_checked_when_registered_and_when_sent() {
        for url in [
            "http://127.0.0.1:9/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/x",
            "http://10.0.0.1/x",
            // IPv4 inside IPv6.
            "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",
            "http://[::127.0.0.1]/",
            "http://[::a9fe:a9fe]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[2002:7f00:1::1]/",
            "http://[2002:a9fe:a9fe::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:0:a9fe:a9fe]/",
            "http://[64:ff9b:1::808:808]/",
            "http://[2001:0:a9fe:a9fe::1]/",
            "http://[2001:0:808:808::80ff:fffe]/",
            "http://[fec0::1]/",
            "http://198.18.0.1/",
            "http://192.0.0.170/",
            "http://240.0.0.1/",
            // Odd spellings, refused by the address they are read as.
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0xa9.0xfe.0xa9.0xfe/",
            "http://%31%32%37.0.0.1/",
            "http://127.0.0.1./",
            "http://127.0.0.1\\@example.com/",
            "  http://127.0.0.1/  ",
        ] {
            assert!(check_target(url, false).await.is_err(), "{url}");
            assert!(
                check_target(url, true).await.is_ok(),
                "{url} with private allowed"
            );
        }
        // Public addresses stay allowed, embedded ones included (IP hosts: no lookup).
        for url in [
            "http://8.8.8.8/",
            "https://[2002:0808:0808::1]/",
            "https://[64:ff9b::808:808]/",
            "https://[2606:4700::1111]/",
            "http://[::ffff:8.8.8.8]:8080/",
        ] {
            let addrs = check_target(url, false)
                .await
                .unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(addrs.len(), 1, "{url}");
        }
        // Refused whatever the operator allows.
        for url in [
            "ftp://example.com/x",
            "http://user@127.0.0.1/",
            "http://example.com@127.0.0.1/",
            "http://[fe80::1%25eth0]/",
            "http://",
        ] {
            assert!(check_target(url, true).await.is_err(), "{url}");
        }
        // The transport checks again at send time: nothing is sent to a forbidden address.
        #[cfg(feature = "webhooks-http")]
        {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            listener.set_nonblocking(true).unwrap();
            for url in [
                format!("http://127.0.0.1:{port}/hook"),
                format!("http://[::ffff:127.0.0.1]:{port}/hook"),
                format!("http://2130706433:{port}/hook"),
                format!("http://127.0.0.1:{port}\\@example.com/hook"),
            ] {
                let outcome = HttpTransport::new(false).send(&url, &[], b"{}").await;
                assert!(
                    matches!(outcome, SendOutcome::Error(_)),
                    "{url}: {outcome:?}"
                );
                assert!(listener.accept().is_err(), "{url}: no connection was made");
            }
        }
    }

    /// With private targets allowed, the transport connects to the host it checked: a
    /// backslash ends the authority for reqwest as for the check.
    #[cfg(feature = "webhooks-http")]
    #[tokio::test]
    async fn the_transport_connects_to_the_host_it_checked() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 1024];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = conn.read(&mut buf).await.unwrap();
                assert!(n > 0, "the request ended early");
                seen.extend_from_slice(&buf[..n]);
            }
            conn.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8_lossy(&seen).into_owned()
        });
        let url = format!("http://127.0.0.1:{port}\\@example.com/hook");
        let outcome = HttpTransport::new(true).send(&url, &[], b"{}").await;
        assert_eq!(outcome, SendOutcome::Status(204));
        let request = server.await.unwrap();
        assert!(
            request.starts_with("POST /@example.com/hook HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            request.contains("user-agent: helpdesk-webhooks/1"),
            "{request}"
        );
    }
}
