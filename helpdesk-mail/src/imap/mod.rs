//! The IMAP poller: one pass over a mailbox's folder ([`poll_once`]), the error
//! [`Backoff`], and the `/test` check ([`test_login`]).
//!
//! Order per message: fetch → [`ImapSink::ingest`] (returns once committed) → `\Seen` or move
//! → [`ImapSink::cursor`]. A crash anywhere before the cursor is stored fetches the message
//! again next time; the pipeline's dedupe (Message-ID, else SHA-256) drops the copy.

use std::error::Error as StdError;
use std::fmt::Debug;
use std::time::Duration;

use async_imap::types::{Fetch, Mailbox};
use async_imap::{Client, Session};
use async_trait::async_trait;
use futures_util::{Stream, TryStreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;

mod backoff;
mod idle;
pub use backoff::Backoff;
pub use idle::{Wake, wait_for_mail};

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapTls {
    /// TLS from the first byte (port 993).
    Implicit,
    /// Plain, then `STARTTLS` before LOGIN (port 143); refused servers are an error.
    StartTls,
    /// No TLS at all (loopback, tests).
    None,
}

/// What happens to a message once it is ingested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterIngest {
    /// Set `\Seen` (`UID STORE +FLAGS.SILENT (\Seen)`).
    Seen,
    /// Move it to another folder (`UID MOVE`, else `UID COPY` + `\Deleted` + expunge).
    Move {
        /// The folder it goes to.
        to: String,
    },
}

/// One mailbox's IMAP settings.
#[derive(Debug, Clone)]
pub struct ImapConfig {
    /// Server host name (also the name its certificate must show).
    pub host: String,
    /// Server port (993 for implicit TLS, 143 otherwise).
    pub port: u16,
    /// TLS mode.
    pub tls: ImapTls,
    /// LOGIN user name.
    pub username: String,
    /// LOGIN password.
    pub password: String,
    /// The folder polled (`INBOX`).
    pub folder: String,
    /// Flag or move after ingest.
    pub after: AfterIngest,
    /// Larger messages (`RFC822.SIZE`) are handed over as headers only, marked too large.
    pub max_size: u64,
    /// Limit on connecting and on each command.
    pub timeout: Duration,
}

/// The poller's cursor, as the caller stored it (`state.uidvalidity`, `state.last_uid`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImapState {
    /// UIDVALIDITY of the folder when the cursor was stored.
    pub uidvalidity: Option<u32>,
    /// The highest UID handled.
    pub last_uid: Option<u32>,
}

/// The error a sink reports; the poll stops there and the message is fetched again later.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct SinkError(Box<dyn StdError + Send + Sync>);

impl SinkError {
    /// Wraps any error (a store error, a message).
    pub fn new(error: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self(error.into())
    }
}

/// What the poller hands mail to: the ingest pipeline implements it.
///
/// A mailbox's worker, as the caller might write it:
///
/// ```no_run
/// use std::time::Duration;
/// use helpdesk_mail::{
///     Backoff, ImapConfig, ImapSink, ImapState, SinkError, Wake, poll_once, wait_for_mail,
/// };
///
/// struct Pipeline;
///
/// #[async_trait::async_trait]
/// impl ImapSink for Pipeline {
///     async fn ingest(&self, raw: Vec<u8>, too_large: bool) -> Result<(), SinkError> {
///         // Parse, dedupe, thread, store (`too_large`: headers only); return once committed.
///         let _ = (raw, too_large);
///         Ok(())
///     }
///
///     async fn cursor(&self, uidvalidity: u32, last_uid: u32) -> Result<(), SinkError> {
///         // Store `state.uidvalidity`, `state.last_uid`.
///         let _ = (uidvalidity, last_uid);
///         Ok(())
///     }
/// }
///
/// async fn worker(config: ImapConfig, poll_interval: Duration) {
///     let sink = Pipeline;
///     let mut backoff = Backoff::new(poll_interval);
///     loop {
///         // Read the cursor the sink stored (here: always from scratch).
///         let state = ImapState::default();
///         let outcome = match poll_once(&config, state, &sink).await {
///             Ok(report) => {
///                 let state = ImapState {
///                     uidvalidity: Some(report.uidvalidity),
///                     last_uid: Some(report.last_uid),
///                 };
///                 wait_for_mail(&config, state, poll_interval).await
///             }
///             Err(err) => Err(err),
///         };
///         match outcome {
///             Ok(Wake::NewData | Wake::Timeout) => backoff.succeeded(),
///             Ok(Wake::Unsupported) => {
///                 backoff.succeeded();
///                 tokio::time::sleep(poll_interval).await;
///             }
///             Err(err) => {
///                 eprintln!("{err}"); // state.last_error
///                 tokio::time::sleep(backoff.failed()).await;
///             }
///         }
///     }
/// }
/// ```
#[async_trait]
pub trait ImapSink: Send + Sync {
    /// Takes one message: the raw bytes, or only its header block when `too_large`. Return
    /// only once committed; the message is flagged or moved after that.
    async fn ingest(&self, raw: Vec<u8>, too_large: bool) -> Result<(), SinkError>;

    /// Stores the cursor (`state.uidvalidity`, `state.last_uid`) after a message is done (or,
    /// on a first or restarted poll, once at the end).
    async fn cursor(&self, uidvalidity: u32, last_uid: u32) -> Result<(), SinkError>;
}

/// Why a poll or a login test failed; its text goes to `state.last_error`.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    /// The TCP connection failed.
    #[error("cannot connect: {0}")]
    Connect(#[source] std::io::Error),
    /// The TLS handshake (or STARTTLS) failed.
    #[error("TLS failed: {0}")]
    Tls(String),
    /// The server refused LOGIN.
    #[error("login refused: {0}")]
    Login(#[source] async_imap::error::Error),
    /// The folder could not be selected.
    #[error("cannot select folder {folder:?}: {source}")]
    Select {
        /// The folder.
        folder: String,
        /// The server's answer.
        source: async_imap::error::Error,
    },
    /// Another command failed or the server broke the protocol.
    #[error("IMAP error: {0}")]
    Protocol(#[from] async_imap::error::Error),
    /// The server sent something this client cannot work with.
    #[error("IMAP server: {0}")]
    Server(&'static str),
    /// The server did not answer in time.
    #[error("timed out while {0}")]
    Timeout(&'static str),
    /// The sink failed: nothing after it was done for that message.
    #[error("ingest failed: {0}")]
    Sink(#[from] SinkError),
}

/// What one poll did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollReport {
    /// The folder's UIDVALIDITY.
    pub uidvalidity: u32,
    /// Whether this poll (re)started the cursor: it took UNSEEN messages only.
    pub restarted: bool,
    /// UIDs ingested whole, in order.
    pub ingested: Vec<u32>,
    /// UIDs over `max_size`, ingested as headers only.
    pub too_large: Vec<u32>,
    /// The cursor stored at the end.
    pub last_uid: u32,
}

/// Anything an IMAP session can run over: plain TCP or TLS.
trait Io: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Io for T {}

type ImapSession = Session<Box<dyn Io>>;

async fn timed<T>(
    limit: Duration,
    what: &'static str,
    fut: impl Future<Output = Result<T, ImapError>>,
) -> Result<T, ImapError> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| ImapError::Timeout(what))?
}

async fn tls_wrap(tcp: TcpStream, host: &str) -> Result<Box<dyn Io>, ImapError> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|err| ImapError::Tls(format!("bad host name {host:?}: {err}")))?;
    let connector = crate::tls::connector().map_err(|err| ImapError::Tls(err.to_string()))?;
    let stream = connector
        .connect(name, tcp)
        .await
        .map_err(|err| ImapError::Tls(err.to_string()))?;
    Ok(Box::new(stream))
}

async fn read_greeting<T>(client: &mut Client<T>) -> Result<(), ImapError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + Debug,
{
    match client.read_response().await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(ImapError::Server("closed the connection before greeting")),
        Err(err) => Err(ImapError::Protocol(err.into())),
    }
}

async fn login(config: &ImapConfig) -> Result<ImapSession, ImapError> {
    let tcp = TcpStream::connect((config.host.as_str(), config.port))
        .await
        .map_err(ImapError::Connect)?;
    let stream = match config.tls {
        ImapTls::None => Box::new(tcp) as Box<dyn Io>,
        ImapTls::Implicit => tls_wrap(tcp, &config.host).await?,
        ImapTls::StartTls => {
            let mut client = Client::new(tcp);
            read_greeting(&mut client).await?;
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|err| ImapError::Tls(format!("STARTTLS refused: {err}")))?;
            tls_wrap(client.into_inner(), &config.host).await?
        }
    };
    let mut client = Client::new(stream);
    if config.tls != ImapTls::StartTls {
        read_greeting(&mut client).await?;
    }
    client
        .login(&config.username, &config.password)
        .await
        .map_err(|(err, _client)| ImapError::Login(err))
}

async fn select(session: &mut ImapSession, folder: &str) -> Result<Mailbox, ImapError> {
    session
        .select(folder)
        .await
        .map_err(|source| ImapError::Select {
            folder: folder.to_owned(),
            source,
        })
}

async fn collect(
    stream: impl Stream<Item = async_imap::error::Result<Fetch>>,
) -> Result<Vec<Fetch>, ImapError> {
    Ok(stream.try_collect().await?)
}

/// LOGIN and SELECT, then LOGOUT: what `POST /api/mailboxes/{id}/test` reports. The error is
/// the text shown to the admin.
pub async fn test_login(config: &ImapConfig) -> Result<(), String> {
    let outcome = async {
        let mut session = timed(config.timeout, "logging in", login(config)).await?;
        timed(
            config.timeout,
            "selecting the folder",
            select(&mut session, &config.folder),
        )
        .await?;
        let _ = tokio::time::timeout(config.timeout, session.logout()).await;
        Ok::<(), ImapError>(())
    };
    outcome.await.map_err(|err| err.to_string())
}

/// One poll, as the contract says: LOGIN, SELECT; without a cursor (or with another
/// UIDVALIDITY) the UNSEEN messages, else `UID SEARCH UID <last_uid+1>:*`; each message in
/// UID order is ingested, then flagged or moved, then the cursor moves.
///
/// On a (re)started cursor the cursor is stored once, at the end, as the highest UID the
/// folder had (UIDNEXT − 1): read mail below it stays untouched, and a crash midway simply
/// restarts (already handled messages are `\Seen` or gone, so UNSEEN no longer has them).
pub async fn poll_once(
    config: &ImapConfig,
    state: ImapState,
    sink: &dyn ImapSink,
) -> Result<PollReport, ImapError> {
    let mut session = timed(config.timeout, "logging in", login(config)).await?;
    let outcome = poll_selected(&mut session, config, state, sink).await;
    // LOGOUT is a courtesy; the result stands either way.
    let _ = tokio::time::timeout(config.timeout, session.logout()).await;
    outcome
}

async fn poll_selected(
    session: &mut ImapSession,
    config: &ImapConfig,
    state: ImapState,
    sink: &dyn ImapSink,
) -> Result<PollReport, ImapError> {
    let limit = config.timeout;
    let mailbox = timed(
        limit,
        "selecting the folder",
        select(session, &config.folder),
    )
    .await?;
    let uidvalidity = mailbox
        .uid_validity
        .ok_or(ImapError::Server("SELECT gave no UIDVALIDITY"))?;
    let capabilities = timed(limit, "asking for capabilities", async {
        Ok(session.capabilities().await?)
    })
    .await?;
    let cursor = match state {
        ImapState {
            uidvalidity: Some(known),
            last_uid: Some(last),
        } if known == uidvalidity => Some(last),
        _ => None,
    };
    let mut report = PollReport {
        uidvalidity,
        restarted: cursor.is_none(),
        ingested: Vec::new(),
        too_large: Vec::new(),
        last_uid: cursor.unwrap_or(0),
    };
    let mut uids: Vec<u32> = match cursor {
        None => {
            // Everything up to here counts as seen by the cursor; only UNSEEN is taken.
            report.last_uid = match mailbox.uid_next {
                Some(next) => next.saturating_sub(1),
                None => timed(limit, "searching", async {
                    Ok(session.uid_search("ALL").await?)
                })
                .await?
                .into_iter()
                .max()
                .unwrap_or(0),
            };
            let unseen = timed(limit, "searching", async {
                Ok(session.uid_search("UNSEEN").await?)
            });
            unseen.await?.into_iter().collect()
        }
        Some(u32::MAX) => Vec::new(),
        Some(last) => {
            let query = format!("UID {}:*", last + 1);
            let found = timed(limit, "searching", async {
                Ok(session.uid_search(&query).await?)
            });
            // `n:*` always matches the newest message, even when its UID is below n.
            found.await?.into_iter().filter(|&uid| uid > last).collect()
        }
    };
    uids.sort_unstable();
    let can_move = capabilities.has_str("MOVE");
    let uidplus = capabilities.has_str("UIDPLUS");
    for uid in uids {
        let handled = timed(limit, "fetching a message", fetch(session, config, uid)).await?;
        if let Some((raw, too_large)) = handled {
            sink.ingest(raw, too_large).await?;
            timed(limit, "flagging or moving a message", async {
                after_ingest(session, &config.after, uid, can_move, uidplus).await
            })
            .await?;
            if too_large {
                report.too_large.push(uid);
            } else {
                report.ingested.push(uid);
            }
        }
        report.last_uid = report.last_uid.max(uid);
        if cursor.is_some() {
            sink.cursor(uidvalidity, uid).await?;
        }
    }
    if cursor.is_none() {
        sink.cursor(uidvalidity, report.last_uid).await?;
    }
    Ok(report)
}

/// The message's bytes (or headers, `true`, when over the limit); `None` when it vanished.
async fn fetch(
    session: &mut ImapSession,
    config: &ImapConfig,
    uid: u32,
) -> Result<Option<(Vec<u8>, bool)>, ImapError> {
    let set = uid.to_string();
    let sizes = collect(session.uid_fetch(&set, "(UID RFC822.SIZE)").await?).await?;
    let Some(meta) = sizes.iter().find(|f| f.uid == Some(uid)) else {
        return Ok(None);
    };
    let declared_too_large = meta
        .size
        .is_some_and(|size| u64::from(size) > config.max_size);
    if !declared_too_large {
        let bodies = collect(session.uid_fetch(&set, "(UID BODY.PEEK[])").await?).await?;
        let Some(body) = bodies.iter().find(|f| f.uid == Some(uid)) else {
            return Ok(None);
        };
        let body = body
            .body()
            .ok_or(ImapError::Server("FETCH BODY[] answered without the body"))?;
        if body.len() as u64 <= config.max_size {
            return Ok(Some((body.to_vec(), false)));
        }
    }
    let headers = collect(session.uid_fetch(&set, "(UID BODY.PEEK[HEADER])").await?).await?;
    let Some(header) = headers.iter().find(|f| f.uid == Some(uid)) else {
        return Ok(None);
    };
    let header = header
        .header()
        .ok_or(ImapError::Server("FETCH BODY[HEADER] answered without it"))?;
    Ok(Some((header.to_vec(), true)))
}

async fn after_ingest(
    session: &mut ImapSession,
    after: &AfterIngest,
    uid: u32,
    can_move: bool,
    uidplus: bool,
) -> Result<(), ImapError> {
    let set = uid.to_string();
    match after {
        AfterIngest::Seen => {
            collect(session.uid_store(&set, "+FLAGS.SILENT (\\Seen)").await?).await?;
        }
        AfterIngest::Move { to } if can_move => session.uid_mv(&set, to).await?,
        AfterIngest::Move { to } => {
            session.uid_copy(&set, to).await?;
            collect(session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)").await?).await?;
            if uidplus {
                session
                    .uid_expunge(&set)
                    .await?
                    .try_collect::<Vec<_>>()
                    .await?;
            } else {
                session.expunge().await?.try_collect::<Vec<_>>().await?;
            }
        }
    }
    Ok(())
}
