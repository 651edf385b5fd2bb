//! The hub: every open socket of this server process by user, what their queues carry,
//! ephemeral frames to some users' sockets, the shutdown signal, the connections' tasks
//! (so that shutdown can wait for them) and the metrics of ended connections.
//!
//! The hub knows no request and no server state: the server state holds it.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use helpdesk_core::event::{Event, EventId, ts};
use helpdesk_core::message::Pushed;
use helpdesk_core::{Helpdesk, Principal};
use serde_json::json;
use tokio::sync::{Notify, mpsc, watch};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use super::delivery::Deliveries;

/// What a connection's queue carries: a logged event (serialized once for everyone) or
/// an ephemeral frame (`typing`, `presence`).
pub(super) enum Out {
    Event(Arc<Fanned>),
    Frame(Utf8Bytes),
}

/// An event and its frame.
pub(super) struct Fanned {
    pub(super) event: Arc<Event>,
    pub(super) frame: Utf8Bytes,
}

impl Fanned {
    pub(super) fn new(event: Arc<Event>) -> Self {
        Fanned {
            frame: event_frame(&event),
            event,
        }
    }
}

/// The JSON frame of a logged event: `{id, type, at, data}`.
pub(super) fn event_frame(e: &Event) -> Utf8Bytes {
    json!({"id": e.id, "type": e.kind, "at": ts(e.at), "data": e.data})
        .to_string()
        .into()
}

/// One open socket as the hub sees it.
pub(super) struct Conn {
    id: u64,
    pub(super) user_id: Uuid,
    /// Refreshed on every recheck (a role change applies to later events).
    principal: Mutex<Principal>,
    queue: mpsc::Sender<Out>,
    /// Wakes the connection's task to look at the flags below.
    pub(super) wake: Notify,
    /// Its queue overflowed: close it.
    pub(super) slow: AtomicBool,
    /// Check the session and the user again now.
    pub(super) recheck: AtomicBool,
}

impl Conn {
    pub(super) fn principal(&self) -> Principal {
        *self.principal.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn set_principal(&self, p: Principal) {
        *self.principal.lock().unwrap_or_else(|e| e.into_inner()) = p;
    }

    /// Queues a logged event without waiting; a full queue marks the connection slow
    /// (the client resumes from the log after reconnecting, so nothing is lost).
    pub(super) fn push(&self, out: Out) {
        if self.queue.try_send(out).is_err() && !self.slow.swap(true, Ordering::AcqRel) {
            self.wake.notify_one();
        }
    }

    /// Queues an ephemeral frame if there is room: `typing` and `presence` are hints,
    /// and a burst of them (a thousand members of one group coming online) must not
    /// cost anyone their connection.
    fn offer(&self, frame: Utf8Bytes) {
        let _ = self.queue.try_send(Out::Frame(frame));
    }
}

/// Every socket of this server process, by user.
pub struct Hub {
    inner: Mutex<HubInner>,
    deliveries: Deliveries,
    next_id: AtomicU64,
    closing: watch::Sender<bool>,
    /// The connections' tasks, from the upgrade to the close frame.
    tasks: TaskTracker,
    /// Connections ended, by reason (the metrics label).
    ended: Mutex<BTreeMap<&'static str, u64>>,
}

struct HubInner {
    by_user: HashMap<Uuid, Vec<Arc<Conn>>>,
    /// The last event fanned out: a connection registered now gets every later one.
    dispatched: EventId,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            inner: Mutex::new(HubInner {
                by_user: HashMap::new(),
                dispatched: EventId(0),
            }),
            deliveries: Deliveries::default(),
            next_id: AtomicU64::new(1),
            closing: watch::Sender::new(false),
            tasks: TaskTracker::new(),
            ended: Mutex::default(),
        }
    }
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, HubInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many sockets are open.
    pub fn connections(&self) -> usize {
        self.lock().by_user.values().map(Vec::len).sum()
    }

    /// Adds a connection. Returns it, its queue, the last event it will not get live,
    /// and whether it is the user's first socket (they just came online).
    pub(super) fn register(
        &self,
        p: Principal,
        queue: usize,
    ) -> (Arc<Conn>, mpsc::Receiver<Out>, EventId, bool) {
        let (tx, rx) = mpsc::channel(queue.max(1));
        let conn = Arc::new(Conn {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            user_id: p.user_id(),
            principal: Mutex::new(p),
            queue: tx,
            wake: Notify::new(),
            slow: AtomicBool::new(false),
            recheck: AtomicBool::new(false),
        });
        let mut g = self.lock();
        let conns = g.by_user.entry(p.user_id()).or_default();
        conns.push(conn.clone());
        let first = conns.len() == 1;
        (conn, rx, g.dispatched, first)
    }

    /// Removes a connection; true when it was the user's last (they went offline).
    pub(super) fn unregister(&self, conn: &Conn) -> bool {
        let mut g = self.lock();
        let Some(conns) = g.by_user.get_mut(&conn.user_id) else {
            return false;
        };
        conns.retain(|c| c.id != conn.id);
        let last = conns.is_empty();
        if last {
            g.by_user.remove(&conn.user_id);
        }
        last
    }

    /// Marks `event` as fanned out and returns the sockets open now, which may get it
    /// live (a socket registered after this gets it from the log); `None` when it was
    /// fanned out already.
    pub(super) fn claim(&self, event: EventId) -> Option<Vec<Arc<Conn>>> {
        let mut g = self.lock();
        if event <= g.dispatched {
            return None;
        }
        g.dispatched = event;
        Some(g.by_user.values().flatten().cloned().collect())
    }

    /// The last event fanned out.
    pub(super) fn dispatched(&self) -> EventId {
        self.lock().dispatched
    }

    /// Queues an ephemeral frame on every socket of these users.
    pub(super) fn send_to_users(&self, users: impl IntoIterator<Item = Uuid>, frame: &Utf8Bytes) {
        let g = self.lock();
        for user in users {
            for conn in g.by_user.get(&user).into_iter().flatten() {
                conn.offer(frame.clone());
            }
        }
    }

    /// Makes every socket of a user check its session and account now (after a logout,
    /// a deactivation, a role or password change on this server; other servers' sockets
    /// notice at their next ping).
    pub fn recheck_user(&self, user_id: Uuid) {
        for conn in self.lock().by_user.get(&user_id).into_iter().flatten() {
            conn.recheck.store(true, Ordering::Release);
            conn.wake.notify_one();
        }
    }

    /// Records that a message was pushed to a member (written in the background).
    pub(super) fn delivered(&self, pushed: Pushed) {
        self.deliveries.record(pushed);
    }

    /// Counts a connection that ended, by its metrics label.
    pub(super) fn ended(&self, reason: &'static str) {
        *self
            .ended
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(reason)
            .or_default() += 1;
    }

    /// The WebSocket part of `/metrics`: open connections, and ended ones by reason.
    pub fn render_metrics(&self) -> String {
        use std::fmt::Write;
        let mut out = String::from(
            "# HELP helpdesk_websocket_connections Open WebSocket connections.\n\
             # TYPE helpdesk_websocket_connections gauge\n",
        );
        let _ = writeln!(out, "helpdesk_websocket_connections {}", self.connections());
        out.push_str(
            "# HELP helpdesk_websocket_closed_total WebSocket connections ended, by reason.\n\
             # TYPE helpdesk_websocket_closed_total counter\n",
        );
        for (reason, n) in self.ended.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(
                out,
                "helpdesk_websocket_closed_total{{reason=\"{reason}\"}} {n}"
            );
        }
        out
    }

    /// Starts the background work the hub needs (delivery records).
    pub(crate) fn start(&self, hd: &Helpdesk) {
        self.deliveries.start(hd.clone());
    }

    /// Sets where live fan-out starts: the log's end when the dispatcher subscribed.
    pub(crate) fn start_at(&self, after: Option<EventId>) {
        self.lock().dispatched = after.unwrap_or(EventId(0));
    }

    /// Runs a connection's task, tracked so that shutdown can wait for it.
    pub(super) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(task);
    }

    /// Watches for [`Hub::close_all`].
    pub(super) fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Closes every socket (1001, going away): the server is stopping.
    pub fn close_all(&self) {
        self.deliveries.stop();
        self.closing.send_replace(true);
    }

    /// Waits for every connection's task to end (after [`Hub::close_all`], they send
    /// their close frames and end). A task started after this returned is not waited
    /// for: await it once no HTTP connection, where upgrades start, is left.
    pub(crate) async fn closed(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}
