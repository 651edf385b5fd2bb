//! Business-hours calendars over HTTP: the CRUD rules (staff read, admins write,
//! customers 403), every 4xx the contract names (401, 403, 404, 400 malformed, 422 at
//! JSON paths and `unknown_field` for fixed fields), previews across a DST change and
//! past a holiday, and the API key scopes they take.

use helpdesk::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const PATH: &str = "/api/calendars";

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

fn at(id: &str) -> String {
    format!("{PATH}/{id}")
}

fn preview_at(id: &str) -> String {
    format!("{PATH}/{id}/preview")
}

/// The first field error's path.
fn field(v: &Value) -> &str {
    v["errors"][0]["field"].as_str().unwrap_or("")
}

fn office(name: &str) -> Value {
    let day = json!([["09:00", "12:00"], ["13:00", "17:00"]]);
    json!({
        "name": name,
        "timezone": "Europe/Berlin",
        "hours": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day},
        "holidays": ["2026-12-25", "2026-12-24"],
    })
}

async fn create(app: &App, admin: &Who, body: Value) -> Value {
    let (s, v) = app.post(PATH, &admin.token, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

#[tokio::test]
async fn calendars_are_read_by_staff_and_written_by_admins() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;

    let resp = app
        .client
        .post(app.url(PATH))
        .bearer_auth(&admin.token)
        .json(&office(" Office "))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let office_cal: Value = resp.json().await.unwrap();
    assert_eq!(location, at(id(&office_cal)));
    assert_eq!(office_cal["name"], "Office");
    assert_eq!(office_cal["timezone"], "Europe/Berlin");
    assert_eq!(
        office_cal["hours"]["mon"],
        json!([["09:00", "12:00"], ["13:00", "17:00"]])
    );
    assert_eq!(office_cal["hours"]["sat"], json!([]));
    assert_eq!(office_cal["holidays"], json!(["2026-12-24", "2026-12-25"]));
    assert!(office_cal["created_at"].is_string());
    assert_eq!(office_cal["created_at"], office_cal["updated_at"]);
    // Holidays may be left out; a 24:00 end.
    let night = create(
        &app,
        &admin,
        json!({"name": "Around the clock", "timezone": "utc",
               "hours": {"sat": [["00:00", "24:00"]], "sun": [["00:00", "24:00"]]}}),
    )
    .await;
    assert_eq!(night["timezone"], "UTC");
    assert_eq!(night["holidays"], json!([]));
    assert_eq!(night["hours"]["sat"], json!([["00:00", "24:00"]]));

    // Staff read; the list by name.
    let (s, list) = app.get(PATH, &agent.token).await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Around the clock", "Office"]);
    let (s, got) = app.get(&at(id(&office_cal)), &agent.token).await;
    assert_eq!((s, &got), (StatusCode::OK, &office_cal));

    // No token: 401.
    let (s, v) = app.call(Method::GET, PATH, None, None).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthorized"));

    // Customers: 403 on every path; agents: 403 on writes.
    let preview = json!({"start": "2026-01-07T10:00:00Z", "minutes": 30});
    for (method, path, body) in [
        (Method::GET, PATH.to_string(), None),
        (Method::GET, at(id(&office_cal)), None),
        (
            Method::POST,
            preview_at(id(&office_cal)),
            Some(preview.clone()),
        ),
        (Method::POST, PATH.to_string(), Some(office("x"))),
        (
            Method::PATCH,
            at(id(&office_cal)),
            Some(json!({"name": "x"})),
        ),
        (Method::DELETE, at(id(&office_cal)), None),
    ] {
        let (s, v) = app
            .call(method.clone(), &path, Some(&customer.token), body.clone())
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{method} {path}"
        );
        if method == Method::PATCH || method == Method::DELETE || path == PATH {
            if method == Method::GET {
                continue;
            }
            let (s, v) = app
                .call(method.clone(), &path, Some(&agent.token), body)
                .await;
            assert_eq!(
                (s, code(&v)),
                (StatusCode::FORBIDDEN, "forbidden"),
                "{method} {path}"
            );
        }
    }

    // PATCH: name, timezone, hours, holidays; fixed fields 422 unknown_field.
    let (s, changed) = app
        .patch(
            &at(id(&office_cal)),
            &admin.token,
            json!({"name": "New York office", "timezone": "America/New_York",
                   "hours": {"mon": [["08:00", "16:00"]]}, "holidays": ["2026-11-26"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{changed}");
    assert_eq!(changed["name"], "New York office");
    assert_eq!(changed["timezone"], "America/New_York");
    assert_eq!(changed["hours"]["mon"], json!([["08:00", "16:00"]]));
    assert_eq!(changed["hours"]["tue"], json!([]));
    assert_eq!(changed["holidays"], json!(["2026-11-26"]));
    assert_eq!(changed["created_at"], office_cal["created_at"]);
    for key in ["id", "created_at", "updated_at", "color"] {
        let (s, v) = app
            .patch(
                &at(id(&office_cal)),
                &admin.token,
                json!({key: office_cal[key]}),
            )
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field"),
            "{key}"
        );
    }
    let (s, v) = app
        .patch(&at(id(&office_cal)), &admin.token, json!({"name": null}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );

    // 404s.
    let nobody = "0190d5a0-0000-7000-8000-000000000000";
    for (method, path, body) in [
        (Method::GET, at(nobody), None),
        (Method::PATCH, at(nobody), Some(json!({"name": "x"}))),
        (Method::DELETE, at(nobody), None),
        (Method::POST, preview_at(nobody), Some(preview.clone())),
    ] {
        let (s, v) = app
            .call(method.clone(), &path, Some(&admin.token), body)
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::NOT_FOUND, "not_found"),
            "{method} {path}"
        );
    }
    // Malformed: 400.
    let (s, v) = app.get(&at("not-a-uuid"), &admin.token).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_id"));
    let resp = app
        .client
        .post(app.url(PATH))
        .bearer_auth(&admin.token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // DELETE: 204, then 404.
    let (s, _) = app.delete(&at(id(&night)), &admin.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get(&at(id(&night)), &admin.token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn calendar_input_problems_answer_422_at_their_paths() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let with = |key: &str, value: Value| {
        let mut b = office("Bad");
        b[key] = value;
        b
    };
    let mut missing = office("Bad");
    missing.as_object_mut().unwrap().remove("hours");
    for (body, code_, path) in [
        (with("name", json!("")), "validation_failed", "name"),
        (with("name", json!(7)), "validation_failed", "name"),
        (
            with("timezone", json!("Moon/Tranquility")),
            "validation_failed",
            "timezone",
        ),
        (
            with(
                "hours",
                json!({"mon": [["09:00", "12:00"], ["11:30", "13:00"]]}),
            ),
            "validation_failed",
            "hours.mon[1]",
        ),
        (
            with("hours", json!({"tue": [["12:00", "11:00"]]})),
            "validation_failed",
            "hours.tue[0]",
        ),
        (
            with("hours", json!({"wed": [["09:00", "25:00"]]})),
            "validation_failed",
            "hours.wed[0]",
        ),
        (
            with("hours", json!({"holiday": [["09:00", "10:00"]]})),
            "validation_failed",
            "hours.holiday",
        ),
        (
            with("hours", json!({"sun": []})),
            "validation_failed",
            "hours",
        ),
        (with("hours", json!([])), "validation_failed", "hours"),
        (
            with("hours", json!({"mon": [["09:00", "10:00"]], "tue": null})),
            "validation_failed",
            "hours.tue",
        ),
        (
            with(
                "holidays",
                json!(["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-01"]),
            ),
            "validation_failed",
            "holidays[3]",
        ),
        (
            with("holidays", json!(["01/02/2026"])),
            "validation_failed",
            "holidays[0]",
        ),
        (
            with("holidays", json!(null)),
            "validation_failed",
            "holidays",
        ),
        (missing, "validation_failed", "hours"),
        (
            with("id", json!("0190d5a0-0000-7000-8000-000000000000")),
            "unknown_field",
            "id",
        ),
    ] {
        let (s, v) = app.post(PATH, &admin.token, body.clone()).await;
        assert_eq!(
            (s, code(&v), field(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, code_, path),
            "{body}: {v}"
        );
    }
    // The limit: 100.
    for i in 0..100 {
        create(&app, &admin, office(&format!("Calendar {i:03}"))).await;
    }
    let (s, v) = app.post(PATH, &admin.token, office("One too many")).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
}

#[tokio::test]
async fn previews_count_business_minutes() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let berlin = create(&app, &admin, office("Berlin")).await;
    let preview = |cal: &Value, body: Value| {
        let (app, token, path) = (&app, agent.token.clone(), preview_at(id(cal)));
        async move { app.post(&path, &token, body).await }
    };
    // Friday 2026-03-27 16:00 CET + 2 h → Monday after the change to summer time, 10:00
    // CEST (08:00Z).
    let (s, v) = preview(
        &berlin,
        json!({"start": "2026-03-27T15:00:00Z", "minutes": 120}),
    )
    .await;
    assert_eq!(
        (s, &v),
        (
            StatusCode::OK,
            &json!({"due_at": "2026-03-30T08:00:00.000000Z"})
        )
    );
    // The same start written with its offset.
    let (s, v) = preview(
        &berlin,
        json!({"start": "2026-03-27T16:00:00+01:00", "minutes": 120}),
    )
    .await;
    assert_eq!(
        (s, v["due_at"].as_str()),
        (StatusCode::OK, Some("2026-03-30T08:00:00.000000Z"))
    );
    // Wednesday 2026-12-23 16:30 CET + 1 h: Christmas Eve and Day are holidays, then the
    // weekend → Monday 09:30 CET.
    let (s, v) = preview(
        &berlin,
        json!({"start": "2026-12-23T15:30:00Z", "minutes": 60}),
    )
    .await;
    assert_eq!(
        (s, v["due_at"].as_str()),
        (StatusCode::OK, Some("2026-12-28T08:30:00.000000Z"))
    );
    // From a closed instant: the next opening; a fraction of a minute; due on the end of
    // the morning interval is that end.
    let (s, v) = preview(
        &berlin,
        json!({"start": "2026-01-10T12:00:00Z", "minutes": 0.1}),
    )
    .await;
    assert_eq!(
        (s, v["due_at"].as_str()),
        (StatusCode::OK, Some("2026-01-12T08:00:06.000000Z"))
    );
    let (s, v) = preview(
        &berlin,
        json!({"start": "2026-01-07T08:00:00Z", "minutes": 180}),
    )
    .await;
    assert_eq!(
        (s, v["due_at"].as_str()),
        (StatusCode::OK, Some("2026-01-07T11:00:00.000000Z"))
    );
    // New York: Friday 2026-10-30 16:00 EDT + 2 h → Monday 10:00 EST (15:00Z).
    let ny = create(
        &app,
        &admin,
        json!({"name": "NY", "timezone": "America/New_York",
               "hours": {"mon": [["09:00", "17:00"]], "fri": [["09:00", "17:00"]]}}),
    )
    .await;
    let (s, v) = preview(
        &ny,
        json!({"start": "2026-10-30T20:00:00Z", "minutes": 120}),
    )
    .await;
    assert_eq!(
        (s, v["due_at"].as_str()),
        (StatusCode::OK, Some("2026-11-02T15:00:00.000000Z"))
    );
    // A year of minutes is allowed.
    let (s, v) = preview(
        &ny,
        json!({"start": "2026-10-30T20:00:00Z", "minutes": 525600}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Bad bodies.
    for (body, code_, path) in [
        (
            json!({"start": "2026-01-07T08:00:00Z", "minutes": 0}),
            "validation_failed",
            "minutes",
        ),
        (
            json!({"start": "2026-01-07T08:00:00Z", "minutes": -3}),
            "validation_failed",
            "minutes",
        ),
        (
            json!({"start": "2026-01-07T08:00:00Z", "minutes": 525600.5}),
            "validation_failed",
            "minutes",
        ),
        (
            json!({"start": "2026-01-07T08:00:00Z", "minutes": "60"}),
            "validation_failed",
            "minutes",
        ),
        (
            json!({"start": "yesterday", "minutes": 60}),
            "validation_failed",
            "start",
        ),
        (json!({"minutes": 60}), "validation_failed", "start"),
        (
            json!({"start": "2026-01-07T08:00:00Z"}),
            "validation_failed",
            "minutes",
        ),
        (
            json!({"start": "2026-01-07T08:00:00Z", "minutes": 60, "tz": "UTC"}),
            "unknown_field",
            "tz",
        ),
    ] {
        let (s, v) = preview(&berlin, body.clone()).await;
        assert_eq!(
            (s, code(&v), field(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, code_, path),
            "{body}: {v}"
        );
    }
    // A calendar open one minute a week cannot hold a year of minutes before the year
    // 10000.
    let sparse = create(
        &app,
        &admin,
        json!({"name": "Sparse", "timezone": "UTC", "hours": {"wed": [["12:00", "12:01"]]}}),
    )
    .await;
    let (s, v) = preview(
        &sparse,
        json!({"start": "2026-01-07T08:00:00Z", "minutes": 525600}),
    )
    .await;
    assert_eq!(
        (s, code(&v), field(&v)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "minutes"
        ),
        "{v}"
    );
}

#[tokio::test]
async fn calendar_api_keys_take_their_scopes() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let key = |scopes: Value| {
        let (app, token) = (&app, admin.token.clone());
        async move {
            let (s, v) = app
                .post(
                    "/api/users/me/api-keys",
                    &token,
                    json!({"name": "k", "scopes": scopes}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v["token"].as_str().unwrap().to_string()
        }
    };
    let reader = key(json!(["tickets:read"])).await;
    let writer = key(json!(["tickets:write"])).await;
    let admin_key = key(json!(["admin"])).await;
    let c = create(&app, &admin, office("Keyed")).await;
    for path in [PATH.to_string(), at(id(&c))] {
        let (s, v) = app.get(&path, &reader).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        let (s, v) = app.get(&path, &writer).await;
        assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "insufficient_scope"));
    }
    let body = json!({"start": "2026-01-07T08:00:00Z", "minutes": 5});
    let (s, v) = app.post(&preview_at(id(&c)), &reader, body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.post(&preview_at(id(&c)), &writer, body).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "insufficient_scope"));
    for (method, path, body) in [
        (Method::POST, PATH.to_string(), Some(office("k"))),
        (Method::PATCH, at(id(&c)), Some(json!({"name": "x"}))),
    ] {
        let (s, v) = app
            .call(method.clone(), &path, Some(&writer), body.clone())
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::FORBIDDEN, "insufficient_scope"),
            "{method} {path}"
        );
        assert_eq!(v["required_scopes"], json!(["admin"]));
        let (s, v) = app
            .call(method.clone(), &path, Some(&admin_key), body)
            .await;
        assert!(s.is_success(), "{method} {path}: {v}");
    }
    let (s, v) = app.delete(&at(id(&c)), &admin_key).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
}
