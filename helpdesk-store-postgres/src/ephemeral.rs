//! The ephemeral channel: `NOTIFY helpdesk_ephemeral` with the signal as JSON, sent on
//! its own (outside any transaction, so it goes out at once), heard by every instance's
//! LISTEN connection (`events.rs`), this one's included.

use async_trait::async_trait;
use helpdesk_core::ephemeral::Signal;
use helpdesk_core::store::{EphemeralStore, SignalReceiver, StoreResult};

use crate::PostgresStore;
use crate::error::SqlxResultExt;

/// The NOTIFY channel of the ephemeral signals.
pub(crate) const EPHEMERAL_CHANNEL: &str = "helpdesk_ephemeral";

#[async_trait]
impl EphemeralStore for PostgresStore {
    async fn publish(&self, signal: &Signal) -> StoreResult<()> {
        let payload = serde_json::to_string(signal)
            .map_err(|e| helpdesk_core::StoreError::Corrupt(format!("signal: {e}")))?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(EPHEMERAL_CHANNEL)
            .bind(payload)
            .execute(self.pool_ref())
            .await
            .store()?;
        Ok(())
    }

    async fn subscribe_signals(&self) -> StoreResult<SignalReceiver> {
        self.inner.listener.subscribe_signals().await
    }
}
