//! Organization sharing as customers meet it over HTTP and `/api/ws`: with `none` a
//! colleague never sees a member's ticket; with `managers` a manager reads it (ticket,
//! list, filter, timeline, public messages, attachments, `ticket.*` events) and may write
//! nothing; with `all` every member does. Changes of sharing, of the manager flag and of
//! the requester's organization take effect at once, live streams included, and the
//! ticket keeps the organization it was opened in.

use helpdesk::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// An organization at `acme.com` with three customers who joined it by signing up: the
/// requester of `ticket`, a manager and a plain colleague.
struct Acme {
    admin: Who,
    org: String,
    requester: Who,
    manager: Who,
    colleague: Who,
    ticket: String,
    conversation: String,
}

impl Acme {
    async fn new(app: &App) -> Acme {
        let admin = app.user(Role::Admin, "admin@example.com").await;
        let (s, org) = app
            .post(
                "/api/organizations",
                &admin.token,
                json!({"name": "Acme", "domains": ["acme.com"]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{org}");
        assert_eq!(org["sharing"], "none", "{org}");
        let org = org["id"].as_str().unwrap().to_string();
        let requester = app.signup("ann@acme.com").await;
        let manager = app.signup("max@acme.com").await;
        let colleague = app.signup("nia@acme.com").await;
        for who in [&requester, &manager, &colleague] {
            let (_, me) = app.get("/api/users/me", &who.token).await;
            assert_eq!(
                (&me["organization_id"], &me["is_org_manager"]),
                (&json!(org), &json!(false)),
                "joined by domain: {me}"
            );
        }
        let (s, v) = app
            .patch(
                &format!("/api/users/{}", manager.id),
                &admin.token,
                json!({"is_org_manager": true}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["is_org_manager"], true, "{v}");

        let (s, t) = app
            .post(
                "/api/tickets",
                &requester.token,
                json!({"subject": "VPN down", "description": "Since this morning."}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        assert_eq!(t["organization_id"], json!(org), "{t}");
        Acme {
            admin,
            org,
            requester,
            manager,
            colleague,
            ticket: t["id"].as_str().unwrap().to_string(),
            conversation: t["conversation_id"].as_str().unwrap().to_string(),
        }
    }

    /// An admin sets the organization's sharing.
    async fn share(&self, app: &App, sharing: &str) {
        let (s, v) = app
            .patch(
                &format!("/api/organizations/{}", self.org),
                &self.admin.token,
                json!({"sharing": sharing}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["sharing"], sharing, "{v}");
    }

    /// Staff change the ticket's priority (a field customers see), so a `ticket.updated`
    /// goes to whoever sees the ticket.
    async fn staff_change(&self, app: &App, priority: &str) {
        let (s, v) = app
            .patch(
                &format!("/api/tickets/{}", self.ticket),
                &self.admin.token,
                json!({"priority": priority}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    /// Whether `who` sees the ticket: its GET (200 or 404, nothing else) agrees with its
    /// place in their list.
    async fn sees(&self, app: &App, who: &Who) -> bool {
        let (s, v) = app
            .get(&format!("/api/tickets/{}", self.ticket), &who.token)
            .await;
        assert!(
            s == StatusCode::OK || (s, code(&v)) == (StatusCode::NOT_FOUND, "not_found"),
            "{s} {v}"
        );
        let listed = listed(app, who, "/api/tickets")
            .await
            .contains(&self.ticket);
        assert_eq!(s == StatusCode::OK, listed, "GET and list agree: {v}");
        listed
    }
}

/// The ticket ids of a `GET` list at `path`.
async fn listed(app: &App, who: &Who, path: &str) -> Vec<String> {
    let (s, v) = app.get(path, &who.token).await;
    assert_eq!(s, StatusCode::OK, "{path}: {v}");
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

/// Uploads a small text file to `path` (multipart field `file`).
async fn upload(app: &App, path: &str, token: &str) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(b"vpn.log".to_vec())
        .file_name("vpn.log")
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

/// The frames of `ws` before the answer to a ping sent now.
async fn frames_before_pong(ws: &mut Ws) -> Vec<Value> {
    ws.send(json!({"type": "ping"})).await;
    let mut frames = frames_until(ws, |f| f["type"] == "pong").await;
    frames.pop();
    frames
}

/// Whether `frame` is the `ticket.updated` of ticket `tid` changing `field`.
fn updated(frame: &Value, tid: &str, field: &str) -> bool {
    frame["type"] == "ticket.updated"
        && frame["data"]["ticket"]["id"] == tid
        && frame["data"]["changes"]
            .as_array()
            .is_some_and(|c| c.contains(&json!(field)))
}

/// The frames that mention the ticket or its conversation.
fn about<'a>(frames: &'a [Value], acme: &Acme) -> Vec<&'a Value> {
    frames
        .iter()
        .filter(|f| {
            let text = f.to_string();
            text.contains(&acme.ticket) || text.contains(&acme.conversation)
        })
        .collect()
}

#[tokio::test]
async fn with_sharing_none_colleagues_never_see_a_members_ticket() {
    let app = spawn_app().await;
    let acme = Acme::new(&app).await;
    let tid = acme.ticket.as_str();

    // The manager and the colleague: 404 on every path, absent from every list.
    for who in [&acme.manager, &acme.colleague] {
        assert!(!acme.sees(&app, who).await);
        for path in [
            format!("/api/tickets/{tid}/events"),
            format!("/api/tickets/{tid}/attachments"),
            format!("/api/conversations/{}/messages", acme.conversation),
        ] {
            let (s, v) = app.get(&path, &who.token).await;
            assert_eq!(
                (s, code(&v)),
                (StatusCode::NOT_FOUND, "not_found"),
                "{path}"
            );
        }
        let filtered = format!("/api/tickets?organization_id={}", acme.org);
        assert_eq!(listed(&app, who, &filtered).await, Vec::<String>::new());
    }
    // The requester sees their own, through the filter too.
    assert!(acme.sees(&app, &acme.requester).await);
    let filtered = format!("/api/tickets?organization_id={}", acme.org);
    assert_eq!(listed(&app, &acme.requester, &filtered).await, [tid]);
}

#[tokio::test]
async fn managers_read_their_organizations_tickets_and_write_nothing() {
    let app = spawn_app().await;
    let acme = Acme::new(&app).await;
    let tid = acme.ticket.as_str();
    let conv = acme.conversation.as_str();
    let admin = &acme.admin;

    // Staff answer in public, note internally, attach a file.
    let messages = format!("/api/conversations/{conv}/messages");
    let (s, public) = app
        .post(
            &messages,
            &admin.token,
            json!({"content": "Restarting the gateway."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{public}");
    let (s, note) = app
        .post(
            &messages,
            &admin.token,
            json!({"content": "Gateway firmware is ancient", "internal": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{note}");
    let (s, file) = upload(
        &app,
        &format!("/api/tickets/{tid}/attachments"),
        &admin.token,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{file}");

    acme.share(&app, "managers").await;
    let mut manager_ws = app.ws(&acme.manager.token).await;
    let mut colleague_ws = app.ws(&acme.colleague.token).await;

    // The manager reads it: the ticket, the lists, the timeline, the public messages,
    // the attachments.
    assert!(acme.sees(&app, &acme.manager).await);
    let filtered = format!("/api/tickets?organization_id={}", acme.org);
    assert_eq!(listed(&app, &acme.manager, &filtered).await, [tid]);
    let (s, timeline) = app
        .get(&format!("/api/tickets/{tid}/events"), &acme.manager.token)
        .await;
    assert_eq!(s, StatusCode::OK, "{timeline}");
    assert_eq!(timeline["items"][0]["kind"], "created", "{timeline}");
    let (s, list) = app.get(&messages, &acme.manager.token).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let items = list["items"].as_array().unwrap();
    assert!(
        items.iter().any(|m| m["id"] == public["id"]),
        "the public answer: {list}"
    );
    assert!(
        items
            .iter()
            .all(|m| m["id"] != note["id"] && m["internal"] == false),
        "public messages only: {list}"
    );
    assert!(
        !list.to_string().contains("ancient"),
        "never an internal note: {list}"
    );
    let (s, v) = app
        .get(
            &format!("{messages}/{}", note["id"].as_str().unwrap()),
            &acme.manager.token,
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "{v}");
    let (s, files) = app
        .get(
            &format!("/api/tickets/{tid}/attachments"),
            &acme.manager.token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{files}");
    assert_eq!(files["items"][0]["id"], file["id"], "{files}");

    // The colleague who is no manager still sees none of it.
    assert!(!acme.sees(&app, &acme.colleague).await);
    assert_eq!(
        listed(&app, &acme.colleague, &filtered).await,
        Vec::<String>::new()
    );
    let (s, _) = app.get(&messages, &acme.colleague.token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Read-only: no message, no change, no CC, no upload.
    let (s, v) = app
        .post(
            &messages,
            &acme.manager.token,
            json!({"content": "Any news?"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"), "{v}");
    let (s, v) = app
        .patch(
            &format!("/api/tickets/{tid}"),
            &acme.manager.token,
            json!({"subject": "VPN down for everyone"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"), "{v}");
    let (s, v) = app
        .post(
            &format!("/api/tickets/{tid}/cc"),
            &acme.manager.token,
            json!({"user_id": acme.colleague.id}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"), "{v}");
    let (s, v) = upload(
        &app,
        &format!("/api/tickets/{tid}/attachments"),
        &acme.manager.token,
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"), "{v}");
    let (_, t) = app.get(&format!("/api/tickets/{tid}"), &admin.token).await;
    assert_eq!(
        (&t["subject"], &t["cc"]),
        (&json!("VPN down"), &json!([])),
        "nothing changed: {t}"
    );

    // Live: the manager gets the ticket's events, not its conversation's (no member).
    let (s, v) = app
        .post(&messages, &admin.token, json!({"content": "Back up?"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    acme.staff_change(&app, "high").await;
    let mut frames = frames_until(&mut manager_ws, |f| updated(f, tid, "priority")).await;
    assert_eq!(frames.last().unwrap()["data"]["ticket"]["priority"], "high");
    frames.extend(frames_before_pong(&mut manager_ws).await);
    for f in &frames {
        assert!(
            !f["type"].as_str().unwrap().starts_with("message."),
            "no message event to a non-member: {f}"
        );
    }
    assert!(
        !frames.iter().any(|f| f.to_string().contains("Back up?")),
        "{frames:?}"
    );
    // The colleague heard nothing about it.
    let frames = frames_before_pong(&mut colleague_ws).await;
    assert_eq!(about(&frames, &acme), Vec::<&Value>::new());
}

#[tokio::test]
async fn sharing_changes_take_effect_at_once_live_streams_included() {
    let app = spawn_app().await;
    let acme = Acme::new(&app).await;
    let tid = acme.ticket.as_str();
    let mut requester_ws = app.ws(&acme.requester.token).await;
    let mut colleague_ws = app.ws(&acme.colleague.token).await;

    acme.share(&app, "managers").await;
    assert!(!acme.sees(&app, &acme.colleague).await);

    // `all`: the colleague sees it at once, and its events reach their open socket.
    acme.share(&app, "all").await;
    assert!(acme.sees(&app, &acme.colleague).await);
    let filtered = format!("/api/tickets?organization_id={}", acme.org);
    assert_eq!(listed(&app, &acme.colleague, &filtered).await, [tid]);
    let (s, v) = app
        .get(
            &format!("/api/conversations/{}/messages", acme.conversation),
            &acme.colleague.token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Still read-only for every member.
    let (s, v) = app
        .patch(
            &format!("/api/tickets/{tid}"),
            &acme.colleague.token,
            json!({"subject": "Mine"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"), "{v}");
    acme.staff_change(&app, "high").await;
    let f = colleague_ws.next_of("ticket.updated").await;
    assert!(updated(&f, tid, "priority"), "{f}");
    assert!(f["data"]["ticket"].get("group_id").is_none(), "{f}");
    let f = requester_ws.next_of("ticket.updated").await;
    assert!(updated(&f, tid, "priority"), "{f}");

    // Back to `none`: hidden at once, and no later event reaches them. The requester,
    // who still sees it, gets the change first; then the colleague's ping is answered
    // with nothing about the ticket before it.
    acme.share(&app, "none").await;
    assert!(!acme.sees(&app, &acme.colleague).await);
    let (s, _) = app
        .get(&format!("/api/tickets/{tid}/events"), &acme.colleague.token)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    acme.staff_change(&app, "urgent").await;
    let f = requester_ws.next_of("ticket.updated").await;
    assert!(updated(&f, tid, "priority"), "{f}");
    assert_eq!(f["data"]["ticket"]["priority"], "urgent");
    let frames = frames_before_pong(&mut colleague_ws).await;
    assert_eq!(about(&frames, &acme), Vec::<&Value>::new());
}

#[tokio::test]
async fn the_ticket_keeps_its_organization_and_managers_lose_it_with_the_flag() {
    let app = spawn_app().await;
    let acme = Acme::new(&app).await;
    let tid = acme.ticket.as_str();
    let admin = &acme.admin;
    acme.share(&app, "managers").await;
    assert!(acme.sees(&app, &acme.manager).await);

    // The requester leaves the organization: the ticket stays Acme's, for them and for
    // Acme's manager.
    let (s, v) = app
        .patch(
            &format!("/api/users/{}", acme.requester.id),
            &admin.token,
            json!({"organization_id": null}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["organization_id"], Value::Null, "{v}");
    let (_, t) = app.get(&format!("/api/tickets/{tid}"), &admin.token).await;
    assert_eq!(t["organization_id"], json!(acme.org), "{t}");
    let (_, t) = app
        .get(&format!("/api/tickets/{tid}"), &acme.requester.token)
        .await;
    assert_eq!(t["organization_id"], json!(acme.org), "{t}");
    assert!(acme.sees(&app, &acme.requester).await);
    assert!(acme.sees(&app, &acme.manager).await);
    let filtered = format!("/api/tickets?organization_id={}", acme.org);
    assert_eq!(listed(&app, &acme.manager, &filtered).await, [tid]);
    // A ticket they open now has no organization, and Acme's manager does not see it.
    let (s, later) = app
        .post(
            "/api/tickets",
            &acme.requester.token,
            json!({"subject": "Laptop", "description": "Personal one."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{later}");
    assert_eq!(later["organization_id"], Value::Null, "{later}");
    let (s, _) = app
        .get(
            &format!("/api/tickets/{}", later["id"].as_str().unwrap()),
            &acme.manager.token,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The manager flag removed: hidden from them at once, live too.
    let mut manager_ws = app.ws(&acme.manager.token).await;
    let (s, v) = app
        .patch(
            &format!("/api/users/{}", acme.manager.id),
            &admin.token,
            json!({"is_org_manager": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["is_org_manager"], false, "{v}");
    assert!(!acme.sees(&app, &acme.manager).await);
    assert_eq!(
        listed(&app, &acme.manager, &filtered).await,
        Vec::<String>::new()
    );
    let mut requester_ws = app.ws(&acme.requester.token).await;
    acme.staff_change(&app, "low").await;
    let f = requester_ws.next_of("ticket.updated").await;
    assert!(updated(&f, tid, "priority"), "{f}");
    let frames = frames_before_pong(&mut manager_ws).await;
    assert_eq!(about(&frames, &acme), Vec::<&Value>::new());
}
