//! `/api/users`: the caller's profile and unread overview, and user administration.

use helpdesk_core::Role;
use helpdesk_core::receipt::ReadReceipts;
use helpdesk_core::user::{NewUser, ProfilePatch, UserPatch};
use serde::Deserialize;
use serde_json::json;

use crate::api::{double_option, present};
use crate::error::{ApiError, ApiResult};
use crate::render::{page_json, user_json};
use crate::request::Ctx;
use crate::response::{created, ok};
use helpdesk_core::user::UserFilter;
use uuid::Uuid;

#[derive(Deserialize)]
struct UpdateMeBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    password: Option<String>,
    #[serde(default, deserialize_with = "present")]
    current_password: Option<String>,
    #[serde(default, deserialize_with = "present")]
    read_receipts: Option<String>,
    #[serde(default, deserialize_with = "present")]
    email_notifications: Option<bool>,
}

#[derive(Deserialize)]
struct CreateUserBody {
    email: String,
    name: String,
    role: Role,
    #[serde(default, deserialize_with = "present")]
    password: Option<String>,
    #[serde(default, deserialize_with = "present")]
    is_service: Option<bool>,
    /// Absent or `null`: the organization listing the email's domain, if any.
    #[serde(default)]
    organization_id: Option<Uuid>,
    #[serde(default, deserialize_with = "present")]
    is_org_manager: Option<bool>,
}

/// `is_service` in a PATCH: it is set when the user is made, never changed.
fn refuse_is_service(body: &crate::request::JsonBody) -> ApiResult<()> {
    if body.has("is_service") {
        return Err(ApiError::invalid("is_service", "is set at creation only"));
    }
    Ok(())
}

const CREATE_FIELDS: &[&str] = &[
    "email",
    "name",
    "role",
    "password",
    "is_service",
    "organization_id",
    "is_org_manager",
];

#[derive(Deserialize)]
struct UpdateUserBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    role: Option<Role>,
    #[serde(default, deserialize_with = "present")]
    is_active: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    organization_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "present")]
    is_org_manager: Option<bool>,
}

const UPDATE_FIELDS: &[&str] = &[
    "name",
    "role",
    "is_active",
    "is_service",
    "organization_id",
    "is_org_manager",
    "read_receipts",
    "email_notifications",
];

/// `GET /api/users/me`.
pub async fn me(ctx: Ctx) -> ApiResult {
    let p = ctx.principal().await?;
    let u = ctx.state.hd.me(&p).await?;
    Ok(ok(user_json(&u, &p)))
}

/// `PATCH /api/users/me`: `name`, `password` (with `current_password`), `read_receipts`
/// (`public` or `private`), `email_notifications`. `role`,
/// `is_active`, `organization_id` and `is_org_manager` are known fields that only admins
/// set (on `/api/users/{id}`): 403.
pub async fn update_me(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    // Not through an API key (403), before anything about the body.
    p.require_session()?;
    let admin_only = [
        "email",
        "role",
        "is_active",
        "organization_id",
        "is_org_manager",
    ];
    let mut known = vec![
        "name",
        "password",
        "current_password",
        "is_service",
        "read_receipts",
        "email_notifications",
    ];
    known.extend(admin_only);
    body.check(&known)?;
    body.forbid_unless(false, &admin_only)?;
    refuse_is_service(&body)?;
    let b: UpdateMeBody = body.convert()?;
    let read_receipts = b
        .read_receipts
        .as_deref()
        .map(str::parse::<ReadReceipts>)
        .transpose()?;
    let u = ctx
        .state
        .hd
        .update_me_from(
            Some(ctx.client_ip),
            &p,
            ProfilePatch {
                name: b.name,
                password: b.password,
                current_password: b.current_password,
                read_receipts,
                email_notifications: b.email_notifications,
            },
        )
        .await?;
    // A password change ends the user's other sessions, and their sockets.
    ctx.state.hub.recheck_user(p.user_id());
    Ok(ok(user_json(&u, &p)))
}

/// `GET /api/users/me/unread`.
pub async fn unread(ctx: Ctx) -> ApiResult {
    let p = ctx.principal().await?;
    let o = ctx.state.hd.unread_overview(&p).await?;
    Ok(ok(json!(o)))
}

/// `GET /api/users` (staff): `?role=`, `?q=`, `?organization_id=`.
pub async fn list(ctx: Ctx) -> ApiResult {
    let q = &ctx.query;
    let limit = q.limit()?;
    let cursor = q.cursor()?;
    let role = q.parsed::<Role>("role", "must be admin, agent or customer")?;
    let organization_id = q.uuid("organization_id")?;
    let text = q.text("q");
    let p = ctx.principal().await?;
    let page = ctx
        .state
        .hd
        .list_users(
            &p,
            UserFilter {
                role,
                q: text,
                organization_id,
                cursor,
                limit,
            },
        )
        .await?;
    Ok(ok(page_json(&page, |u| user_json(u, &p))))
}

/// `POST /api/users` (admins): `{email, name, role, password}`, or a service account
/// `{email, name, role, is_service: true}` (agent or admin, no password);
/// `organization_id` and `is_org_manager` for customers.
pub async fn create(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    let b: CreateUserBody = body.parse(CREATE_FIELDS)?;
    let is_service = b.is_service.unwrap_or(false);
    if !is_service && b.password.is_none() {
        return Err(ApiError::invalid("password", "is required"));
    }
    let u = ctx
        .state
        .hd
        .create_user(
            &p,
            NewUser {
                password: b.password,
                is_service,
                organization_id: b.organization_id,
                is_org_manager: b.is_org_manager.unwrap_or(false),
                ..NewUser::without_password(&b.email, &b.name, b.role)
            },
        )
        .await?;
    Ok(created(
        &ctx.state.api_path(&format!("/users/{}", u.id)),
        user_json(&u, &p),
    ))
}

/// `GET /api/users/{id}`: the public profile for customers.
pub async fn get(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let u = ctx.state.hd.get_user(&p, id).await?;
    Ok(ok(user_json(&u, &p)))
}

/// `PATCH /api/users/{id}` (admins): `name`, `role`, `is_active`, `organization_id`
/// (`null` leaves it), `is_org_manager`.
pub async fn update(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    ctx.state.hd.get_user(&p, id).await?;
    body.check(UPDATE_FIELDS)?;
    // The user's own choices (`PATCH /api/users/me`): known, but not an admin's to set.
    body.forbid_unless(false, &["read_receipts", "email_notifications"])?;
    refuse_is_service(&body)?;
    let b: UpdateUserBody = body.convert()?;
    let u = ctx
        .state
        .hd
        .update_user(
            &p,
            id,
            UserPatch {
                name: b.name,
                role: b.role,
                is_active: b.is_active,
                organization_id: b.organization_id,
                is_org_manager: b.is_org_manager,
            },
        )
        .await?;
    ctx.state.hub.recheck_user(id);
    Ok(ok(user_json(&u, &p)))
}
