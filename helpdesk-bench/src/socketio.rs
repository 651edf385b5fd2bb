//! The smallest Socket.IO client the benchmark needs (Engine.IO v4 / Socket.IO v5 over
//! the websocket transport, namespace `/`, JSON parser): it connects with an access
//! token, answers the server's pings and hands out the events it receives. No polling,
//! no reconnection, no acks, no binary packets: the server under test never asks for
//! acks and sends only JSON events.

use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::BenchResult;

/// A Socket.IO socket connected to namespace `/`.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// An event the server emitted: its name, its first argument, and when its frame
/// arrived (before it was parsed, as the `/api/ws` sockets take their time).
pub struct Event {
    pub name: String,
    pub arg: Value,
    pub at: Instant,
}

/// One Engine.IO packet, as a text frame carries it.
enum Packet<'a> {
    /// `0{...}`: the handshake's OPEN.
    Open,
    /// `1`: the server closes the transport.
    Close,
    /// `2`: a ping, answered by a pong (`3`).
    Ping,
    /// `4...`: a Socket.IO packet (its type and the rest).
    SocketIo(u8, &'a str),
    /// Anything else (noop, upgrade, a pong the client did not ask for).
    Other,
}

fn packet(text: &str) -> Packet<'_> {
    let mut chars = text.chars();
    match chars.next() {
        Some('0') => Packet::Open,
        Some('1') => Packet::Close,
        Some('2') => Packet::Ping,
        Some('4') => match chars.next().and_then(|c| c.to_digit(10)) {
            Some(kind) => Packet::SocketIo(kind as u8, &text[2..]),
            None => Packet::Other,
        },
        _ => Packet::Other,
    }
}

/// A Socket.IO packet's payload past its namespace (`/name,`, absent for `/`) and its
/// ack id (digits).
fn payload(rest: &str) -> &str {
    let rest = match rest.strip_prefix('/') {
        Some(ns) => ns.split_once(',').map_or("", |(_, r)| r),
        None => rest,
    };
    rest.trim_start_matches(|c: char| c.is_ascii_digit())
}

impl Client {
    /// Opens `ws://{base}/socket.io/?EIO=4&transport=websocket` and joins namespace `/`
    /// with `{"token": token}` as CONNECT's auth; an error when the server answers
    /// `connect_error` or anything but CONNECT.
    pub async fn connect(base: &str, token: &str) -> BenchResult<Client> {
        let url = format!("ws://{base}/socket.io/?EIO=4&transport=websocket");
        let (ws, _) = tokio_tungstenite::connect_async(url).await?;
        let mut client = Client { ws };
        match client.next_packet().await? {
            Some(text) if matches!(packet(&text), Packet::Open) => {}
            other => return Err(format!("expected Engine.IO OPEN, got {other:?}").into()),
        }
        let auth = serde_json::json!({ "token": token });
        client.ws.send(Message::text(format!("40{auth}"))).await?;
        loop {
            let Some(text) = client.next_packet().await? else {
                return Err("the server closed before CONNECT was answered".into());
            };
            match packet(&text) {
                Packet::SocketIo(0, _) => return Ok(client),
                Packet::SocketIo(4, rest) => {
                    return Err(format!("connect_error: {}", payload(rest)).into());
                }
                Packet::Ping => client.ws.send(Message::text("3")).await?,
                Packet::Close => return Err("the server closed the transport".into()),
                _ => {}
            }
        }
    }

    /// The next event (`42["name",arg]`), answering pings on the way; `None` once the
    /// server disconnected the socket or closed the transport.
    pub async fn next_event(&mut self) -> BenchResult<Option<Event>> {
        loop {
            let Some(text) = self.next_packet().await? else {
                return Ok(None);
            };
            let at = Instant::now();
            match packet(&text) {
                Packet::Ping => self.ws.send(Message::text("3")).await?,
                Packet::Close | Packet::SocketIo(1, _) => return Ok(None),
                Packet::SocketIo(2, rest) => {
                    let mut args: Vec<Value> = serde_json::from_str(payload(rest))?;
                    if args.is_empty() {
                        return Err("an event without a name".into());
                    }
                    let arg = if args.len() > 1 {
                        args.swap_remove(1)
                    } else {
                        Value::Null
                    };
                    let Value::String(name) = args.swap_remove(0) else {
                        return Err("an event whose name is not a string".into());
                    };
                    return Ok(Some(Event { name, arg, at }));
                }
                _ => {}
            }
        }
    }

    /// The next text frame; `None` when the connection closed.
    async fn next_packet(&mut self) -> BenchResult<Option<String>> {
        while let Some(frame) = self.ws.next().await {
            match frame? {
                Message::Text(text) => return Ok(Some(text.as_str().to_owned())),
                Message::Close(_) => return Ok(None),
                _ => {}
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_are_told_apart() {
        assert!(matches!(packet(r#"0{"sid":"x"}"#), Packet::Open));
        assert!(matches!(packet("2"), Packet::Ping));
        assert!(matches!(packet("1"), Packet::Close));
        assert!(matches!(
            packet(r#"40{"sid":"y"}"#),
            Packet::SocketIo(0, r#"{"sid":"y"}"#)
        ));
        assert!(matches!(
            packet("42[\"a\"]"),
            Packet::SocketIo(2, "[\"a\"]")
        ));
        assert!(matches!(packet("3"), Packet::Other));
    }

    #[test]
    fn payloads_skip_namespace_and_ack_id() {
        assert_eq!(payload(r#"["e",1]"#), r#"["e",1]"#);
        assert_eq!(payload(r#"12["e",1]"#), r#"["e",1]"#);
        assert_eq!(payload(r#"/admin,7["e"]"#), r#"["e"]"#);
        assert_eq!(
            payload(r#"{"message":"unauthorized"}"#),
            r#"{"message":"unauthorized"}"#
        );
    }
}
