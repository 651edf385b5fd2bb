//! Moving an installation: sled → PostgreSQL → sled with `helpdesk export` and
//! `helpdesk import` (the first hop through a pipe, as the README shows), comparing every
//! record: the three exports are byte for byte the same. The store holds messages,
//! replies, internal notes, read state, notifications, attachments over several
//! chunks, a KB article, and a webhook with a delivery per event. Each process is
//! measured with `/usr/bin/time -v` (time and peak memory, printed), and its peak memory
//! must stay bounded whatever the store's size.
//!
//! `HELPDESK_ROUND_TRIP_MESSAGES` sets the number of messages (default 3,000, so the
//! test stays short in a debug build); the closing figures for 100,000 come from a run
//! with `HELPDESK_ROUND_TRIP_MESSAGES=100000 cargo test --release -p helpdesk-cli
//! --test processes round_trip -- --nocapture`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use helpdesk_core::event::{Audience, Effects, NewEvent};
use helpdesk_core::message::{MessageAppend, NewMessage};
use helpdesk_core::status::StatusCategory;
use helpdesk_core::store::Store;
use helpdesk_core::ticket::{NewTicket, TicketPatch};
use helpdesk_core::user::NewUser;
use helpdesk_core::webhook::NewWebhook;
use helpdesk_core::{Config, Helpdesk, Principal, Role};
use helpdesk_store_postgres::testing::TestDb;
use serde_json::json;
use uuid::Uuid;

use crate::common::BIN;

/// Peak memory allowed to one export or import process, whatever the store's size.
const MEMORY_BOUND_KIB: u64 = 300 * 1024;

fn stream(
    bytes: Vec<u8>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Unpin + Send {
    futures_util::stream::iter(
        bytes
            .chunks(100_000)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    )
}

/// Fills a new sled store at `path`: a realistic core through the library, then
/// `messages` in all, most of them written through the store's `append_message`
/// concurrently (a `message.created` event each, so a delivery each).
fn seed(path: &Path, messages: usize) {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let store: Arc<dyn Store> =
                Arc::new(helpdesk_store_sled::SledStore::open(&path).unwrap());
            let hd = Helpdesk::new(
                store.clone(),
                Config {
                    webhooks_allow_private: true,
                    ..Config::for_tests()
                },
            );
            let sys = Principal::system();
            let mk = |email: String, role: Role| {
                let hd = hd.clone();
                async move {
                    let u = hd
                        .create_user(&sys, NewUser::new(&email, "Someone", role, "password123"))
                        .await
                        .unwrap();
                    hd.principal(u.id).await.unwrap()
                }
            };
            let admin = mk("admin@example.com".into(), Role::Admin).await;
            let agents = [
                mk("agent1@example.com".into(), Role::Agent).await,
                mk("agent2@example.com".into(), Role::Agent).await,
            ];
            let mut customers = Vec::new();
            for i in 0..20 {
                customers.push(mk(format!("customer{i}@example.com"), Role::Customer).await);
            }
            hd.create_webhook(
                &admin,
                NewWebhook {
                    url: "http://127.0.0.1:9/in".into(),
                    events: vec!["*".into()],
                    description: None,
                    active: None,
                },
            )
            .await
            .unwrap();
            hd.create_article(
                &agents[0],
                helpdesk_core::kb::NewArticle {
                    title: "Resetting your password".into(),
                    body: "Open **Settings**.".into(),
                    slug: None,
                    tags: vec!["account".into()],
                    status: Some(helpdesk_core::kb::ArticleStatus::Published),
                },
            )
            .await
            .unwrap();
            // Tickets, assigned, with a few status moves and multi-chunk attachments.
            let mut convs = Vec::new();
            for i in 0..40 {
                let c = &customers[i % customers.len()];
                let agent = &agents[i % 2];
                let t = hd
                    .create_ticket(c, NewTicket::new(&format!("Ticket {i}"), "Help"))
                    .await
                    .unwrap();
                hd.update_ticket(
                    agent,
                    t.id,
                    TicketPatch {
                        assignee_id: Some(Some(agent.user_id())),
                        status: Some(if i % 3 == 0 {
                            StatusCategory::Pending.into()
                        } else {
                            StatusCategory::Open.into()
                        }),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
                if i < 3 {
                    let bytes: Vec<u8> =
                        (0..700_000u32).map(|b| (b * 31 + i as u32) as u8).collect();
                    hd.upload(
                        c,
                        "dump.bin",
                        "application/octet-stream",
                        Some(t.id),
                        stream(bytes),
                    )
                    .await
                    .unwrap();
                }
                convs.push((t.conversation_id, *c, *agent));
            }
            // Messages through the library: replies, internal notes, reads.
            let through_library = messages.min(200);
            for n in 0..through_library {
                let (conv, c, agent) = convs[n % convs.len()];
                let (who, internal) = match n % 4 {
                    0 | 1 => (c, false),
                    2 => (agent, false),
                    _ => (agent, true),
                };
                let m = hd
                    .send_message(
                        &who,
                        conv,
                        NewMessage {
                            content: format!("message {n} with some words in it"),
                            internal,
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
                if n % 10 == 0 {
                    hd.send_message(
                        &agent,
                        conv,
                        NewMessage {
                            content: format!("reply to {n}"),
                            parent_id: Some(m.message.id),
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
                    hd.mark_read_up_to(&c, conv, m.message.id).await.unwrap();
                }
            }
            // The rest through the store, eight writers at a time.
            let rest = messages.saturating_sub(through_library * 11 / 10);
            let writers = 8;
            let mut tasks = Vec::new();
            for w in 0..writers {
                let store = store.clone();
                let hd = hd.clone();
                let convs = convs.clone();
                tasks.push(tokio::spawn(async move {
                    for n in (w..rest).step_by(writers) {
                        let (conv, c, agent) = convs[n % convs.len()];
                        let sender = if n % 2 == 0 { c } else { agent };
                        let attachment_ids = if n % 500 == 7 {
                            let a = hd
                                .upload(
                                    &sender,
                                    "note.txt",
                                    "text/plain",
                                    None,
                                    stream(vec![b'x'; 16_000]),
                                )
                                .await
                                .unwrap();
                            vec![a.id]
                        } else {
                            vec![]
                        };
                        let at = hd.now();
                        let new = MessageAppend {
                            id: Uuid::now_v7(),
                            conversation_id: conv,
                            sender_id: sender.user_id(),
                            content: format!("bulk message {n}: the printer is on fire again"),
                            parent_id: None,
                            attachment_ids,
                            internal: n % 9 == 0 && sender == agent,
                            created_at: at,
                            join_sender: false,
                            channel: Default::default(),
                            ticket_update: None,
                            base: None,
                        };
                        let effects = |m: &helpdesk_core::message::Message| {
                            Effects::event(NewEvent::new(
                                helpdesk_core::event::EventKind::MessageCreated,
                                at,
                                Audience::conversation(conv, m.internal),
                                json!({"message_id": m.id, "seq": m.seq}),
                            ))
                        };
                        store.append_message(&new, &effects).await.unwrap();
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        });
        drop(rt);
    })
    .join()
    .expect("seeding");
}

/// What `/usr/bin/time -v` measured.
struct Measured {
    seconds: f64,
    peak_kib: u64,
}

fn measure(stderr: &str) -> Option<Measured> {
    let field = |name: &str| {
        stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
    };
    let peak_kib = field("Maximum resident set size (kbytes):")?.parse().ok()?;
    let wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss):")?;
    let mut seconds = 0.0;
    for part in wall.split(':') {
        seconds = seconds * 60.0 + part.parse::<f64>().ok()?;
    }
    Some(Measured { seconds, peak_kib })
}

fn timed() -> Command {
    if Path::new("/usr/bin/time").exists() {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-v").arg(BIN);
        c
    } else {
        Command::new(BIN)
    }
}

fn report(what: &str, stderr: &[u8]) {
    let text = String::from_utf8_lossy(stderr);
    if let Some(m) = measure(&text) {
        eprintln!(
            "{what}: {:.1} s, peak memory {:.1} MiB",
            m.seconds,
            m.peak_kib as f64 / 1024.0
        );
        assert!(
            m.peak_kib < MEMORY_BOUND_KIB,
            "{what} used {} KiB at its peak",
            m.peak_kib
        );
    }
}

fn run_timed(what: &str, store: &str, args: &[&str]) {
    let out = timed()
        .args(args)
        .env("HELPDESK_STORE", store)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    report(what, &out.stderr);
}

#[test]
fn round_trip_sled_postgres_sled_keeps_every_record() {
    let messages: usize = std::env::var("HELPDESK_ROUND_TRIP_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(db) = rt.block_on(TestDb::create(
        "round_trip_sled_postgres_sled_keeps_every_record",
    )) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let started = Instant::now();
    seed(&source, messages);
    eprintln!(
        "seeded {messages} messages in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let sled_a = format!("sled:{}", source.display());
    let pg = db.url();
    let sled_b = format!("sled:{}", dir.path().join("copy").display());

    // sled → PostgreSQL through a pipe.
    let mut export = timed()
        .args(["export", "-"])
        .env("HELPDESK_STORE", &sled_a)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pipe = export.stdout.take().unwrap();
    let import = timed()
        .args(["import", "-"])
        .env("HELPDESK_STORE", &pg)
        .stdin(pipe)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let import = import.wait_with_output().unwrap();
    let export = export.wait_with_output().unwrap();
    assert!(
        export.status.success(),
        "export: {}",
        String::from_utf8_lossy(&export.stderr)
    );
    assert!(
        import.status.success(),
        "import: {}",
        String::from_utf8_lossy(&import.stderr)
    );
    report("export sled (to a pipe)", &export.stderr);
    report("import PostgreSQL (from a pipe)", &import.stderr);

    // PostgreSQL → sled through a file, then every store's export.
    let a = dir.path().join("a.jsonl");
    let p = dir.path().join("p.jsonl");
    let b = dir.path().join("b.jsonl");
    run_timed("export sled", &sled_a, &["export", a.to_str().unwrap()]);
    run_timed("export PostgreSQL", &pg, &["export", p.to_str().unwrap()]);
    run_timed("import sled", &sled_b, &["import", p.to_str().unwrap()]);
    run_timed(
        "export sled copy",
        &sled_b,
        &["export", b.to_str().unwrap()],
    );

    let a = std::fs::read(&a).unwrap();
    let lines = a.iter().filter(|c| **c == b'\n').count();
    eprintln!(
        "archive: {lines} lines, {:.1} MiB",
        a.len() as f64 / (1024.0 * 1024.0)
    );
    assert!(
        lines > messages * 2,
        "messages and their events are all there"
    );
    for (name, other) in [
        ("PostgreSQL", std::fs::read(&p).unwrap()),
        ("sled copy", std::fs::read(&b).unwrap()),
    ] {
        if a != other {
            let first = a
                .split(|c| *c == b'\n')
                .zip(other.split(|c| *c == b'\n'))
                .position(|(x, y)| x != y);
            panic!("the {name} export differs from the original, first at line {first:?}");
        }
    }
}
