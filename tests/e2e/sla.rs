//! SLA over HTTP (API-workflow.md "SLA policies") against the real server: the policy
//! endpoints, the ticket's `sla`, the list's `sla=` filters and orders, and a 6-second
//! target that breaches once, on the system clock, on one server and on two servers
//! sharing one PostgreSQL database.

use std::time::Duration;

use helpdesk::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn ticket(app: &App, who: &Who, subject: &str) -> Value {
    let (s, t) = app
        .post(
            "/api/tickets",
            &who.token,
            json!({"subject": subject, "description": "Details."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    t
}

#[tokio::test]
async fn sla_policy_endpoints_and_ticket_sla() {
    let app = spawn_app().await;
    let carol = app.signup("carol@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let body = json!({"name": "Standard", "targets": {"first_response": {"normal": 60}}});
    let (s, p) = app
        .post("/api/sla-policies", &admin.token, body.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(
        (
            p["active"].clone(),
            p["warn_percent"].clone(),
            p["calendar_id"].clone(),
            p["condition"].clone()
        ),
        (json!(true), json!(80), Value::Null, json!({}))
    );
    let id = p["id"].as_str().unwrap();
    let path = format!("/api/sla-policies/{id}");
    let (s, e) = app
        .post("/api/sla-policies", &agent.token, body.clone())
        .await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, list) = app.get("/api/sla-policies", &agent.token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["items"][0]["id"], p["id"]);
    let (s, e) = app.get("/api/sla-policies", &carol.token).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "forbidden"));
    for (body, field) in [
        (
            json!({"name": "X", "targets": {"resolution": {"normal": 0}}}),
            "targets.resolution.normal",
        ),
        (
            json!({"name": "X", "targets": {}, "warn_percent": 100}),
            "warn_percent",
        ),
        (
            json!({"name": "X", "targets": {}, "condition": {"all": [{"field": "hours_since_created", "op": "gt", "value": 2}]}}),
            "condition.all[0].field",
        ),
        (json!({"name": "", "targets": {}}), "name"),
    ] {
        let (s, e) = app
            .post("/api/sla-policies", &admin.token, body.clone())
            .await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{body}"
        );
        assert_eq!(e["errors"][0]["field"], field, "{e}");
    }
    let (s, e) = app
        .patch(
            &path,
            &admin.token,
            json!({"created_at": "2025-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field")
    );

    // The ticket's `sla`: staff only.
    let t = ticket(&app, &carol, "Printer").await;
    assert!(t.get("sla").is_none(), "customers never see it: {t}");
    let tid = t["id"].as_str().unwrap();
    let (_, staff) = app.get(&format!("/api/tickets/{tid}"), &agent.token).await;
    assert_eq!(staff["sla"]["policy_id"], p["id"]);
    assert!(staff["sla"]["first_response_due_at"].is_string());
    assert_eq!(staff["sla"]["resolution_due_at"], Value::Null);
    assert_eq!(staff["sla"]["breached"], json!([]));
    assert_eq!(staff["sla"]["paused"], false);
    let (s, page) = app
        .get(
            "/api/tickets?sla=due_within:61&sort=sla_due_at",
            &agent.token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["items"][0]["id"], t["id"]);
    let (_, page) = app.get("/api/tickets?sla=breached", &agent.token).await;
    assert_eq!(page["items"], json!([]));
    for q in ["sla=breached", "sort=-sla_due_at"] {
        let (s, e) = app.get(&format!("/api/tickets?{q}"), &carol.token).await;
        assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "forbidden"), "{q}");
    }
    for q in ["sla=late", "sla=due_within:0", "sla=due_within:x"] {
        let (s, e) = app.get(&format!("/api/tickets?{q}"), &agent.token).await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::BAD_REQUEST, "invalid_query"),
            "{q}"
        );
    }

    // Without a policy: `sla` null.
    let (s, _) = app.delete(&path, &admin.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, staff) = app.get(&format!("/api/tickets/{tid}"), &agent.token).await;
    assert_eq!(staff["sla"], Value::Null);
    let (s, _) = app.get(&path, &agent.token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// A 0.1-minute (6-second) first-response target: the warning at 80 % and the breach
/// each arrive once on a socket, on the server's own clock.
async fn six_second_target_breaches_once(policy_app: &App) {
    let admin = policy_app.user(Role::Admin, "admin@example.com").await;
    let carol = policy_app.signup("carol@example.com").await;
    let (s, _) = policy_app
        .post(
            "/api/sla-policies",
            &admin.token,
            json!({"name": "Fast", "targets": {"first_response": {"normal": 0.1}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let mut ws = policy_app.ws(&admin.token).await;
    let t = ticket(policy_app, &carol, "Quick").await;
    let warning = ws.next_of("ticket.sla_warning").await;
    assert_eq!(warning["data"]["ticket_id"], t["id"]);
    let breach = ws.next_of("ticket.sla_breached").await;
    assert_eq!(breach["data"]["metric"], "first_response");
    assert_eq!(breach["data"]["cycle"], 1);
    let (_, now) = policy_app
        .get(
            &format!("/api/tickets/{}", t["id"].as_str().unwrap()),
            &admin.token,
        )
        .await;
    assert_eq!(now["sla"]["breached"], json!(["first_response"]));
    // Once, whatever the number of instances polling.
    let again =
        tokio::time::timeout(Duration::from_secs(3), ws.next_of("ticket.sla_breached")).await;
    assert!(again.is_err(), "breached once");
}

#[tokio::test]
async fn a_six_second_sla_breaches_once() {
    let app = spawn_live_app().await;
    six_second_target_breaches_once(&app).await;
}

#[tokio::test]
async fn a_six_second_sla_breaches_once_with_two_instances_on_postgres() {
    let Some((a, b)) = spawn_live_pair_on_postgres().await else {
        println!("skipped: HELPDESK_TEST_DATABASE_URL is not set");
        return;
    };
    // Both poll the scheduler; the second one only has to run meanwhile.
    six_second_target_breaches_once(&a).await;
    drop(b);
}
