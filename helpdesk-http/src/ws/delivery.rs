//! Delivery records: a message pushed to a member counts as delivered to them. They are
//! written in the background, batched, behind the frames.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use helpdesk_core::Helpdesk;
use helpdesk_core::message::Pushed;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use uuid::Uuid;

/// How long the writer lets deliveries gather after the first of a batch. A post to a
/// group of a thousand is pushed over some 20 ms; writing its deliveries as they came
/// split them into several writes that ran during the pushes, competing with them for
/// the cores (W1, 1,000 sockets, p99 to each socket with the wait: sled 26–37 → 21–25 ms,
/// PostgreSQL 40–48 → 33–42 ms). A sender hears of a delivery this much later.
const GATHER: Duration = Duration::from_millis(20);

/// Records deliveries in the background, behind the frames: a message to a group of N
/// is N deliveries, and writing them must not delay the pushes. Pending deliveries of
/// one member in one conversation collapse into the highest; those of one conversation
/// are one write.
#[derive(Default)]
pub(super) struct Deliveries {
    tx: OnceLock<mpsc::UnboundedSender<Pushed>>,
    task: OnceLock<AbortHandle>,
}

impl Deliveries {
    pub(super) fn start(&self, hd: Helpdesk) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Pushed>();
        if self.tx.set(tx).is_err() {
            return;
        }
        let task = tokio::spawn(async move {
            let mut pending: HashMap<(Uuid, Uuid), Pushed> = HashMap::new();
            while let Some(first) = rx.recv().await {
                tokio::time::sleep(GATHER).await;
                let mut next = Some(first);
                while let Some(p) = next {
                    let key = (p.principal.user_id(), p.conversation_id);
                    if pending.get(&key).is_none_or(|q| q.seq < p.seq) {
                        pending.insert(key, p);
                    }
                    next = rx.try_recv().ok();
                }
                let batch: Vec<Pushed> = pending.drain().map(|(_, p)| p).collect();
                if let Err(e) = hd.mark_pushed(&batch).await {
                    tracing::warn!(error = %e, "cannot record deliveries");
                }
            }
        });
        let _ = self.task.set(task.abort_handle());
    }

    pub(super) fn stop(&self) {
        if let Some(task) = self.task.get() {
            task.abort();
        }
    }

    pub(super) fn record(&self, pushed: Pushed) {
        if let Some(tx) = self.tx.get() {
            let _ = tx.send(pushed);
        }
    }
}
