//! Decoding rows into the core records, and the column lists the queries select.

use chrono::{DateTime, Utc};
use helpdesk_core::StoreError;
use helpdesk_core::attachment::{Attachment, AttachmentParent};
use helpdesk_core::auth::Session;
use helpdesk_core::conversation::{Conversation, ConversationKind, Member};
use helpdesk_core::event::{Audience, Event, EventId};
use helpdesk_core::kb::{Article, ArticleStatus};
use helpdesk_core::message::Message;
use helpdesk_core::notification::{Notification, NotificationData, NotificationKind};
use helpdesk_core::receipt::{Mark, Participant};
use helpdesk_core::ticket::{Priority, Ticket, TicketEvent, TicketStatus};
use helpdesk_core::user::User;
use helpdesk_core::webhook::{Delivery, DeliveryStatus, Webhook};
use helpdesk_core::{Role, store::StoreResult};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use crate::error::SqlxResultExt;

pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// A stored count (bigint) as the core's u64.
pub(crate) fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A core count as bigint.
pub(crate) fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A cursor key in microseconds as a time.
pub(crate) fn micros(key: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(key).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn parse<T: std::str::FromStr>(s: &str, what: &str) -> StoreResult<T> {
    s.parse().map_err(|_| corrupt(format!("bad {what} {s:?}")))
}

fn json<T: serde::de::DeserializeOwned>(v: serde_json::Value, what: &str) -> StoreResult<T> {
    serde_json::from_value(v).map_err(|e| corrupt(format!("bad {what}: {e}")))
}

/// Serializes a value for a jsonb column.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> StoreResult<serde_json::Value> {
    serde_json::to_value(v).map_err(StoreError::other)
}

pub(crate) const USER_COLS: &str =
    "id, email, name, role, is_active, password_hash, created_at, updated_at";

pub(crate) fn user(r: &PgRow) -> StoreResult<User> {
    Ok(User {
        id: r.try_get("id").store()?,
        email: r.try_get("email").store()?,
        name: r.try_get("name").store()?,
        role: parse::<Role>(r.try_get("role").store()?, "role")?,
        is_active: r.try_get("is_active").store()?,
        password_hash: r.try_get("password_hash").store()?,
        created_at: r.try_get("created_at").store()?,
        updated_at: r.try_get("updated_at").store()?,
    })
}

pub(crate) const SESSION_COLS: &str =
    "id, user_id, refresh_hash, refresh_expires_at, created_at, revoked_at";

pub(crate) fn session(r: &PgRow) -> StoreResult<Session> {
    Ok(Session {
        id: r.try_get("id").store()?,
        user_id: r.try_get("user_id").store()?,
        refresh_hash: r.try_get("refresh_hash").store()?,
        refresh_expires_at: r.try_get("refresh_expires_at").store()?,
        created_at: r.try_get("created_at").store()?,
        revoked_at: r.try_get("revoked_at").store()?,
    })
}

pub(crate) const TICKET_COLS: &str = "id, number, subject, description, status, priority, \
     requester_id, assignee_id, tags, conversation_id, created_at, updated_at, \
     first_response_at, resolved_at, closed_at, version";

pub(crate) fn priority_of(rank: i16) -> StoreResult<Priority> {
    Priority::ALL
        .get(usize::try_from(rank).map_err(|_| corrupt("negative priority"))?)
        .copied()
        .ok_or_else(|| corrupt(format!("bad priority {rank}")))
}

pub(crate) fn priority_rank(p: Priority) -> i16 {
    p.rank() as i16
}

pub(crate) fn ticket(r: &PgRow) -> StoreResult<Ticket> {
    Ok(Ticket {
        id: r.try_get("id").store()?,
        number: r.try_get("number").store()?,
        subject: r.try_get("subject").store()?,
        description: r.try_get("description").store()?,
        status: parse::<TicketStatus>(r.try_get("status").store()?, "status")?,
        priority: priority_of(r.try_get("priority").store()?)?,
        requester_id: r.try_get("requester_id").store()?,
        assignee_id: r.try_get("assignee_id").store()?,
        tags: r.try_get("tags").store()?,
        conversation_id: r.try_get("conversation_id").store()?,
        created_at: r.try_get("created_at").store()?,
        updated_at: r.try_get("updated_at").store()?,
        first_response_at: r.try_get("first_response_at").store()?,
        resolved_at: r.try_get("resolved_at").store()?,
        closed_at: r.try_get("closed_at").store()?,
        version: u(r.try_get("version").store()?),
    })
}

pub(crate) const TICKET_EVENT_COLS: &str = "id, ticket_id, kind, actor_id, at, data";

pub(crate) fn ticket_event(r: &PgRow) -> StoreResult<TicketEvent> {
    Ok(TicketEvent {
        id: r.try_get("id").store()?,
        ticket_id: r.try_get("ticket_id").store()?,
        kind: r.try_get("kind").store()?,
        actor_id: r.try_get("actor_id").store()?,
        at: r.try_get("at").store()?,
        data: r.try_get("data").store()?,
    })
}

pub(crate) const CONVERSATION_COLS: &str = "id, kind, title, ticket_id, members, created_by, \
     created_at, last_message_at, last_seq, last_public_seq, public_count, direct_key";

pub(crate) fn conversation(r: &PgRow) -> StoreResult<Conversation> {
    let kind: ConversationKind = parse(r.try_get("kind").store()?, "conversation kind")?;
    let members: Vec<Member> = json(r.try_get("members").store()?, "members")?;
    Ok(Conversation {
        id: r.try_get("id").store()?,
        kind,
        title: r.try_get("title").store()?,
        ticket_id: r.try_get("ticket_id").store()?,
        members,
        created_by: r.try_get("created_by").store()?,
        created_at: r.try_get("created_at").store()?,
        last_message_at: r.try_get("last_message_at").store()?,
        last_seq: u(r.try_get("last_seq").store()?),
        last_public_seq: u(r.try_get("last_public_seq").store()?),
        public_count: u(r.try_get("public_count").store()?),
        direct_key: r.try_get("direct_key").store()?,
    })
}

pub(crate) const MESSAGE_COLS: &str = "id, conversation_id, seq, sender_id, content, parent_id, \
     reply_count, internal_reply_count, attachment_ids, internal, created_at, edited_at, \
     deleted_at, public_ordinal, sender_ordinal";

pub(crate) fn message(r: &PgRow) -> StoreResult<Message> {
    Ok(Message {
        id: r.try_get("id").store()?,
        conversation_id: r.try_get("conversation_id").store()?,
        seq: u(r.try_get("seq").store()?),
        sender_id: r.try_get("sender_id").store()?,
        content: r.try_get("content").store()?,
        parent_id: r.try_get("parent_id").store()?,
        reply_count: u(r.try_get("reply_count").store()?),
        internal_reply_count: u(r.try_get("internal_reply_count").store()?),
        attachment_ids: r.try_get("attachment_ids").store()?,
        internal: r.try_get("internal").store()?,
        created_at: r.try_get("created_at").store()?,
        edited_at: r.try_get("edited_at").store()?,
        deleted_at: r.try_get("deleted_at").store()?,
        public_ordinal: u(r.try_get("public_ordinal").store()?),
        sender_ordinal: u(r.try_get("sender_ordinal").store()?),
    })
}

pub(crate) const PARTICIPANT_COLS: &str = "conversation_id, user_id, last_read_seq, \
     public_at_watermark, own_at_watermark, read_above, delivered_seq, sent_count, \
     read_marks, delivered_marks, version";

pub(crate) fn participant(r: &PgRow) -> StoreResult<Participant> {
    let read_above: Vec<i64> = r.try_get("read_above").store()?;
    let read_marks: Vec<Mark> = json(r.try_get("read_marks").store()?, "read marks")?;
    let delivered_marks: Vec<Mark> =
        json(r.try_get("delivered_marks").store()?, "delivered marks")?;
    Ok(Participant {
        conversation_id: r.try_get("conversation_id").store()?,
        user_id: r.try_get("user_id").store()?,
        last_read_seq: u(r.try_get("last_read_seq").store()?),
        public_at_watermark: u(r.try_get("public_at_watermark").store()?),
        own_at_watermark: u(r.try_get("own_at_watermark").store()?),
        read_above: read_above.into_iter().map(u).collect(),
        delivered_seq: u(r.try_get("delivered_seq").store()?),
        sent_count: u(r.try_get("sent_count").store()?),
        read_marks,
        delivered_marks,
        version: u(r.try_get("version").store()?),
    })
}

pub(crate) const NOTIFICATION_COLS: &str = "id, user_id, kind, title, body, ticket_id, \
     conversation_id, message_id, read_at, created_at";

pub(crate) fn notification_kind(s: &str) -> StoreResult<NotificationKind> {
    json(serde_json::Value::String(s.to_owned()), "notification kind")
}

pub(crate) fn notification(r: &PgRow) -> StoreResult<Notification> {
    Ok(Notification {
        id: r.try_get("id").store()?,
        user_id: r.try_get("user_id").store()?,
        kind: notification_kind(r.try_get("kind").store()?)?,
        title: r.try_get("title").store()?,
        body: r.try_get("body").store()?,
        data: NotificationData {
            ticket_id: r.try_get("ticket_id").store()?,
            conversation_id: r.try_get("conversation_id").store()?,
            message_id: r.try_get("message_id").store()?,
        },
        read_at: r.try_get("read_at").store()?,
        created_at: r.try_get("created_at").store()?,
    })
}

pub(crate) const ARTICLE_COLS: &str =
    "id, slug, title, body, tags, status, author_id, created_at, updated_at, published_at";

pub(crate) fn article_status(s: &str) -> StoreResult<ArticleStatus> {
    parse(s, "article status")
}

pub(crate) fn article(r: &PgRow) -> StoreResult<Article> {
    Ok(Article {
        id: r.try_get("id").store()?,
        slug: r.try_get("slug").store()?,
        title: r.try_get("title").store()?,
        body: r.try_get("body").store()?,
        tags: r.try_get("tags").store()?,
        status: article_status(r.try_get("status").store()?)?,
        author_id: r.try_get("author_id").store()?,
        created_at: r.try_get("created_at").store()?,
        updated_at: r.try_get("updated_at").store()?,
        published_at: r.try_get("published_at").store()?,
    })
}

pub(crate) const ATTACHMENT_COLS: &str = "id, filename, content_type, size, sha256, \
     uploaded_by, created_at, parent_kind, ticket_id, conversation_id, message_id";

pub(crate) fn attachment(r: &PgRow) -> StoreResult<Attachment> {
    let kind: Option<String> = r.try_get("parent_kind").store()?;
    let ticket_id: Option<Uuid> = r.try_get("ticket_id").store()?;
    let conversation_id: Option<Uuid> = r.try_get("conversation_id").store()?;
    let message_id: Option<Uuid> = r.try_get("message_id").store()?;
    let parent = match (kind.as_deref(), ticket_id, conversation_id, message_id) {
        (None, ..) => None,
        (Some("ticket"), Some(ticket_id), _, _) => Some(AttachmentParent::Ticket { ticket_id }),
        (Some("message"), _, Some(conversation_id), Some(message_id)) => {
            Some(AttachmentParent::Message {
                conversation_id,
                message_id,
            })
        }
        _ => return Err(corrupt("bad attachment parent")),
    };
    Ok(Attachment {
        id: r.try_get("id").store()?,
        filename: r.try_get("filename").store()?,
        content_type: r.try_get("content_type").store()?,
        size: u(r.try_get("size").store()?),
        sha256: r.try_get("sha256").store()?,
        uploaded_by: r.try_get("uploaded_by").store()?,
        created_at: r.try_get("created_at").store()?,
        parent,
    })
}

pub(crate) const EVENT_COLS: &str = "id, kind, at, audience, data, only_webhook";

pub(crate) fn event_with_prefix(r: &PgRow, p: &str) -> StoreResult<Event> {
    let audience: Audience = json(r.try_get(&*format!("{p}audience")).store()?, "audience")?;
    Ok(Event {
        id: EventId(u(r.try_get(&*format!("{p}id")).store()?)),
        kind: r.try_get(&*format!("{p}kind")).store()?,
        at: r.try_get(&*format!("{p}at")).store()?,
        audience,
        data: r.try_get(&*format!("{p}data")).store()?,
        only_webhook: r.try_get(&*format!("{p}only_webhook")).store()?,
    })
}

pub(crate) fn event(r: &PgRow) -> StoreResult<Event> {
    event_with_prefix(r, "")
}

pub(crate) const WEBHOOK_COLS: &str = "id, url, events, description, active, secret, \
     previous_secret, previous_secret_until, created_at, updated_at";

pub(crate) fn webhook_with_prefix(r: &PgRow, p: &str) -> StoreResult<Webhook> {
    let prev: Option<String> = r.try_get(&*format!("{p}previous_secret")).store()?;
    let until: Option<DateTime<Utc>> = r.try_get(&*format!("{p}previous_secret_until")).store()?;
    Ok(Webhook {
        id: r.try_get(&*format!("{p}id")).store()?,
        url: r.try_get(&*format!("{p}url")).store()?,
        events: r.try_get(&*format!("{p}events")).store()?,
        description: r.try_get(&*format!("{p}description")).store()?,
        active: r.try_get(&*format!("{p}active")).store()?,
        secret: r.try_get(&*format!("{p}secret")).store()?,
        previous_secret: prev.zip(until),
        created_at: r.try_get(&*format!("{p}created_at")).store()?,
        updated_at: r.try_get(&*format!("{p}updated_at")).store()?,
    })
}

pub(crate) fn webhook(r: &PgRow) -> StoreResult<Webhook> {
    webhook_with_prefix(r, "")
}

pub(crate) const DELIVERY_COLS: &str = "id, webhook_id, event_id, event_type, status, attempts, \
     last_status_code, last_error, next_attempt_at, created_at";

pub(crate) fn delivery_status(s: &str) -> StoreResult<DeliveryStatus> {
    json(serde_json::Value::String(s.to_owned()), "delivery status")
}

pub(crate) fn delivery_status_str(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Pending => "pending",
        DeliveryStatus::Succeeded => "succeeded",
        DeliveryStatus::Failed => "failed",
        DeliveryStatus::Dead => "dead",
    }
}

pub(crate) fn delivery(r: &PgRow) -> StoreResult<Delivery> {
    let code: Option<i32> = r.try_get("last_status_code").store()?;
    let attempts: i32 = r.try_get("attempts").store()?;
    Ok(Delivery {
        id: r.try_get("id").store()?,
        webhook_id: r.try_get("webhook_id").store()?,
        event_id: EventId(u(r.try_get("event_id").store()?)),
        event_type: r.try_get("event_type").store()?,
        status: delivery_status(r.try_get("status").store()?)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        last_status_code: code.and_then(|c| u16::try_from(c).ok()),
        last_error: r.try_get("last_error").store()?,
        next_attempt_at: r.try_get("next_attempt_at").store()?,
        created_at: r.try_get("created_at").store()?,
    })
}

/// Decodes every row with `f`.
pub(crate) fn all<T>(rows: &[PgRow], f: fn(&PgRow) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(f).collect()
}

/// A query with its arguments bound, as the row helpers build them.
pub(crate) type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;
