//! Connection loss: a PRIVATE PostgreSQL cluster (initdb into a temporary directory, a
//! free port) is stopped under a store and started again. Operations fail with
//! `StoreError::Unavailable` meanwhile and recover by themselves, LISTEN included. The
//! shared server is never touched.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use helpdesk_core::Role;
use helpdesk_core::StoreError;
use helpdesk_core::event::Effects;
use helpdesk_core::store::{EventStore, MetaStore, UserStore};
use helpdesk_core::user::User;
use helpdesk_store_postgres::{PoolConfig, PostgresStore};
use uuid::Uuid;

use crate::common::{admin_url, one_event, t0};

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A throwaway cluster, stopped and removed on drop.
struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
    /// initdb refuses to run as root: then everything runs as `postgres`.
    as_postgres: bool,
}

impl Cluster {
    fn command(&self, program: &str) -> Command {
        let path = Path::new(BIN).join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn init() -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("helpdesk-pg-")
            .tempdir()
            .expect("temp dir");
        let uid = Command::new("id").arg("-u").output().expect("id -u");
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        if as_postgres {
            let ok = Command::new("chown")
                .arg("postgres:")
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(ok.success(), "chown of the cluster directory failed");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let cluster = Cluster {
            dir,
            port,
            as_postgres,
        };
        let out = cluster
            .command("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(cluster.data())
            .output()
            .expect("initdb");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=20",
            self.port,
            self.dir.path().display()
        );
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .output()
            .expect("pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn stop(&self, mode: &str) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", mode, "-w", "-t", "60", "stop"])
            .output();
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop("immediate");
    }
}

fn user(email: &str) -> User {
    User {
        id: Uuid::now_v7(),
        email: email.into(),
        name: "Someone".into(),
        role: Role::Customer,
        is_active: true,
        password_hash: Some("x".into()),
        organization_id: None,
        is_org_manager: false,
        is_service: false,
        read_receipts: Default::default(),
        email_notifications: false,
        created_at: t0(),
        updated_at: t0(),
    }
}

async fn until_ok<F, Fut, T>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match f().await {
            Ok(v) => return v,
            Err(e) if tokio::time::Instant::now() < deadline => {
                assert!(matches!(e, StoreError::Unavailable(_)), "{what}: {e:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("{what} did not recover: {e:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_fail_unavailable_while_postgres_is_down_and_recover() {
    if admin_url("operations_fail_unavailable_while_postgres_is_down_and_recover").is_none() {
        return;
    }
    if !Path::new(BIN).join("initdb").exists() {
        eprintln!(
            "skipped operations_fail_unavailable_while_postgres_is_down_and_recover: no {BIN}/initdb"
        );
        return;
    }
    let cluster = tokio::task::spawn_blocking(|| {
        let c = Cluster::init();
        c.start();
        c
    })
    .await
    .unwrap();
    let store = PostgresStore::connect_with(
        &cluster.url(),
        PoolConfig {
            max_connections: 4,
            acquire_timeout: Duration::from_secs(2),
        },
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    // Another instance's writes wake this store's waiters (its own do not).
    let other = PostgresStore::connect(&cluster.url()).await.unwrap();
    let before = user("before@example.com");
    store.insert_user(&before, &Effects::none()).await.unwrap();
    // The LISTEN connection is up.
    let first_wait = {
        let s = store.clone();
        tokio::spawn(async move { s.wait_for_external_events().await })
    };
    while !first_wait.is_finished() {
        other.append_effects(&one_event("up", 0)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop("fast");
        cluster
    })
    .await
    .unwrap();
    for result in [
        store.ping().await.map(|_| ()),
        store.get_user(before.id).await.map(|_| ()),
        store
            .insert_user(&user("down@example.com"), &Effects::none())
            .await,
        store.events_after(None, 10).await.map(|_| ()),
    ] {
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "expected Unavailable while the server is down, got {result:?}"
        );
    }

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.start();
        cluster
    })
    .await
    .unwrap();
    until_ok("ping", || store.ping()).await;
    let found = until_ok("get_user", || store.get_user(before.id)).await;
    assert_eq!(found, Some(before));
    store
        .insert_user(&user("after@example.com"), &Effects::none())
        .await
        .unwrap();
    assert_eq!(store.count_users().await.unwrap(), 2);
    // LISTEN reconnects too: a write wakes a waiter again.
    let waiter = {
        let s = store.clone();
        tokio::spawn(async move {
            loop {
                if s.wait_for_external_events().await.is_ok() {
                    return;
                }
            }
        })
    };
    let woke = tokio::time::timeout(Duration::from_secs(30), async {
        while !waiter.is_finished() {
            let _ = other.append_effects(&one_event("again", 1)).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(woke.is_ok(), "the listener did not recover");
    other.close().await;
    store.close().await;
    drop(cluster);
}
