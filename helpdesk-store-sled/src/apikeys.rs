//! [`ApiKeyStore`]: keys by id, an index by token hash, and each user's key ids as one
//! record (at most 50), so that the per-user limit is counted inside the insert's
//! transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use helpdesk_core::apikey::ApiKey;
use helpdesk_core::store::{ApiKeyStore, StoreResult};
use helpdesk_core::{Conflict, StoreError};

use crate::keys::tree;
use crate::{SledStore, Tx, TxResult, abort};

/// The ids of a user's keys.
fn user_keys(tx: &Tx<'_>, user_id: Uuid) -> TxResult<Vec<Uuid>> {
    Ok(tx
        .get_json(tree::USER_API_KEYS, user_id.as_bytes())?
        .unwrap_or_default())
}

fn put_user_keys(tx: &Tx<'_>, user_id: Uuid, ids: &[Uuid]) -> TxResult<()> {
    if ids.is_empty() {
        tx.del(tree::USER_API_KEYS, user_id.as_bytes())
    } else {
        tx.put_json(tree::USER_API_KEYS, user_id.as_bytes(), &ids)
    }
}

/// Writes a key with its index entries (a new key, or an imported one).
pub(crate) fn put_key(tx: &Tx<'_>, key: &ApiKey) -> TxResult<()> {
    tx.put_json(tree::API_KEYS, key.id.as_bytes(), key)?;
    tx.put(
        tree::API_KEY_HASHES,
        key.token_hash.as_bytes(),
        key.id.as_bytes(),
    )?;
    let mut ids = user_keys(tx, key.user_id)?;
    if !ids.contains(&key.id) {
        ids.push(key.id);
    }
    put_user_keys(tx, key.user_id, &ids)
}

/// Deletes a key with its index entries; false if there was none.
fn remove_key(tx: &Tx<'_>, id: Uuid) -> TxResult<bool> {
    let Some(key) = tx.get_json::<ApiKey>(tree::API_KEYS, id.as_bytes())? else {
        return Ok(false);
    };
    tx.del(tree::API_KEYS, id.as_bytes())?;
    tx.del(tree::API_KEY_HASHES, key.token_hash.as_bytes())?;
    let mut ids = user_keys(tx, key.user_id)?;
    ids.retain(|k| *k != id);
    put_user_keys(tx, key.user_id, &ids)?;
    Ok(true)
}

/// Deletes every key of a user (a demotion to customer, see `UserStore`).
pub(crate) fn remove_user_keys(tx: &Tx<'_>, user_id: Uuid) -> TxResult<()> {
    for id in user_keys(tx, user_id)? {
        remove_key(tx, id)?;
    }
    Ok(())
}

#[async_trait]
impl ApiKeyStore for SledStore {
    async fn insert_api_key(&self, key: &ApiKey, limit: usize) -> StoreResult<bool> {
        self.write(|tx| {
            if !tx.exists(tree::USERS, key.user_id.as_bytes())? {
                return abort(StoreError::NotFound);
            }
            if tx.exists(tree::API_KEY_HASHES, key.token_hash.as_bytes())?
                || tx.exists(tree::API_KEYS, key.id.as_bytes())?
            {
                return abort(StoreError::Conflict(Conflict::Unique));
            }
            if user_keys(tx, key.user_id)?.len() >= limit {
                return Ok(false);
            }
            put_key(tx, key)?;
            Ok(true)
        })
        .await
    }

    async fn get_api_key(&self, id: Uuid) -> StoreResult<Option<ApiKey>> {
        self.get_json(tree::API_KEYS, id.as_bytes())
    }

    async fn get_api_key_by_hash(&self, token_hash: &str) -> StoreResult<Option<ApiKey>> {
        let Some(id) = self
            .tree(tree::API_KEY_HASHES)
            .get(token_hash.as_bytes())
            .map_err(crate::sled_error)?
        else {
            return Ok(None);
        };
        let id = Uuid::from_slice(&id)
            .map_err(|_| StoreError::Corrupt("bad API key hash index".into()))?;
        // The entry may be a moment older than the key it names: check the hash.
        Ok(self
            .get_json::<ApiKey>(tree::API_KEYS, id.as_bytes())?
            .filter(|k| k.token_hash == token_hash))
    }

    async fn list_api_keys(&self, user_id: Uuid) -> StoreResult<Vec<ApiKey>> {
        let ids: Vec<Uuid> = self
            .get_json(tree::USER_API_KEYS, user_id.as_bytes())?
            .unwrap_or_default();
        let mut keys = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(k) = self.get_json::<ApiKey>(tree::API_KEYS, id.as_bytes())?
                && k.user_id == user_id
            {
                keys.push(k);
            }
        }
        keys.sort_by_key(|k| std::cmp::Reverse((k.created_at, k.id)));
        Ok(keys)
    }

    async fn delete_api_key(&self, id: Uuid) -> StoreResult<bool> {
        self.write(|tx| remove_key(tx, id)).await
    }

    async fn touch_api_key(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        self.write(|tx| {
            if let Some(mut key) = tx.get_json::<ApiKey>(tree::API_KEYS, id.as_bytes())? {
                key.last_used_at = Some(at);
                tx.put_json(tree::API_KEYS, id.as_bytes(), &key)?;
            }
            Ok(())
        })
        .await
    }
}
