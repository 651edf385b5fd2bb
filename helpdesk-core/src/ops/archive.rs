//! Export and import of whole-store archives (`helpdesk export` / `import`): streamed,
//! in archive order, one batch of records at a time.

use crate::Helpdesk;
use crate::archive::*;
use crate::error::{Error, Result};
use crate::principal::Principal;
use crate::user::User;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

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

fn not_empty() -> Error {
    Error::Conflict("the store is not empty: import only into a new, empty store".into())
}

fn io_error(e: std::io::Error) -> Error {
    Error::Internal(format!("archive I/O failed: {e}"))
}

/// Decodes one archive line, applying the text rule to every string in it.
/// Tickets of an archive older than [`VERSION`] (`legacy`) are brought up to date.
fn decode_record(
    line: &[u8],
    line_no: u64,
    options: ImportOptions,
    legacy: bool,
    summary: &mut ArchiveSummary,
) -> Result<Record> {
    let malformed = |e: serde_json::Error| {
        Error::invalid(format!("line {line_no}"), format!("is not a record: {e}"))
    };
    if !legacy && !escapes_refused_text(line) {
        return serde_json::from_slice(line).map_err(malformed);
    }
    let mut value: serde_json::Value = serde_json::from_slice(line).map_err(malformed)?;
    if legacy && value["type"] == "ticket" {
        crate::ticket::upgrade_record(&mut value["record"]);
    }
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

/// How many records, or bytes of blob data, an import writes in one store call.
const IMPORT_BATCH: usize = 500;

const IMPORT_BATCH_BYTES: usize = 4 * 1024 * 1024;

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
        self.require_admin(p).await?;
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

    /// Reads an archive from `input` into this store (version 2, or version 1 from before
    /// groups: see [`VERSION_1`]), which must be empty: no events, articles, webhooks
    /// or canned replies, and no users but the importing admin's own account (so that
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
        self.require_admin(p).await?;
        let caller = self.require_empty_store(p).await?;
        let imported = self.import_lines(input, caller, options, progress).await;
        self.forget_access();
        // The imported articles show in this instance's searches at once.
        self.inner.searches.forget();
        imported
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
            && st.list_webhooks().await?.is_empty()
            && st
                .export_records(RecordKind::CannedReply, None, 1)
                .await?
                .is_empty();
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
        // A version-1 archive has no groups: its tickets and staff go to this store's
        // default group.
        let mut v1_default: Option<uuid::Uuid> = None;
        let mut legacy = false;
        let mut last: Option<(usize, ArchiveKey)> = None;
        loop {
            buf.clear();
            let n = (&mut input)
                .take(MAX_LINE + 1)
                .read_until(b'\n', &mut buf)
                .await
                .map_err(io_error)?;
            if n == 0 {
                self.written(st.import_records(&batch)).await?;
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
            let record = decode_record(text, line_no, options, legacy, &mut summary)?;
            match &record {
                Record::Header(h) => {
                    if seen_header {
                        return Err(Error::invalid(format!("line {line_no}"), "a second header"));
                    }
                    if h.format != FORMAT || !(VERSION_1..=VERSION).contains(&h.version) {
                        return Err(Error::invalid(
                            "archive",
                            format!(
                                "is {} version {}; this build reads {FORMAT} version {VERSION}",
                                h.format, h.version
                            ),
                        ));
                    }
                    seen_header = true;
                    if h.version == VERSION_1 {
                        v1_default = Some(st.default_group().await?.id);
                    }
                    legacy = h.version < VERSION;
                    continue;
                }
                _ if !seen_header => {
                    return Err(Error::invalid(
                        "archive",
                        "does not start with a helpdesk-export header line",
                    ));
                }
                Record::End(t) => {
                    self.written(st.import_records(&batch)).await?;
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
            let joined = match (v1_default, &record) {
                (Some(g), Record::User(u)) if u.role.is_staff() => Some(Record::Membership(
                    crate::group::staff_membership(g, u.id, u.created_at),
                )),
                _ => None,
            };
            let record = match (v1_default, record) {
                (Some(g), Record::Ticket(mut t)) if t.group_id.is_nil() => {
                    t.group_id = g;
                    Record::Ticket(t)
                }
                (_, r) => r,
            };
            batch.push(record);
            batch.extend(joined);
            if batch.len() >= IMPORT_BATCH || batch_bytes >= IMPORT_BATCH_BYTES {
                self.written(st.import_records(&batch)).await?;
                batch.clear();
                batch_bytes = 0;
            }
            progress(&summary);
        }
    }
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
