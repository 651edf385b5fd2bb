//! Mailboxes over HTTP: the rights (staff read, admins write, customers 403), the
//! `raw` secret shown once (create, rotate) and never after, secrets as `has_*`, 409
//! `address_taken`, 422 at JSON paths and `unknown_field`, PATCH replacing the parts
//! whole, and rotation with the old secret verifying for a day.

use helpdesk::{Principal, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const PATH: &str = "/api/mailboxes";

fn at(id: &str) -> String {
    format!("{PATH}/{id}")
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

/// The first field error's path.
fn field(v: &Value) -> &str {
    v["errors"][0]["field"].as_str().unwrap_or("")
}

fn imap(address: &str) -> Value {
    json!({
        "address": address,
        "name": "Support",
        "inbound": {"kind": "imap", "host": "imap.example.com", "username": "support",
            "password": "imap-secret"},
        "outbound": {"kind": "smtp", "url": "smtp://support@smtp.example.com:587?tls=required",
            "password": "smtp-secret"},
    })
}

fn raw(address: &str) -> Value {
    json!({"address": address, "name": "Hooks", "inbound": {"kind": "webhook", "provider": "raw"}})
}

/// No secret anywhere in a rendering.
fn assert_no_secrets(v: &Value) {
    let text = v.to_string();
    for s in ["imap-secret", "smtp-secret", "mg-key", "whsec_"] {
        assert!(!text.contains(s), "{s} shown in {text}");
    }
    assert!(v.get("secret").is_none(), "{v}");
}

#[tokio::test]
async fn mailboxes_are_read_by_staff_and_written_by_admins() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;

    let resp = app
        .client
        .post(app.url(PATH))
        .bearer_auth(&admin.token)
        .json(&imap("Support@Example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let m: Value = resp.json().await.unwrap();
    assert_eq!(location, at(id(&m)));
    assert_eq!(m["address"], "support@example.com");
    assert_eq!(m["is_default"], false);
    assert_eq!(m["group_id"], Value::Null);
    assert_eq!(
        m["inbound"],
        json!({"kind": "imap", "host": "imap.example.com", "port": 993, "tls": "implicit",
            "username": "support", "has_password": true, "folder": "INBOX", "after": "seen",
            "move_to": null, "poll_interval": 60,
            "state": {"uidvalidity": null, "last_uid": null, "last_poll_at": null, "last_error": null}})
    );
    assert_eq!(
        m["outbound"],
        json!({"kind": "smtp", "url": "smtp://support@smtp.example.com:587?tls=required",
            "has_password": true})
    );
    assert_eq!(
        m["auto_reply"],
        json!({"enabled": false, "canned_reply_id": null})
    );
    assert_no_secrets(&m);

    // Agents read; customers do nothing; agents write nothing.
    let (s, got) = app.get(&location, &agent.token).await;
    assert_eq!((s, &got), (StatusCode::OK, &m));
    let (s, list) = app.get(PATH, &agent.token).await;
    assert_eq!((s, &list), (StatusCode::OK, &json!({"items": [m.clone()]})));
    for (method, path, body) in [
        ("GET", PATH.to_string(), None),
        ("GET", location.clone(), None),
        ("POST", PATH.to_string(), Some(imap("x@example.com"))),
        ("PATCH", location.clone(), Some(json!({"name": "X"}))),
        ("DELETE", location.clone(), None),
        ("POST", format!("{location}/rotate-secret"), None),
    ] {
        let method: reqwest::Method = method.parse().unwrap();
        let (s, v) = app
            .call(method.clone(), &path, Some(&customer.token), body.clone())
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "customer {method} {path}: {v}");
        if method != reqwest::Method::GET {
            let (s, v) = app
                .call(method.clone(), &path, Some(&agent.token), body)
                .await;
            assert_eq!(s, StatusCode::FORBIDDEN, "agent {method} {path}: {v}");
        }
    }
    let (s, _) = app.call(reqwest::Method::GET, PATH, None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // 404s, then a delete.
    let nowhere = at("0190f6b4-0000-7000-8000-000000000000");
    assert_eq!(
        app.get(&nowhere, &agent.token).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.patch(&nowhere, &admin.token, json!({"name": "X"}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete(&nowhere, &admin.token).await.0,
        StatusCode::NOT_FOUND
    );
    let (s, v) = app.delete(&location, &admin.token).await;
    assert_eq!((s, v), (StatusCode::NO_CONTENT, Value::Null));
    assert_eq!(
        app.get(&location, &admin.token).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, list) = app.get(PATH, &admin.token).await;
    assert_eq!(list, json!({"items": []}));
}

#[tokio::test]
async fn a_raw_secret_is_shown_on_create_and_rotate_only() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let (s, m) = app.post(PATH, &admin.token, raw("hooks@example.com")).await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let first = m["secret"].as_str().expect("the secret, once").to_string();
    assert!(first.starts_with("whsec_") && first.len() == 50, "{first}");
    assert_eq!(
        m["inbound"],
        json!({"kind": "webhook", "provider": "raw", "has_signing_key": false})
    );
    let path = at(id(&m));
    let (_, got) = app.get(&path, &admin.token).await;
    assert_no_secrets(&got);
    let (_, list) = app.get(PATH, &admin.token).await;
    assert_no_secrets(&list);
    let (_, patched) = app
        .patch(&path, &admin.token, json!({"name": "Renamed"}))
        .await;
    assert_eq!(patched["name"], "Renamed");
    assert_no_secrets(&patched);

    // Rotation: a new secret; the old one verifies a day more, by the server's clock.
    let (s, r) = app
        .call(
            reqwest::Method::POST,
            &format!("{path}/rotate-secret"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let second = r["secret"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    assert_eq!(r.as_object().unwrap().len(), 1, "{r}");
    let mailbox = app
        .hd
        .get_mailbox(&Principal::system(), id(&m).parse().unwrap())
        .await
        .unwrap();
    assert!(app.hd.verify_mailbox_secret(&mailbox, &first));
    assert!(app.hd.verify_mailbox_secret(&mailbox, &second));
    app.clock().advance(chrono::Duration::hours(24));
    assert!(!app.hd.verify_mailbox_secret(&mailbox, &first));
    assert!(app.hd.verify_mailbox_secret(&mailbox, &second));
    // A day on, the access token has expired too.
    let admin = app.login("admin@example.com", "password123").await;
    let (_, got) = app.get(&path, &admin.token).await;
    assert_no_secrets(&got);

    // Only a raw mailbox has a secret to rotate.
    let (_, other) = app.post(PATH, &admin.token, imap("imap@example.com")).await;
    let (s, v) = app
        .call(
            reqwest::Method::POST,
            &format!("{}/rotate-secret", at(id(&other))),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "conflict"), "{v}");
}

#[tokio::test]
async fn addresses_are_unique_and_problems_are_named_at_their_paths() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let (s, _) = app.post(PATH, &admin.token, imap("help@example.com")).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = app.post(PATH, &admin.token, imap("HELP@example.com")).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, "address_taken"),
        "{v}"
    );
    let (_, other) = app.post(PATH, &admin.token, raw("other@example.com")).await;
    let (s, v) = app
        .patch(
            &at(id(&other)),
            &admin.token,
            json!({"address": "Help@Example.com"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, "address_taken"),
        "{v}"
    );

    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = imap("new@example.com");
        f(&mut b);
        b
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with(&|b| b["address"] = json!("a+b@example.com")),
            "validation_failed",
            "address",
        ),
        (
            with(&|b| b["address"] = json!(42)),
            "validation_failed",
            "address",
        ),
        (
            with(&|b| b["name"] = json!("x".repeat(101))),
            "validation_failed",
            "name",
        ),
        (
            with(&|b| b["group_id"] = json!("0190f6b4-0000-7000-8000-000000000000")),
            "validation_failed",
            "group_id",
        ),
        (
            with(&|b| b["inbound"]["after"] = json!("move")),
            "validation_failed",
            "inbound.move_to",
        ),
        (
            with(&|b| b["inbound"]["poll_interval"] = json!(3601)),
            "validation_failed",
            "inbound.poll_interval",
        ),
        (
            with(&|b| b["inbound"]["poll_interval"] = json!(2.5)),
            "validation_failed",
            "inbound.poll_interval",
        ),
        (
            with(&|b| b["inbound"]["port"] = json!("993")),
            "validation_failed",
            "inbound.port",
        ),
        (
            with(&|b| {
                b["inbound"].as_object_mut().unwrap().remove("password");
            }),
            "validation_failed",
            "inbound.password",
        ),
        (
            with(&|b| b["inbound"] = json!({"kind": "webhook", "provider": "mailgun"})),
            "validation_failed",
            "inbound.signing_key",
        ),
        (
            with(&|b| b["outbound"]["url"] = json!("smtp://u:pw@smtp.example.com")),
            "validation_failed",
            "outbound.url",
        ),
        (
            with(
                &|b| b["auto_reply"] = json!({"enabled": true, "canned_reply_id": "0190f6b4-0000-7000-8000-000000000000"}),
            ),
            "validation_failed",
            "auto_reply.canned_reply_id",
        ),
        (
            with(&|b| {
                b.as_object_mut().unwrap().remove("inbound");
            }),
            "validation_failed",
            "inbound",
        ),
        (
            with(&|b| b["secret"] = json!("whsec_x")),
            "unknown_field",
            "secret",
        ),
        (
            with(&|b| b["inbound"]["state"] = json!({})),
            "unknown_field",
            "inbound.state",
        ),
        (
            with(&|b| b["inbound"]["has_password"] = json!(true)),
            "unknown_field",
            "inbound.has_password",
        ),
    ];
    for (body, want_code, want_field) in cases {
        let (s, v) = app.post(PATH, &admin.token, body).await;
        assert_eq!(
            (s, code(&v), field(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, want_code, want_field),
            "{v}"
        );
    }
    let (_, list) = app.get(PATH, &admin.token).await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        2,
        "nothing more stored"
    );
}

#[tokio::test]
async fn patch_replaces_parts_whole_and_keeps_left_out_secrets() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let mut body = imap("support@example.com");
    body["inbound"]["folder"] = json!("Support");
    body["auto_reply"] = json!({"enabled": true});
    let (_, m) = app.post(PATH, &admin.token, body).await;
    let path = at(id(&m));

    // A new inbound without its password: kept; folder back to its default; auto_reply
    // replaced whole.
    let (s, p) = app
        .patch(
            &path,
            &admin.token,
            json!({"inbound": {"kind": "imap", "host": "imap2.example.com", "username": "help"},
                "auto_reply": {}, "is_default": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["inbound"]["host"], "imap2.example.com");
    assert_eq!(p["inbound"]["folder"], "INBOX");
    assert_eq!(p["inbound"]["has_password"], true);
    assert_eq!(
        p["auto_reply"],
        json!({"enabled": false, "canned_reply_id": null})
    );
    assert_eq!(p["outbound"]["has_password"], true, "outbound untouched");
    assert_eq!(p["is_default"], true);
    assert_no_secrets(&p);
    let mailbox = app
        .hd
        .get_mailbox(&Principal::system(), id(&m).parse().unwrap())
        .await
        .unwrap();
    match &mailbox.inbound {
        helpdesk::mailbox::Inbound::Imap(i) => assert_eq!(i.password, "imap-secret"),
        other => panic!("{other:?}"),
    }

    // The SMTP password: null clears it.
    let (_, p) = app
        .patch(&path, &admin.token, json!({"outbound": {"kind": "smtp", "url": "smtps://smtp.example.com", "password": null}}))
        .await;
    assert_eq!(
        p["outbound"],
        json!({"kind": "smtp", "url": "smtps://smtp.example.com", "has_password": false})
    );

    // A kind change needs its secret.
    let (s, v) = app
        .patch(
            &path,
            &admin.token,
            json!({"inbound": {"kind": "webhook", "provider": "mailgun"}}),
        )
        .await;
    assert_eq!(
        (s, field(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "inbound.signing_key"),
        "{v}"
    );
    let (s, p) = app
        .patch(
            &path,
            &admin.token,
            json!({"inbound": {"kind": "webhook", "provider": "mailgun", "signing_key": "mg-key"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(
        p["inbound"],
        json!({"kind": "webhook", "provider": "mailgun", "has_signing_key": true})
    );
    assert_no_secrets(&p);

    // To raw: the new secret in this answer only.
    let (_, p) = app
        .patch(
            &path,
            &admin.token,
            json!({"inbound": {"kind": "webhook", "provider": "raw"}}),
        )
        .await;
    assert!(p["secret"].as_str().unwrap().starts_with("whsec_"), "{p}");
    let (_, got) = app.get(&path, &admin.token).await;
    assert_no_secrets(&got);

    // A second default takes the flag.
    let mut second = imap("second@example.com");
    second["is_default"] = json!(true);
    let (_, s2) = app.post(PATH, &admin.token, second).await;
    assert_eq!(s2["is_default"], true);
    let (_, got) = app.get(&path, &admin.token).await;
    assert_eq!(got["is_default"], false);

    // Unknown keys and a bad body.
    let (s, v) = app.patch(&path, &admin.token, json!({"id": id(&m)})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field")
    );
    let (s, v) = app.patch(&path, &admin.token, json!({"name": null})).await;
    assert_eq!(
        (s, field(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "name"),
        "{v}"
    );
}
