//! [`SchemaStore`]: statuses by id, their keys (unique), how many each category holds,
//! and how many tickets have each key; custom fields likewise (how many are active, how
//! many tickets have a value of each). The ticket counters are kept by every ticket
//! write ([`count_status`], [`count_fields`]), so deleting a status or a field checks
//! them in its own transaction.

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use chrono::Utc;
use uuid::Uuid;

use helpdesk_core::custom_field::{CustomField, sort_fields};
use helpdesk_core::status::{Status, StatusCategory, sort_statuses};
use helpdesk_core::store::{SchemaStore, StoreResult};
use helpdesk_core::ticket::Ticket;
use helpdesk_core::{Conflict, StoreError};

use crate::canned_replies::count;
use crate::keys::{TREE_NAMES, tree};
use crate::{SledStore, Tx, TxResult, abort, decode};

/// Moves a ticket's count between status keys: `old` is the stored ticket it replaces.
pub(crate) fn count_status(tx: &Tx<'_>, t: Option<&Ticket>, old: Option<&Ticket>) -> TxResult<()> {
    let (from, to) = (old.map(|o| &o.status), t.map(|t| &t.status));
    if from == to {
        return Ok(());
    }
    if let Some(k) = from {
        count(tx, tree::STATUS_TICKETS, k.as_str().as_bytes(), -1)?;
    }
    if let Some(k) = to {
        count(tx, tree::STATUS_TICKETS, k.as_str().as_bytes(), 1)?;
    }
    Ok(())
}

/// Moves a ticket's counts between custom field keys: `old` is the stored ticket it
/// replaces.
pub(crate) fn count_fields(tx: &Tx<'_>, t: Option<&Ticket>, old: Option<&Ticket>) -> TxResult<()> {
    let had = |k: &String, x: Option<&Ticket>| x.is_some_and(|x| x.fields.contains_key(k));
    let keys = t.iter().chain(old.iter()).flat_map(|x| x.fields.keys());
    let mut seen: Vec<&String> = Vec::new();
    for k in keys {
        if seen.contains(&k) {
            continue;
        }
        seen.push(k);
        match (had(k, old), had(k, t)) {
            (false, true) => count(tx, tree::FIELD_TICKETS, k.as_bytes(), 1)?,
            (true, false) => count(tx, tree::FIELD_TICKETS, k.as_bytes(), -1)?,
            _ => {}
        }
    }
    Ok(())
}

const ACTIVE: &[u8] = b"active";

/// Writes a custom field that is not stored yet, with its key and the active count.
pub(crate) fn put_new_field(tx: &Tx<'_>, f: &CustomField) -> TxResult<()> {
    tx.put_json(tree::FIELDS, f.id.as_bytes(), f)?;
    tx.put(tree::FIELD_KEYS, f.key.as_bytes(), f.id.as_bytes())?;
    if f.active {
        count(tx, tree::FIELD_COUNTS, ACTIVE, 1)?;
    }
    Ok(())
}

/// Writes a status that is not stored yet, with its key and its category's count.
pub(crate) fn put_new_status(tx: &Tx<'_>, s: &Status) -> TxResult<()> {
    tx.put_json(tree::STATUSES, s.id.as_bytes(), s)?;
    tx.put(
        tree::STATUS_KEYS,
        s.key.as_str().as_bytes(),
        s.id.as_bytes(),
    )?;
    count(tx, tree::STATUS_COUNTS, s.category.as_str().as_bytes(), 1)
}

/// Writes an imported status: a default one replaces the store's own (same id, key and
/// category), any other is new.
pub(crate) fn import_status(tx: &Tx<'_>, s: &Status) -> TxResult<()> {
    if tx.exists(tree::STATUSES, s.id.as_bytes())? {
        return tx.put_json(tree::STATUSES, s.id.as_bytes(), s);
    }
    if tx.exists(tree::STATUS_KEYS, s.key.as_str().as_bytes())? {
        return abort(StoreError::Conflict(Conflict::Key));
    }
    put_new_status(tx, s)
}

/// Writes an imported custom field.
pub(crate) fn import_field(tx: &Tx<'_>, f: &CustomField) -> TxResult<()> {
    if tx.exists(tree::FIELD_KEYS, f.key.as_bytes())? {
        return abort(StoreError::Conflict(Conflict::Key));
    }
    put_new_field(tx, f)
}

impl SledStore {
    /// Writes the default statuses a database lacks (a new one, or one from before
    /// statuses were data). Running it again changes nothing.
    pub(crate) fn ensure_default_statuses(&self) -> StoreResult<()> {
        self.transact(|tx| {
            for c in StatusCategory::ALL {
                if !tx.exists(tree::STATUS_KEYS, c.as_str().as_bytes())? {
                    put_new_status(tx, &Status::default_of(c, Utc::now()))?;
                }
            }
            Ok(())
        })
    }

    /// Schema 3 → 4: counts the tickets of each status key (their records were brought
    /// to statuses as data by [`crate::SledStore::upgrade_ticket_records`]). Running it
    /// again gives the same counts.
    pub(crate) fn count_ticket_statuses(&self) -> StoreResult<()> {
        let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
        for item in self.tree(tree::TICKETS).iter() {
            let (_, v) = item.map_err(crate::sled_error)?;
            let t: Ticket = decode(&v, TREE_NAMES[tree::TICKETS])?;
            *counts.entry(t.status.as_str().to_string()).or_default() += 1;
        }
        self.tree(tree::STATUS_TICKETS)
            .clear()
            .map_err(crate::sled_error)?;
        for (k, n) in counts {
            self.tree(tree::STATUS_TICKETS)
                .insert(k.as_bytes(), &n.to_be_bytes()[..])
                .map_err(crate::sled_error)?;
        }
        Ok(())
    }
}

#[async_trait]
impl SchemaStore for SledStore {
    async fn schema_stamp(&self) -> StoreResult<u64> {
        Ok(self.inner.schema_stamp.load(Ordering::Acquire))
    }

    async fn list_statuses(&self) -> StoreResult<Vec<Status>> {
        let mut all = Vec::new();
        for entry in self.scan(tree::STATUSES, &[], None, false) {
            let (_, value) = entry?;
            all.push(decode(&value, TREE_NAMES[tree::STATUSES])?);
        }
        sort_statuses(&mut all);
        Ok(all)
    }

    async fn insert_status(&self, s: &Status, limit: usize) -> StoreResult<bool> {
        self.write_schema(|tx| {
            if tx.exists(tree::STATUSES, s.id.as_bytes())? {
                return abort(StoreError::Conflict(Conflict::Unique));
            }
            if tx.exists(tree::STATUS_KEYS, s.key.as_str().as_bytes())? {
                return abort(StoreError::Conflict(Conflict::Key));
            }
            let held = tx.get_u64(tree::STATUS_COUNTS, s.category.as_str().as_bytes())?;
            if usize::try_from(held).unwrap_or(usize::MAX) >= limit {
                return Ok(false);
            }
            put_new_status(tx, s)?;
            Ok(true)
        })
        .await
    }

    async fn update_status(&self, s: &Status) -> StoreResult<()> {
        self.write_schema(|tx| {
            let Some(mut stored) = tx.get_json::<Status>(tree::STATUSES, s.id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            stored.agent_label = s.agent_label.clone();
            stored.customer_label = s.customer_label.clone();
            stored.position = s.position;
            stored.active = s.active;
            stored.updated_at = s.updated_at;
            tx.put_json(tree::STATUSES, s.id.as_bytes(), &stored)
        })
        .await
    }

    async fn delete_status(&self, id: Uuid) -> StoreResult<()> {
        self.write_schema(|tx| {
            let Some(s) = tx.get_json::<Status>(tree::STATUSES, id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            if s.is_default {
                return abort(StoreError::Conflict(Conflict::Default));
            }
            if tx.get_u64(tree::STATUS_TICKETS, s.key.as_str().as_bytes())? > 0 {
                return abort(StoreError::Conflict(Conflict::InUse));
            }
            tx.del(tree::STATUSES, id.as_bytes())?;
            tx.del(tree::STATUS_KEYS, s.key.as_str().as_bytes())?;
            count(tx, tree::STATUS_COUNTS, s.category.as_str().as_bytes(), -1)
        })
        .await
    }

    async fn list_fields(&self) -> StoreResult<Vec<CustomField>> {
        let mut all = Vec::new();
        for entry in self.scan(tree::FIELDS, &[], None, false) {
            let (_, value) = entry?;
            all.push(decode(&value, TREE_NAMES[tree::FIELDS])?);
        }
        sort_fields(&mut all);
        Ok(all)
    }

    async fn insert_field(&self, f: &CustomField, limit: usize) -> StoreResult<bool> {
        self.write_schema(|tx| {
            if tx.exists(tree::FIELDS, f.id.as_bytes())? {
                return abort(StoreError::Conflict(Conflict::Unique));
            }
            if tx.exists(tree::FIELD_KEYS, f.key.as_bytes())? {
                return abort(StoreError::Conflict(Conflict::Key));
            }
            let active = tx.get_u64(tree::FIELD_COUNTS, ACTIVE)?;
            if f.active && usize::try_from(active).unwrap_or(usize::MAX) >= limit {
                return Ok(false);
            }
            put_new_field(tx, f)?;
            Ok(true)
        })
        .await
    }

    async fn update_field(&self, f: &CustomField, limit: usize) -> StoreResult<bool> {
        self.write_schema(|tx| {
            let Some(stored) = tx.get_json::<CustomField>(tree::FIELDS, f.id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            let active = tx.get_u64(tree::FIELD_COUNTS, ACTIVE)?;
            if f.active && !stored.active && usize::try_from(active).unwrap_or(usize::MAX) >= limit
            {
                return Ok(false);
            }
            match (stored.active, f.active) {
                (false, true) => count(tx, tree::FIELD_COUNTS, ACTIVE, 1)?,
                (true, false) => count(tx, tree::FIELD_COUNTS, ACTIVE, -1)?,
                _ => {}
            }
            let next = CustomField {
                key: stored.key.clone(),
                field_type: stored.field_type,
                created_at: stored.created_at,
                ..f.clone()
            };
            tx.put_json(tree::FIELDS, f.id.as_bytes(), &next)?;
            Ok(true)
        })
        .await
    }

    async fn delete_field(&self, id: Uuid) -> StoreResult<()> {
        self.write_schema(|tx| {
            let Some(f) = tx.get_json::<CustomField>(tree::FIELDS, id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            if tx.get_u64(tree::FIELD_TICKETS, f.key.as_bytes())? > 0 {
                return abort(StoreError::Conflict(Conflict::InUse));
            }
            tx.del(tree::FIELDS, id.as_bytes())?;
            tx.del(tree::FIELD_KEYS, f.key.as_bytes())?;
            if f.active {
                count(tx, tree::FIELD_COUNTS, ACTIVE, -1)?;
            }
            Ok(())
        })
        .await
    }
}
