//! The one scheduler across instances (API-workflow.md "The scheduler"): two instances
//! on one PostgreSQL database, 200 tickets due at once, one instance killed while it
//! fires: every item fires once, none twice, none is lost.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use helpdesk::event::EventKind;
use helpdesk::ticket::NewTicket;
use helpdesk::{Config, Helpdesk, Role};

use crate::helpers::*;

const TICKETS: usize = 200;

#[tokio::test]
async fn due_items_fire_once_when_an_instance_dies_mid_run() {
    let Some((app, second)) = spawn_live_app_on_postgres().await else {
        println!("skipped: HELPDESK_TEST_DATABASE_URL is not set");
        return;
    };
    let carol = app.signup("carol@example.com").await;
    let agent = app.user(Role::Agent, "agent@example.com").await;
    let hd = &app.hd;
    let (carol, agent) = (
        hd.principal(carol.id.parse().unwrap()).await.unwrap(),
        hd.principal(agent.id.parse().unwrap()).await.unwrap(),
    );
    let mut ids = Vec::new();
    for n in 0..TICKETS {
        let t = hd
            .create_ticket(&carol, NewTicket::new(&format!("Ticket {n}"), "Details."))
            .await
            .unwrap();
        ids.push(t.id);
    }
    // Far enough ahead for 200 snoozes on a loaded machine; all fall due at once.
    let until = chrono::Utc::now() + chrono::Duration::seconds(10);
    for id in &ids {
        hd.snooze_ticket(&agent, *id, until, true).await.unwrap();
    }

    // The second instance: its scheduler only, killed (its task aborted wherever it is,
    // a transaction included) shortly after the items fall due.
    let other = Helpdesk::new(second, Config::for_tests());
    let worker = tokio::spawn({
        let other = other.clone();
        async move {
            loop {
                let _ = other.run_due().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    let wait = (until - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(40)).await;
    worker.abort();
    drop(other);

    // The server fires the rest (what the dead instance held, after its hold ends).
    let started = Instant::now();
    let woke = loop {
        let mut woke: HashMap<String, usize> = HashMap::new();
        for e in hd.events_after(None, 100_000).await.unwrap() {
            if e.kind == EventKind::TicketUnsnoozed {
                *woke
                    .entry(e.data["ticket_id"].as_str().unwrap().to_string())
                    .or_default() += 1;
            }
        }
        if woke.len() == TICKETS || started.elapsed() > Duration::from_secs(30) {
            break woke;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(woke.len(), TICKETS, "none lost");
    assert!(woke.values().all(|n| *n == 1), "none twice: {woke:?}");
    for id in &ids {
        assert_eq!(hd.get_ticket(&agent, *id).await.unwrap().snooze, None);
    }
}
