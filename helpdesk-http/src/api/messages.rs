//! Messages of a conversation: send, page, read, edit, delete, threads, receipts, and
//! the three read-status endpoints.

use helpdesk_core::event::ts;
use helpdesk_core::message::{MessageJson, MessagePageQuery, NewMessage, message_json};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::render::{items_json, page_json};
use crate::request::Ctx;
use crate::response::{created, no_content, ok};

#[derive(Deserialize)]
struct SendBody {
    content: String,
    parent_id: Option<Uuid>,
    #[serde(default)]
    attachment_ids: Vec<Uuid>,
    #[serde(default)]
    internal: bool,
}

#[derive(Deserialize)]
struct EditBody {
    content: String,
}

/// `POST /api/conversations/{id}/messages`. `internal` is staff-only.
pub async fn send(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    let readable = ctx.state.hd.check_readable(&p, id).await?;
    body.check(&["content", "parent_id", "attachment_ids", "internal"])?;
    let sets_internal = body
        .0
        .get("internal")
        .is_some_and(|v| v != &Value::Bool(false));
    if sets_internal && !p.is_staff() {
        return Err(crate::error::ApiError::forbidden_field("internal"));
    }
    let b: SendBody = body.convert()?;
    let v = ctx
        .state
        .hd
        .send_message_to(
            &p,
            readable,
            NewMessage {
                content: b.content,
                parent_id: b.parent_id,
                attachment_ids: b.attachment_ids,
                internal: b.internal,
            },
        )
        .await?;
    Ok(created(
        &ctx.state
            .api_path(&format!("/conversations/{id}/messages/{}", v.message.id)),
        message_json(&v),
    ))
}

/// `GET /api/conversations/{id}/messages`: `before`, `after`, `cursor`, `limit`,
/// `include_merged`.
pub async fn list(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let q = &ctx.query;
    let query = MessagePageQuery {
        before: q.uuid("before")?,
        after: q.uuid("after")?,
        cursor: q.cursor()?,
        limit: q.limit()?,
    };
    if query.before.is_some() && query.after.is_some() {
        return Err(crate::error::ApiError::invalid_query(
            "before",
            "cannot be combined with `after`",
        ));
    }
    let merged = q.bool("include_merged")?.unwrap_or(false);
    let p = ctx.principal().await?;
    let page = match merged {
        true => ctx.state.hd.list_messages_merged(&p, id, query).await?,
        false => ctx.state.hd.list_messages(&p, id, query).await?,
    };
    Ok(ok(page_json(&page, message_json)))
}

/// `GET /api/conversations/{id}/messages/{message_id}`.
pub async fn get(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let mid = ctx.id("message_id")?;
    let p = ctx.principal().await?;
    let v = ctx.state.hd.get_message(&p, id, mid).await?;
    Ok(ok(message_json(&v)))
}

/// `GET /api/conversations/{id}/messages/{message_id}/thread`.
pub async fn thread(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let mid = ctx.id("message_id")?;
    let p = ctx.principal().await?;
    let items = ctx.state.hd.thread(&p, id, mid).await?;
    Ok(ok(items_json(&items, |i| ThreadItemJson {
        message: message_json(&i.message),
        depth: i.depth,
    })))
}

/// A message of a thread with its depth below the root.
#[derive(Serialize)]
struct ThreadItemJson<'a> {
    #[serde(flatten)]
    message: MessageJson<'a>,
    depth: u32,
}

/// `PATCH /api/conversations/{id}/messages/{message_id}`: the sender edits `content`.
pub async fn edit(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let mid = ctx.id("message_id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    ctx.state.hd.get_message(&p, id, mid).await?;
    let b: EditBody = body.parse(&["content"])?;
    let v = ctx.state.hd.edit_message(&p, id, mid, &b.content).await?;
    Ok(ok(message_json(&v)))
}

/// `DELETE /api/conversations/{id}/messages/{message_id}`: sender or admin.
pub async fn delete(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let mid = ctx.id("message_id")?;
    let p = ctx.principal().await?;
    ctx.state.hd.delete_message(&p, id, mid).await?;
    Ok(no_content())
}

/// `GET /api/conversations/{id}/messages/{message_id}/receipts`: sender and staff.
pub async fn receipts(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let mid = ctx.id("message_id")?;
    let p = ctx.principal().await?;
    let list = ctx.state.hd.receipts(&p, id, mid).await?;
    Ok(ok(items_json(&list, |r| {
        json!({
            "user_id": r.user_id,
            "delivered_at": r.delivered_at.map(ts),
            "read_at": r.read_at.map(ts),
        })
    })))
}

/// `POST /api/conversations/{id}/messages/{message_id}/read`.
pub async fn mark_read(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let mid = ctx.id("message_id")?;
    let p = ctx.principal().await?;
    let s = ctx.state.hd.mark_read(&p, id, mid).await?;
    Ok(ok(s))
}

/// `POST /api/conversations/{id}/read`.
pub async fn mark_all_read(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let s = ctx.state.hd.mark_all_read(&p, id).await?;
    Ok(ok(s))
}

/// `POST /api/conversations/{id}/read-up-to/{message_id}`.
pub async fn mark_read_up_to(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let mid = ctx.id("message_id")?;
    let p = ctx.principal().await?;
    let s = ctx.state.hd.mark_read_up_to(&p, id, mid).await?;
    Ok(ok(s))
}

/// `POST /api/conversations/{id}/unread-from/{message_id}`.
pub async fn mark_unread_from(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let mid = ctx.id("message_id")?;
    let p = ctx.principal().await?;
    let s = ctx.state.hd.mark_unread_from(&p, id, mid).await?;
    Ok(ok(s))
}
