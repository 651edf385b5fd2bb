//! Access through groups, as users meet it: a second group hides its tickets from the
//! default group's agents on every path (lists, search, direct reads, messages,
//! attachments, events live and on resume, notifications); access levels over HTTP; and a
//! ticket moved between groups while everyone is connected.

use helpdesk::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// A new group named `name`; its id.
async fn new_group(app: &App, admin: &Who, name: &str) -> String {
    let (s, g) = app
        .post("/api/groups", &admin.token, json!({"name": name}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    g["id"].as_str().unwrap().to_string()
}

/// Makes `who` a member of `group` at `access`.
async fn join(app: &App, admin: &Who, group: &str, who: &Who, access: &str) {
    let (s, v) = app
        .call(
            Method::PUT,
            &format!("/api/groups/{group}/members/{}", who.id),
            Some(&admin.token),
            Some(json!({"access": access})),
        )
        .await;
    assert!(s.is_success(), "{s} {v}");
}

/// Takes `who` out of `group`.
async fn leave(app: &App, admin: &Who, group: &str, who: &Who) {
    let (s, v) = app
        .delete(
            &format!("/api/groups/{group}/members/{}", who.id),
            &admin.token,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
}

/// A ticket opened by `staff` for `requester`, in `group` when given; the ticket.
async fn ticket_for(
    app: &App,
    staff: &Who,
    requester: &Who,
    subject: &str,
    group: Option<&str>,
) -> Value {
    let mut body = json!({"subject": subject, "description": "Details inside.",
                          "requester_id": requester.id});
    if let Some(g) = group {
        body["group_id"] = json!(g);
    }
    let (s, t) = app.post("/api/tickets", &staff.token, body).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    t
}

/// Uploads a small text file to `path` (multipart field `file`).
async fn upload(app: &App, path: &str, token: &str) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(b"invoice 4711".to_vec())
        .file_name("invoice.txt")
        .mime_str("text/plain")
        .unwrap();
    let r = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// The string `id` of an object.
fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// The ids of a `{items: [...]}` list.
fn ids(list: &Value) -> Vec<String> {
    list["items"].as_array().unwrap().iter().map(id).collect()
}

/// The frames of `ws` up to and including the first that `last` accepts.
async fn frames_until(ws: &mut Ws, last: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut frames = Vec::new();
    loop {
        let f = ws.next().await;
        let done = last(&f);
        frames.push(f);
        if done {
            return frames;
        }
    }
}

/// Whether `frame` is the `ticket.created` event of ticket `tid`.
fn created(frame: &Value, tid: &str) -> bool {
    frame["type"] == "ticket.created" && frame["data"]["ticket"]["id"] == tid
}

/// The frames that mention any of `needles` (ids of a ticket, its conversation, ...).
fn about<'a>(frames: &'a [Value], needles: &[&str]) -> Vec<&'a Value> {
    frames
        .iter()
        .filter(|f| {
            let text = f.to_string();
            needles.iter().any(|n| text.contains(n))
        })
        .collect()
}

/// The `type`s of some frames.
fn types(frames: &[&Value]) -> Vec<String> {
    frames
        .iter()
        .map(|f| f["type"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// A new socket of `token` that resumes after event `after`.
async fn resumed(app: &App, token: &str, after: &Value) -> Ws {
    let mut ws = app.ws(token).await;
    ws.send(json!({"type": "resume", "after": after})).await;
    ws
}

#[tokio::test]
async fn a_second_group_isolates_its_tickets() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let sam = app.user(Role::Agent, "sam@example.com").await;
    let bill = app.user(Role::Agent, "bill@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let support = default_group(&app, &admin.token).await;
    let billing = new_group(&app, &admin, "Billing").await;
    join(&app, &admin, &billing, &bill, "full").await;
    leave(&app, &admin, &support, &bill).await;

    let mut sam_ws = app.ws(&sam.token).await;
    let mut bill_ws = app.ws(&bill.token).await;

    // Something Sam sees, to resume from later.
    let printer = ticket_for(&app, &admin, &alice, "Printer on fire", None).await;
    let before = sam_ws.next_of("ticket.created").await;
    assert_eq!(before["data"]["ticket"]["id"], printer["id"]);

    // A ticket in Billing, with a file, a reply and an internal note from Bill.
    let refund = ticket_for(
        &app,
        &admin,
        &alice,
        "Refund for a double charge",
        Some(&billing),
    )
    .await;
    assert_eq!(refund["group_id"], json!(billing));
    let tid = id(&refund);
    let cid = refund["conversation_id"].as_str().unwrap().to_string();
    let tpath = format!("/api/tickets/{tid}");
    let (s, file) = upload(&app, &format!("{tpath}/attachments"), &bill.token).await;
    assert_eq!(s, StatusCode::CREATED, "{file}");
    let aid = id(&file);
    let msgs = format!("/api/conversations/{cid}/messages");
    let (s, reply) = app
        .post(&msgs, &bill.token, json!({"content": "Refund on its way."}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{reply}");
    let (s, note) = app
        .post(
            &msgs,
            &bill.token,
            json!({"content": "Card ends 1234.", "internal": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{note}");
    let needles = [tid.as_str(), cid.as_str(), aid.as_str()];

    // Sam, in the default group only: 404 on every path below the ticket...
    for path in [
        tpath.clone(),
        format!("{tpath}/events"),
        format!("{tpath}/attachments"),
        format!("/api/attachments/{aid}"),
        format!("/api/attachments/{aid}/content"),
        format!("/api/conversations/{cid}"),
        msgs.clone(),
        format!("{msgs}/{}", id(&reply)),
        format!("{msgs}/{}/thread", id(&reply)),
    ] {
        let (s, v) = app.get(&path, &sam.token).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
    }
    let (s, v) = app
        .patch(&tpath, &sam.token, json!({"priority": "high"}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "{v}");
    let (s, v) = app
        .post(&msgs, &sam.token, json!({"content": "Can I help?"}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "{v}");
    let (s, v) = upload(&app, &format!("{tpath}/attachments"), &sam.token).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "{v}");

    // ...and no trace of it in lists, search or the group filter.
    let (s, v) = app.get("/api/tickets", &sam.token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), [id(&printer)]);
    let (s, v) = app.get("/api/tickets?q=refund", &sam.token).await;
    assert_eq!((s, &v["items"]), (StatusCode::OK, &json!([])), "{v}");
    let (s, v) = app
        .get(&format!("/api/tickets?group_id={billing}"), &sam.token)
        .await;
    assert_eq!((s, &v["items"]), (StatusCode::OK, &json!([])), "{v}");
    let (_, v) = app
        .get(
            &format!("/api/tickets?group_id={billing}&group_id={support}"),
            &sam.token,
        )
        .await;
    assert_eq!(ids(&v), [id(&printer)]);
    let (_, v) = app.get("/api/conversations", &sam.token).await;
    assert!(!ids(&v).contains(&cid), "{v}");

    // Bill sees all of it.
    let (s, v) = app.get(&tpath, &bill.token).await;
    assert_eq!(
        (s, &v["group_id"]),
        (StatusCode::OK, &json!(billing)),
        "{v}"
    );
    let (s, v) = app.get(&format!("{tpath}/events"), &bill.token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["items"][0]["kind"], "created", "{v}");
    let (s, v) = app.get(&format!("{tpath}/attachments"), &bill.token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), [aid.as_str()]);
    let (s, v) = app
        .get(&format!("/api/attachments/{aid}/content"), &bill.token)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.get(&msgs, &bill.token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), [id(&reply), id(&note)]);
    let (_, v) = app.get("/api/tickets", &bill.token).await;
    assert_eq!(ids(&v), [tid.as_str()], "Bill is no longer in Support");
    let (_, v) = app.get("/api/tickets?q=refund", &bill.token).await;
    assert_eq!(ids(&v), [tid.as_str()]);
    let (_, v) = app
        .get(&format!("/api/tickets?group_id={billing}"), &bill.token)
        .await;
    assert_eq!(ids(&v), [tid.as_str()]);

    // Bill got its events live; Sam none up to the next Support ticket.
    let bill_frames = frames_until(&mut bill_ws, |f| {
        f["type"] == "message.created" && f["data"]["message"]["id"] == note["id"]
    })
    .await;
    let seen = types(&about(&bill_frames, &needles));
    for kind in ["ticket.created", "notification.created", "message.created"] {
        assert!(seen.iter().any(|t| t == kind), "{kind} not in {seen:?}");
    }
    let toner = ticket_for(&app, &admin, &alice, "Toner empty", None).await;
    let frames = frames_until(&mut sam_ws, |f| created(f, &id(&toner))).await;
    assert_eq!(about(&frames, &needles), Vec::<&Value>::new(), "live");

    // Nor on resume from before the ticket; Bill's resume replays it.
    let mut sam_again = resumed(&app, &sam.token, &before["id"]).await;
    let frames = frames_until(&mut sam_again, |f| created(f, &id(&toner))).await;
    assert_eq!(about(&frames, &needles), Vec::<&Value>::new(), "on resume");
    let mut bill_again = resumed(&app, &bill.token, &before["id"]).await;
    let frames = frames_until(&mut bill_again, |f| {
        f["type"] == "message.created" && f["data"]["message"]["id"] == note["id"]
    })
    .await;
    assert!(frames.iter().any(|f| created(f, &tid)), "{frames:?}");

    // A new unassigned ticket notifies its group's full members only.
    let (s, v) = app.get("/api/notifications", &bill.token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let bills: Vec<&Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["data"]["ticket_id"] == tid)
        .collect();
    assert_eq!(bills.len(), 1, "{v}");
    assert_eq!(bills[0]["kind"], "ticket_created");
    let (_, v) = app.get("/api/notifications", &sam.token).await;
    let sams: Vec<&Value> = v["items"].as_array().unwrap().iter().collect();
    assert!(
        sams.iter().all(|n| n["data"]["ticket_id"] != tid),
        "Sam was told about a Billing ticket: {v}"
    );
    assert!(
        sams.iter()
            .any(|n| n["kind"] == "ticket_created" && n["data"]["ticket_id"] == toner["id"]),
        "Sam is told about his own group's tickets: {v}"
    );
}

#[tokio::test]
async fn access_levels_over_http() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let reader = app.user(Role::Agent, "reader@example.com").await;
    let replier = app.user(Role::Agent, "replier@example.com").await;
    let lead = app.user(Role::Agent, "lead@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let billing = new_group(&app, &admin, "Billing").await;
    join(&app, &admin, &billing, &reader, "read").await;
    join(&app, &admin, &billing, &replier, "reply").await;
    join(&app, &admin, &billing, &lead, "full").await;
    let t = ticket_for(&app, &admin, &alice, "Refund", Some(&billing)).await;
    let tpath = format!("/api/tickets/{}", id(&t));
    let msgs = format!(
        "/api/conversations/{}/messages",
        t["conversation_id"].as_str().unwrap()
    );

    // `read`: sees the ticket and its conversation, marks it read; no writes.
    let (s, v) = app.get(&tpath, &reader.token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.get(&msgs, &reader.token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .post(
            &format!(
                "/api/conversations/{}/read",
                t["conversation_id"].as_str().unwrap()
            ),
            &reader.token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for body in [
        json!({"content": "Hello"}),
        json!({"content": "note", "internal": true}),
    ] {
        let (s, v) = app.post(&msgs, &reader.token, body.clone()).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{body}"
        );
    }
    let (s, v) = app
        .patch(&tpath, &reader.token, json!({"priority": "high"}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = upload(&app, &format!("{tpath}/attachments"), &reader.token).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));

    // `reply`: posts (notes too) and uploads; no PATCH.
    for body in [
        json!({"content": "Hello"}),
        json!({"content": "note", "internal": true}),
    ] {
        let (s, v) = app.post(&msgs, &replier.token, body.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{body}: {v}");
    }
    let (s, v) = upload(&app, &format!("{tpath}/attachments"), &replier.token).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    for body in [
        json!({"priority": "high"}),
        json!({"assignee_id": replier.id}),
    ] {
        let (s, v) = app.patch(&tpath, &replier.token, body.clone()).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{body}"
        );
    }

    // Only `full` members (and admins) can be the assignee, whoever assigns.
    for who in [&reader, &replier] {
        for by in [&lead, &admin] {
            let (s, v) = app
                .patch(&tpath, &by.token, json!({"assignee_id": who.id}))
                .await;
            assert_eq!(
                (s, code(&v)),
                (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
                "{v}"
            );
            assert_eq!(v["errors"][0]["field"], "assignee_id", "{v}");
        }
    }
    let (s, v) = app
        .post(
            "/api/tickets",
            &admin.token,
            json!({"subject": "x", "description": "", "requester_id": alice.id,
                   "group_id": billing, "assignee_id": replier.id}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        "{v}"
    );
    assert_eq!(v["errors"][0]["field"], "assignee_id", "{v}");
    let (s, v) = app
        .patch(
            &tpath,
            &lead.token,
            json!({"assignee_id": lead.id, "priority": "high"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["assignee_id"], &v["priority"]),
        (&json!(lead.id), &json!("high"))
    );
    let (s, v) = app
        .patch(&tpath, &lead.token, json!({"assignee_id": admin.id}))
        .await;
    assert_eq!(
        (s, &v["assignee_id"]),
        (StatusCode::OK, &json!(admin.id)),
        "{v}"
    );
}

#[tokio::test]
async fn moving_a_ticket_mid_stream() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let sam = app.user(Role::Agent, "sam@example.com").await;
    let bill = app.user(Role::Agent, "bill@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let support = default_group(&app, &admin.token).await;
    let billing = new_group(&app, &admin, "Billing").await;
    join(&app, &admin, &billing, &bill, "full").await;
    leave(&app, &admin, &support, &bill).await;

    let mut sam_ws = app.ws(&sam.token).await;
    let mut bill_ws = app.ws(&bill.token).await;
    let mut alice_ws = app.ws(&alice.token).await;

    // Alice's ticket lands in Support; Sam replies, so joins its conversation.
    let (s, t) = app
        .post(
            "/api/tickets",
            &alice.token,
            json!({"subject": "Charged twice", "description": "Invoice 4711."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let tid = id(&t);
    let cid = t["conversation_id"].as_str().unwrap().to_string();
    let tpath = format!("/api/tickets/{tid}");
    let msgs = format!("/api/conversations/{cid}/messages");
    let (s, sams) = app
        .post(
            &msgs,
            &sam.token,
            json!({"content": "Passing this to billing."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{sams}");
    let before_move = sam_ws.next_of("message.created").await;
    assert_eq!(before_move["data"]["message"]["id"], sams["id"]);
    let alice_before = alice_ws.next_of("message.created").await;
    assert_eq!(alice_before["data"]["message"]["id"], sams["id"]);

    // Sam, a full member of Support, moves it to Billing: 200 with the ticket.
    let (s, moved) = app
        .patch(&tpath, &sam.token, json!({"group_id": billing}))
        .await;
    assert_eq!(s, StatusCode::OK, "{moved}");
    assert_eq!(moved["group_id"], json!(billing));
    let is_move = |f: &Value| {
        f["type"] == "ticket.updated"
            && f["data"]["ticket"]["id"] == tid
            && f["data"]["changes"]
                .as_array()
                .is_some_and(|c| c.contains(&json!("group_id")))
    };
    for ws in [&mut sam_ws, &mut bill_ws] {
        let e = ws.next_of("ticket.updated").await;
        assert!(is_move(&e), "{e}");
        assert_eq!(e["data"]["ticket"]["group_id"], json!(billing));
    }
    let (s, v) = app.get(&tpath, &sam.token).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (_, timeline) = app.get(&format!("{tpath}/events"), &bill.token).await;
    let change: Vec<&Value> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "group_changed")
        .collect();
    assert_eq!(change.len(), 1, "{timeline}");
    assert_eq!(
        change[0]["data"],
        json!({"from": support, "to": billing}),
        "{timeline}"
    );
    let (_, v) = app.get("/api/notifications", &bill.token).await;
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "ticket_moved" && n["data"]["ticket_id"] == tid),
        "Billing's full members are told: {v}"
    );

    // Bill takes over; Alice answers. Bill gets it all, Sam nothing more.
    let (s, bills) = app
        .post(&msgs, &bill.token, json!({"content": "Refunded."}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{bills}");
    let (s, alices) = app
        .post(&msgs, &alice.token, json!({"content": "Thanks!"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{alices}");
    let (s, v) = app
        .patch(
            &tpath,
            &bill.token,
            json!({"assignee_id": bill.id, "priority": "high"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let is_last = |f: &Value| {
        f["type"] == "ticket.updated"
            && f["data"]["ticket"]["id"] == tid
            && f["data"]["changes"]
                .as_array()
                .is_some_and(|c| c.contains(&json!("priority")))
    };
    let frames = frames_until(&mut bill_ws, is_last).await;
    let got: Vec<&Value> = frames
        .iter()
        .filter(|f| f["type"] == "message.created")
        .map(|f| &f["data"]["message"]["id"])
        .collect();
    assert!(got.contains(&&alices["id"]), "{frames:?}");

    // Sam's socket: nothing about the ticket after the move, live...
    let sentinel = ticket_for(&app, &admin, &alice, "Toner empty", None).await;
    let needles = [tid.as_str(), cid.as_str()];
    let frames = frames_until(&mut sam_ws, |f| created(f, &id(&sentinel))).await;
    assert_eq!(about(&frames, &needles), Vec::<&Value>::new(), "live");
    // ...nor on resume from before it, where the move is the last event about it.
    let mut sam_again = resumed(&app, &sam.token, &before_move["id"]).await;
    let frames = frames_until(&mut sam_again, |f| created(f, &id(&sentinel))).await;
    let at = frames.iter().position(is_move);
    let after = &frames[at.expect("the move is replayed") + 1..];
    assert_eq!(about(after, &needles), Vec::<&Value>::new(), "on resume");
    // The conversation left his lists too.
    let (_, v) = app.get("/api/conversations", &sam.token).await;
    assert!(!ids(&v).contains(&cid), "{v}");
    let (_, v) = app.get("/api/users/me/unread", &sam.token).await;
    assert!(!v.to_string().contains(&cid), "{v}");

    // Alice never saw the group, nor the move that changed nothing she sees.
    let check_customer_view = |frames: &[Value]| {
        for f in frames {
            let ticket = &f["data"]["ticket"];
            if ticket.is_object() {
                assert!(ticket.get("group_id").is_none(), "{f}");
            }
            if let Some(changes) = f["data"]["changes"].as_array() {
                assert!(!changes.contains(&json!("group_id")), "{f}");
                assert!(!changes.is_empty(), "{f}");
            }
        }
        let updates: Vec<&Value> = frames
            .iter()
            .filter(|f| f["type"] == "ticket.updated" && f["data"]["ticket"]["id"] == tid)
            .collect();
        assert_eq!(updates.len(), 1, "only Bill's PATCH: {updates:?}");
    };
    let frames = frames_until(&mut alice_ws, is_last).await;
    check_customer_view(&frames);
    let mut alice_again = resumed(&app, &alice.token, &alice_before["id"]).await;
    let frames = frames_until(&mut alice_again, is_last).await;
    check_customer_view(&frames);
    let (_, v) = app.get(&tpath, &alice.token).await;
    assert!(v.get("group_id").is_none(), "{v}");

    // Moved back, Bill (not in Support) is unassigned: Alice sees that change alone.
    let (s, v) = app
        .patch(&tpath, &bill.token, json!({"group_id": support}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["group_id"], &v["assignee_id"]),
        (&json!(support), &Value::Null)
    );
    let e = alice_ws.next_of("ticket.updated").await;
    assert_eq!(e["data"]["ticket"]["id"], json!(tid));
    assert!(e["data"]["ticket"].get("group_id").is_none(), "{e}");
    let changes = e["data"]["changes"].as_array().unwrap();
    assert!(changes.contains(&json!("assignee_id")), "{e}");
    assert!(!changes.contains(&json!("group_id")), "{e}");
    let e = sam_ws.next_of("ticket.updated").await;
    assert!(is_move(&e), "Sam regains the ticket with its move: {e}");
}

#[tokio::test]
async fn customers_never_see_a_move_in_the_timeline() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let billing = new_group(&app, &admin, "Billing").await;
    let t = ticket_for(&app, &admin, &alice, "Charged twice", None).await;
    let tpath = format!("/api/tickets/{}", id(&t));
    let (s, v) = app
        .patch(&tpath, &admin.token, json!({"group_id": billing}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Staff see the move; the requester's timeline has no trace of it.
    let kinds = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, v) = app.get(&format!("{tpath}/events"), &admin.token).await;
    assert_eq!(kinds(&v), ["created", "group_changed"], "{v}");
    let (s, v) = app.get(&format!("{tpath}/events"), &alice.token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(kinds(&v), ["created"], "{v}");
    assert!(!v.to_string().contains(&billing), "{v}");
}
