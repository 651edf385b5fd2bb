//! API keys: who may manage whose keys, creating, listing and deleting them, and acting
//! through one (the presented token checked, its owner and expiry, its request rate on
//! this instance, its last use).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::Helpdesk;
use crate::apikey::*;
use crate::error::{Error, Result};
use crate::principal::{KeyGrant, Principal, Role};
use crate::user::User;

impl Helpdesk {
    /// The owner of the keys of `user_id` when `p` may do `action` with them. Only a
    /// signed-in user manages keys (through a key: `Forbidden`). Staff manage their own
    /// (customers cannot have keys: `Forbidden`); admins read and delete anyone's and
    /// make keys for service accounts; anyone else gets `Forbidden` whether or not the
    /// user exists. An unknown user is `NotFound` (to admins).
    pub async fn api_key_owner(
        &self,
        p: &Principal,
        user_id: Uuid,
        action: KeyAction,
    ) -> Result<User> {
        p.require_session()?;
        if !p.is_system() && p.user_id == user_id {
            let me = self.active_account(p.user_id).await?;
            if !me.role.is_staff() {
                return Err(Error::forbidden("customers cannot have API keys"));
            }
            return Ok(me);
        }
        self.require_admin(p).await?;
        let owner = self.st().get_user(user_id).await?.ok_or(Error::NotFound)?;
        if action == KeyAction::Create {
            if !owner.role.is_staff() {
                return Err(Error::forbidden("customers cannot have API keys"));
            }
            if !owner.is_service && !p.is_system() {
                return Err(Error::forbidden(
                    "admins make keys for service accounts only; other users make their own",
                ));
            }
        }
        Ok(owner)
    }

    /// Makes a key for `user_id` (see [`Helpdesk::api_key_owner`] for who may); the
    /// answer holds its token, which is never seen again. At most
    /// [`MAX_KEYS_PER_USER`] keys per user, expired ones included until deleted.
    pub async fn create_api_key(
        &self,
        p: &Principal,
        user_id: Uuid,
        input: NewApiKey,
    ) -> Result<CreatedApiKey> {
        let owner = self.api_key_owner(p, user_id, KeyAction::Create).await?;
        let token = Token::generate();
        let key = input.validate(owner.id, owner.role == Role::Admin, &token, self.now())?;
        if !self.st().insert_api_key(&key, MAX_KEYS_PER_USER).await? {
            return Err(Error::invalid(
                "api_keys",
                format!(
                    "a user has at most {MAX_KEYS_PER_USER} keys, expired ones included: \
                     delete one first"
                ),
            ));
        }
        Ok(CreatedApiKey { key, token })
    }

    /// A user's keys, newest first.
    pub async fn list_api_keys(&self, p: &Principal, user_id: Uuid) -> Result<Vec<ApiKey>> {
        let owner = self.api_key_owner(p, user_id, KeyAction::Read).await?;
        Ok(self.st().list_api_keys(owner.id).await?)
    }

    /// One of a user's keys (`NotFound` if it is not theirs).
    pub async fn get_api_key(&self, p: &Principal, user_id: Uuid, key_id: Uuid) -> Result<ApiKey> {
        let owner = self.api_key_owner(p, user_id, KeyAction::Read).await?;
        self.st()
            .get_api_key(key_id)
            .await?
            .filter(|k| k.user_id == owner.id)
            .ok_or(Error::NotFound)
    }

    /// Deletes one of a user's keys: it stops working at once (a WebSocket open with it
    /// closes at its next recheck).
    pub async fn delete_api_key(&self, p: &Principal, user_id: Uuid, key_id: Uuid) -> Result<()> {
        let owner = self.api_key_owner(p, user_id, KeyAction::Delete).await?;
        let key = self
            .st()
            .get_api_key(key_id)
            .await?
            .filter(|k| k.user_id == owner.id)
            .ok_or(Error::NotFound)?;
        if self.st().delete_api_key(key.id).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// Who acts through the API key `token`: `Unauthorized` for a malformed token or a
    /// wrong checksum (refused before any lookup), an unknown or deleted key, or an
    /// owner who is deactivated (or no longer staff); `TokenExpired` for an expired
    /// key; `RateLimited` over the per-key rate of this instance. Records the use.
    pub(crate) async fn key_principal(&self, token: &str) -> Result<Principal> {
        if !well_formed(token) {
            return Err(Error::Unauthorized);
        }
        let key = self
            .st()
            .get_api_key_by_hash(&token_hash(token))
            .await?
            .ok_or(Error::Unauthorized)?;
        let now = self.now();
        let p = self.key_holder(&key, now).await?;
        if let Some(rate) = self.inner.config.limits.requests_per_api_key
            && let Some(retry_after_secs) = self.inner.key_requests.admit(key.id, rate, now)
        {
            return Err(Error::RateLimited { retry_after_secs });
        }
        if key.use_is_news(now) {
            self.st().touch_api_key(key.id, now).await?;
        }
        Ok(p)
    }

    /// Checks again the key a principal acts through (deleted, expired, owner
    /// deactivated: `Unauthorized`), with its owner's role now.
    pub(crate) async fn recheck_key(&self, p: &Principal, grant: KeyGrant) -> Result<Principal> {
        let key = self
            .st()
            .get_api_key(grant.id)
            .await?
            .filter(|k| k.user_id == p.user_id)
            .ok_or(Error::Unauthorized)?;
        match self.key_holder(&key, self.now()).await {
            Err(Error::TokenExpired) => Err(Error::Unauthorized),
            other => other,
        }
    }

    /// The principal of a stored key at `now`: its owner as the store holds them now,
    /// with the key's scopes.
    async fn key_holder(&self, key: &ApiKey, now: DateTime<Utc>) -> Result<Principal> {
        let owner = self.active_account(key.user_id).await?;
        if !owner.role.is_staff() {
            // A demotion deletes the keys; a key read just before that is refused too.
            return Err(Error::Unauthorized);
        }
        if key.expired(now) {
            return Err(Error::TokenExpired);
        }
        Ok(Principal {
            user_id: owner.id,
            role: owner.role,
            session_id: None,
            key: Some(KeyGrant {
                id: key.id,
                scopes: key.scopes,
            }),
        })
    }
}
