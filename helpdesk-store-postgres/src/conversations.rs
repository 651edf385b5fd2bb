//! Conversations, members, messages and read state: [`ConversationStore`].
//!
//! Appending locks the conversation row `FOR UPDATE`, so `seq` is assigned one writer at
//! a time and a rolled-back append gives its seq back: seqs never collide or skip.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::StoreError;
use helpdesk_core::attachment::AttachmentParent;
use helpdesk_core::conversation::{Conversation, ConversationKind, Member};
use helpdesk_core::event::Effects;
use helpdesk_core::message::{self, Message, MessageRange, NewMessage};
use helpdesk_core::page::Cursor;
use helpdesk_core::receipt::{self, Mark, Participant};
use helpdesk_core::store::{ConversationStore, EffectsFn, StoreResult};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::PostgresStore;
use crate::attachments::attach;
use crate::effects::write_effects;
use crate::error::SqlxResultExt;
use crate::rows::{self, i, micros, to_json};
use crate::tickets::write_ticket;

/// `cols` with every column prefixed by `alias.`.
pub(crate) fn prefixed(cols: &str, alias: &str) -> String {
    cols.split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Inserts a conversation, its member rows and a participant per member.
pub(crate) async fn insert_conversation(
    conn: &mut PgConnection,
    conv: &Conversation,
) -> StoreResult<()> {
    insert_conversation_rows(conn, conv).await?;
    for m in &conv.members {
        let existing = locked_participant(conn, conv.id, m.user_id).await?;
        upsert_participant(conn, &Participant::joined(conv, m.user_id, Some(existing))).await?;
    }
    Ok(())
}

/// Inserts a conversation and its member rows (no participants).
pub(crate) async fn insert_conversation_rows(
    conn: &mut PgConnection,
    conv: &Conversation,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO conversations (id, kind, title, ticket_id, members, created_by, created_at, \
         last_message_at, last_seq, last_public_seq, public_count, direct_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(conv.id)
    .bind(conv.kind.as_str())
    .bind(&conv.title)
    .bind(conv.ticket_id)
    .bind(to_json(&conv.members)?)
    .bind(conv.created_by)
    .bind(conv.created_at)
    .bind(conv.last_message_at)
    .bind(i(conv.last_seq))
    .bind(i(conv.last_public_seq))
    .bind(i(conv.public_count))
    .bind(&conv.direct_key)
    .execute(&mut *conn)
    .await
    .store()?;
    for m in &conv.members {
        insert_member(conn, conv, m).await?;
    }
    Ok(())
}

async fn insert_member(
    conn: &mut PgConnection,
    conv: &Conversation,
    m: &Member,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO conversation_members (conversation_id, user_id, kind, joined_at, activity_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (conversation_id, user_id) DO NOTHING",
    )
    .bind(conv.id)
    .bind(m.user_id)
    .bind(conv.kind.as_str())
    .bind(m.joined_at)
    .bind(conv.activity_at())
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

/// The conversation row, locked until commit.
pub(crate) async fn conversation_for_update(
    conn: &mut PgConnection,
    id: Uuid,
) -> StoreResult<Option<Conversation>> {
    let sql = format!(
        "SELECT {} FROM conversations WHERE id = $1 FOR UPDATE",
        rows::CONVERSATION_COLS
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .store()?;
    row.as_ref().map(rows::conversation).transpose()
}

/// Writes back a conversation's title, members and counters.
async fn write_conversation(conn: &mut PgConnection, conv: &Conversation) -> StoreResult<()> {
    sqlx::query(
        "UPDATE conversations SET title = $2, members = $3, last_message_at = $4, \
         last_seq = $5, last_public_seq = $6, public_count = $7 WHERE id = $1",
    )
    .bind(conv.id)
    .bind(&conv.title)
    .bind(to_json(&conv.members)?)
    .bind(conv.last_message_at)
    .bind(i(conv.last_seq))
    .bind(i(conv.last_public_seq))
    .bind(i(conv.public_count))
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

/// The participant record, created empty (version 0) if absent, locked until commit.
/// Creating first means concurrent writers of a new record queue on its row lock
/// instead of overwriting each other.
async fn locked_participant(
    conn: &mut PgConnection,
    conversation_id: Uuid,
    user_id: Uuid,
) -> StoreResult<Participant> {
    sqlx::query(
        "INSERT INTO participants (conversation_id, user_id, last_read_seq, \
         public_at_watermark, own_at_watermark, read_above, delivered_seq, sent_count, \
         read_marks, delivered_marks, version) \
         VALUES ($1, $2, 0, 0, 0, '{}', 0, 0, '[]', '[]', 0) \
         ON CONFLICT (conversation_id, user_id) DO NOTHING",
    )
    .bind(conversation_id)
    .bind(user_id)
    .execute(&mut *conn)
    .await
    .store()?;
    let sql = format!(
        "SELECT {} FROM participants WHERE conversation_id = $1 AND user_id = $2 FOR UPDATE",
        rows::PARTICIPANT_COLS
    );
    let row = sqlx::query(&sql)
        .bind(conversation_id)
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await
        .store()?;
    rows::participant(&row)
}

fn read_above(p: &Participant) -> Vec<i64> {
    p.read_above.iter().map(|s| i(*s)).collect()
}

/// Inserts or replaces a whole participant record.
pub(crate) async fn upsert_participant(
    conn: &mut PgConnection,
    p: &Participant,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO participants (conversation_id, user_id, last_read_seq, \
         public_at_watermark, own_at_watermark, read_above, delivered_seq, sent_count, \
         read_marks, delivered_marks, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (conversation_id, user_id) DO UPDATE SET \
         last_read_seq = EXCLUDED.last_read_seq, \
         public_at_watermark = EXCLUDED.public_at_watermark, \
         own_at_watermark = EXCLUDED.own_at_watermark, read_above = EXCLUDED.read_above, \
         delivered_seq = EXCLUDED.delivered_seq, sent_count = EXCLUDED.sent_count, \
         read_marks = EXCLUDED.read_marks, delivered_marks = EXCLUDED.delivered_marks, \
         version = EXCLUDED.version",
    )
    .bind(p.conversation_id)
    .bind(p.user_id)
    .bind(i(p.last_read_seq))
    .bind(i(p.public_at_watermark))
    .bind(i(p.own_at_watermark))
    .bind(read_above(p))
    .bind(i(p.delivered_seq))
    .bind(i(p.sent_count))
    .bind(to_json(&p.read_marks)?)
    .bind(to_json(&p.delivered_marks)?)
    .bind(i(p.version))
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

pub(crate) async fn insert_message(conn: &mut PgConnection, m: &Message) -> StoreResult<()> {
    insert_messages(conn, &[m]).await
}

/// Inserts messages with one statement.
pub(crate) async fn insert_messages(conn: &mut PgConnection, ms: &[&Message]) -> StoreResult<()> {
    if ms.is_empty() {
        return Ok(());
    }
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
        "INSERT INTO messages (id, conversation_id, seq, sender_id, content, parent_id, \
         reply_count, attachment_ids, internal, created_at, edited_at, deleted_at, \
         public_ordinal, sender_ordinal) ",
    );
    q.push_values(ms, |mut row, m| {
        row.push_bind(m.id)
            .push_bind(m.conversation_id)
            .push_bind(i(m.seq))
            .push_bind(m.sender_id)
            .push_bind(m.content.clone())
            .push_bind(m.parent_id)
            .push_bind(i(m.reply_count))
            .push_bind(m.attachment_ids.clone())
            .push_bind(m.internal)
            .push_bind(m.created_at)
            .push_bind(m.edited_at)
            .push_bind(m.deleted_at)
            .push_bind(i(m.public_ordinal))
            .push_bind(i(m.sender_ordinal));
    });
    q.build().execute(&mut *conn).await.store()?;
    Ok(())
}

impl PostgresStore {
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
            prefixed(rows::CONVERSATION_COLS, "c")
        ));
        q.push_bind(user_id);
        if let Some(kind) = kind {
            q.push(" AND m.kind = ").push_bind(kind.as_str());
        }
        if let Some(c) = cursor {
            q.push(" AND (m.activity_at, m.conversation_id) < (")
                .push_bind(micros(c.key))
                .push(", ")
                .push_bind(c.id)
                .push(")");
        }
        q.push(" ORDER BY m.activity_at DESC, m.conversation_id DESC");
        if let Some(limit) = limit {
            q.push(" LIMIT ").push_bind(i(limit as u64));
        }
        let found = q.build().fetch_all(self.pool_ref()).await.store()?;
        rows::all(&found, rows::conversation)
    }
}

#[async_trait]
impl ConversationStore for PostgresStore {
    async fn create_conversation(&self, conv: &Conversation, fx: &Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        insert_conversation(&mut tx, conv).await?;
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await
    }

    async fn find_direct(&self, direct_key: &str) -> StoreResult<Option<Conversation>> {
        let sql = format!(
            "SELECT {} FROM conversations WHERE direct_key = $1",
            rows::CONVERSATION_COLS
        );
        let row = sqlx::query(&sql)
            .bind(direct_key)
            .fetch_optional(self.pool_ref())
            .await
            .store()?;
        row.as_ref().map(rows::conversation).transpose()
    }

    async fn get_conversation(&self, id: Uuid) -> StoreResult<Option<Conversation>> {
        let sql = format!(
            "SELECT {} FROM conversations WHERE id = $1",
            rows::CONVERSATION_COLS
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool_ref())
            .await
            .store()?;
        row.as_ref().map(rows::conversation).transpose()
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
        let mut conv = conversation_for_update(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if conv.is_member(member.user_id) {
            return Ok(false);
        }
        conv.members.push(member);
        write_conversation(&mut tx, &conv).await?;
        insert_member(&mut tx, &conv, &member).await?;
        let existing = locked_participant(&mut tx, id, member.user_id).await?;
        let joined = Participant::joined(&conv, member.user_id, Some(existing));
        upsert_participant(&mut tx, &joined).await?;
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await?;
        Ok(true)
    }

    async fn remove_member(&self, id: Uuid, user_id: Uuid, fx: &Effects) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let mut conv = conversation_for_update(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if !conv.is_member(user_id) {
            return Ok(false);
        }
        conv.members.retain(|m| m.user_id != user_id);
        write_conversation(&mut tx, &conv).await?;
        sqlx::query("DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .store()?;
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await?;
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
        new: &NewMessage,
        effects: EffectsFn<'_, Message>,
    ) -> StoreResult<Message> {
        let mut tx = self.begin().await?;
        let mut conv = conversation_for_update(&mut tx, new.conversation_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let was_member = conv.is_member(new.sender_id);
        let sender = locked_participant(&mut tx, conv.id, new.sender_id).await?;
        let (message, participant) = message::apply_append(&mut conv, Some(sender), new);
        if let Some(parent) = new.parent_id {
            let done = sqlx::query(
                "UPDATE messages SET reply_count = reply_count + 1 \
                 WHERE id = $1 AND conversation_id = $2",
            )
            .bind(parent)
            .bind(conv.id)
            .execute(&mut *tx)
            .await
            .store()?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
        }
        insert_message(&mut tx, &message).await?;
        write_conversation(&mut tx, &conv).await?;
        if !was_member && let Some(m) = conv.members.iter().find(|m| m.user_id == new.sender_id) {
            insert_member(&mut tx, &conv, m).await?;
        }
        sqlx::query("UPDATE conversation_members SET activity_at = $2 WHERE conversation_id = $1")
            .bind(conv.id)
            .bind(conv.activity_at())
            .execute(&mut *tx)
            .await
            .store()?;
        upsert_participant(&mut tx, &participant).await?;
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
        let wrote = write_effects(&mut tx, &effects(&message)).await?;
        self.commit(tx, wrote).await?;
        Ok(message)
    }

    async fn get_message(&self, conversation_id: Uuid, id: Uuid) -> StoreResult<Option<Message>> {
        let sql = format!(
            "SELECT {} FROM messages WHERE id = $1 AND conversation_id = $2",
            rows::MESSAGE_COLS
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(conversation_id)
            .fetch_optional(self.pool_ref())
            .await
            .store()?;
        row.as_ref().map(rows::message).transpose()
    }

    async fn get_message_by_seq(
        &self,
        conversation_id: Uuid,
        seq: u64,
    ) -> StoreResult<Option<Message>> {
        let sql = format!(
            "SELECT {} FROM messages WHERE conversation_id = $1 AND seq = $2",
            rows::MESSAGE_COLS
        );
        let row = sqlx::query(&sql)
            .bind(conversation_id)
            .bind(i(seq))
            .fetch_optional(self.pool_ref())
            .await
            .store()?;
        row.as_ref().map(rows::message).transpose()
    }

    async fn list_messages(
        &self,
        conversation_id: Uuid,
        range: MessageRange,
        include_internal: bool,
        limit: usize,
    ) -> StoreResult<Vec<Message>> {
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT {} FROM messages WHERE conversation_id = ",
            rows::MESSAGE_COLS
        ));
        q.push_bind(conversation_id);
        if !include_internal {
            q.push(" AND NOT internal");
        }
        let descending = match range {
            MessageRange::Latest => true,
            MessageRange::Before(seq) => {
                q.push(" AND seq < ").push_bind(i(seq));
                true
            }
            MessageRange::After(seq) => {
                q.push(" AND seq > ").push_bind(i(seq));
                false
            }
        };
        q.push(if descending {
            " ORDER BY seq DESC"
        } else {
            " ORDER BY seq"
        });
        q.push(" LIMIT ").push_bind(i(limit as u64));
        let found = q.build().fetch_all(self.pool_ref()).await.store()?;
        let mut messages = rows::all(&found, rows::message)?;
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
            cols = rows::MESSAGE_COLS,
            mcols = prefixed(rows::MESSAGE_COLS, "m"),
        );
        let found = sqlx::query(&sql)
            .bind(conversation_id)
            .bind(id)
            .fetch_all(self.pool_ref())
            .await
            .store()?;
        found
            .iter()
            .map(|r| {
                let depth: i32 = sqlx::Row::try_get(r, "depth").store()?;
                Ok((rows::message(r)?, u32::try_from(depth).unwrap_or(0)))
            })
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
        Ok(n.map_or(0, rows::u))
    }

    async fn get_participant(
        &self,
        conversation_id: Uuid,
        user_id: Uuid,
    ) -> StoreResult<Option<Participant>> {
        let sql = format!(
            "SELECT {} FROM participants WHERE conversation_id = $1 AND user_id = $2",
            rows::PARTICIPANT_COLS
        );
        let row = sqlx::query(&sql)
            .bind(conversation_id)
            .bind(user_id)
            .fetch_optional(self.pool_ref())
            .await
            .store()?;
        row.as_ref().map(rows::participant).transpose()
    }

    async fn participants(&self, conversation_id: Uuid) -> StoreResult<Vec<Participant>> {
        let sql = format!(
            "SELECT {} FROM participants WHERE conversation_id = $1 ORDER BY user_id",
            rows::PARTICIPANT_COLS
        );
        let found = sqlx::query(&sql)
            .bind(conversation_id)
            .fetch_all(self.pool_ref())
            .await
            .store()?;
        rows::all(&found, rows::participant)
    }

    async fn participants_of(
        &self,
        user_id: Uuid,
        conversation_ids: &[Uuid],
    ) -> StoreResult<Vec<Participant>> {
        let sql = format!(
            "SELECT {} FROM participants WHERE user_id = $1 AND conversation_id = ANY($2)",
            rows::PARTICIPANT_COLS
        );
        let found = sqlx::query(&sql)
            .bind(user_id)
            .bind(conversation_ids)
            .fetch_all(self.pool_ref())
            .await
            .store()?;
        rows::all(&found, rows::participant)
    }

    async fn put_read_state(&self, p: &Participant, fx: &Effects) -> StoreResult<()> {
        let conflict = || StoreError::Conflict("version".into());
        let expected = p.version.checked_sub(1).ok_or_else(conflict)?;
        let mut tx = self.begin().await?;
        let done = if expected == 0 {
            sqlx::query(
                "INSERT INTO participants (conversation_id, user_id, last_read_seq, \
                 public_at_watermark, own_at_watermark, read_above, delivered_seq, sent_count, \
                 read_marks, delivered_marks, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $3, 0, $7, '[]', $8) \
                 ON CONFLICT (conversation_id, user_id) DO UPDATE SET \
                 last_read_seq = EXCLUDED.last_read_seq, \
                 public_at_watermark = EXCLUDED.public_at_watermark, \
                 own_at_watermark = EXCLUDED.own_at_watermark, read_above = EXCLUDED.read_above, \
                 delivered_seq = greatest(participants.delivered_seq, EXCLUDED.last_read_seq), \
                 read_marks = EXCLUDED.read_marks, version = EXCLUDED.version \
                 WHERE participants.version = 0",
            )
        } else {
            sqlx::query(
                "UPDATE participants SET last_read_seq = $3, public_at_watermark = $4, \
                 own_at_watermark = $5, read_above = $6, \
                 delivered_seq = greatest(delivered_seq, $3), read_marks = $7, version = $8 \
                 WHERE conversation_id = $1 AND user_id = $2 AND version = $8 - 1",
            )
        }
        .bind(p.conversation_id)
        .bind(p.user_id)
        .bind(i(p.last_read_seq))
        .bind(i(p.public_at_watermark))
        .bind(i(p.own_at_watermark))
        .bind(read_above(p))
        .bind(to_json(&p.read_marks)?)
        .bind(i(p.version))
        .execute(&mut *tx)
        .await
        .store()?;
        if done.rows_affected() == 0 {
            return Err(conflict());
        }
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await
    }

    async fn advance_delivered(
        &self,
        conversation_id: Uuid,
        user_id: Uuid,
        seq: u64,
        at: DateTime<Utc>,
        fx: &Effects,
    ) -> StoreResult<bool> {
        // Most calls move nothing: answer those without a write (or a lock).
        let current: Option<i64> = sqlx::query_scalar(
            "SELECT delivered_seq FROM participants WHERE conversation_id = $1 AND user_id = $2",
        )
        .bind(conversation_id)
        .bind(user_id)
        .fetch_optional(self.pool_ref())
        .await
        .store()?;
        if current.is_some_and(|d| rows::u(d) >= seq) {
            return Ok(false);
        }
        let mut tx = self.begin().await?;
        let mut p = locked_participant(&mut tx, conversation_id, user_id).await?;
        if p.delivered_seq >= seq {
            return Ok(false);
        }
        p.delivered_seq = seq;
        receipt::push_mark(
            &mut p.delivered_marks,
            Mark {
                seq,
                at,
                one: false,
            },
        );
        upsert_participant(&mut tx, &p).await?;
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await?;
        Ok(true)
    }
}
