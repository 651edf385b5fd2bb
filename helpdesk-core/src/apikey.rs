//! API keys: personal access tokens of staff and service accounts (API-access.md, "API
//! keys"). The token format, the stored record (only a SHA-256 of the token is kept)
//! and the rules of a new key. The operations are in `ops/apikey.rs`; the scopes in
//! [`crate::scope`].
//!
//! A token is `hd_pat_` + 43 + 6 base62 characters (`0-9A-Za-z`), 56 in all: the 43 are
//! 32 random bytes as a big-endian number, the 6 the CRC-32/ISO-HDLC (zlib's) of those 43
//! ASCII characters, each left-padded with `0`. The checksum lets a mistyped or made-up
//! token be refused before any lookup.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, FieldError, Result};
use crate::scope::{Scope, Scopes};

/// What every token starts with.
pub const TOKEN_PREFIX: &str = "hd_pat_";
/// The length of a token.
pub const TOKEN_LEN: usize = TOKEN_PREFIX.len() + SECRET_LEN + CHECKSUM_LEN;
/// How many leading characters of a token are kept and shown as its `prefix`.
pub const SHOWN_PREFIX_LEN: usize = 15;
/// At most this many keys per user, expired ones included until deleted.
pub const MAX_KEYS_PER_USER: usize = 50;
/// A key's lifetime when none is asked for.
pub const DEFAULT_LIFETIME_DAYS: i64 = 90;
/// The longest lifetime a key may have.
pub const MAX_LIFETIME_DAYS: i64 = 365;
/// `last_used_at` is written at most this often (seconds), so that a busy key does not
/// turn every read into a write.
pub const LAST_USED_EVERY_SECS: i64 = 60;

const SECRET_LEN: usize = 43;
const CHECKSUM_LEN: usize = 6;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A stored API key. The token itself is not kept: [`ApiKey::token_hash`] is its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Id (UUID v7).
    pub id: Uuid,
    /// The owner: an agent or admin (a service account or not).
    pub user_id: Uuid,
    /// What the owner calls it (1..=100 characters).
    pub name: String,
    /// The token's first [`SHOWN_PREFIX_LEN`] characters, to recognise it by.
    pub prefix: String,
    /// SHA-256 (lowercase hex) of the whole token; unique.
    pub token_hash: String,
    /// What the key may be used for (never empty).
    pub scopes: Scopes,
    /// When it stops working.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub expires_at: DateTime<Utc>,
    /// When it was last used, to the minute ([`LAST_USED_EVERY_SECS`]).
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// Created.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
}

impl ApiKey {
    /// Whether the key has expired at `now`.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }

    /// Whether a use at `now` should be written as `last_used_at`.
    pub fn use_is_news(&self, now: DateTime<Utc>) -> bool {
        self.last_used_at
            .is_none_or(|at| now - at >= Duration::seconds(LAST_USED_EVERY_SECS))
    }
}

/// Input for a new key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// Its name (1..=100 characters, trimmed).
    pub name: String,
    /// Its scopes (not empty; `admin` only for an admin's key).
    pub scopes: Scopes,
    /// When it stops working (after now, at most [`MAX_LIFETIME_DAYS`] away); `None`:
    /// [`DEFAULT_LIFETIME_DAYS`] from now.
    pub expires_at: Option<DateTime<Utc>>,
}

impl NewApiKey {
    /// The key of `owner` that this input makes at `now` for `token`, or every field
    /// that is wrong. `owner_is_admin`: whether `admin` may be among the scopes.
    pub fn validate(
        &self,
        owner: Uuid,
        owner_is_admin: bool,
        token: &Token,
        now: DateTime<Utc>,
    ) -> Result<ApiKey> {
        let mut errors = match crate::text::check("name", &self.name) {
            Err(Error::Validation(e)) => e,
            _ => Vec::new(),
        };
        let mut wrong = |field: &str, message: &str| {
            errors.push(FieldError {
                field: field.into(),
                message: message.into(),
            })
        };
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            wrong("name", "must be 1 to 100 characters");
        }
        if self.scopes.is_empty() {
            wrong("scopes", "must name at least one scope");
        } else if self.scopes.contains(Scope::Admin) && !owner_is_admin {
            wrong("scopes", "`admin` is only for an admin's keys");
        }
        let expires_at = self
            .expires_at
            .map(crate::clock::truncate)
            .unwrap_or(now + Duration::days(DEFAULT_LIFETIME_DAYS));
        if expires_at <= now {
            wrong("expires_at", "must be in the future");
        } else if expires_at > now + Duration::days(MAX_LIFETIME_DAYS) {
            wrong("expires_at", "must be at most 365 days away");
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        Ok(ApiKey {
            id: crate::clock::new_id(),
            user_id: owner,
            name: name.to_string(),
            prefix: token.shown_prefix().to_string(),
            token_hash: token.hash(),
            scopes: self.scopes,
            expires_at,
            last_used_at: None,
            created_at: now,
        })
    }
}

/// What is done with a user's keys, for [`Helpdesk::api_key_owner`](crate::Helpdesk::api_key_owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    /// Listing them or reading one.
    Read,
    /// Making one.
    Create,
    /// Deleting one.
    Delete,
}

/// A key just made, with its token: the only time the token is seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedApiKey {
    /// The stored key.
    pub key: ApiKey,
    /// The token, shown once.
    pub token: Token,
}

/// A whole API key token. Its `Debug` shows only the prefix, so that logging a value
/// that holds one does not leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token({}…)", self.shown_prefix())
    }
}

impl Token {
    /// A new token from 32 random bytes.
    pub fn generate() -> Self {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        Token::from_secret(secret)
    }

    /// The token of these 32 bytes (for test vectors; use [`Token::generate`]).
    pub fn from_secret(secret: [u8; 32]) -> Self {
        let body = base62(&secret, SECRET_LEN);
        let checksum = base62(
            &crc32fast::hash(body.as_bytes()).to_be_bytes(),
            CHECKSUM_LEN,
        );
        Token(format!("{TOKEN_PREFIX}{body}{checksum}"))
    }

    /// The whole token, to hand to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The first [`SHOWN_PREFIX_LEN`] characters.
    pub fn shown_prefix(&self) -> &str {
        &self.0[..SHOWN_PREFIX_LEN]
    }

    /// The SHA-256 that is stored.
    pub fn hash(&self) -> String {
        token_hash(&self.0)
    }
}

/// Whether a bearer token is meant as an API key (it starts with [`TOKEN_PREFIX`]),
/// well-formed or not: such a token is never taken for another kind.
pub fn is_api_key(token: &str) -> bool {
    token.starts_with(TOKEN_PREFIX)
}

/// Whether `token` has the shape of a token and its checksum matches: checked before
/// any lookup.
pub fn well_formed(token: &str) -> bool {
    let Some(rest) = token.strip_prefix(TOKEN_PREFIX) else {
        return false;
    };
    if rest.len() != SECRET_LEN + CHECKSUM_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (body, checksum) = rest.split_at(SECRET_LEN);
    // 43 base62 digits can exceed 2^256; such a body is no secret of ours.
    decode_base62(body).is_some_and(|n| n.len() <= 32)
        && base62(
            &crc32fast::hash(body.as_bytes()).to_be_bytes(),
            CHECKSUM_LEN,
        ) == checksum
}

/// The SHA-256 (lowercase hex) of a presented token, as [`ApiKey::token_hash`] holds it.
pub fn token_hash(token: &str) -> String {
    crate::auth::sha256_hex(token.as_bytes())
}

/// `bytes` (big-endian) in base62, left-padded with `0` to `width` characters.
fn base62(bytes: &[u8], width: usize) -> String {
    let mut number = bytes.to_vec();
    let mut digits = Vec::with_capacity(width);
    while number.iter().any(|b| *b != 0) {
        // Long division by 62, most significant byte first.
        let mut rem = 0u32;
        for b in number.iter_mut() {
            let acc = (rem << 8) | u32::from(*b);
            *b = (acc / 62) as u8;
            rem = acc % 62;
        }
        digits.push(BASE62[rem as usize]);
    }
    while digits.len() < width {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

/// A base62 number as big-endian bytes without leading zeros (`None`: a character
/// outside the alphabet).
fn decode_base62(text: &str) -> Option<Vec<u8>> {
    let mut number: Vec<u8> = Vec::new();
    for c in text.bytes() {
        let digit = BASE62.iter().position(|d| *d == c)? as u32;
        // number = number * 62 + digit, least significant byte last.
        let mut carry = digit;
        for b in number.iter_mut().rev() {
            let acc = u32::from(*b) * 62 + carry;
            *b = (acc & 0xff) as u8;
            carry = acc >> 8;
        }
        while carry > 0 {
            number.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    Some(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Computed independently with Python's `zlib.crc32` and its own base62:
    /// `"hd_pat_" + b62(int.from_bytes(b, "big"), 43) + b62(zlib.crc32(body), 6)`.
    const VECTORS: [([u8; 32], &str); 3] = [
        (
            [
                0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                23, 24, 25, 26, 27, 28, 29, 30, 31,
            ],
            "hd_pat_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf1Yo7hP",
        ),
        (
            [0; 32],
            "hd_pat_00000000000000000000000000000000000000000002CZclj",
        ),
        (
            [255; 32],
            "hd_pat_yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp13sRzl1",
        ),
    ];

    #[test]
    fn tokens_match_the_reference_vectors() {
        for (secret, expected) in VECTORS {
            let token = Token::from_secret(secret);
            assert_eq!(token.expose(), expected);
            assert_eq!(token.expose().len(), TOKEN_LEN);
            assert_eq!(token.shown_prefix(), &expected[..15]);
            assert!(well_formed(expected), "{expected}");
        }
        assert_eq!(TOKEN_LEN, 56);
    }

    #[test]
    fn generated_tokens_are_well_formed_and_differ() {
        let a = Token::generate();
        let b = Token::generate();
        assert_ne!(a, b);
        for t in [&a, &b] {
            assert!(well_formed(t.expose()));
            assert_eq!(t.expose().len(), TOKEN_LEN);
            assert!(t.expose().starts_with(TOKEN_PREFIX));
        }
        assert_eq!(a.hash(), token_hash(a.expose()));
        assert!(!format!("{a:?}").contains(&a.expose()[15..]));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let good = VECTORS[0].1;
        // One character changed in the secret, in the checksum; cut short; too long;
        // outside the alphabet; another prefix; a body above 2^256.
        let mut flipped = good.to_string();
        flipped.replace_range(10..11, "X");
        let mut bad_sum = good.to_string();
        bad_sum.replace_range(55..56, "Q");
        for bad in [
            flipped.as_str(),
            bad_sum.as_str(),
            &good[..55],
            &format!("{good}0"),
            &good.replace('a', "-"),
            &good.replace("hd_pat_", "hd_pak_"),
            "",
            "hd_pat_",
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
        let body = "z".repeat(43);
        let sum = base62(&crc32fast::hash(body.as_bytes()).to_be_bytes(), 6);
        assert!(!well_formed(&format!("hd_pat_{body}{sum}")));
    }

    #[test]
    fn new_keys_are_validated() {
        let now = DateTime::<Utc>::from_timestamp(1_750_000_000, 0).unwrap();
        let token = Token::from_secret([7; 32]);
        let owner = Uuid::nil();
        let input = |name: &str, scopes: Scopes, expires_at| NewApiKey {
            name: name.into(),
            scopes,
            expires_at,
        };
        let read = Scopes::one(Scope::TicketsRead);
        let key = input(" CI ", read, None)
            .validate(owner, false, &token, now)
            .unwrap();
        assert_eq!(key.name, "CI");
        assert_eq!(key.expires_at, now + Duration::days(90));
        assert_eq!(key.prefix, &token.expose()[..15]);
        assert_eq!(key.token_hash, token.hash());

        let fields = |r: Result<ApiKey>| match r {
            Err(Error::Validation(e)) => e.into_iter().map(|f| f.field).collect::<Vec<_>>(),
            other => panic!("expected a validation error, got {other:?}"),
        };
        assert_eq!(
            fields(input("", Scopes::NONE, Some(now)).validate(owner, true, &token, now)),
            ["name", "scopes", "expires_at"]
        );
        assert_eq!(
            fields(
                input(&"n".repeat(101), Scopes::one(Scope::Admin), None)
                    .validate(owner, false, &token, now)
            ),
            ["name", "scopes"]
        );
        assert!(
            input("x", Scopes::one(Scope::Admin), None)
                .validate(owner, true, &token, now)
                .is_ok()
        );
        let far = Some(now + Duration::days(365) + Duration::seconds(1));
        assert_eq!(
            fields(input("x", read, far).validate(owner, false, &token, now)),
            ["expires_at"]
        );
        assert!(
            input("x", read, Some(now + Duration::days(365)))
                .validate(owner, false, &token, now)
                .is_ok()
        );
    }

    #[test]
    fn last_use_is_written_once_a_minute() {
        let now = DateTime::<Utc>::from_timestamp(1_750_000_000, 0).unwrap();
        let mut key = NewApiKey {
            name: "x".into(),
            scopes: Scopes::one(Scope::KbRead),
            expires_at: None,
        }
        .validate(Uuid::nil(), false, &Token::generate(), now)
        .unwrap();
        assert!(key.use_is_news(now));
        key.last_used_at = Some(now);
        assert!(!key.use_is_news(now + Duration::seconds(59)));
        assert!(key.use_is_news(now + Duration::seconds(60)));
        assert!(!key.expired(now));
        assert!(key.expired(key.expires_at));
    }
}
