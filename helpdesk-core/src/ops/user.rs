//! Creating, listing, changing and deactivating users; the caller's own profile and
//! password.

use crate::Helpdesk;
use crate::error::Conflict;
use crate::error::{Error, FieldError, Result, StoreError};
use crate::event::Effects;
use crate::organization::Affiliation;
use crate::page::Cursor;
use crate::page::{Page, limit};
use crate::principal::Principal;
use crate::user::*;
use std::net::IpAddr;
use uuid::Uuid;

/// Why a service account cannot be a customer.
const SERVICE_ROLE: &str = "a service account is an agent or an admin";
/// Why a service account has no password.
const SERVICE_PASSWORD: &str = "a service account has no password: it acts through API keys";

impl Helpdesk {
    /// Creates a user. Admins (and the system) may create any role. A service account
    /// is an agent or admin without a password. A customer given no organization joins,
    /// as a non-manager, the one listing exactly their email's domain, if any (never by
    /// a free-mail domain); only customers belong to one.
    pub async fn create_user(&self, p: &Principal, input: NewUser) -> Result<User> {
        self.require_admin(p).await?;
        let email = normalize_email(&input.email);
        let mut errors: Vec<FieldError> = Vec::new();
        let affiliation = Affiliation::default().change(
            input.role,
            input.organization_id.map(Some),
            Some(input.is_org_manager),
        );
        for check in [
            validate_email(&email).err(),
            validate_name(&input.name).err(),
            input
                .password
                .as_deref()
                .and_then(|pw| crate::auth::validate_password("password", pw).err()),
            (input.is_service && !input.role.is_staff())
                .then(|| Error::invalid("role", SERVICE_ROLE)),
            (input.is_service && input.password.is_some())
                .then(|| Error::invalid("password", SERVICE_PASSWORD)),
        ]
        .into_iter()
        .flatten()
        {
            if let Error::Validation(mut f) = check {
                errors.append(&mut f);
            }
        }
        if let Err(Error::Validation(f)) = &affiliation {
            errors.extend(f.iter().cloned());
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        let affiliation = affiliation?;
        self.check_organization_exists(affiliation.organization_id)
            .await?;
        let now = self.now();
        let mut user = User {
            id: crate::clock::new_id(),
            email,
            name: validate_name(&input.name)?,
            role: input.role,
            is_active: true,
            password_hash: match &input.password {
                Some(password) => Some(self.hash_password(password).await?),
                None => None,
            },
            organization_id: affiliation.organization_id,
            is_org_manager: affiliation.is_org_manager,
            is_service: input.is_service,
            read_receipts: Default::default(),
            email_notifications: input.email_notifications,
            created_at: now,
            updated_at: now,
        };
        let by_domain = user.role == crate::Role::Customer && input.organization_id.is_none();
        let mut tries = 0;
        loop {
            if by_domain {
                user.organization_id = self.organization_for_email(&user.email).await?;
            }
            // Staff join the default group in the same write (see `UserStore`).
            let inserted = self
                .written(self.st().insert_user(&user, &Effects::none()))
                .await;
            self.forget_access();
            match inserted {
                Err(Error::Store(e)) if e.is_conflict(Conflict::Email) => {
                    return Err(Error::EmailTaken);
                }
                // The organization was deleted since it was read: look again.
                Err(Error::Store(StoreError::NotFound)) if by_domain && tries < 3 => tries += 1,
                Err(Error::Store(StoreError::NotFound)) if user.organization_id.is_some() => {
                    return Err(no_such_organization());
                }
                other => return other.map(|_| user),
            }
        }
    }

    /// Writes a user read from the store and changed, but not in their organization
    /// fields: an organization deleted since the read has cleared them in the store, and
    /// the write keeps that rather than failing on the organization it no longer finds.
    async fn write_user(&self, user: &mut User) -> Result<()> {
        let mut tries = 0;
        loop {
            let written = self
                .written(self.st().update_user(user, &Effects::none()))
                .await;
            self.forget_access();
            match written {
                Err(Error::Store(StoreError::NotFound))
                    if user.organization_id.is_some() && tries < 3 =>
                {
                    tries += 1;
                    let stored = self.st().get_user(user.id).await?.ok_or(Error::NotFound)?;
                    user.organization_id = stored.organization_id;
                    user.is_org_manager = stored.is_org_manager;
                }
                other => return other,
            }
        }
    }

    /// Invalid `organization_id` unless the organization exists.
    async fn check_organization_exists(&self, id: Option<Uuid>) -> Result<()> {
        match id {
            Some(id) if self.st().get_organization(id).await?.is_none() => {
                Err(no_such_organization())
            }
            _ => Ok(()),
        }
    }

    /// The caller's own account.
    pub async fn me(&self, p: &Principal) -> Result<User> {
        self.st().get_user(p.user_id).await?.ok_or(Error::NotFound)
    }

    /// Any user's account; what of it a caller may see is the HTTP layer's business
    /// (email only to self and staff).
    pub async fn get_user(&self, _p: &Principal, id: Uuid) -> Result<User> {
        self.st().get_user(id).await?.ok_or(Error::NotFound)
    }

    /// Lists users (staff only), oldest first.
    pub async fn list_users(&self, p: &Principal, filter: UserFilter) -> Result<Page<User>> {
        p.require_staff()?;
        let limit = limit(filter.limit)?;
        crate::text::check("q", filter.q.as_deref().unwrap_or(""))?;
        let query = UserQuery {
            role: filter.role,
            q: filter.q.filter(|q| !q.trim().is_empty()),
            organization_id: filter.organization_id,
            cursor: filter.cursor,
            limit,
        };
        let users = self.st().list_users(&query).await?;
        Ok(Page::from_overfetch(users, limit, |u| {
            Cursor::new(u.created_at.timestamp_micros(), u.id)
        }))
    }

    /// Changes the caller's name or password. A password change needs the current
    /// password and ends every other session of the user (API keys stay). Not through an
    /// API key (`Forbidden`).
    pub async fn update_me(&self, p: &Principal, patch: ProfilePatch) -> Result<User> {
        self.update_me_from(None, p, patch).await
    }

    /// [`Helpdesk::update_me`] from a client address. A wrong `current_password` counts
    /// as a failed login for the account's email (a stolen access token must not allow
    /// unlimited guesses), and over the limits the answer is `RateLimited`.
    pub async fn update_me_from(
        &self,
        client: Option<IpAddr>,
        p: &Principal,
        patch: ProfilePatch,
    ) -> Result<User> {
        p.require_session()?;
        let mut user = self.me(p).await?;
        if let Some(name) = &patch.name {
            user.name = validate_name(name)?;
        }
        if let Some(password) = &patch.password {
            crate::auth::validate_password("password", password)?;
            let current = patch.current_password.as_deref().ok_or_else(|| {
                Error::invalid("current_password", "is required to change the password")
            })?;
            crate::text::check("current_password", current)?;
            let counters = self.inner.config.limits.failed_login(&user.email, client);
            self.check_attempts(&counters).await?;
            if !self.password_matches(current, &user).await? {
                self.count_attempt(&counters).await?;
                return Err(Error::invalid("current_password", "is not correct"));
            }
            user.password_hash = Some(self.hash_password(password).await?);
        }
        if let Some(mode) = patch.read_receipts {
            user.read_receipts = mode;
        }
        if let Some(on) = patch.email_notifications {
            user.email_notifications = on;
        }
        user.updated_at = self.now();
        self.write_user(&mut user).await?;
        if patch.password.is_some() {
            self.st()
                .revoke_user_sessions(user.id, p.session_id, self.now())
                .await?;
            self.forget_access();
        }
        Ok(user)
    }

    /// Changes a user's name, role, activation, organization or manager flag (admins).
    /// Deactivation ends every session of the user at once. A role change to agent or
    /// admin joins the group that is default then as a `full` member, and leaves the
    /// organization; a change to customer ends every membership and deletes every API
    /// key (all in the same write). A service account stays staff. The organization
    /// rules are [`Affiliation::change`]'s.
    pub async fn update_user(&self, p: &Principal, id: Uuid, patch: UserPatch) -> Result<User> {
        self.require_admin(p).await?;
        let mut user = self.st().get_user(id).await?.ok_or(Error::NotFound)?;
        let role_before = user.role;
        if let Some(name) = &patch.name {
            user.name = validate_name(name)?;
        }
        if let Some(role) = patch.role {
            if user.is_service && !role.is_staff() {
                return Err(Error::invalid("role", SERVICE_ROLE));
            }
            user.role = role;
        }
        if let Some(active) = patch.is_active {
            user.is_active = active;
        }
        let before = Affiliation::of(&user);
        let after = before.change(user.role, patch.organization_id, patch.is_org_manager)?;
        user.organization_id = after.organization_id;
        user.is_org_manager = after.is_org_manager;
        user.updated_at = self.now();
        if after.organization_id == before.organization_id {
            self.write_user(&mut user).await?;
        } else {
            self.check_organization_exists(after.organization_id)
                .await?;
            let written = self
                .written(self.st().update_user(&user, &Effects::none()))
                .await;
            self.forget_access();
            match written {
                // The user exists (read above): the organization was deleted meanwhile.
                Err(Error::Store(StoreError::NotFound)) if user.organization_id.is_some() => {
                    return Err(no_such_organization());
                }
                other => other?,
            }
        }
        if role_before != user.role {
            // A role change may end what made them an assignee (customers have no
            // groups; an admin made agent keeps only their groups' `full` access).
            self.withdraw_where_not_allowed(p, id, None).await?;
        }
        if patch.is_active == Some(false) {
            self.st()
                .revoke_user_sessions(user.id, None, self.now())
                .await?;
            self.forget_access();
        }
        Ok(user)
    }

    /// Sets a user's password (admins; the CLI's reset-password). Ends their sessions.
    pub async fn set_password(&self, p: &Principal, id: Uuid, password: &str) -> Result<User> {
        self.require_admin(p).await?;
        crate::auth::validate_password("password", password)?;
        let mut user = self.st().get_user(id).await?.ok_or(Error::NotFound)?;
        if user.is_service {
            return Err(Error::invalid("password", SERVICE_PASSWORD));
        }
        user.password_hash = Some(self.hash_password(password).await?);
        user.updated_at = self.now();
        self.write_user(&mut user).await?;
        self.st()
            .revoke_user_sessions(user.id, None, self.now())
            .await?;
        self.forget_access();
        Ok(user)
    }

    /// A user by email (staff; the CLI's `--as` and lookups).
    pub async fn find_user_by_email(&self, p: &Principal, email: &str) -> Result<User> {
        p.require_staff()?;
        self.st()
            .get_user_by_email(&normalize_email(email))
            .await?
            .ok_or(Error::NotFound)
    }

    /// True when the store has no users yet (first start).
    pub async fn has_no_users(&self) -> Result<bool> {
        Ok(self.st().count_users().await? == 0)
    }
}

fn no_such_organization() -> Error {
    Error::invalid("organization_id", "no such organization")
}
