//! `/api/sla-policies` (API-workflow.md "SLA policies"): staff read, admins write,
//! customers 403. Reads take `tickets:read` on an API key, writes `admin`.

use helpdesk_core::sla_policy::{NewSlaPolicy, SlaPolicy, SlaPolicyPatch};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::api::{double_option, present, whole, whole_or_null};
use crate::error::ApiResult;
use crate::render::items_json;
use crate::request::Ctx;
use crate::response::{created, no_content, ok};

/// What a policy's body may name (none of them fixed).
const FIELDS: &[&str] = &[
    "name",
    "position",
    "active",
    "condition",
    "calendar_id",
    "targets",
    "warn_percent",
];

#[derive(Deserialize)]
struct CreateBody {
    name: String,
    targets: serde_json::Value,
    #[serde(default, deserialize_with = "whole")]
    position: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    active: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    condition: Option<serde_json::Value>,
    #[serde(default)]
    calendar_id: Option<Uuid>,
    #[serde(default, deserialize_with = "whole_or_null")]
    warn_percent: Option<Option<i64>>,
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    targets: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "whole")]
    position: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    active: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    condition: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "double_option")]
    calendar_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "whole_or_null")]
    warn_percent: Option<Option<i64>>,
}

/// A policy as the API shows it.
fn policy_json(p: &SlaPolicy) -> serde_json::Value {
    json!({
        "id": p.id,
        "name": p.name,
        "position": p.position,
        "active": p.active,
        "condition": p.condition,
        "calendar_id": p.calendar_id,
        "targets": p.targets,
        "warn_percent": p.warn_percent,
        "created_at": helpdesk_core::event::ts(p.created_at),
        "updated_at": helpdesk_core::event::ts(p.updated_at),
    })
}

/// `GET /api/sla-policies` (staff): by `position`, `id`.
pub async fn list(ctx: Ctx) -> ApiResult {
    let p = ctx.principal().await?;
    let all = ctx.state.hd.list_sla_policies(&p).await?;
    Ok(ok(items_json(&all, policy_json)))
}

/// `POST /api/sla-policies` (admins): 201 with `Location`.
pub async fn create(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    let b: CreateBody = body.parse(FIELDS)?;
    let policy = ctx
        .state
        .hd
        .create_sla_policy(
            &p,
            NewSlaPolicy {
                name: b.name,
                position: b.position,
                active: b.active,
                condition: b.condition,
                calendar_id: b.calendar_id,
                targets: b.targets,
                warn_percent: b.warn_percent,
            },
        )
        .await?;
    Ok(created(
        &ctx.state.api_path(&format!("/sla-policies/{}", policy.id)),
        policy_json(&policy),
    ))
}

/// `GET /api/sla-policies/{id}` (staff).
pub async fn get(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let policy = ctx.state.hd.get_sla_policy(&p, id).await?;
    Ok(ok(policy_json(&policy)))
}

/// `PATCH /api/sla-policies/{id}` (admins).
pub async fn update(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    // 404 before the body's fields.
    ctx.state.hd.get_sla_policy(&p, id).await?;
    let b: UpdateBody = body.parse(FIELDS)?;
    let policy = ctx
        .state
        .hd
        .update_sla_policy(
            &p,
            id,
            SlaPolicyPatch {
                name: b.name,
                position: b.position,
                active: b.active,
                condition: b.condition,
                calendar_id: b.calendar_id,
                targets: b.targets,
                warn_percent: b.warn_percent,
            },
        )
        .await?;
    Ok(ok(policy_json(&policy)))
}

/// `DELETE /api/sla-policies/{id}` (admins): 204.
pub async fn delete(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    ctx.state.hd.delete_sla_policy(&p, id).await?;
    Ok(no_content())
}
