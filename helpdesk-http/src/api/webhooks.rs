//! `/api/webhooks` (admins): endpoints, secret rotation, test events, deliveries.

use helpdesk_core::webhook::{NewWebhook, WebhookPatch, delivery_json, webhook_json};
use helpdesk_core::{Cursor, Page};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use crate::api::present;
use crate::error::ApiResult;
use crate::render::page_json;
use crate::request::Ctx;
use crate::response::{created, json, no_content, ok};
use helpdesk_core::page::PageRequest;

const FIELDS: &[&str] = &["url", "events", "description", "active"];

#[derive(Deserialize)]
struct CreateBody {
    url: String,
    events: Vec<String>,
    #[serde(default, deserialize_with = "present")]
    description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    active: Option<bool>,
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default, deserialize_with = "present")]
    url: Option<String>,
    #[serde(default, deserialize_with = "present")]
    events: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    active: Option<bool>,
}

/// `POST /api/webhooks`: 201 with the `secret`.
pub async fn create(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    let b: CreateBody = body.parse(FIELDS)?;
    let w = ctx
        .state
        .hd
        .create_webhook(
            &p,
            NewWebhook {
                url: b.url,
                events: b.events,
                description: b.description,
                active: b.active,
            },
        )
        .await?;
    Ok(created(
        &ctx.state.api_path(&format!("/webhooks/{}", w.id)),
        webhook_json(&w, true),
    ))
}

/// `GET /api/webhooks`: oldest first, paged like every list (the library hands over the
/// whole, short list).
pub async fn list(ctx: Ctx) -> ApiResult {
    let limit = ctx.query.limit()?;
    let cursor = ctx.query.cursor()?;
    let p = ctx.principal().await?;
    let list = ctx.state.hd.list_webhooks(&p).await?;
    let page = Page::of_whole_list(list, cursor, limit, |w| {
        Cursor::new(w.created_at.timestamp_micros(), w.id)
    })?;
    Ok(ok(page_json(&page, |w| webhook_json(w, false))))
}

/// `GET /api/webhooks/{id}`.
pub async fn get(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let w = ctx.state.hd.get_webhook(&p, id).await?;
    Ok(ok(webhook_json(&w, false)))
}

/// `PATCH /api/webhooks/{id}`.
pub async fn update(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    ctx.state.hd.get_webhook(&p, id).await?;
    let b: UpdateBody = body.parse(FIELDS)?;
    let w = ctx
        .state
        .hd
        .update_webhook(
            &p,
            id,
            WebhookPatch {
                url: b.url,
                events: b.events,
                description: b.description,
                active: b.active,
            },
        )
        .await?;
    Ok(ok(webhook_json(&w, false)))
}

/// `DELETE /api/webhooks/{id}`.
pub async fn delete(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    ctx.state.hd.delete_webhook(&p, id).await?;
    Ok(no_content())
}

/// `POST /api/webhooks/{id}/rotate-secret`: 200 with the new `secret`.
pub async fn rotate(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let w = ctx.state.hd.rotate_webhook_secret(&p, id).await?;
    Ok(ok(webhook_json(&w, true)))
}

/// `POST /api/webhooks/{id}/test`: queues a `webhook.test` event → 202.
pub async fn test(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    ctx.state.hd.test_webhook(&p, id).await?;
    Ok(json(
        StatusCode::ACCEPTED,
        &json!({"webhook_id": id, "event_type": "webhook.test", "status": "queued"}),
    ))
}

/// `GET /api/webhooks/{id}/deliveries`.
pub async fn deliveries(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let limit = ctx.query.limit()?;
    let cursor = ctx.query.cursor()?;
    let p = ctx.principal().await?;
    let page = ctx
        .state
        .hd
        .list_deliveries(&p, id, PageRequest { cursor, limit })
        .await?;
    Ok(ok(page_json(&page, delivery_json)))
}

/// `POST /api/webhooks/{id}/deliveries/{delivery_id}/retry`.
pub async fn retry(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let did = ctx.id("delivery_id")?;
    let p = ctx.principal().await?;
    let d = ctx.state.hd.retry_delivery(&p, id, did).await?;
    Ok(ok(delivery_json(&d)))
}
