//! The rows of the email channel's tables (`0025_email.sql`) and the helpers their
//! columns need: what [`crate::effects`] writes and [`crate::email`] reads.

use chrono::{DateTime, Utc};
use helpdesk_core::StoreError;
use helpdesk_core::email::{
    InboundRecord, InboundResult, OutboundMail, OutboundStatus, Suppression,
};
use helpdesk_core::store::StoreResult;
use serde_json::Value;
use sqlx::FromRow;
use uuid::Uuid;

use crate::rows::{corrupt, to_json, u};

/// The serde name of a unit variant (`"smtp"`, `"auto_reply"`), for a text column.
pub(crate) fn name<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    match to_json(v)? {
        Value::String(s) => Ok(s),
        other => Err(StoreError::other(format!("not a name: {other}"))),
    }
}

/// A Message-ID as the index compares it.
pub(crate) fn message_key(id: &str) -> String {
    id.to_ascii_lowercase()
}

/// A text column holding a serde name, as its enum.
pub(crate) fn named<T: serde::de::DeserializeOwned>(s: String, what: &str) -> StoreResult<T> {
    serde_json::from_value(Value::String(s)).map_err(|e| corrupt(format!("bad {what}: {e}")))
}

/// A stored integer as a u16 (an SMTP code).
pub(crate) fn code(v: i32, what: &str) -> StoreResult<u16> {
    u16::try_from(v).map_err(|_| corrupt(format!("bad {what} {v}")))
}

#[derive(FromRow)]
pub(crate) struct InboundRow {
    id: Uuid,
    mailbox_id: Uuid,
    internet_message_id: Option<String>,
    dedupe_key: String,
    from_address: Option<String>,
    to_addresses: Vec<String>,
    cc_addresses: Vec<String>,
    subject: String,
    size: i64,
    via: String,
    auto: bool,
    result: String,
    reason: Option<String>,
    ticket_id: Option<Uuid>,
    message_id: Option<Uuid>,
    left_out: Vec<String>,
    refs: Vec<String>,
    received_at: DateTime<Utc>,
}

/// The columns of an inbound record (a macro, so that the archive's list can add the
/// bytes' column).
macro_rules! inbound_cols {
    () => {
        "id, mailbox_id, internet_message_id, dedupe_key, from_address, to_addresses, \
         cc_addresses, subject, size, via, auto, result, reason, ticket_id, message_id, \
         left_out, refs, received_at"
    };
}

/// The columns of an outbound mail (see [`inbound_cols`]).
macro_rules! outbound_cols {
    () => {
        "id, mailbox_id, kind, ticket_id, message_id, notification_id, to_addresses, \
         cc_addresses, subject, internet_message_id, refs, status, attempts, last_smtp_code, \
         last_error, rejected, next_attempt_at, sent_at, created_at"
    };
}

impl InboundRow {
    pub(crate) const COLS: &str = inbound_cols!();
    /// With the bytes, from `inbound_mail JOIN inbound_raw USING (id)`.
    pub(crate) const ARCHIVE_COLS: &str = concat!(inbound_cols!(), ", raw");
}

impl TryFrom<InboundRow> for InboundRecord {
    type Error = StoreError;
    fn try_from(r: InboundRow) -> StoreResult<InboundRecord> {
        Ok(InboundRecord {
            id: r.id,
            mailbox_id: r.mailbox_id,
            internet_message_id: r.internet_message_id,
            dedupe_key: r.dedupe_key,
            from: r.from_address,
            to: r.to_addresses,
            cc: r.cc_addresses,
            subject: r.subject,
            size: u(r.size),
            via: named(r.via, "inbound via")?,
            auto: r.auto,
            result: InboundResult::parse(&r.result)
                .ok_or_else(|| corrupt(format!("bad inbound result {:?}", r.result)))?,
            reason: r.reason.map(|x| named(x, "ignore reason")).transpose()?,
            ticket_id: r.ticket_id,
            message_id: r.message_id,
            left_out: r.left_out,
            references: r.refs,
            received_at: r.received_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct OutboundRow {
    id: Uuid,
    mailbox_id: Uuid,
    kind: String,
    ticket_id: Option<Uuid>,
    message_id: Option<Uuid>,
    notification_id: Option<Uuid>,
    to_addresses: Vec<String>,
    cc_addresses: Vec<String>,
    subject: String,
    internet_message_id: String,
    refs: Vec<String>,
    status: String,
    attempts: i32,
    last_smtp_code: Option<i32>,
    last_error: Option<String>,
    rejected: Value,
    next_attempt_at: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl OutboundRow {
    pub(crate) const COLS: &str = outbound_cols!();
    /// With the bytes, from `outbound_mail JOIN outbound_raw USING (id)`.
    pub(crate) const ARCHIVE_COLS: &str = concat!(outbound_cols!(), ", raw");
}

impl TryFrom<OutboundRow> for OutboundMail {
    type Error = StoreError;
    fn try_from(r: OutboundRow) -> StoreResult<OutboundMail> {
        Ok(OutboundMail {
            id: r.id,
            mailbox_id: r.mailbox_id,
            kind: named(r.kind, "outbound kind")?,
            ticket_id: r.ticket_id,
            message_id: r.message_id,
            notification_id: r.notification_id,
            to: r.to_addresses,
            cc: r.cc_addresses,
            subject: r.subject,
            internet_message_id: r.internet_message_id,
            references: r.refs,
            status: OutboundStatus::parse(&r.status)
                .ok_or_else(|| corrupt(format!("bad outbound status {:?}", r.status)))?,
            attempts: u32::try_from(r.attempts)
                .map_err(|_| corrupt(format!("bad attempts {}", r.attempts)))?,
            last_smtp_code: r.last_smtp_code.map(|c| code(c, "smtp code")).transpose()?,
            last_error: r.last_error,
            rejected: serde_json::from_value(r.rejected)
                .map_err(|e| corrupt(format!("bad rejected: {e}")))?,
            next_attempt_at: r.next_attempt_at,
            sent_at: r.sent_at,
            created_at: r.created_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct SuppressionRow {
    address: String,
    reason: String,
    detail: String,
    outbound_id: Option<Uuid>,
    created_at: DateTime<Utc>,
}

impl SuppressionRow {
    pub(crate) const COLS: &str = "address, reason, detail, outbound_id, created_at";
}

impl TryFrom<SuppressionRow> for Suppression {
    type Error = StoreError;
    fn try_from(r: SuppressionRow) -> StoreResult<Suppression> {
        Ok(Suppression {
            address: r.address,
            reason: named(r.reason, "suppression reason")?,
            detail: r.detail,
            outbound_id: r.outbound_id,
            created_at: r.created_at,
        })
    }
}
