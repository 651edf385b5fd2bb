//! Calendar checks and business-time arithmetic: fixtures across DST changes in two
//! zones, holidays, `24:00` ends, closed starts, due times on an interval's end; and
//! properties (monotonic, additive, minutes between the start and the due time).

use chrono::{DateTime, Datelike, NaiveDate, TimeZone as _, Utc};
use proptest::prelude::*;
use serde_json::json;
use uuid::Uuid;

use super::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn cal(tz: &str, hours: serde_json::Value, holidays: serde_json::Value) -> Calendar {
    Calendar {
        id: Uuid::nil(),
        name: "c".into(),
        timezone: validate_timezone(tz).unwrap(),
        hours: WeekHours::parse(&hours).unwrap(),
        holidays: parse_holidays(&holidays).unwrap(),
        created_at: Utc.timestamp_opt(0, 0).unwrap(),
        updated_at: Utc.timestamp_opt(0, 0).unwrap(),
    }
}

fn weekdays_9_17(tz: &str) -> Calendar {
    let day = json!([["09:00", "17:00"]]);
    cal(
        tz,
        json!({"mon": day, "tue": day, "wed": day, "thu": day, "fri": day}),
        json!([]),
    )
}

fn field_of(e: Error) -> String {
    match e {
        Error::Validation(f) => f[0].field.clone(),
        other => panic!("not a validation error: {other:?}"),
    }
}

#[test]
fn hours_are_checked_at_their_paths() {
    let bad = |v: serde_json::Value| field_of(WeekHours::parse(&v).unwrap_err());
    assert_eq!(bad(json!([])), "hours");
    assert_eq!(bad(json!({"monday": []})), "hours.monday");
    assert_eq!(bad(json!({"mon": "09:00"})), "hours.mon");
    assert_eq!(
        bad(json!({"mon": [["09:00", "12:00"], ["11:00", "13:00"]]})),
        "hours.mon[1]"
    );
    assert_eq!(
        bad(json!({"tue": [["13:00", "14:00"], ["09:00", "10:00"]]})),
        "hours.tue[1]"
    );
    assert_eq!(bad(json!({"wed": [["10:00", "10:00"]]})), "hours.wed[0]");
    assert_eq!(bad(json!({"wed": [["24:00", "24:00"]]})), "hours.wed[0]");
    assert_eq!(bad(json!({"wed": [["9:00", "10:00"]]})), "hours.wed[0]");
    assert_eq!(bad(json!({"wed": [["09:60", "10:00"]]})), "hours.wed[0]");
    assert_eq!(bad(json!({"wed": [["09:00", "24:01"]]})), "hours.wed[0]");
    assert_eq!(bad(json!({"wed": [["09:00"]]})), "hours.wed[0]");
    assert_eq!(
        bad(json!({"wed": [["09:00", "10:00", "11:00"]]})),
        "hours.wed[0]"
    );
    let eleven: Vec<_> = (0..11)
        .map(|h| json!([format!("{h:02}:00"), format!("{h:02}:30")]))
        .collect();
    assert_eq!(bad(json!({"thu": eleven})), "hours.thu");
    assert_eq!(bad(json!({})), "hours");
    assert_eq!(bad(json!({"mon": []})), "hours");
    assert_eq!(
        bad(json!({"mon": [["09:00", "10:00"]], "tue": null})),
        "hours.tue"
    );

    // Touching intervals, a 24:00 end, closed days.
    let h = WeekHours::parse(&json!({
        "mon": [["09:00", "12:00"], ["12:00", "13:00"]],
        "sat": [["22:00", "24:00"]],
        "sun": [],
    }))
    .unwrap();
    assert_eq!(h.weekly_minutes(), 240 + 120);
    assert_eq!(
        serde_json::to_value(&h).unwrap(),
        json!({
            "mon": [["09:00", "12:00"], ["12:00", "13:00"]],
            "tue": [], "wed": [], "thu": [], "fri": [],
            "sat": [["22:00", "24:00"]], "sun": [],
        })
    );
    let back: WeekHours = serde_json::from_value(serde_json::to_value(&h).unwrap()).unwrap();
    assert_eq!(back, h);
}

#[test]
fn timezone_and_holidays_are_checked() {
    assert_eq!(validate_timezone("Europe/Berlin").unwrap(), "Europe/Berlin");
    assert_eq!(validate_timezone("europe/berlin").unwrap(), "Europe/Berlin");
    assert_eq!(validate_timezone("UTC").unwrap(), "UTC");
    for bad in ["", "Mars/Olympus", "+01:00", "Europe/Berlin\n"] {
        assert_eq!(field_of(validate_timezone(bad).unwrap_err()), "timezone");
    }
    let bad = |v: serde_json::Value| field_of(parse_holidays(&v).unwrap_err());
    assert_eq!(bad(json!("2026-12-25")), "holidays");
    assert_eq!(bad(json!(["2026-12-25", "2026-02-30"])), "holidays[1]");
    assert_eq!(bad(json!(["2026-12-25", "26-12-25"])), "holidays[1]");
    assert_eq!(bad(json!(["2026-12-25", "2026-1-05"])), "holidays[1]");
    assert_eq!(bad(json!(["2026-12-25", 20261225])), "holidays[1]");
    assert_eq!(
        bad(json!([
            "2026-12-24",
            "2026-12-25",
            "2026-12-26",
            "2026-12-25"
        ])),
        "holidays[3]"
    );
    let many: Vec<String> = (0..1001)
        .map(|i| (NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(i)).to_string())
        .collect();
    assert_eq!(bad(json!(many)), "holidays");
    assert_eq!(parse_holidays(&json!(many[..1000])).unwrap().len(), 1000);
    assert_eq!(
        parse_holidays(&json!(["2026-12-26", "2026-01-01"])).unwrap(),
        vec![
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 26).unwrap()
        ]
    );
}

#[test]
fn minutes_are_checked() {
    assert!(validate_minutes("minutes", 0.1).is_ok());
    assert!(validate_minutes("minutes", 525_600.0).is_ok());
    for bad in [0.0, -1.0, 525_600.5, f64::NAN, f64::INFINITY] {
        assert_eq!(
            field_of(validate_minutes("minutes", bad).unwrap_err()),
            "minutes"
        );
    }
}

#[test]
fn counting_within_and_across_days() {
    let c = weekdays_9_17("Europe/Berlin");
    // Wednesday 2026-01-07 10:00 CET = 09:00Z; +60 min.
    assert_eq!(
        c.add_business(utc("2026-01-07T09:00:00Z"), 60.0),
        utc("2026-01-07T10:00:00Z")
    );
    // Fractions: 0.1 minute is 6 s.
    assert_eq!(
        c.add_business(utc("2026-01-07T09:00:00Z"), 0.1),
        utc("2026-01-07T09:00:06Z")
    );
    // Due exactly at the interval's end (17:00 CET), not the next opening.
    assert_eq!(
        c.add_business(utc("2026-01-07T15:00:00Z"), 60.0),
        utc("2026-01-07T16:00:00Z")
    );
    // One more second runs over to Thursday's opening.
    assert_eq!(
        c.add_business(utc("2026-01-07T15:00:00Z"), 60.0 + 1.0 / 60.0),
        utc("2026-01-08T08:00:01Z")
    );
    // From a closed instant (Saturday): starts at Monday's opening.
    assert_eq!(
        c.add_business(utc("2026-01-10T12:00:00Z"), 30.0),
        utc("2026-01-12T08:30:00Z")
    );
    // Friday 16:00 local + 2 h → Monday 10:00 local.
    assert_eq!(
        c.add_business(utc("2026-01-09T15:00:00Z"), 120.0),
        utc("2026-01-12T09:00:00Z")
    );
    assert_eq!(
        c.business_minutes(utc("2026-01-09T15:00:00Z"), utc("2026-01-12T09:00:00Z")),
        120.0
    );
    assert_eq!(
        c.business_minutes(utc("2026-01-12T09:00:00Z"), utc("2026-01-09T15:00:00Z")),
        0.0
    );
    // A week of minutes: five days of 480.
    assert_eq!(
        c.add_business(utc("2026-01-12T08:00:00Z"), 2400.0),
        utc("2026-01-16T16:00:00Z")
    );
}

#[test]
fn berlin_dst_changes() {
    // Open Sunday 00:00-24:00: the spring-forward Sunday (2026-03-29) has 23 real hours,
    // the fall-back one (2026-10-25) 25.
    let c = cal(
        "Europe/Berlin",
        json!({"sun": [["00:00", "24:00"]]}),
        json!([]),
    );
    // 2026-03-29 00:00 CET = 03-28T23:00Z; 24:00 = 03-29T22:00Z (CEST).
    assert_eq!(
        c.business_minutes(utc("2026-03-28T00:00:00Z"), utc("2026-03-31T00:00:00Z")),
        23.0 * 60.0
    );
    assert_eq!(
        c.add_business(utc("2026-03-28T00:00:00Z"), 23.0 * 60.0),
        utc("2026-03-29T22:00:00Z")
    );
    // 2026-10-25 00:00 CEST = 10-24T22:00Z; 24:00 = 10-25T23:00Z (CET).
    assert_eq!(
        c.business_minutes(utc("2026-10-24T00:00:00Z"), utc("2026-10-27T00:00:00Z")),
        25.0 * 60.0
    );
    assert_eq!(
        c.add_business(utc("2026-10-24T00:00:00Z"), 25.0 * 60.0),
        utc("2026-10-25T23:00:00Z")
    );
    // 3 business hours from Sunday 01:00 CET on the spring-forward night: 01:00-02:00 CET
    // then 03:00 CEST on, so 05:00 CEST = 03:00Z (two real hours after 01:00 CET + 1).
    assert_eq!(
        c.add_business(utc("2026-03-29T00:00:00Z"), 180.0),
        utc("2026-03-29T03:00:00Z")
    );
    // An opening inside the gap (02:30) opens at the change (03:00 CEST = 01:00Z).
    let gap = cal(
        "Europe/Berlin",
        json!({"sun": [["02:30", "04:00"]]}),
        json!([]),
    );
    assert_eq!(
        gap.add_business(utc("2026-03-28T12:00:00Z"), 60.0),
        utc("2026-03-29T02:00:00Z")
    );
    assert_eq!(
        gap.business_minutes(utc("2026-03-28T12:00:00Z"), utc("2026-03-30T00:00:00Z")),
        60.0
    );
    // An opening inside the fold (02:30) opens at its first occurrence (02:30 CEST =
    // 00:30Z); closing at 04:00 CET = 03:00Z makes it 2.5 real hours.
    assert_eq!(
        gap.business_minutes(utc("2026-10-24T12:00:00Z"), utc("2026-10-26T00:00:00Z")),
        150.0
    );
}

#[test]
fn new_york_dst_changes() {
    let c = weekdays_9_17("America/New_York");
    // Friday 2026-03-06 16:00 EST = 21:00Z; 2 h → Monday 2026-03-09 (after the second
    // Sunday of March) 10:00 EDT = 14:00Z.
    assert_eq!(
        c.add_business(utc("2026-03-06T21:00:00Z"), 120.0),
        utc("2026-03-09T14:00:00Z")
    );
    assert_eq!(
        c.business_minutes(utc("2026-03-06T21:00:00Z"), utc("2026-03-09T14:00:00Z")),
        120.0
    );
    // Friday 2026-10-30 16:00 EDT = 20:00Z; 2 h → Monday 2026-11-02 (after the first
    // Sunday of November) 10:00 EST = 15:00Z.
    assert_eq!(
        c.add_business(utc("2026-10-30T20:00:00Z"), 120.0),
        utc("2026-11-02T15:00:00Z")
    );
    // A night shift across the fall-back change is an hour longer: Sunday 00:00-04:00
    // on 2026-11-01 holds five real hours.
    let night = cal(
        "America/New_York",
        json!({"sun": [["00:00", "04:00"]]}),
        json!([]),
    );
    assert_eq!(
        night.business_minutes(utc("2026-10-31T00:00:00Z"), utc("2026-11-02T00:00:00Z")),
        300.0
    );
    // And an hour shorter across the spring-forward change (2026-03-08).
    assert_eq!(
        night.business_minutes(utc("2026-03-07T00:00:00Z"), utc("2026-03-09T00:00:00Z")),
        180.0
    );
    // 00:00 EST = 05:00Z; 3 business hours end at 04:00 EDT = 08:00Z.
    assert_eq!(
        night.add_business(utc("2026-03-08T00:00:00Z"), 180.0),
        utc("2026-03-08T08:00:00Z")
    );
}

#[test]
fn holidays_close_their_local_date() {
    let mut c = weekdays_9_17("Europe/Berlin");
    c.holidays = parse_holidays(&json!(["2026-12-24", "2026-12-25"])).unwrap();
    // Wednesday 2026-12-23 16:00 CET + 2 h: Thursday and Friday closed → Monday 28th
    // 10:00 CET = 09:00Z.
    assert_eq!(
        c.add_business(utc("2026-12-23T15:00:00Z"), 120.0),
        utc("2026-12-28T09:00:00Z")
    );
    assert_eq!(
        c.business_minutes(utc("2026-12-23T00:00:00Z"), utc("2026-12-29T00:00:00Z")),
        960.0
    );
    // The local date, not the UTC one: 2026-12-24 00:30 CET is 12-23T23:30Z.
    let all = cal(
        "Europe/Berlin",
        json!({"mon": [["00:00", "24:00"]], "tue": [["00:00", "24:00"]], "wed": [["00:00", "24:00"]], "thu": [["00:00", "24:00"]]}),
        json!(["2026-12-24"]),
    );
    assert_eq!(
        all.business_minutes(utc("2026-12-23T22:00:00Z"), utc("2026-12-24T00:00:00Z")),
        60.0
    );
}

#[test]
fn twenty_four_hour_ends_join_the_next_day() {
    let c = cal(
        "UTC",
        json!({"mon": [["20:00", "24:00"]], "tue": [["00:00", "02:00"]]}),
        json!([]),
    );
    // Monday 2026-01-05 23:00 + 2 h → Tuesday 01:00, no gap at midnight.
    assert_eq!(
        c.add_business(utc("2026-01-05T23:00:00Z"), 120.0),
        utc("2026-01-06T01:00:00Z")
    );
    // Due on Monday's 24:00 end.
    assert_eq!(
        c.add_business(utc("2026-01-05T20:00:00Z"), 240.0),
        utc("2026-01-06T00:00:00Z")
    );
}

#[test]
fn sparse_calendars_and_long_spans_end_fast() {
    // One open minute a week, a year of minutes: past the year 9999, never due.
    let c = cal(
        "Europe/Berlin",
        json!({"wed": [["12:00", "12:01"]]}),
        json!([]),
    );
    let start = utc("2026-01-01T00:00:00Z");
    let t = std::time::Instant::now();
    assert_eq!(c.add_business(start, 525_600.0), far_future());
    assert!(c.add_business_checked(start, 525_600.0).is_none());
    // 1,000 minutes: 1,000 Wednesdays later, at 12:01 local.
    let due = c.add_business(start, 1000.0);
    assert_eq!(c.business_minutes(start, due), 1000.0);
    assert_eq!(due.weekday(), chrono::Weekday::Wed);
    assert_eq!(due.format("%M:%S").to_string(), "01:00");
    // Every day a holiday for 1,000 days: walks past them.
    let mut h = weekdays_9_17("Europe/Berlin");
    let days: Vec<String> = (0..1000)
        .map(|i| (NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(i)).to_string())
        .collect();
    h.holidays = parse_holidays(&json!(days)).unwrap();
    let due = h.add_business(start, 60.0);
    assert_eq!(
        due.date_naive(),
        NaiveDate::from_ymd_opt(2028, 9, 27).unwrap()
    );
    // A year of minutes, 9-17 weekdays: about four years on.
    let c = weekdays_9_17("America/New_York");
    let due = c.add_business(start, 525_600.0);
    assert_eq!(c.business_minutes(start, due), 525_600.0);
    assert!(t.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn around_the_clock() {
    let s = utc("2026-03-29T00:30:00Z");
    assert_eq!(Hours::Always.add(s, 90.5), utc("2026-03-29T02:00:30Z"));
    assert_eq!(Hours::Always.between(s, utc("2026-03-29T02:00:30Z")), 90.5);
    assert_eq!(Hours::Always.between(utc("2026-03-29T02:00:30Z"), s), 0.0);
    let c = weekdays_9_17("UTC");
    assert_eq!(
        Hours::Calendar(&c).add(utc("2026-01-09T16:00:00Z"), 120.0),
        utc("2026-01-12T10:00:00Z")
    );
}

fn arb_calendar() -> impl Strategy<Value = Calendar> {
    let day = prop::collection::vec((0u16..=48, 1u16..=8), 0..3);
    (
        prop::sample::select(vec![
            "Europe/Berlin",
            "America/New_York",
            "UTC",
            "Australia/Lord_Howe",
        ]),
        prop::collection::vec(day, 7),
        prop::collection::btree_set(0u64..400, 0..20),
    )
        .prop_filter_map("closed all week", |(tz, days, holidays)| {
            let mut hours = serde_json::Map::new();
            for (day, raw) in Day::ALL.iter().zip(days) {
                // Half-hour steps, made sorted and not overlapping.
                let mut at = 0u16;
                let mut list = Vec::new();
                for (gap, len) in raw {
                    let start = at + gap * 30 / 4;
                    let end = (start + len * 30).min(DAY_MINUTES);
                    if start >= end {
                        break;
                    }
                    list.push(json!([format_hhmm(start), format_hhmm(end)]));
                    at = end;
                }
                hours.insert(day.key().to_string(), json!(list));
            }
            let hours = WeekHours::parse(&serde_json::Value::Object(hours)).ok()?;
            let base = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
            Some(Calendar {
                id: Uuid::nil(),
                name: "p".into(),
                timezone: tz.to_string(),
                hours,
                holidays: holidays
                    .into_iter()
                    .map(|i| base + chrono::Days::new(i))
                    .collect(),
                created_at: Utc.timestamp_opt(0, 0).unwrap(),
                updated_at: Utc.timestamp_opt(0, 0).unwrap(),
            })
        })
}

fn arb_start() -> impl Strategy<Value = DateTime<Utc>> {
    // 2025-12-01 .. 2027-06-01, on whole seconds or anywhere.
    (1_764_547_200_000_000i64..1_811_808_000_000_000)
        .prop_map(|us| DateTime::from_timestamp_micros(us).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn more_minutes_end_later(c in arb_calendar(), s in arb_start(), a in 1u32..20_000, b in 0u32..20_000) {
        let x = c.add_business(s, f64::from(a));
        let y = c.add_business(s, f64::from(a + b));
        prop_assert!(x <= y);
        prop_assert!(x >= s);
    }

    #[test]
    fn adding_is_additive(c in arb_calendar(), s in arb_start(), a in 1u32..20_000, b in 1u32..20_000) {
        let once = c.add_business(s, f64::from(a + b));
        let twice = c.add_business(c.add_business(s, f64::from(a)), f64::from(b));
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn minutes_between_start_and_due(c in arb_calendar(), s in arb_start(), m in 1u32..50_000, frac in 0u32..1000) {
        let m = f64::from(m) + f64::from(frac) / 1000.0;
        let due = c.add_business(s, m);
        let back = c.business_minutes(s, due);
        prop_assert!((back - m).abs() < 1e-6, "{} != {}", back, m);
        // Splitting the span anywhere adds up.
        let mid = s + (due - s) / 3;
        let parts = c.business_minutes(s, mid) + c.business_minutes(mid, due);
        prop_assert!((parts - m).abs() < 1e-6);
    }
}
