//! Canned replies: each scope's readers and writers, fixed fields, the problem answers
//! the contract names (403 for customers and for agents writing global replies, 404 for
//! replies the caller may not use, 409 `shortcut_taken`, 422 for bad input, limits and
//! invisible tickets), the list by shortcut with its filters and cursor, rendering, a
//! group holding replies (409 `in_use`), and the API key scopes they take.

use helpdesk::Role;
use helpdesk::archive::Record;
use helpdesk::canned_reply::{CannedReply, MAX_PER_OWNER};
use helpdesk::ownership::ItemScope;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const PATH: &str = "/api/canned-replies";

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

fn at(id: &str) -> String {
    format!("{PATH}/{id}")
}

async fn create(app: &App, who: &Who, body: Value) -> Value {
    let (s, v) = app.post(PATH, &who.token, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

fn reply(shortcut: &str, scope: &str, group_id: Option<&str>) -> Value {
    json!({"title": format!("About {shortcut}"), "shortcut": shortcut,
           "body": "Hi {{requester.name}}", "scope": scope, "group_id": group_id})
}

/// The shortcuts of a page, in order.
fn shortcuts(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["shortcut"].as_str().unwrap())
        .collect()
}

/// A group named `name` with `member` in it at `read`; its id.
async fn group(app: &App, admin: &Who, name: &str, member: &Who) -> String {
    let (s, g) = app
        .post("/api/groups", &admin.token, json!({"name": name}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let gid = id(&g).to_string();
    let (s, v) = app
        .call(
            Method::PUT,
            &format!("/api/groups/{gid}/members/{}", member.id),
            Some(&admin.token),
            Some(json!({"access": "read"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    gid
}

#[tokio::test]
async fn canned_replies_are_used_and_written_by_scope() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let outsider = app.user(Role::Agent, "outsider@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;
    let billing = group(&app, &admin, "Billing", &agent).await;

    // Personal: 201 with Location; the caller owns it.
    let resp = app
        .client
        .post(app.url(PATH))
        .bearer_auth(&agent.token)
        .json(&json!({"title": "  Greeting ", "shortcut": "hello",
                      "body": "Hi {{ requester.name }}", "scope": "personal"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let mine: Value = resp.json().await.unwrap();
    assert_eq!(location, at(id(&mine)));
    assert_eq!(
        redact(&mine),
        json!({"id": "[id]", "title": "Greeting", "shortcut": "hello",
               "body": "Hi {{ requester.name }}", "scope": "personal", "group_id": null,
               "owner_id": "[id]", "created_at": "[datetime]", "updated_at": "[datetime]"})
    );
    assert_eq!(mine["owner_id"], json!(agent.id));
    assert_eq!(mine["created_at"], mine["updated_at"]);
    let (s, got) = app.get(&location, &agent.token).await;
    assert_eq!((s, &got), (StatusCode::OK, &mine));
    // Others, admins included, do not find it.
    for who in [&outsider, &admin] {
        let (s, v) = app.get(&location, &who.token).await;
        assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
        let (s, v) = app
            .patch(&location, &who.token, json!({"title": "x"}))
            .await;
        assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
        let (s, v) = app.delete(&location, &who.token).await;
        assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    }

    // Group: its members (any level) and admins; others may not write into it.
    let team = create(&app, &agent, reply("team", "group", Some(&billing))).await;
    assert_eq!(team["group_id"], json!(billing));
    let (s, v) = app
        .post(
            PATH,
            &outsider.token,
            reply("team2", "group", Some(&billing)),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app.get(&at(id(&team)), &outsider.token).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, v) = app
        .patch(
            &at(id(&team)),
            &admin.token,
            json!({"body": "By the admin"}),
        )
        .await;
    assert_eq!(
        (s, v["body"].as_str()),
        (StatusCode::OK, Some("By the admin"))
    );
    assert_eq!(v["owner_id"], json!(agent.id), "the owner stays");

    // Global: all staff use, admins write; an agent gets 403, before any field check.
    let (s, v) = app
        .post(PATH, &agent.token, reply("all", "global", None))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let all = create(&app, &admin, reply("all", "global", None)).await;
    let (s, _) = app.get(&at(id(&all)), &outsider.token).await;
    assert_eq!(s, StatusCode::OK);
    for body in [json!({"title": "Mine now"}), json!({"scope": "personal"})] {
        let (s, v) = app.patch(&at(id(&all)), &agent.token, body).await;
        assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    }
    let (s, v) = app.delete(&at(id(&all)), &agent.token).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));

    // The list: what each may use.
    let (s, v) = app.get(PATH, &agent.token).await;
    assert_eq!(
        (s, shortcuts(&v)),
        (StatusCode::OK, vec!["all", "hello", "team"])
    );
    assert_eq!(v["next_cursor"], Value::Null);
    let (_, v) = app.get(PATH, &outsider.token).await;
    assert_eq!(shortcuts(&v), ["all"]);
    let (_, v) = app.get(PATH, &admin.token).await;
    assert_eq!(shortcuts(&v), ["all", "team"]);

    // PATCH: title, shortcut, body; the fixed fields are unknown.
    let (s, changed) = app
        .patch(
            &location,
            &agent.token,
            json!({"title": "Hello again", "shortcut": "hi", "body": "Bye {{agent.name}}"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{changed}");
    assert_eq!(
        (&changed["title"], &changed["shortcut"], &changed["body"]),
        (
            &json!("Hello again"),
            &json!("hi"),
            &json!("Bye {{agent.name}}")
        )
    );
    assert_eq!(changed["created_at"], mine["created_at"]);
    for field in [
        "scope",
        "group_id",
        "owner_id",
        "id",
        "created_at",
        "updated_at",
    ] {
        let (s, v) = app
            .patch(&location, &agent.token, json!({ field: null }))
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field"),
            "{field}"
        );
        assert_eq!(v["errors"][0]["field"], field);
    }
    let (s, v) = app
        .patch(&location, &agent.token, json!({"title": null}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );

    // DELETE: 204, then 404.
    let (s, _) = app.delete(&at(id(&all)), &admin.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = app.delete(&at(id(&all)), &admin.token).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, _) = app.delete(&location, &agent.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // Customers: 403 on every path, whatever the id; no token: 401; a bad id: 400.
    let t = &customer.token;
    let team_path = at(id(&team));
    let render = format!("{team_path}/render");
    for (method, path, body) in [
        (Method::GET, PATH.to_string(), None),
        (
            Method::POST,
            PATH.to_string(),
            Some(reply("c", "personal", None)),
        ),
        (Method::GET, team_path.clone(), None),
        (
            Method::PATCH,
            team_path.clone(),
            Some(json!({"title": "x"})),
        ),
        (Method::DELETE, team_path.clone(), None),
        (
            Method::POST,
            render.clone(),
            Some(json!({"ticket_id": billing})),
        ),
        (Method::GET, at(&uuid::Uuid::now_v7().to_string()), None),
    ] {
        let (s, v) = app.call(method.clone(), &path, Some(t), body).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{method} {path}"
        );
    }
    let (s, v) = app.call(Method::GET, PATH, None, None).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let (s, v) = app.get(&at("nope"), &agent.token).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_id"));
    let (s, v) = app
        .get(&at(&uuid::Uuid::now_v7().to_string()), &admin.token)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test]
async fn bad_canned_replies_are_refused_with_the_contracts_problems() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let billing = group(&app, &admin, "Billing", &agent).await;
    let nowhere = uuid::Uuid::now_v7().to_string();
    let base = || reply("ok", "personal", None);
    let with = |field: &str, value: Value| {
        let mut b = base();
        b[field] = value;
        b
    };
    for (body, field) in [
        (with("title", json!("   ")), "title"),
        (with("title", json!("t".repeat(101))), "title"),
        (with("title", json!(5)), "title"),
        (with("shortcut", json!("Hello")), "shortcut"),
        (with("shortcut", json!("s".repeat(33))), "shortcut"),
        (with("shortcut", json!("")), "shortcut"),
        (with("body", json!("  ")), "body"),
        (with("body", json!("é".repeat(32_001))), "body"),
        (with("body", json!("Dear {{customer.name}}")), "body"),
        (with("body", json!("bell\u{7}")), "body"),
        (with("scope", json!("team")), "scope"),
        (with("group_id", json!(billing)), "group_id"),
        (with("group_id", json!("nope")), "group_id"),
        (reply("g", "group", None), "group_id"),
        (reply("g", "group", Some(&nowhere)), "group_id"),
        (
            json!({"title": "t", "shortcut": "s", "scope": "personal"}),
            "body",
        ),
    ] {
        let (s, v) = app.post(PATH, &agent.token, body.clone()).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{body}: {v}"
        );
        assert_eq!(v["errors"][0]["field"], field, "{body}: {v}");
    }
    for field in ["owner_id", "id", "is_default"] {
        let (s, v) = app.post(PATH, &agent.token, with(field, json!(null))).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field"),
            "{field}"
        );
    }
    let (s, v) = app
        .call(Method::POST, PATH, Some(&agent.token), Some(json!([1])))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let resp = app
        .client
        .post(app.url(PATH))
        .bearer_auth(&agent.token)
        .header("content-type", "application/json")
        .body("{\"title\":")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(code(&v), "invalid_json");
    let resp = app
        .client
        .post(app.url(PATH))
        .bearer_auth(&agent.token)
        .header("content-type", "text/plain")
        .body(base().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (s, v) = app
        .post(
            PATH,
            &agent.token,
            with("body", json!("x".repeat(1_100_000))),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );

    // 409 `shortcut_taken`, across scopes and on renames.
    let first = create(&app, &agent, base()).await;
    let (s, v) = app
        .post(PATH, &admin.token, reply("ok", "global", None))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "shortcut_taken"));
    let other = create(&app, &agent, reply("other", "group", Some(&billing))).await;
    let (s, v) = app
        .patch(&at(id(&other)), &agent.token, json!({"shortcut": "ok"}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "shortcut_taken"));
    // PATCH checks the body's values: 422 naming the field.
    for (body, field) in [
        (json!({"title": ""}), "title"),
        (json!({"shortcut": "NO"}), "shortcut"),
        (json!({"body": "{{ ticket.id }}"}), "body"),
    ] {
        let (s, v) = app.patch(&at(id(&first)), &agent.token, body).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
        );
        assert_eq!(v["errors"][0]["field"], field);
    }

    // Limits: the owner's 1,000 personal and group replies, then 422 naming `scope`.
    let owner: uuid::Uuid = agent.id.parse().unwrap();
    let now = app.hd.now();
    let records: Vec<Record> = (0..MAX_PER_OWNER - 3)
        .map(|i| {
            Record::CannedReply(CannedReply {
                id: uuid::Uuid::now_v7(),
                title: format!("Filler {i}"),
                shortcut: format!("filler-{i}"),
                body: "x".into(),
                scope: ItemScope::Personal,
                group_id: None,
                owner_id: Some(owner),
                created_at: now,
                updated_at: now,
            })
        })
        .collect();
    for chunk in records.chunks(500) {
        app.hd.store().import_records(chunk).await.unwrap();
    }
    create(&app, &agent, reply("last", "personal", None)).await;
    let (s, v) = app
        .post(PATH, &agent.token, reply("over", "group", Some(&billing)))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    assert_eq!(v["errors"][0]["field"], "scope");
    let (s, _) = app.delete(&at(id(&first)), &agent.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    create(&app, &agent, reply("over", "group", Some(&billing))).await;
}

#[tokio::test]
async fn canned_replies_are_listed_by_shortcut_with_filters_and_pages() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    for (who, shortcut, scope) in [
        (&agent, "b-thanks", "personal"),
        (&admin, "a_bye", "global"),
        (&agent, "a-hello", "personal"),
        (&admin, "ab", "global"),
        (&agent, "c1", "personal"),
    ] {
        create(&app, who, reply(shortcut, scope, None)).await;
    }
    let list = |query: &str| {
        let (app, token) = (&app, agent.token.clone());
        let path = format!("{PATH}{query}");
        async move {
            let (s, v) = app.get(&path, &token).await;
            assert_eq!(s, StatusCode::OK, "{path}: {v}");
            v
        }
    };
    let v = list("").await;
    assert_eq!(shortcuts(&v), ["a-hello", "a_bye", "ab", "b-thanks", "c1"]);
    assert_eq!(
        shortcuts(&list("?shortcut=A").await),
        ["a-hello", "a_bye", "ab"]
    );
    assert_eq!(shortcuts(&list("?shortcut=aB").await), ["ab"]);
    assert_eq!(shortcuts(&list("?scope=global").await), ["a_bye", "ab"]);
    assert_eq!(
        shortcuts(&list("?scope=personal&shortcut=a").await),
        ["a-hello"]
    );
    assert!(shortcuts(&list("?scope=group").await).is_empty());

    let mut seen = Vec::new();
    let mut query = "?limit=2".to_string();
    loop {
        let page = list(&query).await;
        seen.extend(shortcuts(&page).into_iter().map(String::from));
        match page["next_cursor"].as_str() {
            Some(c) => query = format!("?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["a-hello", "a_bye", "ab", "b-thanks", "c1"]);

    for query in [
        "?scope=team",
        "?limit=0",
        "?limit=201",
        "?cursor=nope",
        "?shortcut=a%01",
    ] {
        let (s, v) = app.get(&format!("{PATH}{query}"), &agent.token).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::BAD_REQUEST, "invalid_query"),
            "{query}"
        );
    }
}

#[tokio::test]
async fn rendering_fills_the_placeholders_for_a_visible_ticket() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let outsider = app.user(Role::Agent, "outsider@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;
    let billing = group(&app, &admin, "Billing", &agent).await;
    let (s, t) = app
        .post(
            "/api/tickets",
            &customer.token,
            json!({"subject": "Printer on fire", "description": "Help"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let (s, v) = app
        .patch(
            &format!("/api/tickets/{}", id(&t)),
            &admin.token,
            json!({"group_id": billing}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let all = create(
        &app,
        &admin,
        json!({"title": "Fixed", "shortcut": "fixed", "scope": "global",
               "body": "Hi {{requester.name}}, #{{ ticket.number }} ({{ticket.subject}}) is fixed. {{agent.name}}"}),
    )
    .await;
    let render = format!("{}/render", at(id(&all)));
    let (s, v) = app
        .post(&render, &agent.token, json!({"ticket_id": id(&t)}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"body": "Hi carol, #1 (Printer on fire) is fixed. agent"})
    );

    // A ticket the caller cannot see, or none: 422 naming `ticket_id`.
    for (who, ticket) in [
        (&outsider, id(&t).to_string()),
        (&agent, uuid::Uuid::now_v7().to_string()),
    ] {
        let (s, v) = app
            .post(&render, &who.token, json!({"ticket_id": ticket}))
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
        );
        assert_eq!(v["errors"][0]["field"], "ticket_id");
    }
    for (body, want) in [
        (json!({"ticket_id": "nope"}), "validation_failed"),
        (json!({}), "validation_failed"),
        (
            json!({"ticket_id": id(&t), "preview": true}),
            "unknown_field",
        ),
    ] {
        let (s, v) = app.post(&render, &agent.token, body).await;
        assert_eq!((s, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, want));
    }
    // A reply the caller may not use: 404, before the body is looked at.
    let mine = create(&app, &agent, reply("mine", "personal", None)).await;
    let (s, v) = app
        .post(
            &format!("{}/render", at(id(&mine))),
            &admin.token,
            json!({"unknown": 1}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, v) = app
        .post(
            &format!("{}/render", at(&uuid::Uuid::now_v7().to_string())),
            &agent.token,
            json!({"ticket_id": id(&t)}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test]
async fn a_group_holding_canned_replies_is_in_use() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let billing = group(&app, &admin, "Billing", &agent).await;
    let team = create(&app, &agent, reply("team", "group", Some(&billing))).await;
    let group_path = format!("/api/groups/{billing}");
    let (s, v) = app.delete(&group_path, &admin.token).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "in_use"));
    let (s, _) = app.delete(&at(id(&team)), &agent.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.delete(&group_path, &admin.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn api_keys_read_with_tickets_read_and_write_with_tickets_write() {
    let app = spawn_app().await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let key = |scopes: Value| {
        let (app, token) = (&app, agent.token.clone());
        async move {
            let (s, v) = app
                .post(
                    "/api/users/me/api-keys",
                    &token,
                    json!({"name": "k", "scopes": scopes}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v["token"].as_str().unwrap().to_string()
        }
    };
    let reader = key(json!(["tickets:read"])).await;
    let writer = key(json!(["tickets:write"])).await;
    let mine = create(&app, &agent, reply("mine", "personal", None)).await;
    let (s, _) = app.get(PATH, &reader).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.get(&at(id(&mine)), &reader).await;
    assert_eq!(s, StatusCode::OK);
    let render = format!("{}/render", at(id(&mine)));
    for (method, path, body) in [
        (
            Method::POST,
            PATH.to_string(),
            Some(reply("k", "personal", None)),
        ),
        (Method::PATCH, at(id(&mine)), Some(json!({"title": "x"}))),
        (Method::DELETE, at(id(&mine)), None),
        (
            Method::POST,
            render.clone(),
            Some(json!({"ticket_id": id(&mine)})),
        ),
    ] {
        let (s, v) = app.call(method.clone(), &path, Some(&reader), body).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::FORBIDDEN, "insufficient_scope"),
            "{method} {path}"
        );
        assert_eq!(v["required_scopes"], json!(["tickets:write"]));
    }
    let (s, v) = app.get(PATH, &writer).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "insufficient_scope"));
    assert_eq!(v["required_scopes"], json!(["tickets:read"]));
    let (s, v) = app.post(PATH, &writer, reply("k", "personal", None)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = app
        .patch(&at(id(&v)), &writer, json!({"title": "Via a key"}))
        .await;
    assert_eq!(s, StatusCode::OK);
}
