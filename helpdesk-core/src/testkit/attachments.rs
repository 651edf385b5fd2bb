//! Attachments: streamed round trips, the size limit, visibility by parent, and the
//! sweep of uploads never attached.

use std::sync::Arc;

use bytes::Bytes;
use chrono::Duration;
use futures_util::StreamExt;
use uuid::Uuid;

use super::{Who, World, expect_err};
use crate::attachment::{Attachment, CHUNK_SIZE};
use crate::auth::sha256_hex;
use crate::message::NewMessage;
use crate::store::Store;
use crate::ticket::NewTicket;
use crate::{Config, Error};

/// Deterministic bytes.
fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 7) as u8).collect()
}

/// `bytes` cut into uneven pieces.
fn pieces(
    bytes: &[u8],
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Unpin + Send + use<> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut size = 1000;
    while at < bytes.len() {
        let end = (at + size).min(bytes.len());
        out.push(Ok(Bytes::copy_from_slice(&bytes[at..end])));
        at = end;
        size = size * 3 % 300_007 + 17;
    }
    futures_util::stream::iter(out)
}

async fn upload(
    w: &World,
    who: &Who,
    name: &str,
    bytes: &[u8],
    ticket: Option<Uuid>,
) -> Attachment {
    w.hd.upload(
        &who.p,
        name,
        "application/octet-stream",
        ticket,
        pieces(bytes),
    )
    .await
    .unwrap()
}

async fn content(w: &World, who: &Who, id: Uuid) -> Vec<u8> {
    let (_, stream) = w.hd.attachment_content(&who.p, id).await.unwrap();
    let mut stream = Box::pin(stream);
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

/// Several MiB in uneven pieces come back byte for byte, with size and SHA-256.
pub async fn round_trip_several_mib(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let bytes = data(3 * 1024 * 1024 + 12_345);
    let a = upload(&w, &c, "big.bin", &bytes, None).await;
    assert_eq!(a.size, bytes.len() as u64);
    assert_eq!(a.sha256, sha256_hex(&bytes));
    assert_eq!(a.uploaded_by, c.id());
    assert_eq!(a.parent, None);
    assert_eq!(w.hd.get_attachment(&c.p, a.id).await.unwrap(), a);
    let back = content(&w, &c, a.id).await;
    assert_eq!(back.len(), bytes.len());
    assert_eq!(sha256_hex(&back), a.sha256);
    assert!(back == bytes);
    // Exactly one chunk's worth.
    let exact = data(CHUNK_SIZE);
    let b = upload(&w, &c, "exact.bin", &exact, None).await;
    assert!(content(&w, &c, b.id).await == exact);
}

/// Over the limit: `PayloadTooLarge`, and nothing of it is kept.
pub async fn over_limit_keeps_nothing(store: Arc<dyn Store>) {
    let w = World::with_config(
        store.clone(),
        Config {
            max_upload: 600 * 1024,
            ..Config::for_tests()
        },
    );
    let c = w.customer().await;
    let bytes = data(600 * 1024 + 1);
    expect_err!(
        w.hd.upload(&c.p, "big", "text/plain", None, pieces(&bytes)).await,
        Error::PayloadTooLarge { limit } if limit == 600 * 1024
    );
    let far = w.hd.now() + Duration::days(3650);
    assert!(store.unattached_before(far).await.unwrap().is_empty());
    // Exactly at the limit is fine.
    let ok = upload(&w, &c, "ok", &data(600 * 1024), None).await;
    assert_eq!(ok.size, 600 * 1024);
    assert_eq!(store.unattached_before(far).await.unwrap().len(), 1);
}

/// A ticket's attachments are visible to its requester and staff only.
pub async fn ticket_attachment_visibility(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let other = w.customer().await;
    let agent = w.agent().await;
    let t = w.ticket(&c, "With file").await;
    let a = upload(&w, &c, "log.txt", b"log", Some(t.id)).await;
    let pre = upload(&w, &c, "pre.txt", b"pre", None).await;
    let mut input = NewTicket::new("Attached at creation", "x");
    input.attachment_ids = vec![pre.id];
    let t2 = w.hd.create_ticket(&c.p, input).await.unwrap();
    assert_eq!(
        w.hd.ticket_attachments(&c.p, t2.id)
            .await
            .unwrap()
            .iter()
            .map(|x| x.id)
            .collect::<Vec<_>>(),
        vec![pre.id]
    );
    for who in [&c, &agent] {
        assert_eq!(w.hd.get_attachment(&who.p, a.id).await.unwrap().id, a.id);
        assert_eq!(content(&w, who, a.id).await, b"log");
        let list = w.hd.ticket_attachments(&who.p, t.id).await.unwrap();
        assert_eq!(list.iter().map(|x| x.id).collect::<Vec<_>>(), vec![a.id]);
    }
    expect_err!(w.hd.get_attachment(&other.p, a.id).await, Error::NotFound);
    expect_err!(
        w.hd.attachment_content(&other.p, a.id).await.map(|_| ()),
        Error::NotFound
    );
    expect_err!(
        w.hd.ticket_attachments(&other.p, t.id).await,
        Error::NotFound
    );
    expect_err!(
        w.hd.upload(&other.p, "x", "text/plain", Some(t.id), pieces(b"x"))
            .await,
        Error::NotFound
    );
}

/// A message's attachments follow the message: members see them; a note's are hidden
/// from customers.
pub async fn message_attachment_visibility(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let agent = w.agent().await;
    let outsider = w.agent().await;
    let d = w.direct(&c, &agent).await;
    let a = upload(&w, &c, "shot.png", b"png", None).await;
    w.hd.send_message(
        &c.p,
        d,
        NewMessage {
            content: "see".into(),
            attachment_ids: vec![a.id],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(content(&w, &agent, a.id).await, b"png");
    expect_err!(
        w.hd.get_attachment(&outsider.p, a.id).await,
        Error::NotFound
    );
    let t = w.ticket(&c, "T").await;
    let secret = upload(&w, &agent, "secret.txt", b"s", None).await;
    w.hd.send_message(
        &agent.p,
        t.conversation_id,
        NewMessage {
            content: "internal file".into(),
            attachment_ids: vec![secret.id],
            internal: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    expect_err!(w.hd.get_attachment(&c.p, secret.id).await, Error::NotFound);
    w.hd.get_attachment(&outsider.p, secret.id).await.unwrap();
}

/// Before it is attached, only the uploader sees an upload.
pub async fn unattached_only_for_uploader(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let admin = w.admin().await;
    let a = upload(&w, &c, "draft.txt", b"draft", None).await;
    assert_eq!(content(&w, &c, a.id).await, b"draft");
    expect_err!(w.hd.get_attachment(&admin.p, a.id).await, Error::NotFound);
    expect_err!(
        w.hd.get_attachment(&c.p, Uuid::now_v7()).await,
        Error::NotFound
    );
    expect_err!(
        w.hd.upload(
            &crate::Principal::system(),
            "x",
            "text/plain",
            None,
            pieces(b"x")
        )
        .await,
        Error::Forbidden(_)
    );
}

/// Uploads never attached are swept after 24 hours; attached ones stay.
pub async fn unattached_swept_after_a_day(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let c = w.customer().await;
    let orphan = upload(&w, &c, "orphan", &data(CHUNK_SIZE + 5), None).await;
    let t = w.ticket(&c, "Keeps").await;
    let kept = upload(&w, &c, "kept", b"kept", Some(t.id)).await;
    w.advance(Duration::hours(12));
    let young = upload(&w, &c, "young", b"young", None).await;
    w.advance(Duration::hours(11));
    assert_eq!(w.hd.sweep_unattached().await.unwrap(), 0);
    w.advance(Duration::hours(1) + Duration::seconds(1));
    assert_eq!(w.hd.sweep_unattached().await.unwrap(), 1);
    expect_err!(w.hd.get_attachment(&c.p, orphan.id).await, Error::NotFound);
    assert_eq!(store.get_blob_chunk(orphan.id, 0).await.unwrap(), None);
    assert_eq!(store.get_blob_chunk(orphan.id, 1).await.unwrap(), None);
    w.hd.get_attachment(&c.p, young.id).await.unwrap();
    assert_eq!(content(&w, &c, kept.id).await, b"kept");
    w.advance(Duration::hours(13));
    assert_eq!(w.hd.sweep_unattached().await.unwrap(), 1);
    assert_eq!(content(&w, &c, kept.id).await, b"kept");
}

/// Download names lose paths and quotes; bad content types fall back.
pub async fn filename_is_sanitised(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let a =
        w.hd.upload(
            &c.p,
            "../../etc/\"pass\"wd\r\n",
            "not a type",
            None,
            pieces(b"x"),
        )
        .await
        .unwrap();
    assert_eq!(a.filename, "passwd");
    assert_eq!(a.content_type, "application/octet-stream");
    let b =
        w.hd.upload(
            &c.p,
            "C:\\Users\\me\\photo.jpg",
            "image/jpeg",
            None,
            pieces(b"x"),
        )
        .await
        .unwrap();
    assert_eq!(b.filename, "photo.jpg");
    assert_eq!(b.content_type, "image/jpeg");
    let e =
        w.hd.upload(&c.p, "...", "text/plain", None, pieces(b"x"))
            .await
            .unwrap();
    assert_eq!(e.filename, "file");
    assert_eq!(
        w.hd.get_attachment(&c.p, a.id).await.unwrap().filename,
        "passwd"
    );
}

/// An empty upload is a valid, empty file.
pub async fn empty_file(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let a = upload(&w, &c, "empty", b"", None).await;
    assert_eq!(a.size, 0);
    assert_eq!(a.sha256, sha256_hex(b""));
    assert!(content(&w, &c, a.id).await.is_empty());
}

/// Store level: blob chunks are written, overwritten, read and deleted by index.
pub async fn store_blob_chunks(store: Arc<dyn Store>) {
    let id = Uuid::now_v7();
    store.put_blob_chunk(id, 0, b"zero").await.unwrap();
    store.put_blob_chunk(id, 1, b"one").await.unwrap();
    store.put_blob_chunk(id, 1, b"uno").await.unwrap();
    assert_eq!(
        store.get_blob_chunk(id, 0).await.unwrap(),
        Some(b"zero".to_vec())
    );
    assert_eq!(
        store.get_blob_chunk(id, 1).await.unwrap(),
        Some(b"uno".to_vec())
    );
    assert_eq!(store.get_blob_chunk(id, 2).await.unwrap(), None);
    let other = Uuid::now_v7();
    store.put_blob_chunk(other, 0, b"other").await.unwrap();
    store.delete_blob(id).await.unwrap();
    assert_eq!(store.get_blob_chunk(id, 0).await.unwrap(), None);
    assert_eq!(store.get_blob_chunk(id, 1).await.unwrap(), None);
    assert_eq!(
        store.get_blob_chunk(other, 0).await.unwrap(),
        Some(b"other".to_vec())
    );
    store.delete_blob(Uuid::now_v7()).await.unwrap();
}

/// Bytes in memory go in with `upload_bytes` and come back with `attachment_bytes`.
pub async fn bytes_in_and_out(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let bytes = data(2 * CHUNK_SIZE + 7);
    let a =
        w.hd.upload_bytes(&c.p, "notes.txt", "text/plain", None, bytes.clone())
            .await
            .unwrap();
    assert_eq!(a.size, bytes.len() as u64);
    let (meta, back) = w.hd.attachment_bytes(&c.p, a.id).await.unwrap();
    assert_eq!(meta, a);
    assert!(back[..] == bytes[..]);
    let other = w.customer().await;
    expect_err!(w.hd.attachment_bytes(&other.p, a.id).await, Error::NotFound);
}
