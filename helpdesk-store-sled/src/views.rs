//! [`ViewStore`]: views by id, and counters kept inside the writing transaction: the
//! views of each limit (`view_counts`, keyed as the canned replies' are) and the group
//! views of each group (`group_views`, which deleting a group checks). Listing reads
//! every view and keeps those the user may use: at most a few hundred per helpdesk are
//! expected, as each owner has at most 100.

use async_trait::async_trait;
use uuid::Uuid;

use helpdesk_core::ownership::{ScopeUser, Scoped};
use helpdesk_core::store::{StoreResult, ViewStore};
use helpdesk_core::view::{View, sort_views};
use helpdesk_core::{Conflict, StoreError};

use crate::canned_replies::{count, limit_key};
use crate::keys::{TREE_NAMES, tree};
use crate::{SledStore, Tx, TxResult, abort, decode};

/// How many views of the group `group_id` holds (the delete check of a group).
pub(crate) fn group_views(tx: &Tx<'_>, group_id: Uuid) -> TxResult<u64> {
    tx.get_u64(tree::GROUP_VIEWS, group_id.as_bytes())
}

/// Writes a new view with its counters (a new view, or an imported one).
pub(crate) fn put_new(tx: &Tx<'_>, v: &View) -> TxResult<()> {
    tx.put_json(tree::VIEWS, v.id.as_bytes(), v)?;
    count(tx, tree::VIEW_COUNTS, limit_key(v.bucket()).bytes(), 1)?;
    if let Some(g) = v.group_id {
        count(tx, tree::GROUP_VIEWS, g.as_bytes(), 1)?;
    }
    Ok(())
}

#[async_trait]
impl ViewStore for SledStore {
    async fn insert_view(&self, v: &View, limit: usize) -> StoreResult<bool> {
        self.write(|tx| {
            if let Some(g) = v.group_id
                && !tx.exists(tree::GROUPS, g.as_bytes())?
            {
                return abort(StoreError::NotFound);
            }
            if tx.exists(tree::VIEWS, v.id.as_bytes())? {
                return abort(StoreError::Conflict(Conflict::Unique));
            }
            let held = tx.get_u64(tree::VIEW_COUNTS, limit_key(v.bucket()).bytes())?;
            if usize::try_from(held).unwrap_or(usize::MAX) >= limit {
                return Ok(false);
            }
            put_new(tx, v)?;
            Ok(true)
        })
        .await
    }

    async fn update_view(&self, v: &View) -> StoreResult<()> {
        self.write(|tx| {
            let Some(old) = tx.get_json::<View>(tree::VIEWS, v.id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            let new = View {
                name: v.name.clone(),
                filter: v.filter.clone(),
                sort: v.sort,
                position: v.position,
                updated_at: v.updated_at,
                ..old
            };
            tx.put_json(tree::VIEWS, new.id.as_bytes(), &new)
        })
        .await
    }

    async fn delete_view(&self, id: Uuid) -> StoreResult<bool> {
        self.write(|tx| {
            let Some(v) = tx.get_json::<View>(tree::VIEWS, id.as_bytes())? else {
                return Ok(false);
            };
            tx.del(tree::VIEWS, id.as_bytes())?;
            count(tx, tree::VIEW_COUNTS, limit_key(v.bucket()).bytes(), -1)?;
            if let Some(g) = v.group_id {
                count(tx, tree::GROUP_VIEWS, g.as_bytes(), -1)?;
            }
            Ok(true)
        })
        .await
    }

    async fn get_view(&self, id: Uuid) -> StoreResult<Option<View>> {
        self.get_json(tree::VIEWS, id.as_bytes())
    }

    async fn list_views(&self, user: &ScopeUser) -> StoreResult<Vec<View>> {
        let mut views = Vec::new();
        for entry in self.scan(tree::VIEWS, &[], None, false) {
            let (_, value) = entry?;
            let v: View = decode(&value, TREE_NAMES[tree::VIEWS])?;
            if user.may_use(&v) {
                views.push(v);
            }
        }
        sort_views(&mut views);
        Ok(views)
    }

    async fn all_views(&self) -> StoreResult<Vec<View>> {
        let mut views = Vec::new();
        for entry in self.scan(tree::VIEWS, &[], None, false) {
            let (_, value) = entry?;
            views.push(decode(&value, TREE_NAMES[tree::VIEWS])?);
        }
        sort_views(&mut views);
        Ok(views)
    }
}
