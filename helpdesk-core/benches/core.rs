//! Micro-benchmarks of core paths that no store dominates: read-up-to on a 100,000-message
//! conversation once it is a no-op (the receipt arithmetic and permission checks), and the
//! JSON encoding of a page of messages. Sending, listing and mark-all-read on every store
//! are in the `helpdesk` crate's `stores` bench.
//!
//! `cargo bench -p helpdesk-core --bench core`

use std::sync::Arc;

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use helpdesk_core::conversation::{ConversationKind, NewConversation};
use helpdesk_core::message::{MessagePageQuery, NewMessageInput, message_json};
use helpdesk_core::store::memory::MemoryStore;
use helpdesk_core::user::NewUser;
use helpdesk_core::{Config, Helpdesk, Principal, Role};
use uuid::Uuid;

const MESSAGES: usize = 100_000;

struct Fixture {
    hd: Helpdesk,
    bob: Principal,
    conv: Uuid,
    middle: Uuid,
}

async fn fixture() -> Fixture {
    let hd = Helpdesk::new(Arc::new(MemoryStore::new()), Config::for_tests());
    let sys = Principal::system();
    let a = hd
        .create_user(
            &sys,
            NewUser::new("alice@example.com", "Alice", Role::Agent, "password-a"),
        )
        .await
        .unwrap();
    let b = hd
        .create_user(
            &sys,
            NewUser::new("bob@example.com", "Bob", Role::Agent, "password-b"),
        )
        .await
        .unwrap();
    let (alice, bob) = (Principal::user(a.id, a.role), Principal::user(b.id, b.role));
    let (view, _) = hd
        .create_conversation(
            &alice,
            NewConversation {
                kind: ConversationKind::Direct,
                title: None,
                member_ids: vec![b.id],
            },
        )
        .await
        .unwrap();
    let conv = view.conversation.id;
    let mut middle = Uuid::nil();
    for i in 0..MESSAGES {
        let m = hd
            .send_message(
                &alice,
                conv,
                NewMessageInput::text(&format!("message number {i} with some words")),
            )
            .await
            .unwrap();
        if i == MESSAGES / 2 {
            middle = m.message.id;
        }
    }
    Fixture {
        hd,
        bob,
        conv,
        middle,
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let f = rt.block_on(fixture());

    c.bench_function("mark_read_up_to middle (no-op after first)", |b| {
        b.to_async(&rt).iter(|| async {
            f.hd.mark_read_up_to(&f.bob, f.conv, f.middle)
                .await
                .unwrap()
        })
    });
    let page = rt
        .block_on(f.hd.list_messages(&f.bob, f.conv, MessagePageQuery::default()))
        .unwrap();
    c.bench_function("json encode a page of 50 messages", |b| {
        b.iter(|| {
            let items: Vec<serde_json::Value> = page.items.iter().map(message_json).collect();
            black_box(serde_json::to_vec(&items).unwrap())
        })
    });
}

criterion_group!(name = core; config = Criterion::default().sample_size(30); targets = benches);
criterion_main!(core);
