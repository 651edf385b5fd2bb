//! `/api/tickets`: tickets, their timeline and their attachment list.

use helpdesk_core::message::attachment_json;
use helpdesk_core::principal::TicketView;
use helpdesk_core::schema::ticket_json_for;
use helpdesk_core::status::{StatusCategory, StatusKey};
use helpdesk_core::ticket::{
    AssigneeFilter, CcTarget, NewTicket, OrganizationMatch, Priority, TicketFilter, TicketPatch,
    TicketSort,
};
use helpdesk_core::ticket::{Channel, FieldValues};
use helpdesk_core::{Cursor, Page};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::api::{double_option, present};
use crate::error::{ApiError, ApiResult};
use crate::render::page_json;
use crate::request::Ctx;
use crate::response::{created, no_content, ok};
use helpdesk_core::page::PageRequest;

const CREATE_FIELDS: &[&str] = &[
    "subject",
    "description",
    "priority",
    "tags",
    "attachment_ids",
    "requester_id",
    "assignee_id",
    "group_id",
    "organization_id",
    "fields",
    "mailbox_id",
];
const UPDATE_FIELDS: &[&str] = &[
    "subject",
    "description",
    "status",
    "priority",
    "assignee_id",
    "tags",
    "group_id",
    "organization_id",
    "fields",
    "mailbox_id",
];
/// The fields only staff may send on update.
const STAFF_FIELDS: &[&str] = &[
    "requester_id",
    "priority",
    "assignee_id",
    "tags",
    "group_id",
    "organization_id",
    "mailbox_id",
];

#[derive(Deserialize)]
struct CreateBody {
    subject: String,
    description: String,
    #[serde(default, deserialize_with = "present")]
    priority: Option<Priority>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    attachment_ids: Vec<Uuid>,
    #[serde(default, deserialize_with = "present")]
    requester_id: Option<Uuid>,
    assignee_id: Option<Uuid>,
    #[serde(default, deserialize_with = "present")]
    group_id: Option<Uuid>,
    #[serde(default, deserialize_with = "double_option")]
    organization_id: Option<Option<Uuid>>,
    #[serde(default)]
    fields: FieldValues,
    #[serde(default)]
    mailbox_id: Option<Uuid>,
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default, deserialize_with = "present")]
    subject: Option<String>,
    #[serde(default, deserialize_with = "present")]
    description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    status: Option<String>,
    #[serde(default, deserialize_with = "present")]
    priority: Option<Priority>,
    #[serde(default, deserialize_with = "double_option")]
    assignee_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "present")]
    tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    group_id: Option<Uuid>,
    #[serde(default, deserialize_with = "double_option")]
    organization_id: Option<Option<Uuid>>,
    #[serde(default)]
    fields: FieldValues,
    #[serde(default, deserialize_with = "double_option")]
    mailbox_id: Option<Option<Uuid>>,
}

/// `POST /api/tickets`. Customers may not set `requester_id`, `assignee_id`,
/// `group_id` or `organization_id`.
pub async fn create(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    body.check(CREATE_FIELDS)?;
    body.forbid_unless(
        p.is_staff(),
        &[
            "requester_id",
            "assignee_id",
            "group_id",
            "organization_id",
            "mailbox_id",
        ],
    )?;
    let b: CreateBody = body.convert()?;
    let t = ctx
        .state
        .hd
        .create_ticket(
            &p,
            NewTicket {
                subject: b.subject,
                description: b.description,
                priority: b.priority,
                tags: b.tags,
                attachment_ids: b.attachment_ids,
                requester_id: b.requester_id,
                assignee_id: b.assignee_id,
                group_id: b.group_id,
                organization_id: b.organization_id,
                fields: b.fields,
                mailbox_id: b.mailbox_id,
            },
        )
        .await?;
    Ok(created(
        &ctx.state.api_path(&format!("/tickets/{}", t.id)),
        ticket_json_for(&t, TicketView::of(&p), &ctx.state.hd.ticket_schema().await?),
    ))
}

fn enum_value<T: serde::de::DeserializeOwned>(name: &str, v: &str, what: &str) -> ApiResult<T> {
    serde_json::from_value(json!(v)).map_err(|_| ApiError::invalid_query(name, what))
}

/// `GET /api/tickets`: filters and sort per API.md; `group_id` (repeatable) is for staff
/// only (customers: 403 `forbidden`, from the library).
pub async fn list(ctx: Ctx) -> ApiResult {
    let q = &ctx.query;
    let limit = q.limit()?;
    let cursor = q.cursor()?;
    let schema = ctx.state.hd.ticket_schema().await?;
    let values = |name: &'static str| {
        q.all(name)
            .into_iter()
            .flat_map(|s| s.split(','))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
    };
    let statuses = values("status").into_iter().map(StatusKey::new).collect();
    let categories = values("status_category")
        .into_iter()
        .map(|s| {
            enum_value::<StatusCategory>(
                "status_category",
                s,
                "must be open, pending, on_hold, resolved or closed",
            )
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let priority = q
        .get("priority")
        .map(|v| enum_value::<Priority>("priority", v, "must be low, normal, high or urgent"))
        .transpose()?;
    let assignee = match q.get("assignee_id") {
        None => None,
        Some("none") => Some(AssigneeFilter::Nobody),
        Some(v) => Some(AssigneeFilter::User(Uuid::try_parse(v).map_err(|_| {
            ApiError::invalid_query("assignee_id", "must be a UUID or `none`")
        })?)),
    };
    let requester_id = q.uuid("requester_id")?;
    let group_ids = q
        .all("group_id")
        .into_iter()
        .map(|v| {
            Uuid::try_parse(v).map_err(|_| ApiError::invalid_query("group_id", "must be a UUID"))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let me = || async { ctx.principal().await.map(|p| p.user_id()) };
    let cc = match q.get("cc") {
        None => None,
        Some("me") => Some(me().await?),
        Some(_) => q.uuid("cc")?,
    };
    let follower = match q.get("follower") {
        None => None,
        Some("me") => Some(me().await?),
        Some(_) => q.uuid("follower")?,
    };
    let organization = match q.get("organization_id") {
        None => None,
        Some("none") => Some(OrganizationMatch::Nobody),
        Some(v) => Some(OrganizationMatch::Is(Uuid::try_parse(v).map_err(|_| {
            ApiError::invalid_query("organization_id", "must be a UUID or `none`")
        })?)),
    };
    let sort = q
        .parsed::<TicketSort>(
            "sort",
            "must be created_at, -created_at, updated_at, -updated_at, priority, -priority, \
             sla_due_at or -sla_due_at",
        )?
        .unwrap_or_default();
    let p = ctx.principal().await?;
    let fields = q.prefixed("field.");
    let filter = TicketFilter {
        statuses,
        categories,
        fields,
        priority,
        assignee,
        requester_id,
        group_ids,
        follower,
        cc,
        organization,
        tag: q.text("tag"),
        q: q.text("q"),
        snoozed: q.bool("snoozed")?,
        sla: q.parsed("sla", "must be breached or due_within:<minutes>")?,
        channel: q
            .get("channel")
            .map(|v| {
                Channel::parse(v)
                    .ok_or_else(|| ApiError::invalid_query("channel", "must be email or web"))
            })
            .transpose()?,
        mailbox_id: q.uuid("mailbox_id")?,
        sort,
        cursor,
        limit,
    };
    // The library checks status keys and field filters against what exists; here they
    // are query parameters: 400 `invalid_query`. The schema read above serves both.
    let page = match ctx
        .state
        .hd
        .list_tickets_with(&p, filter, Some(&schema))
        .await
    {
        Err(helpdesk_core::Error::Validation(e))
            if e[0].field == "status" || e[0].field.starts_with("field.") =>
        {
            return Err(ApiError::invalid_query(&e[0].field, &e[0].message));
        }
        other => other?,
    };
    let view = TicketView::of(&p);
    Ok(ok(page_json(&page, |t| ticket_json_for(t, view, &schema))))
}

/// `GET /api/tickets/{id}`.
pub async fn get(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let t = ctx.state.hd.get_ticket(&p, id).await?;
    Ok(ok(ticket_json_for(
        &t,
        TicketView::of(&p),
        &ctx.state.hd.ticket_schema().await?,
    )))
}

/// `PATCH /api/tickets/{id}`. Requesters may set `subject`, `description`, `status`;
/// `priority`, `assignee_id`, `tags`, `group_id`, `organization_id` and `mailbox_id`
/// are staff-only (403 `forbidden_field`).
pub async fn update(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    ctx.state.hd.check_ticket_update(&p, id).await?;
    body.check(UPDATE_FIELDS)?;
    body.forbid_unless(p.is_staff(), STAFF_FIELDS)?;
    let b: UpdateBody = body.convert()?;
    let t = ctx
        .state
        .hd
        .update_ticket(
            &p,
            id,
            TicketPatch {
                subject: b.subject,
                description: b.description,
                status: b.status.map(StatusKey::new),
                priority: b.priority,
                assignee_id: b.assignee_id,
                tags: b.tags,
                group_id: b.group_id,
                organization_id: b.organization_id,
                fields: b.fields,
                mailbox_id: b.mailbox_id,
            },
        )
        .await?;
    Ok(ok(ticket_json_for(
        &t,
        TicketView::of(&p),
        &ctx.state.hd.ticket_schema().await?,
    )))
}

/// `DELETE /api/tickets/{id}` (admins).
pub async fn delete(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    ctx.state.hd.delete_ticket(&p, id).await?;
    Ok(no_content())
}

/// `GET /api/tickets/{id}/events`: the timeline, oldest first.
pub async fn events(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let limit = ctx.query.limit()?;
    let cursor = ctx.query.cursor()?;
    let p = ctx.principal().await?;
    let page = ctx
        .state
        .hd
        .ticket_events(&p, id, PageRequest { cursor, limit })
        .await?;
    Ok(ok(page_json(&page, |e| {
        json!({
            "id": e.id,
            "kind": e.kind,
            "actor_id": e.actor_id,
            "at": helpdesk_core::event::ts(e.at),
            "data": e.data,
            "via": e.via,
        })
    })))
}

/// `GET /api/tickets/{id}/attachments`: oldest first, paged like every list (the library
/// hands over the whole, short list).
pub async fn attachments(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let limit = ctx.query.limit()?;
    let cursor = ctx.query.cursor()?;
    let p = ctx.principal().await?;
    let list = ctx.state.hd.ticket_attachments(&p, id).await?;
    let page = Page::of_whole_list(list, cursor, limit, |a| {
        Cursor::new(a.created_at.timestamp_micros(), a.id)
    })?;
    Ok(ok(page_json(&page, attachment_json)))
}

#[derive(Deserialize)]
struct CcBody {
    #[serde(default, deserialize_with = "present")]
    user_id: Option<Uuid>,
    #[serde(default, deserialize_with = "present")]
    email: Option<String>,
}

/// `POST /api/tickets/{id}/cc`: `{user_id}` or `{email}`, exactly one.
pub async fn add_cc(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    ctx.state.hd.check_add_cc(&p, id).await?;
    body.check(&["user_id", "email"])?;
    let b: CcBody = body.convert()?;
    let target = match (b.user_id, b.email) {
        (Some(u), None) => CcTarget::User(u),
        (None, Some(e)) => CcTarget::Email(e),
        _ => {
            return Err(ApiError::invalid(
                "user_id",
                "give exactly one of user_id and email",
            ));
        }
    };
    let t = ctx.state.hd.add_cc(&p, id, target).await?;
    let added = t.cc.last().copied().unwrap_or_default();
    Ok(created(
        &ctx.state.api_path(&format!("/tickets/{id}/cc/{added}")),
        ticket_json_for(&t, TicketView::of(&p), &ctx.state.hd.ticket_schema().await?),
    ))
}

/// `DELETE /api/tickets/{id}/cc/{user_id}`.
pub async fn remove_cc(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let user_id = ctx.id("user_id")?;
    let p = ctx.principal().await?;
    ctx.state.hd.remove_cc(&p, id, user_id).await?;
    Ok(no_content())
}

#[derive(Deserialize)]
struct FollowerBody {
    user_id: Uuid,
}

/// `POST /api/tickets/{id}/followers`: `{user_id}` (staff).
pub async fn follow(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_staff()?;
    ctx.state.hd.get_ticket(&p, id).await?;
    let b: FollowerBody = body.parse(&["user_id"])?;
    let t = ctx.state.hd.follow(&p, id, b.user_id).await?;
    Ok(created(
        &ctx.state
            .api_path(&format!("/tickets/{id}/followers/{}", b.user_id)),
        ticket_json_for(&t, TicketView::of(&p), &ctx.state.hd.ticket_schema().await?),
    ))
}

/// `DELETE /api/tickets/{id}/followers/{user_id}`.
pub async fn unfollow(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let user_id = ctx.id("user_id")?;
    let p = ctx.principal().await?;
    ctx.state.hd.unfollow(&p, id, user_id).await?;
    Ok(no_content())
}
