//! [`ConversationStore`]: conversations, members, messages, reply trees and read state.
//!
//! Per conversation the record itself holds the counters (`last_seq`, `public_count`,
//! ...), so appending a message reads and writes single keys. Around it: messages by
//! `conversation|seq`, public messages likewise, own messages by
//! `conversation|sender|seq` (value: the sender ordinal), reply edges by
//! `conversation|parent seq|child seq`, participants by `conversation|user`, and each
//! member's conversations by `member|*|activity|conversation`, or, for a conversation
//! of more than [`WIDE`] members, `member|w|conversation`.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use helpdesk_core::Conflict;
use helpdesk_core::StoreError;
use helpdesk_core::attachment::AttachmentParent;
use helpdesk_core::conversation::{Conversation, ConversationKind, Member};
use helpdesk_core::event::Effects;
use helpdesk_core::message::{AcrossRange, Message, MessageAppend, MessageRange};
use helpdesk_core::page::Cursor;
use helpdesk_core::receipt::Participant;
use helpdesk_core::store::support::{apply_append, page_across};
use helpdesk_core::store::{ConversationStore, DeliveryAdvance, EffectsFn, StoreResult};

use crate::attachments::{attach, check_attachable};
use crate::effects::write_effects;
use crate::keys::{Key, trailing_id, trailing_u64, tree};
use crate::ticket_record::{check_version, update_versioned};
use crate::{SledStore, Tx, TxResult, abort, decode, encode, sled_error};

const ANY_KIND: u8 = b'*';
/// The tag of a member's entry for a wide conversation (not a kind's tag: `d`, `g` and
/// `t` are those of entries from stores written before).
const WIDE_TAG: u8 = b'w';

/// Conversations of more members than this are wide: their members' entries carry no
/// activity, so that a message to a group of a thousand does not move a thousand
/// entries, and a member's list reads the records of their wide conversations and
/// merges them in by activity (a member is in few of them; a member of many pays for
/// them on each list, not every sender on each message).
const WIDE: usize = 32;

fn is_wide(conv: &Conversation) -> bool {
    conv.members.len() > WIDE
}

fn kind_byte(k: ConversationKind) -> u8 {
    match k {
        ConversationKind::Direct => b'd',
        ConversationKind::Group => b'g',
        ConversationKind::Ticket => b't',
    }
}

/// A member's entry in the index of their conversations by latest activity, or, in a
/// wide conversation, among their wide ones; its value is the conversation's kind
/// byte, so a list of one kind skips the others unread. (Stores written before kept a
/// second entry per kind, under the kind's tag instead of [`ANY_KIND`]; nothing reads
/// those any more.)
fn member_key(conv: &Conversation, user: Uuid) -> Key {
    match is_wide(conv) {
        true => Key::new().id(user).tag(WIDE_TAG).id(conv.id),
        false => activity_key(conv, user),
    }
}

/// A member's entry by activity: that of every conversation in stores of schema 5 and
/// older, which had no wide ones.
fn activity_key(conv: &Conversation, user: Uuid) -> Key {
    Key::new()
        .id(user)
        .tag(ANY_KIND)
        .micros(conv.activity_at())
        .id(conv.id)
}

/// Moves the members' entries from those of `before` to those of `conv`, the same
/// conversation after a change: only the entries that differ (a message to a wide
/// conversation moves none).
fn reindex_members(tx: &Tx<'_>, before: &Conversation, conv: &Conversation) -> TxResult<()> {
    let mut old: HashMap<Uuid, Key> = (before.members.iter())
        .map(|m| (m.user_id, member_key(before, m.user_id)))
        .collect();
    for m in &conv.members {
        let key = member_key(conv, m.user_id);
        match old.remove(&m.user_id) {
            Some(was) if was == key => {}
            Some(was) => {
                tx.del(tree::CONV_IDX, was)?;
                tx.put(tree::CONV_IDX, key, &[kind_byte(conv.kind)][..])?;
            }
            None => tx.put(tree::CONV_IDX, key, &[kind_byte(conv.kind)][..])?,
        }
    }
    for (_, was) in old {
        tx.del(tree::CONV_IDX, was)?;
    }
    Ok(())
}

/// Adds (or, with `add` false, removes) the entries of every member of `conv`.
pub(crate) fn index_members(tx: &Tx<'_>, conv: &Conversation, add: bool) -> TxResult<()> {
    for m in &conv.members {
        let k = member_key(conv, m.user_id);
        match add {
            true => tx.put(tree::CONV_IDX, k, &[kind_byte(conv.kind)][..])?,
            false => tx.del(tree::CONV_IDX, k)?,
        }
    }
    Ok(())
}

impl SledStore {
    /// Moves the entries of the members of wide conversations, which stores of schema 5
    /// indexed by activity like any other, under [`WIDE_TAG`] (schema 6). Running it
    /// again changes nothing.
    pub(crate) fn index_wide_conversations(&self) -> StoreResult<()> {
        let idx = self.tree(tree::CONV_IDX);
        for item in self.tree(tree::CONVS).iter() {
            let (_, v) = item.map_err(sled_error)?;
            let conv: Conversation = decode(&v, "conversations")?;
            if !is_wide(&conv) {
                continue;
            }
            let mut batch = sled::Batch::default();
            for m in &conv.members {
                batch.remove(activity_key(&conv, m.user_id).bytes());
                batch.insert(
                    member_key(&conv, m.user_id).bytes(),
                    &[kind_byte(conv.kind)][..],
                );
            }
            idx.apply_batch(batch).map_err(sled_error)?;
        }
        Ok(())
    }
}

pub(crate) fn message_key(conv: Uuid, seq: u64) -> Key {
    Key::new().id(conv).u64(seq)
}

pub(crate) fn participant_key(conv: Uuid, user: Uuid) -> Key {
    Key::new().id(conv).id(user)
}

pub(crate) fn own_key(m: &Message) -> Key {
    Key::new()
        .id(m.conversation_id)
        .id(m.sender_id.unwrap_or_default())
        .u64(m.seq)
}

fn get_conv(tx: &Tx<'_>, id: Uuid) -> TxResult<Conversation> {
    match tx.get_json(tree::CONVS, id.as_bytes())? {
        Some(c) => Ok(c),
        None => abort(StoreError::NotFound),
    }
}

/// `NotFound` unless the conversation exists, without decoding it: the record of a large
/// group holds every member, and each of its deliveries checks this.
fn require_conv(tx: &Tx<'_>, id: Uuid) -> TxResult<()> {
    if tx.exists(tree::CONVS, id.as_bytes())? {
        Ok(())
    } else {
        abort(StoreError::NotFound)
    }
}

/// Schema migration 1 → 2: sets every message's `internal_reply_count` (which records
/// of version 1 lack) from the stored replies. It recounts from scratch, never reading
/// the stored counts, so a run cut short by a crash is simply run again. Memory: one
/// count per message that has internal replies.
pub(crate) fn recount_internal_replies(db: &sled::Db) -> StoreResult<()> {
    const BATCH: usize = 1000;
    let messages = db
        .open_tree(crate::keys::TREE_NAMES[tree::MESSAGES])
        .map_err(sled_error)?;
    let mut counts: HashMap<Uuid, u64> = HashMap::new();
    for item in messages.iter() {
        let (_, v) = item.map_err(sled_error)?;
        let m: Message = decode(&v, "messages")?;
        if let (true, Some(parent)) = (m.internal, m.parent_id) {
            *counts.entry(parent).or_default() += 1;
        }
    }
    let mut batch = sled::Batch::default();
    let mut batched = 0;
    for item in messages.iter() {
        let (k, v) = item.map_err(sled_error)?;
        let mut m: Message = decode(&v, "messages")?;
        let count = counts.get(&m.id).copied().unwrap_or(0);
        if m.internal_reply_count != count {
            m.internal_reply_count = count;
            batch.insert(k, encode(&m)?);
            batched += 1;
            if batched == BATCH {
                messages
                    .apply_batch(std::mem::take(&mut batch))
                    .map_err(sled_error)?;
                batched = 0;
            }
        }
    }
    messages.apply_batch(batch).map_err(sled_error)
}

/// Makes `member` a member of conversation `id` (their participant record moved as
/// [`Participant::joined`]); false, writing nothing, when they are one.
pub(crate) fn join(tx: &Tx<'_>, id: Uuid, member: Member) -> TxResult<bool> {
    let mut conv = get_conv(tx, id)?;
    if conv.is_member(member.user_id) {
        return Ok(false);
    }
    let before = conv.clone();
    conv.members.push(member);
    let existing = tx.get_json(tree::PARTICIPANTS, participant_key(id, member.user_id))?;
    put_participant(tx, &Participant::joined(&conv, member.user_id, existing))?;
    tx.put_json(tree::CONVS, id.as_bytes(), &conv)?;
    reindex_members(tx, &before, &conv)?;
    Ok(true)
}

/// Removes `user_id` from conversation `id`; false, writing nothing, when they are not
/// a member. Their participant record stays (their receipts keep counting history).
pub(crate) fn leave(tx: &Tx<'_>, id: Uuid, user_id: Uuid) -> TxResult<bool> {
    let mut conv = get_conv(tx, id)?;
    if !conv.is_member(user_id) {
        return Ok(false);
    }
    let before = conv.clone();
    conv.members.retain(|m| m.user_id != user_id);
    tx.put_json(tree::CONVS, id.as_bytes(), &conv)?;
    reindex_members(tx, &before, &conv)?;
    Ok(true)
}

pub(crate) fn put_participant(tx: &Tx<'_>, p: &Participant) -> TxResult<()> {
    tx.put_json(
        tree::PARTICIPANTS,
        participant_key(p.conversation_id, p.user_id),
        p,
    )
}

/// Inserts a new conversation with a participant per member.
pub(crate) fn insert_conversation(tx: &Tx<'_>, conv: &Conversation) -> TxResult<()> {
    if let Some(key) = &conv.direct_key {
        if tx.exists(tree::DIRECT, key.as_bytes())? {
            return abort(StoreError::Conflict(Conflict::Direct));
        }
        tx.put(tree::DIRECT, key.as_bytes(), conv.id.as_bytes())?;
    }
    tx.put_json(tree::CONVS, conv.id.as_bytes(), conv)?;
    index_members(tx, conv, true)?;
    for m in &conv.members {
        put_participant(tx, &Participant::joined(conv, m.user_id, None))?;
    }
    Ok(())
}

/// The keys of a conversation's records, read outside a transaction.
pub(crate) struct ConvGather {
    id: Uuid,
    last_seq: u64,
    messages: Vec<(sled::IVec, Uuid)>,
    public: Vec<sled::IVec>,
    own: Vec<sled::IVec>,
    children: Vec<sled::IVec>,
    participants: Vec<sled::IVec>,
}

/// Removes a conversation with everything gathered; false when the conversation moved
/// since the gather (the caller gathers again).
pub(crate) fn remove_conversation(tx: &Tx<'_>, g: &ConvGather) -> TxResult<bool> {
    let Some(conv) = tx.get_json::<Conversation>(tree::CONVS, g.id.as_bytes())? else {
        return Ok(true);
    };
    if conv.last_seq != g.last_seq {
        return Ok(false);
    }
    tx.del(tree::CONVS, g.id.as_bytes())?;
    if let Some(key) = &conv.direct_key {
        tx.del(tree::DIRECT, key.as_bytes())?;
    }
    index_members(tx, &conv, false)?;
    for (k, id) in &g.messages {
        tx.del(tree::MESSAGES, k)?;
        tx.del(tree::MESSAGE_IDS, id.as_bytes())?;
    }
    for (t, keys) in [
        (tree::PUBLIC_MSGS, &g.public),
        (tree::OWN_MSGS, &g.own),
        (tree::CHILDREN, &g.children),
        (tree::PARTICIPANTS, &g.participants),
    ] {
        for k in keys {
            tx.del(t, k)?;
        }
    }
    Ok(true)
}

impl SledStore {
    /// Reads the keys of everything a conversation owns.
    pub(crate) fn gather_conversation(&self, id: Uuid) -> StoreResult<Option<ConvGather>> {
        let Some(conv) = self.get_json::<Conversation>(tree::CONVS, id.as_bytes())? else {
            return Ok(None);
        };
        let mut messages = Vec::new();
        for item in self.scan(tree::MESSAGES, id.as_bytes(), None, false) {
            let (k, v) = item?;
            let m: Message = decode(&v, "messages")?;
            messages.push((k, m.id));
        }
        Ok(Some(ConvGather {
            id,
            last_seq: conv.last_seq,
            messages,
            public: self.keys_with_prefix(tree::PUBLIC_MSGS, id.as_bytes())?,
            own: self.keys_with_prefix(tree::OWN_MSGS, id.as_bytes())?,
            children: self.keys_with_prefix(tree::CHILDREN, id.as_bytes())?,
            participants: self.keys_with_prefix(tree::PARTICIPANTS, id.as_bytes())?,
        }))
    }

    fn message_at(&self, conv: Uuid, seq: u64) -> StoreResult<Option<Message>> {
        self.get_json(tree::MESSAGES, message_key(conv, seq))
    }

    fn message_location(&self, id: Uuid) -> StoreResult<Option<(Uuid, u64)>> {
        let Some(v) = self
            .tree(tree::MESSAGE_IDS)
            .get(id.as_bytes())
            .map_err(crate::sled_error)?
        else {
            return Ok(None);
        };
        location(&v).map(Some)
    }
}

pub(crate) fn location(v: &[u8]) -> StoreResult<(Uuid, u64)> {
    let bad = || StoreError::Corrupt("bad message id index entry".into());
    if v.len() != 24 {
        return Err(bad());
    }
    let conv = Uuid::from_slice(&v[..16]).map_err(|_| bad())?;
    let seq = trailing_u64(v).ok_or_else(bad)?;
    Ok((conv, seq))
}

#[async_trait]
impl ConversationStore for SledStore {
    async fn create_conversation(&self, conv: &Conversation, fx: &Effects) -> StoreResult<()> {
        self.write(|tx| {
            insert_conversation(tx, conv)?;
            write_effects(tx, fx)
        })
        .await
    }

    async fn find_direct(&self, direct_key: &str) -> StoreResult<Option<Conversation>> {
        let Some(id) = self
            .tree(tree::DIRECT)
            .get(direct_key.as_bytes())
            .map_err(crate::sled_error)?
        else {
            return Ok(None);
        };
        let id =
            Uuid::from_slice(&id).map_err(|_| StoreError::Corrupt("bad direct index".into()))?;
        Ok(self
            .get_json::<Conversation>(tree::CONVS, id.as_bytes())?
            .filter(|c| c.direct_key.as_deref() == Some(direct_key)))
    }

    async fn get_conversation(&self, id: Uuid) -> StoreResult<Option<Conversation>> {
        self.get_json(tree::CONVS, id.as_bytes())
    }

    async fn set_conversation_title(&self, id: Uuid, title: &str, fx: &Effects) -> StoreResult<()> {
        self.write(|tx| {
            let mut conv = get_conv(tx, id)?;
            conv.title = Some(title.to_string());
            tx.put_json(tree::CONVS, id.as_bytes(), &conv)?;
            write_effects(tx, fx)
        })
        .await
    }

    async fn add_member(&self, id: Uuid, member: Member, fx: &Effects) -> StoreResult<bool> {
        let added = self.transact(|tx| {
            let added = join(tx, id, member)?;
            if added {
                write_effects(tx, fx)?;
            }
            Ok(added)
        })?;
        if added {
            self.flush().await?;
        }
        Ok(added)
    }

    async fn remove_member(&self, id: Uuid, user_id: Uuid, fx: &Effects) -> StoreResult<bool> {
        let removed = self.transact(|tx| {
            if !leave(tx, id, user_id)? {
                return Ok(false);
            }
            write_effects(tx, fx)?;
            Ok(true)
        })?;
        if removed {
            self.flush().await?;
        }
        Ok(removed)
    }

    async fn list_conversations(
        &self,
        user_id: Uuid,
        kind: Option<ConversationKind>,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<Conversation>> {
        let prefix = Key::new().id(user_id).tag(ANY_KIND);
        let after = cursor.map(|c| prefix.clone().i64(c.key).id(c.id));
        // Entries written before kinds were kept in the value have none: read those.
        let other_kind =
            |v: &[u8]| kind.is_some_and(|k| v.first().is_some_and(|b| *b != kind_byte(k)));
        let keep = |k: &[u8], conv: &Conversation| {
            member_key(conv, user_id).bytes() == k
                && conv.is_member(user_id)
                && kind.is_none_or(|k| k == conv.kind)
        };
        let locate = |k: &sled::IVec, v: &sled::IVec| match other_kind(v) {
            true => None,
            false => trailing_id(k),
        };
        let wanted = limit.saturating_add(1);
        let mut found = self.records_by_index(
            self.scan(
                tree::CONV_IDX,
                prefix.bytes(),
                after.as_ref().map(Key::bytes),
                true,
            ),
            tree::CONVS,
            wanted,
            locate,
            keep,
        )?;
        // The wide ones, merged in by activity.
        let wide = self.records_by_index(
            self.scan(
                tree::CONV_IDX,
                Key::new().id(user_id).tag(WIDE_TAG).bytes(),
                None,
                false,
            ),
            tree::CONVS,
            usize::MAX,
            locate,
            |k, conv: &Conversation| {
                keep(k, conv) && cursor.is_none_or(|c| conv.list_position() < (c.key, c.id))
            },
        )?;
        if !wide.is_empty() {
            found.extend(wide);
            found.sort_unstable_by_key(|c| std::cmp::Reverse(c.list_position()));
            found.truncate(wanted);
        }
        Ok(found)
    }

    async fn member_conversations(&self, user_id: Uuid) -> StoreResult<Vec<Conversation>> {
        let mut seen = HashSet::new();
        let entries = [ANY_KIND, WIDE_TAG].map(|tag| {
            let prefix = Key::new().id(user_id).tag(tag);
            self.scan(tree::CONV_IDX, prefix.bytes(), None, false)
        });
        self.records_by_index(
            entries.into_iter().flatten(),
            tree::CONVS,
            usize::MAX,
            |k, _| trailing_id(k),
            |_, conv: &Conversation| conv.is_member(user_id) && seen.insert(conv.id),
        )
    }

    async fn append_message(
        &self,
        new: &MessageAppend,
        effects: EffectsFn<'_, Message>,
    ) -> StoreResult<Message> {
        self.write(|tx| {
            check_attachable(tx, &new.attachment_ids)?;
            if let Some(t) = &new.ticket_update {
                check_version(tx, t)?;
            }
            let mut conv = get_conv(tx, new.conversation_id)?;
            let parent = match new.parent_id {
                None => None,
                Some(pid) => {
                    let loc = match tx.get(tree::MESSAGE_IDS, pid.as_bytes())? {
                        Some(v) => location(&v).map_err(crate::abort_with)?,
                        None => return abort(StoreError::NotFound),
                    };
                    if loc.0 != conv.id {
                        return abort(StoreError::NotFound);
                    }
                    match tx.get_json::<Message>(tree::MESSAGES, message_key(loc.0, loc.1))? {
                        Some(m) => Some(m),
                        None => return abort(StoreError::NotFound),
                    }
                }
            };
            let before = conv.clone();
            let sender =
                tx.get_json(tree::PARTICIPANTS, participant_key(conv.id, new.sender_id))?;
            let (message, participant) = apply_append(&mut conv, sender, new);
            put_participant(tx, &participant)?;
            if let Some(mut p) = parent {
                p.count_reply(new.internal);
                tx.put_json(tree::MESSAGES, message_key(conv.id, p.seq), &p)?;
                tx.put(
                    tree::CHILDREN,
                    Key::new().id(conv.id).u64(p.seq).u64(message.seq),
                    &[][..],
                )?;
            }
            let mk = message_key(conv.id, message.seq);
            tx.put_json(tree::MESSAGES, &mk, &message)?;
            tx.put(tree::MESSAGE_IDS, message.id.as_bytes(), mk.bytes())?;
            if !message.internal {
                tx.put(tree::PUBLIC_MSGS, &mk, &[][..])?;
            }
            tx.put_u64(tree::OWN_MSGS, own_key(&message), message.sender_ordinal)?;
            reindex_members(tx, &before, &conv)?;
            tx.put_json(tree::CONVS, conv.id.as_bytes(), &conv)?;
            attach(
                tx,
                &new.attachment_ids,
                AttachmentParent::Message {
                    conversation_id: message.conversation_id,
                    message_id: message.id,
                },
            )?;
            if let Some(t) = &new.ticket_update {
                update_versioned(tx, t)?;
            }
            write_effects(tx, &effects(&message))?;
            Ok(message)
        })
        .await
    }

    async fn get_message(&self, conversation_id: Uuid, id: Uuid) -> StoreResult<Option<Message>> {
        match self.message_location(id)? {
            Some((conv, seq)) if conv == conversation_id => {
                Ok(self.message_at(conv, seq)?.filter(|m| m.id == id))
            }
            _ => Ok(None),
        }
    }

    async fn get_message_by_seq(
        &self,
        conversation_id: Uuid,
        seq: u64,
    ) -> StoreResult<Option<Message>> {
        self.message_at(conversation_id, seq)
    }

    async fn list_messages(
        &self,
        conversation_id: Uuid,
        range: MessageRange,
        include_internal: bool,
        limit: usize,
    ) -> StoreResult<Vec<Message>> {
        let t = if include_internal {
            tree::MESSAGES
        } else {
            tree::PUBLIC_MSGS
        };
        let prefix = conversation_id.as_bytes();
        let (after, desc) = match range {
            MessageRange::Latest => (None, true),
            MessageRange::Before(seq) => (Some(message_key(conversation_id, seq)), true),
            MessageRange::After(seq) => (Some(message_key(conversation_id, seq)), false),
        };
        let entries = self.scan(t, prefix, after.as_ref().map(Key::bytes), desc);
        let mut out = if include_internal {
            entries
                .take(limit)
                .map(|item| decode(&item?.1, "messages"))
                .collect::<StoreResult<Vec<Message>>>()?
        } else {
            // A public entry's key is its message's key.
            self.records_by_index(
                entries,
                tree::MESSAGES,
                limit,
                |k, _| Some(k.clone()),
                |_, _| true,
            )?
        };
        if desc {
            out.reverse();
        }
        Ok(out)
    }

    async fn list_messages_across(
        &self,
        conversation_ids: &[Uuid],
        range: AcrossRange,
        include_internal: bool,
        limit: usize,
    ) -> StoreResult<Vec<Message>> {
        // Seq order is not `(created_at, id)` order (two senders' clocks race), so every
        // message of the chain's conversations is a candidate: chains are short.
        let mut all = Vec::new();
        for id in conversation_ids {
            for item in self.scan(tree::MESSAGES, id.as_bytes(), None, false) {
                let m: Message = decode(&item?.1, "messages")?;
                if include_internal || !m.internal {
                    all.push(m);
                }
            }
        }
        Ok(page_across(all, range, limit))
    }

    async fn descendants(
        &self,
        conversation_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Vec<(Message, u32)>> {
        let Some((conv, root_seq)) = self.message_location(id)? else {
            return Ok(Vec::new());
        };
        if conv != conversation_id {
            return Ok(Vec::new());
        }
        let mut found: Vec<(u64, u32)> = Vec::new();
        let mut frontier = vec![(root_seq, 0u32)];
        while let Some((seq, depth)) = frontier.pop() {
            let prefix = Key::new().id(conv).u64(seq);
            for k in self.keys_with_prefix(tree::CHILDREN, prefix.bytes())? {
                let child = trailing_u64(&k)
                    .ok_or_else(|| StoreError::Corrupt("bad reply index entry".into()))?;
                found.push((child, depth + 1));
                frontier.push((child, depth + 1));
            }
        }
        found.sort_unstable();
        let mut out = Vec::with_capacity(found.len());
        for (seq, depth) in found {
            if let Some(m) = self.message_at(conv, seq)? {
                out.push((m, depth));
            }
        }
        Ok(out)
    }

    async fn update_message(&self, message: &Message, fx: &Effects) -> StoreResult<()> {
        self.write(|tx| {
            require_conv(tx, message.conversation_id)?;
            let key = message_key(message.conversation_id, message.seq);
            let Some(mut m) = tx.get_json::<Message>(tree::MESSAGES, &key)? else {
                return abort(StoreError::NotFound);
            };
            if m.id != message.id {
                return abort(StoreError::NotFound);
            }
            m.content = message.content.clone();
            m.edited_at = message.edited_at;
            m.deleted_at = message.deleted_at;
            tx.put_json(tree::MESSAGES, &key, &m)?;
            write_effects(tx, fx)
        })
        .await
    }

    async fn own_count_upto(
        &self,
        conversation_id: Uuid,
        user_id: Uuid,
        seq: u64,
    ) -> StoreResult<u64> {
        let prefix = Key::new().id(conversation_id).id(user_id);
        let after = seq.checked_add(1).map(|s| prefix.clone().u64(s));
        match self
            .scan(
                tree::OWN_MSGS,
                prefix.bytes(),
                after.as_ref().map(Key::bytes),
                true,
            )
            .next()
        {
            None => Ok(0),
            Some(item) => {
                let (_, v) = item?;
                crate::keys::u64_value(&v)
                    .ok_or_else(|| StoreError::Corrupt("bad own-message index entry".into()))
            }
        }
    }

    async fn get_participant(
        &self,
        conversation_id: Uuid,
        user_id: Uuid,
    ) -> StoreResult<Option<Participant>> {
        self.get_json(
            tree::PARTICIPANTS,
            participant_key(conversation_id, user_id),
        )
    }

    async fn participants(&self, conversation_id: Uuid) -> StoreResult<Vec<Participant>> {
        self.scan(tree::PARTICIPANTS, conversation_id.as_bytes(), None, false)
            .map(|item| {
                let (_, v) = item?;
                decode(&v, "participants")
            })
            .collect()
    }

    async fn participants_of(
        &self,
        user_id: Uuid,
        conversation_ids: &[Uuid],
    ) -> StoreResult<Vec<Participant>> {
        let mut out = Vec::new();
        for c in conversation_ids {
            if let Some(p) = self.get_json(tree::PARTICIPANTS, participant_key(*c, user_id))? {
                out.push(p);
            }
        }
        Ok(out)
    }

    async fn put_read_state(&self, p: &Participant, fx: &Effects) -> StoreResult<()> {
        self.write(|tx| {
            require_conv(tx, p.conversation_id)?;
            let key = participant_key(p.conversation_id, p.user_id);
            let old: Option<Participant> = tx.get_json(tree::PARTICIPANTS, &key)?;
            if old.as_ref().map_or(0, |o| o.version) + 1 != p.version {
                return abort(StoreError::Conflict(Conflict::Version));
            }
            let mut next = p.clone();
            match old {
                Some(old) => {
                    next.delivered_seq = old.delivered_seq;
                    next.delivered_marks = old.delivered_marks;
                    next.sent_count = old.sent_count;
                }
                None => {
                    next.delivered_seq = 0;
                    next.delivered_marks.clear();
                    next.sent_count = 0;
                }
            }
            next.delivered_seq = next.delivered_seq.max(next.last_read_seq);
            put_participant(tx, &next)?;
            write_effects(tx, fx)
        })
        .await
    }

    async fn advance_delivered(
        &self,
        conversation_id: Uuid,
        at: DateTime<Utc>,
        advances: &[DeliveryAdvance],
    ) -> StoreResult<Vec<bool>> {
        let moved = self.transact(|tx| {
            require_conv(tx, conversation_id)?;
            let mut moved = Vec::with_capacity(advances.len());
            for a in advances {
                let key = participant_key(conversation_id, a.user_id);
                let mut p = tx
                    .get_json::<Participant>(tree::PARTICIPANTS, &key)?
                    .unwrap_or_else(|| Participant::new(conversation_id, a.user_id));
                let m = p.deliver_up_to(a.seq, at);
                if m {
                    put_participant(tx, &p)?;
                    write_effects(tx, &a.fx)?;
                }
                moved.push(m);
            }
            Ok(moved)
        })?;
        if moved.contains(&true) {
            self.flush().await?;
        }
        Ok(moved)
    }
}
