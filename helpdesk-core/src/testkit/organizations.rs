//! Organizations: names and domains (unique, checked, free-mail refused), the list by
//! name with its filters and cursor, who reads them (a customer only their own), the
//! user fields (only customers belong, managers need an organization, a role change to
//! staff resets both), new customers joining by their email's exact domain, deletion
//! freeing its users and tickets, and the events.

use std::sync::Arc;

use super::{PASSWORD, Who, World, expect_err};
use crate::auth::Signup;
use crate::event::{Effects, EventKind};
use crate::organization::{
    NewOrganization, Organization, OrganizationFilter, OrganizationPatch, Sharing,
};
use crate::principal::Principal;
use crate::store::Store;
use crate::user::{NewUser, User, UserFilter, UserPatch};
use crate::{Config, Conflict, Error, Role, StoreError};

fn new_org(name: &str, domains: &[&str]) -> NewOrganization {
    NewOrganization {
        name: name.into(),
        domains: domains.iter().map(|d| d.to_string()).collect(),
        ..Default::default()
    }
}

async fn org(w: &World, admin: &Who, name: &str, domains: &[&str]) -> Organization {
    w.hd.create_organization(&admin.p, new_org(name, domains))
        .await
        .expect("create organization")
}

/// A user made by an admin with this email and role.
async fn user_with_email(w: &World, email: &str, role: Role) -> User {
    w.hd.create_user(
        &Principal::system(),
        NewUser::new(email, "Someone", role, PASSWORD),
    )
    .await
    .expect("create user")
}

async fn set_affiliation(
    w: &World,
    admin: &Who,
    user: uuid::Uuid,
    organization_id: Option<Option<uuid::Uuid>>,
    is_org_manager: Option<bool>,
) -> crate::Result<User> {
    w.hd.update_user(
        &admin.p,
        user,
        UserPatch {
            organization_id,
            is_org_manager,
            ..Default::default()
        },
    )
    .await
}

fn names(orgs: &[Organization]) -> Vec<&str> {
    orgs.iter().map(|o| o.name.as_str()).collect()
}

/// Names: trimmed, 1..=200 characters, unique case-insensitively, on create and rename
/// (the store refuses a taken name by itself); admins write, agents read.
pub async fn names_are_unique_case_insensitively(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let acme = org(&w, &admin, "  Acme Corp ", &[]).await;
    assert_eq!(acme.name, "Acme Corp");
    assert_eq!(acme.sharing, Sharing::None);
    assert!(acme.domains.is_empty());
    expect_err!(
        w.hd.create_organization(&admin.p, new_org("ACME CORP", &[]))
            .await,
        Error::NameTaken
    );
    for bad in ["   ", &"x".repeat(201), "a\u{0}b"] {
        expect_err!(
            w.hd.create_organization(&admin.p, new_org(bad, &[])).await,
            Error::Validation(f) if f[0].field == "name"
        );
    }
    org(&w, &admin, &"é".repeat(200), &[]).await;
    expect_err!(
        w.hd.create_organization(&agent.p, new_org("Agents Inc", &[]))
            .await,
        Error::Forbidden(_)
    );
    let globex = org(&w, &admin, "Globex", &[]).await;
    let rename = |name: &str| OrganizationPatch {
        name: Some(name.into()),
        ..Default::default()
    };
    expect_err!(
        w.hd.update_organization(&admin.p, globex.id, rename("acme corp"))
            .await,
        Error::NameTaken
    );
    // Another case of its own name is no conflict.
    let renamed =
        w.hd.update_organization(&admin.p, globex.id, rename("GLOBEX"))
            .await
            .unwrap();
    assert_eq!(renamed.name, "GLOBEX");
    assert_eq!(
        w.hd.get_organization(&agent.p, globex.id).await.unwrap(),
        renamed
    );
    // The old key is free again once renamed away.
    w.hd.update_organization(&admin.p, globex.id, rename("Initech"))
        .await
        .unwrap();
    org(&w, &admin, "globex", &[]).await;
    let clash = Organization {
        id: crate::clock::new_id(),
        name: "acme CORP".into(),
        ..acme.clone()
    };
    let err = w.store.insert_organization(&clash, &Effects::none()).await;
    assert!(
        matches!(err, Err(StoreError::Conflict(Conflict::Name))),
        "{err:?}"
    );
}

/// Domains: DNS names, lowercased, each once, at most 50, no free-mail domain; unique
/// across organizations (409 `domain_taken`, the store checking by itself), an
/// organization keeping its own; a replaced domain is free for another.
pub async fn domains_are_checked_and_unique(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let acme = org(&w, &admin, "Acme", &["Acme.COM", "eu.acme.com", "acme.com"]).await;
    assert_eq!(acme.domains, ["acme.com", "eu.acme.com"]);
    for bad in [
        "acme",
        "acme..com",
        "-acme.com",
        "acme.com.",
        "ac me.com",
        "ac_me.com",
    ] {
        expect_err!(
            w.hd.create_organization(&admin.p, new_org("Bad", &[bad]))
                .await,
            Error::Validation(f) if f[0].field == "domains[0]",
        );
    }
    for free in ["gmail.com", "GMX.de", "proton.me"] {
        expect_err!(
            w.hd.create_organization(&admin.p, new_org("Free", &["ok.example.org", free]))
                .await,
            Error::Validation(f) if f[0].field == "domains[1]",
        );
    }
    let many: Vec<String> = (0..51).map(|i| format!("d{i}.example.org")).collect();
    let too_many = NewOrganization {
        domains: many.clone(),
        ..new_org("Many", &[])
    };
    expect_err!(
        w.hd.create_organization(&admin.p, too_many).await,
        Error::Validation(_)
    );
    let fifty = NewOrganization {
        domains: many[..50].to_vec(),
        ..new_org("Fifty", &[])
    };
    assert_eq!(
        w.hd.create_organization(&admin.p, fifty)
            .await
            .unwrap()
            .domains
            .len(),
        50
    );
    expect_err!(
        w.hd.create_organization(&admin.p, new_org("Copycat", &["ACME.com"]))
            .await,
        Error::DomainTaken(d) if d.contains("acme.com")
    );
    let globex = org(&w, &admin, "Globex", &["globex.com"]).await;
    let domains = |d: &[&str]| OrganizationPatch {
        domains: Some(d.iter().map(|x| x.to_string()).collect()),
        ..Default::default()
    };
    expect_err!(
        w.hd.update_organization(&admin.p, globex.id, domains(&["globex.com", "eu.acme.com"]))
            .await,
        Error::DomainTaken(d) if d.contains("eu.acme.com")
    );
    expect_err!(
        w.hd.update_organization(&admin.p, globex.id, domains(&["gmail.com"]))
            .await,
        Error::Validation(_)
    );
    // Acme gives up eu.acme.com (keeping its own acme.com); Globex can take it.
    let acme =
        w.hd.update_organization(&admin.p, acme.id, domains(&["acme.com"]))
            .await
            .unwrap();
    assert_eq!(acme.domains, ["acme.com"]);
    let globex =
        w.hd.update_organization(&admin.p, globex.id, domains(&["eu.acme.com", "globex.com"]))
            .await
            .unwrap();
    assert_eq!(globex.domains, ["eu.acme.com", "globex.com"]);
    assert_eq!(
        w.store
            .organization_by_domain("eu.acme.com")
            .await
            .unwrap()
            .map(|o| o.id),
        Some(globex.id)
    );
    // The store refuses a listed domain by itself.
    let clash = Organization {
        id: crate::clock::new_id(),
        name: "Clash".into(),
        domains: vec!["new.example.org".into(), "globex.com".into()],
        ..acme.clone()
    };
    let err = w.store.insert_organization(&clash, &Effects::none()).await;
    assert!(
        matches!(err, Err(StoreError::Conflict(Conflict::Domain))),
        "{err:?}"
    );
    assert!(
        w.store
            .organization_by_domain("new.example.org")
            .await
            .unwrap()
            .is_none(),
        "a refused write leaves nothing behind"
    );
}

/// A new customer (signup, or created without an organization) joins, as a
/// non-manager, the organization listing exactly their email's domain: subdomains,
/// parents and look-alikes do not match, staff never join, an explicit organization
/// wins, and nobody already registered is moved (never retroactive).
pub async fn new_customers_join_by_their_exact_domain(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let early = user_with_email(&w, "early@acme.com", Role::Customer).await;
    assert_eq!(early.organization_id, None);
    let acme = org(&w, &admin, "Acme", &["acme.com"]).await;
    let globex = org(&w, &admin, "Globex", &["globex.com"]).await;
    let signed =
        w.hd.signup(Signup {
            email: "Ann@ACME.com".into(),
            password: PASSWORD.into(),
            name: "Ann".into(),
        })
        .await
        .unwrap();
    assert_eq!(signed.user.organization_id, Some(acme.id));
    assert!(!signed.user.is_org_manager);
    let stored = w.store.get_user(signed.user.id).await.unwrap().unwrap();
    assert_eq!(stored.organization_id, Some(acme.id));
    assert_eq!(
        user_with_email(&w, "bob@acme.com", Role::Customer)
            .await
            .organization_id,
        Some(acme.id)
    );
    for elsewhere in [
        "carol@sub.acme.com",
        "dave@notacme.com",
        "erin@acme.com.evil.example",
    ] {
        let u = user_with_email(&w, elsewhere, Role::Customer).await;
        assert_eq!(u.organization_id, None, "{elsewhere}");
    }
    for role in [Role::Agent, Role::Admin] {
        let staff = user_with_email(&w, &format!("{}@acme.com", role.as_str()), role).await;
        assert_eq!(staff.organization_id, None);
    }
    let chosen =
        w.hd.create_user(
            &admin.p,
            NewUser {
                organization_id: Some(globex.id),
                is_org_manager: true,
                ..NewUser::new("gina@acme.com", "Gina", Role::Customer, PASSWORD)
            },
        )
        .await
        .unwrap();
    assert_eq!(chosen.organization_id, Some(globex.id));
    assert!(chosen.is_org_manager);
    // Listing a domain later moves nobody.
    w.hd.update_organization(
        &admin.p,
        globex.id,
        OrganizationPatch {
            domains: Some(vec!["globex.com".into(), "sub.acme.com".into()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let carol =
        w.hd.find_user_by_email(&admin.p, "carol@sub.acme.com")
            .await
            .unwrap();
    assert_eq!(carol.organization_id, None);
    assert_eq!(
        w.store
            .get_user(early.id)
            .await
            .unwrap()
            .unwrap()
            .organization_id,
        None
    );
    let members =
        w.hd.list_users(
            &admin.p,
            UserFilter {
                organization_id: Some(acme.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        members
            .items
            .iter()
            .map(|u| u.email.as_str())
            .collect::<Vec<_>>(),
        ["ann@acme.com", "bob@acme.com"]
    );
}

/// Free-mail domains never place anyone, even one an organization listed before the
/// operator named it free-mail; the operator's list replaces the default one.
pub async fn free_mail_domains_never_match(store: Arc<dyn Store>) {
    let lenient = World::with_config(
        store.clone(),
        Config {
            free_mail_domains: vec!["mail.example.org".into()],
            ..Config::for_tests()
        },
    );
    let admin = lenient.admin().await;
    // gmail.com is an ordinary domain under this list, mail.example.org is not.
    let g = org(&lenient, &admin, "Gmail fans", &["gmail.com"]).await;
    expect_err!(
        lenient
            .hd
            .create_organization(&admin.p, new_org("Mail", &["mail.example.org"]))
            .await,
        Error::Validation(_)
    );
    assert_eq!(
        user_with_email(&lenient, "a@gmail.com", Role::Customer)
            .await
            .organization_id,
        Some(g.id)
    );
    // With the default list, the same store places nobody through gmail.com.
    let strict = World::new(store);
    assert_eq!(
        user_with_email(&strict, "b@gmail.com", Role::Customer)
            .await
            .organization_id,
        None
    );
}

/// Only customers belong (asking for an organization or the manager flag on staff is
/// invalid), a manager needs an organization, an unknown organization is invalid, and a
/// role change to agent or admin resets both; the change shows at once.
pub async fn user_organization_fields_follow_the_rules(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let c = w.customer().await;
    let acme = org(&w, &admin, "Acme", &[]).await;
    let globex = org(&w, &admin, "Globex", &[]).await;
    let create = |role, organization_id, is_org_manager| NewUser {
        organization_id,
        is_org_manager,
        ..NewUser::new(
            &format!("{}-{}@example.net", role_name(role), crate::clock::new_id()),
            "New",
            role,
            PASSWORD,
        )
    };
    expect_err!(
        w.hd.create_user(&admin.p, create(Role::Agent, Some(acme.id), false))
            .await,
        Error::Validation(f) if f[0].field == "organization_id"
    );
    expect_err!(
        w.hd.create_user(&admin.p, create(Role::Admin, None, true)).await,
        Error::Validation(f) if f[0].field == "is_org_manager"
    );
    expect_err!(
        w.hd.create_user(&admin.p, create(Role::Customer, None, true))
            .await,
        Error::Validation(f) if f[0].field == "is_org_manager"
    );
    expect_err!(
        w.hd.create_user(
            &admin.p,
            create(Role::Customer, Some(crate::clock::new_id()), false)
        )
        .await,
        Error::Validation(f) if f[0].field == "organization_id"
    );
    // Joining, managing, moving, leaving.
    let u = set_affiliation(&w, &admin, c.id(), Some(Some(acme.id)), Some(true))
        .await
        .unwrap();
    assert_eq!((u.organization_id, u.is_org_manager), (Some(acme.id), true));
    assert_eq!(w.store.get_user(c.id()).await.unwrap().unwrap(), u);
    let u = set_affiliation(&w, &admin, c.id(), Some(Some(globex.id)), None)
        .await
        .unwrap();
    assert_eq!(
        (u.organization_id, u.is_org_manager),
        (Some(globex.id), false),
        "a manager moved to another organization is not its manager"
    );
    expect_err!(
        set_affiliation(&w, &admin, c.id(), Some(None), Some(true)).await,
        Error::Validation(f) if f[0].field == "is_org_manager"
    );
    expect_err!(
        set_affiliation(&w, &admin, c.id(), Some(Some(crate::clock::new_id())), None).await,
        Error::Validation(f) if f[0].field == "organization_id"
    );
    expect_err!(
        set_affiliation(&w, &admin, agent.id(), Some(Some(acme.id)), None).await,
        Error::Validation(f) if f[0].field == "organization_id"
    );
    expect_err!(
        set_affiliation(&w, &admin, agent.id(), None, Some(true)).await,
        Error::Validation(f) if f[0].field == "is_org_manager"
    );
    // Saying "none" of staff is no error.
    set_affiliation(&w, &admin, agent.id(), Some(None), Some(false))
        .await
        .unwrap();
    expect_err!(
        set_affiliation(&w, &c, c.id(), Some(None), None).await,
        Error::Forbidden(_)
    );
    // A role change to staff resets both; back to customer, they belong nowhere.
    set_affiliation(&w, &admin, c.id(), None, Some(true))
        .await
        .unwrap();
    let promoted =
        w.hd.update_user(
            &admin.p,
            c.id(),
            UserPatch {
                role: Some(Role::Agent),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (promoted.organization_id, promoted.is_org_manager),
        (None, false)
    );
    let stored = w.store.get_user(c.id()).await.unwrap().unwrap();
    assert_eq!(
        (stored.organization_id, stored.is_org_manager),
        (None, false)
    );
    expect_err!(
        w.hd.update_user(
            &admin.p,
            c.id(),
            UserPatch {
                role: Some(Role::Admin),
                organization_id: Some(Some(acme.id)),
                ..Default::default()
            }
        )
        .await,
        Error::Validation(_)
    );
    let demoted =
        w.hd.update_user(
            &admin.p,
            c.id(),
            UserPatch {
                role: Some(Role::Customer),
                organization_id: Some(Some(acme.id)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(demoted.organization_id, Some(acme.id));
    // The store refuses a user or ticket naming an organization that does not exist.
    let ghost = crate::clock::new_id();
    let mut stray = demoted.clone();
    stray.organization_id = Some(ghost);
    expect_err!(
        w.store.update_user(&stray, &Effects::none()).await,
        StoreError::NotFound
    );
    let t = w.ticket(&c, "Mine").await;
    let mut stray = w.store.get_ticket(t.id).await.unwrap().unwrap();
    stray.organization_id = Some(ghost);
    stray.version += 1;
    expect_err!(
        w.store.update_ticket(&stray, None, &Effects::none()).await,
        StoreError::NotFound
    );
}

fn role_name(role: Role) -> &'static str {
    role.as_str()
}

/// Deleting an organization, in the same write: its users lose it and the manager flag,
/// its tickets lose it (a new version, the same `updated_at`), its domains are free;
/// nobody else changes.
pub async fn deleting_frees_its_users_and_tickets(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let acme = org(&w, &admin, "Acme", &["acme.com"]).await;
    let globex = org(&w, &admin, "Globex", &[]).await;
    let manager = user_with_email(&w, "boss@acme.com", Role::Customer).await;
    set_affiliation(&w, &admin, manager.id, None, Some(true))
        .await
        .unwrap();
    let member = user_with_email(&w, "ann@acme.com", Role::Customer).await;
    let outsider = w.customer().await;
    let other = set_affiliation(&w, &admin, outsider.id(), Some(Some(globex.id)), Some(true))
        .await
        .unwrap();
    let member_p = w.hd.principal(member.id).await.unwrap();
    // Tickets naming the organizations (as the ticket side records them at creation).
    let mut ours = Vec::new();
    for (who, o) in [
        (&member_p, acme.id),
        (&member_p, acme.id),
        (&outsider.p, globex.id),
    ] {
        let t =
            w.hd.create_ticket(who, crate::ticket::NewTicket::new("Help", "Please"))
                .await
                .unwrap();
        let mut t = w.store.get_ticket(t.id).await.unwrap().unwrap();
        t.organization_id = Some(o);
        t.version += 1;
        w.store
            .update_ticket(&t, None, &Effects::none())
            .await
            .unwrap();
        ours.push(t);
    }
    expect_err!(
        w.hd.delete_organization(&agent.p, acme.id).await,
        Error::Forbidden(_)
    );
    w.tick();
    w.hd.delete_organization(&admin.p, acme.id).await.unwrap();
    expect_err!(
        w.hd.get_organization(&admin.p, acme.id).await,
        Error::NotFound
    );
    expect_err!(
        w.hd.delete_organization(&admin.p, acme.id).await,
        Error::NotFound
    );
    for id in [manager.id, member.id] {
        let u = w.store.get_user(id).await.unwrap().unwrap();
        assert_eq!((u.organization_id, u.is_org_manager), (None, false));
    }
    assert_eq!(
        w.store.get_user(outsider.id()).await.unwrap().unwrap(),
        other
    );
    for (i, before) in ours.iter().enumerate() {
        let t = w.store.get_ticket(before.id).await.unwrap().unwrap();
        if i < 2 {
            assert_eq!(t.organization_id, None);
            assert_eq!(t.version, before.version + 1);
            assert_eq!(t.updated_at, before.updated_at);
            // A write from before the delete loses its version check.
            expect_err!(
                w.store
                    .update_ticket(
                        &crate::ticket::Ticket {
                            version: before.version + 1,
                            ..before.clone()
                        },
                        None,
                        &Effects::none()
                    )
                    .await,
                StoreError::Conflict(Conflict::Version)
            );
        } else {
            assert_eq!(&t, before);
        }
    }
    let left =
        w.hd.list_users(
            &admin.p,
            UserFilter {
                organization_id: Some(acme.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(left.items.is_empty());
    // The domain is free, and places nobody any more until listed again.
    assert_eq!(
        user_with_email(&w, "late@acme.com", Role::Customer)
            .await
            .organization_id,
        None
    );
    let again = org(&w, &admin, "Acme", &["acme.com"]).await;
    assert_eq!(
        user_with_email(&w, "later@acme.com", Role::Customer)
            .await
            .organization_id,
        Some(again.id)
    );
    // The survivors keep working: members can still be changed.
    set_affiliation(&w, &admin, member.id, Some(Some(again.id)), Some(true))
        .await
        .unwrap();
}

/// Customers joining by their domain while the organization is deleted: none of them
/// is left naming it, whichever came first.
pub async fn deleting_while_customers_join_leaves_no_stray_member(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let acme = org(&w, &admin, "Acme", &["acme.com"]).await;
    let mut joins = Vec::new();
    for i in 0..12 {
        let hd = w.hd.clone();
        joins.push(tokio::spawn(async move {
            hd.create_user(
                &Principal::system(),
                NewUser::new(&format!("u{i}@acme.com"), "U", Role::Customer, PASSWORD),
            )
            .await
        }));
    }
    tokio::task::yield_now().await;
    w.hd.delete_organization(&admin.p, acme.id).await.unwrap();
    for j in joins {
        j.await.unwrap().unwrap();
    }
    let all =
        w.hd.list_users(
            &admin.p,
            UserFilter {
                limit: Some(200),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.items.len(), 13);
    for u in &all.items {
        assert_eq!(
            u.organization_id, None,
            "{} names a deleted organization",
            u.email
        );
    }
}

/// The list is by name (case-insensitively), filtered by `q` (a name substring, any
/// case) and `domain` (exact, any case), and pages without repeats or gaps, also when
/// the cursor's organization is deleted during the walk. Staff only.
pub async fn list_filters_and_pages_by_name(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let customer = w.customer().await;
    for (name, domains) in [
        ("zeta", &["zeta.io"][..]),
        ("Alpha", &[]),
        ("beta Labs", &["beta.dev", "labs.beta.dev"]),
        ("Gamma labs", &[]),
        ("delta", &[]),
        ("Épsilon", &[]),
    ] {
        org(&w, &admin, name, domains).await;
    }
    let list = |filter: OrganizationFilter| {
        let hd = w.hd.clone();
        let p = agent.p;
        async move { hd.list_organizations(&p, filter).await }
    };
    let all = list(OrganizationFilter::default()).await.unwrap();
    assert_eq!(
        names(&all.items),
        [
            "Alpha",
            "beta Labs",
            "delta",
            "Gamma labs",
            "zeta",
            "Épsilon"
        ]
    );
    assert!(all.next_cursor.is_none());
    let labs = list(OrganizationFilter {
        q: Some("LABS".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(names(&labs.items), ["beta Labs", "Gamma labs"]);
    let by_domain = |d: &str| OrganizationFilter {
        domain: Some(d.into()),
        ..Default::default()
    };
    assert_eq!(
        names(&list(by_domain("LABS.beta.dev")).await.unwrap().items),
        ["beta Labs"]
    );
    assert!(list(by_domain("beta")).await.unwrap().items.is_empty());
    assert!(list(by_domain("dev")).await.unwrap().items.is_empty());
    assert!(
        list(OrganizationFilter {
            q: Some("zeta".into()),
            domain: Some("beta.dev".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .items
        .is_empty()
    );
    // Pages of two; the organization a cursor points at is deleted mid-walk.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = list(OrganizationFilter {
            cursor: cursor.clone(),
            limit: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|o| o.name.clone()));
        if seen.len() == 2 {
            let last = page.items.last().unwrap();
            w.hd.delete_organization(&admin.p, last.id).await.unwrap();
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "Alpha",
            "beta Labs",
            "delta",
            "Gamma labs",
            "zeta",
            "Épsilon"
        ]
    );
    expect_err!(
        list(OrganizationFilter {
            limit: Some(0),
            ..Default::default()
        })
        .await,
        Error::Validation(_)
    );
    expect_err!(
        w.hd.list_organizations(&customer.p, OrganizationFilter::default())
            .await,
        Error::Forbidden(_)
    );
}

/// A customer reads only their own organization (any other, or one they left: not
/// found, at once); staff read any.
pub async fn customers_see_only_their_own(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let acme = org(&w, &admin, "Acme", &["acme.com"]).await;
    let globex = org(&w, &admin, "Globex", &[]).await;
    let ann = user_with_email(&w, "ann@acme.com", Role::Customer).await;
    let ann_p = w.hd.principal(ann.id).await.unwrap();
    let loner = w.customer().await;
    assert_eq!(w.hd.get_organization(&ann_p, acme.id).await.unwrap(), acme);
    expect_err!(
        w.hd.get_organization(&ann_p, globex.id).await,
        Error::NotFound
    );
    expect_err!(
        w.hd.get_organization(&ann_p, crate::clock::new_id()).await,
        Error::NotFound
    );
    expect_err!(
        w.hd.get_organization(&loner.p, acme.id).await,
        Error::NotFound
    );
    assert_eq!(
        w.hd.get_organization(&agent.p, globex.id).await.unwrap(),
        globex
    );
    set_affiliation(&w, &admin, ann.id, Some(None), None)
        .await
        .unwrap();
    expect_err!(
        w.hd.get_organization(&ann_p, acme.id).await,
        Error::NotFound
    );
    set_affiliation(&w, &admin, ann.id, Some(Some(globex.id)), None)
        .await
        .unwrap();
    assert_eq!(
        w.hd.get_organization(&ann_p, globex.id).await.unwrap(),
        globex
    );
}

/// `organization.created|updated` carry the organization, `organization.deleted` its
/// id; staff see them, customers do not (members included); a change that changes
/// nothing writes nothing.
pub async fn organization_events(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let mark = w.last_event().await;
    let acme = org(&w, &admin, "Acme", &["acme.com"]).await;
    let member = user_with_email(&w, "ann@acme.com", Role::Customer).await;
    let member_p = w.hd.principal(member.id).await.unwrap();
    w.hd.update_organization(
        &admin.p,
        acme.id,
        OrganizationPatch {
            sharing: Some(Sharing::Managers),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let same = OrganizationPatch {
        name: Some(" Acme ".into()),
        domains: Some(vec!["ACME.com".into()]),
        sharing: Some(Sharing::Managers),
    };
    let unchanged =
        w.hd.update_organization(&admin.p, acme.id, same)
            .await
            .unwrap();
    assert_eq!(unchanged.sharing, Sharing::Managers);
    w.hd.delete_organization(&admin.p, acme.id).await.unwrap();
    let events = w.store.events_after(mark, 10).await.unwrap();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::OrganizationCreated,
            EventKind::OrganizationUpdated,
            EventKind::OrganizationDeleted
        ]
    );
    assert_eq!(
        events[0].data["organization"],
        serde_json::json!({
            "id": acme.id,
            "name": "Acme",
            "domains": ["acme.com"],
            "sharing": "none",
            "created_at": crate::event::ts(acme.created_at),
        })
    );
    assert_eq!(events[1].data["organization"]["sharing"], "managers");
    assert_eq!(
        events[2].data,
        serde_json::json!({"organization_id": acme.id})
    );
    for e in &events {
        assert!(w.hd.may_see(&agent.p, e).await.unwrap());
        assert!(w.hd.may_see(&admin.p, e).await.unwrap());
        assert!(!w.hd.may_see(&member_p, e).await.unwrap());
    }
}
