//! One Socket.IO socket: its authentication on CONNECT, its client events
//! (`join_conversation`, `leave_conversation`, `typing`, `resume`) and its task, which
//! registers it with the hub, emits its queue (each event under its `type` and the
//! Flask-style copies for the conversations it joined), rechecks its session and ends
//! it as `/api/ws` ends a connection.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};

use helpdesk_core::event::{Event, EventId, EventKind, ts};
use helpdesk_core::{Error as CoreError, Principal};
use http::header;
use serde::Serialize;
use serde_json::{Value, json};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event as EventName, SocketRef, TryData};
use socketioxide::handler::{FromMessageParts, Value as RawValue};
use socketioxide::socket::Socket;
use socketioxide::{SendError, SocketError};
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;
use crate::ws::ephemeral::{self, TypingPace, TypingRefused};
use crate::ws::hub::{Conn, Out};
use crate::ws::replay::Replay;

/// Why a CONNECT was refused: the `connect_error`'s `message`.
pub(super) struct Refused(&'static str);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// The connect middleware: authenticates the CONNECT (`auth.token`, else the
/// handshake's `?token=`, else its `Authorization: Bearer`; an API key needs a read
/// scope, `insufficient_scope` otherwise) and prepares the socket
/// (its handlers are registered before the client hears it is connected).
pub(super) fn authenticate(
    state: Arc<AppState>,
) -> impl Fn(SocketRef, TryData<Value>) -> futures_util::future::BoxFuture<'static, Result<(), Refused>>
+ Clone
+ Send
+ Sync
+ 'static {
    move |s: SocketRef, TryData(auth): TryData<Value>| {
        let state = state.clone();
        Box::pin(async move {
            let auth = auth.ok().filter(Value::is_object);
            let token = match auth.as_ref().map(|a| &a["token"]) {
                Some(Value::String(t)) => Some(t.clone()),
                _ => handshake_token(&s)?,
            };
            let Some(token) = token.filter(|t| !t.is_empty()) else {
                return Err(Refused("unauthorized"));
            };
            let after = match auth.as_ref().map(|a| &a["after"]) {
                None | Some(Value::Null) => None,
                Some(v) => match v.as_str().and_then(|s| s.parse::<EventId>().ok()) {
                    Some(after) => Some(after),
                    None => return Err(Refused("invalid_payload")),
                },
            };
            let p = state
                .hd
                .authenticate(&token)
                .await
                .and_then(|p| p.require_scope(crate::router::need::READ_ANY).map(|()| p))
                .map_err(|e| Refused(ApiError::from(e).code))?;
            let shared = Shared::new(state, p, after);
            let events = shared.clone();
            s.on_fallback(
                move |s: SocketRef,
                      EventName(name): EventName,
                      TryData(data): TryData<Value>,
                      wants: AckWanted,
                      ack: AckSender| {
                    let shared = events.clone();
                    async move {
                        shared
                            .client_event(&s, &name, data.ok(), wants.0, ack)
                            .await
                    }
                },
            );
            let gone = shared.clone();
            s.on_disconnect(move || {
                let shared = gone.clone();
                async move {
                    shared.gone.send_replace(true);
                }
            });
            s.extensions.insert(shared);
            Ok(())
        })
    }
}

/// The handshake's token: `?token=` (never an API key: `unauthorized`, as on
/// `/api/ws`), else `Authorization: Bearer`.
fn handshake_token(s: &SocketRef) -> Result<Option<String>, Refused> {
    let parts = s.req_parts();
    if let Some(q) = parts.uri.query()
        && let Some((_, t)) = form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "token")
    {
        if helpdesk_core::apikey::is_api_key(&t) {
            return Err(Refused("unauthorized"));
        }
        return Ok(Some(t.into_owned()));
    }
    let bearer = || {
        let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, rest) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| rest.trim().to_string())
    };
    Ok(bearer())
}

/// The connect handler: starts the socket's task (tracked by the hub, so shutdown
/// waits for it).
pub(super) fn connected(
    state: Arc<AppState>,
) -> impl FnOnce(SocketRef) -> futures_util::future::BoxFuture<'static, ()> + Clone + Send + Sync + 'static
{
    move |s: SocketRef| {
        Box::pin(async move {
            let Some(shared) = s.extensions.get::<Arc<Shared>>() else {
                return;
            };
            let commands = shared
                .commands_rx
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(commands) = commands {
                state.hub.spawn(run(shared, s, commands));
            }
        })
    }
}

/// Tells a handler whether the client asked for an ack.
struct AckWanted(bool);

impl<A: Adapter> FromMessageParts<A> for AckWanted {
    type Error = Infallible;
    fn from_message_parts(
        _: &Arc<Socket<A>>,
        _: &mut RawValue,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(AckWanted(ack_id.is_some()))
    }
}

/// The events a client may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientEvent {
    JoinConversation,
    LeaveConversation,
    Typing,
    Resume,
}

impl ClientEvent {
    fn named(name: &str) -> Option<Self> {
        Some(match name {
            "join_conversation" => ClientEvent::JoinConversation,
            "leave_conversation" => ClientEvent::LeaveConversation,
            "typing" => ClientEvent::Typing,
            "resume" => ClientEvent::Resume,
            _ => return None,
        })
    }
}

/// What a client event asks of the socket's task.
enum Command {
    /// Replay the events after this one, then tell when they went out.
    Resume(EventId, oneshot::Sender<bool>),
}

/// What the socket's handlers and its task share.
struct Shared {
    state: Arc<AppState>,
    /// The principal of the CONNECT, until the hub holds the socket (then the hub's,
    /// refreshed by every recheck).
    principal: Principal,
    conn: OnceLock<Arc<Conn>>,
    /// `auth.after`: replayed before live events.
    after: Option<EventId>,
    /// Conversations joined: they get the Flask-style copies.
    joined: Mutex<HashSet<Uuid>>,
    typing: Mutex<TypingPace>,
    commands: mpsc::UnboundedSender<Command>,
    commands_rx: Mutex<Option<mpsc::UnboundedReceiver<Command>>>,
    /// The socket disconnected.
    gone: watch::Sender<bool>,
}

/// A refused client event: its `error` code and `detail`.
struct Refusal(&'static str, String);

impl Refusal {
    fn store(e: &CoreError) -> Self {
        tracing::warn!(error = %e, "a Socket.IO event could not read the store");
        Refusal("unavailable", "the store cannot be read now".into())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn new(state: Arc<AppState>, principal: Principal, after: Option<EventId>) -> Arc<Self> {
        let (commands, commands_rx) = mpsc::unbounded_channel();
        Arc::new(Shared {
            state,
            principal,
            conn: OnceLock::new(),
            after,
            joined: Mutex::default(),
            typing: Mutex::default(),
            commands,
            commands_rx: Mutex::new(Some(commands_rx)),
            gone: watch::Sender::new(false),
        })
    }

    fn principal(&self) -> Principal {
        self.conn
            .get()
            .map_or(self.principal, |conn| conn.principal())
    }

    /// Answers a client event: through its ack when it asked for one, else errors as
    /// an `error` event.
    async fn client_event(
        &self,
        s: &SocketRef,
        name: &str,
        data: Option<Value>,
        wants_ack: bool,
        ack: AckSender,
    ) {
        let result = match (ClientEvent::named(name), data) {
            (Some(event), Some(Value::Object(data))) => match event {
                ClientEvent::JoinConversation => self.join(s, &data).await,
                ClientEvent::LeaveConversation => self.leave(s, &data).await,
                ClientEvent::Typing => self.typing(&data).await,
                ClientEvent::Resume => self.resume(&data).await,
            },
            (Some(_), _) => Err(Refusal(
                "invalid_payload",
                "the payload must be a JSON object".into(),
            )),
            (None, _) => Err(Refusal(
                "unknown_event",
                "events are join_conversation, leave_conversation, typing and resume".into(),
            )),
        };
        let sent = match result {
            Ok(mut answer) => {
                answer["ok"] = json!(true);
                ack.send(&answer)
            }
            Err(Refusal(code, detail)) if wants_ack => {
                ack.send(&json!({"ok": false, "error": code, "detail": detail}))
            }
            Err(Refusal(code, detail)) => s.emit("error", &json!({"code": code, "detail": detail})),
        };
        if let Err(e) = sent {
            tracing::debug!(error = %e, "cannot answer a Socket.IO event");
        }
    }

    /// The conversation a payload names: `conversation_id`, or `ticket_id`'s.
    async fn conversation(&self, data: &serde_json::Map<String, Value>) -> Result<Uuid, Refusal> {
        let id = |key: &str| {
            data.get(key)
                .filter(|v| !v.is_null())
                .map(|v| v.as_str().and_then(|s| Uuid::parse_str(s).ok()))
        };
        let p = self.principal();
        let hd = &self.state.hd;
        let not_found = |e: CoreError| match e {
            CoreError::Store(_) => Refusal::store(&e),
            _ => Refusal("not_found", "no such conversation, or not yours".into()),
        };
        match (id("conversation_id"), id("ticket_id")) {
            (Some(Some(c)), _) => hd
                .get_conversation(&p, c)
                .await
                .map(|v| v.conversation.id)
                .map_err(not_found),
            (None, Some(Some(t))) => hd
                .get_ticket(&p, t)
                .await
                .map(|t| t.conversation_id)
                .map_err(not_found),
            _ => Err(Refusal(
                "invalid_payload",
                "`conversation_id` or `ticket_id` (a UUID) is needed".into(),
            )),
        }
    }

    async fn join(
        &self,
        s: &SocketRef,
        data: &serde_json::Map<String, Value>,
    ) -> Result<Value, Refusal> {
        let conv = self.conversation(data).await?;
        lock(&self.joined).insert(conv);
        s.join(format!("conversation:{conv}"));
        Ok(json!({"conversation_id": conv}))
    }

    async fn leave(
        &self,
        s: &SocketRef,
        data: &serde_json::Map<String, Value>,
    ) -> Result<Value, Refusal> {
        let conv = match self.conversation(data).await {
            Ok(conv) => conv,
            // Nothing of theirs to leave.
            Err(Refusal("not_found", _)) => return Ok(json!({})),
            Err(e) => return Err(e),
        };
        lock(&self.joined).remove(&conv);
        s.leave(format!("conversation:{conv}"));
        Ok(json!({"conversation_id": conv}))
    }

    async fn typing(&self, data: &serde_json::Map<String, Value>) -> Result<Value, Refusal> {
        let Some(conv) = data
            .get("conversation_id")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
        else {
            return Err(Refusal(
                "invalid_payload",
                "`conversation_id` (a UUID) is needed".into(),
            ));
        };
        if lock(&self.typing).too_soon(conv) {
            // At most one a second: acknowledged, not relayed.
            return Ok(json!({}));
        }
        match ephemeral::typing(&self.state, &self.principal(), conv).await {
            Ok(()) => {
                lock(&self.typing).relayed(conv);
                Ok(json!({}))
            }
            Err(TypingRefused::NotFound) => Err(Refusal(
                "not_found",
                "no such conversation, or not yours".into(),
            )),
            Err(TypingRefused::InsufficientScope) => Err(Refusal(
                "insufficient_scope",
                "typing through an API key needs messages:write".into(),
            )),
            Err(TypingRefused::Unavailable) => Err(Refusal(
                "unavailable",
                "the store cannot be read now".into(),
            )),
        }
    }

    async fn resume(&self, data: &serde_json::Map<String, Value>) -> Result<Value, Refusal> {
        let Some(after) = data
            .get("after")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<EventId>().ok())
        else {
            return Err(Refusal(
                "invalid_payload",
                "`after` (an event id) is needed".into(),
            ));
        };
        let (done, replayed) = oneshot::channel();
        let unavailable = || Refusal("unavailable", "cannot read the event log now".into());
        self.commands
            .send(Command::Resume(after, done))
            .map_err(|_| unavailable())?;
        match replayed.await {
            Ok(true) => Ok(json!({})),
            _ => Err(unavailable()),
        }
    }
}

/// Why a socket's task ends.
#[derive(Debug, Clone, Copy)]
enum End {
    /// The server is stopping: its transport is closed (the client reconnects).
    Shutdown,
    /// Its buffer overflowed: the client does not read fast enough.
    Slow,
    /// The session ended or the user was deactivated.
    Revoked,
    /// The client disconnected, or the transport broke.
    Left,
}

impl End {
    /// The metrics label (shared with `/api/ws`).
    fn label(self) -> &'static str {
        match self {
            End::Shutdown => "shutdown",
            End::Slow => "slow",
            End::Revoked => "revoked",
            End::Left => "left",
        }
    }
}

/// A logged event as its one argument: the `/api/ws` frame `{id, type, at, data}`.
#[derive(Serialize)]
struct EventFrame<'a> {
    id: EventId,
    #[serde(rename = "type")]
    kind: EventKind,
    at: String,
    data: &'a Value,
}

/// The Flask-style copy of an event: its name, its argument, and the conversation the
/// socket must have joined (`None`: every socket of the recipient gets it).
fn copy_of(e: &Event) -> Option<(&'static str, &Value, Option<Uuid>)> {
    let conv = |v: &Value| v.as_str().and_then(|s| Uuid::parse_str(s).ok());
    let d = &e.data;
    let (name, arg, conversation) = match e.kind {
        EventKind::MessageCreated => (
            "new_message",
            &d["message"],
            &d["message"]["conversation_id"],
        ),
        EventKind::MessageUpdated => (
            "message_updated",
            &d["message"],
            &d["message"]["conversation_id"],
        ),
        EventKind::MessageDeleted => ("message_deleted", d, &d["message"]["conversation_id"]),
        EventKind::MessageRead => ("message_read", d, &d["conversation_id"]),
        EventKind::MessageDelivered => ("message_delivered", d, &d["conversation_id"]),
        EventKind::TicketUpdated => (
            "ticket_updated",
            &d["ticket"],
            &d["ticket"]["conversation_id"],
        ),
        EventKind::NotificationCreated => return Some(("notification", d, None)),
        _ => return None,
    };
    Some((name, arg, Some(conv(conversation)?)))
}

/// A socket's task: registered with the hub from its CONNECT to its end.
async fn run(shared: Arc<Shared>, socket: SocketRef, commands: mpsc::UnboundedReceiver<Command>) {
    let state = shared.state.clone();
    let hub = state.hub.clone();
    let p = shared.principal;
    let (conn, queue, live_from) = hub.register(p, state.config.ws_queue);
    let _ = shared.conn.set(conn.clone());
    socket.join(format!("user:{}", p.user_id()));
    ephemeral::opened(&state, p.user_id()).await;
    let mut task = Task {
        shared: shared.clone(),
        socket: socket.clone(),
        conn: conn.clone(),
        replay: Replay::new(live_from),
    };
    let end = task.serve(queue, commands).await;
    hub.unregister(&conn);
    hub.ended(end.label());
    if matches!(end, End::Slow | End::Revoked) {
        // The client sees `io server disconnect` and does not reconnect by itself. A
        // client whose buffer is full cannot even take the DISCONNECT: Engine.IO's
        // next ping fails the same way and closes the transport.
        let _ = socket.disconnect();
    }
    ephemeral::closed(&state, p.user_id()).await;
}

/// One socket's state in its task.
struct Task {
    shared: Arc<Shared>,
    socket: SocketRef,
    conn: Arc<Conn>,
    replay: Replay,
}

/// An emit failed: the connection is over, for this reason.
struct Failed(End);

impl Task {
    async fn serve(
        &mut self,
        mut queue: mpsc::Receiver<Out>,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) -> End {
        let state = self.shared.state.clone();
        let mut gone = self.shared.gone.subscribe();
        let mut closing = state.hub.closing();
        if let Some(after) = self.shared.after {
            match self.replay(after).await {
                Ok(true) => {}
                Ok(false) => self.error("unavailable", "cannot read the event log now"),
                Err(Failed(end)) => return end,
            }
        }
        let interval = state.config.ws_ping_interval;
        let mut recheck =
            tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = async { let _ = closing.wait_for(|c| *c).await; } => return End::Shutdown,
                _ = async { let _ = gone.wait_for(|g| *g).await; } => return End::Left,
                _ = self.conn.wake.notified() => {
                    if self.conn.slow.load(Ordering::Acquire) {
                        return End::Slow;
                    }
                    if self.conn.recheck.swap(false, Ordering::AcqRel) && !self.recheck().await {
                        return End::Revoked;
                    }
                }
                command = commands.recv() => {
                    let Some(Command::Resume(after, done)) = command else { return End::Left };
                    match self.replay(after).await {
                        Ok(replayed) => { let _ = done.send(replayed); }
                        Err(Failed(end)) => return end,
                    }
                }
                out = queue.recv() => {
                    let Some(out) = out else { return End::Left };
                    if let Err(Failed(end)) = self.deliver(out) {
                        return end;
                    }
                }
                _ = recheck.tick() => {
                    if !self.recheck().await {
                        return End::Revoked;
                    }
                }
            }
        }
    }

    /// Checks the session and the account again; false when they no longer hold.
    async fn recheck(&mut self) -> bool {
        let p = self.conn.principal();
        match self.shared.state.hd.recheck(&p).await {
            Ok(fresh) => {
                self.conn.set_principal(fresh);
                true
            }
            Err(CoreError::Store(e)) => {
                tracing::warn!(error = %e, "cannot recheck a Socket.IO session");
                true
            }
            Err(_) => false,
        }
    }

    fn emit<T: Serialize + ?Sized>(&self, name: &str, arg: &T) -> Result<(), Failed> {
        match self.socket.emit(name, arg) {
            Ok(()) => Ok(()),
            Err(SendError::Socket(SocketError::InternalChannelFull)) => Err(Failed(End::Slow)),
            Err(SendError::Socket(SocketError::Closed)) => Err(Failed(End::Left)),
            Err(SendError::Serialize(e)) => {
                tracing::warn!(error = %e, "cannot serialize a Socket.IO event");
                Ok(())
            }
        }
    }

    fn error(&self, code: &str, detail: &str) {
        let _ = self.emit("error", &json!({"code": code, "detail": detail}));
    }

    /// Emits an item of the queue, and an event's copy when this socket gets it.
    fn deliver(&mut self, out: Out) -> Result<(), Failed> {
        match out {
            Out::Ephemeral(e) => self.emit(e.kind, &*e),
            Out::Event(f) => {
                if !self.replay.live(f.id()) {
                    return Ok(());
                }
                let e = f.seen_by(&self.conn.principal()).0.clone();
                let e = &e;
                self.emit_event(e)?;
                if e.kind == EventKind::ConversationMemberRemoved
                    && e.data["user_id"].as_str() == Some(&self.conn.user_id.to_string())
                    && let Some(conv) = e.data["conversation_id"]
                        .as_str()
                        .and_then(|s| Uuid::parse_str(s).ok())
                {
                    // Losing access leaves the room.
                    lock(&self.shared.joined).remove(&conv);
                    self.socket.leave(format!("conversation:{conv}"));
                }
                if let Some((name, arg, conv)) = copy_of(e)
                    && conv.is_none_or(|c| lock(&self.shared.joined).contains(&c))
                {
                    self.emit(name, arg)?;
                }
                Ok(())
            }
        }
    }

    /// Emits a logged event under its type; a message pushed to a member counts as
    /// delivered to them.
    fn emit_event(&self, e: &Event) -> Result<(), Failed> {
        self.emit(
            e.kind.as_str(),
            &EventFrame {
                id: e.id,
                kind: e.kind,
                at: ts(e.at),
                data: &e.data,
            },
        )?;
        self.shared.state.hub.pushed(self.conn.principal(), e);
        Ok(())
    }

    /// Replays the logged events after `after` this user may see and this socket has
    /// not had (canonical names only), or emits `resume_gap` when some were pruned (the
    /// client refetches); false when the log could not be read.
    async fn replay(&mut self, after: EventId) -> Result<bool, Failed> {
        match self.shared.state.hd.resume_gap(after).await {
            Ok(false) => {}
            Ok(true) => {
                self.emit("resume_gap", &json!({}))?;
                return Ok(true);
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the event log's horizon");
                return Ok(false);
            }
        }
        let p = self.conn.principal();
        let mut cursor = self.replay.start(after);
        loop {
            match self
                .replay
                .batch(&self.shared.state.hd, &p, &mut cursor)
                .await
            {
                Ok(Some(events)) => {
                    for e in &events {
                        self.emit_event(e)?;
                    }
                }
                Ok(None) => return Ok(true),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot replay the event log");
                    return Ok(false);
                }
            }
        }
    }
}
