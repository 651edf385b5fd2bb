//! `/api/rules` (admins only; agents and customers 403 on every path): triggers and
//! automations, their run logs (`GET /api/rules/{id}/runs`) and dry runs
//! (`POST /api/rules/dry-run`). API keys need the `admin` scope (configuration).

use helpdesk_core::principal::TicketView;
use helpdesk_core::rule::{
    DryRun, DryRunInput, NewRule, Rule, RuleKind, RulePatch, RuleRun, RunError,
};
use helpdesk_core::schema::ticket_json_for;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::api::{present, whole};
use crate::error::{ApiError, ApiResult};
use crate::render::items_json;
use crate::request::Ctx;
use crate::response::{created, no_content, ok};

/// What a new rule's body may name.
const CREATE_FIELDS: &[&str] = &["name", "kind", "active", "position", "condition", "actions"];
/// What a change may name (`kind` is fixed: 422 `unknown_field`).
const UPDATE_FIELDS: &[&str] = &["name", "active", "position", "condition", "actions"];

#[derive(Deserialize)]
struct CreateBody {
    name: String,
    kind: RuleKind,
    #[serde(default, deserialize_with = "present")]
    active: Option<bool>,
    #[serde(default, deserialize_with = "whole")]
    position: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    condition: Option<serde_json::Value>,
    actions: serde_json::Value,
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    active: Option<bool>,
    #[serde(default, deserialize_with = "whole")]
    position: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    condition: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "present")]
    actions: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct DryRunBody {
    condition: serde_json::Value,
    actions: serde_json::Value,
    ticket_id: Uuid,
    #[serde(default, deserialize_with = "present")]
    event: Option<String>,
}

/// A rule as the API shows it.
fn rule_json(r: &Rule) -> serde_json::Value {
    json!({
        "id": r.id,
        "name": r.name,
        "kind": r.kind,
        "active": r.active,
        "position": r.position,
        "condition": r.condition.to_json(),
        "actions": r.actions,
        "created_at": helpdesk_core::event::ts(r.created_at),
        "updated_at": helpdesk_core::event::ts(r.updated_at),
    })
}

/// A failed step's problem details as a run keeps them.
fn run_error_json(e: &RunError) -> serde_json::Value {
    let mut body = json!({
        "type": "about:blank",
        "title": "Rule step failed",
        "code": e.code,
        "detail": e.detail,
    });
    if !e.errors.is_empty() {
        body["errors"] = json!(e.errors);
    }
    body
}

/// A run as the API shows it.
fn run_json(r: &RuleRun) -> serde_json::Value {
    json!({
        "id": r.id,
        "ticket_id": r.ticket_id,
        "at": helpdesk_core::event::ts(r.at),
        "result": r.result.as_str(),
        "error": r.error.as_ref().map(run_error_json),
    })
}

/// `GET /api/rules` (admins): every rule by `position`, `id`.
pub async fn list(ctx: Ctx) -> ApiResult {
    let p = ctx.principal().await?;
    let rules = ctx.state.hd.list_rules(&p).await?;
    Ok(ok(items_json(&rules, rule_json)))
}

/// `POST /api/rules` (admins): 201 with `Location`.
pub async fn create(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    let b: CreateBody = body.parse(CREATE_FIELDS)?;
    let r = ctx
        .state
        .hd
        .create_rule(
            &p,
            NewRule {
                name: b.name,
                kind: b.kind,
                active: b.active,
                position: b.position,
                condition: b.condition,
                actions: b.actions,
            },
        )
        .await?;
    Ok(created(
        &ctx.state.api_path(&format!("/rules/{}", r.id)),
        rule_json(&r),
    ))
}

/// `GET /api/rules/{id}` (admins).
pub async fn get(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let r = ctx.state.hd.get_rule(&p, id).await?;
    Ok(ok(rule_json(&r)))
}

/// `PATCH /api/rules/{id}` (admins): `name`, `active`, `position`, `condition`,
/// `actions`; `kind` is fixed (422 `unknown_field`).
pub async fn update(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    // 404 before the body's fields.
    ctx.state.hd.get_rule(&p, id).await?;
    let b: UpdateBody = body.parse(UPDATE_FIELDS)?;
    let r = ctx
        .state
        .hd
        .update_rule(
            &p,
            id,
            RulePatch {
                name: b.name,
                active: b.active,
                position: b.position,
                condition: b.condition,
                actions: b.actions,
            },
        )
        .await?;
    Ok(ok(rule_json(&r)))
}

/// `DELETE /api/rules/{id}` (admins): 204.
pub async fn delete(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    ctx.state.hd.delete_rule(&p, id).await?;
    Ok(no_content())
}

/// `GET /api/rules/{id}/runs` (admins): `{items}`, newest first.
pub async fn runs(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let runs = ctx.state.hd.list_rule_runs(&p, id).await?;
    Ok(ok(items_json(&runs, run_json)))
}

/// `POST /api/rules/dry-run` `{condition, actions, ticket_id, event?}` (admins): 200
/// `{matches, all, any, ticket, error}`, storing and emitting nothing.
pub async fn dry_run(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    let b: DryRunBody = body.parse(&["condition", "actions", "ticket_id", "event"])?;
    let DryRun {
        evaluation,
        ticket,
        error,
    } = ctx
        .state
        .hd
        .dry_run_rule(
            &p,
            DryRunInput {
                condition: b.condition,
                actions: b.actions,
                ticket_id: b.ticket_id,
                event: b.event,
            },
        )
        .await?;
    let schema = ctx.state.hd.ticket_schema().await?;
    Ok(ok(json!({
        "matches": evaluation.matches,
        "all": evaluation.all,
        "any": evaluation.any,
        "ticket": ticket.as_ref().map(|t| ticket_json_for(t, TicketView::of(&p), &schema)),
        "error": error.map(|e| ApiError::from(e).problem_json()),
    })))
}
