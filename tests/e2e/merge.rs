//! Merging and unmerging tickets over HTTP (API-workflow.md "Merge"): the two endpoints
//! with every answer the contract names, `include_merged` on message pages, and
//! `ticket.merged` on a socket.

use helpdesk::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

async fn ticket(app: &App, who: &Who, subject: &str) -> Value {
    let (s, t) = app
        .post(
            "/api/tickets",
            &who.token,
            json!({"subject": subject, "description": "Details inside."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    t
}

fn id(t: &Value) -> &str {
    t["id"].as_str().unwrap()
}

async fn merge(app: &App, who: &Who, source: &str, into: Value) -> (StatusCode, Value) {
    app.post(
        &format!("/api/tickets/{source}/merge"),
        &who.token,
        json!({"into": into}),
    )
    .await
}

async fn unmerge(app: &App, who: &Who, source: &str) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        &format!("/api/tickets/{source}/unmerge"),
        Some(&who.token),
        None,
    )
    .await
}

async fn send(app: &App, who: &Who, conv: &str, text: &str) -> Value {
    let (s, m) = app
        .post(
            &format!("/api/conversations/{conv}/messages"),
            &who.token,
            json!({"content": text}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    m
}

fn contents(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn merge_and_unmerge_over_http() {
    let app = spawn_app().await;
    let requester = app.signup("ada@example.com").await;
    let other = app.signup("grace@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let source = ticket(&app, &requester, "Printer broken").await;
    let target = ticket(&app, &requester, "Printer still broken").await;
    let foreign = ticket(&app, &other, "Not Ada's").await;
    assert_eq!(source["merged_into_id"], Value::Null);
    assert_eq!(source["merged_ids"], json!([]));
    let (src, tgt) = (id(&source), id(&target));
    let mut ws = app.ws(&requester.token).await;

    // Refusals, in the contract's order.
    let (s, v) = merge(&app, &requester, src, json!(tgt)).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"), "{v}");
    let (s, v) = merge(&app, &agent, src, json!(src)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "into", "{v}");
    let missing = "0190d6a4-0000-7000-8000-000000000000";
    let (s, v) = merge(&app, &agent, src, json!(missing)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "into", "{v}");
    let (s, v) = merge(&app, &agent, src, json!("not-a-uuid")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app
        .post(
            &format!("/api/tickets/{src}/merge"),
            &agent.token,
            json!({"into": tgt, "extra": 1}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field"),
        "{v}"
    );
    let (s, v) = merge(&app, &agent, missing, json!(tgt)).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "{v}");
    let (s, v) = merge(&app, &agent, src, json!(id(&foreign))).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "conflict"), "{v}");
    let (s, v) = unmerge(&app, &agent, src).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "conflict"), "{v}");

    // Staff with read access only: 403 forbidden.
    let reader = app.user(Role::Agent, "reader@example.com").await;
    let group = default_group(&app, &admin.token).await;
    let (s, v) = app
        .call(
            Method::PUT,
            &format!("/api/groups/{group}/members/{}", reader.id),
            Some(&admin.token),
            Some(json!({"access": "read"})),
        )
        .await;
    assert!(s.is_success(), "{s} {v}");
    let (s, v) = merge(&app, &reader, src, json!(tgt)).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"), "{v}");

    // The merge: 200 the source, closed and naming its target.
    let (s, merged) = merge(&app, &agent, src, json!(tgt)).await;
    assert_eq!(s, StatusCode::OK, "{merged}");
    assert_eq!(merged["id"], src);
    assert_eq!(merged["status"], "closed");
    assert_eq!(merged["merged_into_id"], tgt);
    assert!(merged["closed_at"].is_string(), "{merged}");
    assert!(merged.get("pre_merge_status").is_none(), "{merged}");
    let (_, t) = app
        .get(&format!("/api/tickets/{tgt}"), &requester.token)
        .await;
    assert_eq!(t["merged_ids"], json!([src]));
    let frame = ws.next_of("ticket.merged").await;
    assert_eq!(frame["data"], json!({"ticket_id": src, "into_id": tgt}));

    // The source is closed: no posts, no second merge, nothing into it.
    let (s, v) = app
        .post(
            &format!(
                "/api/conversations/{}/messages",
                source["conversation_id"].as_str().unwrap()
            ),
            &requester.token,
            json!({"content": "hello?"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, "ticket_closed"),
        "{v}"
    );
    let third = ticket(&app, &requester, "Third").await;
    let (s, v) = merge(&app, &agent, src, json!(id(&third))).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, "ticket_closed"),
        "{v}"
    );
    let (s, v) = merge(&app, &agent, id(&third), json!(src)).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, "ticket_closed"),
        "{v}"
    );

    // The timelines.
    let (_, line) = app
        .get(&format!("/api/tickets/{src}/events"), &requester.token)
        .await;
    let kinds: Vec<&str> = line["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "status_changed", "merged"], "{line}");
    let (_, line) = app
        .get(&format!("/api/tickets/{tgt}/events"), &agent.token)
        .await;
    assert_eq!(
        line["items"].as_array().unwrap().last().unwrap()["data"],
        json!({"source_id": src})
    );

    // The requester is told with `ticket_merged`.
    let (_, n) = app.get("/api/notifications", &requester.token).await;
    assert_eq!(n["items"][0]["kind"], "ticket_merged", "{n}");

    // Unmerge: customers 403, then 200 the source, open again.
    let (s, v) = unmerge(&app, &requester, src).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"), "{v}");
    let (s, v) = unmerge(&app, &reader, src).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"), "{v}");
    let (s, back) = unmerge(&app, &agent, src).await;
    assert_eq!(s, StatusCode::OK, "{back}");
    assert_eq!(back["status"], "open");
    assert_eq!(back["merged_into_id"], Value::Null);
    assert_eq!(back["closed_at"], Value::Null);
    let frame = ws.next_of("ticket.unmerged").await;
    assert_eq!(frame["data"], json!({"ticket_id": src, "into_id": tgt}));
    let (_, t) = app.get(&format!("/api/tickets/{tgt}"), &agent.token).await;
    assert_eq!(t["merged_ids"], json!([]));
    let (s, v) = unmerge(&app, &agent, src).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "conflict"), "{v}");

    // Deleting a target frees its sources' `merged_into_id`.
    let (s, _) = merge(&app, &agent, src, json!(tgt)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .delete(&format!("/api/tickets/{tgt}"), &admin.token)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, t) = app.get(&format!("/api/tickets/{src}"), &agent.token).await;
    assert_eq!(t["merged_into_id"], Value::Null);
    assert_eq!(t["status"], "closed");
}

#[tokio::test]
async fn include_merged_pages_over_http() {
    let app = spawn_app().await;
    let requester = app.signup("ada@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let a = ticket(&app, &requester, "A").await;
    let b = ticket(&app, &requester, "B").await;
    let conv = |t: &Value| t["conversation_id"].as_str().unwrap().to_string();
    let (ca, cb) = (conv(&a), conv(&b));
    for (c, text) in [(&ca, "a1"), (&cb, "b1"), (&ca, "a2"), (&cb, "b2")] {
        send(&app, &requester, c, text).await;
        // Distinct created_at for a stable order.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let (s, _) = merge(&app, &agent, id(&a), json!(id(&b))).await;
    assert_eq!(s, StatusCode::OK);

    let path = format!("/api/conversations/{cb}/messages");
    let (s, own) = app.get(&path, &requester.token).await;
    assert_eq!(s, StatusCode::OK, "{own}");
    assert_eq!(contents(&own), ["b1", "b2"]);
    let (s, all) = app
        .get(&format!("{path}?include_merged=true"), &requester.token)
        .await;
    assert_eq!(s, StatusCode::OK, "{all}");
    assert_eq!(contents(&all), ["a1", "b1", "a2", "b2"]);
    assert_eq!(all["items"][0]["conversation_id"], ca.as_str());
    assert_eq!(all["items"][0]["seq"], 1);

    // Pages of two, newest first, then back with the cursor; and before/after naming
    // a message of the merged ticket.
    let (_, p1) = app
        .get(&format!("{path}?include_merged=true&limit=2"), &agent.token)
        .await;
    assert_eq!(contents(&p1), ["a2", "b2"]);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = app
        .get(
            &format!("{path}?include_merged=true&limit=2&cursor={cursor}"),
            &agent.token,
        )
        .await;
    assert_eq!(contents(&p2), ["a1", "b1"]);
    assert_eq!(p2["next_cursor"], Value::Null);
    let a2 = all["items"][2]["id"].as_str().unwrap();
    let (_, before) = app
        .get(
            &format!("{path}?include_merged=true&before={a2}"),
            &agent.token,
        )
        .await;
    assert_eq!(contents(&before), ["a1", "b1"]);
    let (_, after) = app
        .get(
            &format!("{path}?include_merged=true&after={a2}"),
            &agent.token,
        )
        .await;
    assert_eq!(contents(&after), ["b2"]);
    // Without include_merged, a message of the merged ticket is not in this conversation.
    let (s, v) = app.get(&format!("{path}?before={a2}"), &agent.token).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = app
        .get(&format!("{path}?include_merged=maybe"), &agent.token)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
}
