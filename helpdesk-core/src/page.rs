//! Cursor pagination: `Page<T>`, list limits and the opaque keyset cursors: [`Cursor`]
//! for lists ordered by a number (a time, a rank, a seq), [`NameCursor`] for lists
//! ordered by a name.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};

/// Default page size.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest page size.
pub const MAX_LIMIT: usize = 200;

/// Which page of a list without filters: where to continue and how many.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// Continue after this position (a `next_cursor` an earlier page handed out).
    pub cursor: Option<Cursor>,
    /// Page size (default 50, 1..=200).
    pub limit: Option<usize>,
}

/// One page of a list; `C` is the list's cursor ([`Cursor`], or [`NameCursor`] for
/// lists ordered by name).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T, C = Cursor> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Where the next page starts, `None` at the end.
    pub next_cursor: Option<C>,
}

impl<T, C> Page<T, C> {
    /// Maps the items.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U, C> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
    /// A page built from up to `limit + 1` sorted items: the extra item, if present, only
    /// tells that there is more, and the cursor points after the last kept item.
    pub fn from_overfetch(mut items: Vec<T>, limit: usize, key: impl Fn(&T) -> C) -> Self {
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(key)
        } else {
            None
        };
        Page { items, next_cursor }
    }
}

impl<T> Page<T> {
    /// A page of a whole list held in memory (a list the store hands over whole): the
    /// items after `cursor` in `(key, id)` order, at most `limit` (default 50,
    /// 1..=200), with the same walk guarantees as the store-backed lists.
    #[doc(hidden)] // for the HTTP layer's short lists
    pub fn of_whole_list(
        mut items: Vec<T>,
        cursor: Option<Cursor>,
        requested: Option<usize>,
        key: impl Fn(&T) -> Cursor,
    ) -> Result<Self> {
        let limit = limit(requested)?;
        let order = |c: Cursor| (c.key, c.id);
        items.sort_by_key(|t| order(key(t)));
        let after: Vec<T> = items
            .into_iter()
            .filter(|t| cursor.is_none_or(|c| order(key(t)) > order(c)))
            .take(limit + 1)
            .collect();
        Ok(Page::from_overfetch(after, limit, key))
    }
}

/// A keyset position: the sort key of the last item seen and its id as tie-breaker.
/// Every list orders by `(key, id)`, so a walk neither repeats nor skips items whose key
/// does not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort key (microseconds, a rank, a number or a seq, by list).
    pub key: i64,
    /// The id of the item.
    pub id: Uuid,
}

impl Cursor {
    /// A cursor after `(key, id)`.
    pub fn new(key: i64, id: Uuid) -> Self {
        Cursor { key, id }
    }
    /// The opaque string form.
    pub fn encode(&self) -> String {
        let mut raw = Vec::with_capacity(24);
        raw.extend_from_slice(&self.key.to_be_bytes());
        raw.extend_from_slice(self.id.as_bytes());
        URL_SAFE_NO_PAD.encode(raw)
    }
    /// Parses the opaque string form; a malformed cursor is a validation error on `cursor`.
    pub fn decode(s: &str) -> Result<Self> {
        let bad = || Error::invalid("cursor", "is not a valid cursor");
        let raw = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
        if raw.len() != 24 {
            return Err(bad());
        }
        let key = i64::from_be_bytes(raw[..8].try_into().map_err(|_| bad())?);
        let id = Uuid::from_slice(&raw[8..]).map_err(|_| bad())?;
        Ok(Cursor { key, id })
    }
    /// True when `(key, id)` comes after this cursor in ascending order.
    pub fn is_before(&self, key: i64, id: Uuid) -> bool {
        (key, id) > (self.key, self.id)
    }
    /// True when `(key, id)` comes after this cursor in descending order.
    pub fn is_before_desc(&self, key: i64, id: Uuid) -> bool {
        (key, id) < (self.key, self.id)
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.encode())
    }
}

/// A keyset position in a list ordered by a name: the last item's name key (e.g. its
/// lowercased name, [`crate::group::name_key`]) and its id as tie-breaker.
///
/// The string form is opaque, like [`Cursor`]'s: unpadded base64url of the id, the key
/// and NUL bytes up to a multiple of three bytes, so it is whole groups of four
/// characters (24 to [`NameCursor::MAX_LEN`]). Every such string is a position in the
/// list's order, one that no page handed out too.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NameCursor {
    /// The name key of the last item seen.
    pub key: String,
    /// Its id.
    pub id: Uuid,
}

impl NameCursor {
    /// The longest string form, in characters (a key of up to 3,000 bytes; a name key
    /// of 200 characters takes at most 2,400).
    pub const MAX_LEN: usize = 4096;

    /// A cursor after `(key, id)`.
    pub fn new(key: impl Into<String>, id: Uuid) -> Self {
        NameCursor {
            key: key.into(),
            id,
        }
    }
    /// The opaque string form.
    pub fn encode(&self) -> String {
        let mut raw = Vec::with_capacity(18 + self.key.len());
        raw.extend_from_slice(self.id.as_bytes());
        raw.extend_from_slice(self.key.as_bytes());
        // Keys hold no NUL (the text rule), so the padding is told apart.
        while !raw.len().is_multiple_of(3) {
            raw.push(0);
        }
        URL_SAFE_NO_PAD.encode(raw)
    }
    /// Parses the opaque string form; anything but whole groups of four base64url
    /// characters, 24 to [`NameCursor::MAX_LEN`] of them, is a validation error on
    /// `cursor`. A key that is not text (bytes no page would hand out) is read as the
    /// text nearest to it (invalid bytes and refused characters as U+FFFD).
    pub fn decode(s: &str) -> Result<Self> {
        let bad = || Error::invalid("cursor", "is not a valid cursor");
        if s.len() < 24 || s.len() > Self::MAX_LEN || !s.len().is_multiple_of(4) {
            return Err(bad());
        }
        let raw = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
        let id = Uuid::from_slice(raw.get(..16).ok_or_else(bad)?).map_err(|_| bad())?;
        let mut key_bytes = &raw[16..];
        while let [rest @ .., 0] = key_bytes {
            key_bytes = rest;
        }
        let key = String::from_utf8_lossy(key_bytes)
            .chars()
            .map(|c| {
                if crate::text::is_allowed(c) {
                    c
                } else {
                    char::REPLACEMENT_CHARACTER
                }
            })
            .collect();
        Ok(NameCursor { key, id })
    }
    /// True when `(key, id)` comes after this cursor in ascending order (keys compared
    /// as strings: byte order, which is code point order).
    pub fn is_before(&self, key: &str, id: Uuid) -> bool {
        (key, id) > (self.key.as_str(), self.id)
    }
}

impl std::fmt::Display for NameCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.encode())
    }
}

/// Checks a requested page size: `None` gives the default; 1..=200 is allowed.
pub fn limit(requested: Option<usize>) -> Result<usize> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(Error::invalid("limit", "must be between 1 and 200")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor::new(-42, Uuid::now_v7());
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(Cursor::decode("nope").is_err());
        assert!(Cursor::decode("").is_err());
    }

    #[test]
    fn name_cursor_round_trips_and_rejects_garbage() {
        for key in [
            "acme, inc. — überall",
            "",
            "a",
            "ab",
            "abc",
            &"é".repeat(1000),
        ] {
            let c = NameCursor::new(key, Uuid::now_v7());
            let s = c.encode();
            assert_eq!(s.len() % 4, 0, "{s}");
            assert!(s.len() <= NameCursor::MAX_LEN);
            assert_eq!(NameCursor::decode(&s).unwrap(), c);
            assert_eq!(c.to_string(), s);
        }
        for bad in [
            "nope",
            "",
            "AAAA",
            &"A".repeat(25),
            &"A".repeat(4100),
            &"*".repeat(24),
        ] {
            assert!(NameCursor::decode(bad).is_err(), "{bad}");
        }
        // Any whole groups are a position: bytes that are not text read as U+FFFD.
        let c = NameCursor::decode(&format!("{}_w", "A".repeat(22))).unwrap();
        // The key bytes are 0x0f (a control character) and 0xf0 (not UTF-8).
        assert_eq!((c.id, c.key.as_str()), (Uuid::nil(), "\u{fffd}\u{fffd}"));
        let c = NameCursor::new("acme", Uuid::nil());
        assert!(c.is_before("b", Uuid::nil()));
        assert!(!c.is_before("acm", Uuid::max()));
        assert!(c.is_before(&c.key, Uuid::max()));
        assert!(!c.is_before(&c.key, Uuid::nil()));
    }

    #[test]
    fn whole_lists_are_walked_in_key_order_once_each() {
        // Unsorted, with a tie on the key broken by the id.
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        let items = vec![
            (3, ids[3]),
            (1, ids[0]),
            (2, ids[2]),
            (1, ids[1]),
            (9, ids[4]),
        ];
        let key = |t: &(i64, Uuid)| Cursor::new(t.0, t.1);
        let (mut seen, mut cursor) = (Vec::new(), None);
        loop {
            let page = Page::of_whole_list(items.clone(), cursor, Some(2), key).unwrap();
            assert!(page.items.len() <= 2);
            seen.extend(page.items.iter().map(|t| t.1));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, ids);
        assert!(Page::of_whole_list(items, None, Some(0), key).is_err());
    }

    #[test]
    fn overfetch_sets_cursor_only_when_more() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let p = Page::from_overfetch(ids.clone(), 2, |id| Cursor::new(0, *id));
        assert_eq!(p.items.len(), 2);
        assert_eq!(p.next_cursor, Some(Cursor::new(0, ids[1])));
        let p = Page::from_overfetch(ids.clone(), 3, |id| Cursor::new(0, *id));
        assert_eq!(p.next_cursor, None);
    }
}
