//! [`ArchiveStore`]: every kind is read in the key order of its primary tree, which is
//! the archive order (ids, `conversation|seq`, `ticket|at|id`, `blob|index`, event ids
//! as big-endian numbers); imports write each record with the index entries and
//! counters its normal insert writes, a batch per transaction. Blob chunks go outside
//! transactions, as uploads do.

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use uuid::Uuid;

use helpdesk_core::StoreError;
use helpdesk_core::archive::{
    ArchivedInbound, ArchivedOutbound, BlobChunk, Counter, Record, RecordKind, Setting,
    TICKET_NUMBER,
};
use helpdesk_core::conversation::Conversation;
use helpdesk_core::email::{InboundRecord, OutboundMail};
use helpdesk_core::message::Message;
use helpdesk_core::store::{ArchiveStore, StoreResult};
use helpdesk_core::webhook::Webhook;

use crate::attachments::{chunk_key, put_attachment};
use crate::conversations::{
    index_members, location, message_key, own_key, participant_key, put_participant,
};
use crate::effects::{EVENT_SEQ, WEBHOOKS, event_key, put_delivery, ticket_event_key, webhooks};
use crate::keys::{Key, tree};
use crate::meta::setting_key;
use crate::users::{USER_COUNT, put_user, session_key};
use crate::webhooks::put_webhooks;
use crate::{SledStore, Tx, TxResult, abort, decode, sled_error};

const SETTING_PREFIX: &[u8] = b"setting:";

/// The tree holding a kind's records.
fn tree_of(kind: RecordKind) -> usize {
    match kind {
        RecordKind::Setting | RecordKind::Counter | RecordKind::Webhook => tree::META,
        RecordKind::User => tree::USERS,
        RecordKind::Group => tree::GROUPS,
        RecordKind::Organization => tree::ORGS,
        RecordKind::Membership => tree::GROUP_MEMBERS,
        RecordKind::Session => tree::SESSIONS,
        RecordKind::ApiKey => tree::API_KEYS,
        RecordKind::CannedReply => tree::CANNED,
        RecordKind::View => tree::VIEWS,
        RecordKind::Status => tree::STATUSES,
        RecordKind::CustomField => tree::FIELDS,
        RecordKind::Macro => tree::MACROS,
        RecordKind::Calendar => tree::CALENDARS,
        RecordKind::SlaPolicy => tree::SLA_POLICIES,
        RecordKind::Rule => tree::RULES,
        RecordKind::Mailbox => tree::MAILBOXES,
        RecordKind::Conversation => tree::CONVS,
        RecordKind::Participant => tree::PARTICIPANTS,
        RecordKind::Ticket => tree::TICKETS,
        RecordKind::TicketEvent => tree::TICKET_EVENTS,
        RecordKind::Survey => tree::SURVEYS,
        RecordKind::Message => tree::MESSAGES,
        RecordKind::Notification => tree::NOTIFS,
        RecordKind::InboundMail => tree::INBOUND,
        RecordKind::OutboundMail => tree::OUTBOUND,
        RecordKind::Suppression => tree::SUPPRESSIONS,
        RecordKind::Article => tree::ARTICLES,
        RecordKind::BlobChunk => tree::BLOBS,
        RecordKind::Attachment => tree::ATTACHMENTS,
        RecordKind::Event => tree::EVENTS,
        RecordKind::Delivery => tree::DELIVERIES,
    }
}

/// The key of a record in its kind's tree.
fn key_of(r: &Record) -> Vec<u8> {
    match r {
        Record::Header(_)
        | Record::End(_)
        | Record::Counter(_)
        | Record::Webhook(_)
        | Record::Membership(_) => Vec::new(),
        Record::Group(g) => g.id.as_bytes().to_vec(),
        Record::Organization(o) => o.id.as_bytes().to_vec(),
        Record::Setting(s) => setting_key(&s.key),
        Record::User(u) => u.id.as_bytes().to_vec(),
        Record::Session(s) => s.id.as_bytes().to_vec(),
        Record::ApiKey(k) => k.id.as_bytes().to_vec(),
        Record::CannedReply(r) => r.id.as_bytes().to_vec(),
        Record::View(v) => v.id.as_bytes().to_vec(),
        Record::Status(s) => s.id.as_bytes().to_vec(),
        Record::CustomField(f) => f.id.as_bytes().to_vec(),
        Record::Macro(m) => m.id.as_bytes().to_vec(),
        Record::Calendar(c) => c.id.as_bytes().to_vec(),
        Record::SlaPolicy(p) => p.id.as_bytes().to_vec(),
        Record::Rule(r) => r.id.as_bytes().to_vec(),
        Record::Mailbox(m) => m.id.as_bytes().to_vec(),
        Record::Conversation(c) => c.id.as_bytes().to_vec(),
        Record::Participant(p) => participant_key(p.conversation_id, p.user_id).0,
        Record::Ticket(t) => t.id.as_bytes().to_vec(),
        Record::TicketEvent(e) => ticket_event_key(e).0,
        Record::Survey(s) => s.id.as_bytes().to_vec(),
        Record::Message(m) => message_key(m.conversation_id, m.seq).0,
        Record::Notification(n) => n.id.as_bytes().to_vec(),
        Record::InboundMail(m) => m.record.id.as_bytes().to_vec(),
        Record::OutboundMail(m) => m.mail.id.as_bytes().to_vec(),
        Record::Suppression(x) => x.address.as_bytes().to_vec(),
        Record::Article(a) => a.id.as_bytes().to_vec(),
        Record::BlobChunk(b) => chunk_key(b.blob_id, b.index).0,
        Record::Attachment(a) => a.id.as_bytes().to_vec(),
        Record::Event(e) => event_key(e.id).to_vec(),
        Record::Delivery(d) => d.id.as_bytes().to_vec(),
    }
}

fn decode_record(kind: RecordKind, k: &[u8], v: &[u8]) -> StoreResult<Record> {
    let what = crate::keys::TREE_NAMES[tree_of(kind)];
    Ok(match kind {
        RecordKind::Setting => Record::Setting(Setting {
            key: String::from_utf8(k[SETTING_PREFIX.len()..].to_vec())
                .map_err(|_| StoreError::Corrupt("a setting name is not UTF-8".into()))?,
            value: String::from_utf8(v.to_vec())
                .map_err(|_| StoreError::Corrupt("a setting is not UTF-8".into()))?,
        }),
        RecordKind::BlobChunk => {
            let bad = || StoreError::Corrupt("bad blob chunk key".into());
            if k.len() != 20 {
                return Err(bad());
            }
            Record::BlobChunk(BlobChunk {
                blob_id: Uuid::from_slice(&k[..16]).map_err(|_| bad())?,
                index: u32::from_be_bytes(k[16..].try_into().map_err(|_| bad())?),
                data: v.to_vec(),
            })
        }
        RecordKind::User => Record::User(decode(v, what)?),
        RecordKind::Group => Record::Group(decode(v, what)?),
        RecordKind::Organization => Record::Organization(decode(v, what)?),
        RecordKind::Session => Record::Session(decode(v, what)?),
        RecordKind::ApiKey => Record::ApiKey(decode(v, what)?),
        RecordKind::CannedReply => Record::CannedReply(decode(v, what)?),
        RecordKind::View => Record::View(decode(v, what)?),
        RecordKind::Status => Record::Status(decode(v, what)?),
        RecordKind::CustomField => Record::CustomField(decode(v, what)?),
        RecordKind::Macro => Record::Macro(decode(v, what)?),
        RecordKind::Calendar => Record::Calendar(decode(v, what)?),
        RecordKind::SlaPolicy => Record::SlaPolicy(decode(v, what)?),
        RecordKind::Rule => Record::Rule(decode(v, what)?),
        RecordKind::Mailbox => Record::Mailbox(decode(v, what)?),
        RecordKind::Conversation => Record::Conversation(decode(v, what)?),
        RecordKind::Participant => Record::Participant(decode(v, what)?),
        RecordKind::Ticket => Record::Ticket(decode(v, what)?),
        RecordKind::TicketEvent => Record::TicketEvent(decode(v, what)?),
        RecordKind::Survey => Record::Survey(decode(v, what)?),
        RecordKind::Message => Record::Message(decode(v, what)?),
        RecordKind::Notification => Record::Notification(decode(v, what)?),
        RecordKind::Suppression => Record::Suppression(decode(v, what)?),
        RecordKind::Article => Record::Article(decode(v, what)?),
        RecordKind::Attachment => Record::Attachment(decode(v, what)?),
        RecordKind::Event => Record::Event(decode(v, what)?),
        RecordKind::Delivery => Record::Delivery(decode(v, what)?),
        RecordKind::Counter
        | RecordKind::Webhook
        | RecordKind::Membership
        | RecordKind::InboundMail
        | RecordKind::OutboundMail => {
            return Err(StoreError::Corrupt(format!(
                "{} is not a tree",
                kind.as_str()
            )));
        }
    })
}

impl SledStore {
    fn ticket_counter(&self) -> StoreResult<i64> {
        let v = self
            .tree(tree::META)
            .get(crate::tickets::TICKET_NUMBER)
            .map_err(sled_error)?;
        Ok(v.and_then(|v| crate::keys::u64_value(&v)).unwrap_or(0) as i64)
    }
}

#[async_trait]
impl ArchiveStore for SledStore {
    async fn export_records(
        &self,
        kind: RecordKind,
        after: Option<&Record>,
        limit: usize,
    ) -> StoreResult<Vec<Record>> {
        match kind {
            RecordKind::Counter => {
                let all = vec![Record::Counter(Counter {
                    name: TICKET_NUMBER.into(),
                    value: self.ticket_counter()?,
                })];
                return Ok(helpdesk_core::archive::page_of(all, after, limit));
            }
            // A group's memberships are one record: staff are few.
            RecordKind::Membership => {
                let all = self
                    .all_memberships()?
                    .into_iter()
                    .map(Record::Membership)
                    .collect();
                return Ok(helpdesk_core::archive::page_of(all, after, limit));
            }
            // The endpoints are one record in `meta`: few, and already in memory.
            RecordKind::Webhook => {
                let all = self
                    .get_json::<Vec<Webhook>>(tree::META, WEBHOOKS)?
                    .unwrap_or_default()
                    .into_iter()
                    .map(Record::Webhook)
                    .collect();
                return Ok(helpdesk_core::archive::page_of(all, after, limit));
            }
            _ => {}
        }
        let prefix: &[u8] = if kind == RecordKind::Setting {
            SETTING_PREFIX
        } else {
            &[]
        };
        let after_key = after.map(key_of);
        let what = crate::keys::TREE_NAMES[tree_of(kind)];
        self.scan(tree_of(kind), prefix, after_key.as_deref(), false)
            .take(limit)
            .map(|item| {
                let (k, v) = item?;
                // Mail records carry their bytes, kept in a tree of their own.
                match kind {
                    RecordKind::InboundMail => {
                        let record: InboundRecord = decode(&v, what)?;
                        let raw = self.raw_of(tree::INBOUND_RAW, record.id)?;
                        Ok(Record::InboundMail(ArchivedInbound { record, raw }))
                    }
                    RecordKind::OutboundMail => {
                        let mail: OutboundMail = decode(&v, what)?;
                        let raw = self.raw_of(tree::OUTBOUND_RAW, mail.id)?;
                        Ok(Record::OutboundMail(ArchivedOutbound { mail, raw }))
                    }
                    _ => decode_record(kind, &k, &v),
                }
            })
            .collect()
    }

    async fn import_records(&self, records: &[Record]) -> StoreResult<()> {
        // Chunks first and outside the transaction (sled buffers a transaction in
        // memory); the attachments that make them reachable commit after them.
        let mut wrote_chunks = false;
        for r in records {
            if let Record::BlobChunk(b) = r {
                self.tree(tree::BLOBS)
                    .insert(chunk_key(b.blob_id, b.index), b.data.as_slice())
                    .map_err(sled_error)?;
                wrote_chunks = true;
            }
        }
        let has_other = records
            .iter()
            .any(|r| !matches!(r, Record::BlobChunk(_) | Record::Header(_) | Record::End(_)));
        if has_other {
            let imported = self
                .write_schema(|tx| {
                    for r in records {
                        import_one(tx, r)?;
                    }
                    Ok(())
                })
                .await;
            self.inner.kb_stamp.fetch_add(1, Ordering::AcqRel);
            imported
        } else if wrote_chunks {
            self.flush().await
        } else {
            Ok(())
        }
    }
}

fn import_one(tx: &Tx<'_>, r: &Record) -> TxResult<()> {
    match r {
        Record::Header(_) | Record::End(_) | Record::BlobChunk(_) => {}
        Record::Setting(s) => tx.put(tree::META, setting_key(&s.key), s.value.as_bytes())?,
        Record::Counter(c) if c.name == TICKET_NUMBER => tx.put_u64(
            tree::META,
            crate::tickets::TICKET_NUMBER,
            c.value.max(0) as u64,
        )?,
        Record::Counter(c) => {
            return abort(StoreError::Corrupt(format!("unknown counter `{}`", c.name)));
        }
        Record::Group(g) => crate::groups::import_group(tx, g)?,
        Record::Organization(o) => crate::organizations::put_organization(tx, o, None)?,
        Record::Membership(m) => {
            crate::groups::put_member(tx, m)?;
        }
        Record::User(u) => {
            put_user(tx, u, None)?;
            let n = tx.get_u64(tree::META, USER_COUNT)?;
            tx.put_u64(tree::META, USER_COUNT, n + 1)?;
        }
        Record::Session(s) => {
            tx.put_json(tree::SESSIONS, s.id.as_bytes(), s)?;
            tx.put(tree::USER_SESSIONS, session_key(s), &[][..])?;
        }
        Record::ApiKey(k) => crate::apikeys::put_key(tx, k)?,
        Record::CannedReply(r) => crate::canned_replies::put_new(tx, r)?,
        Record::View(v) => crate::views::put_new(tx, v)?,
        Record::Status(s) => crate::schema::import_status(tx, s)?,
        Record::CustomField(f) => crate::schema::import_field(tx, f)?,
        Record::Macro(m) => crate::macros::put_new(tx, m)?,
        Record::Calendar(c) => crate::calendars::put_new(tx, c)?,
        Record::SlaPolicy(p) => crate::sla::put_new(tx, p)?,
        Record::Rule(r) => crate::rules::put_new(tx, r)?,
        Record::Mailbox(m) => {
            let old = tx.get_json(tree::MAILBOXES, m.id.as_bytes())?;
            crate::mailboxes::put_mailbox(tx, m, old.as_ref())?
        }
        Record::Conversation(c) => import_conversation(tx, c)?,
        Record::Participant(p) => put_participant(tx, p)?,
        Record::Ticket(t) => crate::ticket_record::put_ticket(tx, t, None)?,
        Record::TicketEvent(e) => tx.put_json(tree::TICKET_EVENTS, ticket_event_key(e), e)?,
        Record::Survey(s) => crate::survey_record::put_new(tx, s)?,
        Record::Message(m) => import_message(tx, m)?,
        Record::Notification(n) => crate::notifications::put_notification(tx, n)?,
        Record::InboundMail(m) => crate::mail_record::put_inbound(tx, &m.record, &m.raw)?,
        Record::OutboundMail(m) => crate::mail_record::insert_outbound(tx, &m.mail, &m.raw)?,
        Record::Suppression(x) => crate::mail_record::put_suppression(tx, x)?,
        Record::Article(a) => crate::kb::put_article(tx, a, None)?,
        Record::Attachment(a) => put_attachment(tx, a, None)?,
        Record::Event(e) => {
            tx.put_json(tree::EVENTS, event_key(e.id), e)?;
            let seq = tx.get_u64(tree::META, EVENT_SEQ)?;
            tx.put_u64(tree::META, EVENT_SEQ, seq.max(e.id.0))?;
        }
        Record::Webhook(w) => {
            let mut hooks = webhooks(tx)?;
            hooks.retain(|h| h.id != w.id);
            hooks.push(w.clone());
            put_webhooks(tx, hooks)?;
        }
        Record::Delivery(d) => put_delivery(tx, d, None)?,
    }
    Ok(())
}

/// A conversation with its member index, without the participant records its normal
/// insert makes (they come verbatim as their own records).
fn import_conversation(tx: &Tx<'_>, c: &Conversation) -> TxResult<()> {
    if let Some(key) = &c.direct_key {
        tx.put(tree::DIRECT, key.as_bytes(), c.id.as_bytes())?;
    }
    tx.put_json(tree::CONVS, c.id.as_bytes(), c)?;
    index_members(tx, c, true)
}

/// A message with its id, public, own and reply-edge index entries. Its
/// `internal_reply_count` is recounted, not copied (archives written before the field
/// lack it): an internal reply counts itself on its parent, imported before it.
fn import_message(tx: &Tx<'_>, m: &Message) -> TxResult<()> {
    let mk = message_key(m.conversation_id, m.seq);
    let recounted = Message {
        internal_reply_count: 0,
        ..m.clone()
    };
    tx.put_json(tree::MESSAGES, &mk, &recounted)?;
    tx.put(tree::MESSAGE_IDS, m.id.as_bytes(), mk.bytes())?;
    if !m.internal {
        tx.put(tree::PUBLIC_MSGS, &mk, &[][..])?;
    }
    tx.put_u64(tree::OWN_MSGS, own_key(m), m.sender_ordinal)?;
    if let Some(pid) = m.parent_id {
        // A parent has a lower seq, so it was imported before its replies.
        let Some(loc) = tx.get(tree::MESSAGE_IDS, pid.as_bytes())? else {
            return abort(StoreError::Corrupt(format!(
                "message {} replies to a message not in the archive",
                m.id
            )));
        };
        let (conv, parent_seq) = location(&loc).map_err(crate::abort_with)?;
        tx.put(
            tree::CHILDREN,
            Key::new().id(conv).u64(parent_seq).u64(m.seq),
            &[][..],
        )?;
        if m.internal {
            let pk = message_key(conv, parent_seq);
            let Some(mut parent) = tx.get_json::<Message>(tree::MESSAGES, &pk)? else {
                return abort(StoreError::Corrupt(format!(
                    "message {pid} has an id entry but no record"
                )));
            };
            parent.internal_reply_count += 1;
            tx.put_json(tree::MESSAGES, &pk, &parent)?;
        }
    }
    Ok(())
}
