//! Snoozing over HTTP (API-workflow.md "Snooze") against the real server: both endpoints
//! with their answers, what customers see, the `snoozed` filter, and a snooze that ends
//! by itself (the server's scheduler, on the system clock) within the contract's 5 s.

use std::time::{Duration, Instant};

use chrono::Utc;
use helpdesk::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn at(from_now: chrono::Duration) -> String {
    (Utc::now() + from_now).to_rfc3339()
}

#[tokio::test]
async fn snooze_endpoints_and_what_customers_see() {
    let app = spawn_app().await;
    let carol = app.signup("carol@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let (s, t) = app
        .post(
            "/api/tickets",
            &carol.token,
            json!({"subject": "Printer", "description": "On fire."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert!(
        t.get("snoozed_until").is_none(),
        "customers never see it: {t}"
    );
    let id = t["id"].as_str().unwrap();
    let path = format!("/api/tickets/{id}/snooze");
    let (_, staff_view) = app.get(&format!("/api/tickets/{id}"), &agent.token).await;
    assert_eq!(staff_view["snoozed_until"], Value::Null);
    assert_eq!(staff_view["snooze_wake_on_reply"], Value::Null);

    let until = at(chrono::Duration::hours(2));
    let (s, snoozed) = app.post(&path, &agent.token, json!({"until": until})).await;
    assert_eq!(s, StatusCode::OK, "{snoozed}");
    assert!(snoozed["snoozed_until"].is_string());
    assert_eq!(snoozed["snooze_wake_on_reply"], true);
    assert_eq!(snoozed["status"], "open");
    let (_, seen) = app.get(&format!("/api/tickets/{id}"), &carol.token).await;
    assert!(seen.get("snoozed_until").is_none() && seen.get("snooze_wake_on_reply").is_none());

    for (body, status, code_) in [
        (
            json!({"until": at(-chrono::Duration::minutes(1))}),
            422,
            "validation_failed",
        ),
        (
            json!({"until": at(chrono::Duration::days(366))}),
            422,
            "validation_failed",
        ),
        (json!({"until": "tomorrow"}), 422, "validation_failed"),
        (json!({}), 422, "validation_failed"),
        (
            json!({"until": until, "wake_on_reply": null}),
            422,
            "validation_failed",
        ),
        (json!({"until": until, "why": 1}), 422, "unknown_field"),
    ] {
        let (s, e) = app.post(&path, &agent.token, body.clone()).await;
        assert_eq!((s.as_u16(), code(&e)), (status, code_), "{body}: {e}");
    }
    let (s, e) = app.post(&path, &carol.token, json!({"until": until})).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, e) = app
        .post(
            "/api/tickets/00000000-0000-4000-8000-000000000099/snooze",
            &agent.token,
            json!({"until": until}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");

    // The filter: staff only.
    let (_, list) = app.get("/api/tickets?snoozed=true", &agent.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, list) = app.get("/api/tickets?snoozed=false", &agent.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let (s, e) = app.get("/api/tickets?snoozed=true", &carol.token).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, e) = app.get("/api/tickets?snoozed=maybe", &agent.token).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "invalid_query"));

    // DELETE: 204, snoozed or not.
    for _ in 0..2 {
        let (s, _) = app.delete(&path, &agent.token).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
    }
    let (_, after) = app.get(&format!("/api/tickets/{id}"), &agent.token).await;
    assert_eq!(after["snoozed_until"], Value::Null);

    // Resolved: 409 conflict.
    let (s, _) = app
        .patch(
            &format!("/api/tickets/{id}"),
            &agent.token,
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = app.post(&path, &agent.token, json!({"until": until})).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "conflict"));
}

#[tokio::test]
async fn a_snooze_ends_by_itself_within_five_seconds() {
    let app = spawn_live_app().await;
    let carol = app.signup("carol@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let (_, t) = app
        .post(
            "/api/tickets",
            &carol.token,
            json!({"subject": "Printer", "description": "On fire."}),
        )
        .await;
    let id = t["id"].as_str().unwrap().to_string();
    let mut ws = app.ws(&agent.token).await;
    let until = Utc::now() + chrono::Duration::seconds(2);
    let (s, _) = app
        .post(
            &format!("/api/tickets/{id}/snooze"),
            &agent.token,
            json!({"until": until.to_rfc3339()}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let started = Instant::now();
    let frame = ws.next_of("ticket.unsnoozed").await;
    let woke_at = Utc::now();
    assert_eq!(frame["data"], json!({"ticket_id": id, "reason": "time"}));
    assert!(woke_at >= until, "never before its time");
    assert!(
        woke_at - until < chrono::Duration::seconds(5),
        "within 5 s of due: {:?}",
        started.elapsed()
    );
    let (_, now) = app.get(&format!("/api/tickets/{id}"), &agent.token).await;
    assert_eq!(now["snoozed_until"], Value::Null);
    // Once: no second frame for it.
    let again = tokio::time::timeout(Duration::from_secs(2), ws.next_of("ticket.unsnoozed")).await;
    assert!(again.is_err(), "fired once");
}
