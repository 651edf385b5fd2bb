//! `/api/groups` and `/api/users/me/groups`: groups (queues) of staff and their
//! memberships. Staff read, admins write; customers get 403 on every group path.

use helpdesk_core::group::{Access, GroupPatch, NewGroup, group_json, membership_json};
use serde::Deserialize;

use crate::api::present;
use crate::error::ApiResult;
use crate::render::{group_access_json, items_json};
use crate::request::Ctx;
use crate::response::{created, no_content, ok};

const FIELDS: &[&str] = &["name", "description", "is_default"];

#[derive(Deserialize)]
struct CreateBody {
    name: String,
    #[serde(default, deserialize_with = "present")]
    description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    is_default: Option<bool>,
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    is_default: Option<bool>,
}

#[derive(Deserialize)]
struct MembershipBody {
    access: Access,
}

/// `GET /api/groups` (staff): every group by name, a short list.
pub async fn list(ctx: Ctx) -> ApiResult {
    let p = ctx.principal().await?;
    let groups = ctx.state.hd.list_groups(&p).await?;
    Ok(ok(items_json(&groups, group_json)))
}

/// `POST /api/groups` (admins): 201 with `Location`.
pub async fn create(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    let b: CreateBody = body.parse(FIELDS)?;
    let g = ctx
        .state
        .hd
        .create_group(
            &p,
            NewGroup {
                name: b.name,
                description: b.description,
                is_default: b.is_default.unwrap_or(false),
            },
        )
        .await?;
    Ok(created(
        &ctx.state.api_path(&format!("/groups/{}", g.id)),
        group_json(&g),
    ))
}

/// `GET /api/groups/{id}` (staff).
pub async fn get(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let g = ctx.state.hd.get_group(&p, id).await?;
    Ok(ok(group_json(&g)))
}

/// `PATCH /api/groups/{id}` (admins): `name`, `description`, `is_default: true` (moves
/// the flag here; `false` is 422).
pub async fn update(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    ctx.state.hd.get_group(&p, id).await?;
    let b: UpdateBody = body.parse(FIELDS)?;
    let g = ctx
        .state
        .hd
        .update_group(
            &p,
            id,
            GroupPatch {
                name: b.name,
                description: b.description,
                is_default: b.is_default,
            },
        )
        .await?;
    Ok(ok(group_json(&g)))
}

/// `DELETE /api/groups/{id}` (admins): 204; the default group 409 `conflict`, a group
/// holding tickets 409 `in_use`.
pub async fn delete(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    ctx.state.hd.delete_group(&p, id).await?;
    Ok(no_content())
}

/// `GET /api/groups/{id}/members` (staff): memberships in joining order, a short list.
pub async fn members(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let members = ctx.state.hd.group_members(&p, id).await?;
    Ok(ok(items_json(&members, membership_json)))
}

/// `PUT /api/groups/{id}/members/{user_id}` (admins): `{access}` → 201 with `Location`
/// for a new member, 200 for a changed (or unchanged) one; the membership either way.
pub async fn put_member(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let user_id = ctx.id("user_id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    // Both records of the path answer 404 before the body is looked at.
    ctx.state.hd.get_group(&p, id).await?;
    ctx.state.hd.get_user(&p, user_id).await?;
    let b: MembershipBody = body.parse(&["access"])?;
    let (m, new) = ctx
        .state
        .hd
        .put_membership(&p, id, user_id, b.access)
        .await?;
    Ok(if new {
        created(
            &ctx.state
                .api_path(&format!("/groups/{id}/members/{user_id}")),
            membership_json(&m),
        )
    } else {
        ok(membership_json(&m))
    })
}

/// `DELETE /api/groups/{id}/members/{user_id}` (admins): 204; not a member 404.
pub async fn remove_member(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let user_id = ctx.id("user_id")?;
    let p = ctx.principal().await?;
    ctx.state.hd.remove_membership(&p, id, user_id).await?;
    Ok(no_content())
}

/// `GET /api/users/me/groups` (staff): the caller's groups with their level in each.
pub async fn mine(ctx: Ctx) -> ApiResult {
    let p = ctx.principal().await?;
    let groups = ctx.state.hd.my_groups(&p).await?;
    Ok(ok(items_json(&groups, group_access_json)))
}
