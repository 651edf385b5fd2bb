//! `/api/admin` (admins): the whole store as a JSON Lines archive, streamed out
//! (`GET /api/admin/export`) and in (`POST /api/admin/import`), through the same core
//! functions the CLI uses locally ([`helpdesk_core::Helpdesk::export_archive`],
//! [`helpdesk_core::Helpdesk::import_archive`]). Neither holds the archive in memory:
//! a small pipe sits between the store and the connection.

use bytes::Bytes;
use futures_util::StreamExt;
use helpdesk_core::archive::ImportOptions;
use http::{HeaderValue, Response, header};
use http_body_util::{BodyExt, BodyStream, StreamBody};
use hyper::body::Frame;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};

use crate::error::{ApiError, ApiResult};
use crate::request::Ctx;
use crate::response::{BoxError, ok};

/// The media type of archives.
pub const NDJSON: &str = "application/x-ndjson";
/// Bytes in flight between the store and the connection.
const PIPE: usize = 256 * 1024;

/// `GET /api/admin/export`: 200 with the archive, streamed. A failure half-way aborts
/// the response, so a client never takes a cut archive for a whole one (the archive's
/// `end` line is missing too).
pub async fn export(ctx: Ctx) -> ApiResult {
    let p = ctx.principal().await?;
    p.require_admin()?;
    let hd = ctx.state.hd.clone();
    let (writer, reader) = tokio::io::duplex(PIPE);
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<Option<String>>();
    tokio::spawn(async move {
        let outcome = hd.export_archive(&p, writer, &|_| {}).await;
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "export failed half-way");
        }
        let _ = done_tx.send(outcome.err().map(|e| e.to_string()));
    });
    let state = (reader, Some(done_rx), vec![0u8; 64 * 1024]);
    let chunks = futures_util::stream::unfold(state, |(mut reader, done, mut buf)| async move {
        let done = done?;
        match reader.read(&mut buf).await {
            Ok(0) => match done.await {
                Ok(None) => None,
                Ok(Some(e)) => Some((Err::<Bytes, BoxError>(e.into()), (reader, None, buf))),
                Err(_) => Some((Err("the export stopped".into()), (reader, None, buf))),
            },
            Ok(n) => {
                let chunk = Bytes::copy_from_slice(&buf[..n]);
                Some((Ok(chunk), (reader, Some(done), buf)))
            }
            Err(e) => Some((Err(Box::new(e) as BoxError), (reader, None, buf))),
        }
    });
    let body = StreamBody::new(chunks.map(|c| c.map(Frame::data))).boxed_unsync();
    let mut r = Response::new(body);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"helpdesk-export.jsonl\""),
    );
    Ok(r)
}

/// `POST /api/admin/import`: reads an archive (`application/x-ndjson`) into the
/// server's store, which must be empty (409 otherwise) → 200 `{records, bytes}`.
pub async fn import(mut ctx: Ctx) -> ApiResult {
    let options = ImportOptions {
        replace_refused_text: ctx.query.bool("replace_control_chars")?.unwrap_or(false),
    };
    let p = ctx.principal().await?;
    p.require_admin()?;
    if !(ctx.content_type_is(NDJSON) || ctx.content_type_is("application/jsonl")) {
        return Err(ApiError::unsupported_media_type(NDJSON));
    }
    let body = ctx.body.take().ok_or_else(ApiError::internal)?;
    let (mut writer, reader) = tokio::io::duplex(PIPE);
    // The pump feeds the body to the import until it ends. When the import stops
    // reading (it refused the archive), the rest is read and dropped, so that a client
    // still sending gets the answer rather than a reset connection.
    let pump = tokio::spawn(async move {
        let mut frames = BodyStream::new(body);
        let mut feeding = true;
        while let Some(frame) = frames.next().await {
            let Ok(frame) = frame else { break };
            if feeding
                && let Ok(data) = frame.into_data()
                && writer.write_all(&data).await.is_err()
            {
                feeding = false;
            }
        }
        let _ = writer.shutdown().await;
    });
    let outcome = ctx
        .state
        .hd
        .import_archive_with(&p, BufReader::new(reader), options, &|_| {})
        .await;
    let mut pump = pump;
    if tokio::time::timeout(std::time::Duration::from_secs(30), &mut pump)
        .await
        .is_err()
    {
        pump.abort();
        tracing::warn!("an import's body did not end within 30 s of the answer");
    }
    let summary = outcome?;
    Ok(ok(json!({
        "records": summary.records,
        "bytes": summary.bytes,
        "replaced_characters": summary.replaced_characters,
    })))
}
