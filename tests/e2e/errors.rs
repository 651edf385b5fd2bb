//! Bad input of every kind: never a 500, always problem+json with a stable code.

use helpdesk::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

async fn raw(
    app: &App,
    method: Method,
    path: &str,
    token: &str,
    ct: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let mut req = app
        .client
        .request(method, app.url(path))
        .bearer_auth(token)
        .body(body);
    if let Some(ct) = ct {
        req = req.header("content-type", ct);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let v = resp.json().await.unwrap_or(Value::Null);
    (status, v, headers)
}

#[tokio::test]
async fn malformed_bodies_paths_and_queries() {
    let app = spawn_app().await;
    let alice = app.signup("alice@example.com").await;
    let t = &alice.token;
    let json_ct = Some("application/json");

    // Bad JSON syntax: 400, even before auth.
    let (s, v, h) = raw(
        &app,
        Method::POST,
        "/api/tickets",
        "garbage",
        json_ct,
        b"{\"subject\": ".to_vec(),
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_json"));
    assert_eq!(h["content-type"], "application/problem+json");
    assert_eq!(v["status"], 400);
    assert_eq!(v["type"], "about:blank");

    // Unknown field, wrong types, missing fields, not an object: 422.
    let (s, v) = app
        .post("/api/tickets", t, json!({"subject": "x", "colour": "red"}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field")
    );
    let (s, v) = app.post("/api/tickets", t, json!({"subject": 42})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (s, v) = app
        .post("/api/tickets", t, json!({"description": "no subject"}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    assert_eq!(v["errors"][0]["field"], "subject");
    let (s, v) = app
        .post(
            "/api/tickets",
            t,
            json!({"subject": "x", "tags": "notalist"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (s, v) = app
        .post(
            "/api/tickets",
            t,
            json!({"subject": "x", "attachment_ids": ["nope"]}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (s, v) = app.post("/api/tickets", t, json!([1, 2])).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (s, v) = app.post("/api/tickets", t, json!({"subject": "   "})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );

    // Wrong content type: 415. Too large: 413.
    let (s, v, _) = raw(
        &app,
        Method::POST,
        "/api/tickets",
        t,
        Some("text/plain"),
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    let (s, v, _) = raw(&app, Method::POST, "/api/tickets", t, None, b"{}".to_vec()).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    let big = format!("{{\"subject\": \"{}\"}}", "a".repeat(1024 * 1024 + 10));
    let (s, v, _) = raw(
        &app,
        Method::POST,
        "/api/tickets",
        t,
        json_ct,
        big.into_bytes(),
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );

    // Bad ids in paths: 400 before 401.
    let (s, v) = app.get("/api/tickets/not-a-uuid", t).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_id"));
    let (s, v) = app.get("/api/tickets/not-a-uuid", "garbage").await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_id"));
    let (s, v) = app
        .get(
            &format!("/api/conversations/{}/messages/xyz", uuid::Uuid::now_v7()),
            t,
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_id"));
    let (s, v) = app
        .get(&format!("/api/tickets/{}", uuid::Uuid::now_v7()), t)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));

    // Bad query values: 400.
    for q in [
        "limit=0",
        "limit=201",
        "limit=abc",
        "limit=-1",
        "sort=subject",
        "cursor=%%%",
        "cursor=abc",
        "status=bogus",
        "priority=9",
        "assignee_id=someone",
        "requester_id=1",
    ] {
        let (s, v) = app.get(&format!("/api/tickets?{q}"), t).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::BAD_REQUEST, "invalid_query"),
            "{q}"
        );
    }
    let (s, v) = app.get("/api/notifications?unread=maybe", t).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_query"));
    let (s, v) = app.get("/api/kb/search", t).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_query"));
    let (s, v) = app.get("/api/users?role=boss", t).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_query"));
    let (s, _) = app.get("/api/tickets?limit=200", t).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_methods_and_request_ids() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/api/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let generated = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(!generated.is_empty());

    let resp = app
        .client
        .put(app.url("/api/tickets"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
    assert!(resp.headers()["allow"].to_str().unwrap().contains("POST"));
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["status"], 405);

    // Static segments win over parameters.
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let (s, v) = app.get("/api/users/me", &admin.token).await;
    assert_eq!((s, v["role"].as_str()), (StatusCode::OK, Some("admin")));
    // Logout needs a token.
    let (s, _) = app.call(Method::POST, "/api/auth/logout", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
