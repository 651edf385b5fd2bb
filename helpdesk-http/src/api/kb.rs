//! `/api/kb`: articles (published ones readable without a token), search and tags.

use helpdesk_core::kb::{ArticlePatch, ArticleStatus, NewArticle, article_json};
use serde::Deserialize;
use serde_json::json;

use crate::api::present;
use crate::error::{ApiError, ApiResult};
use crate::render::{items_json, page_json};
use crate::request::Ctx;
use crate::response::{created, json_rendered, no_content, ok};
use helpdesk_core::kb::ArticleFilter;
use helpdesk_core::kb::ArticleSearch;

const FIELDS: &[&str] = &["title", "body", "slug", "tags", "status"];

#[derive(Deserialize)]
struct CreateBody {
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default, deserialize_with = "present")]
    slug: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default, deserialize_with = "present")]
    status: Option<ArticleStatus>,
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default, deserialize_with = "present")]
    title: Option<String>,
    #[serde(default, deserialize_with = "present")]
    body: Option<String>,
    #[serde(default, deserialize_with = "present")]
    slug: Option<String>,
    #[serde(default, deserialize_with = "present")]
    tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    status: Option<ArticleStatus>,
}

/// `POST /api/kb/articles` (staff).
pub async fn create(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_staff()?;
    let b: CreateBody = body.parse(FIELDS)?;
    let a = ctx
        .state
        .hd
        .create_article(
            &p,
            NewArticle {
                title: b.title,
                body: b.body,
                slug: b.slug,
                tags: b.tags,
                status: b.status,
            },
        )
        .await?;
    Ok(created(
        &ctx.state.api_path(&format!("/kb/articles/{}", a.id)),
        article_json(&a),
    ))
}

/// `GET /api/kb/articles`: `tag`, `status` (drafts for staff only).
pub async fn list(ctx: Ctx) -> ApiResult {
    let q = &ctx.query;
    let limit = q.limit()?;
    let cursor = q.cursor()?;
    let status = q.parsed::<ArticleStatus>("status", "must be draft or published")?;
    let tag = q.text("tag");
    let viewer = ctx.maybe_principal().await?;
    let page = ctx
        .state
        .hd
        .list_articles(
            viewer.as_ref(),
            ArticleFilter {
                tag,
                status,
                cursor,
                limit,
            },
        )
        .await?;
    Ok(ok(page_json(&page, article_json)))
}

/// `GET /api/kb/articles/{key}`: by id or slug.
pub async fn get(ctx: Ctx) -> ApiResult {
    let viewer = ctx.maybe_principal().await?;
    let a = ctx
        .state
        .hd
        .get_article(viewer.as_ref(), ctx.param("key"))
        .await?;
    Ok(ok(article_json(&a)))
}

/// `PATCH /api/kb/articles/{id}` (staff).
pub async fn update(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("key")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_staff()?;
    ctx.state.hd.get_article(Some(&p), &id.to_string()).await?;
    let b: UpdateBody = body.parse(FIELDS)?;
    let a = ctx
        .state
        .hd
        .update_article(
            &p,
            id,
            ArticlePatch {
                title: b.title,
                body: b.body,
                slug: b.slug,
                tags: b.tags,
                status: b.status,
            },
        )
        .await?;
    Ok(ok(article_json(&a)))
}

/// `DELETE /api/kb/articles/{id}` (staff).
pub async fn delete(ctx: Ctx) -> ApiResult {
    let id = ctx.id("key")?;
    let p = ctx.principal().await?;
    p.require_staff()?;
    ctx.state.hd.delete_article(&p, id).await?;
    Ok(no_content())
}

/// `GET /api/kb/search?q=&tag=`: `{items: [{article, score, snippet}]}`.
pub async fn search(ctx: Ctx) -> ApiResult {
    let q = &ctx.query;
    let limit = q.limit()?;
    let Some(text) = q.text("q") else {
        return Err(ApiError::invalid_query("q", "is required"));
    };
    if helpdesk_core::search::query_terms(&text).is_empty() {
        return Err(ApiError::invalid_query("q", "must contain a word"));
    }
    let tag = q.text("tag");
    let viewer = ctx.maybe_principal().await?;
    let answer = ctx
        .state
        .hd
        .search_answer(
            viewer.as_ref(),
            ArticleSearch {
                tag,
                limit,
                ..ArticleSearch::new(&text)
            },
        )
        .await?;
    Ok(json_rendered(http::StatusCode::OK, answer.json()))
}

/// `GET /api/kb/tags`.
pub async fn tags(ctx: Ctx) -> ApiResult {
    let viewer = ctx.maybe_principal().await?;
    let tags = ctx.state.hd.kb_tags(viewer.as_ref()).await?;
    Ok(ok(items_json(
        &tags,
        |t| json!({"tag": t.tag, "count": t.count}),
    )))
}
