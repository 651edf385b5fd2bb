//! The SMTP listener (`--smtp-bind`): plain SMTP for loopback or behind an MTA, no AUTH, no
//! relay, `SIZE`, `8BITMIME`, `PIPELINING`. Every accepted mail goes to an [`InboundSink`];
//! the `250` after `DATA` is sent only once the sink says the mail is committed.
//!
//! Why not `mailin-embedded`: its `serve()` runs forever (no way to stop it), its EHLO offers
//! only `8BITMIME` (no `SIZE`, no `PIPELINING`), and its parser (mailin 0.6) answers `500` to
//! `MAIL FROM:<>` (every bounce) and to the `SIZE=` parameter a client sends once `SIZE` is
//! offered. The protocol is small, so it is spoken here over tokio, as RFC 5321 says.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

mod session;
use session::serve;

/// Who sent a mail and to whom, as the SMTP client said (`MAIL FROM`, `RCPT TO`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse path without `<>`; empty for the null sender (`MAIL FROM:<>`, bounces).
    pub mail_from: String,
    /// The accepted recipients, in order, without `<>`, each once.
    pub rcpt_to: Vec<String>,
}

/// Why a sink did not take a mail (or a recipient).
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// The store is unavailable or busy: the client should retry later (`451 4.3.0`).
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// The mail is refused for good (`554 5.6.0`); the client bounces it.
    #[error("refused: {0}")]
    Permanent(String),
}

/// What the listener hands accepted mail to: the ingest pipeline implements it.
///
/// ```no_run
/// use std::sync::Arc;
/// use helpdesk_mail::{DeliverError, Envelope, InboundSink, ListenerConfig, SmtpListener};
///
/// struct Pipeline;
///
/// #[async_trait::async_trait]
/// impl InboundSink for Pipeline {
///     async fn accepts(&self, rcpt: &str) -> Result<bool, DeliverError> {
///         let rcpt = rcpt.to_ascii_lowercase();
///         Ok(rcpt == "support@example.com"
///             || (rcpt.starts_with("support+") && rcpt.ends_with("@example.com")))
///     }
///
///     async fn deliver(&self, envelope: Envelope, raw: Vec<u8>) -> Result<(), DeliverError> {
///         // Parse, dedupe, classify, thread, store; return once committed.
///         let _ = (envelope, raw);
///         Ok(())
///     }
/// }
///
/// # async fn run() -> Result<(), helpdesk_mail::ListenerError> {
/// let addr = "127.0.0.1:2525".parse().expect("an address");
/// let listener = SmtpListener::bind(addr, ListenerConfig::default(), Arc::new(Pipeline)).await?;
/// println!("SMTP on {}", listener.local_addr());
/// listener.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait InboundSink: Send + Sync + 'static {
    /// Whether `rcpt` (as given in `RCPT TO`, without `<>`) is a mailbox address or its
    /// `local+anything@` form. `Ok(false)` answers `550 5.1.1`; an error answers `451 4.3.0`
    /// (temporary) or `550 5.1.1` (permanent).
    async fn accepts(&self, rcpt: &str) -> Result<bool, DeliverError>;

    /// Takes one mail. Return only once it is committed: the client is told `250` right after.
    async fn deliver(&self, envelope: Envelope, raw: Vec<u8>) -> Result<(), DeliverError>;
}

/// How the listener behaves.
#[derive(Debug, Clone)]
pub struct ListenerConfig {
    /// The name in the greeting and the EHLO answer.
    pub hostname: String,
    /// The largest mail taken, in bytes (`--mail-max-size`), offered as `SIZE`.
    pub max_size: usize,
    /// Recipients per transaction; the next one gets `452 4.5.3`.
    pub max_recipients: usize,
    /// Sessions at once; further connections get `421 4.7.0` and are closed.
    pub max_connections: usize,
    /// How long the client may stay silent (RFC 5321 asks for at least 5 minutes).
    pub idle_timeout: Duration,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        Self {
            hostname: "localhost".to_owned(),
            max_size: 40 * 1024 * 1024,
            max_recipients: 100,
            max_connections: 100,
            idle_timeout: Duration::from_secs(300),
        }
    }
}

/// The listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    /// Binding the address failed (in use, not allowed, not local).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
}

/// A running SMTP listener; [`SmtpListener::shutdown`] stops it.
#[derive(Debug)]
pub struct SmtpListener {
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl SmtpListener {
    /// Binds `addr` (port 0 picks a free port, see [`SmtpListener::local_addr`]) and serves on
    /// the current tokio runtime until shut down.
    pub async fn bind(
        addr: SocketAddr,
        config: ListenerConfig,
        sink: Arc<dyn InboundSink>,
    ) -> Result<Self, ListenerError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ListenerError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ListenerError::Bind { addr, source })?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, Arc::new(config), sink, shutdown_rx));
        Ok(Self {
            local_addr,
            shutdown,
            task,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, tells sessions waiting for a command `421 4.3.2` and waits for the
    /// sessions to end; a mail being handed to the sink is committed and answered first.
    pub async fn shutdown(self) {
        // Sending fails only when the loop is already gone: nothing left to stop.
        let _ = self.shutdown.send(true);
        if let Err(err) = self.task.await {
            tracing::warn!(%err, "SMTP listener task ended abnormally");
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    config: Arc<ListenerConfig>,
    sink: Arc<dyn InboundSink>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if sessions.len() >= config.max_connections {
                        sessions.spawn(refuse(stream));
                        continue;
                    }
                    let (config, sink, shutdown) = (config.clone(), sink.clone(), shutdown.clone());
                    sessions.spawn(async move {
                        if let Err(err) = serve(stream, &config, sink.as_ref(), shutdown).await {
                            tracing::debug!(%peer, %err, "SMTP session ended with an error");
                        }
                    });
                }
                Err(err) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(%err, "SMTP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    drop(listener);
    while sessions.join_next().await.is_some() {}
}

async fn refuse(mut stream: TcpStream) {
    let _ = stream
        .write_all(b"421 4.7.0 Too many connections, try again later\r\n")
        .await;
}
