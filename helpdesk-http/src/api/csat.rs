//! CSAT surveys: `/api/csat/{token}` without a token of any other kind (the survey's
//! token is the credential; an `Authorization` header is never read), a ticket's
//! surveys (`GET /api/tickets/{id}/csat`, staff) and the report (`GET /api/csat`,
//! staff). Staff reads take `tickets:read` on an API key.

use chrono::{DateTime, Utc};
use helpdesk_core::csat::{SurveyQuery, report_json, survey_json, survey_page_json};
use serde::Deserialize;

use crate::api::{Whole, present};
use crate::error::{ApiError, ApiResult};
use crate::render::items_json;
use crate::request::Ctx;
use crate::response::ok;

/// What an answer's body may name.
const FIELDS: &[&str] = &["rating", "comment"];

#[derive(Deserialize)]
struct RespondBody {
    rating: Whole,
    #[serde(default, deserialize_with = "present")]
    comment: Option<String>,
}

/// `GET /api/csat/{token}` (anyone with the token): the survey's page. Records nothing.
pub async fn page(ctx: Ctx) -> ApiResult {
    let page = ctx.state.hd.csat_page(ctx.param("token")).await?;
    Ok(ok(survey_page_json(&page)))
}

/// `POST /api/csat/{token}` (anyone with the token): `{rating, comment?}`; again until
/// the token expires (409 `csat_expired`), the last answer winning.
pub async fn respond(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let token = ctx.param("token").to_string();
    // An unknown token is 404 before the body's fields.
    ctx.state.hd.csat_page(&token).await?;
    let b: RespondBody = body.parse(FIELDS)?;
    let page = ctx
        .state
        .hd
        .respond_csat(&token, b.rating.0, b.comment.as_deref())
        .await?;
    Ok(ok(survey_page_json(&page)))
}

/// `GET /api/tickets/{id}/csat` (staff with read access): `{items}`, the ticket's
/// surveys by cycle, never their tokens.
pub async fn ticket_surveys(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let surveys = ctx.state.hd.ticket_surveys(&p, id).await?;
    Ok(ok(items_json(&surveys, survey_json)))
}

/// `GET /api/csat` (staff): the report of the surveys made in `[from, to)`, optionally
/// of one `assignee_id` and one `group_id`.
pub async fn report(ctx: Ctx) -> ApiResult {
    let q = &ctx.query;
    let time = |name: &str| q.parsed::<DateTime<Utc>>(name, "must be an RFC 3339 timestamp");
    let query = SurveyQuery {
        from: time("from")?,
        to: time("to")?,
        assignee_id: q.uuid("assignee_id")?,
        group_id: q.uuid("group_id")?,
    };
    let p = ctx.principal().await?;
    // The library checks the range; here it is made of query parameters: 400.
    let report = match ctx.state.hd.csat_report(&p, query).await {
        Err(helpdesk_core::Error::Validation(e)) => {
            return Err(ApiError::invalid_query(&e[0].field, &e[0].message));
        }
        other => other?,
    };
    Ok(ok(report_json(&report)))
}
