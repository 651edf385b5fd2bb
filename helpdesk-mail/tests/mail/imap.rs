//! The IMAP poller against dovecot: fed with APPEND, checked with FETCH FLAGS and SEARCH.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_imap::Session;
use async_imap::types::Flag;
use async_trait::async_trait;
use futures_util::TryStreamExt;
use helpdesk_mail::{
    AfterIngest, Backoff, ImapConfig, ImapError, ImapSink, ImapState, ImapTls, SinkError, Wake,
    poll_once, test_login, wait_for_mail,
};
use tokio::net::TcpStream;

use crate::support::Dovecot;

/// A sink that records what it got; `fail_next` makes the next ingest "commit" (record) and
/// then fail, as a crash between commit and flag would look to the poller.
#[derive(Default)]
struct Recorder {
    mails: Mutex<Vec<(Vec<u8>, bool)>>,
    cursors: Mutex<Vec<(u32, u32)>>,
    fail_next: AtomicBool,
}

#[async_trait]
impl ImapSink for Recorder {
    async fn ingest(&self, raw: Vec<u8>, too_large: bool) -> Result<(), SinkError> {
        self.mails.lock().expect("lock").push((raw, too_large));
        if self.fail_next.swap(false, Ordering::SeqCst) {
            return Err(SinkError::new("crashed after commit"));
        }
        Ok(())
    }

    async fn cursor(&self, uidvalidity: u32, last_uid: u32) -> Result<(), SinkError> {
        self.cursors
            .lock()
            .expect("lock")
            .push((uidvalidity, last_uid));
        Ok(())
    }
}

impl Recorder {
    /// The cursor as the caller would have stored it.
    fn state(&self) -> ImapState {
        let last = self.cursors.lock().expect("lock").last().copied();
        ImapState {
            uidvalidity: last.map(|c| c.0),
            last_uid: last.map(|c| c.1),
        }
    }

    /// The subjects of the mails ingested so far, in order.
    fn subjects(&self) -> Vec<String> {
        self.mails
            .lock()
            .expect("lock")
            .iter()
            .map(|(raw, _)| {
                let text = String::from_utf8_lossy(raw);
                text.lines()
                    .find_map(|l| l.strip_prefix("Subject: ").map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect()
    }
}

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@example.net>\r\nTo: support@example.com\r\nSubject: {subject}\r\nMessage-ID: <{}@example.net>\r\n\r\nHello, {subject}.\r\n",
        subject.replace(' ', "-")
    )
    .into_bytes()
}

fn config(dovecot: &Dovecot, after: AfterIngest) -> ImapConfig {
    ImapConfig {
        host: "127.0.0.1".to_owned(),
        port: dovecot.port,
        tls: ImapTls::None,
        username: dovecot.user.clone(),
        password: dovecot.password.clone(),
        folder: "INBOX".to_owned(),
        after,
        max_size: 1024 * 1024,
        timeout: Duration::from_secs(10),
    }
}

/// A second client, as a person's mail program would be.
async fn admin(dovecot: &Dovecot) -> Session<TcpStream> {
    let tcp = TcpStream::connect(("127.0.0.1", dovecot.port))
        .await
        .expect("connect");
    let mut client = async_imap::Client::new(tcp);
    client
        .read_response()
        .await
        .expect("greeting")
        .expect("greeting");
    client
        .login(&dovecot.user, &dovecot.password)
        .await
        .map_err(|(err, _)| err)
        .expect("login")
}

async fn append(admin: &mut Session<TcpStream>, folder: &str, seen: bool, subject: &str) {
    let flags = seen.then_some("(\\Seen)");
    admin
        .append(folder, flags, None, mail(subject))
        .await
        .expect("APPEND");
}

/// (uid, seen) of every message in `folder`, by UID.
async fn messages(admin: &mut Session<TcpStream>, folder: &str) -> Vec<(u32, bool)> {
    admin.select(folder).await.expect("SELECT");
    let fetched: Vec<_> = admin
        .fetch("1:*", "(UID FLAGS)")
        .await
        .expect("FETCH")
        .try_collect()
        .await
        .expect("FETCH");
    let mut found: Vec<(u32, bool)> = fetched
        .iter()
        .map(|f| {
            (
                f.uid.expect("uid"),
                f.flags().any(|flag| flag == Flag::Seen),
            )
        })
        .collect();
    found.sort_unstable();
    admin.close().await.expect("CLOSE");
    found
}

async fn exists(admin: &mut Session<TcpStream>, folder: &str) -> u32 {
    admin.examine(folder).await.expect("EXAMINE").exists
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_poll_takes_unseen_only_then_new_mail_by_uid() {
    let dovecot = Dovecot::start().await;
    let mut admin = admin(&dovecot).await;
    append(&mut admin, "INBOX", true, "old read").await;
    append(&mut admin, "INBOX", false, "old unread").await;
    append(&mut admin, "INBOX", true, "read later").await;
    let sink = Recorder::default();
    let config = config(&dovecot, AfterIngest::Seen);

    let first = poll_once(&config, ImapState::default(), &sink)
        .await
        .expect("first poll");
    assert!(first.restarted);
    assert_eq!(first.ingested, vec![2]);
    assert_eq!(
        first.last_uid, 3,
        "read mail above the unread one is behind the cursor too"
    );
    assert_eq!(sink.subjects(), ["old unread"]);
    assert_eq!(
        sink.state(),
        ImapState {
            uidvalidity: Some(first.uidvalidity),
            last_uid: Some(3)
        }
    );
    assert_eq!(
        messages(&mut admin, "INBOX").await,
        [(1, true), (2, true), (3, true)]
    );

    append(&mut admin, "INBOX", false, "new one").await;
    append(&mut admin, "INBOX", true, "new but read elsewhere").await;
    let second = poll_once(&config, sink.state(), &sink)
        .await
        .expect("second poll");
    assert!(!second.restarted);
    assert!(
        dovecot
            .commands()
            .contains(&"UID SEARCH UID 4:*".to_owned())
    );
    assert_eq!(
        second.ingested,
        vec![4, 5],
        "new mail goes by UID, read or not"
    );
    assert_eq!(
        sink.subjects(),
        ["old unread", "new one", "new but read elsewhere"]
    );
    assert_eq!(
        sink.cursors.lock().expect("lock")[1..],
        [(first.uidvalidity, 4), (first.uidvalidity, 5)]
    );
    assert!(
        messages(&mut admin, "INBOX")
            .await
            .iter()
            .all(|(_, seen)| *seen)
    );

    // `UID 6:*` still matches message 5 on the server: it must not come again.
    let third = poll_once(&config, sink.state(), &sink)
        .await
        .expect("third poll");
    assert!(third.ingested.is_empty(), "{third:?}");
    assert_eq!(sink.mails.lock().expect("lock").len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingested_mail_is_moved_when_asked() {
    let dovecot = Dovecot::start().await;
    let mut admin = admin(&dovecot).await;
    admin.create("Processed").await.expect("CREATE");
    append(&mut admin, "INBOX", false, "one").await;
    append(&mut admin, "INBOX", false, "two").await;
    let sink = Recorder::default();
    let config = config(
        &dovecot,
        AfterIngest::Move {
            to: "Processed".to_owned(),
        },
    );

    let report = poll_once(&config, ImapState::default(), &sink)
        .await
        .expect("poll");
    assert_eq!(report.ingested, vec![1, 2]);
    assert_eq!(exists(&mut admin, "INBOX").await, 0, "moved out of INBOX");
    let commands = dovecot.commands();
    assert!(
        commands.contains(&"UID MOVE 2 \"Processed\"".to_owned()),
        "{commands:?}"
    );
    assert_eq!(exists(&mut admin, "Processed").await, 2);
    // MOVE keeps them unread where they land: the flag is not the marker, the folder is.
    assert_eq!(messages(&mut admin, "Processed").await.len(), 2);

    append(&mut admin, "INBOX", false, "three").await;
    let next = poll_once(&config, sink.state(), &sink).await.expect("poll");
    assert_eq!(next.ingested, vec![3]);
    assert_eq!(sink.subjects(), ["one", "two", "three"]);
    assert_eq!(exists(&mut admin, "Processed").await, 3);
}

/// Servers without MOVE: UID COPY, `\Deleted`, then UID EXPUNGE (UIDPLUS) or EXPUNGE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_move_mail_is_copied_deleted_and_expunged() {
    for capabilities in ["IMAP4rev1 IDLE UIDPLUS", "IMAP4rev1 IDLE"] {
        let dovecot = Dovecot::start_with(&format!("imap_capability = {capabilities}")).await;
        let mut admin = admin(&dovecot).await;
        let advertised = admin.capabilities().await.expect("CAPABILITY");
        assert!(
            !advertised.has_str("MOVE"),
            "{capabilities}: MOVE still offered"
        );
        admin.create("Processed").await.expect("CREATE");
        append(&mut admin, "INBOX", false, "one").await;
        append(&mut admin, "INBOX", false, "two").await;
        let sink = Recorder::default();
        let config = config(
            &dovecot,
            AfterIngest::Move {
                to: "Processed".to_owned(),
            },
        );
        let report = poll_once(&config, ImapState::default(), &sink)
            .await
            .unwrap_or_else(|err| panic!("{capabilities}: {err}\n{}", dovecot.log()));
        assert_eq!(report.ingested, vec![1, 2], "{capabilities}");
        assert_eq!(
            exists(&mut admin, "INBOX").await,
            0,
            "{capabilities}: expunged"
        );
        assert_eq!(
            exists(&mut admin, "Processed").await,
            2,
            "{capabilities}: copied"
        );
        let commands = dovecot.commands();
        assert!(!commands.iter().any(|c| c.contains("MOVE")), "{commands:?}");
        assert!(
            commands.contains(&"UID COPY 1 \"Processed\"".to_owned()),
            "{commands:?}"
        );
        assert!(
            commands.contains(&"UID STORE 1 +FLAGS.SILENT (\\Deleted)".to_owned()),
            "{commands:?}"
        );
        let expunge = if capabilities.contains("UIDPLUS") {
            "UID EXPUNGE 1"
        } else {
            "EXPUNGE"
        };
        assert!(
            commands.contains(&expunge.to_owned()),
            "{capabilities}: {commands:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_uidvalidity_restarts_the_cursor() {
    let dovecot = Dovecot::start().await;
    let mut admin = admin(&dovecot).await;
    admin.create("Support").await.expect("CREATE");
    append(&mut admin, "Support", false, "before").await;
    let sink = Recorder::default();
    let config = ImapConfig {
        folder: "Support".to_owned(),
        ..config(&dovecot, AfterIngest::Seen)
    };
    let first = poll_once(&config, ImapState::default(), &sink)
        .await
        .expect("poll");
    assert_eq!(first.ingested, vec![1]);

    admin.delete("Support").await.expect("DELETE");
    admin.create("Support").await.expect("CREATE");
    append(&mut admin, "Support", true, "recreated read").await;
    append(&mut admin, "Support", false, "recreated unread").await;
    let state = sink.state();
    let second = poll_once(&config, state, &sink).await.expect("poll");
    assert_ne!(
        second.uidvalidity, first.uidvalidity,
        "dovecot gave the new folder a new UIDVALIDITY"
    );
    assert!(second.restarted);
    assert_eq!(
        second.ingested,
        vec![2],
        "UNSEEN only, though both UIDs are above the old cursor's"
    );
    assert_eq!(
        sink.state(),
        ImapState {
            uidvalidity: Some(second.uidvalidity),
            last_uid: Some(2)
        }
    );
    assert_eq!(sink.subjects(), ["before", "recreated unread"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_failure_fetches_the_mail_again_next_poll() {
    let dovecot = Dovecot::start().await;
    let mut admin = admin(&dovecot).await;
    let sink = Recorder::default();
    let config = config(&dovecot, AfterIngest::Seen);
    // An empty folder still sets the cursor.
    let empty = poll_once(&config, ImapState::default(), &sink)
        .await
        .expect("poll");
    assert_eq!(
        sink.state(),
        ImapState {
            uidvalidity: Some(empty.uidvalidity),
            last_uid: Some(0)
        }
    );

    append(&mut admin, "INBOX", false, "fragile").await;
    append(&mut admin, "INBOX", false, "after it").await;
    sink.fail_next.store(true, Ordering::SeqCst);
    let err = poll_once(&config, sink.state(), &sink)
        .await
        .expect_err("the sink failed");
    assert!(matches!(err, ImapError::Sink(_)), "{err}");
    assert!(err.to_string().contains("crashed after commit"), "{err}");
    assert_eq!(sink.state().last_uid, Some(0), "the cursor did not move");
    assert_eq!(
        messages(&mut admin, "INBOX").await,
        [(1, false), (2, false)],
        "nothing flagged"
    );

    let retry = poll_once(&config, sink.state(), &sink).await.expect("poll");
    assert_eq!(retry.ingested, vec![1, 2]);
    assert_eq!(
        sink.subjects(),
        ["fragile", "fragile", "after it"],
        "fetched again: the pipeline dedupes"
    );
    assert_eq!(messages(&mut admin, "INBOX").await, [(1, true), (2, true)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_mail_is_handed_over_as_headers_only() {
    let dovecot = Dovecot::start().await;
    let mut admin = admin(&dovecot).await;
    let big = format!(
        "From: Alice <alice@example.net>\r\nSubject: big\r\nMessage-ID: <big@example.net>\r\n\r\n{}\r\n",
        "BODYTEXT ".repeat(500)
    );
    admin
        .append("INBOX", None, None, big.as_bytes())
        .await
        .expect("APPEND");
    append(&mut admin, "INBOX", false, "small").await;
    let sink = Recorder::default();
    let config = ImapConfig {
        max_size: 1000,
        ..config(&dovecot, AfterIngest::Seen)
    };

    let report = poll_once(&config, ImapState::default(), &sink)
        .await
        .expect("poll");
    assert_eq!(report.too_large, vec![1]);
    assert_eq!(report.ingested, vec![2]);
    let mails = sink.mails.lock().expect("lock").clone();
    let (headers, too_large) = &mails[0];
    assert!(*too_large);
    let headers = String::from_utf8_lossy(headers);
    assert!(
        headers.contains("Message-ID: <big@example.net>"),
        "{headers}"
    );
    assert!(!headers.contains("BODYTEXT"), "no body: {headers}");
    assert!(!mails[1].1, "the small one is whole");
    assert_eq!(
        messages(&mut admin, "INBOX").await,
        [(1, true), (2, true)],
        "flagged as usual"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_login_reports_what_is_wrong() {
    let dovecot = Dovecot::start().await;
    let good = config(&dovecot, AfterIngest::Seen);
    assert_eq!(test_login(&good).await, Ok(()), "{}", dovecot.log());

    let wrong_password = ImapConfig {
        password: "nope".to_owned(),
        ..good.clone()
    };
    let err = test_login(&wrong_password).await.expect_err("bad password");
    assert!(err.contains("login refused"), "{err}");

    let no_folder = ImapConfig {
        folder: "Nowhere".to_owned(),
        ..good.clone()
    };
    let err = test_login(&no_folder).await.expect_err("no such folder");
    assert!(err.contains("Nowhere"), "{err}");

    // TLS against a plain server: implicit TLS meets the greeting, STARTTLS is refused
    // (ssl = no); neither goes on to LOGIN in clear.
    let implicit = ImapConfig {
        tls: ImapTls::Implicit,
        ..good.clone()
    };
    let err = test_login(&implicit).await.expect_err("no TLS there");
    assert!(err.starts_with("TLS failed"), "{err}");
    let starttls = ImapConfig {
        tls: ImapTls::StartTls,
        ..good.clone()
    };
    let err = test_login(&starttls).await.expect_err("no STARTTLS there");
    assert!(err.contains("STARTTLS"), "{err}");

    let closed = ImapConfig {
        port: crate::support::free_port(),
        ..good
    };
    let err = test_login(&closed).await.expect_err("nothing listens");
    assert!(err.contains("cannot connect"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_wakes_on_new_mail_and_times_out_without() {
    let dovecot = Dovecot::start().await;
    let mut admin = admin(&dovecot).await;
    let sink = Recorder::default();
    let config = config(&dovecot, AfterIngest::Seen);
    poll_once(&config, ImapState::default(), &sink)
        .await
        .expect("poll");
    let state = sink.state();

    let quiet = wait_for_mail(&config, state, Duration::from_secs(1)).await;
    assert_eq!(quiet.expect("wait"), Wake::Timeout);
    // dovecot logs a command once it finished, which for IDLE is after our DONE: give the
    // log line a moment to land.
    let mut idled = false;
    for _ in 0..60 {
        idled = dovecot.commands().contains(&"IDLE".to_owned());
        if idled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(idled, "{:?}", dovecot.commands());

    let waiting = {
        let config = config.clone();
        tokio::spawn(async move { wait_for_mail(&config, state, Duration::from_secs(30)).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    append(&mut admin, "INBOX", false, "wake up").await;
    let woke = waiting.await.expect("join").expect("wait");
    assert_eq!(woke, Wake::NewData);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "woke late: {:?}",
        started.elapsed()
    );

    // Mail already past the cursor: no waiting at all.
    let started = std::time::Instant::now();
    let behind = wait_for_mail(&config, state, Duration::from_secs(30)).await;
    assert_eq!(behind.expect("wait"), Wake::NewData);
    assert!(started.elapsed() < Duration::from_secs(5));
    let report = poll_once(&config, state, &sink).await.expect("poll");
    assert_eq!(report.ingested, vec![1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_idle_the_caller_is_told_to_sleep() {
    let dovecot = Dovecot::start_with("imap_capability = IMAP4rev1 UIDPLUS MOVE").await;
    let sink = Recorder::default();
    let config = config(&dovecot, AfterIngest::Seen);
    poll_once(&config, ImapState::default(), &sink)
        .await
        .expect("poll");
    let wake = wait_for_mail(&config, sink.state(), Duration::from_secs(30)).await;
    assert_eq!(wake.expect("wait"), Wake::Unsupported);
    assert!(!dovecot.commands().contains(&"IDLE".to_owned()));
}

#[test]
fn backoff_doubles_up_to_fifteen_minutes_and_resets() {
    let mut backoff = Backoff::new(Duration::from_secs(60));
    let delays: Vec<u64> = (0..7).map(|_| backoff.failed().as_secs()).collect();
    assert_eq!(delays, [60, 120, 240, 480, 900, 900, 900]);
    backoff.succeeded();
    assert_eq!(backoff.current(), None);
    assert_eq!(backoff.failed(), Duration::from_secs(60));
}
