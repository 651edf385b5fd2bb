//! This instance on the ephemeral channel: `typing` relayed to a conversation's other
//! members and `presence` to a user's contacts, on every instance sharing the store.
//! The server tells [`Ephemeral`] when its sockets open and close and turns its
//! [`Notice`]s into frames; what a notice says and whom it is for is decided here.

use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::Helpdesk;
use crate::ephemeral::{PresenceChange, Roster, Signal};
use crate::error::Result;
use crate::principal::Principal;
use crate::scope::{Scope, Scopes};

/// A hint for this instance's sockets: what happened, and which of the users with a
/// socket open here should hear of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Who should get it (each has a socket open on this instance).
    pub recipients: Vec<Uuid>,
    /// What happened.
    pub kind: NoticeKind,
}

/// What a [`Notice`] tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// `user_id` is typing in `conversation_id` (to its other members).
    Typing {
        /// The conversation.
        conversation_id: Uuid,
        /// Who types.
        user_id: Uuid,
    },
    /// `user_id` came online or went offline (to the users who share a conversation with
    /// them).
    Presence {
        /// Who.
        user_id: Uuid,
        /// Online now, or offline now.
        online: bool,
    },
}

/// This instance's membership of the ephemeral channel, from
/// [`Helpdesk::ephemeral`]: its roster, its heartbeat, and the notices for its sockets.
pub struct Ephemeral {
    /// The helpdesk, while it lives (the handle must not keep it alive).
    hd: Box<dyn Fn() -> Option<Helpdesk> + Send + Sync>,
    roster: Mutex<Roster>,
    notices: broadcast::Sender<Notice>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Ephemeral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ephemeral")
            .field("roster", &*self.roster())
            .finish_non_exhaustive()
    }
}

impl Helpdesk {
    /// Joins this instance to the ephemeral channel, once (later calls return the same
    /// handle): listens to the store's signals, says hello so that it learns who is
    /// online elsewhere, and beats every [`Config::instance_heartbeat`](crate::Config)
    /// while the helpdesk lives.
    pub async fn ephemeral(&self) -> Result<Arc<Ephemeral>> {
        let joined = self
            .inner
            .ephemeral
            .get_or_try_init(|| async {
                let signals = self.st().subscribe_signals().await?;
                let me = crate::clock::new_id();
                let weak = Arc::downgrade(&self.inner);
                let eph = Arc::new(Ephemeral {
                    hd: Box::new(move || weak.upgrade().map(|inner| Helpdesk { inner })),
                    roster: Mutex::new(Roster::new(me)),
                    notices: broadcast::channel(1024).0,
                    task: Mutex::new(None),
                });
                let task = tokio::spawn(listen(Arc::downgrade(&eph), signals));
                *eph.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
                self.st().publish(&Signal::Hello { instance: me }).await?;
                Ok::<_, crate::Error>(eph)
            })
            .await?;
        Ok(joined.clone())
    }
}

impl Ephemeral {
    fn helpdesk(&self) -> Option<Helpdesk> {
        (self.hd)()
    }

    fn roster(&self) -> MutexGuard<'_, Roster> {
        self.roster.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// This instance's id on the channel.
    pub fn instance(&self) -> Uuid {
        self.roster().me()
    }

    /// Notices for this instance's sockets, from now on. A receiver that falls more than
    /// a thousand behind loses the oldest: they are hints.
    pub fn notices(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    /// Whether `user_id` has a socket open on a live instance.
    pub fn is_online(&self, user_id: Uuid) -> bool {
        self.roster().is_online(user_id)
    }

    /// A socket of `user_id` opened here: when it is their first anywhere, their
    /// contacts hear that they are online.
    pub async fn opened(&self, user_id: Uuid) {
        let (signal, change) = self.roster().opened(user_id);
        self.announce(signal, change).await;
    }

    /// A socket of `user_id` closed here: when it was their last anywhere, their
    /// contacts hear that they are offline.
    pub async fn closed(&self, user_id: Uuid) {
        let (signal, change) = self.roster().closed(user_id);
        self.announce(signal, change).await;
    }

    async fn announce(&self, signal: Option<Signal>, change: Option<PresenceChange>) {
        let Some(hd) = self.helpdesk() else { return };
        if let Some(signal) = signal {
            publish(&hd, &signal).await;
        }
        if let Some(change) = change {
            self.tell_contacts(&hd, change).await;
        }
    }

    /// Relays that `p` is typing in `conversation_id` to its other members, on every
    /// instance. `InsufficientScope` through an API key without `messages:write`;
    /// `NotFound` unless `p` may read the conversation.
    pub async fn typing(&self, p: &Principal, conversation_id: Uuid) -> Result<()> {
        p.require_scope(Scopes::one(Scope::MessagesWrite))?;
        let Some(hd) = self.helpdesk() else {
            return Ok(());
        };
        hd.readable_conversation(p, conversation_id).await?;
        let signal = Signal::Typing {
            conversation_id,
            user_id: p.user_id,
        };
        Ok(hd.st().publish(&signal).await?)
    }

    /// One heartbeat: tells the others this instance is alive and forgets the instances
    /// silent for three heartbeats (their users go offline unless connected elsewhere).
    /// The joined instance does this every heartbeat by itself; tests on a manual clock
    /// call it.
    pub async fn beat(&self) {
        let Some(hd) = self.helpdesk() else { return };
        let me = self.instance();
        publish(&hd, &Signal::Beat { instance: me }).await;
        let silent_for = hd.inner.config.instance_heartbeat * 3;
        let Ok(silent_for) = chrono::Duration::from_std(silent_for) else {
            return;
        };
        let changes = self.roster().expire(hd.now() - silent_for);
        for change in changes {
            self.tell_contacts(&hd, change).await;
        }
    }

    /// Leaves the channel (a server shutting down): the other instances take this one's
    /// users offline now instead of after three silent heartbeats.
    pub async fn leave(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
        if let Some(hd) = self.helpdesk() {
            let me = self.instance();
            publish(&hd, &Signal::Gone { instance: me }).await;
        }
    }

    async fn heard(&self, hd: &Helpdesk, signal: Signal) {
        if let Signal::Typing {
            conversation_id,
            user_id,
        } = signal
        {
            let conv = match hd.st().get_conversation(conversation_id).await {
                Ok(Some(conv)) => conv,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot relay typing");
                    return;
                }
            };
            // The other members with a socket here who may still read it (staff who
            // lost access to a ticket stay members of its conversation).
            let mut recipients = Vec::new();
            for m in conv.members.iter().filter(|m| m.user_id != user_id) {
                if self.roster().is_local(m.user_id)
                    && hd.user_may_read(m.user_id, &conv).await.unwrap_or(false)
                {
                    recipients.push(m.user_id);
                }
            }
            self.tell(
                recipients,
                NoticeKind::Typing {
                    conversation_id,
                    user_id,
                },
            );
            return;
        }
        let heard = self.roster().heard(&signal, hd.now());
        for reply in &heard.replies {
            publish(hd, reply).await;
        }
        for change in heard.changes {
            self.tell_contacts(hd, change).await;
        }
    }

    async fn tell_contacts(&self, hd: &Helpdesk, change: PresenceChange) {
        let here = |u: Uuid| self.roster().is_local(u);
        match hd.contacts(change.user_id, here).await {
            Ok(contacts) => self.tell(
                contacts,
                NoticeKind::Presence {
                    user_id: change.user_id,
                    online: change.online,
                },
            ),
            Err(e) => tracing::warn!(error = %e, "cannot announce presence"),
        }
    }

    /// Queues a notice for the `users` with a socket open here.
    fn tell(&self, users: impl IntoIterator<Item = Uuid>, kind: NoticeKind) {
        let recipients: Vec<Uuid> = {
            let roster = self.roster();
            users.into_iter().filter(|u| roster.is_local(*u)).collect()
        };
        if !recipients.is_empty() {
            let _ = self.notices.send(Notice { recipients, kind });
        }
    }
}

impl Drop for Ephemeral {
    fn drop(&mut self) {
        if let Some(task) = self
            .task
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            task.abort();
        }
    }
}

/// Publishes a hint; a failure is logged, not returned: hints may be lost.
async fn publish(hd: &Helpdesk, signal: &Signal) {
    if let Err(e) = hd.st().publish(signal).await {
        tracing::warn!(error = %e, "cannot publish on the ephemeral channel");
    }
}

/// The joined instance's task: applies what it hears and beats, until the helpdesk or
/// the handle is gone.
async fn listen(eph: Weak<Ephemeral>, mut signals: broadcast::Receiver<Signal>) {
    let every = match eph.upgrade().and_then(|e| e.helpdesk()) {
        Some(hd) => hd.inner.config.instance_heartbeat,
        None => return,
    };
    // A zero heartbeat (a misconfiguration) would stop the interval from ticking at all.
    let mut ticker = tokio::time::interval(every.max(std::time::Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            signal = signals.recv() => {
                let signal = match signal {
                    Ok(signal) => signal,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                let Some(eph) = eph.upgrade() else { return };
                let Some(hd) = eph.helpdesk() else { return };
                eph.heard(&hd, signal).await;
            }
            _ = ticker.tick() => {
                let Some(eph) = eph.upgrade() else { return };
                eph.beat().await;
            }
        }
    }
}
