//! The dispatcher: one task per server reads the library's live stream (and the log,
//! when it falls behind), resolves each event's viewers once and queues the event,
//! serialized once, on every socket that may see it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use helpdesk_core::Helpdesk;
use helpdesk_core::event::{Event, Subscription, ViewerReads};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::hub::{Conn, Fanned, Hub, Out};

/// Events read from the log at a time when the dispatcher fell behind, and at most in
/// one batch of live events.
const CATCH_UP_BATCH: usize = 256;

/// Fans the library's live events out to the hub's sockets until the stream ends.
/// `subscription` is taken before the server accepts its first connection; when the
/// store did not answer then, it is retried every second.
pub(crate) async fn run(
    hd: Helpdesk,
    hub: Arc<Hub>,
    subscription: helpdesk_core::Result<Subscription>,
) {
    let subscription = match subscription {
        Ok(s) => s,
        Err(mut err) => loop {
            tracing::warn!(error = %err, "WebSocket events wait for the store");
            tokio::time::sleep(Duration::from_secs(1)).await;
            match hd.subscribe().await {
                Ok(s) => {
                    hub.start_at(s.after());
                    break s;
                }
                Err(e) => err = e,
            }
        },
    };
    // The events that arrived together are one batch: each conversation, ticket and
    // group their viewers need is read once for it, after all of them were written.
    let mut batches = subscription.ready_chunks(CATCH_UP_BATCH);
    while let Some(batch) = batches.next().await {
        let mut reads = ViewerReads::default();
        for item in batch {
            match item {
                Ok(e) => fan_out(&hub, &hd, &mut reads, e).await,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "the WebSocket dispatcher fell behind; reading the log"
                    );
                    catch_up(&hub, &hd).await;
                }
                Err(RecvError::Closed) => return,
            }
        }
    }
}

/// Fans out the log's events after the last one fanned out, up to the log's end.
async fn catch_up(hub: &Hub, hd: &Helpdesk) {
    let mut after = hub.dispatched();
    loop {
        match hd.events_after(Some(after), CATCH_UP_BATCH).await {
            Ok(batch) if batch.is_empty() => return,
            Ok(batch) => {
                let mut reads = ViewerReads::default();
                for e in batch {
                    after = e.id;
                    fan_out(hub, hd, &mut reads, Arc::new(e)).await;
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the event log");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Queues `e` on every socket whose user may see it, once, in log order.
/// `reads`: what resolving the viewers of its batch's earlier events read.
async fn fan_out(hub: &Hub, hd: &Helpdesk, reads: &mut ViewerReads, e: Arc<Event>) {
    // The sockets that may get it, taken with the mark of the last event fanned out
    // (a socket registered after this gets the event from the log, not live).
    let Some(sockets) = hub.claim(e.id) else {
        return;
    };
    if sockets.is_empty() {
        return;
    }
    let viewers = match hd.viewers_in(reads, &e).await {
        Ok(v) => v,
        Err(err) => {
            // The sockets miss this event; a client that resumes gets it from the log.
            tracing::warn!(error = %err, event = %e.id, "cannot resolve an event's viewers");
            return;
        }
    };
    // When the event names who may see it, only their sockets are looked at: a delivery
    // receipt for one sender need not look at a thousand sockets.
    let named: Option<Vec<Uuid>> = viewers.candidates().map(|users| {
        let mut users: Vec<Uuid> = users.collect();
        users.sort_unstable();
        users.dedup();
        users
    });
    let conns: Box<dyn Iterator<Item = &Arc<Conn>>> = match &named {
        Some(users) => Box::new(users.iter().filter_map(|u| sockets.get(u)).flatten()),
        None => Box::new(sockets.values().flatten()),
    };
    let mut fanned: Option<Arc<Fanned>> = None;
    for conn in conns {
        if viewers.includes(&conn.principal()) {
            let f = fanned.get_or_insert_with(|| Arc::new(Fanned::new(e.clone())));
            conn.push(Out::Event(f.clone()));
        }
    }
}
