//! The event log on PostgreSQL: ids in commit order (a reader never skips an event that
//! commits late), and NOTIFY waking another instance.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use helpdesk_core::attachment::Attachment;
use helpdesk_core::event::{Effects, EventId};
use helpdesk_core::store::{AttachmentStore, EventStore, TicketStore};
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use uuid::Uuid;

use crate::common::{TestDb, admin_url, new_ticket, one_event, t0};

async fn all_ids(store: &dyn EventStore) -> Vec<EventId> {
    let mut ids = Vec::new();
    let mut last = None;
    loop {
        let page = store.events_after(last, 100).await.unwrap();
        if page.is_empty() {
            return ids;
        }
        for e in page {
            ids.push(e.id);
            last = Some(e.id);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_never_skips_an_event_that_commits_late() {
    let Some(db) = TestDb::create("a_reader_never_skips_an_event_that_commits_late").await else {
        return;
    };
    // Lock an unattached attachment, so a ticket creation that attaches it starts (its
    // UPDATE of the attachment takes an xid, then waits for the row) but cannot commit
    // until we let it.
    let attachment = Attachment {
        id: Uuid::now_v7(),
        filename: "a.txt".into(),
        content_type: "text/plain".into(),
        size: 0,
        sha256: String::new(),
        uploaded_by: Uuid::now_v7(),
        created_at: t0(),
        parent: None,
    };
    db.store
        .insert_attachment(&attachment, &Effects::none())
        .await
        .unwrap();
    let mut blocker = PgConnection::connect_with(&db.options).await.unwrap();
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query("SELECT id FROM attachments WHERE id = $1 FOR UPDATE")
        .bind(attachment.id)
        .fetch_one(&mut blocker)
        .await
        .unwrap();
    let late = {
        let store = db.store.clone();
        let mut new = new_ticket(&store, Uuid::now_v7(), t0()).await;
        new.attachment_ids = vec![attachment.id];
        tokio::spawn(async move {
            store
                .create_ticket(&new, &|_| one_event("late", 0))
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A later transaction commits first.
    db.store
        .append_effects(&one_event("early", 1))
        .await
        .unwrap();
    let seen = db.store.events_after(None, 100).await.unwrap();
    assert!(
        seen.is_empty(),
        "the early commit must stay hidden while an older transaction is in flight: {seen:?}"
    );
    sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();
    late.await.unwrap();
    let seen = db.store.events_after(None, 100).await.unwrap();
    let kinds: Vec<&str> = seen
        .iter()
        .filter_map(|e| e.data["label"].as_str())
        .collect();
    assert_eq!(kinds, ["late", "early"]);
    assert!(seen[0].id < seen[1].id);
    assert_eq!(db.store.last_event_id().await.unwrap(), Some(seen[1].id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transaction_that_writes_after_a_read_lands_after_it() {
    let Some(db) = TestDb::create("a_transaction_that_writes_after_a_read_lands_after_it").await
    else {
        return;
    };
    // Open before the read, but without an xid yet: it has not written.
    let mut writer = PgConnection::connect_with(&db.options).await.unwrap();
    sqlx::query("BEGIN").execute(&mut writer).await.unwrap();
    sqlx::query("SELECT 1").execute(&mut writer).await.unwrap();
    db.store
        .append_effects(&one_event("first", 0))
        .await
        .unwrap();
    let first = db.store.events_after(None, 100).await.unwrap();
    assert_eq!(
        first.len(),
        1,
        "nothing in flight holds the first event back"
    );
    // Now it writes an event as the store does (id from its xid) and commits.
    sqlx::query(
        "INSERT INTO events (id, kind, at, audience, data) \
         SELECT pg_current_xact_id()::text::bigint << 20, kind, at, audience, \
                jsonb_set(data, '{label}', to_jsonb('second'::text)) \
         FROM events",
    )
    .execute(&mut writer)
    .await
    .unwrap();
    sqlx::query("COMMIT").execute(&mut writer).await.unwrap();
    let next = db.store.events_after(Some(first[0].id), 100).await.unwrap();
    let kinds: Vec<&str> = next
        .iter()
        .filter_map(|e| e.data["label"].as_str())
        .collect();
    assert_eq!(kinds, ["second"], "it lands after what was already read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transaction_of_another_database_does_not_hold_the_log_back() {
    let Some(db) =
        TestDb::create("a_transaction_of_another_database_does_not_hold_the_log_back").await
    else {
        return;
    };
    let Some(admin) = admin_url("a_transaction_of_another_database_does_not_hold_the_log_back")
    else {
        return;
    };
    // A transaction with an xid, older than the events below, in the admin database.
    let mut other = PgConnection::connect(&admin).await.unwrap();
    sqlx::query("BEGIN").execute(&mut other).await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut other)
        .await
        .unwrap();
    db.store
        .append_effects(&one_event("here", 0))
        .await
        .unwrap();
    let seen = db.store.events_after(None, 100).await.unwrap();
    assert_eq!(
        seen.len(),
        1,
        "the other database's transaction is left out"
    );
    assert_eq!(db.store.last_event_id().await.unwrap(), Some(seen[0].id));
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_and_a_polling_reader_agree_on_the_log() {
    let Some(db) = TestDb::create("concurrent_writers_and_a_polling_reader_agree_on_the_log").await
    else {
        return;
    };
    const WRITERS: u64 = 16;
    const PER_WRITER: u64 = 15;
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let store = db.store.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut last = None;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let page = store.events_after(last, 7).await.unwrap();
                for e in &page {
                    assert!(Some(e.id) > last, "ids must increase");
                    last = Some(e.id);
                    seen.push(e.id);
                }
                if finished && page.is_empty() {
                    return seen;
                }
                if page.is_empty() {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = db.store.clone();
            tokio::spawn(async move {
                for n in 0..PER_WRITER {
                    if (w + n) % 4 == 0 {
                        // Writes that take longer between taking their xid and committing.
                        store
                            .create_ticket(&new_ticket(&store, Uuid::now_v7(), t0()).await, &|_| {
                                let mut fx = one_event("ticket", n);
                                fx.events.extend(one_event("ticket.more", n).events);
                                fx
                            })
                            .await
                            .unwrap();
                    } else {
                        store.append_effects(&one_event("plain", n)).await.unwrap();
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.await.unwrap();
    let all = all_ids(&db.store).await;
    assert_eq!(
        seen, all,
        "the polling reader saw exactly the final log, in order"
    );
    let distinct: BTreeSet<_> = all.iter().collect();
    assert_eq!(distinct.len(), all.len());
    let tickets = (0..WRITERS)
        .flat_map(|w| (0..PER_WRITER).filter(move |n| (w + n) % 4 == 0))
        .count() as u64;
    assert_eq!(all.len() as u64, WRITERS * PER_WRITER + tickets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn notify_wakes_another_instance_which_reads_in_order() {
    let Some(db) = TestDb::create("notify_wakes_another_instance_which_reads_in_order").await
    else {
        return;
    };
    let a = db.store.clone();
    let b = db.second_store();
    let waiter = {
        let b = b.clone();
        tokio::spawn(async move { b.wait_for_external_events().await })
    };
    // Keep writing until the other instance wakes (its LISTEN may still be starting).
    let mut written = 0u64;
    let woke = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            a.append_effects(&one_event("ping", written)).await.unwrap();
            written += 1;
            if waiter.is_finished() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(woke.is_ok(), "wait_for_external_events on B never returned");
    // A second round: B is listening now, one write wakes it.
    let again = {
        let b = b.clone();
        tokio::spawn(async move { b.wait_for_external_events().await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    a.append_effects(&one_event("pong", written)).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), again)
        .await
        .expect("a single NOTIFY wakes B")
        .unwrap()
        .unwrap();
    let events = b.events_after(None, 1000).await.unwrap();
    assert_eq!(events.len() as u64, written + 1);
    let ns: Vec<u64> = events
        .iter()
        .map(|e| e.data["n"].as_u64().unwrap())
        .collect();
    assert_eq!(ns, (0..=written).collect::<Vec<_>>(), "read in write order");
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));

    // B's own writes do not wake B (its library wakes its tailer itself); A's do.
    let own = {
        let b = b.clone();
        tokio::spawn(async move { b.wait_for_external_events().await })
    };
    for n in 0..3 {
        b.append_effects(&one_event("own", n)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!own.is_finished(), "B's own NOTIFY woke B");
    a.append_effects(&one_event("theirs", 0)).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), own)
        .await
        .expect("A's NOTIFY wakes B")
        .unwrap()
        .unwrap();
    b.close().await;
}

#[tokio::test]
async fn effects_write_deliveries_notifications_and_nothing_for_empty_effects() {
    let Some(db) =
        TestDb::create("effects_write_deliveries_notifications_and_nothing_for_empty_effects")
            .await
    else {
        return;
    };
    db.store.append_effects(&Effects::none()).await.unwrap();
    assert_eq!(db.store.last_event_id().await.unwrap(), None);
    db.store.append_effects(&one_event("x", 0)).await.unwrap();
    let id = db.store.last_event_id().await.unwrap().unwrap();
    // The fixed-width string form orders like the ids.
    assert_eq!(id.to_string().len(), 20);
    assert_eq!(id.to_string().parse::<EventId>().unwrap(), id);
}
