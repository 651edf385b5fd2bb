//! Custom ticket fields over HTTP: admin writes and their problem answers (403, 404,
//! 409 `key_taken` / `in_use`, 422 `unknown_field` for fixed fields and unknown keys,
//! 403 `forbidden_field`), what customers read, tickets' `fields` on create and PATCH
//! with errors at `fields.<key>`, and the list's `field.<key>` filters (400
//! `invalid_query`).

use helpdesk::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const PATH: &str = "/api/ticket-fields";

fn keys(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn custom_fields_over_http() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;

    let cost = json!({"key": "cost", "type": "number", "label": "Cost"});
    let (s, v) = app.post(PATH, &agent.token, cost.clone()).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (s, cost_field) = app.post(PATH, &admin.token, cost.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{cost_field}");
    assert_eq!(cost_field["options"], json!([]));
    assert_eq!(cost_field["customer_visible"], false);
    let (s, v) = app.post(PATH, &admin.token, cost).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("key_taken"))
    );
    let (s, _) = app
        .post(
            PATH,
            &admin.token,
            json!({"key": "kind", "type": "colour", "label": "Kind"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = app
        .post(
            PATH,
            &admin.token,
            json!({"key": "kind", "type": "select", "label": "Kind"}),
        )
        .await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("options"))
    );
    let (s, platforms) = app
        .post(
            PATH,
            &admin.token,
            json!({"key": "platforms", "type": "multiselect", "label": "Platforms",
                   "options": ["web", "mobile", "api"], "customer_visible": true,
                   "customer_editable": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{platforms}");
    let at = format!("{PATH}/{}", cost_field["id"].as_str().unwrap());
    let (s, v) = app.patch(&at, &admin.token, json!({"type": "text"})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_field"))
    );
    let (s, v) = app
        .patch(&at, &admin.token, json!({"customer_editable": true}))
        .await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("customer_editable"))
    );

    // Customers read the visible fields only.
    let (_, list) = app.get(PATH, &customer.token).await;
    assert_eq!(keys(&list), ["platforms"]);
    let (s, _) = app.get(&at, &customer.token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Tickets: values, errors at their paths, who may set what.
    let (s, t) = app
        .post(
            "/api/tickets",
            &customer.token,
            json!({"subject": "Broken", "description": "x", "fields": {"platforms": ["api", "web"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert_eq!(t["fields"], json!({"platforms": ["web", "api"]}));
    let ticket = format!("/api/tickets/{}", t["id"].as_str().unwrap());
    let (s, v) = app
        .patch(&ticket, &customer.token, json!({"fields": {"cost": 3}}))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_field"))
    );
    let (s, v) = app
        .patch(
            &ticket,
            &agent.token,
            json!({"fields": {"cost": "much", "platforms": ["tv"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let mut at_fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    at_fields.sort();
    assert_eq!(at_fields, ["fields.cost", "fields.platforms"]);
    let (s, v) = app
        .patch(&ticket, &agent.token, json!({"fields": {"cost": 12}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["fields"],
        json!({"cost": 12, "platforms": ["web", "api"]})
    );
    let (_, theirs) = app.get(&ticket, &customer.token).await;
    assert_eq!(theirs["fields"], json!({"platforms": ["web", "api"]}));
    // A field customers see but may not edit.
    app.patch(
        &format!("{PATH}/{}", platforms["id"].as_str().unwrap()),
        &admin.token,
        json!({"customer_editable": false}),
    )
    .await;
    let (s, v) = app
        .patch(
            &ticket,
            &customer.token,
            json!({"fields": {"platforms": ["web"]}}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden_field"))
    );

    // Filters.
    let (s, v) = app
        .get(
            "/api/tickets?field.platforms=api&field.cost=12",
            &agent.token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    let (_, v) = app.get("/api/tickets?field.cost=13", &agent.token).await;
    assert_eq!(v["items"], json!([]));
    for query in ["field.nope=1", "field.cost=much", "field.platforms=tv"] {
        let (s, v) = app
            .get(&format!("/api/tickets?{query}"), &agent.token)
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_query")),
            "{query}"
        );
    }
    let (s, _) = app.get("/api/tickets?field.cost=12", &customer.token).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // In use while a ticket has a value.
    let (s, v) = app.delete(&at, &admin.token).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("in_use"))
    );
    app.patch(&ticket, &agent.token, json!({"fields": {"cost": null}}))
        .await;
    let (s, _) = app.delete(&at, &admin.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn required_fields_over_http() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    app.post(
        PATH,
        &admin.token,
        json!({"key": "product", "type": "text", "label": "Product", "required_on_create": true}),
    )
    .await;
    app.post(
        PATH,
        &admin.token,
        json!({"key": "cause", "type": "text", "label": "Cause", "required_on_resolve": true}),
    )
    .await;
    let (s, v) = app
        .post(
            "/api/tickets",
            &agent.token,
            json!({"subject": "S", "description": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        v["errors"][0],
        json!({"field": "fields.product", "message": "required"})
    );
    let (s, t) = app
        .post(
            "/api/tickets",
            &agent.token,
            json!({"subject": "S", "description": "x", "fields": {"product": "Printer"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let ticket = format!("/api/tickets/{}", t["id"].as_str().unwrap());
    // A move the table refuses is 409 before any required field.
    let (s, v) = app
        .patch(&ticket, &agent.token, json!({"status": "closed"}))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_transition"))
    );
    let (s, v) = app
        .patch(&ticket, &agent.token, json!({"status": "resolved"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["errors"][0]["field"], "fields.cause");
    let (s, v) = app
        .patch(
            &ticket,
            &agent.token,
            json!({"status": "resolved", "fields": {"cause": "Paper jam"}}),
        )
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("resolved"))
    );
}
