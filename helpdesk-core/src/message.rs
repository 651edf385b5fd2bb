//! Messages: per-conversation `seq`, nested replies and threads, internal notes, edits and
//! soft deletes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::conversation::{Conversation, Member};
use crate::error::Conflict;
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
    /// Who sent it.
    pub sender_id: Uuid,
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
pub struct NewMessage {
    /// Id.
    pub id: Uuid,
    /// The conversation.
    pub conversation_id: Uuid,
    /// Sender.
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
}

/// Up to this many newly delivered or read messages, a `message.delivered` or
/// `message.read` event names their senders as its audience; beyond, it goes to the
/// whole conversation.
const SENDERS_LISTED: u64 = 64;

/// Deliveries in one conversation read one record each; more read the conversation's.
const PUSHED_READ_ONE_BY_ONE: usize = 8;

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
    /// Its sender.
    pub sender_id: Uuid,
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

/// The records changes of appending a message, shared by every store so the arithmetic
/// is written once: call it inside the atomic operation with the locked conversation and
/// the sender's participant record (or `None` when they have none), then write back
/// `conv`, the returned participant and the returned message, count the reply on the
/// parent ([`Message::count_reply`]), attach the attachments, write `ticket_update`,
/// and the effects.
pub fn apply_append(
    conv: &mut Conversation,
    sender: Option<Participant>,
    new: &NewMessage,
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
        sender_id: new.sender_id,
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
    sender.version += 1;
    (message, sender)
}

use std::collections::HashMap;

use serde_json::json;

use crate::Helpdesk;
use crate::attachment::Attachment;
use crate::conversation::ConversationKind;
use crate::error::{Error, Result, StoreError};
use crate::event::{Audience, Effects, NewEvent};
use crate::notification::{Notification, NotificationData, NotificationKind};
use crate::page::{Cursor, Page, limit};
use crate::principal::Principal;
use crate::receipt::{MessageStatus, Receipt, mark_time};
use crate::store::DeliveryAdvance;
use crate::ticket::{TicketStatus, announce_notifications, ticket_change_effects};
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
pub struct NewMessageInput {
    /// Text (1..=32,000 characters unless attachments are given).
    pub content: String,
    /// The message replied to.
    pub parent_id: Option<Uuid>,
    /// The caller's uploads to attach.
    pub attachment_ids: Vec<Uuid>,
    /// A staff-only note (ticket conversations).
    pub internal: bool,
}

impl NewMessageInput {
    /// A plain text message.
    pub fn text(content: &str) -> Self {
        NewMessageInput {
            content: content.to_string(),
            ..Default::default()
        }
    }
    /// A reply.
    pub fn reply(content: &str, parent_id: Uuid) -> Self {
        NewMessageInput {
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
    sender_id: Uuid,
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
    }
}

fn validate_content(content: &str, has_attachments: bool) -> Result<()> {
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

impl Helpdesk {
    /// Renders messages for a caller: `is_read`, `status` on their own, attachments.
    pub(crate) async fn message_views(
        &self,
        p: &Principal,
        conv: &Conversation,
        messages: Vec<Message>,
    ) -> Result<Vec<MessageView>> {
        let me = self.me_in(p, conv).await?;
        self.message_views_as(p, conv, &me, messages).await
    }

    /// The caller's receipt state in a conversation (a fresh one when they have none).
    async fn me_in(&self, p: &Principal, conv: &Conversation) -> Result<Participant> {
        Ok(self
            .st()
            .get_participant(conv.id, p.user_id)
            .await?
            .unwrap_or_else(|| Participant::new(conv.id, p.user_id)))
    }

    /// [`Helpdesk::message_views`] with the caller's receipt state already read.
    async fn message_views_as(
        &self,
        p: &Principal,
        conv: &Conversation,
        me: &Participant,
        messages: Vec<Message>,
    ) -> Result<Vec<MessageView>> {
        let own_any = messages.iter().any(|m| m.sender_id == p.user_id);
        let others: Vec<Participant> = if own_any {
            self.st()
                .participants(conv.id)
                .await?
                .into_iter()
                .filter(|x| x.user_id != p.user_id && conv.is_member(x.user_id))
                .collect()
        } else {
            Vec::new()
        };
        let mut staff_others: Option<Vec<&Participant>> = None;
        if messages
            .iter()
            .any(|m| m.internal && m.sender_id == p.user_id)
        {
            let mut v = Vec::new();
            for x in &others {
                if self
                    .st()
                    .get_user(x.user_id)
                    .await?
                    .is_some_and(|u| u.role.is_staff())
                {
                    v.push(x);
                }
            }
            staff_others = Some(v);
        }
        let mut views = Vec::with_capacity(messages.len());
        for m in messages {
            let status = (m.sender_id == p.user_id).then(|| {
                let audience: Vec<&Participant> = match (&staff_others, m.internal) {
                    (Some(s), true) => s.clone(),
                    _ => others.iter().collect(),
                };
                if audience.is_empty() {
                    MessageStatus::Sent
                } else if audience.iter().all(|x| x.has_read(m.seq, m.sender_id)) {
                    MessageStatus::Read
                } else if audience.iter().all(|x| x.has_received(m.seq, m.sender_id)) {
                    MessageStatus::Delivered
                } else {
                    MessageStatus::Sent
                }
            });
            views.push(MessageView {
                is_read: me.has_read(m.seq, m.sender_id),
                status,
                attachments: self.attachments_of(&m).await?,
                message: m.for_reader(Self::sees_internal(p)),
            });
        }
        Ok(views)
    }

    /// A message's attachments (those still stored).
    async fn attachments_of(&self, m: &Message) -> Result<Vec<Attachment>> {
        let mut attachments = Vec::with_capacity(m.attachment_ids.len());
        for id in &m.attachment_ids {
            if let Some(a) = self.st().get_attachment(*id).await? {
                attachments.push(a);
            }
        }
        Ok(attachments)
    }

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
    async fn delivered_in(
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
        // A handful: one read each; more (a group message): the conversation's records
        // in one read.
        let delivered: HashMap<Uuid, u64> = if pushed.len() <= PUSHED_READ_ONE_BY_ONE {
            let mut delivered = HashMap::new();
            for p in pushed {
                if let Some(x) = self
                    .st()
                    .get_participant(conversation_id, p.principal.user_id)
                    .await?
                {
                    delivered.insert(x.user_id, x.delivered_seq);
                }
            }
            delivered
        } else {
            self.st()
                .participants(conversation_id)
                .await?
                .into_iter()
                .map(|x| (x.user_id, x.delivered_seq))
                .collect()
        };
        let now = self.now();
        let mut advances = Vec::new();
        for p in pushed {
            let old = delivered.get(&p.principal.user_id).copied().unwrap_or(0);
            if let Some(a) = self
                .delivery_advance(
                    &p.principal,
                    conversation_id,
                    old,
                    p.seq,
                    Some(p.sender_id),
                    now,
                )
                .await?
            {
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
        let moved = self
            .st()
            .advance_delivered(conversation_id, now, advances)
            .await?;
        if moved.contains(&true) {
            self.wake();
        }
        Ok(())
    }

    /// The audience of news about `reader` receiving or reading the messages with `seq`
    /// in `(from, to]`: their senders (the reader excluded). For a long range (rare:
    /// a first fetch of a long history) the whole conversation instead of a listing.
    pub(crate) async fn senders_audience(
        &self,
        conversation_id: Uuid,
        from: u64,
        to: u64,
        reader: Uuid,
    ) -> Result<Audience> {
        if to <= from {
            return Ok(Audience::nobody());
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
            .filter(|m| m.seq <= to && m.sender_id != reader)
            .map(|m| m.sender_id)
            .collect();
        Ok(Audience::users(senders))
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
        // A long catch-up (rare) goes to the whole conversation instead of listing senders.
        let audience = match sender {
            Some(sender) if seq == old + 1 => {
                Audience::users((sender != p.user_id).then_some(sender))
            }
            _ => {
                self.senders_audience(conversation_id, old, seq, p.user_id)
                    .await?
            }
        };
        let fx = Effects::event(NewEvent::new(
            "message.delivered",
            now,
            audience,
            json!({"conversation_id": conversation_id, "user_id": p.user_id, "delivered_seq": seq}),
        ));
        Ok(Some(DeliveryAdvance {
            user_id: p.user_id,
            seq,
            fx,
        }))
    }

    /// Whether the caller may see internal notes (and be told of them in counts).
    fn sees_internal(p: &Principal) -> bool {
        p.is_staff()
    }

    fn can_see_message(p: &Principal, m: &Message) -> bool {
        !m.internal || Self::sees_internal(p)
    }

    /// A message the caller may see in a conversation they may read.
    async fn visible_message(
        &self,
        p: &Principal,
        conv: &Conversation,
        id: Uuid,
    ) -> Result<Message> {
        match self.st().get_message(conv.id, id).await? {
            Some(m) if Self::can_see_message(p, &m) => Ok(m),
            _ => Err(Error::NotFound),
        }
    }

    /// Sends a message. Members post; staff also post to ticket conversations (and join
    /// them). Internal notes are for staff, on ticket conversations.
    pub async fn send_message(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        input: NewMessageInput,
    ) -> Result<MessageView> {
        let conv = self.readable_conversation(p, conversation_id).await?;
        let is_ticket = conv.kind == ConversationKind::Ticket;
        let join_sender = !conv.is_member(p.user_id);
        if join_sender && !(p.is_staff() && is_ticket) {
            return Err(Error::forbidden("only members can post here"));
        }
        if input.internal && !p.is_staff() {
            return Err(Error::ForbiddenField("internal".into()));
        }
        if input.internal && !is_ticket {
            return Err(Error::invalid(
                "internal",
                "internal notes belong to ticket conversations",
            ));
        }
        validate_content(&input.content, !input.attachment_ids.is_empty())?;
        if input.attachment_ids.len() > 20 {
            return Err(Error::invalid("attachment_ids", "at most 20 attachments"));
        }
        let parent = match input.parent_id {
            Some(pid) => match self.st().get_message(conv.id, pid).await? {
                // A public reply to an internal note would show customers that the
                // note exists (its id, as their message's parent).
                Some(m) if m.internal && !input.internal => {
                    return Err(Error::invalid(
                        "parent_id",
                        "is an internal note: a reply to it must be internal too",
                    ));
                }
                Some(m) if Self::can_see_message(p, &m) => Some(m),
                _ => {
                    return Err(Error::invalid(
                        "parent_id",
                        "is not a message of this conversation",
                    ));
                }
            },
            None => None,
        };
        self.check_own_attachments(p, &input.attachment_ids).await?;
        let mentioned = {
            let mut v = Vec::new();
            for email in mentions(&input.content) {
                if let Some(u) = self.st().get_user_by_email(&email).await? {
                    let principal = Principal::user(u.id, u.role);
                    if u.is_active
                        && u.id != p.user_id
                        && Self::can_read_conversation(&principal, &conv)
                        && (!input.internal || u.role.is_staff())
                    {
                        v.push(u.id);
                    }
                }
            }
            v
        };
        let parent_author = match &parent {
            Some(m) if m.sender_id != p.user_id => match self.st().get_user(m.sender_id).await? {
                Some(u) if !input.internal || u.role.is_staff() => Some(u.id),
                _ => None,
            },
            _ => None,
        };
        let view = self
            .retry_on_version(|| async {
                let now = self.now();
                let ticket = match conv.ticket_id {
                    Some(t) => self.st().get_ticket(t).await?,
                    None => None,
                };
                if let Some(t) = &ticket
                    && t.status == TicketStatus::Closed
                {
                    return Err(Error::TicketClosed);
                }
                let mut ticket_update = None;
                let mut ticket_fx = Effects::none();
                if let Some(before) = &ticket {
                    let mut after = before.clone();
                    if p.user_id == before.requester_id
                        && matches!(
                            before.status,
                            TicketStatus::Pending | TicketStatus::Resolved
                        )
                    {
                        crate::ticket::move_status(&mut after, TicketStatus::Open, now);
                    }
                    if p.is_staff() && !input.internal && after.first_response_at.is_none() {
                        after.first_response_at = Some(now);
                    }
                    if after != *before {
                        after.updated_at = now;
                        after.version += 1;
                        ticket_fx = ticket_change_effects(before, &after, p.actor(), now);
                        ticket_update = Some(after);
                    }
                }
                let new = NewMessage {
                    id: crate::clock::new_id(),
                    conversation_id: conv.id,
                    sender_id: p.user_id,
                    content: input.content.clone(),
                    parent_id: input.parent_id,
                    attachment_ids: input.attachment_ids.clone(),
                    internal: input.internal,
                    created_at: now,
                    join_sender,
                    ticket_update: ticket_update.clone(),
                };
                let mut recipients: Vec<(Uuid, NotificationKind)> = Vec::new();
                for u in &mentioned {
                    recipients.push((*u, NotificationKind::Mention));
                }
                if let Some(a) = parent_author {
                    recipients.push((a, NotificationKind::Reply));
                }
                if let Some(t) = ticket_update.as_ref().or(ticket.as_ref()) {
                    for u in std::iter::once(t.requester_id).chain(t.assignee_id) {
                        if u != p.user_id && (!input.internal || u != t.requester_id) {
                            recipients.push((u, NotificationKind::TicketMessage));
                        }
                    }
                }
                let mut seen = std::collections::HashSet::new();
                recipients.retain(|(u, _)| seen.insert(*u));
                let title_ticket = ticket.as_ref().map(|t| (t.id, t.number));
                let sender_name = self
                    .st()
                    .get_user(p.user_id)
                    .await?
                    .map(|u| u.name)
                    .unwrap_or_default();
                let build = |m: &Message| {
                    let mut fx = ticket_fx.clone();
                    let view = MessageView {
                        message: m.clone(),
                        is_read: false,
                        status: None,
                        attachments: Vec::new(),
                    };
                    fx.push(NewEvent::new(
                        "message.created",
                        now,
                        Audience::conversation(m.conversation_id, m.internal),
                        json!({"message": message_json(&view)}),
                    ));
                    for (u, kind) in &recipients {
                        let title = match kind {
                            NotificationKind::Mention => format!("{sender_name} mentioned you"),
                            NotificationKind::Reply => format!("{sender_name} replied to you"),
                            _ => match title_ticket {
                                Some((_, n)) => format!("New message on ticket #{n}"),
                                None => "New message".to_string(),
                            },
                        };
                        let body: String = m.content.chars().take(140).collect();
                        fx.notifications.push(Notification {
                            id: crate::clock::new_id(),
                            user_id: *u,
                            kind: *kind,
                            title,
                            body,
                            data: NotificationData {
                                ticket_id: title_ticket.map(|(id, _)| id),
                                conversation_id: Some(m.conversation_id),
                                message_id: Some(m.id),
                            },
                            read_at: None,
                            created_at: now,
                        });
                    }
                    // Announce every notification once, the ticket change's included.
                    fx.events.retain(|e| e.kind != "notification.created");
                    announce_notifications(&mut fx);
                    fx
                };
                let m = match self.st().append_message(&new, &build).await {
                    Err(e) if e.is_conflict(Conflict::Attachment) => {
                        return Err(Error::Conflict(
                            "an attachment was attached meanwhile".into(),
                        ));
                    }
                    other => other?,
                };
                // Just appended: no other member can have received it yet, and one's own
                // messages are read.
                Ok(MessageView {
                    is_read: true,
                    status: Some(MessageStatus::Sent),
                    attachments: self.attachments_of(&m).await?,
                    message: m,
                })
            })
            .await?;
        Ok(view)
    }

    /// A page of messages, oldest to newest within the page. Fetching counts as delivery.
    pub async fn list_messages(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        q: MessagePageQuery,
    ) -> Result<Page<MessageView>> {
        let limit = limit(q.limit)?;
        let conv = self.readable_conversation(p, conversation_id).await?;
        let range = if let Some(before) = q.before {
            MessageRange::Before(self.visible_message(p, &conv, before).await?.seq)
        } else if let Some(after) = q.after {
            MessageRange::After(self.visible_message(p, &conv, after).await?.seq)
        } else if let Some(c) = q.cursor {
            // Older pages carry a positive seq, newer ones a negative one.
            if c.key > 0 {
                MessageRange::Before(c.key as u64)
            } else if c.key < 0 {
                MessageRange::After(c.key.unsigned_abs())
            } else {
                return Err(Error::invalid("cursor", "is not a valid cursor"));
            }
        } else {
            MessageRange::Latest
        };
        let mut messages = self
            .st()
            .list_messages(conv.id, range, p.is_staff(), limit + 1)
            .await?;
        let next_cursor = if messages.len() > limit {
            match range {
                MessageRange::After(_) => {
                    messages.truncate(limit);
                    messages.last().map(|m| Cursor::new(-(m.seq as i64), m.id))
                }
                _ => {
                    messages.remove(0);
                    messages.first().map(|m| Cursor::new(m.seq as i64, m.id))
                }
            }
        } else {
            None
        };
        let max_seq = messages.iter().map(|m| m.seq).max().unwrap_or(0);
        let me = self.me_in(p, &conv).await?;
        let items = self.message_views_as(p, &conv, &me, messages).await?;
        self.delivered_in(p, &conv, Some(&me), max_seq).await?;
        Ok(Page { items, next_cursor })
    }

    /// One message. Fetching counts as delivery.
    pub async fn get_message(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        id: Uuid,
    ) -> Result<MessageView> {
        let conv = self.readable_conversation(p, conversation_id).await?;
        let m = self.visible_message(p, &conv, id).await?;
        let seq = m.seq;
        let me = self.me_in(p, &conv).await?;
        let view = self
            .message_views_as(p, &conv, &me, vec![m])
            .await?
            .remove(0);
        self.delivered_in(p, &conv, Some(&me), seq).await?;
        Ok(view)
    }

    /// Every descendant of a message the caller may see, oldest first, with depths.
    pub async fn thread(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        id: Uuid,
    ) -> Result<Vec<ThreadItem>> {
        let conv = self.readable_conversation(p, conversation_id).await?;
        self.visible_message(p, &conv, id).await?;
        let items: Vec<(Message, u32)> = self
            .st()
            .descendants(conv.id, id)
            .await?
            .into_iter()
            .filter(|(m, _)| Self::can_see_message(p, m))
            .collect();
        let max_seq = items.iter().map(|(m, _)| m.seq).max().unwrap_or(0);
        let depths: Vec<u32> = items.iter().map(|(_, d)| *d).collect();
        let me = self.me_in(p, &conv).await?;
        let views = self
            .message_views_as(p, &conv, &me, items.into_iter().map(|(m, _)| m).collect())
            .await?;
        self.delivered_in(p, &conv, Some(&me), max_seq).await?;
        Ok(views
            .into_iter()
            .zip(depths)
            .map(|(message, depth)| ThreadItem { message, depth })
            .collect())
    }

    /// Edits a message's content (its sender only).
    pub async fn edit_message(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        id: Uuid,
        content: &str,
    ) -> Result<MessageView> {
        let conv = self.readable_conversation(p, conversation_id).await?;
        let mut m = self.visible_message(p, &conv, id).await?;
        if m.sender_id != p.user_id {
            return Err(Error::forbidden("only the sender can edit a message"));
        }
        validate_content(content, !m.attachment_ids.is_empty())?;
        if m.deleted_at.is_some() {
            return Err(Error::Conflict("the message is deleted".into()));
        }
        let now = self.now();
        m.content = content.to_string();
        m.edited_at = Some(now);
        let view = self
            .message_views(p, &conv, vec![m.clone()])
            .await?
            .remove(0);
        // One payload for the whole audience, and a public message's audience has
        // customers in it: it is rendered as they see it.
        let event_view = MessageView {
            message: view.message.clone().for_reader(m.internal),
            is_read: false,
            status: None,
            attachments: view.attachments.clone(),
        };
        let fx = Effects::event(NewEvent::new(
            "message.updated",
            now,
            Audience::conversation(conv.id, m.internal),
            json!({"message": message_json(&event_view)}),
        ));
        self.st().update_message(&m, &fx).await?;
        self.wake();
        Ok(view)
    }

    /// Deletes a message (its sender, or an admin): the content is emptied and
    /// `deleted_at` set; the message keeps its place.
    pub async fn delete_message(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        id: Uuid,
    ) -> Result<()> {
        let conv = self.readable_conversation(p, conversation_id).await?;
        let mut m = self.visible_message(p, &conv, id).await?;
        if m.sender_id != p.user_id && !p.is_admin() {
            return Err(Error::forbidden(
                "only the sender or an admin can delete a message",
            ));
        }
        if m.deleted_at.is_some() {
            return Ok(());
        }
        let now = self.now();
        m.content = String::new();
        m.deleted_at = Some(now);
        let fx = Effects::event(NewEvent::new(
            "message.deleted",
            now,
            Audience::conversation(conv.id, m.internal),
            json!({"conversation_id": conv.id, "message_id": m.id, "seq": m.seq}),
        ));
        self.st().update_message(&m, &fx).await?;
        self.wake();
        Ok(())
    }

    /// Per-member receipts of a message: its sender and staff.
    pub async fn receipts(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        id: Uuid,
    ) -> Result<Vec<Receipt>> {
        let conv = self.readable_conversation(p, conversation_id).await?;
        let m = self.visible_message(p, &conv, id).await?;
        if m.sender_id != p.user_id && !p.is_staff() {
            return Err(Error::forbidden("only the sender and staff see receipts"));
        }
        let participants: std::collections::HashMap<Uuid, Participant> = self
            .st()
            .participants(conv.id)
            .await?
            .into_iter()
            .map(|x| (x.user_id, x))
            .collect();
        let mut out = Vec::new();
        for member in conv.members.iter().filter(|x| x.user_id != m.sender_id) {
            if m.internal
                && !self
                    .st()
                    .get_user(member.user_id)
                    .await?
                    .is_some_and(|u| u.role.is_staff())
            {
                continue;
            }
            let part = participants
                .get(&member.user_id)
                .cloned()
                .unwrap_or_else(|| Participant::new(conv.id, member.user_id));
            let fallback = m.created_at.max(member.joined_at);
            let read_at = part
                .has_read(m.seq, m.sender_id)
                .then(|| mark_time(&part.read_marks, m.seq).unwrap_or(fallback));
            let delivered_at = part.has_received(m.seq, m.sender_id).then(|| {
                [mark_time(&part.delivered_marks, m.seq), read_at]
                    .into_iter()
                    .flatten()
                    .min()
                    .unwrap_or(fallback)
            });
            out.push(Receipt {
                user_id: member.user_id,
                delivered_at,
                read_at,
            });
        }
        Ok(out)
    }
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
