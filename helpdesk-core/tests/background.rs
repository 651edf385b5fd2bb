//! `spawn_background` runs the webhook worker for an embedding application, and stops.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use helpdesk_core::store::memory::MemoryStore;
use helpdesk_core::ticket::NewTicket;
use helpdesk_core::user::NewUser;
use helpdesk_core::webhook::{NewWebhook, SendOutcome, WebhookTransport};
use helpdesk_core::{Background, Config, Helpdesk, Principal, Role};

#[derive(Default)]
struct Recorder(Mutex<Vec<(String, String)>>);

#[async_trait]
impl WebhookTransport for Recorder {
    async fn send(&self, url: &str, _headers: &[(String, String)], body: &[u8]) -> SendOutcome {
        let body = String::from_utf8_lossy(body).into_owned();
        self.0.lock().unwrap().push((url.to_string(), body));
        SendOutcome::Status(200)
    }
}

#[tokio::test]
async fn the_background_worker_delivers_webhooks_until_shut_down() {
    let config = Config {
        webhooks_allow_private: true,
        ..Config::for_tests()
    };
    let hd = Helpdesk::new(Arc::new(MemoryStore::new()), config);
    let recorder = Arc::new(Recorder::default());
    let tasks = hd.spawn_background(Background {
        webhooks: Some(recorder.clone()),
        ..Background::for_helpdesk(&hd)
    });
    let system = Principal::system();
    let hook = NewWebhook {
        url: "http://127.0.0.1:9/hook".into(),
        events: vec!["ticket.created".into()],
        description: None,
        active: None,
    };
    hd.create_webhook(&system, hook).await.unwrap();
    let carol = hd
        .create_user(
            &system,
            NewUser::new(
                "carol@example.com",
                "Carol",
                Role::Customer,
                "a long password",
            ),
        )
        .await
        .unwrap();
    let me = hd.principal(carol.id).await.unwrap();
    hd.create_ticket(&me, NewTicket::new("Printer", "On fire"))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let sent = recorder.0.lock().unwrap().clone();
        if let Some((url, body)) = sent.first() {
            assert_eq!(url, "http://127.0.0.1:9/hook");
            assert!(body.contains("\"ticket.created\""), "{body}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no delivery within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::timeout(
        Duration::from_secs(10),
        tasks.shutdown(Duration::from_secs(5)),
    )
    .await
    .expect("the background tasks stop");
}

/// Dropping the last handle of a `Helpdesk` lets go of its store at once (the event
/// tailer does not hold it until its next poll), so an embedder can reopen a database
/// that allows one opener, such as sled, in the same process.
#[tokio::test]
async fn dropping_the_helpdesk_lets_go_of_its_store() {
    let store = Arc::new(MemoryStore::new());
    let hd = Helpdesk::new(store.clone(), Config::for_tests());
    hd.create_user(
        &Principal::system(),
        NewUser::new("ada@example.com", "Ada", Role::Agent, "a long password"),
    )
    .await
    .unwrap();
    // Let the tailer read that write and go back to waiting, as it is when idle.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    drop(hd);
    for _ in 0..100 {
        if Arc::strong_count(&store) == 1 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(Arc::strong_count(&store), 1, "nothing else holds the store");
}
