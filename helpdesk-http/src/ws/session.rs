//! One connection's task: it registers with the hub, announces presence, writes its
//! queue to the socket, answers client frames (`ping`, `typing`, `resume`), pings and
//! rechecks the session, and ends with the close code that says why.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use helpdesk_core::event::{Event, EventId, ts};
use helpdesk_core::message::Pushed;
use helpdesk_core::{Helpdesk, Principal};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use uuid::Uuid;

use super::hub::{Conn, Out, event_frame};
use crate::state::AppState;

/// How long one frame may take to reach a client before the connection is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The smallest pause between two `typing` relays of one connection for one conversation.
const TYPING_EVERY: Duration = Duration::from_secs(1);
/// Events read from the log at a time by `resume`.
const REPLAY_BATCH: usize = 256;

type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// The JSON frame of an ephemeral message (no id: it is not in the log).
fn ephemeral_frame(kind: &str, data: Value) -> Utf8Bytes {
    json!({"type": kind, "at": ts(chrono::Utc::now()), "data": data})
        .to_string()
        .into()
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

/// Serves one upgraded socket of `p` until it ends, then closes it and counts why.
pub(super) async fn run(state: Arc<AppState>, p: Principal, socket: Socket) {
    let hub = state.hub.clone();
    let (conn, queue, live_from, first) = hub.register(p, state.config.ws_queue);
    if first {
        announce_presence(&state, p.user_id(), true).await;
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
    hub.ended(end.label());
    if let Some(frame) = end.close_frame() {
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            session.sink.send(Message::Close(Some(frame))),
        )
        .await;
    }
    if last {
        announce_presence(&state, p.user_id(), false).await;
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
        let mut closing = self.state.hub.closing();
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
                self.conn.set_principal(fresh);
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
        if e.kind == helpdesk_core::event::EventKind::MessageCreated {
            let m = &e.data["message"];
            let me = self.conn.user_id;
            let id = |v: &Value| v.as_str().and_then(|s| Uuid::parse_str(s).ok());
            if let (Some(conv), Some(seq), Some(sender)) = (
                id(&m["conversation_id"]),
                m["seq"].as_u64(),
                id(&m["sender_id"]),
            ) && sender != me
            {
                self.state.hub.delivered(Pushed {
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
            json!({"conversation_id": conversation_id, "user_id": p.user_id()}),
        );
        let others = conv
            .members
            .iter()
            .map(|m| m.user_id)
            .filter(|u| *u != p.user_id());
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
