//! Conversations, members, messages and read state: [`ConversationStore`].
//!
//! An append first tries one statement without a transaction, over the conversation and
//! the sender's record as read without locks, which writes only if neither changed
//! since; else (a race lost, attachments, a ticket's update, a join) it locks the
//! conversation row `FOR UPDATE` until commit. Either way `seq` is assigned one writer at
//! a time and a failed append gives its seq back: seqs never collide or skip.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::Conflict;
use helpdesk_core::StoreError;
use helpdesk_core::attachment::AttachmentParent;
use helpdesk_core::conversation::{Conversation, ConversationKind, Member};
use helpdesk_core::event::Effects;
use helpdesk_core::message::{AcrossRange, Message, MessageAppend, MessageRange};
use helpdesk_core::page::Cursor;
use helpdesk_core::receipt::{MARK_HISTORY, Mark, Participant};
use helpdesk_core::store::{ConversationStore, DeliveryAdvance, EffectsFn, StoreResult};
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgExecutor, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::PostgresStore;
use crate::attachments::attach;
use crate::effects::{Writes, write_effects};
use crate::error::SqlxResultExt;
use crate::kept::fetch_kept;
use crate::rows::{
    ConversationRow, MessageRow, ParticipantRow, decode, fetch_all_as, fetch_optional_as, i,
    micros, prefixed, to_json, u,
};
use crate::ticket_record::write_ticket;

/// The head of every INSERT of a participant row, columns in the order their values follow.
const INSERT_PARTICIPANT: &str = "INSERT INTO participants (conversation_id, user_id, \
     last_read_seq, public_at_watermark, own_at_watermark, read_above, delivered_seq, \
     sent_count, read_marks, delivered_marks, version, public_read_seq, public_read_above) ";

/// Adds the writes of a new conversation to `w`: its row, its member rows and a
/// participant per member (a member listed twice joins twice, as one at a time would).
pub(crate) fn push_new_conversation(w: &mut Writes, conv: &Conversation) -> StoreResult<()> {
    push_conversation_rows(w, conv)?;
    let mut joined: Vec<Participant> = Vec::new();
    for m in &conv.members {
        match joined.iter_mut().find(|p| p.user_id == m.user_id) {
            Some(p) => *p = Participant::joined(conv, m.user_id, Some(p.clone())),
            None => joined.push(Participant::joined(conv, m.user_id, None)),
        }
    }
    push_upsert_participants(w, &joined);
    Ok(())
}

/// Adds the writes of a conversation's row and its member rows (no participants).
pub(crate) fn push_conversation_rows(w: &mut Writes, conv: &Conversation) -> StoreResult<()> {
    let members = to_json(&conv.members)?;
    w.write(|q| {
        q.push(
            "INSERT INTO conversations (id, kind, title, ticket_id, members, created_by, \
             created_at, last_message_at, last_seq, last_public_seq, public_count, direct_key) ",
        );
        let mut row = q.separated(", ");
        row.push_unseparated("VALUES (")
            .push_bind(conv.id)
            .push_bind(conv.kind.as_str())
            .push_bind(conv.title.clone())
            .push_bind(conv.ticket_id)
            .push_bind(members)
            .push_bind(conv.created_by)
            .push_bind(conv.created_at)
            .push_bind(conv.last_message_at)
            .push_bind(i(conv.last_seq))
            .push_bind(i(conv.last_public_seq))
            .push_bind(i(conv.public_count))
            .push_bind(conv.direct_key.clone())
            .push_unseparated(")");
    });
    if !conv.members.is_empty() {
        push_insert_members(w, conv, &conv.members);
    }
    Ok(())
}

/// Adds member rows (a row already there stays as it is).
fn push_insert_members(w: &mut Writes, conv: &Conversation, members: &[Member]) {
    let (id, kind) = (conv.id, conv.kind.as_str());
    let members = members.to_vec();
    w.write(|q| {
        q.push("INSERT INTO conversation_members (conversation_id, user_id, kind, joined_at) ");
        q.push_values(members, |mut row, m| {
            row.push_bind(id)
                .push_bind(m.user_id)
                .push_bind(kind)
                .push_bind(m.joined_at);
        });
        q.push(" ON CONFLICT (conversation_id, user_id) DO NOTHING");
    });
}

/// The conversation row, locked until commit.
pub(crate) async fn conversation_for_update(
    conn: &mut PgConnection,
    id: Uuid,
) -> StoreResult<Option<Conversation>> {
    let sql = format!(
        "SELECT {} FROM conversations WHERE id = $1 FOR UPDATE",
        ConversationRow::COLS
    );
    fetch_optional_as::<ConversationRow, _>(sqlx::query(&sql).bind(id), &mut *conn).await
}

/// Adds the write-back of a conversation's title, members and counters.
fn push_write_conversation(w: &mut Writes, conv: &Conversation) -> StoreResult<()> {
    let members = to_json(&conv.members)?;
    w.write(|q| {
        q.push("UPDATE conversations SET title = ")
            .push_bind(conv.title.clone())
            .push(", members = ")
            .push_bind(members)
            .push(", ");
        push_counters(q, conv);
        q.push(" WHERE id = ").push_bind(conv.id);
    });
    Ok(())
}

/// Pushes the assignments of the counters an append moves.
fn push_counters(q: &mut QueryBuilder<'static, Postgres>, conv: &Conversation) {
    q.push("last_message_at = ")
        .push_bind(conv.last_message_at)
        .push(", last_seq = ")
        .push_bind(i(conv.last_seq))
        .push(", last_public_seq = ")
        .push_bind(i(conv.last_public_seq))
        .push(", public_count = ")
        .push_bind(i(conv.public_count));
}

/// The participant record, created empty (version 0) if absent, locked until commit.
/// Creating first means concurrent writers of a new record queue on its row lock
/// instead of overwriting each other.
async fn locked_participant(
    conn: &mut PgConnection,
    conversation_id: Uuid,
    user_id: Uuid,
) -> StoreResult<Participant> {
    let mut found = locked_participants(conn, conversation_id, &[user_id]).await?;
    found.pop().ok_or(StoreError::NotFound)
}

impl PostgresStore {
    /// [`ConversationStore::advance_delivered`] from the watermarks its caller read
    /// ([`DeliveryAdvance::from`]), without reading the records again under a lock: one
    /// statement whose `UPDATE` applies only where a record's delivery watermark is still
    /// the one read (it only rises, and its marks move only with it). `None` when that
    /// cannot be done (an advance without a watermark read) or a record moved meanwhile
    /// (the statement fails and writes nothing): the caller then takes the locks.
    async fn advance_from_read(
        &self,
        conversation_id: Uuid,
        at: DateTime<Utc>,
        advances: &[DeliveryAdvance],
    ) -> StoreResult<Option<Vec<bool>>> {
        let Some(read) = (advances.iter())
            .map(|a| Some((a.user_id, a.from?)))
            .collect::<Option<HashMap<Uuid, u64>>>()
        else {
            return Ok(None);
        };
        let Some(moves) = DeliveryMoves::from(conversation_id, at, &read, advances) else {
            return Ok(None);
        };
        // Watermarks only rise: one at or above `seq` when read is there now.
        if moves.changed.is_empty() {
            return Ok(Some(moves.moved));
        }
        // One statement on its own, no BEGIN or COMMIT: event ids follow xids, so while
        // a writing transaction is in flight the event tail cannot return the events of
        // those that got their xid after it, and a group's deliveries are written while
        // its next messages are posted.
        let writes = || {
            let mut w = Writes::new();
            push_deliveries(&mut w, conversation_id, &moves.changed);
            Ok(w)
        };
        let stale = || StoreError::Conflict(Conflict::Version);
        match self.write_alone(writes, &moves.fx, stale).await {
            Ok(()) => Ok(Some(moves.moved)),
            Err(StoreError::Conflict(Conflict::Version)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// What a call of [`ConversationStore::advance_delivered`] moves, from given delivery
/// watermarks.
struct DeliveryMoves {
    /// Whether each advance moved its member's watermark.
    moved: Vec<bool>,
    /// The records that moved, each with the watermark it moved from; their marks are
    /// only those of the moves (see [`DeliveryMoves::from`]).
    changed: Vec<(u64, Participant)>,
    /// The effects of the advances that moved.
    fx: Effects,
}

impl DeliveryMoves {
    /// Applies `advances` in order by [`Participant::deliver_up_to`], on records that
    /// stand for the stored ones: each with its watermark from `from` and no marks, so
    /// that the marks they end with are those of the moves, which [`push_deliveries`]
    /// appends to the marks stored. `None` when a member has no watermark in `from`.
    fn from(
        conversation_id: Uuid,
        at: DateTime<Utc>,
        from: &HashMap<Uuid, u64>,
        advances: &[DeliveryAdvance],
    ) -> Option<Self> {
        let mut records: HashMap<Uuid, Participant> = HashMap::new();
        let mut moved = Vec::with_capacity(advances.len());
        let mut fx = Effects::none();
        for a in advances {
            let seq = *from.get(&a.user_id)?;
            let p = records.entry(a.user_id).or_insert_with(|| Participant {
                delivered_seq: seq,
                ..Participant::new(conversation_id, a.user_id)
            });
            let m = p.deliver_up_to(a.seq, at);
            if m {
                fx.extend(&a.fx);
            }
            moved.push(m);
        }
        let changed = (records.into_values())
            .filter(|p| !p.delivered_marks.is_empty())
            .map(|p| (from[&p.user_id], p))
            .collect();
        Some(DeliveryMoves { moved, changed, fx })
    }
}

/// The participant records of these users in a conversation, locked (in key order, so
/// that concurrent callers cannot deadlock), created empty where absent, in key order;
/// none when the conversation does not exist.
async fn locked_participants(
    conn: &mut PgConnection,
    conversation_id: Uuid,
    user_ids: &[Uuid],
) -> StoreResult<Vec<Participant>> {
    let sql = format!(
        "SELECT {} FROM participants WHERE conversation_id = $1 AND user_id = ANY($2) \
         ORDER BY user_id FOR UPDATE",
        ParticipantRow::COLS
    );
    let select = async |conn: &mut PgConnection| {
        let query = sqlx::query(&sql).bind(conversation_id).bind(user_ids);
        fetch_all_as::<ParticipantRow, _>(query, conn).await
    };
    // Usually the records exist: one statement.
    let found = select(&mut *conn).await?;
    let mut wanted = user_ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    if found.len() == wanted.len() {
        return Ok(found);
    }
    sqlx::query(&format!(
        "{INSERT_PARTICIPANT}SELECT $1, u, 0, 0, 0, '{{}}', 0, 0, '[]', '[]', 0, 0, '{{}}' \
         FROM UNNEST($2::uuid[]) AS u WHERE EXISTS (SELECT 1 FROM conversations WHERE id = $1) \
         ON CONFLICT (conversation_id, user_id) DO NOTHING"
    ))
    .bind(conversation_id)
    .bind(&wanted)
    .execute(&mut *conn)
    .await
    .store()?;
    select(conn).await
}

/// A conversation's row joined with a participant's row, absent (NULL) when there is
/// none: decoded as a conversation, then as a participant when its key is there.
#[derive(FromRow)]
struct JoinedRow {
    #[sqlx(flatten)]
    conversation: ConversationRow,
    user_id: Option<Uuid>,
}

/// The conversation row and `user_id`'s participant record (if any), both locked until
/// commit, in one statement.
async fn conversation_and_participant_for_update(
    conn: &mut PgConnection,
    id: Uuid,
    user_id: Uuid,
) -> StoreResult<Option<(Conversation, Option<Participant>)>> {
    conversation_and_participant(conn, id, user_id, true).await
}

/// The conversation row and `user_id`'s participant record (if any) in one statement,
/// both locked until commit when `for_update`.
async fn conversation_and_participant<'c>(
    conn: impl PgExecutor<'c>,
    id: Uuid,
    user_id: Uuid,
    for_update: bool,
) -> StoreResult<Option<(Conversation, Option<Participant>)>> {
    let locking = if for_update { "FOR UPDATE" } else { "" };
    // The two column lists share no name, so each row struct finds its own.
    let sql = format!(
        "SELECT c.*, p.* FROM (SELECT {} FROM conversations WHERE id = $1 {locking}) c \
         LEFT JOIN LATERAL (SELECT {} FROM participants \
             WHERE conversation_id = c.id AND user_id = $2 {locking}) p ON true",
        ConversationRow::COLS,
        ParticipantRow::COLS
    );
    let Some(row) = sqlx::query(&sql)
        .bind(id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
        .store()?
    else {
        return Ok(None);
    };
    let joined = JoinedRow::from_row(&row).store()?;
    let conv = Conversation::try_from(joined.conversation)?;
    let participant = joined
        .user_id
        .map(|_| decode::<ParticipantRow, Participant>(&row))
        .transpose()?;
    Ok(Some((conv, participant)))
}

/// Locks conversation `id` and adds to `w` the writes that make `member` a member of it
/// (their participant record moved as [`Participant::joined`]); false, adding nothing,
/// when they are one.
pub(crate) async fn push_join(
    tx: &mut PgConnection,
    w: &mut Writes,
    id: Uuid,
    member: Member,
) -> StoreResult<bool> {
    let mut conv = conversation_for_update(tx, id)
        .await?
        .ok_or(StoreError::NotFound)?;
    if conv.is_member(member.user_id) {
        return Ok(false);
    }
    conv.members.push(member);
    let existing = locked_participant(tx, id, member.user_id).await?;
    let joined = Participant::joined(&conv, member.user_id, Some(existing));
    push_write_conversation(w, &conv)?;
    push_insert_members(w, &conv, &[member]);
    push_upsert_participants(w, &[joined]);
    Ok(true)
}

/// Locks conversation `id` and adds the removal of `user_id` to `w`; false, adding
/// nothing, when they are not a member. Their participant record stays.
pub(crate) async fn push_leave(
    tx: &mut PgConnection,
    w: &mut Writes,
    id: Uuid,
    user_id: Uuid,
) -> StoreResult<bool> {
    let mut conv = conversation_for_update(tx, id)
        .await?
        .ok_or(StoreError::NotFound)?;
    if !conv.is_member(user_id) {
        return Ok(false);
    }
    conv.members.retain(|m| m.user_id != user_id);
    push_write_conversation(w, &conv)?;
    w.write(|q| {
        q.push("DELETE FROM conversation_members WHERE conversation_id = ")
            .push_bind(id)
            .push(" AND user_id = ")
            .push_bind(user_id);
    });
    Ok(true)
}

fn read_above(p: &Participant) -> Vec<i64> {
    p.read_above.iter().map(|s| i(*s)).collect()
}

fn public_read_above(p: &Participant) -> Vec<i64> {
    p.public_read_above.iter().map(|s| i(*s)).collect()
}

/// Inserts or replaces a whole participant record.
pub(crate) async fn upsert_participant(
    conn: &mut PgConnection,
    p: &Participant,
) -> StoreResult<()> {
    let mut w = Writes::new();
    push_upsert_participants(&mut w, std::slice::from_ref(p));
    w.run(conn, &Effects::none()).await?;
    Ok(())
}

/// Adds the writes of an append that [`apply_append`] computed: the conversation (whose
/// lists order by its own activity, so a message to a group of a thousand writes one
/// row, not a thousand), the sender's record, the parent's reply count (counted: none when
/// the parent is not in the conversation) and the message.
///
/// `unlocked`: the conversation's `last_seq` when it and the sender's record were read
/// without locks. The conversation's counters are then written only while `last_seq` is
/// still that (only appends move it), the sender's record only over the version read,
/// both counted and first, so that a statement that lost a race to another append stops
/// before its message. Such an append must not change the members (a join takes the
/// lock), so title and members are not written.
///
/// [`apply_append`]: helpdesk_core::store::support::apply_append
fn push_append(
    w: &mut Writes,
    new: &MessageAppend,
    conv: &Conversation,
    was_member: bool,
    message: &Message,
    sender: &Participant,
    unlocked: Option<u64>,
) -> StoreResult<()> {
    match unlocked {
        Some(after) => {
            w.counted(|q| {
                q.push("UPDATE conversations SET ");
                push_counters(q, conv);
                q.push(" WHERE id = ")
                    .push_bind(conv.id)
                    .push(" AND last_seq = ")
                    .push_bind(i(after))
                    .push(" RETURNING 1");
            });
            push_put_sender(w, sender);
        }
        None => {
            push_write_conversation(w, conv)?;
            push_upsert_participants(w, std::slice::from_ref(sender));
        }
    }
    if let Some(parent) = new.parent_id {
        let conversation_id = conv.id;
        // As `Message::count_reply` counts.
        let internal = if new.internal { 1i64 } else { 0 };
        w.counted(|q| {
            q.push("UPDATE messages SET reply_count = reply_count + 1, ")
                .push("internal_reply_count = internal_reply_count + ")
                .push_bind(internal)
                .push(" WHERE id = ")
                .push_bind(parent)
                .push(" AND conversation_id = ")
                .push_bind(conversation_id)
                .push(" RETURNING 1");
        });
    }
    push_insert_messages(w, &[message]);
    if !was_member && let Some(m) = conv.members.iter().find(|m| m.user_id == new.sender_id) {
        push_insert_members(w, conv, std::slice::from_ref(m));
    }
    Ok(())
}

/// Adds the insert-or-replace of whole participant records (of distinct users).
fn push_upsert_participants(w: &mut Writes, ps: &[Participant]) {
    if ps.is_empty() {
        return;
    }
    let rows = participant_rows(ps);
    w.write(|q| {
        rows(q);
        q.push(
            " ON CONFLICT (conversation_id, user_id) DO UPDATE SET \
             last_read_seq = EXCLUDED.last_read_seq, \
             public_at_watermark = EXCLUDED.public_at_watermark, \
             own_at_watermark = EXCLUDED.own_at_watermark, read_above = EXCLUDED.read_above, \
             delivered_seq = EXCLUDED.delivered_seq, sent_count = EXCLUDED.sent_count, \
             read_marks = EXCLUDED.read_marks, delivered_marks = EXCLUDED.delivered_marks, \
             version = EXCLUDED.version, public_read_seq = EXCLUDED.public_read_seq, \
             public_read_above = EXCLUDED.public_read_above",
        );
    });
}

/// Adds the write of what [`Participant::deliver_up_to`] moved, each record given with
/// its delivery watermark before the move (the delivery watermark and marks: all a
/// delivery changes), as [`Writes::counted_rows`] (one row per record): one `UPDATE`
/// over arrays whatever the number of members (a group's thousand in one post), of the
/// records whose watermark is still the one given.
///
/// Each record carries only the marks of its moves (see [`DeliveryMoves::from`]): the
/// statement appends them to the marks stored and keeps the last [`MARK_HISTORY`], as
/// [`push_mark`] does. Marks move only with the watermark, so where the watermark is
/// still the one given, the marks stored are the ones the moves were pushed onto, and
/// the result is the record as moved. (Whole histories, a thousand of sixteen marks,
/// made PostgreSQL parse about a megabyte of JSON per group post.)
///
/// [`push_mark`]: helpdesk_core::store::support::push_mark
fn push_deliveries(w: &mut Writes, conversation_id: Uuid, ps: &[(u64, Participant)]) {
    let users: Vec<Uuid> = ps.iter().map(|(_, p)| p.user_id).collect();
    let olds: Vec<i64> = ps.iter().map(|(old, _)| i(*old)).collect();
    let seqs: Vec<i64> = ps.iter().map(|(_, p)| i(p.delivered_seq)).collect();
    let tails: Vec<Json<Vec<Mark>>> = (ps.iter())
        .map(|(_, p)| Json(p.delivered_marks.clone()))
        .collect();
    w.counted_rows(ps.len(), |q| {
        q.push(
            "UPDATE participants AS p SET delivered_seq = d.seq, \
             delivered_marks = jsonb_path_query_array(p.delivered_marks || d.tail, ",
        );
        // The last MARK_HISTORY elements (all of a shorter array).
        q.push_bind(format!("$[last - {} to last]", MARK_HISTORY - 1))
            .push("::jsonpath) FROM UNNEST(");
        q.push_bind(users).push("::uuid[], ");
        q.push_bind(olds).push("::bigint[], ");
        q.push_bind(seqs).push("::bigint[], ");
        q.push_bind(tails).push(
            "::jsonb[]) AS d(user_id, old, seq, tail) \
             WHERE p.user_id = d.user_id AND p.delivered_seq = d.old AND p.conversation_id = ",
        );
        q.push_bind(conversation_id).push(" RETURNING 1");
    });
}

/// Adds the write of a sender's record as [`apply_append`] moved it, read without a lock,
/// as [`Writes::counted`]: it writes only over the version it was read at (`version - 1`;
/// read marks and joins move it). A delivery does not move the version, so the delivery
/// watermark only rises here and the delivery marks, which an append does not touch, are
/// left as stored.
///
/// [`apply_append`]: helpdesk_core::store::support::apply_append
fn push_put_sender(w: &mut Writes, sender: &Participant) {
    let rows = participant_rows(std::slice::from_ref(sender));
    w.counted(|q| {
        rows(q);
        q.push(
            " ON CONFLICT (conversation_id, user_id) DO UPDATE SET \
             last_read_seq = EXCLUDED.last_read_seq, \
             public_at_watermark = EXCLUDED.public_at_watermark, \
             own_at_watermark = EXCLUDED.own_at_watermark, read_above = EXCLUDED.read_above, \
             delivered_seq = greatest(participants.delivered_seq, EXCLUDED.delivered_seq), \
             sent_count = EXCLUDED.sent_count, version = EXCLUDED.version, \
             public_read_seq = EXCLUDED.public_read_seq, \
             public_read_above = EXCLUDED.public_read_above \
             WHERE participants.version = EXCLUDED.version - 1 RETURNING 1",
        );
    });
}

/// The `INSERT ... VALUES` of whole participant records, pushed by the closure returned.
fn participant_rows(
    ps: &[Participant],
) -> impl FnOnce(&mut QueryBuilder<'static, Postgres>) + use<> {
    let ps = ps.to_vec();
    move |q: &mut QueryBuilder<'static, Postgres>| {
        q.push(INSERT_PARTICIPANT);
        q.push_values(ps, |mut row, p| {
            row.push_bind(p.conversation_id)
                .push_bind(p.user_id)
                .push_bind(i(p.last_read_seq))
                .push_bind(i(p.public_at_watermark))
                .push_bind(i(p.own_at_watermark))
                .push_bind(read_above(&p))
                .push_bind(i(p.delivered_seq))
                .push_bind(i(p.sent_count))
                .push_bind(Json(p.read_marks.clone()))
                .push_bind(Json(p.delivered_marks.clone()))
                .push_bind(i(p.version))
                .push_bind(i(p.public_read_seq))
                .push_bind(public_read_above(&p));
        });
    }
}

pub(crate) async fn insert_message(conn: &mut PgConnection, m: &Message) -> StoreResult<()> {
    insert_messages(conn, &[m]).await
}

/// Inserts imported messages with one statement. Their `internal_reply_count` is
/// recounted, not copied (archives written before the field lack it): each internal
/// reply then counts itself on its parent, inserted before it.
pub(crate) async fn insert_messages(conn: &mut PgConnection, ms: &[&Message]) -> StoreResult<()> {
    if ms.is_empty() {
        return Ok(());
    }
    let recounted: Vec<Message> = ms
        .iter()
        .map(|m| Message {
            internal_reply_count: 0,
            ..(*m).clone()
        })
        .collect();
    let mut w = Writes::new();
    push_insert_messages(&mut w, &recounted.iter().collect::<Vec<_>>());
    w.run(conn, &Effects::none()).await?;
    let notes: Vec<Uuid> = ms
        .iter()
        .filter(|m| m.internal && m.parent_id.is_some())
        .map(|m| m.id)
        .collect();
    if !notes.is_empty() {
        sqlx::query(
            "UPDATE messages AS m SET internal_reply_count = m.internal_reply_count + r.n \
             FROM (SELECT parent_id, count(*) AS n FROM messages WHERE id = ANY($1) \
                   GROUP BY parent_id) AS r \
             WHERE m.id = r.parent_id",
        )
        .bind(&notes)
        .execute(&mut *conn)
        .await
        .store()?;
    }
    Ok(())
}

fn push_insert_messages(w: &mut Writes, ms: &[&Message]) {
    let ms: Vec<Message> = ms.iter().map(|m| (*m).clone()).collect();
    w.write(|q| {
        q.push(
            "INSERT INTO messages (id, conversation_id, seq, sender_id, content, parent_id, \
             reply_count, internal_reply_count, attachment_ids, internal, created_at, \
             edited_at, deleted_at, public_ordinal, sender_ordinal, channel) ",
        );
        q.push_values(ms, |mut row, m| {
            row.push_bind(m.id)
                .push_bind(m.conversation_id)
                .push_bind(i(m.seq))
                .push_bind(m.sender_id)
                .push_bind(m.content)
                .push_bind(m.parent_id)
                .push_bind(i(m.reply_count))
                .push_bind(i(m.internal_reply_count))
                .push_bind(m.attachment_ids)
                .push_bind(m.internal)
                .push_bind(m.created_at)
                .push_bind(m.edited_at)
                .push_bind(m.deleted_at)
                .push_bind(i(m.public_ordinal))
                .push_bind(i(m.sender_ordinal))
                .push_bind(m.channel.as_str());
        });
    });
}

/// A reply as `descendants` selects it: the message's columns and its depth below the
/// message asked about.
#[derive(FromRow)]
struct DescendantRow {
    #[sqlx(flatten)]
    message: MessageRow,
    depth: i32,
}

impl PostgresStore {
    /// Appends in a transaction, the conversation and the sender's record locked from
    /// the read to the commit: concurrent appends queue, so seqs never collide or skip.
    async fn append_locked(
        &self,
        new: &MessageAppend,
        effects: EffectsFn<'_, Message>,
    ) -> StoreResult<Message> {
        let mut tx = self.begin().await?;
        let (mut conv, sender) =
            conversation_and_participant_for_update(&mut tx, new.conversation_id, new.sender_id)
                .await?
                .ok_or(StoreError::NotFound)?;
        let sender = match sender {
            Some(p) => p,
            None => locked_participant(&mut tx, conv.id, new.sender_id).await?,
        };
        let was_member = conv.is_member(new.sender_id);
        let (message, participant) =
            helpdesk_core::store::support::apply_append(&mut conv, Some(sender), new);
        // Statements that may fail on their own run first; the rest is one statement.
        attach(
            &mut tx,
            &new.attachment_ids,
            AttachmentParent::Message {
                conversation_id: conv.id,
                message_id: message.id,
            },
        )
        .await?;
        if let Some(ticket) = &new.ticket_update {
            write_ticket(&mut tx, ticket).await?;
        }
        let mut w = Writes::new();
        push_append(&mut w, new, &conv, was_member, &message, &participant, None)?;
        let written = w.run(&mut tx, &effects(&message)).await?;
        if new.parent_id.is_some() && written.counts.first() != Some(&1) {
            return Err(StoreError::NotFound);
        }
        self.commit(tx, written.wrote_events).await?;
        Ok(message)
    }

    /// Appends in one statement without a transaction (see [`PostgresStore::write_alone`]):
    /// over the conversation and the sender's record as the caller read them
    /// ([`MessageAppend::base`]) or as read here without locks, written only if neither
    /// changed since. `Conflict::Version` when one did, when a reply's parent
    /// is not in the conversation, or when the sender would join it; nothing is written
    /// then.
    async fn append_alone(
        &self,
        new: &MessageAppend,
        effects: EffectsFn<'_, Message>,
    ) -> StoreResult<Message> {
        let conflict = || StoreError::Conflict(Conflict::Version);
        let base = new.base.as_ref().filter(|b| {
            (b.conversation.id, b.sender.user_id) == (new.conversation_id, new.sender_id)
        });
        let (mut conv, sender) = match base {
            Some(b) => (b.conversation.clone(), Some(b.sender.clone())),
            None => conversation_and_participant(
                self.pool_ref(),
                new.conversation_id,
                new.sender_id,
                false,
            )
            .await?
            .ok_or(StoreError::NotFound)?,
        };
        let (was_member, after) = (conv.is_member(new.sender_id), conv.last_seq);
        if new.join_sender && !was_member {
            return Err(conflict()); // a join rewrites the members: the locked append
        }
        let (message, sender) = helpdesk_core::store::support::apply_append(&mut conv, sender, new);
        let writes = || {
            let mut w = Writes::new();
            let unlocked = Some(after);
            push_append(&mut w, new, &conv, was_member, &message, &sender, unlocked)?;
            Ok(w)
        };
        self.write_alone(writes, &effects(&message), conflict)
            .await?;
        Ok(message)
    }

    async fn fetch_conversations(
        &self,
        user_id: Uuid,
        kind: Option<ConversationKind>,
        cursor: Option<Cursor>,
        limit: Option<usize>,
    ) -> StoreResult<Vec<Conversation>> {
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT {} FROM conversation_members m JOIN conversations c \
             ON c.id = m.conversation_id WHERE m.user_id = ",
            prefixed(ConversationRow::COLS, "c")
        ));
        q.push_bind(user_id);
        if let Some(kind) = kind {
            q.push(" AND m.kind = ").push_bind(kind.as_str());
        }
        // `Conversation::activity_at`, as the index `conversations_activity` has it.
        const ACTIVITY: &str = "coalesce(c.last_message_at, c.created_at)";
        if let Some(c) = cursor {
            q.push(format_args!(" AND ({ACTIVITY}, c.id) < ("))
                .push_bind(micros(c.key))
                .push(", ")
                .push_bind(c.id)
                .push(")");
        }
        q.push(format_args!(" ORDER BY {ACTIVITY} DESC, c.id DESC"));
        if let Some(limit) = limit {
            q.push(" LIMIT ").push_bind(i(limit as u64));
        }
        // Planned for this user each time (an unnamed statement): the plan for a member of
        // a few conversations (read theirs, sort) would take a member of a hundred
        // thousand a hundred times longer than walking the conversations by activity.
        fetch_all_as::<ConversationRow, _>(q.build().persistent(false), self.pool_ref()).await
    }
}

#[async_trait]
impl ConversationStore for PostgresStore {
    async fn create_conversation(&self, conv: &Conversation, fx: &Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let mut w = Writes::new();
        push_new_conversation(&mut w, conv)?;
        let written = w.run(&mut tx, fx).await?;
        self.commit(tx, written.wrote_events).await
    }

    async fn find_direct(&self, direct_key: &str) -> StoreResult<Option<Conversation>> {
        let sql = format!(
            "SELECT {} FROM conversations WHERE direct_key = $1",
            ConversationRow::COLS
        );
        let query = sqlx::query(&sql).bind(direct_key);
        fetch_optional_as::<ConversationRow, _>(query, self.pool_ref()).await
    }

    async fn get_conversation(&self, id: Uuid) -> StoreResult<Option<Conversation>> {
        let sql = format!(
            "SELECT {} FROM conversations WHERE id = $1",
            ConversationRow::COLS
        );
        fetch_optional_as::<ConversationRow, _>(sqlx::query(&sql).bind(id), self.pool_ref()).await
    }

    async fn get_conversation_as(
        &self,
        id: Uuid,
        user_id: Uuid,
    ) -> StoreResult<Option<(Conversation, Option<Participant>)>> {
        conversation_and_participant(self.pool_ref(), id, user_id, false).await
    }

    async fn set_conversation_title(&self, id: Uuid, title: &str, fx: &Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE conversations SET title = $2 WHERE id = $1")
            .bind(id)
            .bind(title)
            .execute(&mut *tx)
            .await
            .store()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await
    }

    async fn add_member(&self, id: Uuid, member: Member, fx: &Effects) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let mut w = Writes::new();
        if !push_join(&mut tx, &mut w, id, member).await? {
            return Ok(false);
        }
        let written = w.run(&mut tx, fx).await?;
        self.commit(tx, written.wrote_events).await?;
        Ok(true)
    }

    async fn remove_member(&self, id: Uuid, user_id: Uuid, fx: &Effects) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let mut w = Writes::new();
        if !push_leave(&mut tx, &mut w, id, user_id).await? {
            return Ok(false);
        }
        let written = w.run(&mut tx, fx).await?;
        self.commit(tx, written.wrote_events).await?;
        Ok(true)
    }

    async fn list_conversations(
        &self,
        user_id: Uuid,
        kind: Option<ConversationKind>,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<Conversation>> {
        self.fetch_conversations(user_id, kind, cursor, Some(limit + 1))
            .await
    }

    async fn member_conversations(&self, user_id: Uuid) -> StoreResult<Vec<Conversation>> {
        self.fetch_conversations(user_id, None, None, None).await
    }

    async fn append_message(
        &self,
        new: &MessageAppend,
        effects: EffectsFn<'_, Message>,
    ) -> StoreResult<Message> {
        // Attachments and a ticket's update take statements that may fail on their own.
        if new.attachment_ids.is_empty() && new.ticket_update.is_none() {
            match self.append_alone(new, effects).await {
                // Another writer came between the read and the write, a reply's parent
                // is not in the conversation, or the sender joins: the locked append.
                Err(StoreError::Conflict(Conflict::Version)) => {}
                done => return done,
            }
        }
        self.append_locked(new, effects).await
    }

    async fn get_message(&self, conversation_id: Uuid, id: Uuid) -> StoreResult<Option<Message>> {
        let sql = format!(
            "SELECT {} FROM messages WHERE id = $1 AND conversation_id = $2",
            MessageRow::COLS
        );
        let query = sqlx::query(&sql).bind(id).bind(conversation_id);
        fetch_optional_as::<MessageRow, _>(query, self.pool_ref()).await
    }

    async fn get_message_by_seq(
        &self,
        conversation_id: Uuid,
        seq: u64,
    ) -> StoreResult<Option<Message>> {
        let sql = format!(
            "SELECT {} FROM messages WHERE conversation_id = $1 AND seq = $2",
            MessageRow::COLS
        );
        let query = sqlx::query(&sql).bind(conversation_id).bind(i(seq));
        fetch_optional_as::<MessageRow, _>(query, self.pool_ref()).await
    }

    async fn list_messages(
        &self,
        conversation_id: Uuid,
        range: MessageRange,
        include_internal: bool,
        limit: usize,
    ) -> StoreResult<Vec<Message>> {
        let descending = !matches!(range, MessageRange::After(_));
        let list = |select: &str| {
            let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
                "SELECT {select} FROM messages WHERE conversation_id = "
            ));
            q.push_bind(conversation_id);
            if !include_internal {
                q.push(" AND NOT internal");
            }
            match range {
                MessageRange::Latest => {}
                MessageRange::Before(seq) => {
                    q.push(" AND seq < ").push_bind(i(seq));
                }
                MessageRange::After(seq) => {
                    q.push(" AND seq > ").push_bind(i(seq));
                }
            }
            q.push(if descending {
                " ORDER BY seq DESC"
            } else {
                " ORDER BY seq"
            });
            q.push(" LIMIT ").push_bind(i(limit as u64));
            q
        };
        let (kept, table) = (&self.inner.kept_messages, ("messages", MessageRow::COLS));
        let mut messages =
            fetch_kept::<MessageRow, Message>(self.pool_ref(), kept, table, limit, list).await?;
        if descending {
            messages.reverse();
        }
        Ok(messages)
    }

    async fn list_messages_across(
        &self,
        conversation_ids: &[Uuid],
        range: AcrossRange,
        include_internal: bool,
        limit: usize,
    ) -> StoreResult<Vec<Message>> {
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT {} FROM messages WHERE conversation_id = ANY(",
            MessageRow::COLS
        ));
        q.push_bind(conversation_ids.to_vec()).push(")");
        if !include_internal {
            q.push(" AND NOT internal");
        }
        let descending = match range {
            AcrossRange::Latest => true,
            AcrossRange::Before(c) => {
                q.push(" AND (created_at, id) < (")
                    .push_bind(micros(c.key))
                    .push(", ")
                    .push_bind(c.id)
                    .push(")");
                true
            }
            AcrossRange::After(c) => {
                q.push(" AND (created_at, id) > (")
                    .push_bind(micros(c.key))
                    .push(", ")
                    .push_bind(c.id)
                    .push(")");
                false
            }
        };
        q.push(if descending {
            " ORDER BY created_at DESC, id DESC"
        } else {
            " ORDER BY created_at, id"
        });
        q.push(" LIMIT ").push_bind(i(limit as u64));
        let mut messages = fetch_all_as::<MessageRow, Message>(q.build(), self.pool_ref()).await?;
        if descending {
            messages.reverse();
        }
        Ok(messages)
    }

    async fn descendants(
        &self,
        conversation_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Vec<(Message, u32)>> {
        let sql = format!(
            "WITH RECURSIVE d AS ( \
               SELECT {cols}, 1 AS depth FROM messages \
               WHERE conversation_id = $1 AND parent_id = $2 \
               UNION ALL \
               SELECT {mcols}, d.depth + 1 FROM messages m JOIN d ON m.parent_id = d.id \
               WHERE m.conversation_id = $1 \
             ) SELECT {cols}, depth FROM d ORDER BY seq",
            cols = MessageRow::COLS,
            mcols = prefixed(MessageRow::COLS, "m"),
        );
        let found: Vec<DescendantRow> = sqlx::query_as(&sql)
            .bind(conversation_id)
            .bind(id)
            .fetch_all(self.pool_ref())
            .await
            .store()?;
        found
            .into_iter()
            .map(|r| Ok((r.message.try_into()?, u32::try_from(r.depth).unwrap_or(0))))
            .collect()
    }

    async fn update_message(&self, message: &Message, fx: &Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE messages SET content = $3, edited_at = $4, deleted_at = $5 \
             WHERE id = $1 AND conversation_id = $2",
        )
        .bind(message.id)
        .bind(message.conversation_id)
        .bind(&message.content)
        .bind(message.edited_at)
        .bind(message.deleted_at)
        .execute(&mut *tx)
        .await
        .store()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await
    }

    async fn own_count_upto(
        &self,
        conversation_id: Uuid,
        user_id: Uuid,
        seq: u64,
    ) -> StoreResult<u64> {
        // The sender ordinal of their last message at or below `seq`: one index probe.
        let n: Option<i64> = sqlx::query_scalar(
            "SELECT sender_ordinal FROM messages \
             WHERE conversation_id = $1 AND sender_id = $2 AND seq <= $3 \
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(conversation_id)
        .bind(user_id)
        .bind(i(seq))
        .fetch_optional(self.pool_ref())
        .await
        .store()?;
        Ok(n.map_or(0, u))
    }

    async fn get_participant(
        &self,
        conversation_id: Uuid,
        user_id: Uuid,
    ) -> StoreResult<Option<Participant>> {
        let sql = format!(
            "SELECT {} FROM participants WHERE conversation_id = $1 AND user_id = $2",
            ParticipantRow::COLS
        );
        let query = sqlx::query(&sql).bind(conversation_id).bind(user_id);
        fetch_optional_as::<ParticipantRow, _>(query, self.pool_ref()).await
    }

    async fn participants(&self, conversation_id: Uuid) -> StoreResult<Vec<Participant>> {
        let sql = format!(
            "SELECT {} FROM participants WHERE conversation_id = $1 ORDER BY user_id",
            ParticipantRow::COLS
        );
        let query = sqlx::query(&sql).bind(conversation_id);
        fetch_all_as::<ParticipantRow, _>(query, self.pool_ref()).await
    }

    async fn delivery_watermarks(
        &self,
        conversation_id: Uuid,
        user_ids: &[Uuid],
    ) -> StoreResult<Vec<(Uuid, u64)>> {
        let rows: Vec<(Uuid, i64)> = sqlx::query_as(
            "SELECT user_id, delivered_seq FROM participants \
             WHERE conversation_id = $1 AND user_id = ANY($2)",
        )
        .bind(conversation_id)
        .bind(user_ids)
        .fetch_all(self.pool_ref())
        .await
        .store()?;
        Ok(rows.into_iter().map(|(user, seq)| (user, u(seq))).collect())
    }

    async fn participants_of(
        &self,
        user_id: Uuid,
        conversation_ids: &[Uuid],
    ) -> StoreResult<Vec<Participant>> {
        let sql = format!(
            "SELECT {} FROM participants WHERE user_id = $1 AND conversation_id = ANY($2)",
            ParticipantRow::COLS
        );
        let query = sqlx::query(&sql).bind(user_id).bind(conversation_ids);
        fetch_all_as::<ParticipantRow, _>(query, self.pool_ref()).await
    }

    async fn put_read_state(&self, p: &Participant, fx: &Effects) -> StoreResult<()> {
        let conflict = || StoreError::Conflict(Conflict::Version);
        let expected = p.version.checked_sub(1).ok_or_else(conflict)?;
        let writes = || {
            let (p, read_marks) = (p.clone(), Json(p.read_marks.clone()));
            let mut w = Writes::new();
            w.counted(|q| {
                if expected == 0 {
                    q.push(INSERT_PARTICIPANT).push("VALUES (");
                    let mut row = q.separated(", ");
                    row.push_bind(p.conversation_id)
                        .push_bind(p.user_id)
                        .push_bind(i(p.last_read_seq))
                        .push_bind(i(p.public_at_watermark))
                        .push_bind(i(p.own_at_watermark))
                        .push_bind(read_above(&p))
                        .push_bind(i(p.last_read_seq))
                        .push("0")
                        .push_bind(read_marks)
                        .push("'[]'")
                        .push_bind(i(p.version))
                        .push_bind(i(p.public_read_seq))
                        .push_bind(public_read_above(&p));
                    q.push(
                        ") ON CONFLICT (conversation_id, user_id) DO UPDATE SET \
                     last_read_seq = EXCLUDED.last_read_seq, \
                     public_at_watermark = EXCLUDED.public_at_watermark, \
                     own_at_watermark = EXCLUDED.own_at_watermark, \
                     read_above = EXCLUDED.read_above, \
                     delivered_seq = greatest(participants.delivered_seq, EXCLUDED.last_read_seq), \
                     read_marks = EXCLUDED.read_marks, version = EXCLUDED.version, \
                     public_read_seq = EXCLUDED.public_read_seq, \
                     public_read_above = EXCLUDED.public_read_above \
                     WHERE participants.version = 0 RETURNING 1",
                    );
                } else {
                    q.push("UPDATE participants SET last_read_seq = ")
                        .push_bind(i(p.last_read_seq))
                        .push(", public_at_watermark = ")
                        .push_bind(i(p.public_at_watermark))
                        .push(", own_at_watermark = ")
                        .push_bind(i(p.own_at_watermark))
                        .push(", read_above = ")
                        .push_bind(read_above(&p))
                        .push(", delivered_seq = greatest(delivered_seq, ")
                        .push_bind(i(p.last_read_seq))
                        .push("), read_marks = ")
                        .push_bind(read_marks)
                        .push(", version = ")
                        .push_bind(i(p.version))
                        .push(", public_read_seq = ")
                        .push_bind(i(p.public_read_seq))
                        .push(", public_read_above = ")
                        .push_bind(public_read_above(&p))
                        .push(" WHERE conversation_id = ")
                        .push_bind(p.conversation_id)
                        .push(" AND user_id = ")
                        .push_bind(p.user_id)
                        .push(" AND version = ")
                        .push_bind(i(expected))
                        .push(" RETURNING 1");
                }
            });
            Ok(w)
        };
        self.write_alone(writes, fx, conflict).await
    }

    async fn advance_delivered(
        &self,
        conversation_id: Uuid,
        at: DateTime<Utc>,
        advances: &[DeliveryAdvance],
    ) -> StoreResult<Vec<bool>> {
        if let Some(moved) = self
            .advance_from_read(conversation_id, at, advances)
            .await?
        {
            return Ok(moved);
        }
        // The library's read (without a lock) was the look: the records moved since, or
        // it gave none. A call that moves nothing still writes nothing (the transaction
        // rolls back).
        let mut tx = self.begin().await?;
        let users: Vec<Uuid> = advances.iter().map(|a| a.user_id).collect();
        let locked: HashMap<Uuid, u64> = locked_participants(&mut tx, conversation_id, &users)
            .await?
            .into_iter()
            .map(|p| (p.user_id, p.delivered_seq))
            .collect();
        let DeliveryMoves { moved, changed, fx } =
            DeliveryMoves::from(conversation_id, at, &locked, advances)
                .ok_or(StoreError::NotFound)?;
        if changed.is_empty() {
            return Ok(moved);
        }
        let mut w = Writes::new();
        push_deliveries(&mut w, conversation_id, &changed);
        let written = w.run(&mut tx, &fx).await?;
        self.commit(tx, written.wrote_events).await?;
        Ok(moved)
    }
}
