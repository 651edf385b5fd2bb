//! Authentication: argon2id password hashing, JWT access tokens, refresh-token rotation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::principal::Principal;

/// A login session: one refresh-token family. The access tokens issued for it carry its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Id.
    pub id: Uuid,
    /// Whose session.
    pub user_id: Uuid,
    /// SHA-256 (hex) of the current refresh secret. A presented secret that does not
    /// match is a rotated one: its reuse revokes the session.
    pub refresh_hash: String,
    /// When the current refresh token expires.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub refresh_expires_at: DateTime<Utc>,
    /// Created.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
    /// Set when the session ended (logout, reuse, password change, deactivation).
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub revoked_at: Option<DateTime<Utc>>,
}

use hmac::Hmac;
use jsonwebtoken::{DecodingKey, EncodingKey};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::user::User;

/// The signing keys, made once from the configured or stored secret.
pub(crate) struct JwtKeys {
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
    /// Signs refresh tokens, so that only a token this installation issued can count as
    /// a reused one (and revoke its session).
    pub(crate) refresh: Hmac<Sha256>,
}

/// Tokens handed out by signup, login and refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthTokens {
    /// The user.
    pub user: User,
    /// A short-lived JWT.
    pub access_token: String,
    /// An opaque, single-use refresh token.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The session the tokens belong to.
    #[serde(skip)]
    pub(crate) session_id: Uuid,
}

impl AuthTokens {
    /// The principal these tokens stand for, as the store held the user when they were
    /// issued.
    pub fn principal(&self) -> Principal {
        Principal {
            user_id: self.user.id,
            role: self.user.role,
            session_id: Some(self.session_id),
            key: None,
        }
    }
}

/// Signup input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signup {
    /// Email.
    pub email: String,
    /// Password (8..=1024 bytes).
    pub password: String,
    /// Display name.
    pub name: String,
}

/// SHA-256 in lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Checks a password's length.
pub fn validate_password(field: &str, password: &str) -> Result<()> {
    crate::text::check(field, password)?;
    if !(8..=1024).contains(&password.len()) {
        return Err(Error::invalid(field, "must be 8 to 1024 bytes"));
    }
    Ok(())
}
