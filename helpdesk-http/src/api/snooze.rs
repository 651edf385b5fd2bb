//! `POST` and `DELETE /api/tickets/{id}/snooze` (API-workflow.md "Snooze").

use chrono::{DateTime, Utc};
use helpdesk_core::principal::TicketView;
use helpdesk_core::schema::ticket_json_for;
use serde::Deserialize;

use super::present;
use crate::error::ApiResult;
use crate::request::Ctx;
use crate::response::{no_content, ok};

#[derive(Deserialize)]
struct SnoozeBody {
    until: DateTime<Utc>,
    /// Absent: true; `null` is refused.
    #[serde(default, deserialize_with = "present")]
    wake_on_reply: Option<bool>,
}

/// `POST /api/tickets/{id}/snooze` `{until, wake_on_reply?}`: 200 the ticket.
pub async fn snooze(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_staff()?;
    ctx.state.hd.ticket_for_actions(&p, id).await?;
    let b: SnoozeBody = body.parse(&["until", "wake_on_reply"])?;
    let t = ctx
        .state
        .hd
        .snooze_ticket(&p, id, b.until, b.wake_on_reply.unwrap_or(true))
        .await?;
    let schema = ctx.state.hd.ticket_schema().await?;
    Ok(ok(ticket_json_for(&t, TicketView::of(&p), &schema)))
}

/// `DELETE /api/tickets/{id}/snooze`: 204, snoozed or not.
pub async fn unsnooze(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    p.require_staff()?;
    ctx.state.hd.unsnooze_ticket(&p, id).await?;
    Ok(no_content())
}
