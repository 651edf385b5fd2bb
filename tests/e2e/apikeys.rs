//! API keys and service accounts over the real server: making, listing and deleting
//! keys; using them on REST and `/api/ws`; `insufficient_scope` answers with their
//! challenge; malformed, unknown and expired keys; keys in URLs refused; service
//! accounts that never log in; the per-key rate limit; sockets closed when the key or
//! its owner goes; Socket.IO's connect.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use helpdesk::Role;
use helpdesk::limit::{Limits, Rate};
use helpdesk_http::ServerConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::Request;

use crate::helpers::*;

/// A key made by `who` for `user` (`me` or an id) with `scopes`; its token and the
/// answer.
async fn key(app: &App, who: &Who, user: &str, scopes: &[&str]) -> (String, Value) {
    let (s, v) = app
        .post(
            &format!("/api/users/{user}/api-keys"),
            &who.token,
            json!({"name": "test key", "scopes": scopes}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (v["token"].as_str().expect("a token").to_string(), v)
}

/// A GET with a raw `Authorization` value.
async fn get_as(app: &App, path: &str, token: &str) -> (StatusCode, Value) {
    app.get(path, token).await
}

/// The status and headers of a WebSocket handshake that was refused.
async fn refused_upgrade(req: Request<()>) -> (StatusCode, Value) {
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
            let body = resp
                .body()
                .as_ref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            (status, body)
        }
        Ok(_) => panic!("the upgrade was accepted"),
        Err(e) => panic!("the handshake failed otherwise: {e}"),
    }
}

fn ws_request(app: &App, query: &str, bearer: Option<&str>) -> Request<()> {
    let mut req = app.ws_url(query).into_client_request().expect("request");
    if let Some(t) = bearer {
        req.headers_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    req
}

#[tokio::test]
async fn keys_are_made_listed_used_and_deleted() {
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let customer = app.signup("carol@example.com").await;
    let (s, t) = app
        .post(
            "/api/tickets",
            &customer.token,
            json!({"subject": "Printer", "description": "On fire"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");

    let resp = app
        .client
        .post(app.url("/api/users/me/api-keys"))
        .bearer_auth(&agent.token)
        .json(&json!({"name": "CI", "scopes": ["tickets:write", "tickets:read", "tickets:read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let made: Value = resp.json().await.unwrap();
    let token = made["token"].as_str().unwrap();
    assert_eq!(token.len(), 56);
    assert!(token.starts_with("hd_pat_"));
    assert_eq!(made["prefix"], json!(&token[..15]));
    assert_eq!(made["scopes"], json!(["tickets:read", "tickets:write"]));
    assert_eq!(made["user_id"], json!(agent.id));
    assert_eq!(made["last_used_at"], Value::Null);
    assert_eq!(
        location,
        format!(
            "/api/users/{}/api-keys/{}",
            agent.id,
            made["id"].as_str().unwrap()
        )
    );
    let expires =
        chrono::DateTime::parse_from_rfc3339(made["expires_at"].as_str().unwrap()).unwrap();
    let created =
        chrono::DateTime::parse_from_rfc3339(made["created_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires - created, chrono::Duration::days(90));

    // Listed and read without the token (or its hash), through `me` or the id.
    let (s, list) = app.get("/api/users/me/api-keys", &agent.token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let listed = &list["items"][0];
    assert!(listed.get("token").is_none() && listed.get("token_hash").is_none());
    let (s, one) = app.get(&location, &agent.token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(&one, listed);

    // Used on REST: the owner's view, within the scopes.
    let (s, tickets) = get_as(&app, "/api/tickets", token).await;
    assert_eq!(s, StatusCode::OK, "{tickets}");
    assert_eq!(tickets["items"].as_array().unwrap().len(), 1);
    let (s, me) = get_as(&app, "/api/users/me", token).await;
    assert_eq!((s, &me["id"]), (StatusCode::OK, &json!(agent.id)));
    let (s, one) = app.get(&location, &agent.token).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        one["last_used_at"].is_string(),
        "the use was recorded: {one}"
    );

    // Deleted: it stops working at once.
    let (s, _) = app.delete(&location, &agent.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = get_as(&app, "/api/tickets", token).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let (s, v) = app.get(&location, &agent.token).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));

    // Bad input is the contract's problem, never a 500.
    for (body, field) in [
        (json!({"name": "x", "scopes": ["tickets:delete"]}), "scopes"),
        (json!({"name": "x", "scopes": []}), "scopes"),
        (json!({"name": "x", "scopes": ["admin"]}), "scopes"),
        (json!({"name": "", "scopes": ["kb:read"]}), "name"),
        (
            json!({"name": "x", "scopes": ["kb:read"], "expires_at": null}),
            "expires_at",
        ),
        (
            json!({"name": "x", "scopes": ["kb:read"], "expires_at": "soon"}),
            "expires_at",
        ),
        (
            json!({"name": "x", "scopes": ["kb:read"], "expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at",
        ),
    ] {
        let (s, v) = app.post("/api/users/me/api-keys", &agent.token, body).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{v}"
        );
        assert_eq!(v["errors"][0]["field"], field, "{v}");
    }
    let (s, v) = app
        .post(
            "/api/users/me/api-keys",
            &agent.token,
            json!({"name": "x", "scopes": ["kb:read"], "ttl": 3}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field")
    );
    let (s, v) = app
        .get("/api/users/not-a-uuid/api-keys", &agent.token)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_id"));
    // Another user's keys: 403 to an agent, whether or not the user exists.
    let nobody = uuid::Uuid::now_v7();
    for user in [customer.id.as_str(), &nobody.to_string()] {
        let (s, v) = app
            .get(&format!("/api/users/{user}/api-keys"), &agent.token)
            .await;
        assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    }
    let (s, v) = app.get("/api/users/me/api-keys", &customer.token).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "customers have none"
    );
}

#[tokio::test]
async fn missing_scopes_answer_insufficient_scope_with_the_challenge() {
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let (reader, _) = key(&app, &agent, "me", &["tickets:read"]).await;

    let resp = app
        .client
        .post(app.url("/api/tickets"))
        .bearer_auth(&reader)
        .json(&json!({"subject": "s", "description": "d"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer error=\"insufficient_scope\", scope=\"tickets:write\""
    );
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );
    let v: Value = resp.json().await.unwrap();
    assert_eq!(code(&v), "insufficient_scope");
    assert_eq!(v["required_scopes"], json!(["tickets:write"]));

    for (method, path, required) in [
        (Method::GET, "/api/conversations", json!(["messages:read"])),
        (Method::GET, "/api/notifications", json!(["messages:read"])),
        (
            Method::POST,
            "/api/notifications/read-all",
            json!(["messages:write"]),
        ),
        (Method::GET, "/api/users", json!(["users:read"])),
        // Admin-only operations need admin.
        (Method::POST, "/api/groups", json!(["admin"])),
        (Method::GET, "/api/webhooks", json!(["admin"])),
    ] {
        let body = (method == Method::POST).then(|| json!({"name": "Billing"}));
        let (s, v) = app.call(method.clone(), path, Some(&reader), body).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::FORBIDDEN, "insufficient_scope"),
            "{method} {path}"
        );
        assert_eq!(v["required_scopes"], required, "{method} {path}");
    }
    // Either write scope suffices for an upload.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("a.txt"),
    );
    let resp = app
        .client
        .post(app.url("/api/attachments"))
        .bearer_auth(&reader)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        v["required_scopes"],
        json!(["messages:write", "tickets:write"])
    );
    // What the scope allows works; a malformed id is still 400 first.
    let (s, _) = get_as(&app, "/api/groups", &reader).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = get_as(&app, "/api/conversations/nope", &reader).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_id"));
    let (s, v) = get_as(&app, "/api/users/me", &reader).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Only a signed-in user logs out, changes their profile or manages keys: 403
    // forbidden, before anything the body says.
    let (s, v) = app
        .call(Method::POST, "/api/auth/logout", Some(&reader), None)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app
        .patch("/api/users/me", &reader, json!({"nickname": "x"}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app.get("/api/users/me/api-keys", &reader).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app
        .post(
            "/api/users/me/api-keys",
            &reader,
            json!({"name": "x", "scopes": ["kb:read"]}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));

    // The KB reads need no token: without kb:read the key reads it as anyone does
    // (published only), with it as staff do; never insufficient_scope.
    for (title, status) in [("Published", "published"), ("Draft", "draft")] {
        let (s, v) = app
            .post(
                "/api/kb/articles",
                &agent.token,
                json!({"title": title, "body": "Text.", "status": status}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (kb, _) = key(&app, &agent, "me", &["kb:read"]).await;
    let titles = |v: &Value| -> Vec<String> {
        let mut t: Vec<String> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap().to_string())
            .collect();
        t.sort();
        t
    };
    let (s, v) = get_as(&app, "/api/kb/articles", &reader).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(titles(&v), ["Published"]);
    let (s, v) = get_as(&app, "/api/kb/articles", &kb).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(titles(&v), ["Draft", "Published"]);
    let (s, v) = app
        .post("/api/kb/articles", &kb, json!({"title": "No", "body": "x"}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "insufficient_scope"));
}

#[tokio::test]
async fn malformed_unknown_and_expired_keys_are_refused() {
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let (s, made) = app
        .post(
            "/api/users/me/api-keys",
            &agent.token,
            json!({
                "name": "short",
                "scopes": ["tickets:read"],
                "expires_at": (app.hd.now() + chrono::Duration::hours(1)).to_rfc3339(),
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let token = made["token"].as_str().unwrap().to_string();
    let (s, _) = get_as(&app, "/api/tickets", &token).await;
    assert_eq!(s, StatusCode::OK);

    let mut wrong_sum = token.clone();
    let last = if token.ends_with('0') { "1" } else { "0" };
    wrong_sum.replace_range(55..56, last);
    // The token of 32 zero bytes: well-formed, checksum right, never issued here.
    let unknown = "hd_pat_00000000000000000000000000000000000000000002CZclj";
    for bad in [
        "hd_pat_",
        "hd_pat_short",
        wrong_sum.as_str(),
        &format!("{token}0"),
        &token.replace("hd_pat_", "hd_pak_"),
        unknown,
    ] {
        let (s, v) = get_as(&app, "/api/tickets", bad).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{bad}"
        );
    }

    app.clock().advance(chrono::Duration::hours(1));
    let (s, v) = get_as(&app, "/api/tickets", &token).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "token_expired"));
    // An expired key is still listed (it counts against the limit) until deleted.
    let agent = app.login("agent@example.com", "password123").await;
    let (s, list) = app.get("/api/users/me/api-keys", &agent.token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["items"][0]["id"], made["id"]);
    let (s, _) = app
        .delete(
            &format!("/api/users/me/api-keys/{}", made["id"].as_str().unwrap()),
            &agent.token,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn keys_on_the_websocket_follow_their_scopes() {
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let customer = app.signup("carol@example.com").await;
    let (messages, _) = key(&app, &agent, "me", &["messages:read"]).await;
    let (kb, _) = key(&app, &agent, "me", &["kb:read"]).await;

    // In the URL: 401, whatever the key may do.
    let (s, v) = refused_upgrade(ws_request(&app, &format!("?token={messages}"), None)).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    // Without a read scope: 403 insufficient_scope, no upgrade.
    let (s, v) = refused_upgrade(ws_request(&app, "", Some(&kb))).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "insufficient_scope"));
    assert_eq!(
        v["required_scopes"],
        json!(["messages:read", "tickets:read"])
    );

    // With messages:read: message events, not ticket events; no typing.
    let mut ws = app.ws(&messages).await;
    let (s, t) = app
        .post(
            "/api/tickets",
            &customer.token,
            json!({"subject": "Printer", "description": "On fire"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, conv) = app
        .post(
            "/api/conversations",
            &customer.token,
            json!({"kind": "direct", "member_ids": [agent.id]}),
        )
        .await;
    assert!(s.is_success(), "{conv}");
    let conv = conv["id"].as_str().unwrap();
    let (s, _) = app
        .post(
            &format!("/api/conversations/{conv}/messages"),
            &customer.token,
            json!({"content": "Hello"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let mut seen = Vec::new();
    loop {
        let f = ws.next().await;
        let kind = f["type"].as_str().unwrap().to_string();
        seen.push(kind.clone());
        if kind == "message.created" {
            break;
        }
    }
    assert!(
        !seen.iter().any(|k| k.starts_with("ticket.")),
        "no ticket events through messages:read alone: {seen:?} (ticket {})",
        t["id"]
    );
    ws.send(json!({"type": "typing", "conversation_id": conv}))
        .await;
    let e = ws.next_of("error").await;
    assert_eq!(e["code"], "insufficient_scope");
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(
        ws.next_of("pong").await["type"],
        "pong",
        "the socket stays open"
    );

    // With tickets:read: the ticket events.
    let (tickets, _) = key(&app, &agent, "me", &["tickets:read"]).await;
    let mut ws = app.ws(&tickets).await;
    let (s, _) = app
        .post(
            "/api/tickets",
            &customer.token,
            json!({"subject": "Scanner", "description": "Jammed"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let f = ws.next_of("ticket.created").await;
    assert_eq!(f["data"]["ticket"]["subject"], "Scanner");
}

#[tokio::test]
async fn sockets_close_with_1008_when_the_key_or_its_owner_goes() {
    let config = ServerConfig {
        ws_ping_interval: Duration::from_millis(200),
        ..Default::default()
    };
    let app = spawn_app_with(helpdesk::Config::for_tests(), config).await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;

    // Deleted.
    let (token, made) = key(&app, &agent, "me", &["tickets:read"]).await;
    let mut ws = app.ws(&token).await;
    let (s, _) = app
        .delete(
            &format!("/api/users/me/api-keys/{}", made["id"].as_str().unwrap()),
            &agent.token,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(ws.closed().await, Some(1008));

    // Expired: noticed at the next ping, with nobody telling the socket.
    let (s, made) = app
        .post(
            "/api/users/me/api-keys",
            &agent.token,
            json!({
                "name": "short",
                "scopes": ["messages:read"],
                "expires_at": (app.hd.now() + chrono::Duration::minutes(5)).to_rfc3339(),
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let mut ws = app.ws(made["token"].as_str().unwrap()).await;
    app.clock().advance(chrono::Duration::minutes(5));
    assert_eq!(ws.closed().await, Some(1008));

    // The owner deactivated: every socket of their keys closes.
    let (token, _) = key(&app, &agent, "me", &["tickets:read"]).await;
    let mut ws = app.ws(&token).await;
    let (s, _) = app
        .patch(
            &format!("/api/users/{}", agent.id),
            &admin.token,
            json!({"is_active": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ws.closed().await, Some(1008));
    let (s, v) = get_as(&app, "/api/tickets", &token).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthorized"));
}

#[tokio::test]
async fn service_accounts_never_log_in_and_act_through_keys() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let (s, bot) = app
        .post(
            "/api/users",
            &admin.token,
            json!({"email": "bot@example.com", "name": "Bot", "role": "agent", "is_service": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{bot}");
    assert_eq!(bot["is_service"], true);
    let bot_id = bot["id"].as_str().unwrap();
    for (body, field) in [
        (
            json!({"email": "b2@example.com", "name": "B", "role": "agent", "is_service": true, "password": "password123"}),
            "password",
        ),
        (
            json!({"email": "b3@example.com", "name": "B", "role": "customer", "is_service": true}),
            "role",
        ),
        (
            json!({"email": "b4@example.com", "name": "B", "role": "agent"}),
            "password",
        ),
    ] {
        let (s, v) = app.post("/api/users", &admin.token, body).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
        );
        assert_eq!(v["errors"][0]["field"], field, "{v}");
    }
    let (s, v) = app
        .patch(
            &format!("/api/users/{bot_id}"),
            &admin.token,
            json!({"is_service": false}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );

    // Login: the answer of a wrong password.
    let login = |email: &str, password: &str| {
        app.anon_post(
            "/api/auth/login",
            json!({"email": email, "password": password}),
        )
    };
    let (s, service) = login("bot@example.com", "password123").await;
    let (s2, wrong) = login("agent@example.com", "wrong password").await;
    assert_eq!(
        (s, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(service, wrong);

    // Keys: an admin makes them for the service account, nobody else, and for no one
    // else.
    let body = json!({"name": "sync", "scopes": ["tickets:read", "users:read"]});
    let path = format!("/api/users/{bot_id}/api-keys");
    let (s, v) = app.post(&path, &agent.token, body.clone()).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app
        .post(
            &format!("/api/users/{}/api-keys", agent.id),
            &admin.token,
            body.clone(),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app
        .post(
            &format!("/api/users/{}/api-keys", uuid::Uuid::now_v7()),
            &admin.token,
            body.clone(),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, made) = app.post(&path, &admin.token, body).await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let token = made["token"].as_str().unwrap();
    let (s, me) = get_as(&app, "/api/users/me", token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (&me["id"], &me["is_service"]),
        (&json!(bot_id), &json!(true))
    );
    let (s, users) = get_as(&app, "/api/users?role=agent", token).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u.get("is_service").is_some())
    );
    // Staff like any other: it is in the default group.
    let (s, groups) = get_as(&app, "/api/users/me/groups", token).await;
    assert_eq!(
        (s, groups["items"].as_array().unwrap().len()),
        (StatusCode::OK, 1)
    );
    // An admin lists and deletes its keys.
    let (s, list) = app.get(&path, &admin.token).await;
    assert_eq!(
        (s, list["items"].as_array().unwrap().len()),
        (StatusCode::OK, 1)
    );
}

#[tokio::test]
async fn requests_through_a_key_are_rate_limited() {
    let config = helpdesk::Config {
        limits: Limits {
            requests_per_api_key: Some(Rate::new(3, chrono::Duration::minutes(1))),
            ..Limits::default()
        },
        ..helpdesk::Config::for_tests()
    };
    let app = spawn_app_with(config, ServerConfig::default()).await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let (one, _) = key(&app, &agent, "me", &["tickets:read"]).await;
    let (two, _) = key(&app, &agent, "me", &["tickets:read"]).await;
    for _ in 0..3 {
        let (s, _) = get_as(&app, "/api/tickets", &one).await;
        assert_eq!(s, StatusCode::OK);
    }
    let resp = app
        .client
        .get(app.url("/api/tickets"))
        .bearer_auth(&one)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(code(&v), "rate_limited");
    // Another key, and the owner's session, are not held back.
    let (s, _) = get_as(&app, "/api/tickets", &two).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.get("/api/tickets", &agent.token).await;
    assert_eq!(s, StatusCode::OK);
    app.clock().advance(chrono::Duration::seconds(61));
    let (s, _) = get_as(&app, "/api/tickets", &one).await;
    assert_eq!(s, StatusCode::OK);
}

/// Socket.IO's CONNECT takes a key in `auth.token` (with a read scope), never in the
/// handshake's `?token=`: spoken raw (Engine.IO 4 over a WebSocket).
#[tokio::test]
async fn socketio_connect_takes_keys_with_a_read_scope() {
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let (reader, _) = key(&app, &agent, "me", &["tickets:read"]).await;
    let (kb, _) = key(&app, &agent, "me", &["kb:read"]).await;

    type Socket = tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >;
    async fn packet(ws: &mut Socket) -> String {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => return t.to_string(),
                Ok(Some(Ok(_))) => {}
                other => panic!("no packet: {other:?}"),
            }
        }
    }
    /// The server's answer to a CONNECT with `auth`, over a handshake with `query`.
    async fn connect(app: &App, query: &str, auth: Value) -> String {
        let url = format!(
            "ws://{}/socket.io/?EIO=4&transport=websocket{query}",
            app.server.addr
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("upgrade");
        let open = packet(&mut ws).await;
        assert!(open.starts_with('0'), "an OPEN packet: {open}");
        ws.send(Message::text(format!("40{auth}"))).await.unwrap();
        loop {
            let p = packet(&mut ws).await;
            if p.starts_with('4') {
                return p;
            }
        }
    }

    let ok = connect(&app, "", json!({"token": reader})).await;
    assert!(ok.starts_with("40{\"sid\""), "{ok}");
    let refused = connect(&app, "", json!({"token": kb})).await;
    assert_eq!(refused, r#"44{"message":"insufficient_scope"}"#);
    let refused = connect(&app, &format!("&token={reader}"), json!({})).await;
    assert_eq!(refused, r#"44{"message":"unauthorized"}"#);
}
