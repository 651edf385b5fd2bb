//! The archive: a whole store as JSON Lines, written and read as a stream.
//!
//! An archive is one [`Record`] per line: a `header`, then every record of the store
//! kind by kind in [`RecordKind::ALL`] order (each kind in its [`ArchiveKey`] order, so
//! two stores with the same content export the same bytes, whatever their backend),
//! then an `end` line with the record count. Records are copied verbatim: ids, ticket
//! numbers, message seqs, event ids, versions, counters, password hashes and attachment
//! bytes (as base64 chunks) are kept, so an installation moves between backends with
//! nothing lost.
//!
//! Memory stays bounded on both sides: [`Helpdesk::export_archive`] reads the store a
//! page at a time through [`crate::store::ArchiveStore::export_records`], and
//! [`Helpdesk::import_archive`] writes batches through
//! [`crate::store::ArchiveStore::import_records`]. An import goes only into an empty store.
//! An export of a live store is consistent record by record, not as a whole: a change
//! made while it runs may be in it or not.
//!
//! An import applies the text rule of [`crate::text`]: a record holding a control
//! character that text may not hold (which stores written before the rule may have) is
//! refused, naming its line and field, unless [`ImportOptions::replace_refused_text`]
//! asks to replace each such character with U+FFFD.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use uuid::Uuid;

use crate::Helpdesk;
use crate::attachment::Attachment;
use crate::auth::Session;
use crate::conversation::Conversation;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::kb::Article;
use crate::message::Message;
use crate::notification::Notification;
use crate::principal::Principal;
use crate::receipt::Participant;
use crate::ticket::{Ticket, TicketEvent};
use crate::user::User;
use crate::webhook::{Delivery, Webhook};

/// The `format` of an archive header.
pub const FORMAT: &str = "helpdesk-export";
/// The archive version this build writes and reads.
pub const VERSION: u32 = 1;
/// The longest line an import accepts (a blob chunk is about 350 KiB of base64).
pub const MAX_LINE: u64 = 16 * 1024 * 1024;
/// The counter of ticket numbers (the last number given; numbers are never reused).
pub const TICKET_NUMBER: &str = "ticket_number";

/// The kinds of stored records, in archive order: every record comes after those it
/// refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// [`Setting`], by key (byte order).
    Setting,
    /// [`Counter`], by name (byte order).
    Counter,
    /// [`User`], by id.
    User,
    /// [`Session`], by id.
    Session,
    /// [`Conversation`] with its members, by id.
    Conversation,
    /// [`Participant`] (read and delivery state), by (conversation, user).
    Participant,
    /// [`Ticket`], by id.
    Ticket,
    /// [`TicketEvent`] (timeline entry), by (ticket, at, id).
    TicketEvent,
    /// [`Message`], by (conversation, seq).
    Message,
    /// [`Notification`], by id.
    Notification,
    /// [`Article`], by id.
    Article,
    /// [`BlobChunk`], by (blob, index).
    BlobChunk,
    /// [`Attachment`] metadata, by id.
    Attachment,
    /// [`Event`], by id.
    Event,
    /// [`Webhook`], by id.
    Webhook,
    /// [`Delivery`], by id.
    Delivery,
}

impl RecordKind {
    /// Every kind, in archive order.
    pub const ALL: [RecordKind; 16] = [
        RecordKind::Setting,
        RecordKind::Counter,
        RecordKind::User,
        RecordKind::Session,
        RecordKind::Conversation,
        RecordKind::Participant,
        RecordKind::Ticket,
        RecordKind::TicketEvent,
        RecordKind::Message,
        RecordKind::Notification,
        RecordKind::Article,
        RecordKind::BlobChunk,
        RecordKind::Attachment,
        RecordKind::Event,
        RecordKind::Webhook,
        RecordKind::Delivery,
    ];

    /// How many records of this kind an export reads at a time (blob chunks are up to
    /// 256 KiB each).
    pub fn page_size(self) -> usize {
        match self {
            RecordKind::BlobChunk => 8,
            _ => 500,
        }
    }

    /// The kind's name in an archive line (`type`).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Setting => "setting",
            RecordKind::Counter => "counter",
            RecordKind::User => "user",
            RecordKind::Session => "session",
            RecordKind::Conversation => "conversation",
            RecordKind::Participant => "participant",
            RecordKind::Ticket => "ticket",
            RecordKind::TicketEvent => "ticket_event",
            RecordKind::Message => "message",
            RecordKind::Notification => "notification",
            RecordKind::Article => "article",
            RecordKind::BlobChunk => "blob_chunk",
            RecordKind::Attachment => "attachment",
            RecordKind::Event => "event",
            RecordKind::Webhook => "webhook",
            RecordKind::Delivery => "delivery",
        }
    }
}

/// A setting (e.g. the generated JWT secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// A named counter of the store ([`TICKET_NUMBER`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    /// Name.
    pub name: String,
    /// Value.
    pub value: i64,
}

/// One chunk of an attachment's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobChunk {
    /// The blob (the attachment's id).
    pub blob_id: Uuid,
    /// The chunk's index, from 0.
    pub index: u32,
    /// The bytes, base64 in the archive.
    #[serde(with = "base64_bytes")]
    pub data: Vec<u8>,
}

/// The first line of an archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// The archive version ([`VERSION`]).
    pub version: u32,
}

/// The last line of an archive: its absence means the archive was cut short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trailer {
    /// How many records came between the header and this line.
    pub records: u64,
}

/// One line of an archive: `{"type": "...", "record": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "record", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Record {
    Header(Header),
    Setting(Setting),
    Counter(Counter),
    User(User),
    Session(Session),
    Conversation(Conversation),
    Participant(Participant),
    Ticket(Ticket),
    TicketEvent(TicketEvent),
    Message(Message),
    Notification(Notification),
    Article(Article),
    BlobChunk(BlobChunk),
    Attachment(Attachment),
    Event(Event),
    Webhook(Webhook),
    Delivery(Delivery),
    End(Trailer),
}

/// The sort key of a record within its kind. Backends page with it: "the records of a
/// kind after this key" must give the same order on every backend.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ArchiveKey {
    /// Settings and counters: the name, compared as bytes.
    Name(String),
    /// Records keyed by their id alone.
    Id(Uuid),
    /// Participants: (conversation, user).
    Pair(Uuid, Uuid),
    /// Messages: (conversation, seq).
    Seq(Uuid, u64),
    /// Timeline entries: (ticket, at in microseconds, id).
    Timeline(Uuid, i64, Uuid),
    /// Blob chunks: (blob, index).
    Chunk(Uuid, u32),
    /// Events: the id.
    Event(u64),
}

impl Record {
    /// The kind of a stored record (`None` for the header and end lines).
    pub fn kind(&self) -> Option<RecordKind> {
        Some(match self {
            Record::Header(_) | Record::End(_) => return None,
            Record::Setting(_) => RecordKind::Setting,
            Record::Counter(_) => RecordKind::Counter,
            Record::User(_) => RecordKind::User,
            Record::Session(_) => RecordKind::Session,
            Record::Conversation(_) => RecordKind::Conversation,
            Record::Participant(_) => RecordKind::Participant,
            Record::Ticket(_) => RecordKind::Ticket,
            Record::TicketEvent(_) => RecordKind::TicketEvent,
            Record::Message(_) => RecordKind::Message,
            Record::Notification(_) => RecordKind::Notification,
            Record::Article(_) => RecordKind::Article,
            Record::BlobChunk(_) => RecordKind::BlobChunk,
            Record::Attachment(_) => RecordKind::Attachment,
            Record::Event(_) => RecordKind::Event,
            Record::Webhook(_) => RecordKind::Webhook,
            Record::Delivery(_) => RecordKind::Delivery,
        })
    }

    /// The record's key in its kind's order (`None` for the header and end lines).
    pub fn key(&self) -> Option<ArchiveKey> {
        Some(match self {
            Record::Header(_) | Record::End(_) => return None,
            Record::Setting(s) => ArchiveKey::Name(s.key.clone()),
            Record::Counter(c) => ArchiveKey::Name(c.name.clone()),
            Record::User(u) => ArchiveKey::Id(u.id),
            Record::Session(s) => ArchiveKey::Id(s.id),
            Record::Conversation(c) => ArchiveKey::Id(c.id),
            Record::Participant(p) => ArchiveKey::Pair(p.conversation_id, p.user_id),
            Record::Ticket(t) => ArchiveKey::Id(t.id),
            Record::TicketEvent(e) => {
                ArchiveKey::Timeline(e.ticket_id, e.at.timestamp_micros(), e.id)
            }
            Record::Message(m) => ArchiveKey::Seq(m.conversation_id, m.seq),
            Record::Notification(n) => ArchiveKey::Id(n.id),
            Record::Article(a) => ArchiveKey::Id(a.id),
            Record::BlobChunk(b) => ArchiveKey::Chunk(b.blob_id, b.index),
            Record::Attachment(a) => ArchiveKey::Id(a.id),
            Record::Event(e) => ArchiveKey::Event(e.id.0),
            Record::Webhook(w) => ArchiveKey::Id(w.id),
            Record::Delivery(d) => ArchiveKey::Id(d.id),
        })
    }

    /// The bytes a record holds beyond its metadata (blob chunks), for batching.
    fn weight(&self) -> usize {
        match self {
            Record::BlobChunk(b) => b.data.len(),
            _ => 512,
        }
    }
}

/// What an export or import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ArchiveSummary {
    /// Records written or read (header and end lines excluded).
    pub records: u64,
    /// Bytes written or read.
    pub bytes: u64,
    /// Characters an import replaced with U+FFFD ([`ImportOptions::replace_refused_text`]).
    pub replaced_characters: u64,
}

/// How an import treats what the archive holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Replace the control characters that text may not hold ([`crate::text`]) with
    /// U+FFFD instead of refusing the archive. For archives of stores written before the
    /// rule existed.
    pub replace_refused_text: bool,
}

/// Called after each record with the running totals (e.g. to draw a progress bar).
pub type ProgressFn<'a> = &'a (dyn Fn(&ArchiveSummary) + Send + Sync);

/// How many records, or bytes of blob data, an import writes in one store call.
const IMPORT_BATCH: usize = 500;
const IMPORT_BATCH_BYTES: usize = 4 * 1024 * 1024;

fn io_error(e: std::io::Error) -> Error {
    Error::Internal(format!("archive I/O failed: {e}"))
}

impl Helpdesk {
    /// Writes the whole store to `out` as an archive. Admins and the system only.
    pub async fn export_archive<W>(
        &self,
        p: &Principal,
        mut out: W,
        progress: ProgressFn<'_>,
    ) -> Result<ArchiveSummary>
    where
        W: AsyncWrite + Unpin + Send,
    {
        p.require_admin()?;
        let st = self.st();
        let mut summary = ArchiveSummary::default();
        let mut line = Vec::with_capacity(4096);
        let header = Record::Header(Header {
            format: FORMAT.into(),
            version: VERSION,
        });
        write_line(&mut out, &mut line, &header, &mut summary).await?;
        for kind in RecordKind::ALL {
            let mut after: Option<Record> = None;
            loop {
                let page = st
                    .export_records(kind, after.as_ref(), kind.page_size())
                    .await?;
                let done = page.len() < kind.page_size();
                for r in &page {
                    write_line(&mut out, &mut line, r, &mut summary).await?;
                    summary.records += 1;
                    progress(&summary);
                }
                match page.into_iter().last() {
                    Some(last) if !done => after = Some(last),
                    _ => break,
                }
            }
        }
        let end = Record::End(Trailer {
            records: summary.records,
        });
        write_line(&mut out, &mut line, &end, &mut summary).await?;
        out.flush().await.map_err(io_error)?;
        Ok(summary)
    }

    /// Reads an archive from `input` into this store, which must be empty: no events,
    /// articles or webhooks, and no users but the importing admin's own account (so that
    /// a server set up for the import can be called with a token; that account stays,
    /// and must not share its email with a user of the archive). Otherwise
    /// [`Error::Conflict`] and nothing is written. A malformed line is [`Error::Validation`] naming its line number; an
    /// archive without its end line was cut short and fails the same way, after the
    /// records before the cut were written.
    pub async fn import_archive<R>(
        &self,
        p: &Principal,
        input: R,
        progress: ProgressFn<'_>,
    ) -> Result<ArchiveSummary>
    where
        R: AsyncBufRead + Unpin + Send,
    {
        self.import_archive_with(p, input, ImportOptions::default(), progress)
            .await
    }

    /// [`Helpdesk::import_archive`] with options.
    pub async fn import_archive_with<R>(
        &self,
        p: &Principal,
        input: R,
        options: ImportOptions,
        progress: ProgressFn<'_>,
    ) -> Result<ArchiveSummary>
    where
        R: AsyncBufRead + Unpin + Send,
    {
        p.require_admin()?;
        let caller = self.require_empty_store(p).await?;
        let result = self.import_lines(input, caller, options, progress).await;
        self.wake();
        result
    }

    /// Checks the store is empty but for the caller's account; returns that account.
    async fn require_empty_store(&self, p: &Principal) -> Result<Option<User>> {
        let st = self.st();
        let caller = match st.count_users().await? {
            0 => None,
            1 => match st.get_user(p.user_id).await? {
                Some(u) => Some(u),
                None => return Err(not_empty()),
            },
            _ => return Err(not_empty()),
        };
        let empty = st.last_event_id().await?.is_none()
            && st.all_articles(false).await?.is_empty()
            && st.list_webhooks().await?.is_empty();
        if empty { Ok(caller) } else { Err(not_empty()) }
    }

    async fn import_lines<R>(
        &self,
        mut input: R,
        caller: Option<User>,
        options: ImportOptions,
        progress: ProgressFn<'_>,
    ) -> Result<ArchiveSummary>
    where
        R: AsyncBufRead + Unpin + Send,
    {
        let st = self.st();
        let mut summary = ArchiveSummary::default();
        let mut buf = Vec::with_capacity(64 * 1024);
        let mut batch: Vec<Record> = Vec::new();
        let mut batch_bytes = 0usize;
        let mut line_no: u64 = 0;
        let mut seen_header = false;
        let mut last: Option<(usize, ArchiveKey)> = None;
        loop {
            buf.clear();
            let n = (&mut input)
                .take(MAX_LINE + 1)
                .read_until(b'\n', &mut buf)
                .await
                .map_err(io_error)?;
            if n == 0 {
                st.import_records(&batch).await?;
                return Err(Error::invalid(
                    "archive",
                    format!(
                        "ends after line {line_no} without its end line: the export was cut short"
                    ),
                ));
            }
            line_no += 1;
            summary.bytes += n as u64;
            if n as u64 > MAX_LINE {
                return Err(Error::invalid(
                    format!("line {line_no}"),
                    format!("is longer than {MAX_LINE} bytes"),
                ));
            }
            let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let record = decode_record(text, line_no, options, &mut summary)?;
            match &record {
                Record::Header(h) => {
                    if seen_header {
                        return Err(Error::invalid(format!("line {line_no}"), "a second header"));
                    }
                    if h.format != FORMAT || h.version != VERSION {
                        return Err(Error::invalid(
                            "archive",
                            format!(
                                "is {} version {}; this build reads {FORMAT} version {VERSION}",
                                h.format, h.version
                            ),
                        ));
                    }
                    seen_header = true;
                    continue;
                }
                _ if !seen_header => {
                    return Err(Error::invalid(
                        "archive",
                        "does not start with a helpdesk-export header line",
                    ));
                }
                Record::End(t) => {
                    st.import_records(&batch).await?;
                    if t.records != summary.records {
                        return Err(Error::invalid(
                            "archive",
                            format!(
                                "announces {} records but holds {}",
                                t.records, summary.records
                            ),
                        ));
                    }
                    return Ok(summary);
                }
                _ => {}
            }
            // Records must come kind by kind in archive order, each kind sorted: that
            // is what makes references resolvable on every backend.
            let (kind, key) = (record.kind(), record.key());
            if let (Some(kind), Some(key)) = (kind, key) {
                let pos = RecordKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
                if let Some((lpos, lkey)) = &last
                    && (pos < *lpos || (pos == *lpos && key <= *lkey))
                {
                    return Err(Error::invalid(
                        format!("line {line_no}"),
                        format!("a {} record out of archive order", kind.as_str()),
                    ));
                }
                last = Some((pos, key));
            }
            if let (Some(me), Record::User(u)) = (&caller, &record)
                && (u.id == me.id || u.email == me.email)
            {
                return Err(Error::Conflict(format!(
                    "the archive has a user {} like the importing account: import as an \
                     admin whose email is not in the archive",
                    u.email
                )));
            }
            summary.records += 1;
            batch_bytes += record.weight();
            batch.push(record);
            if batch.len() >= IMPORT_BATCH || batch_bytes >= IMPORT_BATCH_BYTES {
                st.import_records(&batch).await?;
                batch.clear();
                batch_bytes = 0;
            }
            progress(&summary);
        }
    }
}

/// Decodes one archive line, applying the text rule to every string in it.
fn decode_record(
    line: &[u8],
    line_no: u64,
    options: ImportOptions,
    summary: &mut ArchiveSummary,
) -> Result<Record> {
    let malformed = |e: serde_json::Error| {
        Error::invalid(format!("line {line_no}"), format!("is not a record: {e}"))
    };
    if !escapes_refused_text(line) {
        return serde_json::from_slice(line).map_err(malformed);
    }
    let mut value: serde_json::Value = serde_json::from_slice(line).map_err(malformed)?;
    if options.replace_refused_text {
        summary.replaced_characters += replace_refused_text(&mut value);
    } else if let Some((path, c)) = first_refused_text(&value, String::new()) {
        return Err(Error::invalid(
            format!("line {line_no}"),
            format!(
                "{path} {}; the import can replace such characters with U+FFFD",
                crate::text::refusal(c)
            ),
        ));
    }
    serde_json::from_value(value).map_err(malformed)
}

/// Whether a line of JSON may hold a string with a character that text may not hold. In
/// JSON such a character can only be written as an escape (`\u0000`..`\u001f`, `\b`,
/// `\f`), so a scan of the escapes answers without decoding the line.
fn escapes_refused_text(json: &[u8]) -> bool {
    let mut rest = json;
    while let Some(at) = rest.iter().position(|b| *b == b'\\') {
        match rest.get(at + 1) {
            Some(b'b' | b'f') => return true,
            Some(b'u') => {
                let code = rest
                    .get(at + 2..at + 6)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .and_then(char::from_u32);
                if code.is_some_and(|c| !crate::text::is_allowed(c)) {
                    return true;
                }
            }
            Some(_) => {}
            None => return false,
        }
        rest = &rest[at + 2..];
    }
    false
}

/// The path (`data.message.content`) and character of the first string in `value` that
/// holds a character text may not hold.
fn first_refused_text(value: &serde_json::Value, path: String) -> Option<(String, char)> {
    use serde_json::Value;
    match value {
        Value::String(s) => crate::text::first_refused(s).map(|c| (path, c)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| first_refused_text(v, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let path = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            first_refused_text(v, path)
        }),
        _ => None,
    }
}

/// Replaces every character text may not hold with U+FFFD, in every string of `value`;
/// returns how many it replaced.
fn replace_refused_text(value: &mut serde_json::Value) -> u64 {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            let n = s.chars().filter(|c| !crate::text::is_allowed(*c)).count() as u64;
            if n > 0 {
                *s = s
                    .chars()
                    .map(|c| {
                        if crate::text::is_allowed(c) {
                            c
                        } else {
                            '\u{fffd}'
                        }
                    })
                    .collect();
            }
            n
        }
        Value::Array(items) => items.iter_mut().map(replace_refused_text).sum(),
        Value::Object(map) => map.values_mut().map(replace_refused_text).sum(),
        _ => 0,
    }
}

fn not_empty() -> Error {
    Error::Conflict("the store is not empty: import only into a new, empty store".into())
}

async fn write_line<W: AsyncWrite + Unpin + Send>(
    out: &mut W,
    line: &mut Vec<u8>,
    record: &Record,
    summary: &mut ArchiveSummary,
) -> Result<()> {
    line.clear();
    serde_json::to_writer(&mut *line, record)
        .map_err(|e| Error::Internal(format!("cannot encode a record: {e}")))?;
    line.push(b'\n');
    out.write_all(line).await.map_err(io_error)?;
    summary.bytes += line.len() as u64;
    Ok(())
}

mod base64_bytes {
    use super::{Engine, STANDARD};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD
            .decode(s.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

/// Sorts records of one kind into archive order and keeps those after `after`, at most
/// `limit`: the reference paging of [`crate::store::ArchiveStore::export_records`], for backends that
/// hold everything in memory.
pub fn page_of(mut records: Vec<Record>, after: Option<&Record>, limit: usize) -> Vec<Record> {
    records.sort_by_cached_key(Record::key);
    let after = after.and_then(Record::key);
    records
        .into_iter()
        .filter(|r| after.is_none() || r.key() > after)
        .take(limit)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_text_is_found_by_its_escapes() {
        let refused = [
            r#"{"a":"x\u0000"}"#,
            r#"{"a":"\b"}"#,
            r#"{"a":"\f"}"#,
            r#"["\u001F"]"#,
        ];
        for json in refused {
            assert!(escapes_refused_text(json.as_bytes()), "{json}");
        }
        let allowed = [
            r#"{"a":"tab\tnew\nret\r"}"#,
            r#"{"a":"\\u0000 is text"}"#,
            r#"{"a":"\\b\\f"}"#,
            r#"{"a":"\u0020\u007f\u2028"}"#,
            r#"{"a":"ends with \\"}"#,
        ];
        for json in allowed {
            assert!(!escapes_refused_text(json.as_bytes()), "{json}");
        }
        let v: serde_json::Value =
            serde_json::from_str(r#"{"record":{"tags":["ok","b\u0001d"]}}"#).unwrap();
        assert_eq!(
            first_refused_text(&v, String::new()),
            Some(("record.tags[1]".to_string(), '\u{1}'))
        );
    }
}
