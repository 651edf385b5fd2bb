//! `/api/conversations`: direct and group conversations and their membership.

use helpdesk_core::conversation::{ConversationKind, NewConversation};
use helpdesk_core::inbox::conversation_view_json;
use http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use crate::api::present;
use crate::error::ApiResult;
use crate::render::page_json;
use crate::request::Ctx;
use crate::response::{created, json, no_content, ok};
use helpdesk_core::conversation::ConversationFilter;

#[derive(Deserialize)]
struct CreateBody {
    kind: ConversationKind,
    #[serde(default)]
    member_ids: Vec<Uuid>,
    #[serde(default, deserialize_with = "present")]
    title: Option<String>,
}

#[derive(Deserialize)]
struct RenameBody {
    #[serde(default, deserialize_with = "present")]
    title: Option<String>,
}

#[derive(Deserialize)]
struct AddMemberBody {
    user_id: Uuid,
}

/// `POST /api/conversations`: 201 for a new one; 200 with the existing direct
/// conversation of the pair.
pub async fn create(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    let b: CreateBody = body.parse(&["kind", "member_ids", "title"])?;
    let (view, was_created) = ctx
        .state
        .hd
        .create_conversation(
            &p,
            NewConversation {
                kind: b.kind,
                title: b.title,
                member_ids: b.member_ids,
            },
        )
        .await?;
    let out = conversation_view_json(&view);
    Ok(if was_created {
        created(
            &ctx.state
                .api_path(&format!("/conversations/{}", view.conversation.id)),
            out,
        )
    } else {
        json(StatusCode::OK, &out)
    })
}

/// `GET /api/conversations`: latest activity first; `?kind=`.
pub async fn list(ctx: Ctx) -> ApiResult {
    let q = &ctx.query;
    let limit = q.limit()?;
    let cursor = q.cursor()?;
    let kind = q.parsed::<ConversationKind>("kind", "must be direct, group or ticket")?;
    let p = ctx.principal().await?;
    let page = ctx
        .state
        .hd
        .list_conversations(
            &p,
            ConversationFilter {
                kind,
                cursor,
                limit,
            },
        )
        .await?;
    Ok(ok(page_json(&page, conversation_view_json)))
}

/// `GET /api/conversations/{id}`.
pub async fn get(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let v = ctx.state.hd.get_conversation(&p, id).await?;
    Ok(ok(conversation_view_json(&v)))
}

/// `PATCH /api/conversations/{id}`: a group's `title`.
pub async fn rename(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    let current = ctx.state.hd.get_conversation(&p, id).await?;
    let b: RenameBody = body.parse(&["title"])?;
    let v = match b.title {
        Some(title) => ctx.state.hd.rename_conversation(&p, id, &title).await?,
        None => current,
    };
    Ok(ok(conversation_view_json(&v)))
}

/// `POST /api/conversations/{id}/members`.
pub async fn add_member(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    ctx.state.hd.check_readable(&p, id).await?;
    let b: AddMemberBody = body.parse(&["user_id"])?;
    let v = ctx.state.hd.add_member(&p, id, b.user_id).await?;
    Ok(created(
        &ctx.state
            .api_path(&format!("/conversations/{id}/members/{}", b.user_id)),
        conversation_view_json(&v),
    ))
}

/// `DELETE /api/conversations/{id}/members/{user_id}`: leave, or remove (creator).
pub async fn remove_member(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let user_id = ctx.id("user_id")?;
    let p = ctx.principal().await?;
    ctx.state.hd.remove_member(&p, id, user_id).await?;
    Ok(no_content())
}
