//! `typing` and `presence`, for both transports (`/api/ws` and Socket.IO), through the
//! library's ephemeral channel ([`Helpdesk::ephemeral`]), so that they reach the sockets
//! of every instance sharing the store: sockets report here when they open and close
//! and when their user types; [`relay`] hands the library's notices to
//! [`Hub::publish_ephemeral`] for this server's sockets. And the per-socket pace of
//! `typing`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use std::sync::Arc;

use helpdesk_core::{Helpdesk, NoticeKind, Principal};
use serde_json::json;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::hub::{Ephemeral, Hub};
use crate::state::AppState;

/// The smallest pause between two `typing` relays of one socket for one conversation.
const TYPING_EVERY: Duration = Duration::from_secs(1);

/// When one socket last relayed `typing`, by conversation.
#[derive(Default)]
pub(crate) struct TypingPace(HashMap<Uuid, Instant>);

impl TypingPace {
    /// True when this socket relayed `typing` for the conversation less than a second ago.
    pub(crate) fn too_soon(&self, conversation_id: Uuid) -> bool {
        self.0
            .get(&conversation_id)
            .is_some_and(|at| at.elapsed() < TYPING_EVERY)
    }

    pub(crate) fn relayed(&mut self, conversation_id: Uuid) {
        self.0.insert(conversation_id, Instant::now());
    }
}

/// Why a `typing` was not relayed.
pub(crate) enum TypingRefused {
    /// An API key without `messages:write`.
    InsufficientScope,
    /// No such conversation, or the caller may not read it.
    NotFound,
    /// The store did not answer.
    Unavailable,
}

/// Relays `typing` of `p` in a conversation to its other members, on every instance
/// sharing the store (the library's ephemeral channel checks that `p` may read it).
pub(crate) async fn typing(
    state: &AppState,
    p: &Principal,
    conversation_id: Uuid,
) -> Result<(), TypingRefused> {
    let refused = |e: helpdesk_core::Error| match e {
        helpdesk_core::Error::Store(_) => TypingRefused::Unavailable,
        helpdesk_core::Error::InsufficientScope(_) => TypingRefused::InsufficientScope,
        _ => TypingRefused::NotFound,
    };
    let channel = state.hd.ephemeral().await.map_err(refused)?;
    channel.typing(p, conversation_id).await.map_err(refused)
}

/// A socket of `user_id` (either transport) opened: on their first anywhere, their
/// contacts hear they are online, on every instance.
pub(crate) async fn opened(state: &AppState, user_id: Uuid) {
    match state.hd.ephemeral().await {
        Ok(channel) => channel.opened(user_id).await,
        Err(e) => tracing::warn!(error = %e, "cannot announce presence"),
    }
}

/// A socket of `user_id` closed: on their last anywhere, their contacts hear they are
/// offline.
pub(crate) async fn closed(state: &AppState, user_id: Uuid) {
    match state.hd.ephemeral().await {
        Ok(channel) => channel.closed(user_id).await,
        Err(e) => tracing::warn!(error = %e, "cannot announce presence"),
    }
}

/// Joins this server to the library's ephemeral channel (retrying while the store is
/// away) and hands each notice to the hub for the sockets it names, until the channel
/// ends.
pub(crate) async fn relay(hd: Helpdesk, hub: Arc<Hub>) {
    let channel = loop {
        match hd.ephemeral().await {
            Ok(channel) => break channel,
            Err(e) => {
                tracing::warn!(error = %e, "typing and presence wait for the store");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let mut notices = channel.notices();
    drop(channel);
    loop {
        match notices.recv().await {
            Ok(notice) => hub.publish_ephemeral(notice.recipients, frame(notice.kind)),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "typing and presence hints dropped");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// The `/api/ws` frame (and Socket.IO argument) of a notice.
fn frame(kind: NoticeKind) -> Ephemeral {
    match kind {
        NoticeKind::Typing {
            conversation_id,
            user_id,
        } => Ephemeral::new(
            "typing",
            json!({"conversation_id": conversation_id, "user_id": user_id}),
        ),
        NoticeKind::Presence { user_id, online } => {
            Ephemeral::new("presence", json!({"user_id": user_id, "online": online}))
        }
    }
}
