//! Business-hours calendars (API-workflow.md, "Calendars"): a time zone, weekly opening
//! hours and holidays. The record and the checks on its input live here, the business-time
//! arithmetic (due times, minutes between two instants) in `calendar/time.rs`; the
//! operations are in `ops/calendar.rs`.
//!
//! Decisions the contract leaves open:
//! - Intervals of one day may touch (`09:00-12:00`, `12:00-13:00`): touching is not
//!   overlapping, and the two count as one stretch (a due time at `12:00` is `12:00`).
//! - A missing day and `[]` mean closed (`null` is a wrong type, as for any field); a
//!   calendar shows all seven days.
//! - Holidays are kept sorted ascending, whatever order they came in.
//! - The time zone is kept under its canonical IANA name (`europe/berlin` →
//!   `Europe/Berlin`).
//!
//! Saving a calendar writes no events.

#[cfg(test)]
mod tests;
mod time;

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, SerializeTuple, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{Error, Result};

pub use time::{Hours, far_future};

/// Most calendars a helpdesk holds.
pub const MAX_CALENDARS: usize = 100;
/// Most opening intervals one day has.
pub const MAX_INTERVALS_PER_DAY: usize = 10;
/// Most holidays one calendar lists.
pub const MAX_HOLIDAYS: usize = 1_000;
/// Longest name, in characters (after trimming).
pub const MAX_NAME_CHARS: usize = 100;
/// Most business minutes a preview (and an SLA target) counts: a year.
pub const MAX_MINUTES: f64 = 525_600.0;
/// Minutes in a day: `24:00`, the latest an interval may end.
pub const DAY_MINUTES: u16 = 24 * 60;

/// A day of the week, as `hours` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Day {
    /// `mon`.
    Mon,
    /// `tue`.
    Tue,
    /// `wed`.
    Wed,
    /// `thu`.
    Thu,
    /// `fri`.
    Fri,
    /// `sat`.
    Sat,
    /// `sun`.
    Sun,
}

impl Day {
    /// Monday first.
    pub const ALL: [Day; 7] = [
        Day::Mon,
        Day::Tue,
        Day::Wed,
        Day::Thu,
        Day::Fri,
        Day::Sat,
        Day::Sun,
    ];

    /// The key in `hours` (`mon`).
    pub fn key(self) -> &'static str {
        match self {
            Day::Mon => "mon",
            Day::Tue => "tue",
            Day::Wed => "wed",
            Day::Thu => "thu",
            Day::Fri => "fri",
            Day::Sat => "sat",
            Day::Sun => "sun",
        }
    }

    /// The day a key names.
    pub fn parse(key: &str) -> Option<Day> {
        Day::ALL.into_iter().find(|d| d.key() == key)
    }

    /// Days after Monday (Monday 0, Sunday 6).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One opening interval of a day, in minutes after local midnight: `start < end`,
/// `end` at most [`DAY_MINUTES`] (`24:00`). Shown as `["HH:MM", "HH:MM"]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// Opens (0..=1439).
    pub start: u16,
    /// Closes (1..=1440).
    pub end: u16,
}

impl Interval {
    /// Its length in minutes.
    pub fn minutes(self) -> u16 {
        self.end - self.start
    }
}

/// `HH:MM` of minutes after midnight (1440 is `24:00`).
pub fn format_hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Minutes after midnight of a strict `HH:MM` (`00:00`..`23:59`, and `24:00` when
/// `end` is set).
pub fn parse_hhmm(text: &str, end: bool) -> Option<u16> {
    let b = text.as_bytes();
    if b.len() != 5
        || b[2] != b':'
        || !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit())
    {
        return None;
    }
    let h = u16::from(b[0] - b'0') * 10 + u16::from(b[1] - b'0');
    let m = u16::from(b[3] - b'0') * 10 + u16::from(b[4] - b'0');
    match (h, m) {
        (0..=23, 0..=59) => Some(h * 60 + m),
        (24, 0) if end => Some(DAY_MINUTES),
        _ => None,
    }
}

impl Serialize for Interval {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&format_hhmm(self.start))?;
        t.serialize_element(&format_hhmm(self.end))?;
        t.end()
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let (start, end) = <(String, String)>::deserialize(d)?;
        match (parse_hhmm(&start, false), parse_hhmm(&end, true)) {
            (Some(start), Some(end)) if start < end => Ok(Interval { start, end }),
            _ => Err(de::Error::custom(format!("bad interval [{start}, {end}]"))),
        }
    }
}

/// The opening hours of a week: each day's intervals, sorted, not overlapping.
/// Shown as `{"mon": [["09:00", "17:00"]], ..., "sun": []}` (all seven days).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeekHours {
    days: [Vec<Interval>; 7],
}

impl WeekHours {
    /// A day's intervals.
    pub fn day(&self, day: Day) -> &[Interval] {
        &self.days[day.index()]
    }

    /// Open minutes in a week (ignoring holidays and DST).
    pub fn weekly_minutes(&self) -> u32 {
        self.days
            .iter()
            .flatten()
            .map(|i| u32::from(i.minutes()))
            .sum()
    }

    /// Checks `hours` JSON (an object of day keys): a missing day or `[]` is closed; at most [`MAX_INTERVALS_PER_DAY`] `["HH:MM", "HH:MM"]` intervals a day,
    /// each `start < end` (`end` may be `24:00`), sorted and not overlapping (touching is
    /// allowed); at least one open minute a week. Errors name the path, `hours.mon[1]`.
    pub fn parse(json: &Value) -> Result<WeekHours> {
        let Value::Object(map) = json else {
            return Err(Error::invalid(
                "hours",
                "must be an object of days (mon..sun) to lists of [\"HH:MM\", \"HH:MM\"] intervals",
            ));
        };
        let mut hours = WeekHours::default();
        for (key, value) in map {
            let Some(day) = Day::parse(key) else {
                return Err(Error::invalid(
                    format!("hours.{key}"),
                    "is not a day: use mon, tue, wed, thu, fri, sat, sun",
                ));
            };
            let path = format!("hours.{key}");
            let Value::Array(items) = value else {
                return Err(Error::invalid(path, "must be a list of intervals"));
            };
            if items.len() > MAX_INTERVALS_PER_DAY {
                return Err(Error::invalid(
                    path,
                    format!("must have at most {MAX_INTERVALS_PER_DAY} intervals"),
                ));
            }
            let mut day_hours: Vec<Interval> = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let at = format!("{path}[{i}]");
                let interval = parse_interval(item).ok_or_else(|| {
                    Error::invalid(
                        at.clone(),
                        "must be [\"HH:MM\", \"HH:MM\"] with start before end (00:00 to 24:00)",
                    )
                })?;
                if let Some(prev) = day_hours.last()
                    && interval.start < prev.end
                {
                    return Err(Error::invalid(
                        at,
                        "must start at or after the previous interval's end (sorted, not overlapping)",
                    ));
                }
                day_hours.push(interval);
            }
            hours.days[day.index()] = day_hours;
        }
        if hours.weekly_minutes() == 0 {
            return Err(Error::invalid(
                "hours",
                "must have at least one open minute a week",
            ));
        }
        Ok(hours)
    }
}

fn parse_interval(item: &Value) -> Option<Interval> {
    let [Value::String(start), Value::String(end)] = item.as_array()?.as_slice() else {
        return None;
    };
    let start = parse_hhmm(start, false)?;
    let end = parse_hhmm(end, true)?;
    (start < end).then_some(Interval { start, end })
}

impl Serialize for WeekHours {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(7))?;
        for day in Day::ALL {
            m.serialize_entry(day.key(), self.day(day))?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for WeekHours {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WeekHours;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of days to intervals")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<WeekHours, A::Error> {
                let mut hours = WeekHours::default();
                while let Some(key) = map.next_key::<String>()? {
                    let day = Day::parse(&key)
                        .ok_or_else(|| de::Error::custom(format!("unknown day {key}")))?;
                    hours.days[day.index()] = map.next_value()?;
                }
                Ok(hours)
            }
        }
        d.deserialize_map(V)
    }
}

/// A business-hours calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calendar {
    /// Id.
    pub id: Uuid,
    /// Name (1..=100 characters, trimmed); the list order, then `id`.
    pub name: String,
    /// IANA time zone name (canonical), the zone of `hours` and `holidays`.
    pub timezone: String,
    /// Weekly opening hours, local times.
    pub hours: WeekHours,
    /// Local dates closed all day, distinct, ascending (at most [`MAX_HOLIDAYS`]).
    pub holidays: Vec<NaiveDate>,
    /// Created.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
    /// Last changed.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub updated_at: DateTime<Utc>,
}

/// Input for creating a calendar; `hours` and `holidays` are their JSON, checked when
/// made (so errors can name their paths).
#[derive(Debug, Clone, PartialEq)]
pub struct NewCalendar {
    /// Name.
    pub name: String,
    /// IANA time zone name.
    pub timezone: String,
    /// Opening hours (JSON object of days).
    pub hours: Value,
    /// Holidays (JSON list of `YYYY-MM-DD`; `None`: none).
    pub holidays: Option<Value>,
}

/// A change to a calendar; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CalendarPatch {
    /// New name.
    pub name: Option<String>,
    /// New time zone.
    pub timezone: Option<String>,
    /// New opening hours (JSON, checked).
    pub hours: Option<Value>,
    /// New holidays (JSON, checked).
    pub holidays: Option<Value>,
}

/// Sorts calendars as they are listed: by name, then id.
pub fn sort_calendars(calendars: &mut [Calendar]) {
    calendars.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
}

/// Checks and trims a name (1..=100 characters).
pub fn validate_name(name: &str) -> Result<String> {
    crate::text::check("name", name)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(name.to_string())
}

/// Checks an IANA time zone name against the bundled tz database; returns its canonical
/// spelling.
pub fn validate_timezone(name: &str) -> Result<String> {
    let bad = || {
        Error::invalid(
            "timezone",
            "must be an IANA time zone name, such as Europe/Berlin",
        )
    };
    if name.is_empty() || name.len() > 64 {
        return Err(bad());
    }
    let tz = jiff::tz::TimeZone::get(name).map_err(|_| bad())?;
    Ok(tz.iana_name().unwrap_or(name).to_string())
}

/// Checks `holidays` JSON: a list of at most [`MAX_HOLIDAYS`] distinct `YYYY-MM-DD`
/// dates (`holidays[3]` names a bad one); returns them ascending.
pub fn parse_holidays(json: &Value) -> Result<Vec<NaiveDate>> {
    let Value::Array(items) = json else {
        return Err(Error::invalid(
            "holidays",
            "must be a list of dates (YYYY-MM-DD)",
        ));
    };
    if items.len() > MAX_HOLIDAYS {
        return Err(Error::invalid(
            "holidays",
            format!("must have at most {MAX_HOLIDAYS} dates"),
        ));
    }
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    let mut dates = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("holidays[{i}]");
        let date = item
            .as_str()
            .filter(|s| s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-')
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .ok_or_else(|| Error::invalid(at.clone(), "must be a date, YYYY-MM-DD"))?;
        if !seen.insert(date) {
            return Err(Error::invalid(at, "repeats an earlier date"));
        }
        dates.push(date);
    }
    dates.sort_unstable();
    Ok(dates)
}

/// The answer when [`MAX_CALENDARS`] calendars exist already.
pub fn limit_reached() -> Error {
    Error::invalid(
        "name",
        format!("there are {MAX_CALENDARS} calendars already: delete one first"),
    )
}

/// Checks a count of business minutes to add (`minutes` > 0 and at most
/// [`MAX_MINUTES`]).
pub fn validate_minutes(field: &str, minutes: f64) -> Result<f64> {
    if minutes.is_finite() && minutes > 0.0 && minutes <= MAX_MINUTES {
        Ok(minutes)
    } else {
        Err(Error::invalid(
            field,
            "must be a number of minutes above 0 and at most 525600",
        ))
    }
}
