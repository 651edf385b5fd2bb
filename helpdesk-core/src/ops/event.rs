//! The live event stream: the tailer that reads the log, subscriptions, replay after a
//! gap, and who may see an event.

use crate::Helpdesk;
use std::sync::Arc;

use crate::event::*;
use uuid::Uuid;

/// What `reads` keeps under `id`, else what `read` answers, then kept: one read per
/// batch of events ([`ViewerReads`]).
async fn kept<V: Clone, F: std::future::Future<Output = crate::Result<V>>>(
    reads: &mut std::collections::HashMap<Uuid, V>,
    id: Uuid,
    read: impl FnOnce() -> F,
) -> crate::Result<V> {
    if let Some(known) = reads.get(&id) {
        return Ok(known.clone());
    }
    let answer = read().await?;
    reads.insert(id, answer.clone());
    Ok(answer)
}

/// `ids` sorted, for binary search.
fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort_unstable();
    ids
}

/// How many events the tailer reads at a time.
const TAIL_BATCH: usize = 512;

/// The pause of the tailer after it read events, before it looks at the log again:
/// under load, the events of the writes made meanwhile are read together, not a look
/// per write (on PostgreSQL a look is a statement). An event reaches subscribers at
/// most this much later.
const TAIL_GAP: std::time::Duration = std::time::Duration::from_millis(1);

impl Helpdesk {
    /// Waits for a store write that may append events (its [`Effects`]), then wakes the
    /// live tailer so that subscribers get them at once. Every write with effects goes
    /// through here, and nothing else wakes the tailer.
    ///
    /// [`Effects`]: crate::event::Effects
    pub(crate) async fn written<T>(
        &self,
        write: impl std::future::Future<Output = crate::store::StoreResult<T>>,
    ) -> crate::Result<T> {
        let out = write.await?;
        self.inner.live.wake.notify_one();
        Ok(out)
    }

    /// A live stream of every event appended from now on, in id order. Filter with
    /// [`crate::Helpdesk::may_see`] before showing an event to a user. A receiver that
    /// falls behind gets `RecvError::Lagged` and should catch up with
    /// [`crate::Helpdesk::events_after`]. Must be called inside a tokio runtime.
    pub async fn subscribe(&self) -> crate::Result<Subscription> {
        // Join the broadcast before reading the log's end: every event after `floor`
        // is broadcast after this receiver exists, and the tailer may still be
        // broadcasting older ones, which `recv` skips.
        let rx = self.inner.live.sender.subscribe();
        self.start_tailer();
        // The tailer must have read its start before any later write: else an event
        // written now could lie behind it and never be broadcast. (A tailer gone with
        // its runtime drops the sender: no wait then.)
        let mut placed = self.inner.live.placed.clone();
        let _ = placed.wait_for(|placed| *placed).await;
        let floor = self.st().last_event_id().await?;
        Ok(Subscription::new(rx, floor))
    }

    /// A live stream of the events that `p` may see, in id order: [`Helpdesk::subscribe`]
    /// filtered with [`Helpdesk::may_see`] as each event arrives (so a member removed
    /// from a group stops seeing it at once). Falling behind yields
    /// `Err(LiveError::Lagged(n))`: catch up with [`Helpdesk::events_after`].
    pub async fn subscribe_as(
        &self,
        p: &crate::Principal,
    ) -> crate::Result<
        impl futures_util::Stream<Item = Result<Arc<Event>, LiveError>> + Send + 'static,
    > {
        use futures_util::StreamExt;
        let events = self.subscribe().await?;
        let (hd, p) = (self.clone(), *p);
        Ok(events.filter_map(move |item| {
            let hd = hd.clone();
            async move {
                match item {
                    Ok(e) => match hd.may_see(&p, &e).await {
                        Ok(true) => Some(Ok(e.seen_by(&p))),
                        Ok(false) => None,
                        Err(err) => Some(Err(LiveError::Check(err))),
                    },
                    Err(RecvError::Lagged(n)) => Some(Err(LiveError::Lagged(n))),
                    Err(RecvError::Closed) => None,
                }
            }
        }))
    }

    /// Starts the tailer once. [`crate::Helpdesk::new`] calls it when a runtime is
    /// running, so the tailer's starting point precedes any later write and the first
    /// subscriber misses nothing written after it subscribed.
    pub(crate) fn start_tailer(&self) {
        self.inner.live.started.call_once(|| {
            let weak = std::sync::Arc::downgrade(&self.inner);
            let wake = self.inner.live.wake.clone();
            let store = self.inner.store.clone();
            let sender = self.inner.live.sender.clone();
            let dropped = self.inner.dropped.clone();
            let place = self
                .inner
                .live
                .place
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            tokio::spawn(async move {
                let mut last = store.last_event_id().await.ok().flatten();
                if let Some(place) = place {
                    let _ = place.send(true);
                }
                loop {
                    if weak.strong_count() == 0 {
                        return;
                    }
                    match store.events_after(last, TAIL_BATCH).await {
                        Ok(events) if !events.is_empty() => {
                            let full = events.len() == TAIL_BATCH;
                            for e in events {
                                last = Some(e.id);
                                let _ = sender.send(std::sync::Arc::new(e));
                            }
                            if !full {
                                tokio::select! {
                                    _ = dropped.notified() => return,
                                    _ = tokio::time::sleep(TAIL_GAP) => {}
                                }
                            }
                            continue;
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "event tailer cannot read the log"),
                    }
                    tokio::select! {
                        _ = dropped.notified() => return,
                        _ = wake.notified() => {}
                        r = store.wait_for_external_events() => {
                            if r.is_err() {
                                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                            }
                        }
                        _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                    }
                }
            });
        });
    }

    /// Whether events after `after` were pruned ([`crate::Config::event_retention`]):
    /// a reader resuming there has missed some for good and must refetch (`resume_gap`).
    pub async fn resume_gap(&self, after: EventId) -> crate::Result<bool> {
        let through = self.st().events_pruned_through().await?;
        Ok(through.is_some_and(|through| after < through))
    }

    /// Prunes what the retention window ([`crate::Config::event_retention`]) no longer
    /// holds: events (except those webhook deliveries name) and read notifications.
    /// The bundled server runs it with the hourly sweep.
    pub async fn prune_retention(&self) -> crate::Result<Pruned> {
        let window = chrono::Duration::from_std(self.inner.config.event_retention)
            .unwrap_or(chrono::Duration::MAX);
        let before = self.now().checked_sub_signed(window).unwrap_or_default();
        Ok(Pruned {
            events: self.st().prune_events(before).await?,
            notifications: self.st().prune_read_notifications(before).await?,
        })
    }

    /// Events after `after` (all if `None`), in order, at most `limit`: what a
    /// reconnecting client missed. Filter with [`crate::Helpdesk::may_see`].
    pub async fn events_after(
        &self,
        after: Option<EventId>,
        limit: usize,
    ) -> crate::Result<Vec<Event>> {
        Ok(self.st().events_after(after, limit).await?)
    }

    /// Whether `viewer` may see `event` now (conversation clauses check membership at
    /// this moment, so a removed member stops seeing a group's events at once).
    pub async fn may_see(&self, viewer: &crate::Principal, event: &Event) -> crate::Result<bool> {
        Ok(self.viewers(event).await?.includes(viewer))
    }

    /// Who may see `event` now, resolved once (the conversation read once) to check
    /// many viewers, as a server fanning one event out to its sockets does.
    #[doc(hidden)] // a server's fan-out (helpdesk-http); embedders use subscribe_as
    pub async fn viewers<'e>(&self, event: &'e Event) -> crate::Result<Viewers<'e>> {
        self.viewers_in(&mut ViewerReads::default(), event).await
    }

    /// [`Helpdesk::viewers`] of one event of a batch, with what `reads` kept from the
    /// batch's earlier events: every event of the batch must have been written before
    /// `reads` was first used.
    #[doc(hidden)] // a server's fan-out and replay (helpdesk-http)
    pub async fn viewers_in<'e>(
        &self,
        reads: &mut ViewerReads,
        event: &'e Event,
    ) -> crate::Result<Viewers<'e>> {
        let a = &event.audience;
        let conversation = match a.conversation {
            Some(id) => {
                kept(&mut reads.conversations, id, || {
                    self.conversation_readers(id)
                })
                .await?
            }
            None => None,
        };
        // A ticket conversation's staff see it through the ticket's group, now; so do a
        // ticket's events, and its customers as they see it now.
        let ticket_id = a.ticket.or_else(|| conversation.as_ref()?.ticket_id);
        let ticket = match ticket_id {
            Some(id) => {
                let read = || async move { Ok(self.st().get_ticket(id).await?.map(Arc::new)) };
                kept(&mut reads.tickets, id, read).await?
            }
            None => None,
        };
        let ticket_customers = match (&ticket, a.ticket) {
            (Some(t), Some(_)) => {
                let read = || async { Ok(sorted(self.ticket_customers(t).await?).into()) };
                kept(&mut reads.ticket_customers, t.id, read).await?
            }
            _ => Arc::from([]),
        };
        let mut groups = a.groups.clone();
        groups.extend(ticket.as_ref().map(|t| t.group_id));
        let group_members = match groups.is_empty() {
            true => None,
            false => {
                let mut members = Vec::with_capacity(groups.len());
                for id in groups {
                    members.push(kept(&mut reads.groups, id, || self.group_readers(id)).await?);
                }
                Some(members)
            }
        };
        Ok(Viewers {
            kind: event.kind,
            audience: a,
            members: conversation.map(|c| c.members),
            group_members,
            ticket_customers,
        })
    }

    /// A conversation's readers; `None`: no such conversation.
    async fn conversation_readers(&self, id: Uuid) -> crate::Result<Option<ConversationReaders>> {
        let conversation = self.st().get_conversation(id).await?;
        Ok(conversation.map(|c| ConversationReaders {
            members: sorted(c.members.iter().map(|m| m.user_id).collect()).into(),
            ticket_id: c.ticket_id,
        }))
    }

    /// A group's members, sorted.
    async fn group_readers(&self, id: Uuid) -> crate::Result<Arc<[Uuid]>> {
        let members = self.st().group_members(id).await?;
        Ok(sorted(members.into_iter().map(|m| m.user_id).collect()).into())
    }

    /// Everyone among `candidates` who shares a conversation with `user_id` (not the
    /// user) that both may still read: who hears of their presence. (Staff who lost
    /// access to a ticket stay members of its conversation, which no longer makes them
    /// contacts.) A server passes the users with a socket on it, so that only those are
    /// checked.
    pub async fn contacts(
        &self,
        user_id: Uuid,
        candidates: impl Fn(Uuid) -> bool,
    ) -> crate::Result<std::collections::HashSet<Uuid>> {
        let mut contacts = std::collections::HashSet::new();
        for conv in self.st().member_conversations(user_id).await? {
            let others = conv
                .members
                .iter()
                .map(|m| m.user_id)
                .filter(|m| *m != user_id && !contacts.contains(m) && candidates(*m));
            let others: Vec<Uuid> = others.collect();
            if others.is_empty() {
                continue;
            }
            if conv.ticket_id.is_none() {
                contacts.extend(others);
                continue;
            }
            if !self.user_may_read(user_id, &conv).await? {
                continue;
            }
            for m in others {
                if self.user_may_read(m, &conv).await? {
                    contacts.insert(m);
                }
            }
        }
        Ok(contacts)
    }
}
