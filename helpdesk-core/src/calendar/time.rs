//! Business-time arithmetic: the end of N business minutes from an instant, and the
//! business minutes between two instants, for a calendar or around the clock ([`Hours`]).
//! chrono `DateTime<Utc>` at the edges, jiff for the time zone inside, whole
//! microseconds in between (the API's precision).
//!
//! A day's interval `[s, e)` (local times of local date `d`) is the real span from the
//! first instant whose local time on `d` is at or after `s` to the same for `e` (`24:00`:
//! the next day's midnight). So a span across a DST change is an hour shorter or longer;
//! a time inside a spring-forward gap opens at the change, one inside a fall-back fold
//! at its first occurrence. Holidays close their local date all day.
//!
//! The walk goes interval by interval, and jumps whole weeks at a time while no holiday
//! and no offset change lies ahead (such a week holds exactly the nominal weekly
//! minutes), so a year of minutes on a calendar open one minute a week still ends fast.
//! Dates past the year 9999 are out of range: a due time there is [`far_future`].

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use jiff::Timestamp;
use jiff::civil;
use jiff::tz::{AmbiguousOffset, TimeZone};

use super::{Calendar, Day, Interval};

const MINUTE_US: i64 = 60_000_000;
const DAY_US: i64 = 24 * 60 * MINUTE_US;
const WEEK_US: i64 = 7 * DAY_US;

/// The latest instant a due time can be (`9999-12-31T23:59:59.999999Z`): the answer when
/// the business minutes do not fit before the end of the year 9999, meaning never due.
pub fn far_future() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_micro_opt(23, 59, 59, 999_999))
        .map(|dt| dt.and_utc())
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Whole microseconds of `minutes` (negative, NaN: 0; huge: saturated).
fn minutes_us(minutes: f64) -> i64 {
    if minutes.is_nan() || minutes <= 0.0 {
        return 0;
    }
    // `as` saturates at i64::MAX.
    (minutes * MINUTE_US as f64).round() as i64
}

fn us_minutes(us: i64) -> f64 {
    us as f64 / MINUTE_US as f64
}

fn from_us(us: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
}

/// When business time runs: around the clock (an SLA without a calendar) or in a
/// calendar's open hours. One API for both.
#[derive(Debug, Clone, Copy)]
pub enum Hours<'a> {
    /// 24×7: every real minute counts.
    Always,
    /// A calendar's open intervals.
    Calendar(&'a Calendar),
}

impl Hours<'_> {
    /// The end of `minutes` business minutes from `start` (see
    /// [`Calendar::add_business`]; 24×7: `start + minutes`).
    pub fn add(&self, start: DateTime<Utc>, minutes: f64) -> DateTime<Utc> {
        match self {
            Hours::Always => start
                .timestamp_micros()
                .checked_add(minutes_us(minutes))
                .and_then(from_us)
                .map_or_else(far_future, |t| t.min(far_future())),
            Hours::Calendar(c) => c.add_business(start, minutes),
        }
    }

    /// Business minutes in `[from, to)`, 0 if `to <= from` (see
    /// [`Calendar::business_minutes`]).
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
        match self {
            Hours::Always => us_minutes((to - from).num_microseconds().unwrap_or(i64::MAX).max(0)),
            Hours::Calendar(c) => c.business_minutes(from, to),
        }
    }
}

impl Calendar {
    /// The end of `minutes` business minutes counted from `start`, to the microsecond
    /// (fractions allowed: 0.1 is 6 s). Counting from a closed instant starts at the next
    /// opening; a due time on an interval's end is that end. `minutes` ≤ 0: `start`.
    /// Past the year 9999: [`far_future`].
    pub fn add_business(&self, start: DateTime<Utc>, minutes: f64) -> DateTime<Utc> {
        self.add_business_checked(start, minutes)
            .unwrap_or_else(far_future)
    }

    /// [`Calendar::add_business`], or `None` when the due time (or `start`) lies outside
    /// the years the time zone database covers (-9999..=9999).
    pub fn add_business_checked(
        &self,
        start: DateTime<Utc>,
        minutes: f64,
    ) -> Option<DateTime<Utc>> {
        let walk = Walk::new(self);
        let due = walk.add(start.timestamp_micros(), minutes_us(minutes))?;
        from_us(due).filter(|d| *d <= far_future())
    }

    /// Business minutes inside `[from, to)`, 0 if `to <= from` (what the SLA counts as
    /// spent, or paused).
    pub fn business_minutes(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
        us_minutes(Walk::new(self).between(from.timestamp_micros(), to.timestamp_micros()))
    }
}

/// A calendar ready to walk: its zone resolved, its nominal week measured.
struct Walk<'a> {
    tz: TimeZone,
    cal: &'a Calendar,
    week_us: i64,
}

impl<'a> Walk<'a> {
    fn new(cal: &'a Calendar) -> Self {
        // Checked when saved; a zone the bundled database lost would count as UTC.
        let tz = TimeZone::get(&cal.timezone).unwrap_or(TimeZone::UTC);
        let week_us = i64::from(cal.hours.weekly_minutes()) * MINUTE_US;
        Walk { tz, cal, week_us }
    }

    /// The local date of an instant.
    fn local_date(&self, us: i64) -> Option<NaiveDate> {
        let ts = Timestamp::from_microsecond(us).ok()?;
        let d = self.tz.to_datetime(ts).date();
        NaiveDate::from_ymd_opt(i32::from(d.year()), d.month() as u32, d.day() as u32)
    }

    /// The first instant whose local time on `d` is at or after `minute` (1440: the next
    /// day's midnight), in microseconds.
    fn at(&self, d: NaiveDate, minute: u16) -> Option<i64> {
        let (d, minute) = if minute >= super::DAY_MINUTES {
            (d.checked_add_days(Days::new(1))?, 0)
        } else {
            (d, minute)
        };
        let date = civil::Date::new(
            i16::try_from(d.year()).ok()?,
            d.month() as i8,
            d.day() as i8,
        )
        .ok()?;
        let dt = date.at((minute / 60) as i8, (minute % 60) as i8, 0, 0);
        let ts = match self.tz.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(dt).ok()?,
            // The first occurrence.
            AmbiguousOffset::Fold { before, .. } => before.to_timestamp(dt).ok()?,
            // No such local time: the change itself, the first instant after it.
            AmbiguousOffset::Gap { before, .. } => {
                let past = before.to_timestamp(dt).ok()?;
                let probe = past
                    .checked_add(jiff::SignedDuration::from_micros(1))
                    .ok()?;
                match self.tz.preceding(probe).next() {
                    Some(t) => t.timestamp(),
                    None => past,
                }
            }
        };
        Some(ts.as_microsecond())
    }

    /// The open spans of local date `d` (none on a holiday), in microseconds, ascending.
    fn day(&self, d: NaiveDate) -> Option<Vec<(i64, i64)>> {
        if self.cal.holidays.binary_search(&d).is_ok() {
            return Some(Vec::new());
        }
        let weekday = Day::ALL[d.weekday().num_days_from_monday() as usize];
        let mut spans = Vec::new();
        for &Interval { start, end } in self.cal.hours.day(weekday) {
            let a = self.at(d, start)?;
            let b = self.at(d, end)?;
            if b > a {
                spans.push((a, b));
            }
        }
        Some(spans)
    }

    /// How many whole weeks from local midnight `d` (instant `d0`) hold exactly the
    /// nominal weekly minutes: none holds a holiday and the offset stays the same until a
    /// day after them.
    fn plain_weeks(&self, d: NaiveDate, d0: i64) -> i64 {
        let by_holiday = match self.cal.holidays.partition_point(|h| *h < d) {
            i if i == self.cal.holidays.len() => i64::MAX,
            i => (self.cal.holidays[i] - d).num_days() / 7,
        };
        let by_offset = match Timestamp::from_microsecond(d0)
            .ok()
            .and_then(|ts| self.tz.following(ts).next())
        {
            None => i64::MAX,
            Some(t) => (t.timestamp().as_microsecond() - d0 - DAY_US).max(0) / WEEK_US,
        };
        by_holiday.min(by_offset)
    }

    /// Jumps `d` (and `cursor`, at or before its midnight) over up to `max_weeks` plain
    /// weeks; returns the business microseconds jumped.
    fn jump(&self, d: &mut NaiveDate, cursor: &mut i64, max_weeks: i64) -> Option<i64> {
        if self.week_us == 0 || max_weeks <= 0 {
            return Some(0);
        }
        let d0 = self.at(*d, 0)?;
        if *cursor > d0 {
            return Some(0);
        }
        let k = max_weeks.min(self.plain_weeks(*d, d0));
        if k <= 0 {
            return Some(0);
        }
        *d = d.checked_add_days(Days::new(u64::try_from(k.checked_mul(7)?).ok()?))?;
        *cursor = d0.checked_add(k.checked_mul(WEEK_US)?)?;
        k.checked_mul(self.week_us)
    }

    /// The end of `remaining` business microseconds from `start`.
    fn add(&self, start: i64, mut remaining: i64) -> Option<i64> {
        if remaining <= 0 {
            return Some(start);
        }
        if self.week_us == 0 {
            return None;
        }
        let mut d = self.local_date(start)?;
        let mut cursor = start;
        let mut first = true;
        loop {
            if !first && remaining > self.week_us {
                // Keep some minutes for after the jump: a due time on the last span's
                // end is reached by walking.
                let most = (remaining - 1) / self.week_us;
                remaining -= self.jump(&mut d, &mut cursor, most)?;
            }
            first = false;
            for (a, b) in self.day(d)? {
                if b <= cursor {
                    continue;
                }
                let a = a.max(cursor);
                let open = b - a;
                if remaining <= open {
                    return Some(a + remaining);
                }
                remaining -= open;
                cursor = b;
            }
            d = d.checked_add_days(Days::new(1))?;
        }
    }

    /// Business microseconds in `[from, to)`.
    fn between(&self, from: i64, to: i64) -> i64 {
        if to <= from || self.week_us == 0 {
            return 0;
        }
        let Some(mut d) = self.local_date(from) else {
            return 0;
        };
        let mut cursor = from;
        let mut total: i64 = 0;
        let mut first = true;
        loop {
            if !first {
                let Some(d0) = self.at(d, 0) else {
                    return total;
                };
                if d0 >= to {
                    return total;
                }
                match self.jump(&mut d, &mut cursor, (to - d0) / WEEK_US) {
                    Some(n) => total += n,
                    None => return total,
                }
            }
            first = false;
            let Some(spans) = self.day(d) else {
                return total;
            };
            for (a, b) in spans {
                let (a, b) = (a.max(cursor), b.min(to));
                if b > a {
                    total += b - a;
                }
            }
            match d.checked_add_days(Days::new(1)) {
                Some(next) => d = next,
                None => return total,
            }
        }
    }
}
