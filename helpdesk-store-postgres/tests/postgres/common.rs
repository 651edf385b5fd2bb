//! A fresh database per test: created from the admin URL under a UUID name, migrated,
//! and dropped when the handle goes away (even when the test fails).

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use helpdesk_core::conversation::{Conversation, ConversationKind, Member};
use helpdesk_core::event::{Audience, Effects, NewEvent};
use helpdesk_core::store::Store;
use helpdesk_core::ticket::{NewTicket, Priority, Ticket, TicketStatus};
use helpdesk_store_postgres::{PoolConfig, PostgresStore};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use uuid::Uuid;

/// The environment variable with the admin URL.
pub const URL_VAR: &str = "HELPDESK_TEST_DATABASE_URL";

/// The admin URL, or `None` after printing that `test` skipped.
pub fn admin_url(test: &str) -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("skipped {test}: {URL_VAR} is not set (PostgreSQL tests need a server)");
            None
        }
    }
}

/// A database of its own for one test.
pub struct TestDb {
    /// A migrated store over it.
    pub store: PostgresStore,
    /// Connection options of the database.
    pub options: PgConnectOptions,
    admin: String,
    name: String,
}

impl TestDb {
    /// Creates and migrates a database, or `None` (skipped) without the URL.
    pub async fn create(test: &str) -> Option<TestDb> {
        let admin = admin_url(test)?;
        Some(Self::create_at(&admin).await)
    }

    /// Creates and migrates a database on the server of `admin`.
    pub async fn create_at(admin: &str) -> TestDb {
        let name = format!("helpdesk_test_{}", Uuid::now_v7().simple());
        let mut conn = PgConnection::connect(admin)
            .await
            .expect("admin connection");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .expect("create database");
        conn.close().await.ok();
        let options: PgConnectOptions = admin.parse().expect("admin url");
        let options = options.database(&name);
        let store = PostgresStore::connect_with_options(options.clone(), PoolConfig::default());
        store.migrate().await.expect("migrate");
        TestDb {
            store,
            options,
            admin: admin.to_owned(),
            name,
        }
    }

    /// Another store (its own pool and listener) on the same database.
    pub fn second_store(&self) -> PostgresStore {
        PostgresStore::connect_with_options(self.options.clone(), PoolConfig::default())
    }

    /// The store as the trait object the library uses.
    pub fn dyn_store(&self) -> Arc<dyn Store> {
        Arc::new(self.store.clone())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        let store = self.store.clone();
        // Dropping runs on a thread with its own runtime: the test's runtime may be
        // gone or busy, and Drop cannot await.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                // Not `close()`: it waits for connections that tasks of the (possibly
                // blocked) test runtime still hold. FORCE ends those sessions instead.
                store.stop_listener();
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .execute(&mut conn)
                            .await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = done.join();
    }
}

/// A fixed start time (microsecond precision, as the core clock gives).
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

/// A new ticket with its conversation, for `requester`.
pub fn new_ticket(requester: Uuid, at: DateTime<Utc>) -> NewTicket {
    let ticket_id = Uuid::now_v7();
    let conversation = Conversation {
        id: Uuid::now_v7(),
        kind: ConversationKind::Ticket,
        title: Some("Printer on fire".into()),
        ticket_id: Some(ticket_id),
        members: vec![Member {
            user_id: requester,
            joined_at: at,
        }],
        created_by: requester,
        created_at: at,
        last_message_at: None,
        last_seq: 0,
        last_public_seq: 0,
        public_count: 0,
        direct_key: None,
    };
    NewTicket {
        ticket: Ticket {
            id: ticket_id,
            number: 0,
            subject: "Printer on fire".into(),
            description: "It is on fire.".into(),
            status: TicketStatus::Open,
            priority: Priority::Normal,
            requester_id: requester,
            assignee_id: None,
            tags: vec![],
            conversation_id: conversation.id,
            created_at: at,
            updated_at: at,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
            version: 1,
        },
        conversation,
        attachment_ids: vec![],
    }
}

/// A group conversation of `members`.
pub fn group(members: &[Uuid], at: DateTime<Utc>) -> Conversation {
    Conversation {
        id: Uuid::now_v7(),
        kind: ConversationKind::Group,
        title: Some("group".into()),
        ticket_id: None,
        members: members
            .iter()
            .map(|u| Member {
                user_id: *u,
                joined_at: at,
            })
            .collect(),
        created_by: members[0],
        created_at: at,
        last_message_at: None,
        last_seq: 0,
        last_public_seq: 0,
        public_count: 0,
        direct_key: None,
    }
}

/// Effects of one event of `kind` (webhook-visible, no live audience).
pub fn one_event(kind: &str, n: u64) -> Effects {
    Effects::event(NewEvent::new(
        kind,
        t0(),
        Audience::nobody(),
        serde_json::json!({ "n": n }),
    ))
}
