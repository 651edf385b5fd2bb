//! Checking and counting attempts against the limits of [`crate::limit`], in the store.

use crate::Helpdesk;
use crate::error::{Error, Result};
use crate::limit::*;
use crate::store::AttemptWindow;

impl Helpdesk {
    /// `RateLimited` when any of `counters` is full, with the longest wait.
    pub(crate) async fn check_attempts(&self, counters: &[Counter]) -> Result<()> {
        if counters.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let windows: Vec<AttemptWindow> = counters
            .iter()
            .map(|c| AttemptWindow {
                key: c.key.clone(),
                since: now - c.rate.window,
                limit: c.rate.max,
            })
            .collect();
        let recent = self.st().recent_attempts(&windows).await?;
        let longest = counters
            .iter()
            .zip(&recent)
            .filter_map(|(c, times)| wait(c.rate, times, now))
            .max();
        match longest {
            Some(retry_after_secs) => Err(Error::RateLimited { retry_after_secs }),
            None => Ok(()),
        }
    }

    /// Counts one attempt against each of `counters`.
    pub(crate) async fn count_attempt(&self, counters: &[Counter]) -> Result<()> {
        if counters.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let keys: Vec<String> = counters.iter().map(|c| c.key.clone()).collect();
        let forget_before = now - self.inner.config.limits.longest();
        self.st().record_attempt(&keys, now, forget_before).await?;
        Ok(())
    }
}
