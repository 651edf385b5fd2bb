//! [`MacroStore`]: macros by id, and how many there are (a counter in `meta`, kept
//! inside the writing transaction so the limit holds under concurrent inserts).
//! Listing reads every macro: at most 500.

use async_trait::async_trait;
use uuid::Uuid;

use helpdesk_core::macros::{Macro, sort_macros};
use helpdesk_core::store::{MacroStore, StoreResult};
use helpdesk_core::{Conflict, StoreError};

use crate::canned_replies::count;
use crate::keys::{TREE_NAMES, tree};
use crate::{SledStore, Tx, TxResult, abort, decode};

/// The `meta` key of the number of macros.
const MACRO_COUNT: &[u8] = b"macro_count";

/// Writes a new macro with its counter (a new macro, or an imported one).
pub(crate) fn put_new(tx: &Tx<'_>, m: &Macro) -> TxResult<()> {
    tx.put_json(tree::MACROS, m.id.as_bytes(), m)?;
    count(tx, tree::META, MACRO_COUNT, 1)
}

#[async_trait]
impl MacroStore for SledStore {
    async fn insert_macro(&self, m: &Macro, limit: usize) -> StoreResult<bool> {
        self.write(|tx| {
            if tx.exists(tree::MACROS, m.id.as_bytes())? {
                return abort(StoreError::Conflict(Conflict::Unique));
            }
            let held = tx.get_u64(tree::META, MACRO_COUNT)?;
            if usize::try_from(held).unwrap_or(usize::MAX) >= limit {
                return Ok(false);
            }
            put_new(tx, m)?;
            Ok(true)
        })
        .await
    }

    async fn update_macro(&self, m: &Macro) -> StoreResult<()> {
        self.write(|tx| {
            let Some(old) = tx.get_json::<Macro>(tree::MACROS, m.id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            let new = Macro {
                name: m.name.clone(),
                actions: m.actions.clone(),
                position: m.position,
                updated_at: m.updated_at,
                ..old
            };
            tx.put_json(tree::MACROS, new.id.as_bytes(), &new)
        })
        .await
    }

    async fn delete_macro(&self, id: Uuid) -> StoreResult<bool> {
        self.write(|tx| {
            if !tx.exists(tree::MACROS, id.as_bytes())? {
                return Ok(false);
            }
            tx.del(tree::MACROS, id.as_bytes())?;
            count(tx, tree::META, MACRO_COUNT, -1)?;
            Ok(true)
        })
        .await
    }

    async fn get_macro(&self, id: Uuid) -> StoreResult<Option<Macro>> {
        self.get_json(tree::MACROS, id.as_bytes())
    }

    async fn list_macros(&self) -> StoreResult<Vec<Macro>> {
        let mut macros = Vec::new();
        for entry in self.scan(tree::MACROS, &[], None, false) {
            let (_, value) = entry?;
            macros.push(decode(&value, TREE_NAMES[tree::MACROS])?);
        }
        sort_macros(&mut macros);
        Ok(macros)
    }
}
