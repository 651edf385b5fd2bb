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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The latest moves of the read state, oldest first, at most [`MARK_HISTORY`]: they
    /// give receipts their times.
    pub read_marks: Vec<Mark>,
    /// The latest moves of the delivery watermark, likewise.
    pub delivered_marks: Vec<Mark>,
    /// Optimistic concurrency: +1 on every write. `put_read_state` writes only if the
    /// stored version is `version - 1` (absent counts as 0), else `Conflict::Version`.
    pub version: u64,
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
    pub fn has_read(&self, seq: u64, sender_id: Uuid) -> bool {
        sender_id == self.user_id
            || seq <= self.last_read_seq
            || self.read_above.binary_search(&seq).is_ok()
    }

    /// Whether the message at `seq` has been delivered to this user.
    pub fn has_received(&self, seq: u64, sender_id: Uuid) -> bool {
        seq <= self.delivered_seq || self.has_read(seq, sender_id)
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

/// Records a mark, keeping the last [`MARK_HISTORY`].
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

/// The answer of the three mark-read operations.
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

use serde_json::json;

use crate::Helpdesk;
use crate::error::{Error, Result};
use crate::event::{Effects, NewEvent};
use crate::message::Message;
use crate::principal::Principal;

/// How far a gap-closing walk goes past the watermark in one mark (own messages and
/// notes the caller cannot see are skipped over without being marked one by one).
const GAP_WALK: usize = 64;

#[derive(Clone, Copy)]
enum Target<'a> {
    One(&'a Message),
    All,
    UpTo(&'a Message),
}

impl Participant {
    fn move_watermark_to(&mut self, m: &Message, own_at: u64) {
        self.last_read_seq = m.seq;
        self.public_at_watermark = m.public_ordinal;
        self.own_at_watermark = own_at;
        self.read_above.retain(|s| *s > m.seq);
    }
}

impl Helpdesk {
    async fn mark(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        target: Option<Uuid>,
        up_to: bool,
    ) -> Result<ReadState> {
        let conv = self.readable_conversation(p, conversation_id).await?;
        let message = match target {
            Some(id) => match self.st().get_message(conv.id, id).await? {
                Some(m) if !m.internal || p.is_staff() => Some(m),
                _ => return Err(Error::NotFound),
            },
            None => None,
        };
        let target = match (&message, up_to) {
            (None, _) => Target::All,
            (Some(m), true) => Target::UpTo(m),
            (Some(m), false) => Target::One(m),
        };
        let staff = p.is_staff();
        self.retry_on_version(|| async {
            // The participant first, then the conversation: an append in between bumps
            // the participant's version, so the write below fails and retries.
            let before = self
                .st()
                .get_participant(conv.id, p.user_id)
                .await?
                .unwrap_or_else(|| Participant::new(conv.id, p.user_id));
            let conv = self
                .st()
                .get_conversation(conv.id)
                .await?
                .ok_or(Error::NotFound)?;
            let mut part = before.clone();
            let now = self.now();
            match target {
                Target::All => {
                    if conv.last_seq > part.last_read_seq {
                        part.last_read_seq = conv.last_seq;
                        part.public_at_watermark = conv.public_count;
                        part.own_at_watermark = part.sent_count;
                        part.read_above.clear();
                    }
                }
                Target::UpTo(m) => {
                    if m.seq > part.last_read_seq {
                        let own_at = if m.sender_id == p.user_id {
                            m.sender_ordinal
                        } else {
                            self.st().own_count_upto(conv.id, p.user_id, m.seq).await?
                        };
                        part.move_watermark_to(m, own_at);
                    }
                }
                Target::One(m) => {
                    if !part.has_read(m.seq, m.sender_id) {
                        let at = part.read_above.partition_point(|s| *s < m.seq);
                        part.read_above.insert(at, m.seq);
                    }
                }
            }
            // Close the gap above the watermark over messages read one by one, own
            // messages and notes this caller cannot see.
            for _ in 0..GAP_WALK {
                let next = part.last_read_seq + 1;
                if next > conv.last_seq {
                    break;
                }
                let Some(m) = self.st().get_message_by_seq(conv.id, next).await? else {
                    break;
                };
                let own = m.sender_id == p.user_id;
                if own {
                    part.move_watermark_to(&m, m.sender_ordinal);
                } else if part.read_above.first() == Some(&next) || (m.internal && !staff) {
                    let own_at = part.own_at_watermark;
                    part.move_watermark_to(&m, own_at);
                } else {
                    break;
                }
            }
            if part.last_read_seq == before.last_read_seq && part.read_above == before.read_above {
                return Ok(ReadState {
                    conversation_id: conv.id,
                    unread_count: part.unread(&conv, staff),
                    last_read_seq: part.last_read_seq,
                });
            }
            let mark = match target {
                Target::One(m) if m.seq > part.last_read_seq => Mark {
                    seq: m.seq,
                    at: now,
                    one: true,
                },
                _ => Mark {
                    seq: part.last_read_seq,
                    at: now,
                    one: false,
                },
            };
            push_mark(&mut part.read_marks, mark);
            part.version += 1;
            let message_id = match target {
                Target::One(m) | Target::UpTo(m) => Some(m.id),
                Target::All => None,
            };
            // The news is for the senders of what was read, and for the reader's other
            // devices; not for every member of a large group.
            let upto = match target {
                Target::One(m) => m.seq.max(part.last_read_seq),
                _ => part.last_read_seq,
            };
            let mut audience = self
                .senders_audience(conv.id, before.last_read_seq, upto, p.user_id)
                .await?;
            if audience.conversation.is_none() {
                audience.users.push(p.user_id);
            }
            let fx = Effects::event(NewEvent::new(
                "message.read",
                now,
                audience,
                json!({
                    "conversation_id": conv.id,
                    "user_id": p.user_id,
                    "last_read_seq": part.last_read_seq,
                    "message_id": message_id,
                }),
            ));
            self.st().put_read_state(&part, &fx).await?;
            Ok(ReadState {
                conversation_id: conv.id,
                unread_count: part.unread(&conv, staff),
                last_read_seq: part.last_read_seq,
            })
        })
        .await
    }

    /// Marks one message read for the caller.
    pub async fn mark_read(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        message_id: Uuid,
    ) -> Result<ReadState> {
        self.mark(p, conversation_id, Some(message_id), false).await
    }

    /// Marks every message of the conversation read. Costs the same whatever the number
    /// of messages.
    pub async fn mark_all_read(&self, p: &Principal, conversation_id: Uuid) -> Result<ReadState> {
        self.mark(p, conversation_id, None, false).await
    }

    /// Marks every message with `seq` up to the given message's read. Never moves the
    /// read state backwards.
    pub async fn mark_read_up_to(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        message_id: Uuid,
    ) -> Result<ReadState> {
        self.mark(p, conversation_id, Some(message_id), true).await
    }

    /// The caller's unread messages per conversation (only those with unread) and in
    /// total.
    pub async fn unread_overview(&self, p: &Principal) -> Result<UnreadOverview> {
        let convs = self.st().member_conversations(p.user_id).await?;
        let ids: Vec<Uuid> = convs.iter().map(|c| c.id).collect();
        let parts: std::collections::HashMap<Uuid, Participant> = self
            .st()
            .participants_of(p.user_id, &ids)
            .await?
            .into_iter()
            .map(|x| (x.conversation_id, x))
            .collect();
        let mut conversations: Vec<UnreadConversation> = convs
            .iter()
            .map(|c| {
                let part = parts
                    .get(&c.id)
                    .cloned()
                    .unwrap_or_else(|| Participant::new(c.id, p.user_id));
                UnreadConversation {
                    conversation_id: c.id,
                    unread_count: part.unread(c, p.is_staff()),
                }
            })
            .filter(|u| u.unread_count > 0)
            .collect();
        conversations.sort_by_key(|u| u.conversation_id);
        Ok(UnreadOverview {
            total_unread: conversations.iter().map(|u| u.unread_count).sum(),
            conversations,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{ConversationKind, Member};
    use crate::message::{NewMessage, apply_append};
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
        let new = NewMessage {
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
        assert!(read_one.has_read(m4.seq, agent));
        assert!(!read_one.has_read(m1.seq, agent));
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
