//! One connection's task: it registers with the hub, announces presence, writes its
//! queue to the socket, answers client frames (`ping`, `typing`, `resume`), pings and
//! rechecks the session, and ends with the close code that says why.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use helpdesk_core::event::{Event, EventId};
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

use super::ephemeral::{self, TypingPace, TypingRefused};
use super::hub::{Conn, Out, event_frame};
use super::replay::Replay;
use crate::state::AppState;

/// How long one frame may take to reach a client before the connection is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// Why a connection ends.
#[derive(Debug, Clone, Copy)]
enum End {
    /// The server is stopping (1001).
    Shutdown,
    /// Its queue overflowed: the client does not read fast enough (1013).
    Slow,
    /// The session ended, the API key was deleted or expired, or the user was
    /// deactivated (1008).
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
    /// Which events `resume` takes from the log.
    replay: Replay,
    typing: TypingPace,
}

/// Serves one upgraded socket of `p` until it ends, then closes it and counts why.
pub(super) async fn run(state: Arc<AppState>, p: Principal, socket: Socket) {
    let hub = state.hub.clone();
    let (conn, queue, live_from) = hub.register(p, state.config.ws_queue);
    ephemeral::opened(&state, p.user_id()).await;
    let (sink, stream) = socket.split();
    let mut session = Session {
        state: state.clone(),
        conn: conn.clone(),
        sink,
        replay: Replay::new(live_from),
        typing: TypingPace::default(),
    };
    let end = session.serve(stream, queue).await;
    hub.unregister(&conn);
    hub.ended(end.label());
    if let Some(frame) = end.close_frame() {
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            session.sink.send(Message::Close(Some(frame))),
        )
        .await;
    }
    ephemeral::closed(&state, p.user_id()).await;
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
            Out::Ephemeral(e) => self.send(Message::Text(e.frame.clone())).await,
            Out::Event(f) => {
                if !self.replay.live(f.id()) {
                    return Ok(());
                }
                let (event, frame) = f.seen_by(&self.conn.principal());
                self.send_event(&event.clone(), frame.clone()).await
            }
        }
    }

    /// Writes an event; a message pushed to a member counts as delivered to them.
    async fn send_event(&mut self, e: &Event, frame: Utf8Bytes) -> Result<(), Gone> {
        self.send(Message::Text(frame)).await?;
        self.state.hub.pushed(self.conn.principal(), e);
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
        if self.typing.too_soon(conversation_id) {
            return Ok(());
        }
        let p = self.conn.principal();
        match ephemeral::typing(&self.state, &p, conversation_id).await {
            Ok(()) => {
                self.typing.relayed(conversation_id);
                Ok(())
            }
            Err(TypingRefused::NotFound) => self.error("not_found", "no such conversation").await,
            Err(TypingRefused::InsufficientScope) => {
                self.error(
                    "insufficient_scope",
                    "typing through an API key needs messages:write",
                )
                .await
            }
            Err(TypingRefused::Unavailable) => {
                self.error("unavailable", "cannot read the conversation now")
                    .await
            }
        }
    }

    /// Replays the logged events after `after` that this user may see and this socket
    /// has not had yet, in order; the queue then goes on without duplicates. When some
    /// were pruned, sends `resume_gap` instead: the client refetches.
    async fn replay(&mut self, after: EventId) -> Result<(), Gone> {
        match self.state.hd.resume_gap(after).await {
            Ok(false) => {}
            Ok(true) => {
                return self
                    .send(Message::text(json!({"type": "resume_gap"}).to_string()))
                    .await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the event log's horizon");
                return self
                    .error("unavailable", "cannot read the event log now")
                    .await;
            }
        }
        let p = self.conn.principal();
        let mut cursor = self.replay.start(after);
        loop {
            match self.replay.batch(&self.state.hd, &p, &mut cursor).await {
                Ok(Some(events)) => {
                    for e in events {
                        self.send_event(&e, event_frame(&e)).await?;
                    }
                }
                Ok(None) => return Ok(()),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot replay the event log");
                    return self
                        .error("unavailable", "cannot read the event log now")
                        .await;
                }
            }
        }
    }
}
