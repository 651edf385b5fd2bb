//! Users: profiles, admin operations, role permissions.

use helpdesk::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn profiles_and_permissions() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let bob = app.signup("bob@example.com").await;

    // Customers see others' public profile only; staff see the email.
    let (s, v) = app
        .get(&format!("/api/users/{}", bob.id), &alice.token)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v.get("email").is_none(), "{v}");
    assert_eq!(v["name"], "bob");
    let (_, v) = app
        .get(&format!("/api/users/{}", bob.id), &agent.token)
        .await;
    assert_eq!(v["email"], "bob@example.com");

    // Listing is for staff.
    let (s, v) = app.get("/api/users", &alice.token).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app
        .get("/api/users?role=customer&limit=1", &agent.token)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    let cursor = v["next_cursor"].as_str().unwrap().to_string();
    let (_, v2) = app
        .get(
            &format!("/api/users?role=customer&limit=1&cursor={cursor}"),
            &agent.token,
        )
        .await;
    assert_eq!(v2["items"][0]["email"], "bob@example.com");
    assert!(v2["next_cursor"].is_null());
    let (_, v) = app.get("/api/users?q=ALI", &admin.token).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);

    // Creating users is for admins; a customer's request is 403 before any body check.
    let body = json!({"email": "new@example.com", "name": "New", "role": "agent", "password": "password123"});
    let (s, v) = app
        .post("/api/users", &alice.token, json!({"bogus": 1}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app.post("/api/users", &agent.token, body.clone()).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app.post("/api/users", &admin.token, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["role"], "agent");
    let (s, v) = app.post("/api/users", &admin.token, body).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "email_taken"));

    // Self-service: role is a field only admins set elsewhere.
    let (s, v) = app
        .patch("/api/users/me", &alice.token, json!({"role": "admin"}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden_field"));
    let (s, v) = app
        .patch("/api/users/me", &alice.token, json!({"nickname": "x"}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field")
    );
    let (s, v) = app
        .patch("/api/users/me", &alice.token, json!({"name": "Alice A."}))
        .await;
    assert_eq!((s, v["name"].as_str()), (StatusCode::OK, Some("Alice A.")));
    let (s, v) = app
        .patch(
            "/api/users/me",
            &alice.token,
            json!({"password": "newpassword1", "current_password": "wrong-one"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );

    // Admins deactivate; the user's tokens stop working at once.
    let (s, v) = app
        .patch(
            &format!("/api/users/{}", bob.id),
            &agent.token,
            json!({"is_active": false}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app
        .patch(
            &format!("/api/users/{}", bob.id),
            &admin.token,
            json!({"is_active": false}),
        )
        .await;
    assert_eq!((s, v["is_active"].as_bool()), (StatusCode::OK, Some(false)));
    let (s, _) = app.get("/api/users/me", &bob.token).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = app
        .patch(
            &format!("/api/users/{}", uuid::Uuid::now_v7()),
            &admin.token,
            json!({"name": "x"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
}
