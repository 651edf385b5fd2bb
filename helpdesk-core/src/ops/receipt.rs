//! Marking messages read (one, up to, all), unread counts, and the receipts of a
//! message.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::Helpdesk;
use crate::conversation::{Conversation, ConversationKind};
use crate::error::{Error, Result, StoreError};
use crate::event::{Audience, Effects, EventKind, NewEvent};
use crate::message::{Message, MessageRange, Pushed};
use crate::principal::Principal;
use crate::receipt::*;
use crate::store::DeliveryAdvance;
use serde_json::json;
use uuid::Uuid;

/// How far a gap-closing walk goes past the watermark in one mark (own messages and
/// notes the caller cannot see are skipped over without being marked one by one).
const GAP_WALK: usize = 64;

#[derive(Clone, Copy)]
enum Target<'a> {
    One(&'a Message),
    All,
    UpTo(&'a Message),
}

/// Up to this many newly delivered or read messages, a `message.delivered` or
/// `message.read` event names their senders as its audience; beyond, it goes to the
/// whole conversation.
const SENDERS_LISTED: u64 = 64;

/// Moves a member's watermark onto message `m` (`own_at`: how many of the member's own
/// messages are at or below it), forgetting the single reads it now covers.
fn move_watermark_to(part: &mut Participant, m: &Message, own_at: u64) {
    part.last_read_seq = m.seq;
    part.public_at_watermark = m.public_ordinal;
    part.own_at_watermark = own_at;
    part.read_above.retain(|s| *s > m.seq);
}

/// Whether the message right above `part`'s watermark may be one the walk over the gap
/// passes: one of the caller's own (some are above the watermark), one read one by one,
/// or an internal note a customer cannot see (only ticket conversations hold notes).
/// When none can be, the walk stops without reading it.
fn gap_may_close(part: &Participant, conv: &Conversation, staff: bool) -> bool {
    part.own_at_watermark < part.sent_count
        || !part.read_above.is_empty()
        || (!staff && conv.kind == ConversationKind::Ticket)
}

impl Helpdesk {
    async fn mark(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        target: Option<Uuid>,
        up_to: bool,
    ) -> Result<ReadState> {
        // The caller's receipt state and the conversation as one read saw them: an
        // append after it bumps the participant's version, so the write below fails
        // and retries (reading the participant first, then the conversation).
        let (conv, first_before) = self.readable_conversation_as(p, conversation_id).await?;
        let message = match target {
            Some(id) => Some(self.markable_message(p, &conv, id).await?),
            None => None,
        };
        let target = match (&message, up_to) {
            (None, _) => Target::All,
            (Some(m), true) => Target::UpTo(m),
            (Some(m), false) => Target::One(m),
        };
        let staff = p.is_staff();
        let public = self.reads_public(p).await?;
        self.retry_from((first_before, conv), |first| async {
            let (before, conv) = match first {
                Some(read) => read,
                None => {
                    let (conv, before) = self
                        .st()
                        .get_conversation_as(conversation_id, p.user_id)
                        .await?
                        .ok_or(Error::NotFound)?;
                    let before =
                        before.unwrap_or_else(|| Participant::new(conversation_id, p.user_id));
                    (before, conv)
                }
            };
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
                        let own_at = if m.sender_id == Some(p.user_id) {
                            m.sender_ordinal
                        } else if part.own_at_watermark == part.sent_count {
                            // None of the caller's messages is above the watermark.
                            part.sent_count
                        } else {
                            self.st().own_count_upto(conv.id, p.user_id, m.seq).await?
                        };
                        move_watermark_to(&mut part, m, own_at);
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
                if next > conv.last_seq || !gap_may_close(&part, &conv, staff) {
                    break;
                }
                let Some(m) = self.st().get_message_by_seq(conv.id, next).await? else {
                    break;
                };
                let own = m.sender_id == Some(p.user_id);
                if own {
                    move_watermark_to(&mut part, &m, m.sender_ordinal);
                } else if part.read_above.first() == Some(&next) || (m.internal && !staff) {
                    let own_at = part.own_at_watermark;
                    move_watermark_to(&mut part, &m, own_at);
                } else {
                    break;
                }
            }
            // In public mode the public state takes the same move; when the two states
            // agreed before, they agree after (the same move from the same place).
            if public {
                if before.reads_agree() {
                    part.public_read_seq = part.last_read_seq;
                    part.public_read_above = part.read_above.clone();
                } else {
                    self.mark_publicly(p, &conv, &mut part, target).await?;
                }
            }
            let private_moved =
                part.last_read_seq != before.last_read_seq || part.read_above != before.read_above;
            let public_moved = part.public_read_seq != before.public_read_seq
                || part.public_read_above != before.public_read_above;
            let state = ReadState {
                conversation_id: conv.id,
                unread_count: part.unread(&conv, staff),
                last_read_seq: part.last_read_seq,
            };
            if !private_moved && !public_moved {
                return Ok(state);
            }
            let message_id = match target {
                Target::One(m) | Target::UpTo(m) => Some(m.id),
                Target::All => None,
            };
            let data = |last_read_seq: u64| {
                json!({
                    "conversation_id": conv.id,
                    "user_id": p.user_id,
                    "last_read_seq": last_read_seq,
                    "message_id": message_id,
                })
            };
            let mut fx = Effects::none();
            let mut told_self = false;
            if public_moved {
                let mark = match target {
                    Target::One(m) if m.seq > part.public_read_seq => Mark {
                        seq: m.seq,
                        at: now,
                        one: true,
                    },
                    _ => Mark {
                        seq: part.public_read_seq,
                        at: now,
                        one: false,
                    },
                };
                push_mark(&mut part.read_marks, mark);
                // The news is for the senders of what was read, and for the reader's
                // other devices; not for every member of a large group.
                let upto = match target {
                    Target::One(m) => m.seq.max(part.public_read_seq),
                    _ => part.public_read_seq,
                };
                let sender_of_upto = match target {
                    Target::One(m) | Target::UpTo(m) if m.seq == upto => m.sender_id,
                    _ => None,
                };
                let mut audience = self
                    .senders_audience(
                        conv.id,
                        (before.public_read_seq, upto),
                        p.user_id,
                        sender_of_upto,
                    )
                    .await?;
                // The reader's devices hear the public news only when it tells their
                // own watermark.
                told_self = part.reads_agree();
                if audience.users_only && told_self {
                    audience.users.push(p.user_id);
                }
                fx.push(NewEvent::new(
                    EventKind::MessageRead,
                    now,
                    audience,
                    data(part.public_read_seq),
                ));
            }
            if private_moved && !told_self {
                // A private read (or one the public state had already): the reader's own
                // connections only, never webhooked.
                fx.push(NewEvent::own_connections(
                    EventKind::MessageRead,
                    now,
                    p.user_id,
                    data(part.last_read_seq),
                ));
            }
            part.version += 1;
            self.written(self.st().put_read_state(&part, &fx)).await?;
            Ok(state)
        })
        .await
    }

    /// The message a read-state operation names: in the conversation and visible to the
    /// caller, else `NotFound`.
    async fn markable_message(
        &self,
        p: &Principal,
        conv: &Conversation,
        id: Uuid,
    ) -> Result<Message> {
        match self.st().get_message(conv.id, id).await? {
            Some(m) if !m.internal || p.is_staff() => Ok(m),
            _ => Err(Error::NotFound),
        }
    }

    /// Whether the caller's reads are public ([`ReadReceipts`]), as the store has it
    /// now: not as kept with the session, since a read published within the moment a
    /// switch to private takes to reach this instance could not be taken back.
    async fn reads_public(&self, p: &Principal) -> Result<bool> {
        Ok(self
            .st()
            .get_user(p.user_id)
            .await?
            .is_none_or(|u| u.read_receipts == ReadReceipts::Public))
    }

    /// Applies a public-mode mark to the public state of a participant whose two states
    /// differ (after private reads or an unread-from): the same move as on the private
    /// state, and the same walk over the gap above the public watermark.
    async fn mark_publicly(
        &self,
        p: &Principal,
        conv: &Conversation,
        part: &mut Participant,
        target: Target<'_>,
    ) -> Result<()> {
        let mut seq = part.public_read_seq;
        let above = &mut part.public_read_above;
        match target {
            Target::All => seq = seq.max(conv.last_seq),
            Target::UpTo(m) => seq = seq.max(m.seq),
            Target::One(m) => {
                if m.sender_id != Some(p.user_id)
                    && m.seq > seq
                    && let Err(at) = above.binary_search(&m.seq)
                {
                    above.insert(at, m.seq);
                }
            }
        }
        for _ in 0..GAP_WALK {
            let next = seq + 1;
            if next > conv.last_seq {
                break;
            }
            if above.binary_search(&next).is_ok() {
                seq = next;
                continue;
            }
            let Some(m) = self.st().get_message_by_seq(conv.id, next).await? else {
                break;
            };
            if m.sender_id == Some(p.user_id) || (m.internal && !p.is_staff()) {
                seq = next;
            } else {
                break;
            }
        }
        above.retain(|s| *s > seq);
        part.public_read_seq = seq;
        Ok(())
    }

    /// Marks the caller's messages from `message_id` on unread again (read receipts v2):
    /// with `s` its seq, the private watermark becomes `min(watermark, s - 1)` and the
    /// messages from `s` on read one by one become unread; nothing below `s` changes, the
    /// caller's own messages stay read, and the public state (receipts, ticks) stays
    /// where it is. Idempotent; a move tells only the caller's own connections
    /// (`message.unread`), never webhooks.
    pub async fn mark_unread_from(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        message_id: Uuid,
    ) -> Result<ReadState> {
        let conv = self.readable_conversation(p, conversation_id).await?;
        let m = self.markable_message(p, &conv, message_id).await?;
        let staff = p.is_staff();
        self.retry_on_version(|| async {
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
            let s = m.seq;
            if part.last_read_seq >= s {
                part.last_read_seq = s - 1;
                // The public messages up to s - 1: the message at s counts itself when
                // public.
                part.public_at_watermark = m.public_ordinal - u64::from(!m.internal);
                part.own_at_watermark = if s == 1 {
                    0
                } else {
                    self.st().own_count_upto(conv.id, p.user_id, s - 1).await?
                };
            }
            part.read_above.retain(|x| *x < s);
            let state = ReadState {
                conversation_id: conv.id,
                unread_count: part.unread(&conv, staff),
                last_read_seq: part.last_read_seq,
            };
            if part.last_read_seq == before.last_read_seq && part.read_above == before.read_above {
                return Ok(state);
            }
            part.version += 1;
            let fx = Effects::event(NewEvent::own_connections(
                EventKind::MessageUnread,
                self.now(),
                p.user_id,
                json!({
                    "conversation_id": conv.id,
                    "user_id": p.user_id,
                    "last_read_seq": state.last_read_seq,
                    "unread_count": state.unread_count,
                }),
            ));
            self.written(self.st().put_read_state(&part, &fx)).await?;
            Ok(state)
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
        let convs = self.still_readable(p, convs).await?;
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

/// Delivery: messages reaching members (fetched, or pushed on a live connection).
impl Helpdesk {
    /// Records that messages up to `seq` reached a member (fetched, or pushed on a live
    /// connection). Writes only when the member's delivery watermark moves.
    pub async fn mark_delivered(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        seq: u64,
    ) -> Result<()> {
        let Some(conv) = self.st().get_conversation(conversation_id).await? else {
            return Ok(());
        };
        self.delivered_in(p, &conv, None, seq).await
    }

    /// Records that a reader of `conv` received its messages up to `seq` (members only);
    /// `me` is the caller's receipt state when the caller read it already.
    pub(crate) async fn delivered_in(
        &self,
        p: &Principal,
        conv: &Conversation,
        me: Option<&Participant>,
        seq: u64,
    ) -> Result<()> {
        if !conv.is_member(p.user_id) || me.is_some_and(|me| me.delivered_seq >= seq) {
            return Ok(());
        }
        self.record_delivery(p, conv.id, seq).await
    }

    /// [`Helpdesk::mark_delivered`] for messages that a live connection just pushed to
    /// members: the pusher checked who may see them when it fanned the events out, and
    /// names each message's sender, so this reads the members' records instead of the
    /// conversation (whose member list, in a large group, is the expensive part), and
    /// records the deliveries of each conversation in one write.
    #[doc(hidden)] // a server's delivery records (helpdesk-http); embedders use mark_delivered
    pub async fn mark_pushed(&self, pushed: &[Pushed]) -> Result<()> {
        let mut by_conv: HashMap<Uuid, Vec<&Pushed>> = HashMap::new();
        for p in pushed {
            by_conv.entry(p.conversation_id).or_default().push(p);
        }
        let mut first_err = None;
        for (conversation_id, pushed) in by_conv {
            // One conversation's failure spares the others; one deleted meanwhile has
            // nothing left to deliver.
            match self.record_pushed(conversation_id, &pushed).await {
                Ok(()) | Err(Error::Store(StoreError::NotFound)) => {}
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    async fn record_pushed(&self, conversation_id: Uuid, pushed: &[&Pushed]) -> Result<()> {
        let users: Vec<Uuid> = pushed.iter().map(|p| p.principal.user_id).collect();
        let read: HashMap<Uuid, u64> = (self.st())
            .delivery_watermarks(conversation_id, &users)
            .await?
            .into_iter()
            .collect();
        let now = self.now();
        let mut advances = Vec::new();
        for p in pushed {
            let from = read.get(&p.principal.user_id).copied();
            if let Some(mut a) = self
                .delivery_advance(
                    &p.principal,
                    conversation_id,
                    from.unwrap_or(0),
                    p.seq,
                    p.sender_id,
                    now,
                )
                .await?
            {
                a.from = from;
                advances.push(a);
            }
        }
        self.advance_delivered(conversation_id, now, &advances)
            .await
    }

    /// Writes delivery advances of one conversation; wakes the live channels if one moved.
    async fn advance_delivered(
        &self,
        conversation_id: Uuid,
        now: DateTime<Utc>,
        advances: &[DeliveryAdvance],
    ) -> Result<()> {
        if advances.is_empty() {
            return Ok(());
        }
        self.written(self.st().advance_delivered(conversation_id, now, advances))
            .await?;
        Ok(())
    }

    /// The audience of news about `reader` receiving or reading the messages with `seq`
    /// in `(from, to]`: their senders (the reader excluded). For a long range (rare:
    /// a first fetch of a long history) the whole conversation instead of a listing.
    /// `sender_of_to`: the sender of message `to`, when the caller knows it; a range of
    /// that one message then needs no read (a push delivered, a read one further).
    pub(crate) async fn senders_audience(
        &self,
        conversation_id: Uuid,
        (from, to): (u64, u64),
        reader: Uuid,
        sender_of_to: Option<Uuid>,
    ) -> Result<Audience> {
        if to <= from {
            return Ok(Audience::readers_among(conversation_id, []));
        }
        if let Some(sender) = sender_of_to.filter(|_| to == from + 1) {
            let others = (sender != reader).then_some(sender);
            return Ok(Audience::readers_among(conversation_id, others));
        }
        if to - from > SENDERS_LISTED {
            return Ok(Audience::conversation(conversation_id, false));
        }
        let messages = self
            .st()
            .list_messages(
                conversation_id,
                MessageRange::After(from),
                true,
                (to - from) as usize,
            )
            .await?;
        let senders: std::collections::BTreeSet<Uuid> = messages
            .iter()
            .filter(|m| m.seq <= to && m.sender_id != Some(reader))
            .filter_map(|m| m.sender_id)
            .collect();
        Ok(Audience::readers_among(conversation_id, senders))
    }

    /// Raises a member's delivery watermark to `seq` and tells the senders of the
    /// messages it delivers.
    async fn record_delivery(&self, p: &Principal, conversation_id: Uuid, seq: u64) -> Result<()> {
        let old = self
            .st()
            .get_participant(conversation_id, p.user_id)
            .await?
            .map_or(0, |x| x.delivered_seq);
        let now = self.now();
        let advance = self
            .delivery_advance(p, conversation_id, old, seq, None, now)
            .await?;
        self.advance_delivered(conversation_id, now, advance.as_slice())
            .await
    }

    /// The advance of a member's delivery watermark from `old` to `seq`, with its news
    /// for the senders of the messages it delivers (`sender`: the sender of message
    /// `seq`, when known); `None` when the watermark is there already.
    async fn delivery_advance(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        old: u64,
        seq: u64,
        sender: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<Option<DeliveryAdvance>> {
        if old >= seq {
            return Ok(None);
        }
        // The news is for the senders of the messages just delivered: in a group of N
        // every push is delivered N times, and telling every member would cost N² frames.
        let audience = self
            .senders_audience(conversation_id, (old, seq), p.user_id, sender)
            .await?;
        let fx = Effects::event(NewEvent::new(
            EventKind::MessageDelivered,
            now,
            audience,
            json!({"conversation_id": conversation_id, "user_id": p.user_id, "delivered_seq": seq}),
        ));
        Ok(Some(DeliveryAdvance {
            user_id: p.user_id,
            seq,
            fx,
            from: None,
        }))
    }
}
