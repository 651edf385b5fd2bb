//! Organizations: CRUD as admins and staff see them (a customer reads only their own,
//! 403 on the list), the list by name with its filters and cursor, the problem answers
//! the contract names, the users' organization fields (shown where `email` is, set by
//! admins, joined by email domain at signup, reset by a role change, cleared by a
//! deletion), and `organization.*` events over `/api/ws`, to staff only.

use helpdesk::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// The names of a `{items: [organization]}` list, in order.
fn names(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect()
}

async fn create(app: &App, token: &str, body: Value) -> Value {
    let (s, v) = app.post("/api/organizations", token, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

#[tokio::test]
async fn organizations_crud_for_admins_read_for_staff() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let customer = app.user(Role::Customer, "carol@example.com").await;

    // Create: trimmed name, lowercased domains, sharing `none` by default; 201 with
    // Location.
    let resp = app
        .client
        .post(app.url("/api/organizations"))
        .bearer_auth(&admin.token)
        .json(&json!({"name": "  Acme Corp ", "domains": ["Acme.COM", "eu.acme.com"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let acme: Value = resp.json().await.unwrap();
    assert_eq!(location, format!("/api/organizations/{}", id(&acme)));
    assert_eq!(
        redact(&acme),
        json!({"id": "[id]", "name": "Acme Corp", "domains": ["acme.com", "eu.acme.com"],
               "sharing": "none", "created_at": "[datetime]"})
    );
    let (s, got) = app.get(&location, &agent.token).await;
    assert_eq!((s, &got), (StatusCode::OK, &acme));

    // Conflicts and invalid bodies.
    let (s, v) = app
        .post(
            "/api/organizations",
            &admin.token,
            json!({"name": "ACME corp"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "name_taken"));
    let (s, v) = app
        .post(
            "/api/organizations",
            &admin.token,
            json!({"name": "Copycat", "domains": ["EU.acme.com"]}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "domain_taken"));
    assert!(v["detail"].as_str().unwrap().contains("eu.acme.com"), "{v}");
    let (s, v) = app
        .post(
            "/api/organizations",
            &admin.token,
            json!({"name": "x", "owner": "me"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field")
    );
    for bad in [
        json!({"name": "   "}),
        json!({"name": "n".repeat(201)}),
        json!({"name": "bell\u{7}"}),
        json!({"domains": ["acme.org"]}),
        json!({"name": "Free", "domains": ["gmail.com"]}),
        json!({"name": "Dots", "domains": ["acme..org"]}),
        json!({"name": "Many", "domains": (0..51).map(|i| format!("d{i}.example.org")).collect::<Vec<_>>()}),
        json!({"name": "Type", "domains": "acme.org"}),
        json!({"name": "Sharing", "sharing": "everyone"}),
        json!({"name": "Null", "sharing": null}),
    ] {
        let (s, v) = app
            .post("/api/organizations", &admin.token, bad.clone())
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{bad}: {v}"
        );
    }
    let (s, v) = app
        .post(
            "/api/organizations",
            &admin.token,
            json!({"name": "Free", "domains": ["GMAIL.com"]}),
        )
        .await;
    assert_eq!(v["errors"][0]["field"], "domains[0]", "{s} {v}");
    let (s, v) = app
        .post(
            "/api/organizations",
            &agent.token,
            json!({"name": "Agents"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));

    // Listed by name (any case), filtered, paged.
    let globex = create(
        &app,
        &admin.token,
        json!({"name": "globex", "domains": ["globex.com"], "sharing": "all"}),
    )
    .await;
    assert_eq!(globex["sharing"], "all");
    create(&app, &admin.token, json!({"name": "Beta labs"})).await;
    let (s, v) = app.get("/api/organizations", &agent.token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(names(&v), ["Acme Corp", "Beta labs", "globex"]);
    assert_eq!(v["next_cursor"], Value::Null);
    let (_, v) = app.get("/api/organizations?q=LAB", &agent.token).await;
    assert_eq!(names(&v), ["Beta labs"]);
    let (_, v) = app
        .get("/api/organizations?domain=EU.ACME.COM", &agent.token)
        .await;
    assert_eq!(names(&v), ["Acme Corp"]);
    let (_, v) = app
        .get("/api/organizations?domain=acme", &agent.token)
        .await;
    assert_eq!(names(&v), Vec::<&str>::new());
    let mut seen = Vec::new();
    let mut path = "/api/organizations?limit=2".to_string();
    loop {
        let (s, v) = app.get(&path, &admin.token).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        seen.extend(names(&v).into_iter().map(String::from));
        match v["next_cursor"].as_str() {
            Some(c) => path = format!("/api/organizations?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["Acme Corp", "Beta labs", "globex"]);
    for bad in [
        "limit=0",
        "limit=201",
        "cursor=nope",
        "cursor=AAAA",
        "q=%07",
    ] {
        let (s, v) = app
            .get(&format!("/api/organizations?{bad}"), &agent.token)
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::BAD_REQUEST, "invalid_query"),
            "{bad}"
        );
    }

    // Customers: 403 on the list, 404 for an organization not theirs.
    let (s, v) = app.get("/api/organizations", &customer.token).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app.get(&location, &customer.token).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));

    // Update: the whole domain list, the sharing rule.
    let path = format!("/api/organizations/{}", id(&globex));
    let (s, v) = app
        .patch(
            &path,
            &admin.token,
            json!({"name": "Globex", "domains": ["globex.com", "globex.net"], "sharing": "managers"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["name"], &v["domains"], &v["sharing"], &v["created_at"]),
        (
            &json!("Globex"),
            &json!(["globex.com", "globex.net"]),
            &json!("managers"),
            &globex["created_at"]
        )
    );
    let (s, v) = app
        .patch(&path, &admin.token, json!({"domains": ["acme.com"]}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "domain_taken"));
    let (s, v) = app
        .patch(&path, &admin.token, json!({"name": "acme corp"}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "name_taken"));
    let (s, v) = app
        .patch(&path, &admin.token, json!({"domains": null}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (s, v) = app
        .patch(&path, &agent.token, json!({"name": "Mine"}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let missing = format!("/api/organizations/{}", uuid::Uuid::now_v7());
    let (s, v) = app.patch(&missing, &admin.token, json!({"bogus": 1})).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, v) = app.get(&missing, &agent.token).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, v) = app.get("/api/organizations/not-a-uuid", &agent.token).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_id"));

    // Delete: admins only, 204, then 404.
    let (s, v) = app.delete(&path, &agent.token).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app.delete(&path, &admin.token).await;
    assert_eq!((s, &v), (StatusCode::NO_CONTENT, &Value::Null));
    let (s, _) = app.get(&path, &admin.token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = app.delete(&path, &admin.token).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, v) = app.get("/api/organizations", &admin.token).await;
    assert_eq!(names(&v), ["Acme Corp", "Beta labs"], "{s}");
}

#[tokio::test]
async fn users_carry_their_organization() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let acme = create(
        &app,
        &admin.token,
        json!({"name": "Acme", "domains": ["acme.com"]}),
    )
    .await;
    let acme_id = id(&acme).to_string();
    let globex = create(&app, &admin.token, json!({"name": "Globex"})).await;
    let globex_id = id(&globex).to_string();

    // Signup joins by the exact domain; the user shows the fields where email is.
    let ann = app.signup("ann@acme.com").await;
    let (_, me) = app.get("/api/users/me", &ann.token).await;
    assert_eq!(
        (&me["organization_id"], &me["is_org_manager"]),
        (&json!(acme_id), &json!(false)),
        "{me}"
    );
    let (_, org) = app
        .get(&format!("/api/organizations/{acme_id}"), &ann.token)
        .await;
    assert_eq!(org, acme, "a customer reads their own organization");
    let sub = app.signup("sam@sub.acme.com").await;
    let (_, me) = app.get("/api/users/me", &sub.token).await;
    assert_eq!(me["organization_id"], Value::Null, "{me}");
    let (s, v) = app
        .get(&format!("/api/organizations/{acme_id}"), &sub.token)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    // Others' public profiles do not show them.
    let (_, public) = app.get(&format!("/api/users/{}", ann.id), &sub.token).await;
    assert!(
        public.get("organization_id").is_none() && public.get("is_org_manager").is_none(),
        "{public}"
    );
    let (_, staff_view) = app
        .get(&format!("/api/users/{}", ann.id), &agent.token)
        .await;
    assert_eq!(staff_view["organization_id"], json!(acme_id));

    // Admins create members and managers; the rules answer 422.
    let (s, bob) = app
        .post(
            "/api/users",
            &admin.token,
            json!({"email": "bob@elsewhere.example", "name": "Bob", "role": "customer",
                   "password": "password123", "organization_id": globex_id,
                   "is_org_manager": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{bob}");
    assert_eq!(
        (&bob["organization_id"], &bob["is_org_manager"]),
        (&json!(globex_id), &json!(true))
    );
    let (s, auto) = app
        .post(
            "/api/users",
            &admin.token,
            json!({"email": "cy@acme.com", "name": "Cy", "role": "customer",
                   "password": "password123", "organization_id": null}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{auto}");
    assert_eq!(auto["organization_id"], json!(acme_id));
    let ghost = uuid::Uuid::now_v7().to_string();
    for (bad, field) in [
        (
            json!({"role": "agent", "organization_id": acme_id}),
            "organization_id",
        ),
        (
            json!({"role": "admin", "is_org_manager": true}),
            "is_org_manager",
        ),
        (
            json!({"role": "customer", "is_org_manager": true}),
            "is_org_manager",
        ),
        (
            json!({"role": "customer", "organization_id": ghost}),
            "organization_id",
        ),
        (
            json!({"role": "customer", "organization_id": "not-a-uuid"}),
            "organization_id",
        ),
    ] {
        let mut body =
            json!({"email": "new@example.net", "name": "New", "password": "password123"});
        body.as_object_mut()
            .unwrap()
            .extend(bad.as_object().unwrap().clone());
        let (s, v) = app.post("/api/users", &admin.token, body).await;
        assert_eq!(
            (s, code(&v), v["errors"][0]["field"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                Some(field)
            ),
            "{bad}: {v}"
        );
    }

    // PATCH: join, manage, leave (`null`), and a role change to staff resets both.
    let sam_path = format!("/api/users/{}", sub.id);
    let (s, v) = app
        .patch(
            &sam_path,
            &admin.token,
            json!({"organization_id": acme_id, "is_org_manager": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["organization_id"], &v["is_org_manager"]),
        (&json!(acme_id), &json!(true))
    );
    // At once: Sam now reads Acme.
    let (s, _) = app
        .get(&format!("/api/organizations/{acme_id}"), &sub.token)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app
        .patch(&sam_path, &admin.token, json!({"organization_id": null}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["organization_id"], &v["is_org_manager"]),
        (&Value::Null, &json!(false))
    );
    let (s, _) = app
        .get(&format!("/api/organizations/{acme_id}"), &sub.token)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = app
        .patch(&sam_path, &admin.token, json!({"is_org_manager": true}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (s, v) = app
        .patch(
            &format!("/api/users/{}", agent.id),
            &admin.token,
            json!({"organization_id": acme_id}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let bob_path = format!("/api/users/{}", id(&bob));
    let (s, v) = app
        .patch(&bob_path, &admin.token, json!({"role": "agent"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["organization_id"], &v["is_org_manager"]),
        (&Value::Null, &json!(false))
    );
    let (s, v) = app
        .patch(&bob_path, &ann.token, json!({"organization_id": null}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app
        .patch(
            "/api/users/me",
            &ann.token,
            json!({"organization_id": null}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden_field"));
    let (s, v) = app
        .patch("/api/users/me", &ann.token, json!({"is_org_manager": true}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden_field"));

    // The list filters by organization.
    let (s, v) = app
        .get(
            &format!("/api/users?organization_id={acme_id}"),
            &agent.token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let emails: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["ann@acme.com", "cy@acme.com"]);
    let (s, v) = app
        .get("/api/users?organization_id=nope", &agent.token)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_query"));

    // Deleting the organization frees its members at once.
    let (s, _) = app
        .delete(&format!("/api/organizations/{acme_id}"), &admin.token)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, me) = app.get("/api/users/me", &ann.token).await;
    assert_eq!(me["organization_id"], Value::Null, "{me}");
    let (_, v) = app
        .get(
            &format!("/api/users?organization_id={acme_id}"),
            &agent.token,
        )
        .await;
    assert_eq!(v["items"], json!([]));
}

#[tokio::test]
async fn organization_events_reach_staff_only() {
    let app = spawn_app().await;
    let admin = app.user(Role::Admin, "admin@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let mut staff = app.ws(&agent.token).await;
    let acme = create(
        &app,
        &admin.token,
        json!({"name": "Acme", "domains": ["acme.com"]}),
    )
    .await;
    let ev = staff.next().await;
    assert_eq!(ev["type"], "organization.created", "{ev}");
    assert_eq!(ev["data"]["organization"], acme);

    // A member of the organization gets none of its events: the next frame they see is
    // their own ticket's.
    let ann = app.signup("ann@acme.com").await;
    let mut member = app.ws(&ann.token).await;
    let path = format!("/api/organizations/{}", id(&acme));
    let (s, updated) = app
        .patch(&path, &admin.token, json!({"sharing": "all"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{updated}");
    let ev = staff.next().await;
    assert_eq!(ev["type"], "organization.updated", "{ev}");
    assert_eq!(ev["data"]["organization"], updated);
    let (s, _) = app.delete(&path, &admin.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let ev = staff.next().await;
    assert_eq!(ev["type"], "organization.deleted", "{ev}");
    assert_eq!(ev["data"], json!({"organization_id": id(&acme)}));
    let (s, t) = app
        .post(
            "/api/tickets",
            &ann.token,
            json!({"subject": "Hello", "description": "Anyone?"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let ev = member.next().await;
    assert_eq!(ev["type"], "ticket.created", "{ev}");
}
