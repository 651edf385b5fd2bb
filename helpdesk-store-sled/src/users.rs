//! [`UserStore`]: users (unique email index, list indexes by creation and by role, the
//! active-staff set, a user counter) and sessions (indexed by user).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use helpdesk_core::Conflict;
use helpdesk_core::StoreError;
use helpdesk_core::auth::Session;
use helpdesk_core::event::Effects;
use helpdesk_core::principal::Role;
use helpdesk_core::store::{AttemptWindow, StoreResult, UserStore};
use helpdesk_core::user::{User, UserQuery};

use crate::effects::write_effects;
use crate::groups::apply_staff_change;
use crate::keys::{Key, trailing_id, tree};
use crate::organization_record::{check_organization, members_prefix, moved};
use crate::{SledStore, Tx, TxResult, abort};

pub(crate) const USER_COUNT: &[u8] = b"user_count";

fn role_byte(r: Role) -> u8 {
    match r {
        Role::Admin => b'a',
        Role::Agent => b'g',
        Role::Customer => b'c',
    }
}

fn index_keys(u: &User) -> Vec<Key> {
    let mut keys = vec![
        Key::new().tag(b'c').micros(u.created_at).id(u.id),
        Key::new()
            .tag(b'r')
            .tag(role_byte(u.role))
            .micros(u.created_at)
            .id(u.id),
    ];
    if let Some(org) = u.organization_id {
        keys.push(members_prefix(org).micros(u.created_at).id(u.id));
    }
    if u.is_active && u.role.is_staff() {
        keys.push(Key::new().tag(b'S').id(u.id));
    }
    keys
}

/// Writes a user and moves their index entries from `old`. The organization they name
/// must exist.
pub(crate) fn put_user(tx: &Tx<'_>, u: &User, old: Option<&User>) -> TxResult<()> {
    check_organization(tx, u.organization_id)?;
    moved(tx, old.and_then(|o| o.organization_id), u.organization_id)?;
    if let Some(old) = old {
        for k in index_keys(old) {
            tx.del(tree::USER_IDX, k)?;
        }
        if old.email != u.email {
            tx.del(tree::USER_EMAILS, old.email.as_bytes())?;
        }
    }
    tx.put_json(tree::USERS, u.id.as_bytes(), u)?;
    tx.put(tree::USER_EMAILS, u.email.as_bytes(), u.id.as_bytes())?;
    for k in index_keys(u) {
        tx.put(tree::USER_IDX, k, &[][..])?;
    }
    Ok(())
}

fn email_owner(tx: &Tx<'_>, email: &str) -> TxResult<Option<Uuid>> {
    Ok(tx
        .get(tree::USER_EMAILS, email.as_bytes())?
        .and_then(|v| Uuid::from_slice(&v).ok()))
}

pub(crate) fn session_key(s: &Session) -> Key {
    Key::new().id(s.user_id).id(s.id)
}

fn revoke(tx: &Tx<'_>, id: Uuid, at: DateTime<Utc>) -> TxResult<()> {
    if let Some(mut s) = tx.get_json::<Session>(tree::SESSIONS, id.as_bytes())?
        && s.revoked_at.is_none()
    {
        s.revoked_at = Some(at);
        tx.put_json(tree::SESSIONS, id.as_bytes(), &s)?;
    }
    Ok(())
}

#[async_trait]
impl UserStore for SledStore {
    async fn insert_user(&self, user: &User, fx: &Effects) -> StoreResult<()> {
        self.write(|tx| {
            if email_owner(tx, &user.email)?.is_some()
                || tx.exists(tree::USERS, user.id.as_bytes())?
            {
                return abort(StoreError::Conflict(Conflict::Email));
            }
            put_user(tx, user, None)?;
            let n = tx.get_u64(tree::META, USER_COUNT)?;
            tx.put_u64(tree::META, USER_COUNT, n + 1)?;
            apply_staff_change(tx, None, user)?;
            write_effects(tx, fx)
        })
        .await
    }

    async fn update_user(&self, user: &User, fx: &Effects) -> StoreResult<()> {
        self.write(|tx| {
            let Some(old) = tx.get_json::<User>(tree::USERS, user.id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            if email_owner(tx, &user.email)?.is_some_and(|owner| owner != user.id) {
                return abort(StoreError::Conflict(Conflict::Email));
            }
            put_user(tx, user, Some(&old))?;
            apply_staff_change(tx, Some(old.role), user)?;
            write_effects(tx, fx)
        })
        .await
    }

    async fn get_user(&self, id: Uuid) -> StoreResult<Option<User>> {
        self.get_json(tree::USERS, id.as_bytes())
    }

    async fn get_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let Some(id) = self
            .tree(tree::USER_EMAILS)
            .get(email.as_bytes())
            .map_err(crate::sled_error)?
        else {
            return Ok(None);
        };
        let id =
            Uuid::from_slice(&id).map_err(|_| StoreError::Corrupt("bad email index".into()))?;
        Ok(self
            .get_json::<User>(tree::USERS, id.as_bytes())?
            .filter(|u| u.email == email))
    }

    async fn list_users(&self, q: &UserQuery) -> StoreResult<Vec<User>> {
        let prefix = match (q.organization_id, q.role) {
            (Some(org), _) => members_prefix(org),
            (None, Some(r)) => Key::new().tag(b'r').tag(role_byte(r)),
            (None, None) => Key::new().tag(b'c'),
        };
        let after = q.cursor.map(|c| prefix.clone().i64(c.key).id(c.id));
        let needle = q.q.as_ref().map(|s| s.to_lowercase());
        self.records_by_index(
            self.scan(
                tree::USER_IDX,
                prefix.bytes(),
                after.as_ref().map(Key::bytes),
                false,
            ),
            tree::USERS,
            q.limit.saturating_add(1),
            |k, _| trailing_id(k),
            |k, u: &User| {
                prefix.clone().micros(u.created_at).id(u.id).bytes() == k
                    && q.role.is_none_or(|r| r == u.role)
                    && q.organization_id
                        .is_none_or(|o| u.organization_id == Some(o))
                    && needle.as_ref().is_none_or(|n| {
                        u.name.to_lowercase().contains(n) || u.email.to_lowercase().contains(n)
                    })
            },
        )
    }

    async fn count_users(&self) -> StoreResult<u64> {
        match self
            .tree(tree::META)
            .get(USER_COUNT)
            .map_err(crate::sled_error)?
        {
            None => Ok(0),
            Some(v) => crate::keys::u64_value(&v)
                .ok_or_else(|| StoreError::Corrupt("bad user counter".into())),
        }
    }

    async fn staff_ids(&self) -> StoreResult<Vec<Uuid>> {
        Ok(self
            .keys_with_prefix(tree::USER_IDX, b"S")?
            .iter()
            .filter_map(|k| trailing_id(k))
            .collect())
    }

    async fn insert_session(&self, session: &Session) -> StoreResult<()> {
        self.write(|tx| {
            tx.put_json(tree::SESSIONS, session.id.as_bytes(), session)?;
            tx.put(tree::USER_SESSIONS, session_key(session), &[][..])
        })
        .await
    }

    async fn get_session(&self, id: Uuid) -> StoreResult<Option<Session>> {
        self.get_json(tree::SESSIONS, id.as_bytes())
    }

    async fn rotate_refresh(
        &self,
        id: Uuid,
        expected_hash: &str,
        new_hash: &str,
        new_expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let rotated =
            self.transact(
                |tx| match tx.get_json::<Session>(tree::SESSIONS, id.as_bytes())? {
                    Some(mut s) if s.revoked_at.is_none() && s.refresh_hash == expected_hash => {
                        s.refresh_hash = new_hash.to_string();
                        s.refresh_expires_at = new_expires_at;
                        tx.put_json(tree::SESSIONS, id.as_bytes(), &s)?;
                        Ok(true)
                    }
                    _ => Ok(false),
                },
            )?;
        if rotated {
            self.flush().await?;
        }
        Ok(rotated)
    }

    async fn revoke_session(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        self.write(|tx| revoke(tx, id, at)).await
    }

    async fn revoke_user_sessions(
        &self,
        user_id: Uuid,
        except: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let ids: Vec<Uuid> = self
            .keys_with_prefix(tree::USER_SESSIONS, user_id.as_bytes())?
            .iter()
            .filter_map(|k| trailing_id(k))
            .filter(|id| Some(*id) != except)
            .collect();
        self.write(|tx| {
            for id in &ids {
                revoke(tx, *id, at)?;
            }
            Ok(())
        })
        .await
    }
    async fn recent_attempts(
        &self,
        windows: &[AttemptWindow],
    ) -> StoreResult<Vec<Vec<DateTime<Utc>>>> {
        self.attempts_in(windows)
    }
    async fn record_attempt(
        &self,
        keys: &[String],
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.count_attempt(keys, at, forget_before).await
    }
}
