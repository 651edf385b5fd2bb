//! `/api/attachments` and ticket uploads: multipart uploads streamed into the store,
//! downloads streamed out chunk by chunk.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use helpdesk_core::message::attachment_json;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, BodyStream, Limited, StreamBody};
use hyper::body::Frame;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::request::Ctx;
use crate::response::{BoxError, created, ok};

/// Room for the multipart framing around the file itself.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;

/// `POST /api/attachments`: multipart field `file` → 201.
pub async fn upload(ctx: Ctx) -> ApiResult {
    upload_inner(ctx, None).await
}

/// `POST /api/tickets/{id}/attachments`: an upload attached to the ticket → 201.
pub async fn upload_to_ticket(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    upload_inner(ctx, Some(id)).await
}

async fn upload_inner(mut ctx: Ctx, ticket_id: Option<Uuid>) -> ApiResult {
    let content_type = ctx
        .parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if !ctx.content_type_is("multipart/form-data") {
        return Err(ApiError::unsupported_media_type("multipart/form-data"));
    }
    let boundary = multer::parse_boundary(&content_type).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_multipart",
            "the multipart boundary is missing",
        )
    })?;
    let p = ctx.principal().await?;
    let hd = ctx.state.hd.clone();
    if let Some(t) = ticket_id {
        hd.get_ticket(&p, t).await?;
    }
    let limit = hd.config().max_upload;
    let overflowed = Arc::new(AtomicBool::new(false));
    let flag = overflowed.clone();
    let body = ctx.body.take().ok_or_else(ApiError::internal)?;
    let stream = futures_util::TryStreamExt::map_err(
        BodyStream::new(Limited::new(body, (limit + MULTIPART_OVERHEAD) as usize)),
        move |e: BoxError| {
            if e.is::<http_body_util::LengthLimitError>() {
                flag.store(true, Ordering::Relaxed);
            }
            e
        },
    )
    .try_filter_map(|frame| async move { Ok(frame.into_data().ok()) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let too_large = || ApiError::too_large(limit);
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Err(ApiError::invalid("file", "is required")),
            Err(_) if overflowed.load(Ordering::Relaxed) => return Err(too_large()),
            Err(e) => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_multipart",
                    format!("malformed multipart body: {e}"),
                ));
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().unwrap_or("upload").to_string();
        let mime = field
            .content_type()
            .map(|m| m.to_string())
            .unwrap_or_else(|| "application/octet-stream".to_string());
        let result = hd
            .upload(&p, &filename, &mime, ticket_id, Box::pin(field))
            .await;
        return match result {
            Ok(a) => Ok(created(
                &ctx.state.api_path(&format!("/attachments/{}", a.id)),
                attachment_json(&a),
            )),
            Err(_) if overflowed.load(Ordering::Relaxed) => Err(too_large()),
            Err(e) => Err(e.into()),
        };
    }
}

/// `GET /api/attachments/{id}`: metadata.
pub async fn get(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let a = ctx.state.hd.get_attachment(&p, id).await?;
    Ok(ok(attachment_json(&a)))
}

/// A `Content-Disposition` value: an ASCII fallback name and the UTF-8 name.
fn disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or(HeaderValue::from_static("attachment"))
}

/// `GET /api/attachments/{id}/content`: the bytes, streamed.
pub async fn content(ctx: Ctx) -> ApiResult {
    let id = ctx.id("id")?;
    let p = ctx.principal().await?;
    let (a, chunks) = ctx.state.hd.attachment_content(&p, id).await?;
    let body = StreamBody::new(chunks.map(|c: helpdesk_core::Result<Bytes>| {
        c.map(Frame::data).map_err(|e| -> BoxError { Box::new(e) })
    }))
    .boxed_unsync();
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&a.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(a.size));
    h.insert(header::CONTENT_DISPOSITION, disposition(&a.filename));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(r)
}
