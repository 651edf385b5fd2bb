//! Reply tokens: the `+<number>-<mac>` part of a reply address that threads a mail to its
//! ticket without a lookup, and the mail key that signs them.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// How many bytes of the HMAC a token keeps (80 bits, 16 base32 characters).
const MAC_BYTES: usize = 10;
/// The length of a token's MAC in base32 characters.
pub const MAC_CHARS: usize = 16;

/// The installation's secret for reply tokens: 32 random bytes, generated once and kept in
/// the store.
#[derive(Clone, PartialEq, Eq)]
pub struct MailKey([u8; 32]);

impl MailKey {
    /// A new random key.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The key from its stored bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key from a stored slice; `None` unless it is exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    /// The bytes to store.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    fn mac(&self, subject: &str) -> HmacSha256 {
        // HMAC accepts a key of any length, so this cannot fail.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(subject.as_bytes());
        mac
    }

    fn token_mac(&self, subject: &str) -> String {
        let tag = self.mac(subject).finalize().into_bytes();
        BASE32_NOPAD.encode(&tag[..MAC_BYTES]).to_ascii_lowercase()
    }

    fn verify(&self, subject: &str, mac: &str) -> bool {
        if mac.len() != MAC_CHARS {
            return false;
        }
        let Ok(given) = BASE32_NOPAD.decode(mac.to_ascii_uppercase().as_bytes()) else {
            return false;
        };
        // Constant time over the truncated tag.
        self.mac(subject).verify_truncated_left(&given).is_ok() && given.len() == MAC_BYTES
    }

    /// The ticket token `<number>-<mac>`, mac over `"ticket:" + ticket_id`.
    pub fn ticket_token(&self, number: u64, ticket_id: Uuid) -> String {
        format!("{number}-{}", self.token_mac(&ticket_subject(ticket_id)))
    }

    /// The personal token of one recipient, mac over `"ticket:" + ticket_id + ":" + user_id`:
    /// it holds only for mail from that user.
    pub fn personal_token(&self, number: u64, ticket_id: Uuid, user_id: Uuid) -> String {
        format!(
            "{number}-{}",
            self.token_mac(&personal_subject(ticket_id, user_id))
        )
    }

    /// Whether `token` is the ticket token of `ticket_id` (constant time).
    pub fn verify_ticket(&self, token: &ReplyToken, ticket_id: Uuid) -> bool {
        self.verify(&ticket_subject(ticket_id), &token.mac)
    }

    /// Whether `token` is the personal token of `ticket_id` for `user_id` (constant time).
    pub fn verify_personal(&self, token: &ReplyToken, ticket_id: Uuid, user_id: Uuid) -> bool {
        self.verify(&personal_subject(ticket_id, user_id), &token.mac)
    }
}

impl std::fmt::Debug for MailKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MailKey(..)")
    }
}

fn ticket_subject(ticket_id: Uuid) -> String {
    format!("ticket:{ticket_id}")
}

fn personal_subject(ticket_id: Uuid, user_id: Uuid) -> String {
    format!("ticket:{ticket_id}:{user_id}")
}

/// A token read from a recipient address: the ticket number and the MAC to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyToken {
    /// The ticket number it names.
    pub number: u64,
    /// The MAC, lower-case base32.
    pub mac: String,
}

impl ReplyToken {
    /// The token in an address whose local part ends `+<number>-<mac>`, if any.
    pub fn from_address(address: &str) -> Option<Self> {
        let (local, _domain) = address.trim().rsplit_once('@')?;
        let (_, tail) = local.rsplit_once('+')?;
        let (number, mac) = tail.split_once('-')?;
        if number.is_empty() || number.len() > 19 || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mac = mac.to_ascii_lowercase();
        if mac.len() != MAC_CHARS || !mac.bytes().all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7')) {
            return None;
        }
        Some(Self {
            number: number.parse().ok()?,
            mac,
        })
    }
}

/// The mailbox address with `+<token>` after its local part (`support+42-…@example.com`).
pub fn reply_address(mailbox_address: &str, token: &str) -> String {
    match mailbox_address.rsplit_once('@') {
        Some((local, domain)) => format!("{local}+{token}@{domain}"),
        None => format!("{mailbox_address}+{token}"),
    }
}

/// The address without a `+…` subaddress, lower-cased: what a mailbox address is compared
/// with (`Support+42-abc@Example.com` → `support@example.com`).
pub fn base_address(address: &str) -> String {
    let address = address.trim().to_lowercase();
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split_once('+').map_or(local, |(l, _)| l);
            format!("{local}@{domain}")
        }
        None => address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MailKey {
        MailKey::from_bytes([7; 32])
    }

    #[test]
    fn ticket_token_round_trips_and_is_bound_to_the_ticket() {
        let ticket = Uuid::from_u128(1);
        let token = key().ticket_token(42, ticket);
        let (number, mac) = token.split_once('-').unwrap();
        assert_eq!(number, "42");
        assert_eq!(mac.len(), 16);
        assert!(mac.bytes().all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7')));
        let address = reply_address("support@example.com", &token);
        assert!(address.starts_with("support+42-") && address.ends_with("@example.com"));
        let parsed = ReplyToken::from_address(&address).unwrap();
        assert_eq!(parsed.number, 42);
        assert!(key().verify_ticket(&parsed, ticket));
        assert!(!key().verify_ticket(&parsed, Uuid::from_u128(2)));
        assert!(!MailKey::from_bytes([8; 32]).verify_ticket(&parsed, ticket));
        // Upper-case from a client that shouts still verifies.
        let shouted = ReplyToken::from_address(&address.to_uppercase()).unwrap();
        assert!(key().verify_ticket(&shouted, ticket));
    }

    #[test]
    fn personal_token_holds_only_for_its_user() {
        let (ticket, alice, bob) = (Uuid::from_u128(1), Uuid::from_u128(10), Uuid::from_u128(11));
        let token = key().personal_token(7, ticket, alice);
        let parsed = ReplyToken::from_address(&reply_address("help@x.org", &token)).unwrap();
        assert!(key().verify_personal(&parsed, ticket, alice));
        assert!(!key().verify_personal(&parsed, ticket, bob));
        assert!(!key().verify_ticket(&parsed, ticket));
        assert_ne!(token, key().ticket_token(7, ticket));
    }

    #[test]
    fn malformed_tokens_are_none() {
        for address in [
            "support@example.com",
            "support+@example.com",
            "support+42@example.com",
            "support+x2-aaaaaaaaaaaaaaaa@example.com",
            "support+42-aaaa@example.com",
            "support+42-aaaaaaaaaaaaaaa1@example.com",
            "support+42-aaaaaaaaaaaaaaaaa@example.com",
            "support+99999999999999999999-aaaaaaaaaaaaaaaa@example.com",
            "no-at-sign+42-aaaaaaaaaaaaaaaa",
        ] {
            assert_eq!(ReplyToken::from_address(address), None, "{address}");
        }
        let forged = ReplyToken::from_address("s+1-aaaaaaaaaaaaaaaa@x.org").unwrap();
        assert!(!key().verify_ticket(&forged, Uuid::from_u128(1)));
    }

    #[test]
    fn key_bytes_round_trip_and_generate_differs() {
        let k = MailKey::generate();
        assert_eq!(MailKey::from_slice(&k.to_bytes()), Some(k.clone()));
        assert_ne!(MailKey::generate(), k);
        assert_eq!(MailKey::from_slice(&[0; 31]), None);
        assert_eq!(format!("{k:?}"), "MailKey(..)");
    }

    #[test]
    fn base_address_drops_the_subaddress() {
        assert_eq!(
            base_address(" Support+42-abc@Example.COM "),
            "support@example.com"
        );
        assert_eq!(base_address("a@b"), "a@b");
    }
}
