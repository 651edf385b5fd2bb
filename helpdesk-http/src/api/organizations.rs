//! `/api/organizations`: organizations of customers. Staff list and read, admins write;
//! a customer reads only their own (any other: 404) and may not list (403).

use helpdesk_core::organization::{
    NewOrganization, OrganizationFilter, OrganizationPatch, Sharing, organization_json,
};
use serde::Deserialize;

use crate::api::present;
use crate::error::ApiResult;
use crate::render::page_json;
use crate::request::Ctx;
use crate::response::{created, no_content, ok};

const FIELDS: &[&str] = &["name", "domains", "sharing"];

#[derive(Deserialize)]
struct CreateBody {
    name: String,
    #[serde(default, deserialize_with = "present")]
    domains: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    sharing: Option<Sharing>,
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    domains: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    sharing: Option<Sharing>,
}

/// `GET /api/organizations` (staff): by name, `?q=` (name contains), `?domain=`.
pub async fn list(ctx: Ctx) -> ApiResult {
    let q = &ctx.query;
    let limit = q.limit()?;
    let cursor = q.name_cursor()?;
    let filter = OrganizationFilter {
        q: q.text("q"),
        domain: q.text("domain"),
        cursor,
        limit,
    };
    let p = ctx.principal().await?;
    let page = ctx.state.hd.list_organizations(&p, filter).await?;
    Ok(ok(page_json(&page, organization_json)))
}

/// `POST /api/organizations` (admins): 201 with `Location`.
pub async fn create(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    let b: CreateBody = body.parse(FIELDS)?;
    let o = ctx
        .state
        .hd
        .create_organization(
            &p,
            NewOrganization {
                name: b.name,
                domains: b.domains.unwrap_or_default(),
                sharing: b.sharing.unwrap_or_default(),
            },
        )
        .await?;
    Ok(created(
        &ctx.state.api_path(&format!("/organizations/{}", o.id)),
        organization_json(&o),
    ))
}

/// `GET /api/organizations/{id}` (staff; a customer only their own).
pub async fn get(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let o = ctx.state.hd.get_organization(&p, id).await?;
    Ok(ok(organization_json(&o)))
}

/// `PATCH /api/organizations/{id}` (admins): `name`, `domains` (the whole list),
/// `sharing`.
pub async fn update(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    ctx.state.hd.get_organization(&p, id).await?;
    let b: UpdateBody = body.parse(FIELDS)?;
    let o = ctx
        .state
        .hd
        .update_organization(
            &p,
            id,
            OrganizationPatch {
                name: b.name,
                domains: b.domains,
                sharing: b.sharing,
            },
        )
        .await?;
    Ok(ok(organization_json(&o)))
}

/// `DELETE /api/organizations/{id}` (admins): 204; its users and tickets no longer name
/// it.
pub async fn delete(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    ctx.state.hd.delete_organization(&p, id).await?;
    Ok(no_content())
}
