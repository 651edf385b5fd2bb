//! `/api/canned-replies`: staff's canned replies, each used and written as its scope
//! allows (the library decides); customers get 403 on every path, a reply the caller
//! may not use 404. Reads take `tickets:read` on an API key, writes and rendering
//! `tickets:write` (canned replies are ticket work, not configuration).

use helpdesk_core::canned_reply::{
    CannedReplyFilter, CannedReplyPatch, NewCannedReply, canned_reply_json,
};
use helpdesk_core::ownership::ItemScope;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api::present;
use crate::error::ApiResult;
use crate::render::page_json;
use crate::request::Ctx;
use crate::response::{created, no_content, ok};

/// What a change may name: `scope`, `group_id` and `owner_id` are fixed (422
/// `unknown_field`).
const PATCH_FIELDS: &[&str] = &["title", "shortcut", "body"];
const CREATE_FIELDS: &[&str] = &["title", "shortcut", "body", "scope", "group_id"];

#[derive(Deserialize)]
struct CreateBody {
    title: String,
    shortcut: String,
    body: String,
    scope: ItemScope,
    #[serde(default)]
    group_id: Option<Uuid>,
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default, deserialize_with = "present")]
    title: Option<String>,
    #[serde(default, deserialize_with = "present")]
    shortcut: Option<String>,
    #[serde(default, deserialize_with = "present")]
    body: Option<String>,
}

#[derive(Deserialize)]
struct RenderBody {
    ticket_id: Uuid,
}

#[derive(Serialize)]
struct Rendered {
    body: String,
}

/// `GET /api/canned-replies` (staff): the caller's usable replies by shortcut,
/// `?shortcut=` (a prefix, case-insensitive), `?scope=`.
pub async fn list(ctx: Ctx) -> ApiResult {
    let q = &ctx.query;
    let limit = q.limit()?;
    let cursor = q.name_cursor()?;
    let filter = CannedReplyFilter {
        shortcut: q.text("shortcut"),
        scope: q.parsed("scope", "must be personal, group or global")?,
        cursor,
        limit,
    };
    let p = ctx.principal().await?;
    let page = ctx.state.hd.list_canned_replies(&p, filter).await?;
    Ok(ok(page_json(&page, canned_reply_json)))
}

/// `POST /api/canned-replies` (staff; a global one admins): 201 with `Location`.
pub async fn create(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_staff()?;
    let b: CreateBody = body.parse(CREATE_FIELDS)?;
    let r = ctx
        .state
        .hd
        .create_canned_reply(
            &p,
            NewCannedReply {
                title: b.title,
                shortcut: b.shortcut,
                body: b.body,
                scope: b.scope,
                group_id: b.group_id,
            },
        )
        .await?;
    Ok(created(
        &ctx.state.api_path(&format!("/canned-replies/{}", r.id)),
        canned_reply_json(&r),
    ))
}

/// `GET /api/canned-replies/{id}` (who may use it).
pub async fn get(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let r = ctx.state.hd.get_canned_reply(&p, id).await?;
    Ok(ok(canned_reply_json(&r)))
}

/// `PATCH /api/canned-replies/{id}` (who may write it): `title`, `shortcut`, `body`.
pub async fn update(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    // 404, then 403 (a global reply for an agent), before the body's fields.
    ctx.state.hd.canned_reply_to_write(&p, id).await?;
    let b: UpdateBody = body.parse(PATCH_FIELDS)?;
    let r = ctx
        .state
        .hd
        .update_canned_reply(
            &p,
            id,
            CannedReplyPatch {
                title: b.title,
                shortcut: b.shortcut,
                body: b.body,
            },
        )
        .await?;
    Ok(ok(canned_reply_json(&r)))
}

/// `DELETE /api/canned-replies/{id}` (who may write it): 204.
pub async fn delete(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    ctx.state.hd.delete_canned_reply(&p, id).await?;
    Ok(no_content())
}

/// `POST /api/canned-replies/{id}/render` (who may use it): `{ticket_id}` → `{body}`;
/// a ticket the caller cannot see: 422.
pub async fn render(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    ctx.state.hd.get_canned_reply(&p, id).await?;
    let b: RenderBody = body.parse(&["ticket_id"])?;
    let body = ctx
        .state
        .hd
        .render_canned_reply(&p, id, b.ticket_id)
        .await?;
    Ok(ok(Rendered { body }))
}
