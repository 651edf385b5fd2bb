//! The delay between failed polls.

use std::time::Duration;

/// Delay after failed polls: `base`, doubling each time, at most 15 minutes; reset on success.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    current: Option<Duration>,
}

impl Backoff {
    /// The longest delay.
    pub const MAX: Duration = Duration::from_secs(15 * 60);

    /// Starts at `base` (at least one second).
    pub fn new(base: Duration) -> Self {
        Self {
            base: base.clamp(Duration::from_secs(1), Self::MAX),
            current: None,
        }
    }

    /// Records a failure; returns how long to wait before the next try.
    pub fn failed(&mut self) -> Duration {
        let next = match self.current {
            None => self.base,
            Some(delay) => delay.saturating_mul(2).min(Self::MAX),
        };
        self.current = Some(next);
        next
    }

    /// Records a success: the next failure waits `base` again.
    pub fn succeeded(&mut self) {
        self.current = None;
    }

    /// The delay the last failure asked for, if the last poll failed.
    pub fn current(&self) -> Option<Duration> {
        self.current
    }
}
