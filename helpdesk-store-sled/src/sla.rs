//! [`SlaStore`]: SLA policies by id, and how many there are (a counter in `meta`, kept
//! inside the writing transaction so the limit holds under concurrent inserts).
//! Listing reads every policy: at most 100.

use async_trait::async_trait;
use uuid::Uuid;

use helpdesk_core::sla_policy::SlaPolicy;
use helpdesk_core::sla_policy::sort_policies;
use helpdesk_core::store::{SlaStore, StoreResult};
use helpdesk_core::{Conflict, StoreError};

use crate::canned_replies::count;
use crate::keys::{TREE_NAMES, tree};
use crate::{SledStore, Tx, TxResult, abort, decode};

/// The `meta` key of the number of SLA policies.
const POLICY_COUNT: &[u8] = b"sla_policy_count";

/// Writes a new policy with its counter (a new policy, or an imported one).
pub(crate) fn put_new(tx: &Tx<'_>, p: &SlaPolicy) -> TxResult<()> {
    tx.put_json(tree::SLA_POLICIES, p.id.as_bytes(), p)?;
    count(tx, tree::META, POLICY_COUNT, 1)
}

#[async_trait]
impl SlaStore for SledStore {
    async fn list_sla_policies(&self) -> StoreResult<Vec<SlaPolicy>> {
        let mut all = Vec::new();
        for entry in self.scan(tree::SLA_POLICIES, &[], None, false) {
            let (_, value) = entry?;
            all.push(decode(&value, TREE_NAMES[tree::SLA_POLICIES])?);
        }
        sort_policies(&mut all);
        Ok(all)
    }

    async fn insert_sla_policy(&self, p: &SlaPolicy, limit: usize) -> StoreResult<bool> {
        self.write_schema(|tx| {
            if tx.exists(tree::SLA_POLICIES, p.id.as_bytes())? {
                return abort(StoreError::Conflict(Conflict::Unique));
            }
            let held = tx.get_u64(tree::META, POLICY_COUNT)?;
            if usize::try_from(held).unwrap_or(usize::MAX) >= limit {
                return Ok(false);
            }
            put_new(tx, p)?;
            Ok(true)
        })
        .await
    }

    async fn update_sla_policy(&self, p: &SlaPolicy) -> StoreResult<()> {
        self.write_schema(|tx| {
            let Some(old) = tx.get_json::<SlaPolicy>(tree::SLA_POLICIES, p.id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            let new = SlaPolicy {
                created_at: old.created_at,
                ..p.clone()
            };
            tx.put_json(tree::SLA_POLICIES, new.id.as_bytes(), &new)
        })
        .await
    }

    async fn delete_sla_policy(&self, id: Uuid) -> StoreResult<bool> {
        self.write_schema(|tx| {
            if !tx.exists(tree::SLA_POLICIES, id.as_bytes())? {
                return Ok(false);
            }
            tx.del(tree::SLA_POLICIES, id.as_bytes())?;
            count(tx, tree::META, POLICY_COUNT, -1)?;
            Ok(true)
        })
        .await
    }
}
