//! Views: each scope's readers and writers, fixed fields, the problem answers the
//! contract names (403 for customers and for agents writing global views, 404 for views
//! the caller may not use, 422 for bad input at its paths and over the limits, 400 for
//! malformed requests), a view's tickets and the counts (a route of its own, not a view
//! id), and the API key scopes they take.

use helpdesk::Role;
use helpdesk::view::MAX_PER_OWNER;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const PATH: &str = "/api/views";

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

fn names(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect()
}

fn ids(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
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
async fn views_are_used_and_written_by_scope() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let outsider = app.user(Role::Agent, "outsider@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;
    let billing = group(&app, &admin, "Billing", &agent).await;

    let resp = app
        .client
        .post(app.url(PATH))
        .bearer_auth(&agent.token)
        .json(&json!({"name": "  Mine ", "scope": "personal"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let mine: Value = resp.json().await.unwrap();
    assert!(location.ends_with(&at(id(&mine))), "{location}");
    assert_eq!(mine["name"], "Mine");
    assert_eq!(mine["owner_id"], json!(agent.id));
    assert_eq!(mine["filter"], json!({}));
    assert_eq!(mine["sort"], "-created_at");
    assert_eq!(mine["position"], 0);
    assert_eq!(mine["group_id"], Value::Null);
    for key in ["created_at", "updated_at"] {
        assert!(mine[key].is_string());
    }
    let team = create(
        &app,
        &agent,
        json!({"name": "Team", "scope": "group", "group_id": billing}),
    )
    .await;
    assert_eq!(team["position"], 1);
    let all = create(
        &app,
        &admin,
        json!({"name": "All", "scope": "global", "position": 0, "sort": "priority",
               "filter": {"all": [{"field": "priority", "op": "gt", "value": "normal"}]}}),
    )
    .await;
    assert_eq!(all["filter"]["all"][0]["op"], "gt");

    let (s, list) = app.get(PATH, &agent.token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(names(&list), ["Mine", "All", "Team"]);
    assert!(list.get("next_cursor").is_none());
    let (_, list) = app.get(PATH, &outsider.token).await;
    assert_eq!(names(&list), ["All"]);
    let (_, list) = app.get(PATH, &admin.token).await;
    assert_eq!(names(&list), ["All", "Team"]);

    for (who, view) in [(&outsider, &mine), (&admin, &mine), (&outsider, &team)] {
        let (s, v) = app.get(&at(id(view)), &who.token).await;
        assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
        let (s, v) = app
            .patch(&at(id(view)), &who.token, json!({"name": "x"}))
            .await;
        assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    }
    let (s, v) = app.get(&at(id(&team)), &admin.token).await;
    assert_eq!((s, &v), (StatusCode::OK, &team));

    // Writes: global by admins, group by members and admins.
    let (s, v) = app
        .post(PATH, &agent.token, json!({"name": "g", "scope": "global"}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app
        .post(
            PATH,
            &outsider.token,
            json!({"name": "g", "scope": "group", "group_id": billing}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app
        .patch(&at(id(&all)), &agent.token, json!({"name": "x"}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app.delete(&at(id(&all)), &agent.token).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app
        .patch(
            &at(id(&team)),
            &admin.token,
            json!({"name": "Renamed", "position": 5, "sort": "-priority",
                   "filter": {"any": [{"field": "tags", "op": "contains", "value": "vip"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["name"].as_str(), v["position"].as_i64()),
        (Some("Renamed"), Some(5))
    );
    assert_eq!(v["sort"], "-priority");
    for fixed in ["scope", "group_id", "owner_id"] {
        let (s, v) = app
            .patch(&at(id(&mine)), &agent.token, json!({fixed: Value::Null}))
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field"),
            "{fixed}"
        );
    }

    // Customers: 403 on every path.
    for (method, path, body) in [
        (Method::GET, PATH.to_string(), None),
        (
            Method::POST,
            PATH.to_string(),
            Some(json!({"name": "c", "scope": "personal"})),
        ),
        (Method::GET, format!("{PATH}/counts"), None),
        (Method::GET, at(id(&all)), None),
        (Method::PATCH, at(id(&all)), Some(json!({"name": "c"}))),
        (Method::DELETE, at(id(&all)), None),
        (Method::GET, format!("{}/tickets", at(id(&all))), None),
    ] {
        let (s, v) = app
            .call(method.clone(), &path, Some(&customer.token), body)
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path}: {v}");
    }

    let (s, _) = app.delete(&at(id(&mine)), &agent.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = app.get(&at(id(&mine)), &agent.token).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, v) = app.delete(&at(id(&mine)), &agent.token).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test]
async fn bad_views_are_refused_with_the_contracts_problems() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let billing = group(&app, &admin, "Billing", &agent).await;
    let nowhere = uuid::Uuid::now_v7().to_string();
    let base = || json!({"name": "ok", "scope": "personal"});
    let with = |field: &str, value: Value| {
        let mut b = base();
        b[field] = value;
        b
    };
    for (body, field) in [
        (with("name", json!("   ")), "name"),
        (with("name", json!("n".repeat(101))), "name"),
        (with("name", json!(5)), "name"),
        (with("scope", json!("team")), "scope"),
        (with("group_id", json!(billing)), "group_id"),
        (json!({"name": "g", "scope": "group"}), "group_id"),
        (
            json!({"name": "g", "scope": "group", "group_id": nowhere}),
            "group_id",
        ),
        (with("position", json!(-1)), "position"),
        (with("position", json!("first")), "position"),
        (with("sort", json!("subject")), "sort"),
        (with("filter", json!([])), "filter"),
        (
            with(
                "filter",
                json!({"all": [{"field": "priority", "op": "contains", "value": "high"}]}),
            ),
            "filter.all[0].op",
        ),
        (
            with(
                "filter",
                json!({"any": [{"field": "group_id", "op": "eq", "value": nowhere}]}),
            ),
            "filter.any[0].value",
        ),
        (
            with(
                "filter",
                json!({"all": [{"field": "event", "op": "eq", "value": "ticket_created"}]}),
            ),
            "filter.all[0].field",
        ),
        (json!({"scope": "personal"}), "name"),
    ] {
        let (s, v) = app.post(PATH, &agent.token, body.clone()).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{body}: {v}"
        );
        assert_eq!(v["errors"][0]["field"], field, "{body}: {v}");
    }
    for field in ["owner_id", "id", "created_at"] {
        let (s, v) = app.post(PATH, &agent.token, with(field, json!(null))).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field"),
            "{field}"
        );
    }
    let view = create(&app, &agent, base()).await;
    let (s, v) = app
        .patch(
            &at(id(&view)),
            &agent.token,
            json!({"filter": {"all": [{"field": "nope", "op": "eq", "value": 1}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "filter.all[0].field");

    // Malformed requests: 400.
    let (s, v) = app.get(&at("nope"), &agent.token).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_id"));
    let tickets = format!("{}/tickets", at(id(&view)));
    for query in ["limit=0", "limit=x", "cursor=%%%"] {
        let (s, v) = app.get(&format!("{tickets}?{query}"), &agent.token).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {v}");
    }
    let resp = app
        .client
        .post(app.url(PATH))
        .bearer_auth(&agent.token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // The limit per owner: 422 at `scope`.
    for i in 1..MAX_PER_OWNER {
        create(
            &app,
            &agent,
            json!({"name": format!("v{i}"), "scope": "personal"}),
        )
        .await;
    }
    let (s, v) = app.post(PATH, &agent.token, base()).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    assert_eq!(v["errors"][0]["field"], "scope");
}

#[tokio::test]
async fn view_tickets_and_counts_follow_the_filter_and_visibility() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;
    let hidden = {
        let (s, g) = app
            .post("/api/groups", &admin.token, json!({"name": "Hidden"}))
            .await;
        assert_eq!(s, StatusCode::CREATED);
        id(&g).to_string()
    };
    let mut high = Vec::new();
    for i in 0..6 {
        let (s, t) = app
            .post(
                "/api/tickets",
                &customer.token,
                json!({"subject": format!("T{i}"), "description": "d"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        let mut patch = json!({"priority": if i % 2 == 0 { "high" } else { "low" }});
        if i == 4 {
            patch["group_id"] = json!(hidden);
        }
        let (s, t) = app
            .patch(&format!("/api/tickets/{}", id(&t)), &admin.token, patch)
            .await;
        assert_eq!(s, StatusCode::OK, "{t}");
        if i % 2 == 0 {
            high.push(id(&t).to_string());
        }
    }
    let view = create(
        &app,
        &admin,
        json!({"name": "High", "scope": "global", "sort": "created_at",
               "filter": {"all": [{"field": "priority", "op": "eq", "value": "high"}]}}),
    )
    .await;
    let tickets = format!("{}/tickets", at(id(&view)));
    let (s, page) = app.get(&tickets, &admin.token).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(ids(&page), high);
    assert_eq!(page["next_cursor"], Value::Null);
    assert_eq!(page["items"][0]["priority"], "high");
    // Paged one at a time through the cursor.
    let mut got = Vec::new();
    let mut next = format!("{tickets}?limit=1");
    loop {
        let (s, page) = app.get(&next, &admin.token).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        got.extend(ids(&page).into_iter().map(String::from));
        match page["next_cursor"].as_str() {
            Some(c) => next = format!("{tickets}?limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(got, high);
    // The agent does not see the hidden group's ticket.
    let (_, page) = app.get(&tickets, &agent.token).await;
    let theirs: Vec<&str> = high
        .iter()
        .map(String::as_str)
        .filter(|t| *t != high[2])
        .collect();
    assert_eq!(ids(&page), theirs);

    // `/api/views/counts` is its own route, not a view id.
    let (s, counts) = app.get(&format!("{PATH}/counts"), &agent.token).await;
    assert_eq!(s, StatusCode::OK, "{counts}");
    assert_eq!(
        counts,
        json!({"items": [{"view_id": id(&view), "count": 2}]})
    );
    let (_, counts) = app.get(&format!("{PATH}/counts"), &admin.token).await;
    assert_eq!(counts["items"][0]["count"], 3);
    let (s, _) = app
        .patch(
            &format!("/api/tickets/{}", high[0]),
            &admin.token,
            json!({"priority": "low"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, counts) = app.get(&format!("{PATH}/counts"), &admin.token).await;
    assert_eq!(counts["items"][0]["count"], 2);

    let mine = create(&app, &agent, json!({"name": "Mine", "scope": "personal"})).await;
    let (s, v) = app
        .get(&format!("{}/tickets", at(id(&mine))), &admin.token)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test]
async fn view_api_keys_read_with_tickets_read_and_write_with_tickets_write() {
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
    let mine = create(&app, &agent, json!({"name": "Mine", "scope": "personal"})).await;
    for path in [
        PATH.to_string(),
        format!("{PATH}/counts"),
        at(id(&mine)),
        format!("{}/tickets", at(id(&mine))),
    ] {
        let (s, v) = app.get(&path, &reader).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        let (s, v) = app.get(&path, &writer).await;
        assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "insufficient_scope"));
    }
    for (method, path, body) in [
        (
            Method::POST,
            PATH.to_string(),
            Some(json!({"name": "k", "scope": "personal"})),
        ),
        (Method::PATCH, at(id(&mine)), Some(json!({"name": "x"}))),
        (Method::DELETE, at(id(&mine)), None),
    ] {
        let (s, v) = app
            .call(method.clone(), &path, Some(&reader), body.clone())
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::FORBIDDEN, "insufficient_scope"),
            "{method} {path}"
        );
        assert_eq!(v["required_scopes"], json!(["tickets:write"]));
        let (s, v) = app.call(method.clone(), &path, Some(&writer), body).await;
        assert!(s.is_success(), "{method} {path}: {v}");
    }
}

/// While tickets change around it (tickets in the view re-sorted by new tags, tickets
/// outside it created), a view's count equals the length of its list at every step.
#[tokio::test]
async fn counts_equal_the_list_while_tickets_change() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;
    let mut inside = Vec::new();
    for i in 0..30 {
        let (s, t) = app
            .post(
                "/api/tickets",
                &customer.token,
                json!({"subject": format!("In {i}"), "description": "x"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        let path = format!("/api/tickets/{}", t["id"].as_str().unwrap());
        app.patch(&path, &admin.token, json!({"priority": "high"}))
            .await;
        inside.push(path);
    }
    let (s, view) = app
        .post(
            PATH,
            &admin.token,
            json!({"name": "High", "scope": "global", "sort": "-updated_at",
                   "filter": {"all": [{"field": "priority", "op": "eq", "value": "high"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{view}");
    let view_id = id(&view).to_string();

    let (client, base) = (app.client.clone(), app.url(""));
    let (admin_token, customer_token) = (admin.token.clone(), customer.token.clone());
    let writer = tokio::spawn(async move {
        for n in 0..60 {
            let path = &inside[n % inside.len()];
            let r = client
                .patch(format!("{base}{path}"))
                .bearer_auth(&admin_token)
                .json(&json!({"tags": [format!("round{n}")]}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            let r = client
                .post(format!("{base}/api/tickets"))
                .bearer_auth(&customer_token)
                .json(&json!({"subject": format!("Out {n}"), "description": "x"}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
        }
    });
    for _ in 0..20 {
        let (s, counts) = app.get(&format!("{PATH}/counts"), &admin.token).await;
        assert_eq!(s, StatusCode::OK, "{counts}");
        let count = counts["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["view_id"] == view_id.as_str())
            .unwrap()["count"]
            .as_u64()
            .unwrap();
        let (s, page) = app
            .get(&format!("{}/tickets?limit=200", at(&view_id)), &admin.token)
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert_eq!(page["items"].as_array().unwrap().len() as u64, count);
        assert_eq!(count, 30);
    }
    writer.await.unwrap();
}
