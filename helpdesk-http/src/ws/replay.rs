//! `resume` for both transports: which logged events a socket gets from the log and
//! which from its queue, so that it misses none and gets none twice.

use helpdesk_core::event::{Event, EventId, ViewerReads};
use helpdesk_core::{Helpdesk, Principal};

/// Events read from the log at a time by `resume`.
const REPLAY_BATCH: usize = 256;

/// One socket's place between the log and its queue.
pub(crate) struct Replay {
    /// Events up to this id were not queued for this socket (they precede it).
    live_from: EventId,
    /// The newest event taken from the queue.
    last_live: Option<EventId>,
    /// Events up to this id were already replayed: skip them in the queue.
    replayed_to: EventId,
}

impl Replay {
    /// A socket whose queue gets the events after `live_from`.
    pub(crate) fn new(live_from: EventId) -> Self {
        Replay {
            live_from,
            last_live: None,
            replayed_to: EventId(0),
        }
    }

    /// Notes an event taken from the queue; false when a replay already sent it.
    pub(crate) fn live(&mut self, id: EventId) -> bool {
        self.last_live = Some(id);
        id > self.replayed_to
    }

    /// Where a replay of the events after `after` starts reading.
    pub(crate) fn start(&self, after: EventId) -> EventId {
        after.max(self.replayed_to)
    }

    /// The next events after `cursor` that `p` may see and this socket did not get
    /// from its queue, in order, advancing `cursor`; `None` at the log's end (the
    /// queue then goes on without duplicates).
    pub(crate) async fn batch(
        &mut self,
        hd: &Helpdesk,
        p: &Principal,
        cursor: &mut EventId,
    ) -> helpdesk_core::Result<Option<Vec<Event>>> {
        let batch = hd.events_after(Some(*cursor), REPLAY_BATCH).await?;
        if batch.is_empty() {
            self.replayed_to = *cursor;
            return Ok(None);
        }
        let mut out = Vec::new();
        let mut reads = ViewerReads::default();
        for e in batch {
            *cursor = e.id;
            // Events in (live_from, last_live] already went through the queue.
            if e.id > self.live_from && self.last_live.is_some_and(|hi| e.id <= hi) {
                continue;
            }
            let seen = hd.viewers_in(&mut reads, &e).await;
            if seen.is_ok_and(|viewers| viewers.includes(p)) {
                out.push(match p.is_staff() {
                    true => e,
                    false => e.customer_view().unwrap_or(e),
                });
            }
        }
        Ok(Some(out))
    }
}
