//! `/api/notifications`: the caller's notifications.

use helpdesk_core::notification::notification_json;
use serde::Serialize;
use serde_json::json;

use crate::error::ApiResult;
use crate::render::page_json;
use crate::request::Ctx;
use crate::response::ok;
use helpdesk_core::notification::{NotificationFilter, NotificationList};

/// `GET /api/notifications`: newest first, `?unread=true`; adds `unread_count`.
pub async fn list(ctx: Ctx) -> ApiResult {
    let q = &ctx.query;
    let limit = q.limit()?;
    let cursor = q.cursor()?;
    let unread = q.bool("unread")?.unwrap_or(false);
    let p = ctx.principal().await?;
    let NotificationList { page, unread_count } = ctx
        .state
        .hd
        .list_notifications(
            &p,
            NotificationFilter {
                unread_only: unread,
                cursor,
                limit,
            },
        )
        .await?;
    Ok(ok(NotificationPageJson {
        page: page_json(&page, notification_json),
        unread_count,
    }))
}

/// A page of notifications with the caller's unread count.
#[derive(Serialize)]
struct NotificationPageJson<P> {
    #[serde(flatten)]
    page: P,
    unread_count: u64,
}

/// `POST /api/notifications/{id}/read`.
pub async fn mark_read(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let n = ctx.state.hd.mark_notification_read(&p, id).await?;
    Ok(ok(notification_json(&n)))
}

/// `POST /api/notifications/read-all`.
pub async fn mark_all_read(ctx: Ctx) -> ApiResult {
    let p = ctx.principal().await?;
    let n = ctx.state.hd.mark_all_notifications_read(&p).await?;
    Ok(ok(json!({"unread_count": n})))
}
