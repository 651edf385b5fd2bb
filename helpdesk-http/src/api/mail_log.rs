//! What mailboxes received and sent: `GET /api/mailboxes/{id}/inbound` and `/outbox`
//! (admins, newest first), their `…/raw` bytes as `message/rfc822` (staff), `POST
//! …/outbox/{outbound_id}/retry` (admins), and `/api/email-suppressions` (admins).

use helpdesk_core::PageRequest;
use helpdesk_core::email::{InboundResult, OutboundQuery, OutboundStatus};
use http::StatusCode;

use crate::error::{ApiError, ApiResult};
use crate::render::page_json;
use crate::request::Ctx;
use crate::response::{full, no_content, ok};

/// `GET /api/mailboxes/{id}/inbound` (`?result=`).
pub async fn inbound(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let result = ctx
        .query
        .get("result")
        .map(|v| {
            InboundResult::parse(v).ok_or_else(|| {
                ApiError::invalid_query(
                    "result",
                    "must be ticket_created, message_added, bounce or ignored",
                )
            })
        })
        .transpose()?;
    let page = PageRequest {
        cursor: ctx.query.cursor()?,
        limit: ctx.query.limit()?,
    };
    let p = ctx.principal().await?;
    let page = ctx.state.hd.list_inbound(&p, id, result, page).await?;
    Ok(ok(page_json(&page, |r| r.json())))
}

/// `GET /api/mailboxes/{id}/outbox` (`?status=` repeatable, `?ticket_id=`).
pub async fn outbox(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let statuses = ctx
        .query
        .all("status")
        .into_iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.is_empty())
        .map(|s| {
            OutboundStatus::parse(s).ok_or_else(|| {
                ApiError::invalid_query(
                    "status",
                    "must be pending, sent, failed, dead, suppressed or bounced",
                )
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let query = OutboundQuery {
        statuses,
        ticket_id: ctx.query.uuid("ticket_id")?,
    };
    let page = PageRequest {
        cursor: ctx.query.cursor()?,
        limit: ctx.query.limit()?,
    };
    let p = ctx.principal().await?;
    let page = ctx.state.hd.list_outbound(&p, id, query, page).await?;
    Ok(ok(page_json(&page, |m| m.json())))
}

/// `GET /api/mailboxes/{id}/inbound/{inbound_id}/raw`.
pub async fn inbound_raw(ctx: Ctx) -> ApiResult {
    let (id, inbound_id) = (ctx.id("id")?, ctx.id("inbound_id")?);
    let p = ctx.principal().await?;
    let raw = ctx.state.hd.inbound_raw(&p, id, inbound_id).await?;
    Ok(full(StatusCode::OK, "message/rfc822", raw))
}

/// `GET /api/mailboxes/{id}/outbox/{outbound_id}/raw`.
pub async fn outbound_raw(ctx: Ctx) -> ApiResult {
    let (id, outbound_id) = (ctx.id("id")?, ctx.id("outbound_id")?);
    let p = ctx.principal().await?;
    let raw = ctx.state.hd.outbound_raw(&p, id, outbound_id).await?;
    Ok(full(StatusCode::OK, "message/rfc822", raw))
}

/// `POST /api/mailboxes/{id}/outbox/{outbound_id}/retry`: 200 the record, due now.
pub async fn retry(ctx: Ctx) -> ApiResult {
    let (id, outbound_id) = (ctx.id("id")?, ctx.id("outbound_id")?);
    let p = ctx.principal().await?;
    let m = ctx.state.hd.retry_outbound(&p, id, outbound_id).await?;
    Ok(ok(m.json()))
}

/// `GET /api/email-suppressions`, by address.
pub async fn suppressions(ctx: Ctx) -> ApiResult {
    let cursor = ctx.query.name_cursor()?;
    let limit = ctx.query.limit()?;
    let p = ctx.principal().await?;
    let page = ctx.state.hd.list_suppressions(&p, cursor, limit).await?;
    Ok(ok(page_json(&page, |s| s.json())))
}

/// The `{address}` of the path, percent-decoded: clients encode `@` (and `+`) as `%40`
/// (`%2B`), as `encodeURIComponent` does. Bytes that are no UTF-8 decode to U+FFFD, which
/// no stored address holds (404 from the library, after its role check).
fn address(ctx: &Ctx) -> String {
    percent_encoding::percent_decode_str(ctx.param("address"))
        .decode_utf8_lossy()
        .into_owned()
}

/// `GET /api/email-suppressions/{address}`.
pub async fn suppression(ctx: Ctx) -> ApiResult {
    let p = ctx.principal().await?;
    let s = ctx.state.hd.get_suppression(&p, &address(&ctx)).await?;
    Ok(ok(s.json()))
}

/// `DELETE /api/email-suppressions/{address}`: 204; the address is mailed again.
pub async fn unsuppress(ctx: Ctx) -> ApiResult {
    let p = ctx.principal().await?;
    ctx.state.hd.delete_suppression(&p, &address(&ctx)).await?;
    Ok(no_content())
}
