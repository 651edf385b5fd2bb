//! Business-hours calendars: who reads and writes them, the checks on their input
//! (problems at their JSON paths), the limit and the list order, the store round trip,
//! previews (staff only, `minutes` checked, business time across a DST change), and an
//! archive round trip.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{World, expect_err};
use crate::Error;
use crate::archive::ArchiveSummary;
use crate::calendar::*;
use crate::principal::Principal;
use crate::store::Store;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("a time")
        .with_timezone(&Utc)
}

pub(super) fn office(name: &str) -> NewCalendar {
    let day = json!([["09:00", "12:00"], ["13:00", "17:00"]]);
    NewCalendar {
        name: name.into(),
        timezone: "Europe/Berlin".into(),
        hours: json!({"mon": day, "tue": day, "wed": day, "thu": day, "fri": day}),
        holidays: Some(json!(["2026-12-25", "2026-12-24"])),
    }
}

/// The field a validation error names.
fn field_of<T: std::fmt::Debug>(r: crate::Result<T>) -> String {
    match r {
        Err(Error::Validation(f)) => f[0].field.clone(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// Admins write calendars; staff read them; customers do neither. The input is checked,
/// each problem named by its JSON path; the list is by name.
pub async fn calendar_crud_rules_and_input(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let customer = w.customer().await;

    let c =
        w.hd.create_calendar(&admin.p, office("  Office  "))
            .await
            .unwrap();
    assert_eq!(c.name, "Office");
    assert_eq!(c.timezone, "Europe/Berlin");
    assert_eq!(c.hours.day(Day::Mon).len(), 2);
    assert!(c.hours.day(Day::Sat).is_empty());
    // Holidays kept ascending.
    assert_eq!(
        c.holidays,
        vec![
            NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()
        ]
    );
    assert_eq!(c.created_at, c.updated_at);

    // Rights.
    expect_err!(
        w.hd.create_calendar(&agent.p, office("Agent's")).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.create_calendar(&customer.p, office("Customer's"))
            .await,
        Error::Forbidden(_)
    );
    assert_eq!(w.hd.get_calendar(&agent.p, c.id).await.unwrap(), c);
    assert_eq!(
        w.hd.list_calendars(&agent.p).await.unwrap(),
        vec![c.clone()]
    );
    expect_err!(
        w.hd.get_calendar(&customer.p, c.id).await,
        Error::Forbidden(_)
    );
    expect_err!(w.hd.list_calendars(&customer.p).await, Error::Forbidden(_));
    expect_err!(
        w.hd.update_calendar(&agent.p, c.id, CalendarPatch::default())
            .await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.delete_calendar(&agent.p, c.id).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.get_calendar(&agent.p, Uuid::now_v7()).await,
        Error::NotFound
    );
    expect_err!(
        w.hd.update_calendar(&admin.p, Uuid::now_v7(), CalendarPatch::default())
            .await,
        Error::NotFound
    );
    expect_err!(
        w.hd.delete_calendar(&admin.p, Uuid::now_v7()).await,
        Error::NotFound
    );

    // Input problems at their paths.
    let bad = |f: &dyn Fn(&mut NewCalendar)| {
        let mut n = office("Bad");
        f(&mut n);
        n
    };
    let cases: Vec<(NewCalendar, &str)> = vec![
        (bad(&|n| n.name = " ".into()), "name"),
        (bad(&|n| n.name = "x".repeat(101)), "name"),
        (bad(&|n| n.timezone = "Mars/Base".into()), "timezone"),
        (bad(&|n| n.hours = json!("9-5")), "hours"),
        (bad(&|n| n.hours = json!({"xyz": []})), "hours.xyz"),
        (
            bad(&|n| n.hours = json!({"mon": [["09:00", "12:00"], ["11:00", "13:00"]]})),
            "hours.mon[1]",
        ),
        (
            bad(&|n| n.hours = json!({"fri": [["17:00", "09:00"]]})),
            "hours.fri[0]",
        ),
        (bad(&|n| n.hours = json!({"sun": []})), "hours"),
        (
            bad(&|n| n.holidays = Some(json!(["2026-01-01", "2026-01-01"]))),
            "holidays[1]",
        ),
        (
            bad(&|n| n.holidays = Some(json!(["2026-01-01", "2026-01-02", "2026-13-01"]))),
            "holidays[2]",
        ),
        (bad(&|n| n.holidays = Some(json!({}))), "holidays"),
    ];
    for (input, field) in cases {
        assert_eq!(
            field_of(w.hd.create_calendar(&admin.p, input).await),
            field,
            "{field}"
        );
    }

    // Changes: checked the same way; nothing changed keeps `updated_at`.
    w.tick();
    let same =
        w.hd.update_calendar(
            &admin.p,
            c.id,
            CalendarPatch {
                name: Some("Office".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(same, c);
    assert_eq!(
        field_of(
            w.hd.update_calendar(
                &admin.p,
                c.id,
                CalendarPatch {
                    hours: Some(json!({"tue": [["09:00", "24:30"]]})),
                    ..Default::default()
                },
            )
            .await
        ),
        "hours.tue[0]"
    );
    let changed =
        w.hd.update_calendar(
            &admin.p,
            c.id,
            CalendarPatch {
                name: Some("Night desk".into()),
                timezone: Some("america/new_york".into()),
                hours: Some(json!({"sat": [["20:00", "24:00"]], "sun": [["00:00", "04:00"]]})),
                holidays: Some(json!([])),
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.timezone, "America/New_York");
    assert_eq!(changed.hours.weekly_minutes(), 480);
    assert!(changed.holidays.is_empty());
    assert!(changed.updated_at > c.updated_at);
    assert_eq!(changed.created_at, c.created_at);
    assert_eq!(w.hd.get_calendar(&agent.p, c.id).await.unwrap(), changed);

    // The list is by name.
    let b =
        w.hd.create_calendar(&admin.p, office("Berlin office"))
            .await
            .unwrap();
    let a =
        w.hd.create_calendar(&admin.p, office("Asia desk"))
            .await
            .unwrap();
    let names: Vec<String> =
        w.hd.list_calendars(&agent.p)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
    assert_eq!(names, ["Asia desk", "Berlin office", "Night desk"]);

    // Deleting.
    w.hd.delete_calendar(&admin.p, b.id).await.unwrap();
    expect_err!(w.hd.get_calendar(&agent.p, b.id).await, Error::NotFound);
    expect_err!(w.hd.delete_calendar(&admin.p, b.id).await, Error::NotFound);
    assert_eq!(w.hd.list_calendars(&agent.p).await.unwrap().len(), 2);
    let _ = a;
}

/// At most 100 calendars: the 101st is invalid; deleting one makes room.
pub async fn calendar_limit(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let mut first = None;
    for i in 0..MAX_CALENDARS {
        let c =
            w.hd.create_calendar(&admin.p, office(&format!("Calendar {i:03}")))
                .await
                .unwrap();
        first.get_or_insert(c.id);
    }
    expect_err!(
        w.hd.create_calendar(&admin.p, office("One too many")).await,
        Error::Validation(_)
    );
    w.hd.delete_calendar(&admin.p, first.unwrap())
        .await
        .unwrap();
    w.hd.create_calendar(&admin.p, office("One too many"))
        .await
        .unwrap();
}

/// The store keeps every field; an update keeps `created_at`; inserts count the limit.
pub async fn store_calendars_round_trip_and_limit(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let admin = w.admin().await;
    let c =
        w.hd.create_calendar(&admin.p, office("Round"))
            .await
            .unwrap();
    assert_eq!(store.get_calendar(c.id).await.unwrap().unwrap(), c);
    let changed = Calendar {
        name: "Changed".into(),
        timezone: "Asia/Tokyo".into(),
        hours: WeekHours::parse(&json!({"sun": [["00:00", "24:00"]]})).unwrap(),
        holidays: vec![NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()],
        created_at: c.created_at + chrono::Duration::seconds(5),
        updated_at: c.updated_at + chrono::Duration::seconds(1),
        ..c.clone()
    };
    store.update_calendar(&changed).await.unwrap();
    assert_eq!(
        store.get_calendar(c.id).await.unwrap().unwrap(),
        Calendar {
            created_at: c.created_at,
            ..changed.clone()
        }
    );
    expect_err!(
        store
            .update_calendar(&Calendar {
                id: Uuid::now_v7(),
                ..changed.clone()
            })
            .await,
        crate::StoreError::NotFound
    );
    let another = Calendar {
        id: crate::clock::new_id(),
        ..changed.clone()
    };
    assert!(!store.insert_calendar(&another, 1).await.unwrap());
    assert!(store.insert_calendar(&another, 2).await.unwrap());
    expect_err!(
        store.insert_calendar(&another, 10).await,
        crate::StoreError::Conflict(_)
    );
    assert_eq!(store.list_calendars().await.unwrap().len(), 2);
    assert!(store.delete_calendar(another.id).await.unwrap());
    assert!(!store.delete_calendar(another.id).await.unwrap());
    assert!(store.insert_calendar(&another, 2).await.unwrap());
    // Same names order by id; names compare by code point ("Z" before "a").
    let mut twin = Calendar {
        id: crate::clock::new_id(),
        name: "a".into(),
        ..changed.clone()
    };
    store.insert_calendar(&twin, 10).await.unwrap();
    twin.id = crate::clock::new_id();
    twin.name = "Z".into();
    store.insert_calendar(&twin, 10).await.unwrap();
    let listed: Vec<(String, Uuid)> = store
        .list_calendars()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.name, c.id))
        .collect();
    let mut expected = listed.clone();
    expected.sort();
    assert_eq!(listed, expected);
    assert_eq!(listed[0].0, "Changed");
    assert_eq!(listed[3].0, "a");
}

/// Previews: staff only; `minutes` above 0 and at most a year; the due time counts
/// business minutes in the calendar's zone (across a DST change, past holidays).
pub async fn calendar_previews(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let customer = w.customer().await;
    let c =
        w.hd.create_calendar(&admin.p, office("Office"))
            .await
            .unwrap();
    // Friday 2026-03-27 16:00 CET (15:00Z) + 2 h: Monday after the change to summer
    // time, 10:00 CEST = 08:00Z.
    let start = utc("2026-03-27T15:00:00Z");
    assert_eq!(
        w.hd.preview_calendar(&agent.p, c.id, start, 120.0)
            .await
            .unwrap(),
        utc("2026-03-30T08:00:00Z")
    );
    // Wednesday 2026-12-23 16:30 CET + 1 h: the 24th and 25th are holidays, then a
    // weekend → Monday 28th 09:30 CET.
    assert_eq!(
        w.hd.preview_calendar(&agent.p, c.id, utc("2026-12-23T15:30:00Z"), 60.0)
            .await
            .unwrap(),
        utc("2026-12-28T08:30:00Z")
    );
    // Due on the lunch break's start is that start.
    assert_eq!(
        w.hd.preview_calendar(&agent.p, c.id, utc("2026-01-07T10:00:00Z"), 60.0)
            .await
            .unwrap(),
        utc("2026-01-07T11:00:00Z")
    );
    for bad in [0.0, -5.0, 525_600.01, f64::NAN] {
        assert_eq!(
            field_of(w.hd.preview_calendar(&agent.p, c.id, start, bad).await),
            "minutes"
        );
    }
    assert!(
        w.hd.preview_calendar(&agent.p, c.id, start, 525_600.0)
            .await
            .is_ok()
    );
    expect_err!(
        w.hd.preview_calendar(&customer.p, c.id, start, 10.0).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.preview_calendar(&agent.p, Uuid::now_v7(), start, 10.0)
            .await,
        Error::NotFound
    );
}

/// A calendar survives an export and import unchanged, and still previews the same.
pub async fn calendars_survive_an_archive_round_trip(store: Arc<dyn Store>) {
    let source = World::new(crate::testkit::memory());
    let admin = source.admin().await;
    let c = source
        .hd
        .create_calendar(&admin.p, office("Archived"))
        .await
        .unwrap();
    let mut archive = Vec::new();
    source
        .hd
        .export_archive(&Principal::system(), &mut archive, &|_| {})
        .await
        .unwrap();
    let target = World::new(store.clone());
    let _: ArchiveSummary = target
        .hd
        .import_archive(&Principal::system(), &archive[..], &|_| {})
        .await
        .unwrap();
    assert_eq!(store.get_calendar(c.id).await.unwrap().unwrap(), c);
    let mut again = Vec::new();
    target
        .hd
        .export_archive(&Principal::system(), &mut again, &|_| {})
        .await
        .unwrap();
    assert_eq!(archive, again);
    // The imported calendar counts under the limit like any other.
    let start = utc("2026-03-27T15:00:00Z");
    let agent = target.agent().await;
    assert_eq!(
        target
            .hd
            .preview_calendar(&agent.p, c.id, start, 120.0)
            .await
            .unwrap(),
        utc("2026-03-30T08:00:00Z")
    );
}
