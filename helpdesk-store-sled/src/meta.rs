//! [`MetaStore`]: ping and settings (keys `setting:<name>` of the `meta` tree).

use async_trait::async_trait;

use helpdesk_core::store::{MetaStore, StoreResult};

use crate::keys::tree;
use crate::{SledStore, sled_error};

pub(crate) fn setting_key(key: &str) -> Vec<u8> {
    let mut k = b"setting:".to_vec();
    k.extend_from_slice(key.as_bytes());
    k
}

fn text(v: &[u8]) -> StoreResult<String> {
    String::from_utf8(v.to_vec())
        .map_err(|_| helpdesk_core::StoreError::Corrupt("a setting is not UTF-8".into()))
}

#[async_trait]
impl MetaStore for SledStore {
    async fn ping(&self) -> StoreResult<()> {
        self.tree(tree::META)
            .get(crate::SCHEMA_VERSION_KEY)
            .map(|_| ())
            .map_err(sled_error)
    }

    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
        match self
            .tree(tree::META)
            .get(setting_key(key))
            .map_err(sled_error)?
        {
            None => Ok(None),
            Some(v) => text(&v).map(Some),
        }
    }

    async fn put_setting_if_absent(&self, key: &str, value: &str) -> StoreResult<String> {
        let k = setting_key(key);
        let stored = self
            .write(|tx| {
                if let Some(v) = tx.get(tree::META, &k)? {
                    return Ok(v);
                }
                tx.put(tree::META, &k, value.as_bytes())?;
                Ok(value.as_bytes().into())
            })
            .await?;
        text(&stored)
    }
}
