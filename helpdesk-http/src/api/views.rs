//! `/api/views`: staff's saved views, each used and written as its scope allows (the
//! library decides, as for canned replies); customers get 403 on every path, a view the
//! caller may not use 404. Reads take `tickets:read` on an API key, writes
//! `tickets:write` (views are ticket work, not configuration).

use helpdesk_core::ownership::ItemScope;
use helpdesk_core::principal::TicketView;
use helpdesk_core::schema::ticket_json_for;
use helpdesk_core::ticket::TicketSort;
use helpdesk_core::view::{NewView, ViewPatch, view_json};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api::{Whole, present, whole};
use crate::error::ApiResult;
use crate::render::{items_json, page_json};
use crate::request::Ctx;
use crate::response::{created, no_content, ok};

/// What a change may name: `scope`, `group_id` and `owner_id` are fixed (422
/// `unknown_field`).
const PATCH_FIELDS: &[&str] = &["name", "filter", "sort", "position"];
const CREATE_FIELDS: &[&str] = &["name", "scope", "group_id", "filter", "sort", "position"];

#[derive(Deserialize)]
struct CreateBody {
    name: String,
    scope: ItemScope,
    #[serde(default)]
    group_id: Option<Uuid>,
    #[serde(default)]
    filter: Option<serde_json::Value>,
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    position: Option<Whole>,
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    filter: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "present")]
    sort: Option<String>,
    #[serde(default, deserialize_with = "whole")]
    position: Option<i64>,
}

#[derive(Serialize)]
struct Count {
    view_id: Uuid,
    count: u64,
}

/// A sort as written in a body: unknown, 422 at `sort`.
fn sort(s: Option<String>) -> ApiResult<Option<TicketSort>> {
    Ok(s.map(|s| s.parse::<TicketSort>()).transpose()?)
}

/// `GET /api/views` (staff): every view the caller may use, by `position`, `id`.
pub async fn list(ctx: Ctx) -> ApiResult {
    let p = ctx.principal().await?;
    let views = ctx.state.hd.list_views(&p).await?;
    Ok(ok(items_json(&views, view_json)))
}

/// `POST /api/views` (staff; a global one admins, a group one its members and admins):
/// 201 with `Location`.
pub async fn create(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_staff()?;
    let b: CreateBody = body.parse(CREATE_FIELDS)?;
    let v = ctx
        .state
        .hd
        .create_view(
            &p,
            NewView {
                name: b.name,
                scope: b.scope,
                group_id: b.group_id,
                filter: b.filter,
                sort: sort(b.sort)?,
                position: b.position.map(|w| w.0),
            },
        )
        .await?;
    Ok(created(
        &ctx.state.api_path(&format!("/views/{}", v.id)),
        view_json(&v),
    ))
}

/// `GET /api/views/{id}` (who may use it).
pub async fn get(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let v = ctx.state.hd.get_view(&p, id).await?;
    Ok(ok(view_json(&v)))
}

/// `PATCH /api/views/{id}` (who may write it): `name`, `filter`, `sort`, `position`.
pub async fn update(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    // 404, then 403 (a global view for an agent), before the body's fields.
    ctx.state.hd.view_to_write(&p, id).await?;
    let b: UpdateBody = body.parse(PATCH_FIELDS)?;
    let v = ctx
        .state
        .hd
        .update_view(
            &p,
            id,
            ViewPatch {
                name: b.name,
                filter: b.filter,
                sort: sort(b.sort)?,
                position: b.position,
            },
        )
        .await?;
    Ok(ok(view_json(&v)))
}

/// `DELETE /api/views/{id}` (who may write it): 204.
pub async fn delete(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    ctx.state.hd.delete_view(&p, id).await?;
    Ok(no_content())
}

/// `GET /api/views/{id}/tickets` (who may use it): `limit`, `cursor` → a page as
/// `GET /api/tickets` gives, of the tickets the caller can see that match the filter,
/// in the view's sort.
pub async fn tickets(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let q = &ctx.query;
    let limit = q.limit()?;
    let cursor = q.cursor()?;
    let p = ctx.principal().await?;
    let page = ctx.state.hd.view_tickets(&p, id, cursor, limit).await?;
    let view = TicketView::of(&p);
    let schema = ctx.state.hd.ticket_schema().await?;
    Ok(ok(page_json(&page, |t| ticket_json_for(t, view, &schema))))
}

/// `GET /api/views/counts` (staff): `{items: [{view_id, count}]}` for every usable
/// view, exact at request time.
pub async fn counts(ctx: Ctx) -> ApiResult {
    let p = ctx.principal().await?;
    let counts: Vec<Count> = ctx
        .state
        .hd
        .view_counts(&p)
        .await?
        .into_iter()
        .map(|(view_id, count)| Count { view_id, count })
        .collect();
    Ok(ok(items_json(&counts, |c| c)))
}
