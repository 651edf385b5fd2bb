//! [`EmailStore`]: inbound records and outbound mail by id with their bytes in trees of
//! their own (lists never load mail bodies), read through the index entries that lists,
//! the dedupe rule, the Message-ID index, the per-ticket newest mail, the outbox's due
//! queue and the auto-reply count use. Everything is written inside the transaction of
//! the operation that makes it ([`crate::mail_record::write_mail`], called by
//! [`crate::effects::write_effects`]); a mail its mailbox has already aborts that
//! transaction with `Conflict::Duplicate`, so nothing of the operation is written.
//!
//! Index entries are read with range scans outside transactions; reads through them
//! re-check the record they reach (an entry an update moved meanwhile is skipped).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use helpdesk_core::StoreError;
use helpdesk_core::email::{
    InboundRecord, InboundResult, MailRef, OutboundMail, OutboundQuery, OutboundStatus,
    Suppression, TicketMail,
};
use helpdesk_core::event::Effects;
use helpdesk_core::page::Cursor;
use helpdesk_core::store::{EmailStore, StoreResult};

use crate::effects::write_effects;
use crate::keys::{Key, TREE_NAMES, prefix_end, trailing_id, tree};
use crate::mail_record::*;
use crate::{SledStore, abort, decode, sled_error};

impl SledStore {
    /// The bytes stored under an id in `t`.
    fn raw(&self, t: usize, id: Uuid) -> StoreResult<Option<Vec<u8>>> {
        Ok(self
            .tree(t)
            .get(id.as_bytes())
            .map_err(sled_error)?
            .map(|v| v.to_vec()))
    }

    /// The raw bytes of a record being exported (present with every record).
    pub(crate) fn raw_of(&self, t: usize, id: Uuid) -> StoreResult<Vec<u8>> {
        self.raw(t, id)?
            .ok_or_else(|| StoreError::Corrupt(format!("{} has no bytes for {id}", TREE_NAMES[t])))
    }
}

#[async_trait]
impl EmailStore for SledStore {
    async fn get_inbound(&self, id: Uuid) -> StoreResult<Option<InboundRecord>> {
        self.get_json(tree::INBOUND, id.as_bytes())
    }

    async fn find_inbound(
        &self,
        mailbox_id: Uuid,
        dedupe_key: &str,
    ) -> StoreResult<Option<InboundRecord>> {
        let entry = self
            .tree(tree::INBOUND_KEYS)
            .get(dedupe_entry(mailbox_id, dedupe_key))
            .map_err(sled_error)?;
        match entry {
            None => Ok(None),
            Some(id) => self.get_json(tree::INBOUND, &id),
        }
    }

    async fn inbound_raw(&self, id: Uuid) -> StoreResult<Option<Vec<u8>>> {
        self.raw(tree::INBOUND_RAW, id)
    }

    async fn list_inbound(
        &self,
        mailbox_id: Uuid,
        result: Option<InboundResult>,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<InboundRecord>> {
        let prefix = Key::new().tag(LIST).id(mailbox_id);
        let after = cursor.map(|c| prefix.clone().i64(c.key).id(c.id));
        self.records_by_index(
            self.scan(
                tree::INBOUND_IDX,
                prefix.bytes(),
                after.as_ref().map(Key::bytes),
                true,
            ),
            tree::INBOUND,
            limit.saturating_add(1),
            |k, _| trailing_id(k),
            |k, r: &InboundRecord| {
                inbound_list_key(r).bytes() == k && result.is_none_or(|x| r.result == x)
            },
        )
    }

    async fn mail_by_message_id(&self, internet_message_id: &str) -> StoreResult<Vec<MailRef>> {
        let prefix = message_id_prefix(internet_message_id);
        let mut out = Vec::new();
        for entry in self.scan(tree::MAIL_IDS, prefix.bytes(), None, false) {
            let (k, _) = entry?;
            let (Some(dir), Some(id)) = (k.get(prefix.bytes().len()), trailing_id(&k)) else {
                continue;
            };
            if *dir == IN {
                if let Some(r) = self.get_json::<InboundRecord>(tree::INBOUND, id.as_bytes())? {
                    out.push(MailRef {
                        mailbox_id: r.mailbox_id,
                        ticket_id: r.ticket_id,
                        outbound_id: None,
                    });
                }
            } else if let Some(m) = self.get_json::<OutboundMail>(tree::OUTBOUND, id.as_bytes())?
                && m.internet_message_id
                    .eq_ignore_ascii_case(internet_message_id)
            {
                out.push(MailRef {
                    mailbox_id: m.mailbox_id,
                    ticket_id: m.ticket_id,
                    outbound_id: Some(m.id),
                });
            }
        }
        Ok(out)
    }

    async fn ticket_mail(&self, ticket_id: Uuid) -> StoreResult<TicketMail> {
        let prefix = Key::new().tag(TICKET).id(ticket_id);
        let inbound = self
            .records_by_index(
                self.scan(tree::INBOUND_IDX, prefix.bytes(), None, true),
                tree::INBOUND,
                1,
                |k, _| trailing_id(k),
                |k, r: &InboundRecord| inbound_ticket_key(r).is_some_and(|x| x.bytes() == k),
            )?
            .pop();
        let outbound = self
            .records_by_index(
                self.scan(tree::OUTBOUND_IDX, prefix.bytes(), None, true),
                tree::OUTBOUND,
                1,
                |k, _| trailing_id(k),
                |_, m: &OutboundMail| {
                    m.ticket_id == Some(ticket_id) && m.status != OutboundStatus::Suppressed
                },
            )?
            .pop();
        Ok(TicketMail { inbound, outbound })
    }

    async fn claim_outbound(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboundMail>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Candidates from the due queue, read outside the transaction; the transaction
        // checks each again, so concurrent claimers never both get one.
        let end = Key::new().exact_time(now).raw(&[0xff; 16]);
        let candidates: Vec<Uuid> = self
            .tree(tree::OUTBOUND_DUE)
            .range(..=end.0)
            .keys()
            .take(limit)
            .map(|k| k.map_err(sled_error).map(|k| trailing_id(&k)))
            .collect::<StoreResult<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let claimed = self.transact(|tx| {
            let mut out = Vec::new();
            for id in &candidates {
                let Some(m) = tx.get_json::<OutboundMail>(tree::OUTBOUND, id.as_bytes())? else {
                    continue;
                };
                let due = m.status.is_queued() && m.next_attempt_at.is_some_and(|t| t <= now);
                if !due {
                    continue;
                }
                let mut leased = m.clone();
                leased.next_attempt_at = Some(lease_until);
                put_outbound(tx, &leased, Some(&m))?;
                out.push(leased);
            }
            Ok(out)
        })?;
        if !claimed.is_empty() {
            self.flush().await?;
        }
        Ok(claimed)
    }

    async fn update_outbound(&self, mail: &OutboundMail, fx: &Effects) -> StoreResult<()> {
        self.write(|tx| {
            let Some(old) = tx.get_json::<OutboundMail>(tree::OUTBOUND, mail.id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            put_outbound(tx, mail, Some(&old))?;
            write_effects(tx, fx)
        })
        .await
    }

    async fn get_outbound(&self, id: Uuid) -> StoreResult<Option<OutboundMail>> {
        self.get_json(tree::OUTBOUND, id.as_bytes())
    }

    async fn outbound_raw(&self, id: Uuid) -> StoreResult<Option<Vec<u8>>> {
        self.raw(tree::OUTBOUND_RAW, id)
    }

    async fn list_outbound(
        &self,
        mailbox_id: Uuid,
        query: &OutboundQuery,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<OutboundMail>> {
        let prefix = Key::new().tag(LIST).id(mailbox_id);
        let after = cursor.map(|c| prefix.clone().i64(c.key).id(c.id));
        self.records_by_index(
            self.scan(
                tree::OUTBOUND_IDX,
                prefix.bytes(),
                after.as_ref().map(Key::bytes),
                true,
            ),
            tree::OUTBOUND,
            limit.saturating_add(1),
            |k, _| trailing_id(k),
            |k, m: &OutboundMail| {
                prefix.clone().micros(m.created_at).id(m.id).bytes() == k && query.matches(m)
            },
        )
    }

    async fn count_auto_replies(&self, address: &str, since: DateTime<Utc>) -> StoreResult<usize> {
        let prefix = auto_prefix(address);
        let start = prefix.clone().micros(since).0;
        let keys = match prefix_end(prefix.bytes()) {
            Some(end) => self.tree(tree::OUTBOUND_IDX).range(start..end),
            None => self.tree(tree::OUTBOUND_IDX).range(start..),
        };
        let mut n = 0;
        for k in keys.keys() {
            k.map_err(sled_error)?;
            n += 1;
        }
        Ok(n)
    }

    async fn get_suppression(&self, address: &str) -> StoreResult<Option<Suppression>> {
        self.get_json(tree::SUPPRESSIONS, address.as_bytes())
    }

    async fn list_suppressions(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Suppression>> {
        self.scan(tree::SUPPRESSIONS, &[], after.map(str::as_bytes), false)
            .take(limit.saturating_add(1))
            .map(|item| {
                let (_, v) = item?;
                decode(&v, TREE_NAMES[tree::SUPPRESSIONS])
            })
            .collect()
    }

    async fn delete_suppression(&self, address: &str) -> StoreResult<bool> {
        self.write(|tx| {
            if !tx.exists(tree::SUPPRESSIONS, address.as_bytes())? {
                return Ok(false);
            }
            tx.del(tree::SUPPRESSIONS, address.as_bytes())?;
            Ok(true)
        })
        .await
    }
}
