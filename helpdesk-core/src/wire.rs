//! The building blocks of the API's JSON renderings: each entity's `*_json` function
//! returns a borrowing struct that derives `Serialize`, so a response is written straight
//! from the domain value into its buffer. No `serde_json::Value` tree is built on the way
//! (building and dropping one cost more than the store read behind a list page).

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Serialize, Serializer};

/// A timestamp in the API's one format: RFC 3339 in UTC with microseconds and `Z`
/// (`2026-11-24T08:46:00.123456Z`), the same text as [`crate::event::ts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ts(pub DateTime<Utc>);

impl From<DateTime<Utc>> for Ts {
    fn from(at: DateTime<Utc>) -> Self {
        Ts(at)
    }
}

/// `at` as [`Ts`] text.
pub(crate) fn format_ts(at: DateTime<Utc>) -> String {
    let mut buf = [0u8; TS_LEN];
    match fill_ts(at, &mut buf) {
        Some(text) => text.to_string(),
        None => at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    }
}

const TS_LEN: usize = "2026-11-24T08:46:00.123456Z".len();

/// Writes `at` into `buf` when it has the common shape (years 0 to 9999, no leap
/// second); `None` leaves the rare rest to chrono.
fn fill_ts(at: DateTime<Utc>, buf: &mut [u8; TS_LEN]) -> Option<&str> {
    let year = u32::try_from(at.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let fields: [(usize, u32, usize); 7] = [
        (0, year, 4),
        (5, at.month(), 2),
        (8, at.day(), 2),
        (11, at.hour(), 2),
        (14, at.minute(), 2),
        (17, at.second(), 2),
        (20, nanos / 1000, 6),
    ];
    *buf = *b"0000-00-00T00:00:00.000000Z";
    for (start, mut value, width) in fields {
        for b in buf[start..start + width].iter_mut().rev() {
            *b = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    std::str::from_utf8(buf).ok()
}

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; TS_LEN];
        match fill_ts(self.0, &mut buf) {
            Some(text) => s.serialize_str(text),
            None => s.serialize_str(&format_ts(self.0)),
        }
    }
}

/// An optional timestamp (`null` when absent).
pub(crate) fn opt_ts(at: Option<DateTime<Utc>>) -> Option<Ts> {
    at.map(Ts)
}

/// A slice serialized as a JSON array of each item's rendering, without collecting the
/// renderings first.
pub struct Each<'a, T, F>(pub &'a [T], pub F);

impl<'a, T, W, F> Serialize for Each<'a, T, F>
where
    F: Fn(&'a T) -> W,
    W: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(&self.1))
    }
}

/// A rendering as a `serde_json::Value`, for event payloads and other places that keep
/// or edit the tree. The renderings of this crate always convert.
pub fn to_json(rendering: impl Serialize) -> serde_json::Value {
    serde_json::to_value(rendering).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_read_as_chrono_writes_them() {
        let chrono_text =
            |at: DateTime<Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let samples = [
            Utc.with_ymd_and_hms(2026, 11, 24, 8, 46, 0).unwrap(),
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()
                + chrono::Duration::nanoseconds(999_999_999),
            Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::microseconds(7),
            Utc.with_ymd_and_hms(2000, 2, 29, 12, 0, 0).unwrap()
                + chrono::Duration::nanoseconds(1_500),
            Utc.with_ymd_and_hms(12345, 6, 7, 8, 9, 10).unwrap(),
            Utc.with_ymd_and_hms(-44, 3, 15, 12, 0, 0).unwrap(),
        ];
        for at in samples {
            assert_eq!(format_ts(at), chrono_text(at), "{at:?}");
            assert_eq!(
                serde_json::to_value(Ts(at)).unwrap(),
                serde_json::Value::String(chrono_text(at)),
            );
        }
    }

    #[test]
    fn each_renders_every_item_in_order() {
        let items = [1, 2, 3];
        let out = serde_json::to_string(&Each(&items, |n: &i32| n * 10)).unwrap();
        assert_eq!(out, "[10,20,30]");
    }
}
