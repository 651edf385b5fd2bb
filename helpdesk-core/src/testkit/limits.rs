//! Attempt limits ([`crate::limit`]): counted in the store, so that several helpdesks
//! over one store (several server instances) share them, and a restart keeps them.

use std::net::IpAddr;
use std::sync::Arc;

use super::*;
use crate::Error;
use crate::auth::Signup;
use crate::limit::{Limits, Rate};
use crate::store::AttemptWindow;
use crate::user::ProfilePatch;

fn addr(s: &str) -> Option<IpAddr> {
    Some(s.parse().expect("an address"))
}

const WRONG: &str = "wrong password!";

/// Ten failed logins for one email from one address refuse the eleventh attempt there,
/// right password or not, with the time until the oldest counted failure leaves the
/// window; another address and another email are not affected; the window ends.
pub async fn failed_logins_are_limited_per_email_and_client(store: Arc<dyn Store>) {
    let w = World::new(store);
    let carol = w.customer().await;
    let a = addr("192.0.2.1");
    for _ in 0..10 {
        expect_err!(
            w.hd.login_from(a, carol.email(), WRONG).await,
            Error::Unauthorized
        );
        w.tick();
    }
    match w
        .hd
        .login_from(a, &carol.email().to_uppercase(), PASSWORD)
        .await
    {
        Err(Error::RateLimited { retry_after_secs }) => {
            // The first failure was 10 s ago: 15 minutes less 10 s remain.
            assert_eq!(retry_after_secs, 15 * 60 - 10);
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    w.hd.login_from(addr("192.0.2.2"), carol.email(), PASSWORD)
        .await
        .unwrap();
    let other = w.customer().await;
    w.hd.login_from(a, other.email(), PASSWORD).await.unwrap();
    w.advance(Duration::minutes(15));
    w.hd.login_from(a, carol.email(), PASSWORD).await.unwrap();
}

/// The counts live in the store: two helpdesks over one store (two server instances)
/// alternating failed attempts reach the limit together, and a new helpdesk over the
/// same store (a restart) still refuses.
pub async fn failed_login_counts_are_shared_through_the_store(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let other = Helpdesk::with_clock(store.clone(), Config::for_tests(), w.clock.clone());
    let carol = w.customer().await;
    let a = addr("198.51.100.7");
    for i in 0..10 {
        let hd = if i % 2 == 0 { &w.hd } else { &other };
        expect_err!(
            hd.login_from(a, carol.email(), WRONG).await,
            Error::Unauthorized
        );
    }
    expect_err!(
        other.login_from(a, carol.email(), PASSWORD).await,
        Error::RateLimited { .. }
    );
    let restarted = Helpdesk::with_clock(store, Config::for_tests(), w.clock.clone());
    expect_err!(
        restarted.login_from(a, carol.email(), PASSWORD).await,
        Error::RateLimited { .. }
    );
}

/// Failures for one email from many addresses, and from one address for many emails,
/// have their own limits; emails that no account has count the same (429 reveals
/// nothing).
pub async fn failed_logins_are_limited_per_email_and_per_client(store: Arc<dyn Store>) {
    let limits = Limits {
        failed_logins_per_email: Rate::new(4, Duration::hours(1)),
        failed_logins_per_client: Rate::new(3, Duration::minutes(15)),
        ..Limits::default()
    };
    let w = World::with_config(
        store,
        Config {
            limits,
            ..Config::for_tests()
        },
    );
    let carol = w.customer().await;
    for i in 0..4 {
        let from = addr(&format!("203.0.113.{i}"));
        expect_err!(
            w.hd.login_from(from, "nobody@example.com", WRONG).await,
            Error::Unauthorized
        );
    }
    expect_err!(
        w.hd.login_from(addr("203.0.113.99"), "nobody@example.com", PASSWORD)
            .await,
        Error::RateLimited { .. }
    );
    let b = addr("203.0.113.200");
    for i in 0..3 {
        expect_err!(
            w.hd.login_from(b, &format!("guess{i}@example.com"), WRONG)
                .await,
            Error::Unauthorized
        );
    }
    expect_err!(
        w.hd.login_from(b, carol.email(), PASSWORD).await,
        Error::RateLimited { .. }
    );
    w.hd.login_from(addr("203.0.113.201"), carol.email(), PASSWORD)
        .await
        .unwrap();
}

/// A wrong `current_password` counts as a failed login for the account: a stolen access
/// token does not allow unlimited guesses.
pub async fn wrong_current_passwords_are_limited(store: Arc<dyn Store>) {
    let w = World::new(store);
    let carol = w.customer().await;
    let a = addr("192.0.2.50");
    let change = |current: &str| ProfilePatch {
        password: Some("a new long password".into()),
        current_password: Some(current.into()),
        ..Default::default()
    };
    for _ in 0..10 {
        match w.hd.update_me_from(a, &carol.p, change(WRONG)).await {
            Err(Error::Validation(e)) => assert_eq!(e[0].field, "current_password"),
            other => panic!("expected a wrong current_password, got {other:?}"),
        }
    }
    expect_err!(
        w.hd.update_me_from(a, &carol.p, change(PASSWORD)).await,
        Error::RateLimited { .. }
    );
    expect_err!(
        w.hd.login_from(a, carol.email(), PASSWORD).await,
        Error::RateLimited { .. }
    );
    // The password did not change.
    w.hd.login_from(addr("192.0.2.51"), carol.email(), PASSWORD)
        .await
        .unwrap();
}

/// Signups from one client address are limited, every attempt counting; another address
/// may go on, and the window ends.
pub async fn signups_are_limited_per_client(store: Arc<dyn Store>) {
    let limits = Limits {
        signups_per_client: Rate::new(3, Duration::minutes(1)),
        ..Limits::default()
    };
    let w = World::with_config(
        store,
        Config {
            limits,
            ..Config::for_tests()
        },
    );
    let signup = |n: u32| Signup {
        email: format!("signup{n}@example.com"),
        password: PASSWORD.into(),
        name: format!("Signup {n}"),
    };
    let a = addr("192.0.2.80");
    for n in 0..3 {
        w.hd.signup_from(a, signup(n)).await.unwrap();
    }
    match w.hd.signup_from(a, signup(3)).await {
        Err(Error::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 60),
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(
        w.store
            .get_user_by_email("signup3@example.com")
            .await
            .unwrap()
            .is_none()
    );
    w.hd.signup_from(addr("192.0.2.81"), signup(4))
        .await
        .unwrap();
    w.advance(Duration::minutes(1));
    w.hd.signup_from(a, signup(5)).await.unwrap();
}

/// The store contract: newest first, after `since`, at most the limit, per key;
/// attempts older than `forget_before` are gone.
pub async fn store_attempts_count_and_forget(store: Arc<dyn Store>) {
    let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 9, 0, 0).unwrap();
    let at = |s: i64| t0 + Duration::seconds(s);
    let keys = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for s in [0, 10, 20, 30] {
        store
            .record_attempt(&keys(&["a", "b"]), at(s), t0 - Duration::hours(1))
            .await
            .unwrap();
    }
    store
        .record_attempt(&keys(&["a"]), at(30), t0 - Duration::hours(1))
        .await
        .unwrap();
    let window = |key: &str, since: i64, limit: usize| AttemptWindow {
        key: key.into(),
        since: at(since),
        limit,
    };
    let got = store
        .recent_attempts(&[window("a", 5, 10), window("b", -1, 2), window("c", -1, 10)])
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![
            vec![at(30), at(30), at(20), at(10)],
            vec![at(30), at(20)],
            vec![],
        ]
    );
    // `since` itself is outside the window.
    let got = store.recent_attempts(&[window("a", 20, 10)]).await.unwrap();
    assert_eq!(got, vec![vec![at(30), at(30)]]);
    // Recording at 40 s forgets everything before 25 s, under every key.
    store
        .record_attempt(&keys(&["c"]), at(40), at(25))
        .await
        .unwrap();
    let got = store
        .recent_attempts(&[
            window("a", -1, 10),
            window("b", -1, 10),
            window("c", -1, 10),
        ])
        .await
        .unwrap();
    assert_eq!(got, vec![vec![at(30), at(30)], vec![at(30)], vec![at(40)]]);
}
