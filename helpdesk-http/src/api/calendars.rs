//! `/api/calendars` (staff read, admins write; customers 403 on every path) and
//! `POST /api/calendars/{id}/preview` (staff): the end of N business minutes. Reads and
//! previews take `tickets:read` on an API key, writes `admin` (configuration, as macros).

use chrono::{DateTime, Utc};
use helpdesk_core::calendar::{Calendar, CalendarPatch, NewCalendar};
use serde::Deserialize;
use serde_json::json;

use crate::api::present;
use crate::error::ApiResult;
use crate::render::items_json;
use crate::request::Ctx;
use crate::response::{created, no_content, ok};

/// What a calendar's body may name (`id` and the timestamps are fixed).
const FIELDS: &[&str] = &["name", "timezone", "hours", "holidays"];

#[derive(Deserialize)]
struct CreateBody {
    name: String,
    timezone: String,
    hours: serde_json::Value,
    #[serde(default, deserialize_with = "present")]
    holidays: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    timezone: Option<String>,
    #[serde(default, deserialize_with = "present")]
    hours: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "present")]
    holidays: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct PreviewBody {
    start: DateTime<Utc>,
    minutes: f64,
}

/// A calendar as the API shows it.
fn calendar_json(c: &Calendar) -> serde_json::Value {
    json!({
        "id": c.id,
        "name": c.name,
        "timezone": c.timezone,
        "hours": c.hours,
        "holidays": c.holidays.iter().map(|d| d.format("%Y-%m-%d").to_string()).collect::<Vec<_>>(),
        "created_at": helpdesk_core::event::ts(c.created_at),
        "updated_at": helpdesk_core::event::ts(c.updated_at),
    })
}

/// `GET /api/calendars` (staff): every calendar by `name`, `id`.
pub async fn list(ctx: Ctx) -> ApiResult {
    let p = ctx.principal().await?;
    let calendars = ctx.state.hd.list_calendars(&p).await?;
    Ok(ok(items_json(&calendars, calendar_json)))
}

/// `POST /api/calendars` (admins): 201 with `Location`.
pub async fn create(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    let b: CreateBody = body.parse(FIELDS)?;
    let c = ctx
        .state
        .hd
        .create_calendar(
            &p,
            NewCalendar {
                name: b.name,
                timezone: b.timezone,
                hours: b.hours,
                holidays: b.holidays,
            },
        )
        .await?;
    Ok(created(
        &ctx.state.api_path(&format!("/calendars/{}", c.id)),
        calendar_json(&c),
    ))
}

/// `GET /api/calendars/{id}` (staff).
pub async fn get(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let c = ctx.state.hd.get_calendar(&p, id).await?;
    Ok(ok(calendar_json(&c)))
}

/// `PATCH /api/calendars/{id}` (admins): `name`, `timezone`, `hours`, `holidays`.
pub async fn update(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    // 404 before the body's fields.
    ctx.state.hd.get_calendar(&p, id).await?;
    let b: UpdateBody = body.parse(FIELDS)?;
    let c = ctx
        .state
        .hd
        .update_calendar(
            &p,
            id,
            CalendarPatch {
                name: b.name,
                timezone: b.timezone,
                hours: b.hours,
                holidays: b.holidays,
            },
        )
        .await?;
    Ok(ok(calendar_json(&c)))
}

/// `DELETE /api/calendars/{id}` (admins): 204; one an SLA policy uses 409 `in_use`.
pub async fn delete(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    ctx.state.hd.delete_calendar(&p, id).await?;
    Ok(no_content())
}

/// `POST /api/calendars/{id}/preview` `{start, minutes}` (staff): 200 `{due_at}`.
pub async fn preview(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_staff()?;
    // 404 before the body's fields.
    ctx.state.hd.get_calendar(&p, id).await?;
    let b: PreviewBody = body.parse(&["start", "minutes"])?;
    let due = ctx
        .state
        .hd
        .preview_calendar(&p, id, b.start, b.minutes)
        .await?;
    Ok(ok(json!({ "due_at": helpdesk_core::event::ts(due) })))
}
