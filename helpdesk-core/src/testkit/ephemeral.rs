//! The ephemeral channel: signals reach every instance sharing the store; typing goes to
//! a conversation's other members and presence to a user's contacts, wherever their
//! sockets are; a silent or departing instance takes its users offline.
//!
//! Two instances are two [`Helpdesk`]s over the one store under test, as two servers
//! over one database are. Signals travel asynchronously, so the cases wait for what they
//! expect, up to ten seconds.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::{World, expect_err};
use crate::ephemeral::Signal;
use crate::store::Store;
use crate::{Config, Error, Helpdesk, Notice, NoticeKind};

/// How long a case waits for a signal or a notice before it fails.
const PATIENCE: StdDuration = StdDuration::from_secs(10);

/// The next notice that `wanted` accepts; fails after `PATIENCE`.
async fn notice(rx: &mut broadcast::Receiver<Notice>, wanted: impl Fn(&Notice) -> bool) -> Notice {
    let found = tokio::time::timeout(PATIENCE, async {
        loop {
            match rx.recv().await {
                Ok(n) if wanted(&n) => return n,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("notices closed"),
            }
        }
    })
    .await;
    found.expect("the expected notice did not come")
}

fn presence(user_id: Uuid, online: bool) -> impl Fn(&Notice) -> bool {
    move |n| n.kind == NoticeKind::Presence { user_id, online }
}

/// A second instance over the same store and clock.
fn second_instance(w: &World) -> Helpdesk {
    Helpdesk::with_clock(w.store.clone(), Config::for_tests(), w.clock.clone())
}

/// Waits until `check` holds, up to `PATIENCE`.
async fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

/// A published signal reaches every subscriber of the store, the publisher's own
/// included, and a subscriber hears only what was published after it subscribed.
pub async fn signals_reach_every_subscriber(store: Arc<dyn Store>) {
    let early = Signal::Beat {
        instance: Uuid::now_v7(),
    };
    store.publish(&early).await.unwrap();
    let mut a = store.subscribe_signals().await.unwrap();
    let mut b = store.subscribe_signals().await.unwrap();
    let signal = Signal::Typing {
        conversation_id: Uuid::now_v7(),
        user_id: Uuid::now_v7(),
    };
    store.publish(&signal).await.unwrap();
    for rx in [&mut a, &mut b] {
        let got = tokio::time::timeout(PATIENCE, rx.recv()).await;
        let got = got.expect("no signal").expect("a signal");
        assert_eq!(got, signal, "the earlier signal is not heard");
    }
}

/// Typing on one instance reaches the conversation's other members on another, and
/// only them; a user who may not read the conversation cannot type in it.
pub async fn typing_reaches_members_on_another_instance(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (c, a, stranger) = (w.customer().await, w.agent().await, w.customer().await);
    let conv = w.direct(&c, &a).await;
    let here = w.hd.ephemeral().await.unwrap();
    let other = second_instance(&w);
    let there = other.ephemeral().await.unwrap();
    let mut heard_there = there.notices();
    there.opened(a.id()).await;
    there.opened(stranger.id()).await;
    here.opened(c.id()).await;
    here.typing(&c.p, conv).await.unwrap();
    let n = notice(&mut heard_there, |n| {
        matches!(n.kind, NoticeKind::Typing { .. })
    })
    .await;
    assert_eq!(
        n,
        Notice {
            recipients: vec![a.id()],
            kind: NoticeKind::Typing {
                conversation_id: conv,
                user_id: c.id(),
            },
        }
    );
    expect_err!(here.typing(&stranger.p, conv).await, Error::NotFound);
    expect_err!(here.typing(&c.p, Uuid::now_v7()).await, Error::NotFound);
}

/// A user is online while any socket of theirs is open on any instance: their
/// contacts on another instance hear `online` once when the first opens and `offline`
/// once when the last closes; a starting instance learns who is online first.
pub async fn presence_counts_sockets_on_every_instance(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (c, a) = (w.customer().await, w.agent().await);
    w.direct(&c, &a).await;
    let here = w.hd.ephemeral().await.unwrap();
    here.opened(c.id()).await;
    here.opened(c.id()).await;
    let other = second_instance(&w);
    let there = other.ephemeral().await.unwrap();
    eventually("the new instance learns who is online", || {
        there.is_online(c.id())
    })
    .await;
    let mut heard_there = there.notices();
    there.opened(a.id()).await;
    here.closed(c.id()).await;
    assert!(
        there.is_online(c.id()),
        "one socket of theirs is still open"
    );
    here.closed(c.id()).await;
    let n = notice(&mut heard_there, presence(c.id(), false)).await;
    assert_eq!(n.recipients, vec![a.id()]);
    here.opened(c.id()).await;
    let n = notice(&mut heard_there, presence(c.id(), true)).await;
    assert_eq!(n.recipients, vec![a.id()]);
    eventually("the first instance learns of the second's user", || {
        here.is_online(a.id())
    })
    .await;
}

/// An instance that stops beating is gone after three heartbeats: its users go
/// offline for the others, unless connected elsewhere. One that leaves says so and its
/// users go offline at once.
pub async fn a_silent_or_departing_instance_takes_its_users_offline(store: Arc<dyn Store>) {
    let w = World::new(store);
    let (c, a, b) = (w.customer().await, w.agent().await, w.agent().await);
    w.direct(&c, &a).await;
    w.direct(&b, &a).await;
    let here = w.hd.ephemeral().await.unwrap();
    let mut heard_here = here.notices();
    here.opened(a.id()).await;
    let killed = second_instance(&w);
    let doomed = killed.ephemeral().await.unwrap();
    doomed.opened(c.id()).await;
    notice(&mut heard_here, presence(c.id(), true)).await;
    // A kill: the instance stops without a word.
    drop(doomed);
    drop(killed);
    let beat = Config::for_tests().instance_heartbeat;
    w.advance(Duration::from_std(beat * 2).unwrap());
    here.beat().await;
    assert!(
        here.is_online(c.id()),
        "two silent heartbeats are not yet three"
    );
    // Three silent heartbeats: gone. (A signal the killed instance sent just before it
    // died may still be on its way and count as heard a little later: beat on until it
    // is older than three heartbeats too.)
    let mut gone = None;
    for _ in 0..5 {
        w.advance(Duration::from_std(beat * 2).unwrap());
        here.beat().await;
        let offline = presence(c.id(), false);
        let wait = tokio::time::timeout(StdDuration::from_secs(2), async {
            loop {
                match heard_here.recv().await {
                    Ok(n) if offline(&n) => return n,
                    _ => {}
                }
            }
        });
        if let Ok(n) = wait.await {
            gone = Some(n);
            break;
        }
    }
    let n = gone.expect("the killed instance's user went offline");
    assert_eq!(n.recipients, vec![a.id()]);

    let leaving = second_instance(&w);
    let departing = leaving.ephemeral().await.unwrap();
    departing.opened(b.id()).await;
    notice(&mut heard_here, presence(b.id(), true)).await;
    departing.leave().await;
    notice(&mut heard_here, presence(b.id(), false)).await;
}

/// Typing in a ticket's conversation does not reach a staff member who lost access to
/// the ticket, though they are still a member of its conversation.
pub async fn typing_skips_members_who_lost_access(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let (c, gone) = (w.customer().await, w.agent().await);
    let t = w.ticket(&c, "Typing").await;
    w.send(&gone, t.conversation_id, "I'm on it").await;
    w.send(&admin, t.conversation_id, "Me too").await;
    let here = w.hd.ephemeral().await.unwrap();
    let mut heard = here.notices();
    here.opened(gone.id()).await;
    here.opened(admin.id()).await;
    let support = w.store.default_group().await.unwrap();
    w.hd.remove_membership(&admin.p, support.id, gone.id())
        .await
        .unwrap();
    here.typing(&c.p, t.conversation_id).await.unwrap();
    let n = notice(&mut heard, |n| matches!(n.kind, NoticeKind::Typing { .. })).await;
    assert_eq!(n.recipients, vec![admin.id()]);
}
