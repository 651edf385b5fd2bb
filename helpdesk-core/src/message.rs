//! Messages: per-conversation `seq`, nested replies and threads, internal notes, edits and
//! soft deletes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::conversation::{Conversation, Member};
use crate::receipt::Participant;
use crate::ticket::Ticket;

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Id.
    pub id: Uuid,
    /// Its conversation.
    pub conversation_id: Uuid,
    /// 1, 2, 3, ... in send order, per conversation.
    pub seq: u64,
    /// Who sent it; `None` for the system (a rule's message).
    #[serde(default)]
    pub sender_id: Option<Uuid>,
    /// Text ("" once deleted).
    pub content: String,
    /// The message it replies to (same conversation).
    pub parent_id: Option<Uuid>,
    /// Number of direct replies.
    pub reply_count: u64,
    /// How many of the direct replies are internal notes (counted in `reply_count`
    /// too). Derived from the replies: absent (0) in records and archives written before
    /// it existed, which the stores recount (sled's schema migration, PostgreSQL's
    /// migration 0003, every archive import).
    #[serde(default)]
    pub internal_reply_count: u64,
    /// Attached files.
    pub attachment_ids: Vec<Uuid>,
    /// A staff-only note.
    pub internal: bool,
    /// Sent.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
    /// Last edited.
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub edited_at: Option<DateTime<Utc>>,
    /// Deleted (soft).
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub deleted_at: Option<DateTime<Utc>>,
    /// How many non-internal messages have `seq` ≤ this one's (receipt arithmetic).
    pub public_ordinal: u64,
    /// How many messages of this sender have `seq` ≤ this one's (receipt arithmetic).
    pub sender_ordinal: u64,
    /// How it was sent.
    #[serde(default)]
    pub channel: crate::ticket::Channel,
}

impl Message {
    /// Counts a new direct reply on this message (its parent): what every store does
    /// to the parent inside the append.
    pub fn count_reply(&mut self, internal: bool) {
        self.reply_count += 1;
        if internal {
            self.internal_reply_count += 1;
        }
    }

    /// The message as a reader sees it: one who may not see internal notes (a
    /// customer) is not told of internal replies either, so `reply_count` counts only
    /// the replies they can see.
    pub fn for_reader(mut self, sees_internal: bool) -> Message {
        if !sees_internal {
            self.reply_count = self.reply_count.saturating_sub(self.internal_reply_count);
            self.internal_reply_count = 0;
        }
        self
    }
}

/// A message to append. See [`apply_append`] for what a store does with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAppend {
    /// Id.
    pub id: Uuid,
    /// The conversation.
    pub conversation_id: Uuid,
    /// Sender: the participant whose counts the message moves; `Uuid::nil()` for the
    /// system (a rule's message, whose [`Message::sender_id`] is `None`).
    pub sender_id: Uuid,
    /// Text.
    pub content: String,
    /// Parent (must exist in the same conversation, else the store fails `NotFound`).
    pub parent_id: Option<Uuid>,
    /// Attachments to attach to the message (each must exist and be unattached, else
    /// `Conflict::Attachment`).
    pub attachment_ids: Vec<Uuid>,
    /// Internal note.
    pub internal: bool,
    /// Sent.
    pub created_at: DateTime<Utc>,
    /// Staff posting to a ticket conversation they are not a member of join it.
    pub join_sender: bool,
    /// A ticket change made with the message (first response, automatic reopen), written
    /// under the ticket's version check.
    pub ticket_update: Option<Ticket>,
    /// How it is sent.
    pub channel: crate::ticket::Channel,
    /// The conversation and the sender's record as the caller read them for this append,
    /// when it did: a store may append over them, checking that no other write came
    /// between, instead of reading them again. `None`: the store reads them.
    pub base: Option<AppendBase>,
}

/// A conversation that a caller may read, as [`crate::Helpdesk::check_readable`] read it
/// for them. An operation that follows the check takes it instead of reading the
/// conversation again ([`crate::Helpdesk::send_message_to`]).
#[derive(Debug, Clone)]
pub struct Readable {
    pub(crate) conversation: Conversation,
    /// The reader's record in it, read with it (a fresh one when they have none).
    pub(crate) state: Participant,
    pub(crate) reader: crate::Principal,
}

impl Readable {
    /// The conversation, as it was read.
    pub fn conversation(&self) -> &Conversation {
        &self.conversation
    }
}

/// What an append was computed over: see [`MessageAppend::base`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendBase {
    /// The conversation (its `id` is the append's).
    pub conversation: Conversation,
    /// The sender's record in it (a fresh one, version 0, when they had none).
    pub sender: Participant,
}

/// A message that a live connection pushed to a member: a delivery to record with
/// [`crate::Helpdesk::mark_pushed`].
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The member it reached.
    pub principal: crate::Principal,
    /// Its conversation.
    pub conversation_id: Uuid,
    /// Its `seq`.
    pub seq: u64,
    /// Its sender (`None`: the system).
    pub sender_id: Option<Uuid>,
}

/// Where a page of messages lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageRange {
    /// The newest messages.
    Latest,
    /// Messages with `seq` lower than this, the newest of them.
    Before(u64),
    /// Messages with `seq` higher than this, the oldest of them.
    After(u64),
}

/// Which page of messages across conversations
/// ([`crate::store::ConversationStore::list_messages_across`]), by
/// `(created_at in microseconds, id)`: a [`Cursor`] names a message's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcrossRange {
    /// The newest messages.
    Latest,
    /// Messages before this position, the newest of them.
    Before(Cursor),
    /// Messages after this position, the oldest of them.
    After(Cursor),
}

/// A message's position in a page across conversations.
pub fn across_key(m: &Message) -> (i64, Uuid) {
    (m.created_at.timestamp_micros(), m.id)
}

/// The page of [`AcrossRange`] out of `messages` (every candidate, already filtered by
/// visibility), ascending, at most `limit`: what a store that reads every candidate
/// returns from [`crate::store::ConversationStore::list_messages_across`].
#[doc(hidden)]
pub fn page_across(mut messages: Vec<Message>, range: AcrossRange, limit: usize) -> Vec<Message> {
    messages.sort_by_key(across_key);
    match range {
        AcrossRange::Latest => {}
        AcrossRange::Before(c) => messages.retain(|m| across_key(m) < (c.key, c.id)),
        AcrossRange::After(c) => messages.retain(|m| across_key(m) > (c.key, c.id)),
    }
    if let AcrossRange::After(_) = range {
        messages.truncate(limit);
    } else {
        let cut = messages.len().saturating_sub(limit);
        messages.drain(..cut);
    }
    messages
}

/// The records changes of appending a message, shared by every store so the arithmetic
/// is written once: call it inside the atomic operation with the locked conversation and
/// the sender's participant record (or `None` when they have none), then write back
/// `conv`, the returned participant and the returned message, count the reply on the
/// parent ([`Message::count_reply`]), attach the attachments, write `ticket_update`,
/// and the effects. Store implementations reach it as
/// [`store::support::apply_append`](crate::store::support::apply_append).
#[doc(hidden)]
pub fn apply_append(
    conv: &mut Conversation,
    sender: Option<Participant>,
    new: &MessageAppend,
) -> (Message, Participant) {
    let mut sender = sender.unwrap_or_else(|| Participant::new(conv.id, new.sender_id));
    if new.join_sender && !conv.is_member(new.sender_id) {
        conv.members.push(Member {
            user_id: new.sender_id,
            joined_at: new.created_at,
        });
        sender.on_join(conv);
    }
    let seq = conv.last_seq + 1;
    conv.last_seq = seq;
    conv.last_message_at = Some(new.created_at);
    if !new.internal {
        conv.public_count += 1;
        conv.last_public_seq = seq;
    }
    sender.sent_count += 1;
    let message = Message {
        id: new.id,
        conversation_id: new.conversation_id,
        seq,
        sender_id: (!new.sender_id.is_nil()).then_some(new.sender_id),
        content: new.content.clone(),
        parent_id: new.parent_id,
        reply_count: 0,
        internal_reply_count: 0,
        attachment_ids: new.attachment_ids.clone(),
        internal: new.internal,
        created_at: new.created_at,
        edited_at: None,
        deleted_at: None,
        public_ordinal: conv.public_count,
        sender_ordinal: sender.sent_count,
        channel: new.channel,
    };
    // Sending is reading: a sender whose watermark stood just below moves it over their
    // own message, so a chat does not leave gaps that only a mark-read would close.
    if sender.last_read_seq + 1 == seq {
        sender.last_read_seq = seq;
        sender.public_at_watermark = message.public_ordinal;
        sender.own_at_watermark = message.sender_ordinal;
        sender.read_above.retain(|s| *s > seq);
        sender.delivered_seq = sender.delivered_seq.max(seq);
    }
    // Likewise the public watermark (a message of one's own tells nobody anything).
    if sender.public_read_seq + 1 == seq {
        sender.public_read_seq = seq;
        sender.public_read_above.retain(|s| *s > seq);
    }
    sender.version += 1;
    (message, sender)
}

use crate::attachment::Attachment;
use crate::error::{Error, Result};
use crate::page::Cursor;
use crate::receipt::MessageStatus;
use crate::wire::{Each, Ts, opt_ts};

/// Longest message content, in characters.
pub const MAX_CONTENT_CHARS: usize = 32_000;

/// A message as one caller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView {
    /// The message.
    pub message: Message,
    /// Whether the caller has read it.
    pub is_read: bool,
    /// On the caller's own messages: sent, delivered or read.
    pub status: Option<MessageStatus>,
    /// Its attachments.
    pub attachments: Vec<Attachment>,
}

/// Input for sending a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewMessage {
    /// Text (1..=32,000 characters unless attachments are given).
    pub content: String,
    /// The message replied to.
    pub parent_id: Option<Uuid>,
    /// The caller's uploads to attach.
    pub attachment_ids: Vec<Uuid>,
    /// A staff-only note (ticket conversations).
    pub internal: bool,
}

impl NewMessage {
    /// A plain text message.
    pub fn text(content: &str) -> Self {
        NewMessage {
            content: content.to_string(),
            ..Default::default()
        }
    }
    /// A reply.
    pub fn reply(content: &str, parent_id: Uuid) -> Self {
        NewMessage {
            content: content.to_string(),
            parent_id: Some(parent_id),
            ..Default::default()
        }
    }
}

/// Which page of messages to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessagePageQuery {
    /// The page just older than this message.
    pub before: Option<Uuid>,
    /// The page just newer than this message.
    pub after: Option<Uuid>,
    /// A cursor from an earlier page.
    pub cursor: Option<Cursor>,
    /// Page size.
    pub limit: Option<usize>,
}

/// One message of a thread with its depth below the root (1: a direct reply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadItem {
    /// The message.
    pub message: MessageView,
    /// Depth.
    pub depth: u32,
}

/// The API rendering of an attachment.
#[derive(Serialize)]
pub struct AttachmentJson<'a> {
    id: Uuid,
    filename: &'a str,
    content_type: &'a str,
    size: u64,
    sha256: &'a str,
    uploaded_by: Uuid,
    created_at: Ts,
}

/// The API rendering of an attachment.
pub fn attachment_json(a: &Attachment) -> AttachmentJson<'_> {
    AttachmentJson {
        id: a.id,
        filename: &a.filename,
        content_type: &a.content_type,
        size: a.size,
        sha256: &a.sha256,
        uploaded_by: a.uploaded_by,
        created_at: Ts(a.created_at),
    }
}

/// The API rendering of a message as one caller sees it.
#[derive(Serialize)]
pub struct MessageJson<'a> {
    id: Uuid,
    conversation_id: Uuid,
    seq: u64,
    sender_id: Option<Uuid>,
    content: &'a str,
    parent_id: Option<Uuid>,
    reply_count: u64,
    attachments: Each<'a, Attachment, fn(&'a Attachment) -> AttachmentJson<'a>>,
    internal: bool,
    is_read: bool,
    status: Option<MessageStatus>,
    created_at: Ts,
    edited_at: Option<Ts>,
    deleted_at: Option<Ts>,
    channel: crate::ticket::Channel,
}

/// The API rendering of a message as one caller sees it.
pub fn message_json(v: &MessageView) -> MessageJson<'_> {
    let m = &v.message;
    MessageJson {
        id: m.id,
        conversation_id: m.conversation_id,
        seq: m.seq,
        sender_id: m.sender_id,
        content: &m.content,
        parent_id: m.parent_id,
        reply_count: m.reply_count,
        attachments: Each(&v.attachments, attachment_json),
        internal: m.internal,
        is_read: v.is_read,
        status: v.status,
        created_at: Ts(m.created_at),
        edited_at: opt_ts(m.edited_at),
        deleted_at: opt_ts(m.deleted_at),
        channel: m.channel,
    }
}

pub(crate) fn validate_content(content: &str, has_attachments: bool) -> Result<()> {
    crate::text::check("content", content)?;
    let chars = content.chars().count();
    if chars > MAX_CONTENT_CHARS {
        return Err(Error::invalid(
            "content",
            "must be at most 32000 characters",
        ));
    }
    if content.trim().is_empty() && !has_attachments {
        return Err(Error::invalid("content", "must not be empty"));
    }
    Ok(())
}

/// The addresses named as `@<email>` in a text, lowercased.
pub fn mentions(content: &str) -> Vec<String> {
    let mut out: Vec<String> = content
        .split(|c: char| {
            c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '<' | '>' | '"' | '\'')
        })
        .filter_map(|w| w.strip_prefix('@'))
        .map(|w| w.trim_end_matches(['.', '!', '?', ':']).to_lowercase())
        .filter(|w| crate::user::validate_email(w).is_ok())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn mentions_find_addresses_after_at_signs() {
        assert_eq!(
            mentions("Hi @Ann@Example.com, see @bob@example.org. Not me@x.com or @nobody"),
            vec!["ann@example.com".to_string(), "bob@example.org".to_string()]
        );
    }
}

#[cfg(test)]
mod receipt_arithmetic {
    use super::*;
    use crate::conversation::{ConversationKind, Member};
    use crate::receipt::*;
    use chrono::TimeZone;

    fn conv(members: &[Uuid]) -> Conversation {
        let at = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        Conversation {
            id: Uuid::now_v7(),
            kind: ConversationKind::Ticket,
            title: None,
            ticket_id: None,
            members: members
                .iter()
                .map(|u| Member {
                    user_id: *u,
                    joined_at: at,
                })
                .collect(),
            created_by: members[0],
            created_at: at,
            last_message_at: None,
            last_seq: 0,
            last_public_seq: 0,
            public_count: 0,
            direct_key: None,
        }
    }

    fn send(
        c: &mut Conversation,
        parts: &mut std::collections::HashMap<Uuid, Participant>,
        from: Uuid,
        internal: bool,
    ) -> Message {
        let new = MessageAppend {
            id: Uuid::now_v7(),
            conversation_id: c.id,
            sender_id: from,
            content: "x".into(),
            parent_id: None,
            attachment_ids: vec![],
            internal,
            created_at: c.created_at,
            join_sender: false,
            ticket_update: None,
            channel: Default::default(),
            base: None,
        };
        let (m, p) = apply_append(c, parts.remove(&from), &new);
        parts.insert(from, p);
        m
    }

    #[test]
    fn unread_counts_exclude_own_invisible_and_individually_read() {
        let (agent, customer) = (Uuid::now_v7(), Uuid::now_v7());
        let mut c = conv(&[agent, customer]);
        let mut parts = std::collections::HashMap::new();
        let m1 = send(&mut c, &mut parts, agent, false);
        send(&mut c, &mut parts, agent, true); // internal note
        send(&mut c, &mut parts, customer, false);
        let m4 = send(&mut c, &mut parts, agent, false);
        let cust = parts[&customer].clone();
        // The customer sees m1 and m4 from the agent (the note is invisible, m3 is own).
        assert_eq!(cust.unread(&c, false), 2);
        let mut read_one = cust.clone();
        read_one.read_above.push(m4.seq);
        assert_eq!(read_one.unread(&c, false), 1);
        assert!(read_one.has_read(m4.seq, Some(agent)));
        assert!(!read_one.has_read(m1.seq, Some(agent)));
        // The agent's own messages are read; the customer's one is not.
        let ag = parts[&agent].clone();
        assert_eq!(ag.unread(&c, true), 1);
    }

    #[test]
    fn sending_moves_a_watermark_that_stood_just_below() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mut c = conv(&[a, b]);
        let mut parts = std::collections::HashMap::new();
        send(&mut c, &mut parts, a, false);
        send(&mut c, &mut parts, a, false);
        assert_eq!(parts[&a].last_read_seq, 2);
        send(&mut c, &mut parts, b, false);
        send(&mut c, &mut parts, a, false);
        // b's message at seq 3 is unread for a, so a's watermark stays at 2.
        assert_eq!(parts[&a].last_read_seq, 2);
        assert_eq!(parts[&a].unread(&c, true), 1);
    }

    #[test]
    fn marks_keep_a_bounded_history_and_find_the_covering_time() {
        let at = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let mut marks = Vec::new();
        for i in 1..=40u64 {
            push_mark(
                &mut marks,
                Mark {
                    seq: i * 10,
                    at: at + chrono::Duration::seconds(i as i64),
                    one: false,
                },
            );
        }
        assert_eq!(marks.len(), MARK_HISTORY);
        assert_eq!(
            mark_time(&marks, 395),
            Some(at + chrono::Duration::seconds(40))
        );
        assert_eq!(mark_time(&marks, 1000), None);
    }
}
