//! A conversation as one member sees it: with the newest message they may see and their
//! unread count (the conversation list of the API).

use serde::Serialize;

use crate::conversation::{Conversation, ConversationJson, conversation_json};
use crate::message::{MessageJson, MessageView, message_json};

/// A conversation as one caller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationView {
    /// The conversation.
    pub conversation: Conversation,
    /// The newest message the caller may see.
    pub last_message: Option<MessageView>,
    /// The caller's unread count.
    pub unread_count: u64,
}

/// The API rendering of a conversation as one caller sees it: with its
/// `last_message` and `unread_count`.
#[derive(Serialize)]
pub struct ConversationViewJson<'a> {
    #[serde(flatten)]
    conversation: ConversationJson<'a>,
    last_message: Option<MessageJson<'a>>,
    unread_count: u64,
}

/// The API rendering of a conversation as one caller sees it.
pub fn conversation_view_json(v: &ConversationView) -> ConversationViewJson<'_> {
    ConversationViewJson {
        conversation: conversation_json(&v.conversation),
        last_message: v.last_message.as_ref().map(message_json),
        unread_count: v.unread_count,
    }
}
