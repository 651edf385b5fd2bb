//! The hot paths on every backend: sending a message, reading a page of 50 messages with
//! `is_read`, marking a conversation read, and read-up-to once it has nothing left to
//! do (the receipt arithmetic and permission checks), each on a conversation of 100,000
//! messages; and, once, the JSON encoding of a page of 50 messages. In-memory and sled
//! (in a temporary directory) always; PostgreSQL when `HELPDESK_TEST_DATABASE_URL`
//! names a server (a fresh database, dropped after).
//!
//! `cargo bench -p helpdesk --bench stores` (`-- 'memory|sled'`, `-- postgres` to pick: a criterion regex)
//!
//! Only when asked for with `-- scale`: mark-all-read and read-up-to of the newest message
//! on conversations of 1,000 and of 1,000,000 messages, in memory and on sled, to show that
//! their cost does not grow with the conversation (seeding the million takes minutes).
//!
//! Only when asked for with `-- prune` (with a store's name to pick): the cost of the
//! retention window's hourly run, timed once per store as pruning every event of the
//! 100,000-message conversation's log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use helpdesk::conversation::{ConversationKind, NewConversation};
use helpdesk::message::{MessagePageQuery, NewMessage, message_json};
use helpdesk::store::Store;
use helpdesk::store::memory::MemoryStore;
use helpdesk::user::NewUser;
use helpdesk::wire::Each;
use helpdesk::{Config, Helpdesk, Principal, Role};
use uuid::Uuid;

const MESSAGES: usize = 100_000;
/// Concurrent senders while seeding (sled and PostgreSQL share flushes between them).
const SEEDERS: usize = 16;
const BODY: &str = "a 100-byte message ..................................................................................";

struct Fixture {
    hd: Helpdesk,
    alice: Principal,
    bob: Principal,
    conv: Uuid,
    /// The message in the middle of the conversation.
    middle: Uuid,
}

async fn fixture(store: Arc<dyn Store>, messages: usize) -> Fixture {
    let hd = Helpdesk::new(store, Config::for_tests());
    let sys = Principal::system();
    let mut users = Vec::new();
    for (email, name) in [("alice@example.com", "Alice"), ("bob@example.com", "Bob")] {
        let u = hd
            .create_user(&sys, NewUser::new(email, name, Role::Agent, "password-1"))
            .await
            .unwrap();
        users.push(hd.principal(u.id).await.unwrap());
    }
    let (alice, bob) = (users[0], users[1]);
    let (view, _) = hd
        .create_conversation(
            &alice,
            NewConversation {
                kind: ConversationKind::Direct,
                title: None,
                member_ids: vec![bob.user_id()],
            },
        )
        .await
        .unwrap();
    let conv = view.conversation.id;
    let started = Instant::now();
    let seeders: Vec<_> = (0..SEEDERS)
        .map(|s| {
            let hd = hd.clone();
            tokio::spawn(async move {
                for i in (s..messages).step_by(SEEDERS) {
                    let text = format!("message number {i} with some words");
                    hd.send_message(&alice, conv, NewMessage::text(&text))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for s in seeders {
        s.await.unwrap();
    }
    eprintln!("seeded {messages} messages in {:.1?}", started.elapsed());
    let middle = hd
        .store()
        .get_message_by_seq(conv, messages as u64 / 2)
        .await
        .unwrap()
        .unwrap()
        .id;
    Fixture {
        hd,
        alice,
        bob,
        conv,
        middle,
    }
}

fn bench_store(c: &mut Criterion, rt: &tokio::runtime::Runtime, name: &str, f: &Fixture) {
    let mut group = c.benchmark_group(name);
    group.bench_function("send_message", |b| {
        b.to_async(rt).iter(|| async {
            f.hd.send_message(&f.alice, f.conv, NewMessage::text(BODY))
                .await
                .unwrap()
        })
    });
    group.bench_function("list_messages_50_is_read", |b| {
        b.to_async(rt).iter(|| async {
            f.hd.list_messages(&f.bob, f.conv, MessagePageQuery::default())
                .await
                .unwrap()
        })
    });
    group.bench_function("mark_all_read", |b| {
        b.to_async(rt)
            .iter_custom(|iters| after_one_more(f, iters, Mark::AllRead))
    });
    group.bench_function("mark_read_up_to_noop", |b| {
        b.to_async(rt).iter(|| async {
            f.hd.mark_read_up_to(&f.bob, f.conv, f.middle)
                .await
                .unwrap()
        })
    });
    group.finish();
}

/// How the scale benchmarks mark.
#[derive(Clone, Copy)]
enum Mark {
    AllRead,
    UpToNewest,
}

/// Times `iters` marks by Bob, each after Alice sent one more message (not timed), so
/// every mark has exactly one new message to read.
async fn after_one_more(f: &Fixture, iters: u64, mark: Mark) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let m =
            f.hd.send_message(&f.alice, f.conv, NewMessage::text("one more"))
                .await
                .unwrap();
        let start = Instant::now();
        match mark {
            Mark::AllRead => black_box(f.hd.mark_all_read(&f.bob, f.conv).await.unwrap()),
            Mark::UpToNewest => black_box(
                f.hd.mark_read_up_to(&f.bob, f.conv, m.message.id)
                    .await
                    .unwrap(),
            ),
        };
        total += start.elapsed();
    }
    total
}

/// Mark-all-read and read-up-to on a conversation of `messages` messages.
fn bench_scale(c: &mut Criterion, rt: &tokio::runtime::Runtime, name: &str, f: &Fixture) {
    let mut group = c.benchmark_group(name);
    group.bench_function("mark_all_read", |b| {
        b.to_async(rt)
            .iter_custom(|iters| after_one_more(f, iters, Mark::AllRead))
    });
    group.bench_function("mark_read_up_to_newest", |b| {
        b.to_async(rt)
            .iter_custom(|iters| after_one_more(f, iters, Mark::UpToNewest))
    });
    group.finish();
}

fn bench_json(c: &mut Criterion, rt: &tokio::runtime::Runtime, f: &Fixture) {
    let page = rt
        .block_on(f.hd.list_messages(&f.bob, f.conv, MessagePageQuery::default()))
        .unwrap();
    c.bench_function("json_encode_page_50", |b| {
        b.iter(|| black_box(serde_json::to_vec(&Each(&page.items, message_json)).unwrap()))
    });
}

/// The command line's filters.
fn filters() -> Vec<String> {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect()
}

/// Whether the command line's filter (if any) selects this store.
fn selected(name: &str) -> bool {
    let args = filters();
    args.is_empty()
        || args
            .iter()
            .any(|a| name.contains(a.as_str()) || a.contains(name))
}

/// Whether a filter names `word` (for benchmarks that run only when asked for).
fn named(word: &str) -> bool {
    filters().iter().any(|a| a.contains(word))
}

/// Prunes the whole log of a seeded store once (every event is older than the cutoff)
/// and prints how long it took: what `--event-retention`'s hourly run costs per event.
fn measure_prune(rt: &tokio::runtime::Runtime, name: &str, store: Arc<dyn Store>) {
    rt.block_on(fixture(store.clone(), MESSAGES));
    let cutoff = chrono::Utc::now() + chrono::Duration::seconds(1);
    let start = Instant::now();
    let pruned = rt.block_on(store.prune_events(cutoff)).unwrap();
    let took = start.elapsed();
    println!(
        "{name}/prune_events: {pruned} events in {took:.2?} ({:.0} events/s)",
        pruned as f64 / took.as_secs_f64()
    );
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if named("prune") {
        // The other filters name the stores; none: every store.
        let stores: Vec<String> = filters().into_iter().filter(|a| a != "prune").collect();
        let selected =
            |name: &str| stores.is_empty() || stores.iter().any(|a| name.contains(a.as_str()));
        if selected("memory") {
            measure_prune(&rt, "memory", Arc::new(MemoryStore::new()));
        }
        if selected("sled") {
            let dir = tempfile::tempdir().unwrap();
            let store = helpdesk_store_sled::SledStore::open(dir.path().join("data")).unwrap();
            measure_prune(&rt, "sled", Arc::new(store));
        }
        if selected("postgres")
            && let Some(db) = rt.block_on(helpdesk_store_postgres::testing::TestDb::create(
                "prune bench",
            ))
        {
            measure_prune(&rt, "postgres", db.dyn_store());
        }
        return;
    }
    if named("scale") {
        for messages in [1_000, 1_000_000] {
            let f = rt.block_on(fixture(Arc::new(MemoryStore::new()), messages));
            bench_scale(c, &rt, &format!("scale/memory/{messages}"), &f);
            let dir = tempfile::tempdir().unwrap();
            let store = helpdesk_store_sled::SledStore::open(dir.path().join("data")).unwrap();
            let f = rt.block_on(fixture(Arc::new(store), messages));
            bench_scale(c, &rt, &format!("scale/sled/{messages}"), &f);
        }
        return;
    }
    if selected("memory") {
        let f = rt.block_on(fixture(Arc::new(MemoryStore::new()), MESSAGES));
        bench_store(c, &rt, "memory", &f);
        bench_json(c, &rt, &f);
    }
    if selected("sled") {
        let dir = tempfile::tempdir().unwrap();
        let store = helpdesk_store_sled::SledStore::open(dir.path().join("data")).unwrap();
        let f = rt.block_on(fixture(Arc::new(store), MESSAGES));
        bench_store(c, &rt, "sled", &f);
    }
    if selected("postgres") {
        let db = rt.block_on(helpdesk_store_postgres::testing::TestDb::create(
            "postgres bench",
        ));
        if let Some(db) = db {
            let f = rt.block_on(fixture(db.dyn_store(), MESSAGES));
            bench_store(c, &rt, "postgres", &f);
        }
    }
}

criterion_group!(name = stores; config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5)); targets = benches);
criterion_main!(stores);
