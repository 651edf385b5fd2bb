//! JSON renderings the core does not provide: users (email only to self and staff), a
//! group with the caller's access, API keys, and list pages. Like the core's, they serialize straight into the response.

use helpdesk_core::apikey::{ApiKey, Token};
use helpdesk_core::group::{Access, GroupAccess, GroupJson, group_json};
use helpdesk_core::receipt::ReadReceipts;
use helpdesk_core::scope::Scopes;
use helpdesk_core::user::User;
use helpdesk_core::wire::{Each, Ts};
use helpdesk_core::{Page, Principal, Role};
use serde::Serialize;
use uuid::Uuid;

/// A user as a viewer may see it: the whole account to self and staff, the public
/// profile (id, name, role) to customers looking at someone else.
#[derive(Serialize)]
pub struct UserJson<'a> {
    id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    name: &'a str,
    role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_active: Option<bool>,
    /// Shown where `email` is; `null` when the user belongs to none.
    #[serde(skip_serializing_if = "Option::is_none")]
    organization_id: Option<Option<Uuid>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_org_manager: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_service: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<Ts>,
    /// Shown to the user themselves only.
    #[serde(skip_serializing_if = "Option::is_none")]
    read_receipts: Option<ReadReceipts>,
    /// Shown to the user themselves and to admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    email_notifications: Option<bool>,
}

/// A user as `viewer` may see it.
pub fn user_json<'a>(u: &'a User, viewer: &Principal) -> UserJson<'a> {
    let whole = viewer.user_id() == u.id || viewer.is_staff();
    UserJson {
        id: u.id,
        email: whole.then_some(u.email.as_str()),
        name: &u.name,
        role: u.role,
        is_active: whole.then_some(u.is_active),
        is_service: whole.then_some(u.is_service),
        organization_id: whole.then_some(u.organization_id),
        is_org_manager: whole.then_some(u.is_org_manager),
        created_at: whole.then_some(Ts(u.created_at)),
        read_receipts: (viewer.user_id() == u.id).then_some(u.read_receipts),
        email_notifications: (viewer.user_id() == u.id || viewer.is_admin())
            .then_some(u.email_notifications),
    }
}

/// A group with the caller's level in it (`GET /api/users/me/groups`).
#[derive(Serialize)]
pub struct GroupAccessJson<'a> {
    #[serde(flatten)]
    group: GroupJson<'a>,
    access: Access,
}

/// A group with the caller's level in it.
pub fn group_access_json(ga: &GroupAccess) -> GroupAccessJson<'_> {
    GroupAccessJson {
        group: group_json(&ga.group),
        access: ga.access,
    }
}

/// A cursor page `{items, next_cursor}`.
#[derive(Serialize)]
pub struct PageJson<I> {
    items: I,
    next_cursor: Option<String>,
}

/// A cursor page, each item rendered by `f`; the cursor in its opaque string form.
pub fn page_json<'a, T, C, W, F>(page: &'a Page<T, C>, f: F) -> PageJson<Each<'a, T, F>>
where
    C: std::fmt::Display,
    F: Fn(&'a T) -> W,
    W: Serialize,
{
    PageJson {
        items: Each(&page.items, f),
        next_cursor: page.next_cursor.as_ref().map(ToString::to_string),
    }
}

/// A short list `{items}`.
#[derive(Serialize)]
pub struct ItemsJson<I> {
    items: I,
}

/// A short list, each item rendered by `f`.
pub fn items_json<'a, T, W, F>(items: &'a [T], f: F) -> ItemsJson<Each<'a, T, F>>
where
    F: Fn(&'a T) -> W,
    W: Serialize,
{
    ItemsJson {
        items: Each(items, f),
    }
}

/// An API key as its owner and admins see it (never its hash); `token` only in the
/// answer that made it.
#[derive(Serialize)]
pub struct ApiKeyJson<'a> {
    id: Uuid,
    user_id: Uuid,
    name: &'a str,
    prefix: &'a str,
    scopes: Scopes,
    expires_at: Ts,
    last_used_at: Option<Ts>,
    created_at: Ts,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
}

/// An API key; with `token` when it was just made.
pub fn api_key_json<'a>(k: &'a ApiKey, token: Option<&'a Token>) -> ApiKeyJson<'a> {
    ApiKeyJson {
        id: k.id,
        user_id: k.user_id,
        name: &k.name,
        prefix: &k.prefix,
        scopes: k.scopes,
        expires_at: Ts(k.expires_at),
        last_used_at: k.last_used_at.map(Ts),
        created_at: Ts(k.created_at),
        token: token.map(Token::expose),
    }
}
