//! Signup, login (with the attempt limits), refresh-token rotation and reuse detection,
//! logout, and checking access tokens.

use crate::Helpdesk;
use crate::auth::*;
use crate::error::{Error, Result};
use crate::principal::Principal;
use crate::user::User;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::net::IpAddr;
use uuid::Uuid;

fn random_secret() -> String {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

/// The MAC of a refresh token's nonce, bound to its session.
fn refresh_mac(key: &Hmac<Sha256>, sid: Uuid, nonce: &str) -> Hmac<Sha256> {
    let mut mac = key.clone();
    mac.update(sid.as_bytes());
    mac.update(nonce.as_bytes());
    mac
}

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    sid: Uuid,
    role: crate::Role,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

impl Helpdesk {
    fn argon2(&self) -> Result<Argon2<'static>> {
        let c = &self.inner.config;
        let params = Params::new(c.argon2_m_cost, c.argon2_t_cost, 1, None)
            .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Runs argon2 work off the async threads, at most one per core at a time.
    async fn hashing<T: Send + 'static>(
        &self,
        work: impl FnOnce(Argon2<'static>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let argon = self.argon2()?;
        let _permit = self
            .inner
            .hashing
            .acquire()
            .await
            .map_err(|e| Error::Internal(format!("hashing closed: {e}")))?;
        tokio::task::spawn_blocking(move || work(argon))
            .await
            .map_err(|e| Error::Internal(format!("hashing task failed: {e}")))?
    }

    /// Hashes a password with argon2id.
    pub async fn hash_password(&self, password: &str) -> Result<String> {
        let password = password.to_string();
        self.hashing(move |argon| {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            argon
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| Error::Internal(format!("hashing failed: {e}")))
        })
        .await
    }

    /// Checks a password against a stored hash.
    pub async fn verify_password(&self, password: &str, hash: &str) -> Result<bool> {
        let (password, hash) = (password.to_string(), hash.to_string());
        self.hashing(move |argon| {
            let parsed = PasswordHash::new(&hash)
                .map_err(|e| Error::Internal(format!("stored hash unreadable: {e}")))?;
            Ok(argon.verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
    }

    async fn jwt_keys(&self) -> Result<&JwtKeys> {
        self.inner
            .jwt_keys
            .get_or_try_init(|| async {
                let secret = match &self.inner.config.jwt_secret {
                    Some(s) => s.clone(),
                    None => {
                        self.st()
                            .put_setting_if_absent("jwt_secret", &random_secret())
                            .await?
                    }
                };
                let mut refresh = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
                    .map_err(|e| Error::Internal(format!("refresh key: {e}")))?;
                refresh.update(b"helpdesk refresh token");
                Ok::<_, Error>(JwtKeys {
                    encoding: EncodingKey::from_secret(secret.as_bytes()),
                    decoding: DecodingKey::from_secret(secret.as_bytes()),
                    refresh,
                })
            })
            .await
    }

    async fn session_tokens(
        &self,
        user: User,
        session: &Session,
        refresh_secret: &str,
    ) -> Result<AuthTokens> {
        let now = self.now();
        let ttl = self.inner.config.access_token_ttl;
        let claims = Claims {
            sub: user.id,
            sid: session.id,
            role: user.role,
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
            iss: self.inner.config.jwt_issuer.clone(),
            aud: self.inner.config.jwt_issuer.clone(),
        };
        let keys = self.jwt_keys().await?;
        let access_token = jsonwebtoken::encode(&Header::default(), &claims, &keys.encoding)
            .map_err(|e| Error::Internal(format!("token signing failed: {e}")))?;
        Ok(AuthTokens {
            user,
            access_token,
            refresh_token: format!("{}.{}", session.id.simple(), refresh_secret),
            token_type: "Bearer",
            expires_in: ttl.num_seconds(),
            session_id: session.id,
        })
    }

    /// Who `user_id` is as the store holds them now: a principal with their current
    /// role, or `Unauthorized` when there is no such user or they are deactivated. What
    /// an application that authenticates its users itself uses instead of building a
    /// [`Principal`] from what it believes the role to be.
    pub async fn principal(&self, user_id: Uuid) -> Result<Principal> {
        let u = self.active_account(user_id).await?;
        Ok(Principal::user(u.id, u.role))
    }

    /// The user, if they exist and are active; else `Unauthorized`.
    pub(crate) async fn active_account(&self, user_id: Uuid) -> Result<User> {
        self.st()
            .get_user(user_id)
            .await?
            .filter(|u| u.is_active)
            .ok_or(Error::Unauthorized)
    }

    /// Fails unless `p` is the system or a user the store holds as an active admin now:
    /// admin operations do not trust the role a principal was made with (`Forbidden`
    /// after a demotion, `Unauthorized` after a deactivation).
    pub(crate) async fn require_admin(&self, p: &Principal) -> Result<()> {
        p.require_admin()?;
        if p.is_system() {
            return Ok(());
        }
        let user = self.active_account(p.user_id).await?;
        if user.role == crate::Role::Admin {
            Ok(())
        } else {
            Err(Error::forbidden("admins only"))
        }
    }

    /// Starts a session for a user whom the calling application authenticated itself
    /// (single sign-on) and hands out the same tokens a login does, for the HTTP API and
    /// the WebSocket. No password is checked: only call it for a user your application
    /// has verified. `Unauthorized` for an absent or deactivated user.
    pub async fn issue_tokens(&self, user_id: Uuid) -> Result<AuthTokens> {
        let user = self.active_account(user_id).await?;
        self.start_session(user).await
    }

    async fn start_session(&self, user: User) -> Result<AuthTokens> {
        let now = self.now();
        let id = crate::clock::new_id();
        let secret = self.refresh_secret(id).await?;
        let session = Session {
            id,
            user_id: user.id,
            refresh_hash: sha256_hex(secret.as_bytes()),
            refresh_expires_at: now + self.inner.config.refresh_token_ttl,
            created_at: now,
            revoked_at: None,
        };
        self.st().insert_session(&session).await?;
        self.session_tokens(user, &session, &secret).await
    }

    /// Self-signup: creates a customer and logs them in. Forbidden when signup is closed.
    pub async fn signup(&self, input: Signup) -> Result<AuthTokens> {
        self.signup_from(None, input).await
    }

    /// [`Helpdesk::signup`] from a client address: signups from one address are limited
    /// ([`crate::limit::Limits::signups_per_client`]), and every attempt counts.
    pub async fn signup_from(&self, client: Option<IpAddr>, input: Signup) -> Result<AuthTokens> {
        if !self.inner.config.signup_open {
            return Err(Error::forbidden("signup is closed"));
        }
        let counters = self.inner.config.limits.signup(client);
        self.check_attempts(&counters).await?;
        self.count_attempt(&counters).await?;
        let user = self
            .create_user(
                &Principal::system(),
                crate::user::NewUser::new(
                    &input.email,
                    &input.name,
                    crate::Role::Customer,
                    &input.password,
                ),
            )
            .await?;
        self.start_session(user).await
    }

    /// Logs in. A wrong email and a wrong password fail alike (`Unauthorized`), and take
    /// about as long. Failed logins are limited per email ([`Helpdesk::login_from`] adds
    /// the limits per client address).
    pub async fn login(&self, email: &str, password: &str) -> Result<AuthTokens> {
        self.login_from(None, email, password).await
    }

    /// [`Helpdesk::login`] from a client address. Over a limit of
    /// [`crate::limit::Limits`] the answer is `RateLimited` and the password is not
    /// checked; the limits count per submitted email whether or not such an account
    /// exists, so they reveal nothing.
    pub async fn login_from(
        &self,
        client: Option<IpAddr>,
        email: &str,
        password: &str,
    ) -> Result<AuthTokens> {
        crate::text::check("email", email)?;
        crate::text::check("password", password)?;
        let counters = self.inner.config.limits.failed_login(email, client);
        self.check_attempts(&counters).await?;
        let email = crate::user::normalize_email(email);
        let user = self.st().get_user_by_email(&email).await?;
        let accepted = match user {
            Some(user) => {
                let right = self.password_matches(password, &user).await?;
                (right && user.is_active).then_some(user)
            }
            None => {
                self.spend_a_check(password).await;
                None
            }
        };
        match accepted {
            Some(user) => self.start_session(user).await,
            None => {
                self.count_attempt(&counters).await?;
                Err(Error::Unauthorized)
            }
        }
    }

    /// Whether `password` is the user's; never for a user without a password. Takes
    /// about as long either way.
    pub(crate) async fn password_matches(&self, password: &str, user: &User) -> Result<bool> {
        match &user.password_hash {
            Some(hash) => self.verify_password(password, hash).await,
            None => {
                self.spend_a_check(password).await;
                Ok(false)
            }
        }
    }

    /// Spends the effort of a password check, so that timing does not reveal which
    /// accounts exist or have a password.
    async fn spend_a_check(&self, password: &str) {
        let _ = self.hash_password(password).await;
    }

    /// A new refresh secret for a session: a random nonce and its MAC over the session
    /// id (`<nonce>.<mac>`). The refresh token is `<session id>.<secret>`.
    async fn refresh_secret(&self, sid: Uuid) -> Result<String> {
        let nonce = random_secret();
        let mac = refresh_mac(&self.jwt_keys().await?.refresh, sid, &nonce).finalize();
        Ok(format!(
            "{nonce}.{}",
            URL_SAFE_NO_PAD.encode(mac.into_bytes())
        ))
    }

    /// Whether a presented refresh secret was issued by this installation for `sid`.
    async fn issued_refresh_secret(&self, sid: Uuid, secret: &str) -> Result<bool> {
        let Some((nonce, mac)) = secret.split_once('.') else {
            return Ok(false);
        };
        let Ok(mac) = URL_SAFE_NO_PAD.decode(mac) else {
            return Ok(false);
        };
        let expected = refresh_mac(&self.jwt_keys().await?.refresh, sid, nonce);
        Ok(expected.verify_slice(&mac).is_ok())
    }

    /// Trades a refresh token for a new pair. The old refresh token stops working; using
    /// a rotated one again revokes the whole session. A token that this installation
    /// never issued (a session id seen in an access token with made-up text after it)
    /// is refused without touching the session.
    pub async fn refresh(&self, refresh_token: &str) -> Result<AuthTokens> {
        let (sid, secret) = refresh_token.split_once('.').ok_or(Error::Unauthorized)?;
        let sid = Uuid::try_parse(sid).map_err(|_| Error::Unauthorized)?;
        let session = self
            .st()
            .get_session(sid)
            .await?
            .ok_or(Error::Unauthorized)?;
        let now = self.now();
        if session.revoked_at.is_some() {
            return Err(Error::Unauthorized);
        }
        let presented = sha256_hex(secret.as_bytes());
        if presented != session.refresh_hash {
            if self.issued_refresh_secret(sid, secret).await? {
                self.st().revoke_session(sid, now).await?;
                self.forget_access();
            }
            return Err(Error::Unauthorized);
        }
        if session.refresh_expires_at <= now {
            return Err(Error::Unauthorized);
        }
        let user = self
            .st()
            .get_user(session.user_id)
            .await?
            .ok_or(Error::Unauthorized)?;
        if !user.is_active {
            return Err(Error::Unauthorized);
        }
        let next = self.refresh_secret(sid).await?;
        let rotated = self
            .st()
            .rotate_refresh(
                sid,
                &presented,
                &sha256_hex(next.as_bytes()),
                now + self.inner.config.refresh_token_ttl,
            )
            .await?;
        if !rotated {
            // Someone used the same token a moment ago: that is reuse too.
            self.st().revoke_session(sid, now).await?;
            self.forget_access();
            return Err(Error::Unauthorized);
        }
        self.session_tokens(user, &session, &next).await
    }

    /// Ends the session the principal's token belongs to (`Forbidden` through an API
    /// key: delete the key instead).
    pub async fn logout(&self, p: &Principal) -> Result<()> {
        p.require_session()?;
        if let Some(sid) = p.session_id {
            self.st().revoke_session(sid, self.now()).await?;
            self.forget_access();
        }
        Ok(())
    }

    /// Checks a bearer token and returns who is acting, with the role the store holds
    /// now. An access token: signature (HS256 only), issuer, audience, expiry (against
    /// the injected clock), the session and the user. A token starting with `hd_pat_`
    /// is an API key ([`crate::apikey`]): its checksum, the key, its owner and expiry,
    /// and the per-key request rate; the principal carries the key's scopes.
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal> {
        if crate::apikey::is_api_key(access_token) {
            return self.key_principal(access_token).await;
        }
        let keys = self.jwt_keys().await?;
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_issuer(&[&self.inner.config.jwt_issuer]);
        validation.set_audience(&[&self.inner.config.jwt_issuer]);
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        let claims = jsonwebtoken::decode::<Claims>(access_token, &keys.decoding, &validation)
            .map_err(|_| Error::Unauthorized)?
            .claims;
        if claims.exp <= self.now().timestamp() {
            return Err(Error::TokenExpired);
        }
        self.session_principal(claims.sub, claims.sid).await
    }

    /// Checks again that an authenticated principal's session (or API key: not deleted,
    /// not expired) is live and its user active, and returns it with the role the store
    /// holds now: what a long-lived connection (a WebSocket) asks after its token was
    /// checked once.
    pub async fn recheck(&self, p: &Principal) -> Result<Principal> {
        if let Some(grant) = p.key {
            return self.recheck_key(p, grant).await;
        }
        let sid = p.session_id.ok_or(Error::Unauthorized)?;
        self.session_principal(p.user_id, sid).await
    }

    async fn session_principal(&self, user_id: Uuid, sid: Uuid) -> Result<Principal> {
        let user = self
            .live_session_user(sid)
            .await?
            .filter(|u| u.id == user_id && u.is_active)
            .ok_or(Error::Unauthorized)?;
        Ok(Principal {
            user_id: user.id,
            role: user.role,
            session_id: Some(sid),
            key: None,
        })
    }

    /// The user of a live session: this instance's copy for [`crate::access_cache::TTL`],
    /// else the store's.
    async fn live_session_user(&self, sid: Uuid) -> Result<Option<User>> {
        let cache = &self.inner.access;
        if let Some(user) = cache.session(sid) {
            return Ok(user);
        }
        let read = cache.generation();
        let user = self.st().live_session_user(sid).await?;
        cache.put_session(read, sid, user.clone());
        Ok(user)
    }

    /// The caller's user: through a session, as this instance keeps it (every user
    /// write here forgets it: a change is in force here at once, on other instances
    /// within [`crate::access_cache::TTL`]); else as the store has it.
    pub(crate) async fn caller_user(&self, p: &Principal) -> Result<Option<User>> {
        if let Some(sid) = p.session_id
            && let Some(user) = self.live_session_user(sid).await?
        {
            return Ok(Some(user));
        }
        Ok(self.st().get_user(p.user_id).await?)
    }

    /// Forgets this instance's copies of sessions, memberships and the default group,
    /// after a write that can take access away or move new tickets: in force here at
    /// once, on other instances within [`crate::access_cache::TTL`].
    pub(crate) fn forget_access(&self) {
        self.inner.access.clear();
    }
}
