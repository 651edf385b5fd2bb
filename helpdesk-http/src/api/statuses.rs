//! `/api/ticket-statuses`: every user reads them (customers the active ones, without
//! `agent_label`); admins write them. Reads take `tickets:read` on an API key, writes
//! `admin`.

use helpdesk_core::principal::TicketView;
use helpdesk_core::status::{NewStatus, StatusCategory, StatusJson, StatusPatch, status_json};
use serde::Deserialize;

use crate::api::{present, whole};
use crate::error::ApiResult;
use crate::request::Ctx;
use crate::response::{created, no_content, ok};

/// `key` and `category` are fixed (422 `unknown_field` on PATCH).
const PATCH_FIELDS: &[&str] = &["agent_label", "customer_label", "position", "active"];
const CREATE_FIELDS: &[&str] = &[
    "key",
    "category",
    "agent_label",
    "customer_label",
    "position",
    "active",
];

#[derive(Deserialize)]
struct CreateBody {
    key: String,
    category: StatusCategory,
    agent_label: String,
    #[serde(default, deserialize_with = "present")]
    customer_label: Option<String>,
    #[serde(default, deserialize_with = "whole")]
    position: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    active: Option<bool>,
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default, deserialize_with = "present")]
    agent_label: Option<String>,
    #[serde(default, deserialize_with = "present")]
    customer_label: Option<String>,
    #[serde(default, deserialize_with = "whole")]
    position: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    active: Option<bool>,
}

/// `GET /api/ticket-statuses`: `{items}` by category, position, key.
pub async fn list(ctx: Ctx) -> ApiResult {
    let p = ctx.principal().await?;
    let all = ctx.state.hd.list_statuses(&p).await?;
    let items: Vec<StatusJson> = all
        .iter()
        .map(|s| status_json(s, TicketView::of(&p)))
        .collect();
    Ok(ok(serde_json::json!({ "items": items })))
}

/// `POST /api/ticket-statuses` (admins): 201 with `Location`.
pub async fn create(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    let b: CreateBody = body.parse(CREATE_FIELDS)?;
    let s = ctx
        .state
        .hd
        .create_status(
            &p,
            NewStatus {
                key: b.key,
                category: b.category,
                agent_label: b.agent_label,
                customer_label: b.customer_label,
                position: b.position,
                active: b.active,
            },
        )
        .await?;
    Ok(created(
        &ctx.state.api_path(&format!("/ticket-statuses/{}", s.id)),
        status_json(&s, TicketView::of(&p)),
    ))
}

/// `GET /api/ticket-statuses/{id}`.
pub async fn get(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let s = ctx.state.hd.get_status(&p, id).await?;
    Ok(ok(status_json(&s, TicketView::of(&p))))
}

/// `PATCH /api/ticket-statuses/{id}` (admins): labels, position, `active`.
pub async fn update(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    ctx.state.hd.get_status(&p, id).await?;
    let b: UpdateBody = body.parse(PATCH_FIELDS)?;
    let s = ctx
        .state
        .hd
        .update_status(
            &p,
            id,
            StatusPatch {
                agent_label: b.agent_label,
                customer_label: b.customer_label,
                position: b.position,
                active: b.active,
            },
        )
        .await?;
    Ok(ok(status_json(&s, TicketView::of(&p))))
}

/// `DELETE /api/ticket-statuses/{id}` (admins): 204; a default 409 `conflict`, one in
/// use 409 `in_use`.
pub async fn delete(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    ctx.state.hd.delete_status(&p, id).await?;
    Ok(no_content())
}
