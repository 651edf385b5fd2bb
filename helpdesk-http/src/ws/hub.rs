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
/// an ephemeral message (`typing`, `presence`).
pub(crate) enum Out {
    Event(Arc<Fanned>),
    Ephemeral(Arc<Ephemeral>),
}

/// An event and its `/api/ws` frame (Socket.IO sockets serialize the event themselves),
/// and the same for customers when they see less of it ([`Event::customer_view`]).
pub(crate) struct Fanned {
    event: Arc<Event>,
    frame: Utf8Bytes,
    customers: Option<(Arc<Event>, Utf8Bytes)>,
}

impl Fanned {
    pub(super) fn new(event: Arc<Event>) -> Self {
        let customers = event.customer_view().map(|seen| {
            let frame = event_frame(&seen);
            (Arc::new(seen), frame)
        });
        Fanned {
            frame: event_frame(&event),
            event,
            customers,
        }
    }

    /// The event's id.
    pub(crate) fn id(&self) -> EventId {
        self.event.id
    }

    /// The event and its frame as `viewer` sees them.
    pub(crate) fn seen_by(&self, viewer: &Principal) -> (&Arc<Event>, &Utf8Bytes) {
        match &self.customers {
            Some((event, frame)) if !viewer.is_staff() => (event, frame),
            _ => (&self.event, &self.frame),
        }
    }
}

/// The JSON frame of a logged event: `{id, type, at, data}`.
pub(crate) fn event_frame(e: &Event) -> Utf8Bytes {
    json!({"id": e.id, "type": e.kind, "at": ts(e.at), "data": e.data})
        .to_string()
        .into()
}

/// An ephemeral message (`typing`, `presence`): not in the log, no id. Its `/api/ws`
/// frame is `{type, at, data}`, serialized once; Socket.IO emits the same object.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Ephemeral {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) at: String,
    pub(crate) data: serde_json::Value,
    #[serde(skip)]
    pub(crate) frame: Utf8Bytes,
}

impl Ephemeral {
    pub(crate) fn new(kind: &'static str, data: serde_json::Value) -> Self {
        let at = ts(chrono::Utc::now());
        let frame = json!({"type": kind, "at": at, "data": data})
            .to_string()
            .into();
        Ephemeral {
            kind,
            at,
            data,
            frame,
        }
    }
}

/// One open socket as the hub sees it, of either transport (`/api/ws` or Socket.IO).
pub(crate) struct Conn {
    id: u64,
    pub(crate) user_id: Uuid,
    /// Refreshed on every recheck (a role change applies to later events).
    principal: Mutex<Principal>,
    queue: mpsc::Sender<Out>,
    /// Wakes the connection's task to look at the flags below.
    pub(crate) wake: Notify,
    /// Its queue overflowed: close it.
    pub(crate) slow: AtomicBool,
    /// Check the session and the user again now.
    pub(crate) recheck: AtomicBool,
}

impl Conn {
    pub(crate) fn principal(&self) -> Principal {
        *self.principal.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_principal(&self, p: Principal) {
        *self.principal.lock().unwrap_or_else(|e| e.into_inner()) = p;
    }

    /// Queues a logged event without waiting; a full queue marks the connection slow
    /// (the client resumes from the log after reconnecting, so nothing is lost).
    pub(crate) fn push(&self, out: Out) {
        if self.queue.try_send(out).is_err() && !self.slow.swap(true, Ordering::AcqRel) {
            self.wake.notify_one();
        }
    }

    /// Queues an ephemeral frame if there is room: `typing` and `presence` are hints,
    /// and a burst of them (a thousand members of one group coming online) must not
    /// cost anyone their connection.
    fn offer(&self, ephemeral: Arc<Ephemeral>) {
        let _ = self.queue.try_send(Out::Ephemeral(ephemeral));
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

/// The open sockets by user, shared with the fan-out of one event as they were when
/// it was claimed (a change while one is shared copies them).
pub(super) type Sockets = Arc<HashMap<Uuid, Vec<Arc<Conn>>>>;

struct HubInner {
    by_user: Sockets,
    /// The last event fanned out: a connection registered now gets every later one.
    dispatched: EventId,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            inner: Mutex::new(HubInner {
                by_user: Sockets::default(),
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

    /// Adds a connection. Returns it, its queue, and the last event it will not get
    /// live.
    pub(crate) fn register(
        &self,
        p: Principal,
        queue: usize,
    ) -> (Arc<Conn>, mpsc::Receiver<Out>, EventId) {
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
        (Arc::make_mut(&mut g.by_user).entry(p.user_id()))
            .or_default()
            .push(conn.clone());
        (conn, rx, g.dispatched)
    }

    /// Removes a connection.
    pub(crate) fn unregister(&self, conn: &Conn) {
        let mut g = self.lock();
        if !g.by_user.contains_key(&conn.user_id) {
            return;
        }
        let by_user = Arc::make_mut(&mut g.by_user);
        let Some(conns) = by_user.get_mut(&conn.user_id) else {
            return;
        };
        conns.retain(|c| c.id != conn.id);
        if conns.is_empty() {
            by_user.remove(&conn.user_id);
        }
    }

    /// Marks `event` as fanned out and returns the sockets open now, which may get it
    /// live (a socket registered after this gets it from the log); `None` when it was
    /// fanned out already.
    pub(super) fn claim(&self, event: EventId) -> Option<Sockets> {
        let mut g = self.lock();
        if event <= g.dispatched {
            return None;
        }
        g.dispatched = event;
        Some(g.by_user.clone())
    }

    /// The last event fanned out.
    pub(super) fn dispatched(&self) -> EventId {
        self.lock().dispatched
    }

    /// Queues `typing` or `presence` on every socket of these users open on this server,
    /// of both transports (`/api/ws` and Socket.IO): what the library's ephemeral channel
    /// told this server (see `ws::ephemeral::relay`).
    pub(crate) fn publish_ephemeral(
        &self,
        users: impl IntoIterator<Item = Uuid>,
        ephemeral: Ephemeral,
    ) {
        let ephemeral = Arc::new(ephemeral);
        let g = self.lock();
        for user in users {
            for conn in g.by_user.get(&user).into_iter().flatten() {
                conn.offer(ephemeral.clone());
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

    /// Records that `e`, written to a socket of `p`, delivered a message to them when
    /// it is a `message.created` of someone else (written in the background).
    pub(crate) fn pushed(&self, p: Principal, e: &Event) {
        if e.kind != helpdesk_core::event::EventKind::MessageCreated {
            return;
        }
        let m = &e.data["message"];
        let id = |v: &serde_json::Value| v.as_str().and_then(|s| Uuid::parse_str(s).ok());
        // A rule's message has no sender (`null`).
        let sender = id(&m["sender_id"]);
        if let (Some(conv), Some(seq)) = (id(&m["conversation_id"]), m["seq"].as_u64())
            && sender != Some(p.user_id())
        {
            self.deliveries.record(Pushed {
                principal: p,
                conversation_id: conv,
                seq,
                sender_id: sender,
            });
        }
    }

    /// Counts a connection that ended, by its metrics label.
    pub(crate) fn ended(&self, reason: &'static str) {
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
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(task);
    }

    /// Watches for [`Hub::close_all`].
    pub(crate) fn closing(&self) -> watch::Receiver<bool> {
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
