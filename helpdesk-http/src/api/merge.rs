//! `/api/tickets/{id}/merge` and `/api/tickets/{id}/unmerge` (API-workflow.md "Merge").
//! A ticket's messages with those merged into it are `GET
//! /api/conversations/{id}/messages?include_merged=true` (`messages.rs`).

use helpdesk_core::principal::TicketView;
use helpdesk_core::schema::ticket_json_for;
use serde::Deserialize;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::request::Ctx;
use crate::response::ok;

#[derive(Deserialize)]
struct MergeBody {
    into: Uuid,
}

/// `POST /api/tickets/{id}/merge` `{into}`: 200 the source ticket.
pub async fn merge(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_staff()?;
    ctx.state.hd.get_ticket(&p, id).await?;
    let b: MergeBody = body.parse(&["into"])?;
    let t = ctx.state.hd.merge_ticket(&p, id, b.into).await?;
    let schema = ctx.state.hd.ticket_schema().await?;
    Ok(ok(ticket_json_for(&t, TicketView::of(&p), &schema)))
}

/// `POST /api/tickets/{id}/unmerge`: 200 the source ticket.
pub async fn unmerge(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    p.require_staff()?;
    let t = ctx.state.hd.unmerge_ticket(&p, id).await?;
    let schema = ctx.state.hd.ticket_schema().await?;
    Ok(ok(ticket_json_for(&t, TicketView::of(&p), &schema)))
}
