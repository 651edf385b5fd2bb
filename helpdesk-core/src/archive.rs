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
//! Memory stays bounded on both sides: [`Helpdesk::export_archive`](crate::Helpdesk::export_archive) reads the store a
//! page at a time through [`crate::store::ArchiveStore::export_records`], and
//! [`Helpdesk::import_archive`](crate::Helpdesk::import_archive) writes batches through
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

use uuid::Uuid;

use crate::apikey::ApiKey;
use crate::attachment::Attachment;
use crate::auth::Session;
use crate::calendar::Calendar;
use crate::canned_reply::CannedReply;
use crate::conversation::Conversation;
use crate::csat::Survey;
use crate::custom_field::CustomField;
use crate::email::{InboundRecord, OutboundMail, Suppression};
use crate::event::Event;
use crate::group::{Group, Membership};
use crate::kb::Article;
use crate::macros::Macro;
use crate::mailbox::Mailbox;
use crate::message::Message;
use crate::notification::Notification;
use crate::organization::Organization;
use crate::receipt::Participant;
use crate::rule::Rule;
use crate::sla_policy::SlaPolicy;
use crate::status::Status;
use crate::ticket::{Ticket, TicketEvent};
use crate::user::User;
use crate::view::View;
use crate::webhook::{Delivery, Webhook};

/// The `format` of an archive header.
pub const FORMAT: &str = "helpdesk-export";
/// The archive version this build writes. It reads this one, [`VERSION_2`] and
/// [`VERSION_1`].
pub const VERSION: u32 = 3;
/// The archive version before statuses were data: its tickets' statuses are the
/// categories' default statuses ([`crate::ticket::upgrade_record`]).
pub const VERSION_2: u32 = 2;
/// The archive version before groups: its tickets go to the importing store's default
/// group, and its agents and admins become `full` members of it (joined at their
/// `created_at`), as a store migrated to groups has them.
pub const VERSION_1: u32 = 1;
/// The longest line an import accepts (a blob chunk is about 350 KiB of base64; a mail
/// record holds a whole mail, up to the default `--mail-max-size` of 40 MiB, as base64).
pub const MAX_LINE: u64 = 64 * 1024 * 1024;
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
    /// [`Group`], by id.
    Group,
    /// [`Status`], by id (the defaults replace the importing store's).
    Status,
    /// [`CustomField`], by id.
    CustomField,
    /// [`Organization`], by id (before the users that belong to one).
    Organization,
    /// [`User`], by id.
    User,
    /// [`Membership`], by (group, user).
    Membership,
    /// [`Session`], by id.
    Session,
    /// [`ApiKey`] (its token's hash, never the token), by id.
    ApiKey,
    /// [`CannedReply`], by id (after the users and groups it names).
    CannedReply,
    /// [`View`], by id (after the users and groups it names).
    View,
    /// [`Macro`], by id.
    Macro,
    /// [`Calendar`], by id (before what names it).
    Calendar,
    /// [`SlaPolicy`], by id.
    SlaPolicy,
    /// [`Rule`] (trigger or automation), by id. Their run logs and the automations'
    /// edge state are not archived: an import starts them empty.
    Rule,
    /// [`Mailbox`] (its secrets included: an archive is a backup), by id (after the
    /// groups and canned replies it names).
    Mailbox,
    /// [`Conversation`] with its members, by id.
    Conversation,
    /// [`Participant`] (read and delivery state), by (conversation, user).
    Participant,
    /// [`Ticket`], by id.
    Ticket,
    /// [`TicketEvent`] (timeline entry), by (ticket, at, id).
    TicketEvent,
    /// [`Survey`] (a CSAT survey, its token's hash, never the token), by id.
    Survey,
    /// [`Message`], by (conversation, seq).
    Message,
    /// [`Notification`], by id.
    Notification,
    /// [`ArchivedInbound`] (an inbound record with the bytes received), by id.
    InboundMail,
    /// [`ArchivedOutbound`] (an outbound mail with its bytes), by id.
    OutboundMail,
    /// [`Suppression`], by address (byte order).
    Suppression,
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
    pub const ALL: [RecordKind; 33] = [
        RecordKind::Setting,
        RecordKind::Counter,
        RecordKind::Group,
        RecordKind::Status,
        RecordKind::CustomField,
        RecordKind::Organization,
        RecordKind::User,
        RecordKind::Membership,
        RecordKind::Session,
        RecordKind::ApiKey,
        RecordKind::CannedReply,
        RecordKind::View,
        RecordKind::Macro,
        RecordKind::Calendar,
        RecordKind::SlaPolicy,
        RecordKind::Rule,
        RecordKind::Mailbox,
        RecordKind::Conversation,
        RecordKind::Participant,
        RecordKind::Ticket,
        RecordKind::TicketEvent,
        RecordKind::Survey,
        RecordKind::Message,
        RecordKind::Notification,
        RecordKind::InboundMail,
        RecordKind::OutboundMail,
        RecordKind::Suppression,
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
            // Each holds a whole mail (up to `--mail-max-size`).
            RecordKind::InboundMail | RecordKind::OutboundMail => 4,
            _ => 500,
        }
    }

    /// The kind's name in an archive line (`type`).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Setting => "setting",
            RecordKind::Counter => "counter",
            RecordKind::Group => "group",
            RecordKind::Organization => "organization",
            RecordKind::User => "user",
            RecordKind::Membership => "membership",
            RecordKind::Session => "session",
            RecordKind::ApiKey => "api_key",
            RecordKind::CannedReply => "canned_reply",
            RecordKind::View => "view",
            RecordKind::Status => "status",
            RecordKind::CustomField => "custom_field",
            RecordKind::Macro => "macro",
            RecordKind::Calendar => "calendar",
            RecordKind::SlaPolicy => "sla_policy",
            RecordKind::Rule => "rule",
            RecordKind::Mailbox => "mailbox",
            RecordKind::Conversation => "conversation",
            RecordKind::Participant => "participant",
            RecordKind::Ticket => "ticket",
            RecordKind::TicketEvent => "ticket_event",
            RecordKind::Survey => "survey",
            RecordKind::Message => "message",
            RecordKind::Notification => "notification",
            RecordKind::InboundMail => "inbound_mail",
            RecordKind::OutboundMail => "outbound_mail",
            RecordKind::Suppression => "email_suppression",
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

/// An inbound record with the bytes received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchivedInbound {
    /// The record.
    pub record: InboundRecord,
    /// The mail as received, base64 in the archive.
    #[serde(with = "base64_bytes")]
    pub raw: Vec<u8>,
}

/// An outbound mail with its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchivedOutbound {
    /// The record.
    pub mail: OutboundMail,
    /// The mail as it is sent, base64 in the archive.
    #[serde(with = "base64_bytes")]
    pub raw: Vec<u8>,
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
// Records pass one at a time (or in small batches) through export and import: the size
// of the largest (a ticket) costs nothing that boxing it would save.
#[allow(clippy::large_enum_variant)]
pub enum Record {
    Header(Header),
    Setting(Setting),
    Counter(Counter),
    Group(Group),
    Organization(Organization),
    User(User),
    Membership(Membership),
    Session(Session),
    ApiKey(ApiKey),
    CannedReply(CannedReply),
    View(View),
    Status(Status),
    CustomField(CustomField),
    Macro(Macro),
    Calendar(Calendar),
    SlaPolicy(SlaPolicy),
    Rule(Rule),
    Mailbox(Mailbox),
    Conversation(Conversation),
    Participant(Participant),
    Ticket(Ticket),
    TicketEvent(TicketEvent),
    Survey(Survey),
    Message(Message),
    Notification(Notification),
    InboundMail(ArchivedInbound),
    OutboundMail(ArchivedOutbound),
    #[serde(rename = "email_suppression")]
    Suppression(Suppression),
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
    /// Participants: (conversation, user); memberships: (group, user).
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
            Record::Group(_) => RecordKind::Group,
            Record::Organization(_) => RecordKind::Organization,
            Record::User(_) => RecordKind::User,
            Record::Membership(_) => RecordKind::Membership,
            Record::Session(_) => RecordKind::Session,
            Record::ApiKey(_) => RecordKind::ApiKey,
            Record::CannedReply(_) => RecordKind::CannedReply,
            Record::View(_) => RecordKind::View,
            Record::Status(_) => RecordKind::Status,
            Record::CustomField(_) => RecordKind::CustomField,
            Record::Macro(_) => RecordKind::Macro,
            Record::Calendar(_) => RecordKind::Calendar,
            Record::SlaPolicy(_) => RecordKind::SlaPolicy,
            Record::Rule(_) => RecordKind::Rule,
            Record::Mailbox(_) => RecordKind::Mailbox,
            Record::Conversation(_) => RecordKind::Conversation,
            Record::Participant(_) => RecordKind::Participant,
            Record::Ticket(_) => RecordKind::Ticket,
            Record::TicketEvent(_) => RecordKind::TicketEvent,
            Record::Survey(_) => RecordKind::Survey,
            Record::Message(_) => RecordKind::Message,
            Record::Notification(_) => RecordKind::Notification,
            Record::InboundMail(_) => RecordKind::InboundMail,
            Record::OutboundMail(_) => RecordKind::OutboundMail,
            Record::Suppression(_) => RecordKind::Suppression,
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
            Record::Group(g) => ArchiveKey::Id(g.id),
            Record::Organization(o) => ArchiveKey::Id(o.id),
            Record::User(u) => ArchiveKey::Id(u.id),
            Record::Membership(m) => ArchiveKey::Pair(m.group_id, m.user_id),
            Record::Session(s) => ArchiveKey::Id(s.id),
            Record::ApiKey(k) => ArchiveKey::Id(k.id),
            Record::CannedReply(r) => ArchiveKey::Id(r.id),
            Record::View(v) => ArchiveKey::Id(v.id),
            Record::Status(s) => ArchiveKey::Id(s.id),
            Record::CustomField(f) => ArchiveKey::Id(f.id),
            Record::Macro(m) => ArchiveKey::Id(m.id),
            Record::Calendar(c) => ArchiveKey::Id(c.id),
            Record::SlaPolicy(p) => ArchiveKey::Id(p.id),
            Record::Rule(r) => ArchiveKey::Id(r.id),
            Record::Mailbox(m) => ArchiveKey::Id(m.id),
            Record::Conversation(c) => ArchiveKey::Id(c.id),
            Record::Participant(p) => ArchiveKey::Pair(p.conversation_id, p.user_id),
            Record::Ticket(t) => ArchiveKey::Id(t.id),
            Record::TicketEvent(e) => {
                ArchiveKey::Timeline(e.ticket_id, e.at.timestamp_micros(), e.id)
            }
            Record::Survey(s) => ArchiveKey::Id(s.id),
            Record::Message(m) => ArchiveKey::Seq(m.conversation_id, m.seq),
            Record::Notification(n) => ArchiveKey::Id(n.id),
            Record::InboundMail(m) => ArchiveKey::Id(m.record.id),
            Record::OutboundMail(m) => ArchiveKey::Id(m.mail.id),
            Record::Suppression(x) => ArchiveKey::Name(x.address.clone()),
            Record::Article(a) => ArchiveKey::Id(a.id),
            Record::BlobChunk(b) => ArchiveKey::Chunk(b.blob_id, b.index),
            Record::Attachment(a) => ArchiveKey::Id(a.id),
            Record::Event(e) => ArchiveKey::Event(e.id.0),
            Record::Webhook(w) => ArchiveKey::Id(w.id),
            Record::Delivery(d) => ArchiveKey::Id(d.id),
        })
    }

    /// The bytes a record holds beyond its metadata (blob chunks), for batching.
    pub(crate) fn weight(&self) -> usize {
        match self {
            Record::BlobChunk(b) => b.data.len(),
            Record::InboundMail(m) => 512 + m.raw.len(),
            Record::OutboundMail(m) => 512 + m.raw.len(),
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
