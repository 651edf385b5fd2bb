//! Operations endpoints, CORS, uploads and downloads, the knowledge base, webhooks.

use helpdesk::{Config, Role};
use helpdesk_http::ServerConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn health_ready_metrics_openapi() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .client
        .get(app.url("/api/openapi.yaml"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().starts_with("# Helpdesk HTTP API"));
    let r = app.client.get(app.url("/metrics")).send().await.unwrap();
    let text = r.text().await.unwrap();
    assert!(
        text.contains(
            "helpdesk_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("helpdesk_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn cors_for_configured_origins_only() {
    let server = ServerConfig {
        cors_origins: vec!["https://app.example.com".into()],
        ..ServerConfig::default()
    };
    let app = spawn_app_with(Config::for_tests(), server).await;
    let r = app
        .client
        .request(Method::OPTIONS, app.url("/api/tickets"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    let allowed = h["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed.contains("Authorization") && allowed.contains("Content-Type"));

    let r = app
        .client
        .get(app.url("/healthz"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("origin", "https://evil.example.com")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = app
        .client
        .request(Method::OPTIONS, app.url("/api/tickets"))
        .header("origin", "https://evil.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

async fn upload(
    app: &App,
    path: &str,
    token: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_string())
        .mime_str("text/plain")
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("note", "ignored")
        .part("file", part);
    let r = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn uploads_and_downloads() {
    let config = Config {
        max_upload: 1000,
        ..Config::for_tests()
    };
    let app = spawn_app_with(config, ServerConfig::default()).await;
    let alice = app.signup("alice@example.com").await;
    let bob = app.signup("bob@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;

    let (s, a) = upload(
        &app,
        "/api/attachments",
        &alice.token,
        "../evil \"name\".txt",
        b"hello world".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!(a["size"], 11);
    let aid = a["id"].as_str().unwrap().to_string();

    let r = app
        .client
        .get(app.url(&format!("/api/attachments/{aid}/content")))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cd.starts_with("attachment; filename=\""), "{cd}");
    assert!(!cd.contains("../") && !cd.contains("\\\""), "{cd}");
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"hello world");
    let (s, _) = app
        .get(&format!("/api/attachments/{aid}"), &bob.token)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Attached to a ticket: the staff can see it.
    let (_, t) = app
        .post(
            "/api/tickets",
            &alice.token,
            json!({"subject": "with file", "description": "", "attachment_ids": [aid]}),
        )
        .await;
    let tid = t["id"].as_str().unwrap();
    let (s, list) = app
        .get(&format!("/api/tickets/{tid}/attachments"), &agent.token)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["items"][0]["id"], json!(aid));
    let (s, _) = upload(
        &app,
        &format!("/api/tickets/{tid}/attachments"),
        &agent.token,
        "log.txt",
        b"log".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = upload(
        &app,
        &format!("/api/tickets/{tid}/attachments"),
        &bob.token,
        "log.txt",
        b"log".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Over the limit: 413. Wrong content type: 415. No file field: 422.
    let (s, v) = upload(
        &app,
        "/api/attachments",
        &alice.token,
        "big.bin",
        vec![7u8; 5000],
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let (s, v) = app.post("/api/attachments", &alice.token, json!({})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    let form = reqwest::multipart::Form::new().text("other", "x");
    let r = app
        .client
        .post(app.url("/api/attachments"))
        .bearer_auth(&alice.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// An upload whose part names a media range (`*/*`) rather than a type is kept as
/// `application/octet-stream`: the server used to store `*/*` and send it back as the
/// download's `Content-Type` (found by the contract run, .ci/schemathesis).
#[tokio::test]
async fn uploads_naming_a_media_range_are_kept_as_octet_stream() {
    let app = spawn_app().await;
    let alice = app.signup("alice@example.com").await;
    for range in ["*/*", "image/*"] {
        let part = reqwest::multipart::Part::bytes(b"\x89PNG".to_vec())
            .file_name("picture.png")
            .mime_str(range)
            .unwrap();
        let r = app
            .client
            .post(app.url("/api/attachments"))
            .bearer_auth(&alice.token)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let a: Value = r.json().await.unwrap();
        assert_eq!(a["content_type"], "application/octet-stream", "{range}");
        let r = app
            .client
            .get(app.url(&format!(
                "/api/attachments/{}/content",
                a["id"].as_str().unwrap()
            )))
            .bearer_auth(&alice.token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.headers()["content-type"],
            "application/octet-stream",
            "{range}"
        );
    }
}

/// `GET /api/webhooks` and `GET /api/tickets/{id}/attachments` page by `limit` and
/// `cursor` like every list (API.md); they used to answer the whole list in one page
/// whatever the limit.
#[tokio::test]
async fn short_lists_page_like_every_list() {
    let config = Config {
        webhooks_allow_private: true,
        ..Config::for_tests()
    };
    let app = spawn_app_with(config, ServerConfig::default()).await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let (s, t) = app
        .post(
            "/api/tickets",
            &admin.token,
            json!({"subject": "files", "description": ""}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let files_path = format!("/api/tickets/{}/attachments", t["id"].as_str().unwrap());
    let (mut hooks, mut files) = (Vec::new(), Vec::new());
    for i in 0..3 {
        let url = format!("http://127.0.0.1:9/hook-{i}");
        let (s, w) = app
            .post(
                "/api/webhooks",
                &admin.token,
                json!({"url": url, "events": ["*"]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{w}");
        hooks.push(w["id"].as_str().unwrap().to_string());
        let (s, a) = upload(&app, &files_path, &admin.token, "f.txt", b"x".to_vec()).await;
        assert_eq!(s, StatusCode::CREATED, "{a}");
        files.push(a["id"].as_str().unwrap().to_string());
    }
    for (path, mut want) in [("/api/webhooks".to_string(), hooks), (files_path, files)] {
        // Oldest first; the test clock stands still, so ids break the tie.
        want.sort();
        let (_, first) = app.get(&format!("{path}?limit=2"), &admin.token).await;
        assert_eq!(
            first["items"].as_array().unwrap().len(),
            2,
            "{path}: {first}"
        );
        let cursor = first["next_cursor"].as_str().expect("a next page");
        let (_, second) = app
            .get(&format!("{path}?limit=2&cursor={cursor}"), &admin.token)
            .await;
        assert_eq!(second["next_cursor"], Value::Null, "{path}: {second}");
        let seen: Vec<&str> = first["items"]
            .as_array()
            .unwrap()
            .iter()
            .chain(second["items"].as_array().unwrap())
            .map(|x| x["id"].as_str().unwrap())
            .collect();
        assert_eq!(seen, want, "{path}");
    }
}

#[tokio::test]
async fn knowledge_base() {
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let (s, v) = app
        .post("/api/kb/articles", &alice.token, json!({"title": "x"}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, a) = app
        .post(
            "/api/kb/articles",
            &agent.token,
            json!({"title": "Reset your password", "body": "How to reset passwords.", "tags": ["account"], "status": "published"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!(a["slug"], "reset-your-password");
    let (s, d) = app
        .post(
            "/api/kb/articles",
            &agent.token,
            json!({"title": "Draft", "body": "secret"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = app
        .post(
            "/api/kb/articles",
            &agent.token,
            json!({"title": "Other", "slug": "reset-your-password"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "slug_taken"));

    // Anonymous readers see published articles, by slug or id.
    let (s, v) = app
        .call(
            Method::GET,
            "/api/kb/articles/reset-your-password",
            None,
            None,
        )
        .await;
    assert_eq!((s, v["id"].clone()), (StatusCode::OK, a["id"].clone()));
    let (s, _) = app
        .call(
            Method::GET,
            &format!("/api/kb/articles/{}", d["id"].as_str().unwrap()),
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, list) = app.call(Method::GET, "/api/kb/articles", None, None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, list) = app.get("/api/kb/articles?status=draft", &agent.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (s, hits) = app
        .call(Method::GET, "/api/kb/search?q=password", None, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(hits["items"][0]["article"]["slug"], "reset-your-password");
    assert!(
        hits["items"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<mark>")
    );
    let (_, tags) = app.call(Method::GET, "/api/kb/tags", None, None).await;
    assert_eq!(tags, json!({"items": [{"tag": "account", "count": 1}]}));
    // The same words find the draft for staff only, whoever asked first.
    for (token, drafts) in [(None, 0), (Some(&agent.token), 1), (None, 0)] {
        let (s, hits) = app
            .call(
                Method::GET,
                "/api/kb/search?q=secret",
                token.map(|t| t.as_str()),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(hits["items"].as_array().unwrap().len(), drafts, "{token:?}");
    }
    // A given but bad token is still 401.
    let (s, _) = app.get("/api/kb/tags", "garbage").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Editing by id (a slug there is a bad id).
    let path = format!("/api/kb/articles/{}", a["id"].as_str().unwrap());
    let (s, v) = app
        .patch(
            "/api/kb/articles/reset-your-password",
            &agent.token,
            json!({"title": "y"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_id"));
    let (s, v) = app
        .patch(&path, &agent.token, json!({"title": "Reset it"}))
        .await;
    assert_eq!((s, v["title"].as_str()), (StatusCode::OK, Some("Reset it")));
    // A search answered before the edit is answered anew after it.
    let (_, hits) = app
        .call(Method::GET, "/api/kb/search?q=password", None, None)
        .await;
    assert_eq!(hits["items"][0]["article"]["title"], "Reset it");
    let (s, _) = app.delete(&path, &alice.token).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.delete(&path, &agent.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn webhooks_are_for_admins() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    // Loopback targets are refused unless the operator allows private ones.
    let (s, v) = app
        .post(
            "/api/webhooks",
            &admin.token,
            json!({"url": "http://127.0.0.1:9/x", "events": ["*"]}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        "{v}"
    );
    // With private targets allowed (as an operator may), the rest of the admin API;
    // deliveries are not sent here (the tests' servers run no webhook worker).
    let config = helpdesk::Config {
        webhooks_allow_private: true,
        ..helpdesk::Config::for_tests()
    };
    let app = spawn_app_with(config, helpdesk_http::ServerConfig::default()).await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let body = json!({"url": "http://127.0.0.1:9/x", "events": ["ticket.created"]});
    let (s, _) = app.post("/api/webhooks", &agent.token, body.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, w) = app.post("/api/webhooks", &admin.token, body).await;
    assert_eq!(s, StatusCode::CREATED, "{w}");
    assert!(w["secret"].as_str().unwrap().starts_with("whsec_"));
    let path = format!("/api/webhooks/{}", w["id"].as_str().unwrap());
    let (_, got) = app.get(&path, &admin.token).await;
    assert!(got.get("secret").is_none());
    let (s, r) = app
        .post(&format!("{path}/rotate-secret"), &admin.token, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(r["secret"], w["secret"]);
    let (s, _) = app
        .post(&format!("{path}/test"), &admin.token, json!({}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, d) = app.get(&format!("{path}/deliveries"), &admin.token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(d["items"][0]["event_type"], "webhook.test");
    let (s, _) = app.delete(&path, &admin.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

/// An IPv6 address that carries a forbidden IPv4 address (NAT64, IPv4-compatible, 6to4)
/// is refused by that address, on create and on update, when the operator has not
/// allowed private targets; a public one is still accepted.
#[tokio::test]
async fn webhook_urls_carrying_private_ipv4_inside_ipv6_are_refused() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let refused = [
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",
        "http://[::127.0.0.1]/x",
        "http://[::a9fe:a9fe]/x",
        "http://[64:ff9b::7f00:1]/x",
        "http://[2002:7f00:1::1]/x",
        "http://[2002:a9fe:a9fe::1]/x",
    ];
    for url in refused {
        let (s, v) = app
            .post(
                "/api/webhooks",
                &admin.token,
                json!({"url": url, "events": ["*"]}),
            )
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{url}: {v}"
        );
        assert_eq!(v["errors"][0]["field"], "url", "{url}: {v}");
    }
    // A public address in the same forms is accepted (IP hosts: no DNS lookup), and
    // kept as given.
    let public = "  https://[64:ff9b::808:808]/hook ";
    let (s, w) = app
        .post(
            "/api/webhooks",
            &admin.token,
            json!({"url": public, "events": ["*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{w}");
    assert_eq!(w["url"], public.trim());
    let path = format!("/api/webhooks/{}", w["id"].as_str().unwrap());
    for url in refused {
        let (s, v) = app.patch(&path, &admin.token, json!({"url": url})).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{url}: {v}"
        );
        assert_eq!(v["errors"][0]["field"], "url", "{url}: {v}");
    }
    let (_, list) = app.get("/api/webhooks", &admin.token).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list["items"][0]["url"], public.trim());
}
