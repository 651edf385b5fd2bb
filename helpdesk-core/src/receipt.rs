//! Read receipts: per (conversation, user) read watermarks plus the messages read one by
//! one above them, delivery watermarks, and the `is_read` / `status` / unread arithmetic.
//!
//! Nothing here scans messages: unread counts come from the conversation's counters and
//! the ordinals stored on the message at the watermark, so marking a conversation read
//! costs the same on ten messages as on a million.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::conversation::Conversation;

/// A user's read and delivery state in one conversation. Members have one from joining;
/// staff reading a ticket conversation they are not members of get one when they mark.
///
/// Reads come in two states (read receipts v2): the **private** one (`last_read_seq`,
/// `read_above` and their counters) drives the user's own `is_read` and unread counts and
/// may move back (`unread-from`); the **public** one (`public_read_seq`,
/// `public_read_above`, `read_marks`) is what others see (receipts, ticks) and only moves
/// forward, and only for reads made in public mode. A record written before the split
/// reads with its one state as both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredParticipant")]
pub struct Participant {
    /// The conversation.
    pub conversation_id: Uuid,
    /// The user.
    pub user_id: Uuid,
    /// Every message with `seq` ≤ this is read.
    pub last_read_seq: u64,
    /// `public_ordinal` of the message at the watermark (0 at seq 0).
    pub public_at_watermark: u64,
    /// How many of this user's own messages have `seq` ≤ the watermark.
    pub own_at_watermark: u64,
    /// Seqs above the watermark read one by one: sorted, unique, each a message this
    /// user may see and did not send.
    pub read_above: Vec<u64>,
    /// Every message with `seq` ≤ this has been delivered to this user.
    pub delivered_seq: u64,
    /// How many messages this user has sent here.
    pub sent_count: u64,
    /// The latest moves of the public read state, oldest first, at most
    /// [`MARK_HISTORY`]: they give receipts their times.
    pub read_marks: Vec<Mark>,
    /// The latest moves of the delivery watermark, likewise.
    pub delivered_marks: Vec<Mark>,
    /// Optimistic concurrency: +1 on every write. `put_read_state` writes only if the
    /// stored version is `version - 1` (absent counts as 0), else `Conflict::Version`.
    pub version: u64,
    /// The public watermark: every message with `seq` ≤ this is read as others see it.
    /// Never moves back.
    pub public_read_seq: u64,
    /// Seqs above the public watermark read one by one in public mode: sorted, unique.
    pub public_read_above: Vec<u64>,
}

/// [`Participant`] as stored: records from before read receipts v2 have no public state,
/// and their one state becomes both.
#[derive(Deserialize)]
struct StoredParticipant {
    conversation_id: Uuid,
    user_id: Uuid,
    last_read_seq: u64,
    public_at_watermark: u64,
    own_at_watermark: u64,
    read_above: Vec<u64>,
    delivered_seq: u64,
    sent_count: u64,
    read_marks: Vec<Mark>,
    delivered_marks: Vec<Mark>,
    version: u64,
    #[serde(default)]
    public_read_seq: Option<u64>,
    #[serde(default)]
    public_read_above: Option<Vec<u64>>,
}

impl From<StoredParticipant> for Participant {
    fn from(s: StoredParticipant) -> Self {
        Participant {
            public_read_seq: s.public_read_seq.unwrap_or(s.last_read_seq),
            public_read_above: s.public_read_above.unwrap_or_else(|| s.read_above.clone()),
            conversation_id: s.conversation_id,
            user_id: s.user_id,
            last_read_seq: s.last_read_seq,
            public_at_watermark: s.public_at_watermark,
            own_at_watermark: s.own_at_watermark,
            read_above: s.read_above,
            delivered_seq: s.delivered_seq,
            sent_count: s.sent_count,
            read_marks: s.read_marks,
            delivered_marks: s.delivered_marks,
            version: s.version,
        }
    }
}

impl Participant {
    /// A participant with nothing read.
    pub fn new(conversation_id: Uuid, user_id: Uuid) -> Self {
        Participant {
            conversation_id,
            user_id,
            last_read_seq: 0,
            public_at_watermark: 0,
            own_at_watermark: 0,
            read_above: Vec::new(),
            delivered_seq: 0,
            sent_count: 0,
            read_marks: Vec::new(),
            delivered_marks: Vec::new(),
            version: 0,
            public_read_seq: 0,
            public_read_above: Vec::new(),
        }
    }

    /// Joining a conversation reads its history: the watermark moves to the current end.
    /// The user's own count at the watermark is their whole sent count (a rejoining
    /// member's earlier messages all lie below the end).
    pub fn on_join(&mut self, conv: &Conversation) {
        if conv.last_seq > self.last_read_seq {
            self.last_read_seq = conv.last_seq;
            self.public_at_watermark = conv.public_count;
            self.own_at_watermark = self.sent_count;
            self.read_above.clear();
        }
        if conv.last_seq > self.public_read_seq {
            self.public_read_seq = conv.last_seq;
            self.public_read_above.clear();
        }
        self.delivered_seq = self.delivered_seq.max(self.last_read_seq);
    }

    /// Raises the delivery watermark to `seq` at `at`, recording the mark; false (and
    /// nothing changed) when it is there already.
    pub fn deliver_up_to(&mut self, seq: u64, at: DateTime<Utc>) -> bool {
        if self.delivered_seq >= seq {
            return false;
        }
        self.delivered_seq = seq;
        push_mark(
            &mut self.delivered_marks,
            Mark {
                seq,
                at,
                one: false,
            },
        );
        true
    }

    /// The participant record a member gets when added to `conv`, given the one they may
    /// already have.
    pub fn joined(conv: &Conversation, user_id: Uuid, existing: Option<Participant>) -> Self {
        let mut p = existing.unwrap_or_else(|| Participant::new(conv.id, user_id));
        p.on_join(conv);
        p.version += 1;
        p
    }

    /// Whether the message at `seq` is read by this user, given its sender. A user's own
    /// messages are always read.
    pub fn has_read(&self, seq: u64, sender_id: Option<Uuid>) -> bool {
        sender_id == Some(self.user_id)
            || seq <= self.last_read_seq
            || self.read_above.binary_search(&seq).is_ok()
    }

    /// Whether others see the message at `seq` as read by this user (the public state:
    /// receipts and ticks).
    pub fn has_read_publicly(&self, seq: u64, sender_id: Option<Uuid>) -> bool {
        sender_id == Some(self.user_id)
            || seq <= self.public_read_seq
            || self.public_read_above.binary_search(&seq).is_ok()
    }

    /// Whether the message at `seq` has been delivered to this user (as others see it:
    /// it never goes back).
    pub fn has_received(&self, seq: u64, sender_id: Option<Uuid>) -> bool {
        seq <= self.delivered_seq || self.has_read_publicly(seq, sender_id)
    }

    /// Whether the private and the public read states agree.
    pub fn reads_agree(&self) -> bool {
        self.last_read_seq == self.public_read_seq && self.read_above == self.public_read_above
    }

    /// Unread messages for this user in `conv`: the messages above the watermark that
    /// they may see (`staff`: internal notes too), less their own and those read one by
    /// one. O(1) in the number of messages.
    pub fn unread(&self, conv: &Conversation, staff: bool) -> u64 {
        let visible_above = if staff {
            conv.last_seq.saturating_sub(self.last_read_seq)
        } else {
            conv.public_count.saturating_sub(self.public_at_watermark)
        };
        let own_above = self.sent_count.saturating_sub(self.own_at_watermark);
        visible_above
            .saturating_sub(own_above)
            .saturating_sub(self.read_above.len() as u64)
    }
}

/// How many marks a participant keeps for receipt times.
pub const MARK_HISTORY: usize = 16;

/// One move of a read or delivery state: up to `seq` (or just `seq` when `one`) at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// The watermark after the move, or the one message read.
    pub seq: u64,
    /// When.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub at: DateTime<Utc>,
    /// Just the message at `seq` was read.
    #[serde(default)]
    pub one: bool,
}

/// Records a mark, keeping the last [`MARK_HISTORY`]. Store implementations reach it as
/// [`store::support::push_mark`](crate::store::support::push_mark).
#[doc(hidden)]
pub fn push_mark(marks: &mut Vec<Mark>, mark: Mark) {
    marks.push(mark);
    if marks.len() > MARK_HISTORY {
        let extra = marks.len() - MARK_HISTORY;
        marks.drain(..extra);
    }
}

/// The time of the first mark that covers `seq`. Older moves than the history keeps
/// answer with the oldest kept mark's time (a receipt is never shown earlier than it was).
pub fn mark_time(marks: &[Mark], seq: u64) -> Option<DateTime<Utc>> {
    marks
        .iter()
        .find(|m| if m.one { m.seq == seq } else { m.seq >= seq })
        .map(|m| m.at)
}

/// A member's receipt for one message, as shown to its sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// The member.
    pub user_id: Uuid,
    /// When it reached them.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When they read it.
    pub read_at: Option<DateTime<Utc>>,
}

/// The sender-side status of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Stored.
    Sent,
    /// Every other member has received it.
    Delivered,
    /// Every other member has read it.
    Read,
}

/// Whether a user's reads are shown to others ([`crate::user::User::read_receipts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadReceipts {
    /// Reads move the private and the public state: others see them.
    #[default]
    Public,
    /// Reads move the private state only; nobody else ever sees them.
    Private,
}

impl ReadReceipts {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReadReceipts::Public => "public",
            ReadReceipts::Private => "private",
        }
    }
}

impl std::str::FromStr for ReadReceipts {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "public" => Ok(ReadReceipts::Public),
            "private" => Ok(ReadReceipts::Private),
            _ => Err(crate::Error::invalid(
                "read_receipts",
                "must be public or private",
            )),
        }
    }
}

/// The answer of the three mark-read operations and of unread-from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReadState {
    /// The conversation.
    pub conversation_id: Uuid,
    /// The caller's unread count after the mark.
    pub unread_count: u64,
    /// The caller's watermark after the mark.
    pub last_read_seq: u64,
}

/// One conversation's unread count, for the unread overview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UnreadConversation {
    /// The conversation.
    pub conversation_id: Uuid,
    /// Unread messages in it.
    pub unread_count: u64,
}

/// A user's unread overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnreadOverview {
    /// Sum over conversations.
    pub total_unread: u64,
    /// Conversations with unread messages.
    pub conversations: Vec<UnreadConversation>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record stored before read receipts v2 reads with its one state as both; one
    /// stored after keeps its public state.
    #[test]
    fn old_records_read_their_state_as_both() {
        let (c, u) = (Uuid::now_v7(), Uuid::now_v7());
        let old = serde_json::json!({
            "conversation_id": c, "user_id": u, "last_read_seq": 5,
            "public_at_watermark": 4, "own_at_watermark": 1, "read_above": [7, 9],
            "delivered_seq": 9, "sent_count": 1, "read_marks": [], "delivered_marks": [],
            "version": 3,
        });
        let p: Participant = serde_json::from_value(old).unwrap();
        assert_eq!((p.last_read_seq, p.public_read_seq), (5, 5));
        assert_eq!(p.public_read_above, vec![7, 9]);
        assert!(p.reads_agree());
        let mut new = p.clone();
        new.last_read_seq = 2;
        new.read_above.clear();
        let back: Participant =
            serde_json::from_value(serde_json::to_value(&new).unwrap()).unwrap();
        assert_eq!(back, new);
        assert!(back.has_read_publicly(5, Some(c)) && !back.has_read(5, Some(c)));
    }
}
