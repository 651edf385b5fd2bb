//! `POST /api/inbound/email/{mailbox_id}` (raw MIME, an admin's token or a Standard
//! Webhooks signature) and `POST /api/inbound/email/{mailbox_id}/mailgun/mime` (Mailgun's
//! raw-MIME route): both hand the mail to the ingest pipeline and answer 200 with the
//! inbound record and `duplicate`, for new mail too (Mailgun retries all but 200 and
//! 406). Bodies are limited by `--mail-max-size`, not the JSON limit.

use std::sync::Arc;

use bytes::Bytes;
use helpdesk_core::email::InboundVia;
use helpdesk_core::{InboundAuth, IncomingMail, Ingested};
use http::StatusCode;

use crate::error::{ApiError, ApiResult};
use crate::request::Ctx;
use crate::response::ok;

/// Room for a form's other fields and boundaries around `body-mime`.
const FORM_OVERHEAD: usize = 64 * 1024;

/// The answer: the record and whether it was there before.
fn answer(i: Ingested) -> ApiResult {
    let mut json = i.record.json();
    json["duplicate"] = serde_json::Value::Bool(i.duplicate);
    Ok(ok(json))
}

/// `?recipient=` values: the envelope recipients.
fn recipients(ctx: &Ctx) -> Vec<String> {
    ctx.query
        .all("recipient")
        .into_iter()
        .map(|r| r.trim().to_lowercase())
        .filter(|r| !r.is_empty())
        .collect()
}

fn header<'a>(ctx: &'a Ctx, name: &str) -> Option<&'a str> {
    ctx.parts.headers.get(name).and_then(|v| v.to_str().ok())
}

/// `POST /api/inbound/email/{mailbox_id}`: `Content-Type: message/rfc822`.
pub async fn raw(mut ctx: Ctx) -> ApiResult {
    let mailbox_id = ctx.id("mailbox_id")?;
    if !ctx.content_type_is("message/rfc822") {
        return Err(ApiError::unsupported_media_type("message/rfc822"));
    }
    let hd = ctx.state.hd.clone();
    let body = ctx.read_body(hd.config().mail.max_size).await?;
    let incoming = IncomingMail {
        mailbox_id,
        raw: Arc::from(&body[..]),
        envelope: recipients(&ctx),
        via: InboundVia::Http,
        too_large: false,
    };
    let principal = ctx.maybe_principal().await?;
    let auth = match &principal {
        Some(p) => InboundAuth::Principal(p),
        None => {
            let (Some(id), Some(timestamp), Some(signature)) = (
                header(&ctx, "webhook-id"),
                header(&ctx, "webhook-timestamp"),
                header(&ctx, "webhook-signature"),
            ) else {
                return Err(ApiError::unauthorized());
            };
            InboundAuth::StandardWebhooks {
                id,
                timestamp,
                signature,
            }
        }
    };
    answer(hd.ingest_posted(auth, &body, incoming).await?)
}

/// `POST /api/inbound/email/{mailbox_id}/mailgun/mime`: Mailgun's form (multipart or
/// URL-encoded) with `body-mime`, `timestamp`, `token`, `signature`.
pub async fn mailgun(mut ctx: Ctx) -> ApiResult {
    let mailbox_id = ctx.id("mailbox_id")?;
    let hd = ctx.state.hd.clone();
    let limit = hd.config().mail.max_size + FORM_OVERHEAD;
    let fields = if ctx.content_type_is("multipart/form-data") {
        let content_type = header(&ctx, "content-type").unwrap_or("").to_string();
        let boundary = multer::parse_boundary(&content_type).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_multipart",
                "the multipart boundary is missing",
            )
        })?;
        let body = ctx.read_body(limit).await?;
        multipart_fields(body, boundary).await?
    } else if ctx.content_type_is("application/x-www-form-urlencoded") {
        let body = ctx.read_body(limit).await?;
        form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), Bytes::from(v.into_owned())))
            .collect()
    } else {
        return Err(ApiError::unsupported_media_type("multipart/form-data"));
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    let mime = fields
        .iter()
        .find(|(k, _)| k == "body-mime")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if mime.len() > hd.config().mail.max_size {
        return Err(ApiError::too_large(hd.config().mail.max_size as u64));
    }
    let (timestamp, token, signature) = (
        field("timestamp").unwrap_or_default(),
        field("token").unwrap_or_default(),
        field("signature").unwrap_or_default(),
    );
    let incoming = IncomingMail {
        mailbox_id,
        raw: Arc::from(&mime[..]),
        envelope: recipients(&ctx),
        via: InboundVia::Http,
        too_large: false,
    };
    let principal = ctx.maybe_principal().await?;
    let auth = match &principal {
        Some(p) => InboundAuth::Principal(p),
        None => InboundAuth::Mailgun {
            timestamp: &timestamp,
            token: &token,
            signature: &signature,
        },
    };
    answer(hd.ingest_posted(auth, &mime, incoming).await?)
}

/// Every field of a multipart body, in order.
async fn multipart_fields(body: Bytes, boundary: String) -> ApiResult<Vec<(String, Bytes)>> {
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut out = Vec::new();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_string();
                let bytes = field.bytes().await.map_err(malformed)?;
                out.push((name, bytes));
            }
            Ok(None) => return Ok(out),
            Err(e) => return Err(malformed(e)),
        }
    }
}

fn malformed(e: multer::Error) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_multipart",
        format!("malformed multipart body: {e}"),
    )
}
