//! `/api/macros` (staff read, admins write; customers 403 on every path), applying a
//! macro to a ticket (`POST /api/tickets/{id}/apply-macro`) and bulk changes
//! (`POST /api/tickets/bulk`). Reads take `tickets:read` on an API key, writes `admin`
//! (configuration, as groups); applying and bulk changes `tickets:write`.

use helpdesk_core::macros::{BulkChange, Macro, MacroPatch, NewMacro};
use helpdesk_core::principal::TicketView;
use helpdesk_core::schema::ticket_json_for;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::api::{present, whole};
use crate::error::{ApiError, ApiResult};
use crate::render::items_json;
use crate::request::Ctx;
use crate::response::{created, no_content, ok};

/// What a macro's body may name (none of them fixed).
const FIELDS: &[&str] = &["name", "actions", "position"];

#[derive(Deserialize)]
struct CreateBody {
    name: String,
    actions: serde_json::Value,
    #[serde(default, deserialize_with = "whole")]
    position: Option<i64>,
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    actions: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "whole")]
    position: Option<i64>,
}

#[derive(Deserialize)]
struct ApplyBody {
    macro_id: Uuid,
}

#[derive(Deserialize)]
struct BulkBody {
    ticket_ids: Vec<Uuid>,
    #[serde(default, deserialize_with = "present")]
    actions: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "present")]
    macro_id: Option<Uuid>,
}

/// A macro as the API shows it.
fn macro_json(m: &Macro) -> serde_json::Value {
    json!({
        "id": m.id,
        "name": m.name,
        "actions": m.actions,
        "position": m.position,
        "created_at": helpdesk_core::event::ts(m.created_at),
        "updated_at": helpdesk_core::event::ts(m.updated_at),
    })
}

/// `GET /api/macros` (staff): every macro by `position`, `id`.
pub async fn list(ctx: Ctx) -> ApiResult {
    let p = ctx.principal().await?;
    let macros = ctx.state.hd.list_macros(&p).await?;
    Ok(ok(items_json(&macros, macro_json)))
}

/// `POST /api/macros` (admins): 201 with `Location`.
pub async fn create(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    let b: CreateBody = body.parse(FIELDS)?;
    let m = ctx
        .state
        .hd
        .create_macro(
            &p,
            NewMacro {
                name: b.name,
                actions: b.actions,
                position: b.position,
            },
        )
        .await?;
    Ok(created(
        &ctx.state.api_path(&format!("/macros/{}", m.id)),
        macro_json(&m),
    ))
}

/// `GET /api/macros/{id}` (staff).
pub async fn get(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let m = ctx.state.hd.get_macro(&p, id).await?;
    Ok(ok(macro_json(&m)))
}

/// `PATCH /api/macros/{id}` (admins): `name`, `actions`, `position`.
pub async fn update(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    // 404 before the body's fields.
    ctx.state.hd.get_macro(&p, id).await?;
    let b: UpdateBody = body.parse(FIELDS)?;
    let m = ctx
        .state
        .hd
        .update_macro(
            &p,
            id,
            MacroPatch {
                name: b.name,
                actions: b.actions,
                position: b.position,
            },
        )
        .await?;
    Ok(ok(macro_json(&m)))
}

/// `DELETE /api/macros/{id}` (admins): 204.
pub async fn delete(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    ctx.state.hd.delete_macro(&p, id).await?;
    Ok(no_content())
}

/// `POST /api/tickets/{id}/apply-macro` `{macro_id}` (staff with `full` access to the
/// ticket): 200 the ticket as the macro left it; an unknown macro 422 at `macro_id`.
pub async fn apply(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_staff()?;
    // 404 (cannot see it), then 403 (not `full`), before the body.
    ctx.state.hd.ticket_for_actions(&p, id).await?;
    let b: ApplyBody = body.parse(&["macro_id"])?;
    let t = ctx.state.hd.apply_macro(&p, id, b.macro_id).await?;
    let schema = ctx.state.hd.ticket_schema().await?;
    Ok(ok(ticket_json_for(&t, TicketView::of(&p), &schema)))
}

/// `POST /api/tickets/bulk` `{ticket_ids, actions}` or `{ticket_ids, macro_id}`
/// (staff): 200 `{items}`, one per id in request order, each `{ticket_id, status: 200,
/// ticket}` or `{ticket_id, status, error}` (the problem details the same failure would
/// answer alone). A bad request (ids, actions, both or neither of `actions` and
/// `macro_id`) is 422 and changes nothing.
pub async fn bulk(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_staff()?;
    let b: BulkBody = body.parse(&["ticket_ids", "actions", "macro_id"])?;
    let change = match (b.actions, b.macro_id) {
        (Some(actions), None) => BulkChange::Actions(actions),
        (None, Some(id)) => BulkChange::Macro(id),
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "macro_id",
                "give either actions or macro_id, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "actions",
                "give either actions or macro_id",
            ));
        }
    };
    let results = ctx.state.hd.bulk_change(&p, &b.ticket_ids, change).await?;
    let view = TicketView::of(&p);
    let schema = ctx.state.hd.ticket_schema().await?;
    let items: Vec<serde_json::Value> = results
        .into_iter()
        .map(|(ticket_id, result)| match result {
            Ok(t) => json!({
                "ticket_id": ticket_id,
                "status": 200,
                "ticket": ticket_json_for(&t, view, &schema),
            }),
            Err(e) => {
                let e = ApiError::from(e);
                json!({
                    "ticket_id": ticket_id,
                    "status": e.status.as_u16(),
                    "error": e.problem_json(),
                })
            }
        })
        .collect();
    Ok(ok(json!({ "items": items })))
}
