//! Attempt limits: failed logins (and wrong current passwords, which guess the same
//! secret) counted per email and client address, per email from everywhere and per
//! client address; signups per client address. The counts live in the store, so every
//! instance sharing it sees them and a restart forgets nothing; an attempt over a limit
//! is refused before any password is hashed or checked.
//!
//! Requests per API key are limited per instance instead, in memory
//! ([`Limits::requests_per_api_key`]): they are too many to count in the store.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::auth::sha256_hex;

/// At most `max` attempts within any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Attempts allowed in a window.
    pub max: usize,
    /// The sliding window.
    pub window: Duration,
}

impl Rate {
    /// `max` attempts per `window`.
    pub fn new(max: usize, window: Duration) -> Self {
        Rate { max, window }
    }
}

impl std::str::FromStr for Rate {
    type Err = String;

    /// `N/DURATION`, e.g. `20/1m`, `100/h`, `10/15m`: the durations of every other flag
    /// ([`crate::clock::parse_duration`]).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad =
            || format!("{s:?} is not a rate such as 20/1m (N per DURATION: 30s, 15m, 1h, 1d)");
        let (max, window) = s.trim().split_once('/').ok_or_else(bad)?;
        let max: usize = max.trim().parse().map_err(|_| bad())?;
        let window = window.trim();
        if window.is_empty() {
            return Err(bad());
        }
        // `100/h` reads as one hour.
        let window = if window.starts_with(|c: char| c.is_ascii_digit()) {
            crate::clock::parse_duration(window)
        } else {
            crate::clock::parse_duration(&format!("1{window}"))
        };
        let window = window
            .ok()
            .and_then(|d| Duration::from_std(d).ok())
            .filter(|d| *d > Duration::zero())
            .ok_or_else(bad)?;
        if max == 0 {
            return Err(bad());
        }
        Ok(Rate { max, window })
    }
}

/// The attempt limits (API.md, "Auth").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Failed logins for one email from one client address (10 in 15 minutes).
    pub failed_logins_per_email_and_client: Rate,
    /// Failed logins for one email from all addresses (100 in an hour).
    pub failed_logins_per_email: Rate,
    /// Failed logins from one client address, whatever the email (50 in 15 minutes).
    pub failed_logins_per_client: Rate,
    /// Signups from one client address (20 a minute).
    pub signups_per_client: Rate,
    /// Requests through one API key on this instance (600 a minute); `None`: unlimited.
    pub requests_per_api_key: Option<Rate>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            failed_logins_per_email_and_client: Rate::new(10, Duration::minutes(15)),
            failed_logins_per_email: Rate::new(100, Duration::hours(1)),
            failed_logins_per_client: Rate::new(50, Duration::minutes(15)),
            signups_per_client: Rate::new(20, Duration::minutes(1)),
            requests_per_api_key: Some(Rate::new(600, Duration::minutes(1))),
        }
    }
}

impl Limits {
    /// The longest window: older attempts count for nothing.
    pub(crate) fn longest(&self) -> Duration {
        [
            self.failed_logins_per_email_and_client,
            self.failed_logins_per_email,
            self.failed_logins_per_client,
            self.signups_per_client,
        ]
        .iter()
        .map(|r| r.window)
        .max()
        .unwrap_or_else(Duration::zero)
    }

    /// What a failed login (or a wrong current password) for `email` from `client`
    /// counts against.
    pub(crate) fn failed_login(&self, email: &str, client: Option<IpAddr>) -> Vec<Counter> {
        let email = crate::user::normalize_email(email);
        let mut out = vec![Counter::new(
            self.failed_logins_per_email,
            &["login-email", &email],
        )];
        if let Some(ip) = client {
            let ip = ip.to_string();
            out.push(Counter::new(
                self.failed_logins_per_email_and_client,
                &["login-email-client", &email, &ip],
            ));
            out.push(Counter::new(
                self.failed_logins_per_client,
                &["login-client", &ip],
            ));
        }
        out
    }

    /// What a signup from `client` counts against (nothing without an address).
    pub(crate) fn signup(&self, client: Option<IpAddr>) -> Vec<Counter> {
        client
            .map(|ip| Counter::new(self.signups_per_client, &["signup-client", &ip.to_string()]))
            .into_iter()
            .collect()
    }
}

/// One count and its rate. The key is a digest, so an attacker's long or odd input is
/// never stored as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Counter {
    pub(crate) key: String,
    pub(crate) rate: Rate,
}

impl Counter {
    fn new(rate: Rate, parts: &[&str]) -> Self {
        Counter {
            key: sha256_hex(parts.join("\n").as_bytes()),
            rate,
        }
    }
}

/// Seconds until a counter whose newest attempts (newest first, within its window) are
/// `times` lets one more through, or `None` when it does now.
pub(crate) fn wait(rate: Rate, times: &[DateTime<Utc>], now: DateTime<Utc>) -> Option<u64> {
    let oldest_counted = times.get(rate.max.checked_sub(1)?)?;
    let left = rate.window - (now - *oldest_counted);
    let secs = (left.num_milliseconds().max(0) as u64).div_ceil(1000);
    Some(secs.max(1))
}

/// The recent requests of each API key on this instance: a sliding window of their
/// times, kept in memory.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    by_key: Mutex<HashMap<Uuid, VecDeque<DateTime<Utc>>>>,
    admitted: AtomicU64,
}

/// How many admissions pass between sweeps of the keys that fell silent.
const SWEEP_EVERY: u64 = 4096;

impl RequestLog {
    /// Counts a request of `key` at `now`, unless `rate` is reached: then the seconds
    /// until one more is let through (the refused request is not counted).
    pub(crate) fn admit(&self, key: Uuid, rate: Rate, now: DateTime<Utc>) -> Option<u64> {
        let since = now - rate.window;
        let mut by_key = self.by_key.lock().unwrap_or_else(|e| e.into_inner());
        if self.admitted.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            by_key.retain(|_, times| times.back().is_some_and(|t| *t > since));
        }
        let times = by_key.entry(key).or_default();
        while times.front().is_some_and(|t| *t <= since) {
            times.pop_front();
        }
        if times.len() >= rate.max {
            let oldest = times.front().copied().unwrap_or(now);
            let left = rate.window - (now - oldest);
            let secs = (left.num_milliseconds().max(0) as u64).div_ceil(1000);
            return Some(secs.max(1));
        }
        times.push_back(now);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_requests_slide_through_their_window() {
        let log = RequestLog::default();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let rate = Rate::new(3, Duration::minutes(1));
        let t0 = DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap();
        for i in 0..3 {
            assert_eq!(log.admit(a, rate, t0 + Duration::seconds(i * 10)), None);
        }
        // The fourth within the minute waits until the first leaves the window.
        assert_eq!(log.admit(a, rate, t0 + Duration::seconds(30)), Some(30));
        assert_eq!(
            log.admit(b, rate, t0 + Duration::seconds(30)),
            None,
            "per key"
        );
        assert_eq!(log.admit(a, rate, t0 + Duration::seconds(60)), None);
        assert_eq!(log.admit(a, rate, t0 + Duration::seconds(61)), Some(9));
    }

    #[test]
    fn rates_parse() {
        assert_eq!("20/1m".parse(), Ok(Rate::new(20, Duration::minutes(1))));
        assert_eq!("100/h".parse(), Ok(Rate::new(100, Duration::hours(1))));
        assert_eq!(" 5 / 30s ".parse(), Ok(Rate::new(5, Duration::seconds(30))));
        for bad in ["", "20", "0/1m", "x/1m", "20/", "20/1y", "20/0m", "20/-1m"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_wait_ends_when_the_oldest_counted_attempt_leaves_the_window() {
        let now = DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap();
        let rate = Rate::new(2, Duration::minutes(10));
        let times = [now - Duration::minutes(1), now - Duration::minutes(4)];
        assert_eq!(wait(rate, &times[..1], now), None);
        assert_eq!(wait(rate, &times, now), Some(6 * 60));
    }
}
