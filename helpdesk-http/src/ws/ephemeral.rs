//! `typing` and `presence`, for both transports (`/api/ws` and Socket.IO): who gets
//! them, and the per-socket pace of `typing`. They leave through
//! [`super::hub::Hub::publish_ephemeral`], the one place that sends them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use helpdesk_core::Principal;
use serde_json::json;
use uuid::Uuid;

use super::hub::Ephemeral;
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
    /// No such conversation, or the caller may not read it.
    NotFound,
    /// The store did not answer.
    Unavailable,
}

/// Relays `typing` of `p` in a conversation to its other members.
pub(crate) async fn typing(
    state: &AppState,
    p: &Principal,
    conversation_id: Uuid,
) -> Result<(), TypingRefused> {
    let conv = match state.hd.get_conversation(p, conversation_id).await {
        Ok(view) => view.conversation,
        Err(helpdesk_core::Error::Store(_)) => return Err(TypingRefused::Unavailable),
        Err(_) => return Err(TypingRefused::NotFound),
    };
    let others = conv
        .members
        .iter()
        .map(|m| m.user_id)
        .filter(|u| *u != p.user_id());
    state.hub.publish_ephemeral(
        others,
        Ephemeral::new(
            "typing",
            json!({"conversation_id": conversation_id, "user_id": p.user_id()}),
        ),
    );
    Ok(())
}

/// Tells the connected users who share a conversation with `user_id` that they came
/// online (their first socket of either transport opened) or went offline (their
/// last one closed).
pub(crate) async fn presence(state: &AppState, user_id: Uuid, online: bool) {
    match state.hd.contacts(user_id).await {
        Ok(contacts) => state.hub.publish_ephemeral(
            contacts,
            Ephemeral::new("presence", json!({"user_id": user_id, "online": online})),
        ),
        Err(e) => tracing::warn!(error = %e, "cannot announce presence"),
    }
}
