//! The real-time WebSocket, `GET /api/ws`: events from the log to the sockets of the
//! users who may see them, `typing` and `presence` between connected users, `resume`
//! from the log, pings both ways.
//!
//! One dispatcher per server reads the library's live stream, resolves each event's
//! viewers once and queues the event, serialized once, on every connection that may
//! see it. Each connection's task writes its own queue to its socket. The queue is
//! bounded: when it is full (a client that stopped reading) that connection is closed
//! and nobody else waits for it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use helpdesk_core::event::{Event, EventId, ts};
use helpdesk_core::message::Pushed;
use helpdesk_core::{Helpdesk, Principal};
use http::{HeaderValue, StatusCode, header};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Notify, mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::request::Ctx;
use crate::response::empty;
use crate::state::AppState;

/// How long one frame may take to reach a client before the connection is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The smallest pause between two `typing` relays of one connection for one conversation.
const TYPING_EVERY: Duration = Duration::from_secs(1);
/// Events read from the log at a time by `resume`.
const REPLAY_BATCH: usize = 256;
/// The largest frame and message a client may send; a larger one closes the socket
/// with 1009 (the reason in [`End::close_frame`] names this size).
const MAX_CLIENT_FRAME: usize = 64 * 1024;

type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// What a connection's queue carries: a logged event (serialized once for everyone) or
/// an ephemeral frame (`typing`, `presence`).
enum Out {
    Event(Arc<Fanned>),
    Frame(Utf8Bytes),
}

/// An event and its frame.
struct Fanned {
    event: Arc<Event>,
    frame: Utf8Bytes,
}

/// The JSON frame of a logged event: `{id, type, at, data}`.
fn event_frame(e: &Event) -> Utf8Bytes {
    json!({"id": e.id, "type": e.kind, "at": ts(e.at), "data": e.data})
        .to_string()
        .into()
}

/// The JSON frame of an ephemeral message (no id: it is not in the log).
fn ephemeral_frame(kind: &str, data: Value) -> Utf8Bytes {
    json!({"type": kind, "at": ts(chrono::Utc::now()), "data": data})
        .to_string()
        .into()
}

/// One open socket as the hub sees it.
struct Conn {
    id: u64,
    user_id: Uuid,
    /// Refreshed on every recheck (a role change applies to later events).
    principal: Mutex<Principal>,
    queue: mpsc::Sender<Out>,
    /// Wakes the connection's task to look at the flags below.
    wake: Notify,
    /// Its queue overflowed: close it.
    slow: AtomicBool,
    /// Check the session and the user again now.
    recheck: AtomicBool,
}

impl Conn {
    fn principal(&self) -> Principal {
        *self.principal.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a logged event without waiting; a full queue marks the connection slow
    /// (the client resumes from the log after reconnecting, so nothing is lost).
    fn push(&self, out: Out) {
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
    /// Connections ended, by [`End::label`].
    ended: Mutex<std::collections::BTreeMap<&'static str, u64>>,
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
            ended: Mutex::default(),
        }
    }
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HubInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many sockets are open.
    pub fn connections(&self) -> usize {
        self.lock().by_user.values().map(Vec::len).sum()
    }

    /// Adds a connection. Returns it, its queue, the last event it will not get live,
    /// and whether it is the user's first socket (they just came online).
    fn register(
        &self,
        p: Principal,
        queue: usize,
    ) -> (Arc<Conn>, mpsc::Receiver<Out>, EventId, bool) {
        let (tx, rx) = mpsc::channel(queue.max(1));
        let conn = Arc::new(Conn {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            user_id: p.user_id,
            principal: Mutex::new(p),
            queue: tx,
            wake: Notify::new(),
            slow: AtomicBool::new(false),
            recheck: AtomicBool::new(false),
        });
        let mut g = self.lock();
        let conns = g.by_user.entry(p.user_id).or_default();
        conns.push(conn.clone());
        let first = conns.len() == 1;
        (conn, rx, g.dispatched, first)
    }

    /// Removes a connection; true when it was the user's last (they went offline).
    fn unregister(&self, conn: &Conn) -> bool {
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

    /// Queues an ephemeral frame on every socket of these users.
    fn send_to_users(&self, users: impl IntoIterator<Item = Uuid>, frame: &Utf8Bytes) {
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

    fn ended(&self, end: End) {
        *self
            .ended
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(end.label())
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

    /// Closes every socket (1001, going away): the server is stopping.
    pub fn close_all(&self) {
        self.deliveries.stop();
        self.closing.send_replace(true);
    }

    /// Queues `e` on every socket whose user may see it, once, in log order.
    async fn fan_out(&self, hd: &Helpdesk, e: Arc<Event>) {
        // The sockets that may get it, taken with the mark of the last event fanned out
        // (a socket registered after this gets the event from the log, not live).
        let conns: Vec<Arc<Conn>> = {
            let mut g = self.lock();
            if e.id <= g.dispatched {
                return;
            }
            g.dispatched = e.id;
            g.by_user.values().flatten().cloned().collect()
        };
        if conns.is_empty() {
            return;
        }
        let viewers = match hd.viewers(&e).await {
            Ok(v) => v,
            Err(err) => {
                // The sockets miss this event; a client that resumes gets it from the log.
                tracing::warn!(error = %err, event = %e.id, "cannot resolve an event's viewers");
                return;
            }
        };
        // When the event names who may see it, the other sockets are skipped unchecked:
        // a delivery receipt for one sender need not look at a thousand sockets.
        let candidates: Option<std::collections::HashSet<Uuid>> =
            viewers.candidates().map(|users| users.collect());
        let mut fanned: Option<Arc<Fanned>> = None;
        for conn in conns {
            if candidates
                .as_ref()
                .is_some_and(|c| !c.contains(&conn.user_id))
            {
                continue;
            }
            if viewers.includes(&conn.principal()) {
                let f = fanned.get_or_insert_with(|| {
                    Arc::new(Fanned {
                        frame: event_frame(&e),
                        event: e.clone(),
                    })
                });
                conn.push(Out::Event(f.clone()));
            }
        }
    }
}

/// Records deliveries in the background, behind the frames: a message to a group of N
/// is N deliveries, and writing them must not delay the pushes. Pending deliveries of
/// one member in one conversation collapse into the highest; those of one conversation
/// are one write.
#[derive(Default)]
struct Deliveries {
    tx: std::sync::OnceLock<mpsc::UnboundedSender<Pushed>>,
    task: std::sync::OnceLock<tokio::task::AbortHandle>,
}

impl Deliveries {
    fn start(&self, hd: Helpdesk) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Pushed>();
        if self.tx.set(tx).is_err() {
            return;
        }
        let task = tokio::spawn(async move {
            let mut pending: HashMap<(Uuid, Uuid), Pushed> = HashMap::new();
            while let Some(first) = rx.recv().await {
                let mut next = Some(first);
                while let Some(p) = next {
                    let key = (p.principal.user_id, p.conversation_id);
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

    fn stop(&self) {
        if let Some(task) = self.task.get() {
            task.abort();
        }
    }

    fn record(&self, pushed: Pushed) {
        if let Some(tx) = self.tx.get() {
            let _ = tx.send(pushed);
        }
    }
}

/// Fans the library's live events out to the hub's sockets until the stream ends.
/// `subscription` is taken before the server accepts its first connection; when the
/// store did not answer then, it is retried every second.
pub(crate) async fn dispatch(
    hd: Helpdesk,
    hub: Arc<Hub>,
    subscription: helpdesk_core::Result<helpdesk_core::event::Subscription>,
) {
    let mut subscription = match subscription {
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
    loop {
        match subscription.recv().await {
            Ok(e) => hub.fan_out(&hd, e).await,
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "the WebSocket dispatcher fell behind; reading the log"
                );
                let mut after = hub.lock().dispatched;
                loop {
                    match hd.events_after(Some(after), REPLAY_BATCH).await {
                        Ok(batch) if batch.is_empty() => break,
                        Ok(batch) => {
                            for e in batch {
                                after = e.id;
                                hub.fan_out(&hd, Arc::new(e)).await;
                            }
                        }
                        Err(err) => {
                            tracing::warn!(error = %err, "cannot read the event log");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// Small buffers: most sockets are idle, and the frames are small.
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(Some(MAX_CLIENT_FRAME))
        .max_frame_size(Some(MAX_CLIENT_FRAME))
}

fn header_has_token(ctx: &Ctx, name: header::HeaderName, token: &str) -> bool {
    ctx.parts
        .headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// `GET /api/ws`: checks the token (header or `?token=`), the `Origin` and the upgrade,
/// answers 101 and runs the connection in its own task.
pub async fn connect(mut ctx: Ctx) -> ApiResult {
    let state = ctx.state.clone();
    let p = match (
        ctx.parts.headers.contains_key(header::AUTHORIZATION),
        ctx.query.text("token"),
    ) {
        (false, Some(token)) => state.hd.authenticate(&token).await?,
        _ => ctx.principal().await?,
    };
    let origins = &state.config.ws_origins;
    if !origins.is_empty()
        && let Some(origin) = ctx.parts.headers.get(header::ORIGIN)
        && !origins.iter().any(|o| o.as_bytes() == origin.as_bytes())
    {
        return Err(ApiError::forbidden("this Origin may not open WebSockets"));
    }
    let key = ctx.parts.headers.get(header::SEC_WEBSOCKET_KEY).cloned();
    let valid = header_has_token(&ctx, header::CONNECTION, "upgrade")
        && header_has_token(&ctx, header::UPGRADE, "websocket")
        && ctx
            .parts
            .headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_some_and(|v| v == "13");
    let on_upgrade = ctx.parts.extensions.remove::<OnUpgrade>();
    let (Some(key), Some(on_upgrade), true) = (key, on_upgrade, valid) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_upgrade",
            "a WebSocket upgrade needs Connection: Upgrade, Upgrade: websocket, \
             Sec-WebSocket-Version: 13 and Sec-WebSocket-Key",
        ));
    };
    let accept = derive_accept_key(key.as_bytes());
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let socket = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(socket_config()),
                )
                .await;
                run(state, p, socket).await;
            }
            Err(e) => tracing::debug!(error = %e, "WebSocket upgrade failed"),
        }
    });
    let mut resp = empty(StatusCode::SWITCHING_PROTOCOLS);
    let h = resp.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    Ok(resp)
}

/// Why a connection ends.
#[derive(Debug, Clone, Copy)]
enum End {
    /// The server is stopping (1001).
    Shutdown,
    /// Its queue overflowed: the client does not read fast enough (1013).
    Slow,
    /// The session ended or the user was deactivated (1008).
    Revoked,
    /// No frame, not even a pong, for two ping intervals.
    Silent,
    /// A frame or message over the size limit (1009).
    TooBig,
    /// The client closed it, or the connection broke.
    Left,
}

impl End {
    /// The close frame to send, if any (a silent or departed peer gets none).
    fn close_frame(self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            End::Shutdown => (CloseCode::Away, "the server is stopping"),
            End::Slow => (CloseCode::Again, "too slow: the event queue is full"),
            End::Revoked => (CloseCode::Policy, "the session has ended"),
            End::TooBig => (CloseCode::Size, "frames are at most 64 KiB"),
            End::Silent | End::Left => return None,
        };
        Some(CloseFrame {
            code,
            reason: reason.into(),
        })
    }

    /// The metrics label.
    fn label(self) -> &'static str {
        match self {
            End::Shutdown => "shutdown",
            End::Slow => "slow",
            End::Revoked => "revoked",
            End::Silent => "silent",
            End::TooBig => "too_big",
            End::Left => "left",
        }
    }
}

/// One connection's state in its task.
struct Session {
    state: Arc<AppState>,
    conn: Arc<Conn>,
    sink: SplitSink<Socket, Message>,
    /// Events up to this id were not queued for this socket (they precede it).
    live_from: EventId,
    /// The newest event taken from the queue.
    last_live: Option<EventId>,
    /// Events up to this id were already replayed by `resume`: skip them in the queue.
    replayed_to: EventId,
    typing: HashMap<Uuid, Instant>,
}

async fn run(state: Arc<AppState>, p: Principal, socket: Socket) {
    let hub = state.hub.clone();
    let (conn, queue, live_from, first) = hub.register(p, state.config.ws_queue);
    if first {
        announce_presence(&state, p.user_id, true).await;
    }
    let (sink, stream) = socket.split();
    let mut session = Session {
        state: state.clone(),
        conn: conn.clone(),
        sink,
        live_from,
        last_live: None,
        replayed_to: EventId(0),
        typing: HashMap::new(),
    };
    let end = session.serve(stream, queue).await;
    let last = hub.unregister(&conn);
    hub.ended(end);
    if let Some(frame) = end.close_frame() {
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            session.sink.send(Message::Close(Some(frame))),
        )
        .await;
    }
    if last {
        announce_presence(&state, p.user_id, false).await;
    }
}

/// Tells the connected users who share a conversation with `user_id` that they came
/// online or went offline.
async fn announce_presence(state: &AppState, user_id: Uuid, online: bool) {
    match state.hd.contacts(user_id).await {
        Ok(contacts) => {
            let frame = ephemeral_frame("presence", json!({"user_id": user_id, "online": online}));
            state.hub.send_to_users(contacts, &frame);
        }
        Err(e) => tracing::warn!(error = %e, "cannot announce presence"),
    }
}

/// A frame could not be written: the connection is over.
struct Gone;

impl Session {
    fn hd(&self) -> &Helpdesk {
        &self.state.hd
    }

    async fn serve(
        &mut self,
        mut stream: SplitStream<Socket>,
        mut queue: mpsc::Receiver<Out>,
    ) -> End {
        let interval = self.state.config.ws_ping_interval;
        let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut heard = Instant::now();
        let mut closing = self.state.hub.closing.subscribe();
        loop {
            tokio::select! {
                biased;
                _ = async { let _ = closing.wait_for(|c| *c).await; } => {
                    return End::Shutdown;
                }
                _ = self.conn.wake.notified() => {
                    if self.conn.slow.load(Ordering::Acquire) {
                        return End::Slow;
                    }
                    if self.conn.recheck.swap(false, Ordering::AcqRel) && !self.recheck().await {
                        return End::Revoked;
                    }
                }
                frame = stream.next() => {
                    let frame = match frame {
                        Some(Ok(frame)) => frame,
                        // Over `max_frame_size` or `max_message_size`: tungstenite
                        // stops reading, the close frame says why.
                        Some(Err(WsError::Capacity(_))) => return End::TooBig,
                        Some(Err(_)) | None => return End::Left,
                    };
                    heard = Instant::now();
                    let done = match frame {
                        Message::Text(text) => self.client_frame(&text).await,
                        Message::Binary(_) => self.error("invalid_frame", "frames are JSON text").await,
                        Message::Close(_) => return End::Left,
                        // tungstenite answers pings itself; pongs only show liveness.
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(()),
                    };
                    if done.is_err() {
                        return self.gone();
                    }
                }
                out = queue.recv() => {
                    let Some(out) = out else { return End::Left };
                    if self.deliver(out).await.is_err() {
                        return self.gone();
                    }
                }
                _ = ping.tick() => {
                    if heard.elapsed() > interval * 2 {
                        return End::Silent;
                    }
                    if !self.recheck().await {
                        return End::Revoked;
                    }
                    if self.send(Message::Ping(Default::default())).await.is_err() {
                        return self.gone();
                    }
                }
            }
        }
    }

    /// Why a write failed: the queue overflowed meanwhile, or the peer is gone.
    fn gone(&self) -> End {
        if self.conn.slow.load(Ordering::Acquire) {
            End::Slow
        } else {
            End::Left
        }
    }

    /// Checks the session and the account again; false when they no longer hold.
    async fn recheck(&mut self) -> bool {
        let p = self.conn.principal();
        match self.hd().recheck(&p).await {
            Ok(fresh) => {
                *self
                    .conn
                    .principal
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = fresh;
                true
            }
            Err(helpdesk_core::Error::Store(e)) => {
                // The store is unreachable: keep the socket, try again at the next ping.
                tracing::warn!(error = %e, "cannot recheck a WebSocket session");
                true
            }
            Err(_) => false,
        }
    }

    /// Writes a frame within [`WRITE_TIMEOUT`]; gives up at once when the connection
    /// is marked slow meanwhile (a client that stopped reading blocks the write).
    async fn send(&mut self, msg: Message) -> Result<(), Gone> {
        let conn = self.conn.clone();
        let write = tokio::time::timeout(WRITE_TIMEOUT, self.sink.send(msg));
        tokio::pin!(write);
        let mut rewake = false;
        let result = loop {
            tokio::select! {
                r = &mut write => break match r {
                    Ok(Ok(())) => Ok(()),
                    _ => Err(Gone),
                },
                _ = conn.wake.notified() => {
                    if conn.slow.load(Ordering::Acquire) {
                        break Err(Gone);
                    }
                    // A recheck: the main loop takes it after this write.
                    rewake = true;
                }
            }
        };
        if rewake {
            conn.wake.notify_one();
        }
        result
    }

    async fn error(&mut self, code: &str, detail: &str) -> Result<(), Gone> {
        let frame = json!({"type": "error", "code": code, "detail": detail}).to_string();
        self.send(Message::text(frame)).await
    }

    /// Writes an item of the queue.
    async fn deliver(&mut self, out: Out) -> Result<(), Gone> {
        match out {
            Out::Frame(frame) => self.send(Message::Text(frame)).await,
            Out::Event(f) => {
                self.last_live = Some(f.event.id);
                if f.event.id <= self.replayed_to {
                    return Ok(());
                }
                self.send_event(&f.event, f.frame.clone()).await
            }
        }
    }

    /// Writes an event; a message pushed to a member counts as delivered to them.
    async fn send_event(&mut self, e: &Event, frame: Utf8Bytes) -> Result<(), Gone> {
        self.send(Message::Text(frame)).await?;
        if e.kind == "message.created" {
            let m = &e.data["message"];
            let me = self.conn.user_id;
            let id = |v: &Value| v.as_str().and_then(|s| Uuid::parse_str(s).ok());
            if let (Some(conv), Some(seq), Some(sender)) = (
                id(&m["conversation_id"]),
                m["seq"].as_u64(),
                id(&m["sender_id"]),
            ) && sender != me
            {
                self.state.hub.deliveries.record(Pushed {
                    principal: self.conn.principal(),
                    conversation_id: conv,
                    seq,
                    sender_id: sender,
                });
            }
        }
        Ok(())
    }

    /// Handles a client frame: `ping`, `typing`, `resume`.
    async fn client_frame(&mut self, text: &str) -> Result<(), Gone> {
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return self.error("invalid_frame", "frames are JSON objects").await;
        };
        match v["type"].as_str() {
            Some("ping") => {
                self.send(Message::text(json!({"type": "pong"}).to_string()))
                    .await
            }
            Some("typing") => {
                let Some(id) = v["conversation_id"]
                    .as_str()
                    .and_then(|s| Uuid::parse_str(s).ok())
                else {
                    return self
                        .error("invalid_frame", "typing needs a conversation_id (a UUID)")
                        .await;
                };
                self.typing(id).await
            }
            Some("resume") => {
                let Some(after) = v["after"].as_str().and_then(|s| s.parse::<EventId>().ok())
                else {
                    return self
                        .error("invalid_frame", "resume needs `after`, an event id")
                        .await;
                };
                self.replay(after).await
            }
            _ => {
                self.error("invalid_frame", "type must be ping, typing or resume")
                    .await
            }
        }
    }

    /// Relays `typing` to the conversation's other members (at most once a second).
    async fn typing(&mut self, conversation_id: Uuid) -> Result<(), Gone> {
        let now = Instant::now();
        if self
            .typing
            .get(&conversation_id)
            .is_some_and(|at| now.duration_since(*at) < TYPING_EVERY)
        {
            return Ok(());
        }
        let p = self.conn.principal();
        let conv = match self.hd().get_conversation(&p, conversation_id).await {
            Ok(view) => view.conversation,
            Err(_) => return self.error("not_found", "no such conversation").await,
        };
        self.typing.insert(conversation_id, now);
        let frame = ephemeral_frame(
            "typing",
            json!({"conversation_id": conversation_id, "user_id": p.user_id}),
        );
        let others = conv
            .members
            .iter()
            .map(|m| m.user_id)
            .filter(|u| *u != p.user_id);
        self.state.hub.send_to_users(others, &frame);
        Ok(())
    }

    /// Replays the logged events after `after` that this user may see and this socket
    /// has not had yet, in order; the queue then goes on without duplicates.
    async fn replay(&mut self, after: EventId) -> Result<(), Gone> {
        // Events in (live_from, last_live] already went through the queue.
        let live = (self.live_from, self.last_live);
        let mut cursor = after.max(self.replayed_to);
        loop {
            let batch = match self.hd().events_after(Some(cursor), REPLAY_BATCH).await {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot replay the event log");
                    return self
                        .error("unavailable", "cannot read the event log now")
                        .await;
                }
            };
            if batch.is_empty() {
                break;
            }
            for e in batch {
                cursor = e.id;
                if e.id > live.0 && live.1.is_some_and(|hi| e.id <= hi) {
                    continue;
                }
                let p = self.conn.principal();
                if self.hd().may_see(&p, &e).await.unwrap_or(false) {
                    self.send_event(&e, event_frame(&e)).await?;
                }
            }
        }
        self.replayed_to = cursor;
        Ok(())
    }
}
