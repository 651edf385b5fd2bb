//! CSAT surveys over HTTP (API-workflow.md "CSAT"): the token from the requester's
//! `csat_requested` notification, `GET`/`POST /api/csat/{token}` without auth (an
//! `Authorization` header, even a bad one, is ignored), answers until expiry (409
//! `csat_expired`), a ticket's surveys and the report for staff only.

use helpdesk::csat::CsatConfig;
use helpdesk::{Config, Role};
use helpdesk_http::ServerConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// A server whose survey links answer for 5 seconds (of its clock).
async fn app() -> App {
    spawn_app_with(
        Config {
            csat: CsatConfig {
                enabled: true,
                ttl: std::time::Duration::from_secs(5),
            },
            ..Config::for_tests()
        },
        ServerConfig::default(),
    )
    .await
}

/// `method /api/csat/{token}` with `auth` as the `Authorization` header, if any.
async fn survey(
    app: &App,
    method: Method,
    token: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app
        .client
        .request(method, app.url(&format!("/api/csat/{token}")));
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let bytes = resp.bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The newest CSAT token among `who`'s notifications.
async fn token_of(app: &App, who: &Who) -> String {
    let (s, list) = app.get("/api/notifications", &who.token).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let n = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "csat_requested")
        .unwrap_or_else(|| panic!("no csat_requested in {list}"));
    assert!(n["data"]["ticket_id"].is_string());
    n["data"]["csat_token"].as_str().unwrap().to_string()
}

/// A customer's ticket, assigned to `agent` and resolved by them. Returns its id.
async fn resolved(app: &App, customer: &Who, agent: &Who, admin: &Who) -> String {
    let (s, t) = app
        .post(
            "/api/tickets",
            &customer.token,
            json!({"subject": "Printer on fire", "description": "It burns."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let id = t["id"].as_str().unwrap().to_string();
    let (s, v) = app
        .patch(
            &format!("/api/tickets/{id}"),
            &admin.token,
            json!({"assignee_id": agent.id}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .patch(
            &format!("/api/tickets/{id}"),
            &agent.token,
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    id
}

#[tokio::test]
async fn survey_link_answers_until_it_expires() {
    let app = app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let customer = app.signup("carol@example.com").await;
    let ticket = resolved(&app, &customer, &agent, &admin).await;
    let token = token_of(&app, &customer).await;
    // Staff are never told the token.
    let (_, staff_list) = app.get("/api/notifications", &agent.token).await;
    assert!(!staff_list.to_string().contains(&token));

    // No auth needed; a bad Authorization header is ignored.
    let (s, page) = survey(&app, Method::GET, &token, None, None).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["ticket_subject"], "Printer on fire");
    assert_eq!(page["ticket_number"], 1);
    assert_eq!(page["agent_name"], "agent");
    assert_eq!(page["rating"], Value::Null);
    assert_eq!(page["comment"], Value::Null);
    assert_eq!(page["responded_at"], Value::Null);
    assert_eq!(page["expired"], false);
    assert!(page["expires_at"].is_string());
    let (s, again) = survey(&app, Method::GET, &token, Some("Bearer garbage"), None).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again, page, "GET records nothing");

    // Answers repeat, the last winning.
    let (s, v) = survey(&app, Method::POST, &token, None, Some(json!({"rating": 2}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["rating"], 2);
    assert!(v["responded_at"].is_string());
    let (s, v) = survey(
        &app,
        Method::POST,
        &token,
        Some("Bearer not-a-token"),
        Some(json!({"rating": 5, "comment": "Quick fix"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["rating"].clone(), v["comment"].clone()),
        (json!(5), json!("Quick fix"))
    );
    let (_, page) = survey(&app, Method::GET, &token, None, None).await;
    assert_eq!(page["rating"], 5);
    // `5.0` is the whole number 5 (JSON Schema's `integer`).
    let (s, v) = survey(
        &app,
        Method::POST,
        &token,
        None,
        Some(json!({"rating": 5.0, "comment": "Quick fix"})),
    )
    .await;
    assert_eq!((s, v["rating"].clone()), (StatusCode::OK, json!(5)), "{v}");

    // Bad answers: 422 at their field.
    for (body, field) in [
        (json!({"rating": 0}), "rating"),
        (json!({"rating": 6}), "rating"),
        (json!({"rating": 4.5}), "rating"),
        (json!({"rating": "4"}), "rating"),
        (json!({"rating": 3, "comment": "x".repeat(2001)}), "comment"),
    ] {
        let (s, v) = survey(&app, Method::POST, &token, None, Some(body)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["errors"][0]["field"], field, "{v}");
    }
    // An unknown token: 404, whatever the method.
    let (s, v) = survey(&app, Method::GET, "unknown-token", None, None).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, _) = survey(
        &app,
        Method::POST,
        "unknown-token",
        None,
        Some(json!({"rating": 3})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The ticket's surveys, for staff, without the token.
    let (s, list) = app
        .get(&format!("/api/tickets/{ticket}/csat"), &agent.token)
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["cycle"], 1);
    assert_eq!(items[0]["rating"], 5);
    assert_eq!(items[0]["comment"], "Quick fix");
    assert_eq!(items[0]["assignee_id"], json!(agent.id));
    assert!(!list.to_string().contains(&token));
    assert!(items[0].get("token_hash").is_none());

    // After 5 seconds: expired, 409 `csat_expired`; the page still shows the answer.
    app.clock().advance(chrono::Duration::seconds(5));
    let (s, page) = survey(&app, Method::GET, &token, None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (page["expired"].clone(), page["rating"].clone()),
        (json!(true), json!(5))
    );
    let (s, v) = survey(&app, Method::POST, &token, None, Some(json!({"rating": 1}))).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "csat_expired"), "{v}");
}

#[tokio::test]
async fn report_and_ticket_surveys_are_for_staff() {
    let app = app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let customer = app.signup("carol@example.com").await;
    let start = helpdesk::event::ts(app.hd.now());
    let ticket = resolved(&app, &customer, &agent, &admin).await;
    let token = token_of(&app, &customer).await;
    let (s, _) = survey(&app, Method::POST, &token, None, Some(json!({"rating": 4}))).await;
    assert_eq!(s, StatusCode::OK);
    // A second, unanswered survey: another ticket.
    resolved(&app, &customer, &agent, &admin).await;

    let (s, r) = app.get("/api/csat", &agent.token).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["sent"], 2);
    assert_eq!(r["count"], 1);
    assert_eq!(r["average"], 4.0);
    assert_eq!(r["response_rate"], 0.5);
    assert_eq!(
        r["distribution"],
        json!({"1": 0, "2": 0, "3": 0, "4": 1, "5": 0})
    );
    assert_eq!(
        r["by_agent"],
        json!([{"assignee_id": agent.id, "count": 1, "average": 4.0}])
    );
    assert_eq!(r["by_group"][0]["count"], 1);
    // The window and the filters.
    let later = helpdesk::event::ts(app.hd.now() + chrono::Duration::hours(1));
    let (s, r) = app
        .get(&format!("/api/csat?from={later}"), &admin.token)
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (r["sent"].clone(), r["average"].clone()),
        (json!(0), Value::Null)
    );
    assert_eq!(r["response_rate"], Value::Null);
    let (s, r) = app
        .get(
            &format!("/api/csat?from={start}&to={later}&assignee_id={}", agent.id),
            &admin.token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["sent"], 2);
    // Bad parameters: 400 `invalid_query`.
    for q in [
        "from=yesterday",
        "assignee_id=nobody",
        "group_id=1",
        &format!("from={later}&to={start}"),
    ] {
        let (s, v) = app.get(&format!("/api/csat?{q}"), &admin.token).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::BAD_REQUEST, "invalid_query"),
            "{q}: {v}"
        );
    }
    // Customers: 403 on both staff endpoints; no token: 401.
    let (s, v) = app.get("/api/csat", &customer.token).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, _) = app
        .get(&format!("/api/tickets/{ticket}/csat"), &customer.token)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.call(Method::GET, "/api/csat", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_agent_requested_ticket_gets_no_survey() {
    let app = app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let (s, t) = app
        .post(
            "/api/tickets",
            &agent.token,
            json!({"subject": "Internal", "description": "For us."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let id = t["id"].as_str().unwrap();
    let (s, _) = app
        .patch(
            &format!("/api/tickets/{id}"),
            &agent.token,
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, list) = app
        .get(&format!("/api/tickets/{id}/csat"), &agent.token)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["items"], json!([]));
}
