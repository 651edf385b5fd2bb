//! `/api/mailboxes` (staff read, admins write; customers 403 on every path),
//! `POST /api/mailboxes/{id}/rotate-secret` and `POST /api/mailboxes/{id}/test` (admins).
//! Secrets are write-only: a mailbox shows `has_password` and `has_signing_key`, and a
//! `raw` provider's `secret` only in the answer of the write that made it (create, a
//! PATCH to `raw`, rotate). Reads take `tickets:read` on an API key, writes `admin`
//! (configuration, as calendars).

use helpdesk_core::mailbox::{After, Imap, Inbound, Mailbox, MailboxPatch, NewMailbox, Outbound};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::api::{double_option, present};
use crate::error::ApiResult;
use crate::render::items_json;
use crate::request::Ctx;
use crate::response::{created, no_content, ok};

/// What a mailbox's body may name (`id`, the timestamps and `secret` are fixed).
const FIELDS: &[&str] = &[
    "address",
    "name",
    "group_id",
    "is_default",
    "inbound",
    "outbound",
    "auto_reply",
];

#[derive(Deserialize)]
struct CreateBody {
    address: String,
    name: String,
    #[serde(default)]
    group_id: Option<Uuid>,
    #[serde(default, deserialize_with = "present")]
    is_default: Option<bool>,
    inbound: serde_json::Value,
    #[serde(default, deserialize_with = "present")]
    outbound: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "present")]
    auto_reply: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default, deserialize_with = "present")]
    address: Option<String>,
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    group_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "present")]
    is_default: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    inbound: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "present")]
    outbound: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "present")]
    auto_reply: Option<serde_json::Value>,
}

/// An IMAP inbound as the API shows it: the password as `has_password`.
fn imap_json(i: &Imap) -> serde_json::Value {
    let move_to = match &i.after {
        After::Seen => None,
        After::Move { move_to } => Some(move_to),
    };
    json!({
        "kind": "imap",
        "host": i.host,
        "port": i.port,
        "tls": i.tls.as_str(),
        "username": i.username,
        "has_password": !i.password.is_empty(),
        "folder": i.folder,
        "after": if move_to.is_some() { "move" } else { "seen" },
        "move_to": move_to,
        "poll_interval": i.poll_interval,
        "state": {
            "uidvalidity": i.state.uidvalidity,
            "last_uid": i.state.last_uid,
            "last_poll_at": i.state.last_poll_at.map(helpdesk_core::event::ts),
            "last_error": i.state.last_error,
        },
    })
}

/// A mailbox as the API shows it, never with a secret.
pub(crate) fn mailbox_json(m: &Mailbox) -> serde_json::Value {
    let inbound = match &m.inbound {
        Inbound::Imap(i) => imap_json(i),
        Inbound::Webhook {
            provider,
            signing_key,
        } => json!({
            "kind": "webhook",
            "provider": provider.as_str(),
            "has_signing_key": signing_key.is_some(),
        }),
        Inbound::Smtp => json!({"kind": "smtp"}),
        Inbound::Pipe => json!({"kind": "pipe"}),
    };
    let outbound = match &m.outbound {
        Outbound::None => json!({"kind": "none"}),
        Outbound::Smtp { url, password } => json!({
            "kind": "smtp",
            "url": url,
            "has_password": password.is_some(),
        }),
    };
    json!({
        "id": m.id,
        "address": m.address,
        "name": m.name,
        "group_id": m.group_id,
        "is_default": m.is_default,
        "inbound": inbound,
        "outbound": outbound,
        "auto_reply": {
            "enabled": m.auto_reply.enabled,
            "canned_reply_id": m.auto_reply.canned_reply_id,
        },
        "created_at": helpdesk_core::event::ts(m.created_at),
        "updated_at": helpdesk_core::event::ts(m.updated_at),
    })
}

/// [`mailbox_json`] with `secret` when the write made one.
fn saved_json(m: &Mailbox, new_secret: Option<String>) -> serde_json::Value {
    let mut v = mailbox_json(m);
    if let Some(s) = new_secret {
        v["secret"] = json!(s);
    }
    v
}

/// `GET /api/mailboxes` (staff): every mailbox by `address`, `id`.
pub async fn list(ctx: Ctx) -> ApiResult {
    let p = ctx.principal().await?;
    let all = ctx.state.hd.list_mailboxes(&p).await?;
    Ok(ok(items_json(&all, mailbox_json)))
}

/// `POST /api/mailboxes` (admins): 201 with `Location`, with `secret` for provider `raw`.
pub async fn create(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    let b: CreateBody = body.parse(FIELDS)?;
    let saved = ctx
        .state
        .hd
        .create_mailbox(
            &p,
            NewMailbox {
                address: b.address,
                name: b.name,
                group_id: b.group_id,
                is_default: b.is_default,
                inbound: b.inbound,
                outbound: b.outbound,
                auto_reply: b.auto_reply,
            },
        )
        .await?;
    Ok(created(
        &ctx.state
            .api_path(&format!("/mailboxes/{}", saved.mailbox.id)),
        saved_json(&saved.mailbox, saved.new_secret),
    ))
}

/// `GET /api/mailboxes/{id}` (staff).
pub async fn get(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let m = ctx.state.hd.get_mailbox(&p, id).await?;
    Ok(ok(mailbox_json(&m)))
}

/// `PATCH /api/mailboxes/{id}` (admins): `inbound`, `outbound` and `auto_reply` are
/// replaced whole, a secret left out kept while the kind stays.
pub async fn update(mut ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let body = ctx.json().await?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    // 404 before the body's fields.
    ctx.state.hd.get_mailbox(&p, id).await?;
    let b: UpdateBody = body.parse(FIELDS)?;
    let saved = ctx
        .state
        .hd
        .update_mailbox(
            &p,
            id,
            MailboxPatch {
                address: b.address,
                name: b.name,
                group_id: b.group_id,
                is_default: b.is_default,
                inbound: b.inbound,
                outbound: b.outbound,
                auto_reply: b.auto_reply,
            },
        )
        .await?;
    Ok(ok(saved_json(&saved.mailbox, saved.new_secret)))
}

/// `DELETE /api/mailboxes/{id}` (admins): 204.
pub async fn delete(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    ctx.state.hd.delete_mailbox(&p, id).await?;
    Ok(no_content())
}

/// `POST /api/mailboxes/{id}/rotate-secret` (admins): 200 `{secret}`; the old one
/// verifies 24 hours more; a mailbox without provider `raw`: 409 `conflict`.
pub async fn rotate_secret(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    p.require_admin()?;
    let secret = ctx.state.hd.rotate_mailbox_secret(&p, id).await?;
    Ok(ok(json!({ "secret": secret })))
}

/// One connection test as the API shows it: `{ok, error}`, `error` null when ok.
fn check_json(outcome: Result<(), String>) -> serde_json::Value {
    match outcome {
        Ok(()) => json!({"ok": true, "error": null}),
        Err(error) => json!({"ok": false, "error": error}),
    }
}

/// `POST /api/mailboxes/{id}/test` (admins): 200 `{inbound, outbound}`, each `{ok, error}`
/// or null. The IMAP inbound is tested by LOGIN and SELECT of its folder, the SMTP
/// outbound by EHLO (and STARTTLS) and AUTH; both at once, each within its own timeouts.
/// Nothing is sent or changed. `inbound` is null without IMAP, `outbound` with
/// `{kind: "none"}`.
pub async fn test(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let hd = &ctx.state.hd;
    let m = hd.mailbox_to_test(&p, id).await?;
    let imap = match &m.inbound {
        // Nothing is fetched: the size limit does not come into it.
        Inbound::Imap(i) => Some(crate::mail::imap_config(i, hd.config().mail.max_size)),
        _ => None,
    };
    let inbound = async {
        match &imap {
            Some(config) => Some(helpdesk_mail::test_login(config).await),
            None => None,
        }
    };
    let outbound = async {
        match &m.outbound {
            Outbound::Smtp { url, password } => {
                Some(helpdesk_mail::test_smtp(url, password.as_deref()).await)
            }
            Outbound::None => None,
        }
    };
    let (inbound, outbound) = tokio::join!(inbound, outbound);
    Ok(ok(json!({
        "inbound": inbound.map(check_json),
        "outbound": outbound.map(check_json),
    })))
}
