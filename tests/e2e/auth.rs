//! Signup, login, refresh rotation and reuse, logout, token failures, rate limiting.

use helpdesk::{Config, Role};
use helpdesk_http::ServerConfig;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn signup_login_refresh_logout() {
    let app = spawn_app().await;
    let alice = app.signup("alice@example.com").await;
    let (s, me) = app.get("/api/users/me", &alice.token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["role"], "customer");
    assert_eq!(me["email"], "alice@example.com");

    // Emails are unique case-insensitively.
    let (s, v) = app
        .anon_post(
            "/api/auth/signup",
            json!({"email": "ALICE@example.com", "password": "password123", "name": "A"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "email_taken"));

    // Wrong password and unknown email answer the same.
    let (s1, v1) = app
        .anon_post(
            "/api/auth/login",
            json!({"email": "alice@example.com", "password": "wrong-password"}),
        )
        .await;
    let (s2, v2) = app
        .anon_post(
            "/api/auth/login",
            json!({"email": "nobody@example.com", "password": "wrong-password"}),
        )
        .await;
    assert_eq!(s1, StatusCode::UNAUTHORIZED);
    assert_eq!((s1, &v1), (s2, &v2));

    // Refresh rotates; reusing the old refresh token revokes the family.
    let (s, pair) = app
        .anon_post("/api/auth/refresh", json!({"refresh_token": alice.refresh}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let new_refresh = pair["refresh_token"].as_str().unwrap().to_string();
    let new_access = pair["access_token"].as_str().unwrap().to_string();
    assert_ne!(new_refresh, alice.refresh);
    let (s, _) = app
        .anon_post("/api/auth/refresh", json!({"refresh_token": alice.refresh}))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app
        .anon_post("/api/auth/refresh", json!({"refresh_token": new_refresh}))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the whole family is revoked");
    let (s, _) = app.get("/api/users/me", &new_access).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Logout ends the session: its access and refresh tokens stop working.
    let bob = app.signup("bob@example.com").await;
    let (s, v) = app
        .call(Method::POST, "/api/auth/logout", Some(&bob.token), None)
        .await;
    assert_eq!((s, v), (StatusCode::NO_CONTENT, serde_json::Value::Null));
    let (s, v) = app.get("/api/users/me", &bob.token).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let (s, _) = app
        .anon_post("/api/auth/refresh", json!({"refresh_token": bob.refresh}))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn missing_garbage_and_expired_tokens_are_401() {
    let app = spawn_app().await;
    let alice = app.signup("alice@example.com").await;
    let (s, v) = app.call(Method::GET, "/api/users/me", None, None).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let (s, v) = app.get("/api/users/me", "not.a.jwt").await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let resp = app
        .client
        .get(app.url("/api/users/me"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // The access token lives 15 minutes on the injected clock.
    app.clock().advance(chrono::Duration::minutes(16));
    let (s, v) = app.get("/api/users/me", &alice.token).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "token_expired"));
}

#[tokio::test]
async fn closed_signup_is_403() {
    let config = Config {
        signup_open: false,
        ..Config::for_tests()
    };
    let app = spawn_app_with(config, ServerConfig::default()).await;
    let (s, v) = app
        .anon_post(
            "/api/auth/signup",
            json!({"email": "a@example.com", "password": "password123", "name": "A"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
}

#[tokio::test]
async fn failed_logins_are_rate_limited_per_email_and_address() {
    let app = spawn_app().await;
    app.user(Role::Customer, "carol@example.com").await;
    let bad = json!({"email": "carol@example.com", "password": "wrong-password"});
    for _ in 0..10 {
        let (s, _) = app
            .call(Method::POST, "/api/auth/login", None, Some(bad.clone()))
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    // The 11th attempt is refused without checking the password, even a right one.
    let resp = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": "carol@example.com", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 900);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(code(&v), "rate_limited");
    // Unknown emails are counted alike (429 reveals nothing), and other emails go on.
    let (s, _) = app
        .anon_post(
            "/api/auth/login",
            json!({"email": "other@example.com", "password": "wrong-password"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn trusted_proxy_forwarded_for_names_the_client() {
    let server = ServerConfig {
        trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
        ..ServerConfig::default()
    };
    let app = spawn_app_with(Config::for_tests(), server).await;
    let bad = json!({"email": "dave@example.com", "password": "wrong-password"});
    let send = |xff: &'static str| {
        app.client
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", xff)
            .json(&bad)
            .send()
    };
    for _ in 0..10 {
        assert_eq!(
            send("203.0.113.7").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        send("203.0.113.7").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy is not blocked.
    assert_eq!(
        send("198.51.100.9").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_made_up_refresh_token_does_not_end_the_session() {
    let app = spawn_app().await;
    let alice = app.signup("alice@example.com").await;
    // The session id is in every access token; anyone who saw one knows it.
    let sid = alice.refresh.split('.').next().unwrap();
    for forged in [format!("{sid}.garbage"), format!("{sid}.x.y")] {
        let (s, v) = app
            .anon_post("/api/auth/refresh", json!({"refresh_token": forged}))
            .await;
        assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    }
    let (s, _) = app.get("/api/users/me", &alice.token).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .anon_post("/api/auth/refresh", json!({"refresh_token": alice.refresh}))
        .await;
    assert_eq!(s, StatusCode::OK, "the owner's refresh token still works");
}

#[tokio::test]
async fn wrong_current_passwords_are_rate_limited() {
    let app = spawn_app().await;
    let alice = app.signup("alice@example.com").await;
    let change = |current: &str| json!({"password": "a-new-password", "current_password": current});
    for _ in 0..10 {
        let (s, v) = app
            .patch("/api/users/me", &alice.token, change("wrong-password"))
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
        );
    }
    let resp = app
        .client
        .patch(app.url("/api/users/me"))
        .bearer_auth(&alice.token)
        .json(&change("password123"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    // The password is unchanged, and logins for that email from here wait too.
    let (s, _) = app
        .anon_post(
            "/api/auth/login",
            json!({"email": "alice@example.com", "password": "password123"}),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn signups_from_one_address_are_rate_limited() {
    let config = Config {
        limits: helpdesk::limit::Limits {
            signups_per_client: helpdesk::limit::Rate::new(5, chrono::Duration::minutes(1)),
            ..Default::default()
        },
        ..Config::for_tests()
    };
    let app = spawn_app_with(config, ServerConfig::default()).await;
    for n in 0..5 {
        app.signup(&format!("user{n}@example.com")).await;
    }
    let resp = app
        .client
        .post(app.url("/api/auth/signup"))
        .json(&json!({"email": "user5@example.com", "password": "password123", "name": "U"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(code(&v), "rate_limited");
}
