//! API keys and service accounts: who manages whose keys, the rules of a new key, using
//! one (checksum, unknown, deleted, expired, deactivated or demoted owner), rechecks of
//! long-lived connections, last use, the per-key rate, scopes within the owner's role
//! (events and typing included), and the store's atomic limit of keys per user.

use std::sync::Arc;

use chrono::Duration;
use uuid::Uuid;

use super::{PASSWORD, Who, World, expect_err};
use crate::apikey::{ApiKey, CreatedApiKey, MAX_KEYS_PER_USER, NewApiKey, Token, token_hash};
use crate::group::NewGroup;
use crate::limit::{Limits, Rate};
use crate::scope::{Scope, Scopes};
use crate::store::Store;
use crate::user::{NewUser, ProfilePatch, User, UserPatch};
use crate::{Config, Error, Principal, Role};

fn scopes(list: &[Scope]) -> Scopes {
    list.iter().copied().collect()
}

fn new_key(name: &str, list: &[Scope]) -> NewApiKey {
    NewApiKey {
        name: name.into(),
        scopes: scopes(list),
        expires_at: None,
    }
}

/// A key of `who`, made by themself.
async fn key_of(w: &World, who: &Who, list: &[Scope]) -> CreatedApiKey {
    w.hd.create_api_key(&who.p, who.id(), new_key("test", list))
        .await
        .expect("create key")
}

/// A service account of `role`, made by the system.
async fn service(w: &World, email: &str, role: Role) -> User {
    w.hd.create_user(&Principal::system(), NewUser::service(email, "Bot", role))
        .await
        .expect("create service account")
}

fn deactivate(active: bool) -> UserPatch {
    UserPatch {
        is_active: Some(active),
        ..Default::default()
    }
}

/// A key is made with its token shown once, listed newest first, read, used, and
/// stops working the moment it is deleted.
pub async fn keys_are_made_listed_used_and_deleted(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let made =
        w.hd.create_api_key(
            &agent.p,
            agent.id(),
            new_key(
                "  CI deploys ",
                &[Scope::TicketsWrite, Scope::KbRead, Scope::TicketsWrite],
            ),
        )
        .await
        .unwrap();
    let key = &made.key;
    assert_eq!(key.name, "CI deploys");
    assert_eq!(key.user_id, agent.id());
    assert_eq!(key.scopes.names(), ["kb:read", "tickets:write"]);
    assert_eq!(key.expires_at, w.hd.now() + Duration::days(90));
    assert_eq!(key.prefix, &made.token.expose()[..15]);
    assert_eq!(key.token_hash, token_hash(made.token.expose()));
    assert_eq!(key.last_used_at, None);
    w.tick();
    let second = key_of(&w, &agent, &[Scope::TicketsRead]).await;
    let listed: Vec<Uuid> =
        w.hd.list_api_keys(&agent.p, agent.id())
            .await
            .unwrap()
            .iter()
            .map(|k| k.id)
            .collect();
    assert_eq!(listed, [second.key.id, key.id], "newest first");
    assert_eq!(
        w.hd.get_api_key(&agent.p, agent.id(), key.id)
            .await
            .unwrap(),
        *key
    );

    let p = w.hd.authenticate(made.token.expose()).await.unwrap();
    assert_eq!(p.user_id(), agent.id());
    assert_eq!(p.role(), Role::Agent);
    assert_eq!(p.session_id(), None);
    let grant = p.api_key().expect("acting through the key");
    assert_eq!((grant.id, grant.scopes), (key.id, key.scopes));
    assert!(p.allows(Scope::TicketsWrite) && !p.allows(Scope::MessagesRead));

    w.hd.delete_api_key(&agent.p, agent.id(), key.id)
        .await
        .unwrap();
    expect_err!(
        w.hd.authenticate(made.token.expose()).await,
        Error::Unauthorized
    );
    expect_err!(w.hd.recheck(&p).await, Error::Unauthorized);
    expect_err!(
        w.hd.get_api_key(&agent.p, agent.id(), key.id).await,
        Error::NotFound
    );
    expect_err!(
        w.hd.delete_api_key(&agent.p, agent.id(), key.id).await,
        Error::NotFound
    );
    w.hd.authenticate(second.token.expose())
        .await
        .expect("the other key still works");
}

/// Staff manage their own keys; admins read and delete anyone's and make keys for
/// service accounts only; customers, other staff and keys themselves may not.
pub async fn who_may_manage_whose_keys(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (admin, agent, other, customer) = (
        w.admin().await,
        w.agent().await,
        w.agent().await,
        w.customer().await,
    );
    let bot = service(&w, "bot@example.com", Role::Agent).await;
    let nobody = Uuid::now_v7();
    let read = &[Scope::TicketsRead];

    expect_err!(
        w.hd.create_api_key(&customer.p, customer.id(), new_key("x", read))
            .await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.list_api_keys(&customer.p, customer.id()).await,
        Error::Forbidden(_)
    );
    // Another user's keys: forbidden to an agent whether or not the user exists.
    for target in [other.id(), nobody] {
        expect_err!(
            w.hd.list_api_keys(&agent.p, target).await,
            Error::Forbidden(_)
        );
        expect_err!(
            w.hd.create_api_key(&agent.p, target, new_key("x", read))
                .await,
            Error::Forbidden(_)
        );
    }
    expect_err!(
        w.hd.create_api_key(&agent.p, bot.id, new_key("x", read))
            .await,
        Error::Forbidden(_)
    );
    // An admin: keys for a service account, not for another person; an unknown user
    // is not found.
    let agents_own = key_of(&w, &agent, read).await;
    expect_err!(
        w.hd.create_api_key(&admin.p, agent.id(), new_key("x", read))
            .await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.create_api_key(&admin.p, nobody, new_key("x", read))
            .await,
        Error::NotFound
    );
    expect_err!(w.hd.list_api_keys(&admin.p, nobody).await, Error::NotFound);
    let bots =
        w.hd.create_api_key(&admin.p, bot.id, new_key("sync", read))
            .await
            .unwrap();
    assert_eq!(bots.key.user_id, bot.id);
    assert_eq!(
        w.hd.list_api_keys(&admin.p, agent.id()).await.unwrap(),
        std::slice::from_ref(&agents_own.key)
    );
    // A key's id under another user is not found.
    expect_err!(
        w.hd.get_api_key(&admin.p, bot.id, agents_own.key.id).await,
        Error::NotFound
    );
    // Through a key, no key may be managed, not even with `admin`.
    let admins = key_of(&w, &admin, &[Scope::Admin]).await;
    let by_key = w.hd.authenticate(admins.token.expose()).await.unwrap();
    expect_err!(
        w.hd.list_api_keys(&by_key, admin.id()).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.create_api_key(&by_key, bot.id, new_key("x", read))
            .await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.delete_api_key(&by_key, admin.id(), admins.key.id)
            .await,
        Error::Forbidden(_)
    );
    w.hd.delete_api_key(&admin.p, agent.id(), agents_own.key.id)
        .await
        .expect("an admin deletes anyone's key");
    expect_err!(
        w.hd.authenticate(agents_own.token.expose()).await,
        Error::Unauthorized
    );
}

/// A new key's name, scopes and expiry are checked: `admin` only for an admin's
/// keys, an expiry after now and at most a year away.
pub async fn new_keys_are_validated(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (admin, agent) = (w.admin().await, w.agent().await);
    let now = w.hd.now();
    let bad = [
        new_key("", &[Scope::KbRead]),
        new_key(&"n".repeat(101), &[Scope::KbRead]),
        new_key("x", &[]),
        new_key("x", &[Scope::Admin]),
        NewApiKey {
            expires_at: Some(now),
            ..new_key("x", &[Scope::KbRead])
        },
        NewApiKey {
            expires_at: Some(now + Duration::days(365) + Duration::seconds(1)),
            ..new_key("x", &[Scope::KbRead])
        },
    ];
    for input in bad {
        expect_err!(
            w.hd.create_api_key(&agent.p, agent.id(), input).await,
            Error::Validation(_)
        );
    }
    assert!(
        w.hd.list_api_keys(&agent.p, agent.id())
            .await
            .unwrap()
            .is_empty()
    );
    let year =
        w.hd.create_api_key(
            &agent.p,
            agent.id(),
            NewApiKey {
                expires_at: Some(now + Duration::days(365)),
                ..new_key("x", &[Scope::KbRead])
            },
        )
        .await
        .unwrap();
    assert_eq!(year.key.expires_at, now + Duration::days(365));
    let admins = key_of(&w, &admin, &[Scope::Admin, Scope::KbRead]).await;
    assert_eq!(admins.key.scopes.names(), ["admin", "kb:read"]);
}

/// At most 50 keys per user, expired ones included until deleted.
pub async fn at_most_fifty_keys_expired_included(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let short = NewApiKey {
        expires_at: Some(w.hd.now() + Duration::minutes(1)),
        ..new_key("short", &[Scope::KbRead])
    };
    let first =
        w.hd.create_api_key(&agent.p, agent.id(), short)
            .await
            .unwrap();
    for _ in 1..MAX_KEYS_PER_USER {
        key_of(&w, &agent, &[Scope::KbRead]).await;
    }
    w.advance(Duration::minutes(2));
    expect_err!(
        w.hd.authenticate(first.token.expose()).await,
        Error::TokenExpired
    );
    let over =
        w.hd.create_api_key(&agent.p, agent.id(), new_key("one more", &[Scope::KbRead]))
            .await;
    match over {
        Err(Error::Validation(f)) => assert_eq!(f[0].field, "api_keys"),
        other => panic!("expected the limit, got {other:?}"),
    }
    w.hd.delete_api_key(&agent.p, agent.id(), first.key.id)
        .await
        .unwrap();
    key_of(&w, &agent, &[Scope::KbRead]).await;
    assert_eq!(
        w.hd.list_api_keys(&agent.p, agent.id())
            .await
            .unwrap()
            .len(),
        MAX_KEYS_PER_USER
    );
}

/// The store counts a user's keys in the same operation as the insert: concurrent
/// inserts never pass the limit together.
pub async fn store_key_limit_holds_under_concurrency(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let agent = w.agent().await;
    let stored = |n: u32| {
        NewApiKey {
            expires_at: None,
            ..new_key(&format!("k{n}"), &[Scope::KbRead])
        }
        .validate(agent.id(), false, &Token::generate(), w.hd.now())
        .unwrap()
    };
    let mut tasks = Vec::new();
    for n in 0..12 {
        let (store, key) = (store.clone(), stored(n));
        tasks.push(tokio::spawn(async move {
            store.insert_api_key(&key, 5).await.unwrap()
        }));
    }
    let mut inserted = 0;
    for t in tasks {
        inserted += usize::from(t.await.unwrap());
    }
    assert_eq!(inserted, 5);
    assert_eq!(store.list_api_keys(agent.id()).await.unwrap().len(), 5);
}

/// The store's keys: by id and by hash, newest first, last use, deletion; a taken
/// hash and an unknown owner are refused.
pub async fn store_api_keys_round_trip(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let (a, b) = (w.agent().await, w.agent().await);
    let make = |who: &Who| {
        new_key("k", &[Scope::KbRead, Scope::UsersRead])
            .validate(who.id(), false, &Token::generate(), w.hd.now())
            .unwrap()
    };
    let first = make(&a);
    w.tick();
    let second = make(&a);
    let others = make(&b);
    for k in [&first, &second, &others] {
        assert!(store.insert_api_key(k, 50).await.unwrap());
    }
    assert_eq!(
        store.get_api_key(first.id).await.unwrap().as_ref(),
        Some(&first)
    );
    assert_eq!(
        store
            .get_api_key_by_hash(&second.token_hash)
            .await
            .unwrap()
            .as_ref(),
        Some(&second)
    );
    assert_eq!(store.get_api_key_by_hash("00").await.unwrap(), None);
    assert_eq!(
        store.list_api_keys(a.id()).await.unwrap(),
        [second.clone(), first.clone()]
    );
    let at = w.hd.now() + Duration::seconds(5);
    store.touch_api_key(first.id, at).await.unwrap();
    store.touch_api_key(Uuid::now_v7(), at).await.unwrap();
    assert_eq!(
        store
            .get_api_key(first.id)
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(at)
    );
    let twin = ApiKey {
        id: Uuid::now_v7(),
        ..second.clone()
    };
    expect_err!(
        store.insert_api_key(&twin, 50).await,
        crate::StoreError::Conflict(crate::Conflict::Unique)
    );
    let orphan = ApiKey {
        user_id: Uuid::now_v7(),
        ..make(&a)
    };
    expect_err!(
        store.insert_api_key(&orphan, 50).await,
        crate::StoreError::NotFound
    );
    assert!(store.delete_api_key(first.id).await.unwrap());
    assert!(!store.delete_api_key(first.id).await.unwrap());
    assert_eq!(store.get_api_key(first.id).await.unwrap(), None);
    assert_eq!(
        store.get_api_key_by_hash(&first.token_hash).await.unwrap(),
        None
    );
    assert_eq!(store.list_api_keys(b.id()).await.unwrap(), [others]);
}

/// A malformed token or a wrong checksum is refused before any lookup, a well-formed
/// unknown one after it; an expired key is `TokenExpired`, and a socket open with it
/// is refused at its next recheck.
pub async fn bad_unknown_and_expired_keys_are_refused(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let made =
        w.hd.create_api_key(
            &agent.p,
            agent.id(),
            NewApiKey {
                expires_at: Some(w.hd.now() + Duration::hours(1)),
                ..new_key("short", &[Scope::TicketsRead])
            },
        )
        .await
        .unwrap();
    let token = made.token.expose();
    let mut wrong_sum = token.to_string();
    let last = if token.ends_with('0') { "1" } else { "0" };
    wrong_sum.replace_range(55..56, last);
    let unknown = Token::generate();
    for bad in [
        wrong_sum.as_str(),
        &token[..40],
        "hd_pat_",
        &format!("{token}x"),
        unknown.expose(),
    ] {
        expect_err!(w.hd.authenticate(bad).await, Error::Unauthorized);
    }
    let p = w.hd.authenticate(token).await.unwrap();
    w.advance(Duration::minutes(59));
    assert_eq!(w.hd.recheck(&p).await.unwrap(), p);
    w.advance(Duration::minutes(1));
    expect_err!(w.hd.authenticate(token).await, Error::TokenExpired);
    expect_err!(w.hd.recheck(&p).await, Error::Unauthorized);
}

/// A deactivated owner's keys stop working (and work again on reactivation); a
/// demotion to customer deletes them; a password change leaves them alone.
pub async fn owners_deactivation_and_demotion(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (admin, agent) = (w.admin().await, w.agent().await);
    let made = key_of(&w, &agent, &[Scope::TicketsRead]).await;
    let token = made.token.expose();
    let p = w.hd.authenticate(token).await.unwrap();

    let session = w.hd.login(agent.email(), PASSWORD).await.unwrap();
    w.hd.update_me(
        &session.principal(),
        ProfilePatch {
            password: Some("a brand new password".into()),
            current_password: Some(PASSWORD.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    w.hd.authenticate(token)
        .await
        .expect("a password change keeps the keys");

    w.hd.update_user(&admin.p, agent.id(), deactivate(false))
        .await
        .unwrap();
    expect_err!(w.hd.authenticate(token).await, Error::Unauthorized);
    expect_err!(w.hd.recheck(&p).await, Error::Unauthorized);
    w.hd.update_user(&admin.p, agent.id(), deactivate(true))
        .await
        .unwrap();
    w.hd.authenticate(token).await.unwrap();

    w.hd.update_user(
        &admin.p,
        agent.id(),
        UserPatch {
            role: Some(Role::Customer),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    expect_err!(w.hd.authenticate(token).await, Error::Unauthorized);
    expect_err!(w.hd.recheck(&p).await, Error::Unauthorized);
    assert!(
        w.hd.list_api_keys(&admin.p, agent.id())
            .await
            .unwrap()
            .is_empty(),
        "the demotion deleted the keys"
    );
    // Made staff again, the old key stays gone.
    w.hd.update_user(
        &admin.p,
        agent.id(),
        UserPatch {
            role: Some(Role::Agent),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    expect_err!(w.hd.authenticate(token).await, Error::Unauthorized);
}

/// `last_used_at` is written on use, at most once a minute.
pub async fn last_use_is_recorded_once_a_minute(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let made = key_of(&w, &agent, &[Scope::KbRead]).await;
    let last_used = || async {
        w.hd.get_api_key(&agent.p, agent.id(), made.key.id)
            .await
            .unwrap()
            .last_used_at
    };
    let first = w.hd.now();
    w.hd.authenticate(made.token.expose()).await.unwrap();
    assert_eq!(last_used().await, Some(first));
    w.advance(Duration::seconds(30));
    w.hd.authenticate(made.token.expose()).await.unwrap();
    assert_eq!(last_used().await, Some(first));
    w.advance(Duration::seconds(30));
    w.hd.authenticate(made.token.expose()).await.unwrap();
    assert_eq!(last_used().await, Some(w.hd.now()));
}

/// Through a key: no logout, no profile change.
pub async fn keys_cannot_log_out_or_change_the_profile(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let made = key_of(&w, &agent, &Scope::ALL[1..]).await;
    let p = w.hd.authenticate(made.token.expose()).await.unwrap();
    expect_err!(w.hd.logout(&p).await, Error::Forbidden(_));
    expect_err!(
        w.hd.update_me(
            &p,
            ProfilePatch {
                name: Some("Renamed".into()),
                ..Default::default()
            }
        )
        .await,
        Error::Forbidden(_)
    );
    assert_eq!(w.hd.me(&p).await.unwrap().name, agent.user.name);
}

/// What a key does is its scopes within its owner's role now: an admin's key with
/// `admin` administers, and stops doing so when the owner is made an agent.
pub async fn rights_are_scopes_within_the_owners_role(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (root, admin) = (w.admin().await, w.admin().await);
    let made = key_of(&w, &admin, &[Scope::Admin]).await;
    let p = w.hd.authenticate(made.token.expose()).await.unwrap();
    assert!(Scope::ALL.iter().all(|s| p.allows(*s)));
    p.require_scope(Scopes::one(Scope::UsersRead)).unwrap();
    let group = |name: &str| NewGroup {
        name: name.into(),
        description: None,
        is_default: false,
    };
    w.hd.create_group(&p, group("Billing")).await.unwrap();
    w.hd.update_user(
        &root.p,
        admin.id(),
        UserPatch {
            role: Some(Role::Agent),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let p = w.hd.authenticate(made.token.expose()).await.unwrap();
    assert_eq!(p.role(), Role::Agent);
    expect_err!(
        w.hd.create_group(&p, group("Sales")).await,
        Error::Forbidden(_)
    );

    let agent = w.agent().await;
    let reader = key_of(&w, &agent, &[Scope::TicketsRead]).await;
    let p = w.hd.authenticate(reader.token.expose()).await.unwrap();
    expect_err!(
        p.require_scope(Scopes::one(Scope::TicketsWrite).with(Scope::MessagesWrite)),
        Error::InsufficientScope(s) if s.names() == ["messages:write", "tickets:write"]
    );
    p.require_scope(Scopes::one(Scope::TicketsRead).with(Scope::MessagesRead))
        .unwrap();
    p.require_scope(Scopes::NONE).unwrap();
}

/// Events reach a key only with the scope of their kind: `ticket.*` with
/// `tickets:read`, messages and notifications with `messages:read`; `typing` needs
/// `messages:write`.
pub async fn events_and_typing_follow_the_scopes(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (agent, customer) = (w.agent().await, w.customer().await);
    let tickets = key_of(&w, &agent, &[Scope::TicketsRead]).await;
    let messages = key_of(&w, &agent, &[Scope::MessagesRead]).await;
    let both = key_of(&w, &agent, &[Scope::MessagesWrite, Scope::MessagesRead]).await;
    let as_key = |k: &CreatedApiKey| {
        let hd = w.hd.clone();
        let token = k.token.expose().to_string();
        async move { hd.authenticate(&token).await.unwrap() }
    };
    let (tickets, messages, both) = (
        as_key(&tickets).await,
        as_key(&messages).await,
        as_key(&both).await,
    );
    let after = w.last_event().await;
    let ticket = w.ticket(&customer, "Key events").await;
    w.send(&agent, ticket.conversation_id, "On it").await;
    let events = w.store.events_after(after, 100).await.unwrap();
    let created = events
        .iter()
        .find(|e| e.kind == crate::event::EventKind::TicketCreated)
        .expect("ticket.created");
    let message = events
        .iter()
        .find(|e| e.kind == crate::event::EventKind::MessageCreated)
        .expect("message.created");
    assert!(w.hd.may_see(&agent.p, created).await.unwrap());
    assert!(w.hd.may_see(&tickets, created).await.unwrap());
    assert!(!w.hd.may_see(&messages, created).await.unwrap());
    assert!(w.hd.may_see(&messages, message).await.unwrap());
    assert!(!w.hd.may_see(&tickets, message).await.unwrap());

    let direct = w.direct(&agent, &customer).await;
    let channel = w.hd.ephemeral().await.unwrap();
    expect_err!(
        channel.typing(&messages, direct).await,
        Error::InsufficientScope(s) if s == Scopes::one(Scope::MessagesWrite)
    );
    channel.typing(&both, direct).await.unwrap();
}

/// Service accounts: an agent or admin without a password, who cannot log in and acts
/// through the keys an admin makes for it; it stays staff and gets no password.
pub async fn service_accounts(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let bot =
        w.hd.create_user(
            &admin.p,
            NewUser::service("Bot@Example.com", "Bot", Role::Agent),
        )
        .await
        .unwrap();
    assert!(bot.is_service && bot.password_hash.is_none());
    assert_eq!(w.hd.get_user(&admin.p, bot.id).await.unwrap(), bot);
    let refused = [
        NewUser::service("c@example.com", "C", Role::Customer),
        NewUser {
            password: Some(PASSWORD.into()),
            ..NewUser::service("p@example.com", "P", Role::Agent)
        },
    ];
    for input in refused {
        expect_err!(
            w.hd.create_user(&admin.p, input).await,
            Error::Validation(_)
        );
    }
    expect_err!(
        w.hd.login("bot@example.com", PASSWORD).await,
        Error::Unauthorized
    );
    expect_err!(
        w.hd.set_password(&admin.p, bot.id, PASSWORD).await,
        Error::Validation(_)
    );
    expect_err!(
        w.hd.update_user(
            &admin.p,
            bot.id,
            UserPatch {
                role: Some(Role::Customer),
                ..Default::default()
            }
        )
        .await,
        Error::Validation(_)
    );
    w.hd.update_user(
        &admin.p,
        bot.id,
        UserPatch {
            role: Some(Role::Admin),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let made =
        w.hd.create_api_key(&admin.p, bot.id, new_key("sync", &[Scope::Admin]))
            .await
            .unwrap();
    let p = w.hd.authenticate(made.token.expose()).await.unwrap();
    assert_eq!((p.user_id(), p.role()), (bot.id, Role::Admin));
    assert!(w.hd.me(&p).await.unwrap().is_service);
}

/// Requests through one key are limited per instance; other keys and other instances
/// count their own, and the window slides on.
pub async fn requests_per_key_are_limited_per_instance(store: Arc<dyn Store>) {
    let config = Config {
        limits: Limits {
            requests_per_api_key: Some(Rate::new(3, Duration::minutes(1))),
            ..Limits::default()
        },
        ..Config::for_tests()
    };
    let w = World::with_config(store.clone(), config.clone());
    let agent = w.agent().await;
    let (one, two) = (
        key_of(&w, &agent, &[Scope::KbRead]).await,
        key_of(&w, &agent, &[Scope::KbRead]).await,
    );
    for _ in 0..3 {
        w.hd.authenticate(one.token.expose()).await.unwrap();
    }
    expect_err!(
        w.hd.authenticate(one.token.expose()).await,
        Error::RateLimited { retry_after_secs } if (1..=60).contains(&retry_after_secs)
    );
    w.hd.authenticate(two.token.expose())
        .await
        .expect("another key counts its own");
    let other = crate::Helpdesk::with_clock(store, config, w.clock.clone());
    other
        .authenticate(one.token.expose())
        .await
        .expect("another instance counts its own");
    w.advance(Duration::seconds(61));
    w.hd.authenticate(one.token.expose()).await.unwrap();
}
