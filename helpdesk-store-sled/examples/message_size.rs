//! Measures the on-disk size of N messages in one conversation (default 100,000), written
//! by 64 concurrent writers through the store's API (so with group-committed flushes).
//!
//! `cargo run -p helpdesk-store-sled --example message_size --release -- [N] [DIR]`

use std::time::Instant;

use chrono::Utc;
use helpdesk_core::conversation::{Conversation, ConversationKind, Member};
use helpdesk_core::event::{Audience, Effects, NewEvent};
use helpdesk_core::message::MessageAppend;
use helpdesk_core::store::ConversationStore;
use helpdesk_store_sled::SledStore;
use uuid::Uuid;

const WRITERS: u64 = 64;

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let tmp = tempfile::tempdir()?;
    let dir = args
        .next()
        .map_or_else(|| tmp.path().to_path_buf(), Into::into);
    let store = SledStore::open(&dir)?;
    let now = Utc::now();
    let users: Vec<Uuid> = (0..2).map(|_| Uuid::now_v7()).collect();
    let conv = Conversation {
        id: Uuid::now_v7(),
        kind: ConversationKind::Group,
        title: Some("size".into()),
        ticket_id: None,
        members: users
            .iter()
            .map(|u| Member {
                user_id: *u,
                joined_at: now,
            })
            .collect(),
        created_by: users[0],
        created_at: now,
        last_message_at: None,
        last_seq: 0,
        last_public_seq: 0,
        public_count: 0,
        direct_key: None,
    };
    store.create_conversation(&conv, &Effects::none()).await?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        let (conv_id, sender) = (conv.id, users[(w % 2) as usize]);
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while i < n {
                let new = MessageAppend {
                    id: Uuid::now_v7(),
                    conversation_id: conv_id,
                    sender_id: sender,
                    content: format!(
                        "Hello, this is message {i}: the printer on floor 3 is jammed again."
                    ),
                    parent_id: None,
                    attachment_ids: Vec::new(),
                    internal: false,
                    created_at: Utc::now(),
                    join_sender: false,
                    channel: Default::default(),
                    ticket_update: None,
                    base: None,
                };
                store
                    .append_message(&new, &|m| {
                        Effects::event(NewEvent::new(
                            helpdesk_core::event::EventKind::MessageCreated,
                            m.created_at,
                            Audience::conversation(m.conversation_id, false),
                            serde_json::json!({ "id": m.id, "seq": m.seq }),
                        ))
                    })
                    .await
                    .expect("append");
                i += WRITERS;
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = started.elapsed();
    store.flush().await?;
    println!(
        "{n} messages (+ {n} events) in {:.1}s ({:.0}/s); sled size_on_disk {:.1} MiB; directory {:.1} MiB",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        store.size_on_disk()? as f64 / 1048576.0,
        dir_size(&dir) as f64 / 1048576.0,
    );
    Ok(())
}
