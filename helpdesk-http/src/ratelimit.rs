//! Failed-login rate limiting, in memory: per email and client address (10 in 15
//! minutes), per email from all addresses (100 in an hour), per client address (50 in
//! 15 minutes). Attempts over a limit are refused before the password is checked.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const FIFTEEN_MIN: Duration = Duration::from_secs(15 * 60);
const HOUR: Duration = Duration::from_secs(60 * 60);
/// Above this many tracked keys, expired ones are pruned on the next failure.
const PRUNE_AT: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    EmailAddr(String, IpAddr),
    Email(String),
    Addr(IpAddr),
}

impl Key {
    fn rule(&self) -> (usize, Duration) {
        match self {
            Key::EmailAddr(..) => (10, FIFTEEN_MIN),
            Key::Email(_) => (100, HOUR),
            Key::Addr(_) => (50, FIFTEEN_MIN),
        }
    }
}

/// Counts failed logins in sliding windows.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

impl LoginLimiter {
    /// A limiter with no history.
    pub fn new() -> Self {
        Self::default()
    }

    fn keys(email: &str, addr: IpAddr) -> [Key; 3] {
        let email = helpdesk_core::user::normalize_email(email);
        [
            Key::EmailAddr(email.clone(), addr),
            Key::Email(email),
            Key::Addr(addr),
        ]
    }

    /// `Some(seconds)` to wait when any limit is reached, `None` when an attempt may go on.
    pub fn check(&self, email: &str, addr: IpAddr) -> Option<u64> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait: Option<Duration> = None;
        for key in Self::keys(email, addr) {
            let (max, window) = key.rule();
            if let Some(q) = map.get_mut(&key) {
                while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
                    q.pop_front();
                }
                if q.len() >= max {
                    // The window frees a slot when the oldest failure counted leaves it.
                    let oldest = q[q.len() - max];
                    let left = window.saturating_sub(now.duration_since(oldest));
                    wait = Some(wait.map_or(left, |w| w.max(left)));
                }
            }
        }
        wait.map(|w| w.as_secs().max(1))
    }

    /// Records a failed attempt.
    pub fn record_failure(&self, email: &str, addr: IpAddr) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > PRUNE_AT {
            map.retain(|k, q| {
                let (_, window) = k.rule();
                q.back().is_some_and(|t| now.duration_since(*t) < window)
            });
        }
        for key in Self::keys(email, addr) {
            let (max, _) = key.rule();
            let q = map.entry(key).or_default();
            q.push_back(now);
            while q.len() > max {
                q.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_from_one_address_block_that_email_there() {
        let l = LoginLimiter::new();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..10 {
            assert_eq!(l.check("x@example.com", a), None);
            l.record_failure("X@example.com", a);
        }
        assert!(l.check("x@example.com", a).is_some_and(|s| s > 800));
        assert_eq!(l.check("x@example.com", b), None);
        assert_eq!(l.check("y@example.com", a), None);
    }

    #[test]
    fn fifty_failures_from_one_address_block_the_address() {
        let l = LoginLimiter::new();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        for i in 0..50 {
            l.record_failure(&format!("u{i}@example.com"), a);
        }
        assert!(l.check("new@example.com", a).is_some());
    }
}
