//! [`ArchiveStore`]: each kind is read a page at a time in archive order with a row
//! comparison on its key columns (an index range scan), names in byte order
//! (`COLLATE "C"`); an import batch is one transaction of plain inserts, with the
//! search document of articles computed as a normal insert computes it.
//!
//! The one counter, [`TICKET_NUMBER`], is the `ticket_numbers` sequence (read through
//! the `counters` view). Importing it sets the sequence, which no transaction undoes:
//! after a failed import into the (necessarily empty) store, numbers start above it.
//!
//! Event ids are kept as they are. New events then get ids from this server's
//! transaction ids (see the crate docs), which are above any id a sled or memory store
//! gives; an archive from another PostgreSQL server whose transaction ids ran further
//! ahead than this one's would put new ids below the imported ones.

use async_trait::async_trait;
use helpdesk_core::StoreError;
use helpdesk_core::archive::{
    ArchiveKey, ArchivedInbound, ArchivedOutbound, BlobChunk, Counter, Record, RecordKind, Setting,
    TICKET_NUMBER,
};
use helpdesk_core::event::Effects;
use helpdesk_core::store::{ArchiveStore, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, Row};
use uuid::Uuid;

use crate::PostgresStore;
use crate::error::SqlxResultExt;
use crate::rows::{
    ApiKeyRow, ArticleRow, AttachmentRow, CalendarRow, CannedReplyRow, ConversationRow,
    DeliveryRow, EventRow, FieldRow, GroupRow, MacroRow, MembershipRow, MessageRow,
    NotificationRow, OrganizationRow, ParticipantRow, RuleRow, SessionRow, StatusRow,
    TicketEventRow, TicketRow, UserRow, ViewRow, WebhookRow, corrupt, decode, i, micros,
};
use crate::sla::PolicyRow;

/// Where a kind lives: table, selected columns, key columns, decoder.
struct Source {
    table: &'static str,
    cols: &'static str,
    key: &'static [&'static str],
    decode: fn(&PgRow) -> StoreResult<Record>,
}

#[derive(FromRow)]
struct SettingRow {
    key: String,
    value: String,
}

impl TryFrom<SettingRow> for Setting {
    type Error = StoreError;
    fn try_from(r: SettingRow) -> StoreResult<Setting> {
        Ok(Setting {
            key: r.key,
            value: r.value,
        })
    }
}

#[derive(FromRow)]
struct CounterRow {
    name: String,
    value: i64,
}

impl TryFrom<CounterRow> for Counter {
    type Error = StoreError;
    fn try_from(r: CounterRow) -> StoreResult<Counter> {
        Ok(Counter {
            name: r.name,
            value: r.value,
        })
    }
}

#[derive(FromRow)]
struct BlobChunkRow {
    blob_id: Uuid,
    idx: i32,
    data: Vec<u8>,
}

impl TryFrom<BlobChunkRow> for BlobChunk {
    type Error = StoreError;
    fn try_from(r: BlobChunkRow) -> StoreResult<BlobChunk> {
        Ok(BlobChunk {
            blob_id: r.blob_id,
            index: u32::try_from(r.idx).map_err(|_| corrupt("negative chunk index"))?,
            data: r.data,
        })
    }
}

/// Sets a counter from an archive: the next ticket number is `value + 1`.
async fn set_counter(conn: &mut PgConnection, c: &Counter) -> StoreResult<()> {
    if c.name != TICKET_NUMBER {
        return Err(StoreError::Corrupt(format!("unknown counter `{}`", c.name)));
    }
    if c.value < 0 {
        return Err(StoreError::Corrupt(format!(
            "negative counter `{}`: {}",
            c.name, c.value
        )));
    }
    // A sequence cannot hold 0: "nothing given yet" is 1, not yet called.
    sqlx::query("SELECT setval('ticket_numbers', greatest($1, 1), $1 > 0)")
        .bind(c.value)
        .execute(&mut *conn)
        .await
        .store()?;
    Ok(())
}

fn source(kind: RecordKind) -> Source {
    /// A kind read through its row struct: `src!(table, Row, [key columns], Variant)`.
    macro_rules! src {
        ($table:literal, $row:ident, [$($k:literal),*], $variant:ident) => {
            Source {
                table: $table,
                cols: $row::COLS,
                key: &[$($k),*],
                decode: |r| decode::<$row, _>(r).map(Record::$variant),
            }
        };
    }
    match kind {
        RecordKind::Setting => Source {
            table: "settings",
            cols: "key, value",
            key: &["key COLLATE \"C\""],
            decode: |r| decode::<SettingRow, _>(r).map(Record::Setting),
        },
        RecordKind::Counter => Source {
            table: "counters",
            cols: "name, value",
            key: &["name COLLATE \"C\""],
            decode: |r| decode::<CounterRow, _>(r).map(Record::Counter),
        },
        RecordKind::BlobChunk => Source {
            table: "blob_chunks",
            cols: "blob_id, idx, data",
            key: &["blob_id", "idx"],
            decode: |r| decode::<BlobChunkRow, _>(r).map(Record::BlobChunk),
        },
        RecordKind::Group => src!("groups", GroupRow, ["id"], Group),
        RecordKind::Organization => {
            src!("organizations", OrganizationRow, ["id"], Organization)
        }
        RecordKind::User => src!("users", UserRow, ["id"], User),
        RecordKind::Membership => src!(
            "group_members",
            MembershipRow,
            ["group_id", "user_id"],
            Membership
        ),
        RecordKind::Session => src!("sessions", SessionRow, ["id"], Session),
        RecordKind::ApiKey => src!("api_keys", ApiKeyRow, ["id"], ApiKey),
        RecordKind::View => {
            src!("views", ViewRow, ["id"], View)
        }
        RecordKind::Status => {
            src!("ticket_statuses", StatusRow, ["id"], Status)
        }
        RecordKind::CustomField => {
            src!("ticket_fields", FieldRow, ["id"], CustomField)
        }
        RecordKind::Macro => src!("macros", MacroRow, ["id"], Macro),
        RecordKind::Calendar => src!("calendars", CalendarRow, ["id"], Calendar),
        RecordKind::SlaPolicy => src!("sla_policies", PolicyRow, ["id"], SlaPolicy),
        RecordKind::Rule => src!("rules", RuleRow, ["id"], Rule),
        RecordKind::Mailbox => Source {
            table: "mailboxes",
            cols: crate::mailboxes::MailboxRow::COLS,
            key: &["id"],
            decode: |r| decode::<crate::mailboxes::MailboxRow, _>(r).map(Record::Mailbox),
        },
        RecordKind::CannedReply => {
            src!("canned_replies", CannedReplyRow, ["id"], CannedReply)
        }
        RecordKind::Conversation => src!("conversations", ConversationRow, ["id"], Conversation),
        RecordKind::Participant => src!(
            "participants",
            ParticipantRow,
            ["conversation_id", "user_id"],
            Participant
        ),
        RecordKind::Ticket => src!("tickets", TicketRow, ["id"], Ticket),
        RecordKind::TicketEvent => src!(
            "ticket_events",
            TicketEventRow,
            ["ticket_id", "at", "id"],
            TicketEvent
        ),
        RecordKind::Survey => Source {
            table: "surveys",
            cols: crate::csat::SurveyRow::COLS,
            key: &["id"],
            decode: |r| decode::<crate::csat::SurveyRow, _>(r).map(Record::Survey),
        },
        RecordKind::Message => src!("messages", MessageRow, ["conversation_id", "seq"], Message),
        RecordKind::Notification => src!("notifications", NotificationRow, ["id"], Notification),
        // The bytes are joined in here only: no other read of these tables takes them.
        RecordKind::InboundMail => Source {
            table: "inbound_mail JOIN inbound_raw USING (id)",
            cols: crate::mail_rows::InboundRow::ARCHIVE_COLS,
            key: &["id"],
            decode: |r| {
                Ok(Record::InboundMail(ArchivedInbound {
                    record: decode::<crate::mail_rows::InboundRow, _>(r)?,
                    raw: r.try_get("raw").store()?,
                }))
            },
        },
        RecordKind::OutboundMail => Source {
            table: "outbound_mail JOIN outbound_raw USING (id)",
            cols: crate::mail_rows::OutboundRow::ARCHIVE_COLS,
            key: &["id"],
            decode: |r| {
                Ok(Record::OutboundMail(ArchivedOutbound {
                    mail: decode::<crate::mail_rows::OutboundRow, _>(r)?,
                    raw: r.try_get("raw").store()?,
                }))
            },
        },
        RecordKind::Suppression => Source {
            table: "suppressions",
            cols: crate::mail_rows::SuppressionRow::COLS,
            // `address` is `COLLATE "C"`: byte order.
            key: &["address"],
            decode: |r| decode::<crate::mail_rows::SuppressionRow, _>(r).map(Record::Suppression),
        },
        RecordKind::Article => src!("articles", ArticleRow, ["id"], Article),
        RecordKind::Attachment => src!("attachments", AttachmentRow, ["id"], Attachment),
        RecordKind::Event => src!("events", EventRow, ["id"], Event),
        RecordKind::Webhook => src!("webhooks", WebhookRow, ["id"], Webhook),
        RecordKind::Delivery => src!("deliveries", DeliveryRow, ["id"], Delivery),
    }
}

#[async_trait]
impl ArchiveStore for PostgresStore {
    async fn export_records(
        &self,
        kind: RecordKind,
        after: Option<&Record>,
        limit: usize,
    ) -> StoreResult<Vec<Record>> {
        let src = source(kind);
        let key = after.and_then(Record::key);
        let order = src.key.join(", ");
        let mut sql = format!("SELECT {} FROM {}", src.cols, src.table);
        let arity = src.key.len();
        if key.is_some() {
            let params: Vec<String> = (1..=arity).map(|n| format!("${n}")).collect();
            sql.push_str(&format!(" WHERE ({order}) > ({})", params.join(", ")));
        }
        let bound = if key.is_some() { arity } else { 0 };
        sql.push_str(&format!(" ORDER BY {order} LIMIT ${}", bound + 1));
        let mut q = sqlx::query(&sql);
        q = match key {
            None => q,
            Some(ArchiveKey::Name(s)) => q.bind(s),
            Some(ArchiveKey::Id(id)) => q.bind(id),
            Some(ArchiveKey::Pair(a, b)) => q.bind(a).bind(b),
            Some(ArchiveKey::Seq(c, s)) => q.bind(c).bind(i(s)),
            Some(ArchiveKey::Timeline(t, at, id)) => q.bind(t).bind(micros(at)).bind(id),
            Some(ArchiveKey::Chunk(b, idx)) => {
                q.bind(b).bind(i32::try_from(idx).unwrap_or(i32::MAX))
            }
            Some(ArchiveKey::Event(n)) => q.bind(i(n)),
        };
        let found = q
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(self.pool_ref())
            .await
            .store()?;
        found.iter().map(src.decode).collect()
    }

    async fn import_records(&self, records: &[Record]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let mut wrote_events = false;
        let mut rest = records;
        while let Some(first) = rest.first() {
            // Runs of the bulky kinds go in one statement each.
            let run = rest
                .iter()
                .take(1000)
                .take_while(|r| std::mem::discriminant(*r) == std::mem::discriminant(first))
                .count();
            let (head, tail) = rest.split_at(run);
            rest = tail;
            let conn = &mut *tx;
            match first {
                Record::Message(_) => {
                    let ms: Vec<_> = head
                        .iter()
                        .filter_map(|r| match r {
                            Record::Message(m) => Some(m),
                            _ => None,
                        })
                        .collect();
                    crate::conversations::insert_messages(conn, &ms).await?;
                    continue;
                }
                Record::Event(_) => {
                    let es: Vec<_> = head
                        .iter()
                        .filter_map(|r| match r {
                            Record::Event(e) => Some(e),
                            _ => None,
                        })
                        .collect();
                    crate::effects::insert_events(conn, &es).await?;
                    wrote_events = true;
                    continue;
                }
                Record::Delivery(_) => {
                    let ds: Vec<_> = head
                        .iter()
                        .filter_map(|r| match r {
                            Record::Delivery(d) => Some(d),
                            _ => None,
                        })
                        .collect();
                    crate::effects::insert_deliveries(conn, &ds).await?;
                    continue;
                }
                _ => {}
            }
            for r in head {
                let conn = &mut *tx;
                match r {
                    Record::Header(_) | Record::End(_) => {}
                    Record::Setting(s) => {
                        sqlx::query(
                            "INSERT INTO settings (key, value) VALUES ($1, $2) \
                         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                        )
                        .bind(&s.key)
                        .bind(&s.value)
                        .execute(&mut *conn)
                        .await
                        .store()?;
                    }
                    Record::Counter(c) => set_counter(conn, c).await?,
                    Record::Group(g) => crate::groups::import_group(conn, g).await?,
                    Record::Organization(o) => {
                        crate::organizations::insert_organization_rows(conn, o).await?
                    }
                    Record::User(u) => crate::users::insert_user_row(conn, u).await?,
                    Record::Membership(m) => crate::groups::import_membership(conn, m).await?,
                    Record::Session(s) => crate::users::insert_session_row(conn, s).await?,
                    Record::ApiKey(k) => crate::apikeys::insert_api_key_row(conn, k).await?,
                    Record::View(v) => crate::views::insert_view_row(conn, v).await?,
                    Record::Status(s) => crate::schema::import_status(conn, s).await?,
                    Record::CustomField(f) => crate::schema::insert_field_row(conn, f).await?,
                    Record::Macro(m) => crate::macros::insert_macro_row(conn, m).await?,
                    Record::Calendar(c) => crate::calendars::insert_calendar_row(conn, c).await?,
                    Record::SlaPolicy(p) => crate::sla::insert_policy_row(conn, p).await?,
                    Record::Rule(r) => crate::rules::insert_rule_row(conn, r).await?,
                    Record::Mailbox(m) => crate::mailboxes::insert_mailbox_row(conn, m).await?,
                    Record::CannedReply(r) => {
                        crate::canned_replies::insert_canned_reply_row(conn, r).await?
                    }
                    Record::Conversation(c) => {
                        let mut w = crate::effects::Writes::new();
                        crate::conversations::push_conversation_rows(&mut w, c)?;
                        w.run(conn, &Effects::none()).await?;
                    }
                    Record::Participant(p) => {
                        crate::conversations::upsert_participant(conn, p).await?
                    }
                    Record::Ticket(t) => {
                        crate::ticket_record::insert_ticket(conn, t, Some(t.number)).await?;
                    }
                    Record::TicketEvent(e) => crate::effects::insert_ticket_event(conn, e).await?,
                    Record::Survey(s) => crate::csat::insert_survey_row(conn, s).await?,
                    Record::Message(m) => crate::conversations::insert_message(conn, m).await?,
                    Record::Notification(n) => crate::effects::insert_notification(conn, n).await?,
                    Record::InboundMail(m) => crate::email::import_inbound(conn, m).await?,
                    Record::OutboundMail(m) => crate::email::import_outbound(conn, m).await?,
                    Record::Suppression(x) => crate::email::import_suppression(conn, x).await?,
                    Record::Article(a) => {
                        crate::kb::write_article(conn, a, true).await?;
                    }
                    Record::BlobChunk(b) => {
                        crate::attachments::put_chunk(conn, b.blob_id, b.index, &b.data).await?
                    }
                    Record::Attachment(a) => {
                        crate::attachments::insert_attachment_row(conn, a).await?
                    }
                    Record::Event(e) => {
                        crate::effects::insert_event(conn, e).await?;
                        wrote_events = true;
                    }
                    Record::Webhook(w) => crate::webhooks::insert_webhook_row(conn, w).await?,
                    Record::Delivery(d) => crate::effects::insert_delivery(conn, d).await?,
                }
            }
        }
        self.commit(tx, wrote_events).await
    }
}
