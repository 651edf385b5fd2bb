//! Fresh databases for tests (this crate's, the server's end-to-end tests): each is
//! created from an admin URL under a UUID name, migrated, and dropped when its handle
//! goes away, even when the test fails.

use std::sync::Arc;

use helpdesk_core::store::Store;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use uuid::Uuid;

use crate::{PoolConfig, PostgresStore};

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

    /// The database's URL (the admin URL naming this database), for other processes.
    pub fn url(&self) -> String {
        let (base, query) = match self.admin.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (self.admin.as_str(), None),
        };
        let host_start = base.find("://").map_or(0, |i| i + 3);
        let host_end = base[host_start..]
            .find('/')
            .map_or(base.len(), |i| host_start + i);
        let mut url = format!("{}/{}", &base[..host_end], self.name);
        if let Some(q) = query {
            url.push('?');
            url.push_str(q);
        }
        url
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
