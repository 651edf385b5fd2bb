//! `/api/users/{id}/api-keys`: a user's API keys (`me` for the caller). Staff manage
//! their own, admins anyone's and make them for service accounts; never through a key.

use chrono::{DateTime, Utc};
use helpdesk_core::apikey::{KeyAction, NewApiKey};
use helpdesk_core::scope::Scopes;
use serde::Deserialize;
use uuid::Uuid;

use crate::api::present;
use crate::error::{ApiError, ApiResult};
use crate::render::{api_key_json, items_json};
use crate::request::Ctx;
use crate::response::{created, no_content, ok};

#[derive(Deserialize)]
struct CreateBody {
    name: String,
    scopes: Vec<String>,
    /// Absent: the default lifetime; `null` is refused (no key lives forever).
    #[serde(default, deserialize_with = "present")]
    expires_at: Option<DateTime<Utc>>,
}

/// The path's user and key ids (400 first), then the caller (401, and 403 through a
/// key: keys manage no keys); `me` is the caller.
async fn target(ctx: &Ctx, key: bool) -> ApiResult<(helpdesk_core::Principal, Uuid, Uuid)> {
    let user = ctx.user_param("id")?;
    let key_id = if key { ctx.id("key_id")? } else { Uuid::nil() };
    let p = ctx.principal().await?;
    Ok((p, user.unwrap_or(p.user_id()), key_id))
}

/// `GET /api/users/{id}/api-keys`: the user's keys, newest first (a short list).
pub async fn list(ctx: Ctx) -> ApiResult {
    let (p, user_id, _) = target(&ctx, false).await?;
    let keys = ctx.state.hd.list_api_keys(&p, user_id).await?;
    Ok(ok(items_json(&keys, |k| api_key_json(k, None))))
}

/// `POST /api/users/{id}/api-keys`: `{name, scopes, expires_at?}` → 201 with the
/// `token`, shown this once, and `Location`.
pub async fn create(mut ctx: Ctx) -> ApiResult {
    let user = ctx.user_param("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    let user_id = user.unwrap_or(p.user_id());
    let hd = &ctx.state.hd;
    // Who may comes before what the body says (403/404 before 422).
    hd.api_key_owner(&p, user_id, KeyAction::Create).await?;
    let b: CreateBody = body.parse(&["name", "scopes", "expires_at"])?;
    let scopes =
        Scopes::parse(&b.scopes).map_err(|e| ApiError::invalid("scopes", e.to_string()))?;
    let made = hd
        .create_api_key(
            &p,
            user_id,
            NewApiKey {
                name: b.name,
                scopes,
                expires_at: b.expires_at,
            },
        )
        .await?;
    let k = &made.key;
    Ok(created(
        &ctx.state
            .api_path(&format!("/users/{}/api-keys/{}", k.user_id, k.id)),
        api_key_json(k, Some(&made.token)),
    ))
}

/// `GET /api/users/{id}/api-keys/{key_id}`.
pub async fn get(ctx: Ctx) -> ApiResult {
    let (p, user_id, key_id) = target(&ctx, true).await?;
    let k = ctx.state.hd.get_api_key(&p, user_id, key_id).await?;
    Ok(ok(api_key_json(&k, None)))
}

/// `DELETE /api/users/{id}/api-keys/{key_id}`: 204; the key stops working at once, and
/// the sockets opened with it close.
pub async fn delete(ctx: Ctx) -> ApiResult {
    let (p, user_id, key_id) = target(&ctx, true).await?;
    ctx.state.hd.delete_api_key(&p, user_id, key_id).await?;
    ctx.state.hub.recheck_user(user_id);
    Ok(no_content())
}
