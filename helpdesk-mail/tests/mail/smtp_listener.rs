//! The SMTP listener, driven by Python's smtplib, and by hand where order and timing matter.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use helpdesk_mail::{DeliverError, Envelope, InboundSink, ListenerConfig, SmtpListener};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use crate::support::python_json;

/// The pipeline's stand-in: one mailbox, support@example.com (and support+anything@).
struct Inbox {
    mails: Mutex<Vec<(Envelope, Vec<u8>)>>,
    fail_temporarily: AtomicBool,
    /// When set, delivery waits for a permit: the test decides when the commit is done.
    gate: Option<Semaphore>,
}

impl Inbox {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            mails: Mutex::new(Vec::new()),
            fail_temporarily: AtomicBool::new(false),
            gate: None,
        })
    }

    fn mails(&self) -> Vec<(Envelope, Vec<u8>)> {
        self.mails.lock().expect("lock").clone()
    }
}

#[async_trait]
impl InboundSink for Inbox {
    async fn accepts(&self, rcpt: &str) -> Result<bool, DeliverError> {
        let rcpt = rcpt.to_ascii_lowercase();
        let Some((local, domain)) = rcpt.rsplit_once('@') else {
            return Ok(false);
        };
        let base = local.split_once('+').map_or(local, |(base, _)| base);
        Ok(base == "support" && domain == "example.com")
    }

    async fn deliver(&self, envelope: Envelope, raw: Vec<u8>) -> Result<(), DeliverError> {
        if let Some(gate) = &self.gate {
            gate.acquire().await.expect("gate").forget();
        }
        if self.fail_temporarily.load(Ordering::SeqCst) {
            return Err(DeliverError::Temporary("store down".to_owned()));
        }
        self.mails.lock().expect("lock").push((envelope, raw));
        Ok(())
    }
}

async fn listen(inbox: Arc<Inbox>, max_size: usize) -> SmtpListener {
    let config = ListenerConfig {
        hostname: "mx.test".to_owned(),
        max_size,
        ..ListenerConfig::default()
    };
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    SmtpListener::bind(addr, config, inbox).await.expect("bind")
}

fn port(listener: &SmtpListener) -> Vec<String> {
    vec![listener.local_addr().port().to_string()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtplib_mail_reaches_the_sink_with_its_envelope() {
    let inbox = Inbox::new();
    let listener = listen(inbox.clone(), 10_000).await;
    let out = python_json(
        r#"
import json, smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo("client.example")
features = dict(s.esmtp_features)
msg = b"From: a@example.net\r\nSubject: hi\r\n\r\nH\xc3\xa9llo\r\n.dot line\r\n"
refused = s.sendmail("alice@example.net", ["support@example.com", "Support+42-abc@Example.com", "nobody@example.com"], msg, mail_options=["BODY=8BITMIME"])
s.quit()
print(json.dumps({"features": features, "refused": {k: [v[0], v[1].decode()] for k, v in refused.items()}}))
"#,
        &port(&listener),
    )
    .await;
    assert_eq!(out["features"]["size"], "10000");
    assert!(out["features"].get("8bitmime").is_some(), "{out}");
    assert!(out["features"].get("pipelining").is_some(), "{out}");
    assert!(out["features"].get("auth").is_none(), "no AUTH: {out}");
    assert_eq!(out["refused"]["nobody@example.com"][0], 550);
    assert!(
        out["refused"]["nobody@example.com"][1]
            .as_str()
            .unwrap_or("")
            .starts_with("5.1.1"),
        "{out}"
    );

    let mails = inbox.mails();
    assert_eq!(mails.len(), 1);
    let (envelope, raw) = &mails[0];
    assert_eq!(envelope.mail_from, "alice@example.net");
    assert_eq!(
        envelope.rcpt_to,
        ["support@example.com", "Support+42-abc@Example.com"]
    );
    assert_eq!(
        raw.as_slice(),
        b"From: a@example.net\r\nSubject: hi\r\n\r\nH\xc3\xa9llo\r\n.dot line\r\n"
    );
    listener.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hundred_and_first_recipient_is_told_to_come_back() {
    let inbox = Inbox::new();
    let listener = listen(inbox.clone(), 10_000).await;
    let out = python_json(
        r#"
import json, smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
rcpts = ["support+%d@example.com" % i for i in range(1, 102)]
refused = s.sendmail("alice@example.net", rcpts, b"Subject: many\r\n\r\nx\r\n")
s.quit()
print(json.dumps({k: [v[0], v[1].decode()] for k, v in refused.items()}))
"#,
        &port(&listener),
    )
    .await;
    assert_eq!(out.as_object().map(|o| o.len()), Some(1), "{out}");
    assert_eq!(out["support+101@example.com"][0], 452);
    assert!(
        out["support+101@example.com"][1]
            .as_str()
            .unwrap_or("")
            .starts_with("4.5.3"),
        "{out}"
    );
    let mails = inbox.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].0.rcpt_to.len(), 100);
    listener.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_mail_is_refused_with_552() {
    let inbox = Inbox::new();
    let listener = listen(inbox.clone(), 1000).await;
    let out = python_json(
        r#"
import json, smtplib, sys
big = b"Subject: big\r\n\r\n" + b"x" * 78 * 30 + b"\r\n"
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
try:
    s.sendmail("alice@example.net", ["support@example.com"], big)
    declared = None
except smtplib.SMTPSenderRefused as e:
    declared = [e.smtp_code, e.smtp_error.decode()]
# Without SIZE= the limit bites at the end of DATA.
s.rset()
s.mail("alice@example.net")
s.rcpt("support@example.com")
code, text = s.data(big)
after = s.sendmail("alice@example.net", ["support@example.com"], b"Subject: small\r\n\r\nok\r\n")
s.quit()
print(json.dumps({"declared": declared, "data": [code, text.decode()], "after": len(after)}))
"#,
        &port(&listener),
    )
    .await;
    assert_eq!(out["declared"][0], 552, "{out}");
    assert!(
        out["declared"][1]
            .as_str()
            .unwrap_or("")
            .starts_with("5.3.4"),
        "{out}"
    );
    assert_eq!(out["data"][0], 552, "{out}");
    assert!(
        out["data"][1].as_str().unwrap_or("").starts_with("5.3.4"),
        "{out}"
    );
    let mails = inbox.mails();
    assert_eq!(mails.len(), 1, "only the small one came through");
    assert!(String::from_utf8_lossy(&mails[0].1).contains("Subject: small"));
    listener.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_failing_temporarily_answers_451() {
    let inbox = Inbox::new();
    inbox.fail_temporarily.store(true, Ordering::SeqCst);
    let listener = listen(inbox.clone(), 10_000).await;
    let out = python_json(
        r#"
import json, smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
try:
    s.sendmail("alice@example.net", ["support@example.com"], b"Subject: x\r\n\r\nx\r\n")
    result = None
except smtplib.SMTPDataError as e:
    result = [e.smtp_code, e.smtp_error.decode()]
s.quit()
print(json.dumps(result))
"#,
        &port(&listener),
    )
    .await;
    assert_eq!(out[0], 451, "{out}");
    assert!(out[1].as_str().unwrap_or("").starts_with("4.3.0"), "{out}");
    assert!(inbox.mails().is_empty());
    listener.shutdown().await;
}

/// Reads one (possibly multi-line) reply; returns its last line.
async fn read_reply(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
    loop {
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(10), reader.read_line(&mut line))
            .await
            .expect("reply in time")
            .expect("read");
        assert!(n > 0, "connection closed");
        if line.as_bytes().get(3) != Some(&b'-') {
            return line.trim_end().to_owned();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_commands_and_250_only_after_the_commit() {
    let inbox = Arc::new(Inbox {
        mails: Mutex::new(Vec::new()),
        fail_temporarily: AtomicBool::new(false),
        gate: Some(Semaphore::new(0)),
    });
    let listener = listen(inbox.clone(), 10_000).await;
    let stream = TcpStream::connect(listener.local_addr())
        .await
        .expect("connect");
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    assert!(read_reply(&mut reader).await.starts_with("220 mx.test"));
    writer
        .write_all(b"EHLO client.test\r\n")
        .await
        .expect("write");
    assert_eq!(read_reply(&mut reader).await, "250 ENHANCEDSTATUSCODES");
    // One write, four commands: the answers come in order.
    writer
        .write_all(b"MAIL FROM:<> SIZE=40\r\nRCPT TO:<support@example.com>\r\nRCPT TO:<someone@elsewhere.test>\r\nDATA\r\n")
        .await
        .expect("write");
    assert!(
        read_reply(&mut reader).await.starts_with("250 2.1.0"),
        "the null sender is fine"
    );
    assert!(read_reply(&mut reader).await.starts_with("250 2.1.5"));
    assert!(
        read_reply(&mut reader).await.starts_with("550 5.1.1"),
        "no relay"
    );
    assert!(read_reply(&mut reader).await.starts_with("354"));
    writer
        .write_all(b"Subject: bounce\r\n\r\n..stuffed\r\n.\r\n")
        .await
        .expect("write");

    // The sink has not committed: no answer yet.
    let mut line = String::new();
    let early = tokio::time::timeout(Duration::from_millis(500), reader.read_line(&mut line)).await;
    assert!(early.is_err(), "answered before the commit: {line:?}");
    assert!(inbox.mails().is_empty());
    inbox.gate.as_ref().expect("gate").add_permits(1);
    assert!(read_reply(&mut reader).await.starts_with("250 2.0.0"));
    let mails = inbox.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].0,
        Envelope {
            mail_from: String::new(),
            rcpt_to: vec!["support@example.com".to_owned()]
        }
    );
    assert_eq!(
        mails[0].1.as_slice(),
        b"Subject: bounce\r\n\r\n.stuffed\r\n"
    );

    writer.write_all(b"QUIT\r\n").await.expect("write");
    assert!(read_reply(&mut reader).await.starts_with("221"));
    listener.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_tells_idle_sessions_and_stops_listening() {
    let inbox = Inbox::new();
    let listener = listen(inbox, 10_000).await;
    let addr = listener.local_addr();
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (reader, _writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    assert!(read_reply(&mut reader).await.starts_with("220"));
    tokio::time::timeout(Duration::from_secs(10), listener.shutdown())
        .await
        .expect("shutdown in time");
    assert!(read_reply(&mut reader).await.starts_with("421 4.3.2"));
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still listening after shutdown"
    );
}
