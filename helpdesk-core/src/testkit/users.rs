//! Users and auth: unique emails, login, sessions, refresh rotation, expiry, listing.

use std::sync::Arc;

use chrono::Duration;

use super::{PASSWORD, World, expect_err};
use crate::auth::{Session, Signup, sha256_hex};
use crate::store::Store;
use crate::user::UserFilter;
use crate::user::{NewUser, ProfilePatch, UserPatch};
use crate::{Config, Error, Helpdesk, Principal, Role};

fn signup(email: &str) -> Signup {
    Signup {
        email: email.to_string(),
        password: PASSWORD.to_string(),
        name: "Sam".to_string(),
    }
}

/// A created user reads back the same, by id and by email in any case.
pub async fn create_user_round_trip(store: Arc<dyn Store>) {
    let w = World::new(store);
    let u =
        w.hd.create_user(
            &Principal::system(),
            NewUser::new("  Alice@Example.COM ", "Alice", Role::Agent, PASSWORD),
        )
        .await
        .unwrap();
    assert_eq!(u.email, "alice@example.com");
    assert!(u.is_active);
    assert_eq!(u.role, Role::Agent);
    let p = Principal::user(u.id, u.role);
    assert_eq!(w.hd.get_user(&p, u.id).await.unwrap(), u);
    assert_eq!(w.hd.me(&p).await.unwrap(), u);
    assert_eq!(
        w.hd.find_user_by_email(&p, "ALICE@example.com")
            .await
            .unwrap()
            .id,
        u.id
    );
    assert!(!w.hd.has_no_users().await.unwrap());
    expect_err!(
        w.hd.get_user(&p, uuid::Uuid::now_v7()).await,
        Error::NotFound
    );
}

/// Emails are unique whatever their case, for admins and for signup.
pub async fn email_unique_case_insensitive(store: Arc<dyn Store>) {
    let w = World::new(store);
    w.hd.signup(signup("Bob@Example.com")).await.unwrap();
    expect_err!(
        w.hd.signup(signup("bob@example.COM")).await,
        Error::EmailTaken
    );
    expect_err!(
        w.hd.create_user(
            &Principal::system(),
            NewUser::new("BOB@EXAMPLE.COM", "Bob 2", Role::Agent, PASSWORD)
        )
        .await,
        Error::EmailTaken
    );
    assert_eq!(w.store.count_users().await.unwrap(), 1);
}

/// Sixteen simultaneous signups with one address (in various cases): exactly one wins.
pub async fn concurrent_duplicate_signups_one_wins(store: Arc<dyn Store>) {
    let w = World::new(store);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let hd = w.hd.clone();
        let email = if i % 2 == 0 {
            "race@example.com".to_string()
        } else {
            "RACE@example.com".to_string()
        };
        tasks.push(tokio::spawn(async move { hd.signup(signup(&email)).await }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::EmailTaken) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(w.store.count_users().await.unwrap(), 1);
}

/// Signup makes a customer and hands out working tokens.
pub async fn signup_creates_customer_and_logs_in(store: Arc<dyn Store>) {
    let w = World::new(store);
    let t = w.hd.signup(signup("new@example.com")).await.unwrap();
    assert_eq!(t.user.role, Role::Customer);
    assert_eq!(t.token_type, "Bearer");
    assert_eq!(t.expires_in, 15 * 60);
    let p = w.hd.authenticate(&t.access_token).await.unwrap();
    assert_eq!(p.user_id, t.user.id);
    assert_eq!(p.role, Role::Customer);
    assert!(p.session_id.is_some());
}

/// With signup closed, nobody signs up and nothing is stored.
pub async fn signup_closed_is_forbidden(store: Arc<dyn Store>) {
    let w = World::with_config(
        store,
        Config {
            signup_open: false,
            ..Config::for_tests()
        },
    );
    expect_err!(
        w.hd.signup(signup("x@example.com")).await,
        Error::Forbidden(_)
    );
    assert!(w.hd.has_no_users().await.unwrap());
}

/// Invalid emails, names and passwords are refused with field errors; nothing is kept.
pub async fn invalid_input_stores_nothing(store: Arc<dyn Store>) {
    let w = World::new(store);
    for (email, name, password, field) in [
        ("not-an-email", "A", PASSWORD, "email"),
        ("a@example.com", "   ", PASSWORD, "name"),
        ("a@example.com", "A", "short", "password"),
        ("a@example.com", "A", &"x".repeat(1025), "password"),
    ] {
        match w
            .hd
            .create_user(
                &Principal::system(),
                NewUser::new(email, name, Role::Customer, password),
            )
            .await
        {
            Err(Error::Validation(f)) => assert!(f.iter().any(|f| f.field == field), "{f:?}"),
            other => panic!("expected a validation error on {field}, got {other:?}"),
        }
    }
    let customer = w.customer().await;
    expect_err!(
        w.hd.create_user(
            &customer.p,
            NewUser::new("b@example.com", "B", Role::Admin, PASSWORD)
        )
        .await,
        Error::Forbidden(_)
    );
    assert_eq!(w.store.count_users().await.unwrap(), 1);
}

/// The right password logs in (any case of the email) and the token authenticates.
pub async fn login_with_right_password(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let t =
        w.hd.login(&a.email().to_uppercase(), PASSWORD)
            .await
            .unwrap();
    assert_eq!(t.user.id, a.id());
    let p = w.hd.authenticate(&t.access_token).await.unwrap();
    assert_eq!((p.user_id, p.role), (a.id(), Role::Agent));
    expect_err!(w.hd.authenticate("garbage").await, Error::Unauthorized);
    let mut tampered = t.access_token.clone();
    tampered.push('x');
    expect_err!(w.hd.authenticate(&tampered).await, Error::Unauthorized);
}

/// A wrong password and an unknown email give the very same error.
pub async fn wrong_password_and_unknown_email_fail_alike(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.customer().await;
    let wrong = w.hd.login(a.email(), "wrong password").await.unwrap_err();
    let unknown =
        w.hd.login("nobody@example.com", PASSWORD)
            .await
            .unwrap_err();
    assert!(matches!(wrong, Error::Unauthorized), "{wrong:?}");
    assert!(matches!(unknown, Error::Unauthorized), "{unknown:?}");
    assert_eq!(wrong.to_string(), unknown.to_string());
}

/// Deactivation ends login, access tokens and refresh tokens at once; reactivation
/// allows logging in again.
pub async fn deactivated_user_cannot_log_in_and_tokens_stop(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let c = w.customer().await;
    let t = w.hd.login(c.email(), PASSWORD).await.unwrap();
    w.hd.authenticate(&t.access_token).await.unwrap();
    let patch = UserPatch {
        is_active: Some(false),
        ..Default::default()
    };
    assert!(
        !w.hd
            .update_user(&admin.p, c.id(), patch)
            .await
            .unwrap()
            .is_active
    );
    expect_err!(
        w.hd.authenticate(&t.access_token).await,
        Error::Unauthorized
    );
    expect_err!(w.hd.refresh(&t.refresh_token).await, Error::Unauthorized);
    expect_err!(w.hd.login(c.email(), PASSWORD).await, Error::Unauthorized);
    let patch = UserPatch {
        is_active: Some(true),
        ..Default::default()
    };
    w.hd.update_user(&admin.p, c.id(), patch).await.unwrap();
    let t2 = w.hd.login(c.email(), PASSWORD).await.unwrap();
    w.hd.authenticate(&t2.access_token).await.unwrap();
    // The old session stays ended.
    expect_err!(
        w.hd.authenticate(&t.access_token).await,
        Error::Unauthorized
    );
}

/// Changing one's password ends every other session, keeps the current one, and the
/// old password stops working.
pub async fn password_change_ends_other_sessions(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let a = w.hd.login(c.email(), PASSWORD).await.unwrap();
    let b = w.hd.login(c.email(), PASSWORD).await.unwrap();
    let pa = w.hd.authenticate(&a.access_token).await.unwrap();
    w.hd.update_me(
        &pa,
        ProfilePatch {
            password: Some("a brand new password".into()),
            current_password: Some(PASSWORD.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    w.hd.authenticate(&a.access_token).await.unwrap();
    expect_err!(
        w.hd.authenticate(&b.access_token).await,
        Error::Unauthorized
    );
    expect_err!(w.hd.refresh(&b.refresh_token).await, Error::Unauthorized);
    w.hd.refresh(&a.refresh_token).await.unwrap();
    expect_err!(w.hd.login(c.email(), PASSWORD).await, Error::Unauthorized);
    w.hd.login(c.email(), "a brand new password").await.unwrap();
}

/// A password change without the right current password changes nothing.
pub async fn password_change_needs_current_password(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    for current in [None, Some("not the password".to_string())] {
        expect_err!(
            w.hd.update_me(
                &c.p,
                ProfilePatch {
                    password: Some("another password".into()),
                    current_password: current,
                    ..Default::default()
                },
            )
            .await,
            Error::Validation(_)
        );
    }
    w.hd.login(c.email(), PASSWORD).await.unwrap();
    let renamed =
        w.hd.update_me(
            &c.p,
            ProfilePatch {
                name: Some("  Renamed  ".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Renamed");
    assert_eq!(w.hd.me(&c.p).await.unwrap().name, "Renamed");
}

/// Mailed notifications are off by default and the user's own switch; the choice is
/// stored (a fresh read shows it) and changes nothing else.
pub async fn email_notifications_are_the_users_own_choice(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let before = w.hd.me(&c.p).await.unwrap();
    assert!(!before.email_notifications, "off by default");
    for on in [true, false, true] {
        let after =
            w.hd.update_me(
                &c.p,
                ProfilePatch {
                    email_notifications: Some(on),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(after.email_notifications, on);
        assert_eq!(w.store.get_user(c.id()).await.unwrap().unwrap(), after);
    }
    let kept = w.hd.me(&c.p).await.unwrap();
    assert_eq!(
        (kept.name, kept.read_receipts),
        (before.name, before.read_receipts)
    );
}

/// Refresh hands out a new pair; the new refresh token works in turn.
pub async fn refresh_rotates_tokens(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let t1 = w.hd.login(c.email(), PASSWORD).await.unwrap();
    let t2 = w.hd.refresh(&t1.refresh_token).await.unwrap();
    assert_ne!(t1.refresh_token, t2.refresh_token);
    assert_eq!(t2.user.id, c.id());
    w.hd.authenticate(&t2.access_token).await.unwrap();
    let t3 = w.hd.refresh(&t2.refresh_token).await.unwrap();
    w.hd.authenticate(&t3.access_token).await.unwrap();
    expect_err!(w.hd.refresh("nonsense").await, Error::Unauthorized);
    expect_err!(
        w.hd.refresh(&format!("{}.x", uuid::Uuid::now_v7().simple()))
            .await,
        Error::Unauthorized
    );
}

/// Presenting a rotated refresh token again revokes the whole family: the newer
/// refresh token and the session's access tokens stop working.
pub async fn reused_refresh_token_revokes_family(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let other = w.hd.login(c.email(), PASSWORD).await.unwrap();
    let t1 = w.hd.login(c.email(), PASSWORD).await.unwrap();
    let t2 = w.hd.refresh(&t1.refresh_token).await.unwrap();
    expect_err!(w.hd.refresh(&t1.refresh_token).await, Error::Unauthorized);
    expect_err!(w.hd.refresh(&t2.refresh_token).await, Error::Unauthorized);
    expect_err!(
        w.hd.authenticate(&t2.access_token).await,
        Error::Unauthorized
    );
    // Another session of the same user is untouched.
    w.hd.authenticate(&other.access_token).await.unwrap();
    w.hd.refresh(&other.refresh_token).await.unwrap();
}

/// A refresh token this installation never issued is a plain 401: someone who saw the
/// session id (it is in every access token) cannot end the session with made-up text.
pub async fn forged_refresh_token_leaves_session_alone(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let t = w.hd.login(c.email(), PASSWORD).await.unwrap();
    let (sid, secret) = t.refresh_token.split_once('.').unwrap();
    let (nonce, _) = secret.split_once('.').unwrap();
    for forged in [
        format!("{sid}.garbage"),
        format!("{sid}.{nonce}.AAAA"),
        format!("{sid}.{nonce}."),
        format!("{sid}."),
    ] {
        expect_err!(w.hd.refresh(&forged).await, Error::Unauthorized);
    }
    w.hd.authenticate(&t.access_token).await.unwrap();
    w.hd.refresh(&t.refresh_token).await.unwrap();
}

/// Logout ends the session of the token, its refresh token too, and nothing else.
pub async fn logout_ends_only_that_session(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let a = w.hd.login(c.email(), PASSWORD).await.unwrap();
    let b = w.hd.login(c.email(), PASSWORD).await.unwrap();
    let pa = w.hd.authenticate(&a.access_token).await.unwrap();
    w.hd.logout(&pa).await.unwrap();
    expect_err!(
        w.hd.authenticate(&a.access_token).await,
        Error::Unauthorized
    );
    expect_err!(w.hd.refresh(&a.refresh_token).await, Error::Unauthorized);
    w.hd.authenticate(&b.access_token).await.unwrap();
    // Logging out twice is harmless.
    w.hd.logout(&pa).await.unwrap();
}

/// The store's one-read answer for authentication: the user of a live session; nothing
/// for an unknown or a revoked session.
pub async fn live_session_user_only_for_live_sessions(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let c = w.customer().await;
    let t = w.hd.login(c.email(), PASSWORD).await.unwrap();
    let p = w.hd.authenticate(&t.access_token).await.unwrap();
    let sid = p.session_id.unwrap();
    let user = store.live_session_user(sid).await.unwrap().unwrap();
    assert_eq!(user.id, p.user_id);
    assert!(
        store
            .live_session_user(uuid::Uuid::now_v7())
            .await
            .unwrap()
            .is_none()
    );
    w.hd.logout(&p).await.unwrap();
    assert!(store.live_session_user(sid).await.unwrap().is_none());
}

/// Access tokens expire by the injected clock with `TokenExpired`.
pub async fn access_token_expires_by_clock(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let t = w.hd.login(c.email(), PASSWORD).await.unwrap();
    w.advance(Duration::minutes(14));
    w.hd.authenticate(&t.access_token).await.unwrap();
    w.advance(Duration::minutes(1) + Duration::seconds(1));
    expect_err!(
        w.hd.authenticate(&t.access_token).await,
        Error::TokenExpired
    );
    // The refresh token still gives a fresh access token.
    let t2 = w.hd.refresh(&t.refresh_token).await.unwrap();
    w.hd.authenticate(&t2.access_token).await.unwrap();
}

/// Refresh tokens expire by the clock too.
pub async fn refresh_token_expires_by_clock(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let t = w.hd.login(c.email(), PASSWORD).await.unwrap();
    w.advance(Duration::days(30) + Duration::seconds(1));
    expect_err!(w.hd.refresh(&t.refresh_token).await, Error::Unauthorized);
}

/// A role change shows in the principal of tokens issued before it.
pub async fn role_change_applies_to_existing_tokens(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let c = w.customer().await;
    let t = w.hd.login(c.email(), PASSWORD).await.unwrap();
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
        w.hd.authenticate(&t.access_token).await.unwrap().role,
        Role::Agent
    );
    expect_err!(
        w.hd.update_user(&c.p, admin.id(), UserPatch::default())
            .await,
        Error::Forbidden(_)
    );
}

/// Users list oldest first, filter by role and by text, and page without repeats.
pub async fn list_users_filters_and_pages(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let mut customers = Vec::new();
    for _ in 0..5 {
        w.tick();
        customers.push(w.customer().await.id());
    }
    w.tick();
    let agent = w.agent().await;
    let page =
        w.hd.list_users(
            &admin.p,
            UserFilter {
                role: Some(Role::Customer),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        customers
    );
    let page =
        w.hd.list_users(
            &agent.p,
            UserFilter {
                q: Some("AGENT".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![agent.id()]
    );
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page =
            w.hd.list_users(
                &admin.p,
                UserFilter {
                    cursor,
                    limit: Some(2),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|u| u.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut expected = vec![admin.id()];
    expected.extend(&customers);
    expected.push(agent.id());
    assert_eq!(seen, expected);
    expect_err!(
        w.hd.list_users(
            &admin.p,
            UserFilter {
                limit: Some(0),
                ..Default::default()
            }
        )
        .await,
        Error::Validation(_)
    );
    expect_err!(
        w.hd.list_users(
            &admin.p,
            UserFilter {
                limit: Some(201),
                ..Default::default()
            }
        )
        .await,
        Error::Validation(_)
    );
}

/// Customers may not list users.
pub async fn list_users_is_staff_only(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    expect_err!(
        w.hd.list_users(&c.p, UserFilter::default()).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.find_user_by_email(&c.p, c.email()).await,
        Error::Forbidden(_)
    );
}

/// Without a configured secret, one is generated once and kept in the store, so two
/// helpdesks over one store accept each other's tokens.
pub async fn generated_jwt_secret_is_kept_in_store(store: Arc<dyn Store>) {
    let config = Config {
        jwt_secret: None,
        ..Config::for_tests()
    };
    let a = Helpdesk::new(store.clone(), config.clone());
    let b = Helpdesk::new(store.clone(), config);
    let t = a
        .signup(Signup {
            email: "s@example.com".into(),
            password: PASSWORD.into(),
            name: "S".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        b.authenticate(&t.access_token).await.unwrap().user_id,
        t.user.id
    );
    let kept = store.get_setting("jwt_secret").await.unwrap().unwrap();
    assert!(!kept.is_empty());
    assert_eq!(
        store
            .put_setting_if_absent("jwt_secret", "other")
            .await
            .unwrap(),
        kept
    );
    assert_eq!(store.get_setting("missing").await.unwrap(), None);
    store.ping().await.unwrap();
}

/// Store level: `rotate_refresh` swaps only from the expected hash of a live session.
pub async fn store_rotate_refresh_checks_hash_and_revocation(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let c = w.customer().await;
    let now = w.hd.now();
    let s = Session {
        id: uuid::Uuid::now_v7(),
        user_id: c.id(),
        refresh_hash: sha256_hex(b"one"),
        refresh_expires_at: now + Duration::days(1),
        created_at: now,
        revoked_at: None,
    };
    store.insert_session(&s).await.unwrap();
    assert_eq!(store.get_session(s.id).await.unwrap(), Some(s.clone()));
    let two = sha256_hex(b"two");
    assert!(
        !store
            .rotate_refresh(s.id, &sha256_hex(b"wrong"), &two, now)
            .await
            .unwrap()
    );
    assert!(
        store
            .rotate_refresh(s.id, &s.refresh_hash, &two, now + Duration::days(2))
            .await
            .unwrap()
    );
    let got = store.get_session(s.id).await.unwrap().unwrap();
    assert_eq!(got.refresh_hash, two);
    assert_eq!(got.refresh_expires_at, now + Duration::days(2));
    store.revoke_session(s.id, now).await.unwrap();
    assert!(
        !store
            .rotate_refresh(s.id, &two, &sha256_hex(b"three"), now)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_session(s.id).await.unwrap().unwrap().revoked_at,
        Some(now)
    );
    assert_eq!(store.get_session(uuid::Uuid::now_v7()).await.unwrap(), None);
}

/// Store level: `update_user` refuses another user's email and unknown users.
pub async fn store_update_user_email_conflict(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let a = w.customer().await;
    let b = w.customer().await;
    let mut changed = b.user.clone();
    changed.email = a.user.email.clone();
    let e = store
        .update_user(&changed, &crate::event::Effects::none())
        .await
        .unwrap_err();
    assert!(e.is_conflict(crate::Conflict::Email), "{e:?}");
    let mut ghost = b.user.clone();
    ghost.id = uuid::Uuid::now_v7();
    ghost.email = "ghost@example.com".into();
    assert!(matches!(
        store
            .update_user(&ghost, &crate::event::Effects::none())
            .await,
        Err(crate::StoreError::NotFound)
    ));
    assert_eq!(
        store
            .get_user_by_email(&b.user.email)
            .await
            .unwrap()
            .unwrap()
            .id,
        b.id()
    );
}

/// An application that authenticates its users itself asks for a verified principal and
/// for tokens: the principal has the role the store holds, the tokens work like a
/// login's, and a deactivated or unknown user gets neither.
pub async fn outside_authentication_gets_verified_principals_and_tokens(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let c = w.customer().await;
    let p = w.hd.principal(c.id()).await.unwrap();
    assert_eq!((p.user_id, p.role), (c.id(), Role::Customer));
    let tokens = w.hd.issue_tokens(c.id()).await.unwrap();
    assert_eq!(tokens.user.id, c.id());
    let via_token = w.hd.authenticate(&tokens.access_token).await.unwrap();
    assert_eq!(via_token.user_id, c.id());
    w.hd.refresh(&tokens.refresh_token).await.unwrap();
    w.hd.update_user(
        &admin.p,
        c.id(),
        crate::user::UserPatch {
            is_active: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    expect_err!(w.hd.principal(c.id()).await, Error::Unauthorized);
    expect_err!(w.hd.issue_tokens(c.id()).await, Error::Unauthorized);
    expect_err!(
        w.hd.issue_tokens(uuid::Uuid::now_v7()).await,
        Error::Unauthorized
    );
}

/// A user created without a password signs in only through the embedding application:
/// every password login fails as a wrong one does, a self-service password change finds
/// no current password to match, and an admin may give them a password later.
pub async fn user_without_password_signs_in_only_from_outside(store: Arc<dyn Store>) {
    let w = World::new(store);
    let u =
        w.hd.create_user(
            &Principal::system(),
            NewUser::without_password("sso@example.com", "Sso", Role::Customer),
        )
        .await
        .unwrap();
    assert_eq!(u.password_hash, None);
    assert_eq!(w.hd.get_user(&Principal::system(), u.id).await.unwrap(), u);
    for guess in [PASSWORD, "", "x"] {
        expect_err!(
            w.hd.login("sso@example.com", guess).await,
            Error::Unauthorized
        );
    }
    let tokens = w.hd.issue_tokens(u.id).await.unwrap();
    let p = w.hd.authenticate(&tokens.access_token).await.unwrap();
    assert_eq!(p, tokens.principal());
    expect_err!(
        w.hd.update_me(
            &p,
            ProfilePatch {
                password: Some("a password of my own".into()),
                current_password: Some(String::new()),
                ..Default::default()
            },
        )
        .await,
        Error::Validation(_)
    );
    expect_err!(
        w.hd.login("sso@example.com", "a password of my own").await,
        Error::Unauthorized
    );
    w.hd.set_password(&Principal::system(), u.id, "given by an admin")
        .await
        .unwrap();
    w.hd.login("sso@example.com", "given by an admin")
        .await
        .unwrap();
}

/// A principal is a snapshot; admin operations ask the store again: a demoted admin's
/// old principal is refused (`Forbidden`), a deactivated one's too (`Unauthorized`).
pub async fn stale_principal_cannot_administer(store: Arc<dyn Store>) {
    let w = World::new(store);
    let root = w.admin().await;
    let other = w.admin().await;
    let stale = other.p;
    let demote = |patch: UserPatch| w.hd.update_user(&root.p, other.id(), patch);
    demote(UserPatch {
        role: Some(Role::Agent),
        ..Default::default()
    })
    .await
    .unwrap();
    let new_user = || NewUser::new("late@example.com", "Late", Role::Admin, PASSWORD);
    expect_err!(
        w.hd.create_user(&stale, new_user()).await,
        Error::Forbidden(_)
    );
    demote(UserPatch {
        role: Some(Role::Admin),
        is_active: Some(false),
        ..Default::default()
    })
    .await
    .unwrap();
    expect_err!(
        w.hd.create_user(&stale, new_user()).await,
        Error::Unauthorized
    );
    expect_err!(w.hd.list_webhooks(&stale).await, Error::Unauthorized);
    w.hd.create_user(&root.p, new_user()).await.unwrap();
}

/// Store level: `get_users` returns the users of the ids that exist, each once.
pub async fn store_get_users_returns_those_that_exist(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let a = w.customer().await;
    let b = w.agent().await;
    let ghost = uuid::Uuid::now_v7();
    let found = store.get_users(&[b.id(), ghost, a.id()]).await.unwrap();
    let mut got: Vec<(uuid::Uuid, String)> = found.into_iter().map(|u| (u.id, u.email)).collect();
    got.sort();
    let mut want = vec![
        (a.id(), a.user.email.clone()),
        (b.id(), b.user.email.clone()),
    ];
    want.sort();
    assert_eq!(got, want);
    assert!(store.get_users(&[]).await.unwrap().is_empty());
    assert!(store.get_users(&[ghost]).await.unwrap().is_empty());
}
