//! `/api/ticket-fields`: custom ticket fields. Every user reads them (customers the
//! active `customer_visible` ones); admins write them. Reads take `tickets:read` on an
//! API key, writes `admin`.

use helpdesk_core::custom_field::{CustomFieldPatch, FieldType, NewCustomField, custom_field_json};
use serde::Deserialize;

use crate::api::{present, whole};
use crate::error::ApiResult;
use crate::request::Ctx;
use crate::response::{created, no_content, ok};

/// `key` and `type` are fixed (422 `unknown_field` on PATCH).
const PATCH_FIELDS: &[&str] = &[
    "label",
    "options",
    "customer_visible",
    "customer_editable",
    "required_on_create",
    "required_on_resolve",
    "position",
    "active",
];
const CREATE_FIELDS: &[&str] = &[
    "key",
    "type",
    "label",
    "options",
    "customer_visible",
    "customer_editable",
    "required_on_create",
    "required_on_resolve",
    "position",
    "active",
];

#[derive(Deserialize)]
struct CreateBody {
    key: String,
    #[serde(rename = "type")]
    field_type: FieldType,
    label: String,
    #[serde(default)]
    options: Vec<String>,
    #[serde(default, deserialize_with = "present")]
    customer_visible: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    customer_editable: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    required_on_create: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    required_on_resolve: Option<bool>,
    #[serde(default, deserialize_with = "whole")]
    position: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    active: Option<bool>,
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default, deserialize_with = "present")]
    label: Option<String>,
    #[serde(default, deserialize_with = "present")]
    options: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    customer_visible: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    customer_editable: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    required_on_create: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    required_on_resolve: Option<bool>,
    #[serde(default, deserialize_with = "whole")]
    position: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    active: Option<bool>,
}

/// `GET /api/ticket-fields`: `{items}` by position, key.
pub async fn list(ctx: Ctx) -> ApiResult {
    let p = ctx.principal().await?;
    let all = ctx.state.hd.list_fields(&p).await?;
    let items: Vec<_> = all.iter().map(custom_field_json).collect();
    Ok(ok(serde_json::json!({ "items": items })))
}

/// `POST /api/ticket-fields` (admins): 201 with `Location`.
pub async fn create(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    let b: CreateBody = body.parse(CREATE_FIELDS)?;
    let f = ctx
        .state
        .hd
        .create_field(
            &p,
            NewCustomField {
                key: b.key,
                field_type: b.field_type,
                label: b.label,
                options: b.options,
                customer_visible: b.customer_visible,
                customer_editable: b.customer_editable,
                required_on_create: b.required_on_create,
                required_on_resolve: b.required_on_resolve,
                position: b.position,
                active: b.active,
            },
        )
        .await?;
    Ok(created(
        &ctx.state.api_path(&format!("/ticket-fields/{}", f.id)),
        custom_field_json(&f),
    ))
}

/// `GET /api/ticket-fields/{id}`.
pub async fn get(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let f = ctx.state.hd.get_field(&p, id).await?;
    Ok(ok(custom_field_json(&f)))
}

/// `PATCH /api/ticket-fields/{id}` (admins).
pub async fn update(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    ctx.state.hd.get_field(&p, id).await?;
    let b: UpdateBody = body.parse(PATCH_FIELDS)?;
    let f = ctx
        .state
        .hd
        .update_field(
            &p,
            id,
            CustomFieldPatch {
                label: b.label,
                options: b.options,
                customer_visible: b.customer_visible,
                customer_editable: b.customer_editable,
                required_on_create: b.required_on_create,
                required_on_resolve: b.required_on_resolve,
                position: b.position,
                active: b.active,
            },
        )
        .await?;
    Ok(ok(custom_field_json(&f)))
}

/// `DELETE /api/ticket-fields/{id}` (admins): 204; in use: 409 `in_use`.
pub async fn delete(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    ctx.state.hd.delete_field(&p, id).await?;
    Ok(no_content())
}
