//! The building blocks of the API's JSON renderings: each entity's `*_json` function
//! returns a borrowing struct that derives `Serialize`, so a response is written straight
//! from the domain value into its buffer. No `serde_json::Value` tree is built on the way
//! (building and dropping one cost more than the store read behind a list page).

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

/// serde `deserialize_with` for a stored `DateTime<Utc>`: reads what chrono writes
/// (`2026-11-24T08:46:00.123456Z`, 0 to 9 fraction digits) without chrono's general
/// parser, which took a tenth of a list page's time; any other text chrono accepts still
/// goes through chrono, so the stored format is unchanged and every record stays readable.
pub fn de_ts<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    d.deserialize_str(TsVisitor)
}

/// [`de_ts`] for an optional timestamp (`null` is `None`). Fields using it also need
/// `#[serde(default)]`, so a missing field stays `None` as without it.
pub fn de_opt_ts<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(Option::<TsText>::deserialize(d)?.map(|t| t.0))
}

/// A timestamp read by [`de_ts`].
struct TsText(DateTime<Utc>);

impl<'de> Deserialize<'de> for TsText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de_ts(d).map(TsText)
    }
}

struct TsVisitor;

impl serde::de::Visitor<'_> for TsVisitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an RFC 3339 timestamp")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
        match parse_utc(text.as_bytes()) {
            Some(at) => Ok(at),
            None => text
                .parse::<DateTime<FixedOffset>>()
                .map(|at| at.with_timezone(&Utc))
                .map_err(E::custom),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, or `None` for anything else.
fn parse_utc(b: &[u8]) -> Option<DateTime<Utc>> {
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b.get(range)?.iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let punctuation = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if b.len() < 20 || b.last() != Some(&b'Z') || punctuation.iter().any(|(i, c)| b[*i] != *c) {
        return None;
    }
    let nanos = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            num(20..b.len() - 1)? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)?;
    Some(
        date.and_hms_nano_opt(num(11..13)?, num(14..16)?, num(17..19)?, nanos)?
            .and_utc(),
    )
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
    fn stored_timestamps_read_back_as_chrono_reads_them() {
        #[derive(Deserialize)]
        struct Row {
            #[serde(deserialize_with = "de_ts")]
            at: DateTime<Utc>,
            #[serde(default, deserialize_with = "de_opt_ts")]
            maybe: Option<DateTime<Utc>>,
        }
        let texts = [
            "2026-11-24T08:46:00Z",
            "2026-11-24T08:46:00.1Z",
            "2026-11-24T08:46:00.123456Z",
            "2026-11-24T08:46:00.123456789Z",
            "2000-02-29T23:59:59.999Z",
            "2026-11-24T09:46:00+01:00",
            "2026-11-24 08:46:00Z",
            "+12345-01-01T00:00:00Z",
        ];
        for text in texts {
            let chrono: DateTime<Utc> = serde_json::from_value(text.into()).unwrap();
            let row: Row =
                serde_json::from_value(serde_json::json!({"at": text, "maybe": text})).unwrap();
            assert_eq!((row.at, row.maybe), (chrono, Some(chrono)), "{text}");
        }
        let row: Row = serde_json::from_str(r#"{"at": "2026-11-24T08:46:00Z"}"#).unwrap();
        assert_eq!(row.maybe, None);
        let row: Row =
            serde_json::from_str(r#"{"at": "2026-11-24T08:46:00Z", "maybe": null}"#).unwrap();
        assert_eq!(row.maybe, None);
        for bad in [
            "2026-02-30T08:46:00Z",
            "2026-11-24T24:00:00Z",
            "2026-11-24T08:46:00.Z",
            "2026-11-24",
            "yesterday",
        ] {
            assert!(
                serde_json::from_value::<Row>(serde_json::json!({"at": bad})).is_err(),
                "{bad}"
            );
            assert!(
                serde_json::from_value::<DateTime<Utc>>(bad.into()).is_err(),
                "{bad}"
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
