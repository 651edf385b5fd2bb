//! The [`Helpdesk`] entry point and its configuration. The operations live with their
//! nouns (`ticket.rs`, `message.rs`, ...), as `impl Helpdesk` blocks.

use std::sync::Arc;

use chrono::Duration;

use crate::clock::{Clock, SystemClock};
use crate::error::Conflict;
use crate::error::{Error, Result};
use crate::store::Store;

/// Library configuration. `Config::default()` is for production: passwords are hashed
/// with argon2id at OWASP's cost (19 MiB, 2 passes), which makes each `create_user`,
/// `signup` and `login` take a noticeable part of a second in a debug build of a
/// dependent crate unless it sets `[profile.dev.package.argon2] opt-level = 3`.
/// [`Config::for_tests`] hashes cheaply and fixes the JWT secret: for tests and
/// examples only.
#[derive(Clone)]
pub struct Config {
    /// HS256 secret for access tokens; `None`: generated once and kept in the store.
    pub jwt_secret: Option<String>,
    /// Access token lifetime.
    pub access_token_ttl: Duration,
    /// Refresh token lifetime.
    pub refresh_token_ttl: Duration,
    /// Whether anyone may sign up (as a customer).
    pub signup_open: bool,
    /// Largest attachment in bytes.
    pub max_upload: u64,
    /// argon2 memory cost in KiB (OWASP: 19 MiB).
    pub argon2_m_cost: u32,
    /// argon2 iterations (OWASP: 2).
    pub argon2_t_cost: u32,
    /// JWT issuer and audience.
    pub jwt_issuer: String,
    /// Whether webhook URLs may point at loopback, private or link-local addresses.
    pub webhooks_allow_private: bool,
    /// Waits before each retry of a failed webhook delivery; when used up, it is dead.
    pub webhook_retry_schedule: Vec<std::time::Duration>,
    /// Failed-login, signup and API key request limits.
    pub limits: crate::limit::Limits,
    /// How often this instance tells the others sharing the store that it is alive; one
    /// silent for three heartbeats is gone, and its users offline (default 10 s).
    pub instance_heartbeat: std::time::Duration,
    /// Email domains that no organization may list and that never place a new customer
    /// in one (lowercase; default
    /// [`DEFAULT_FREE_MAIL_DOMAINS`](crate::organization::DEFAULT_FREE_MAIL_DOMAINS)).
    pub free_mail_domains: Vec<String>,
    /// CSAT surveys: on or off, and how long a token answers (`--csat`, `--csat-ttl`).
    pub csat: crate::csat::CsatConfig,
    /// The email channel's limits, retries and auto-reply throttle (`--mail-*`).
    pub mail: crate::email::MailConfig,
    /// How long events and read notifications are kept (`--event-retention`, 30 days);
    /// a `resume` from before it is told so (`resume_gap`).
    pub event_retention: std::time::Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            jwt_secret: None,
            access_token_ttl: Duration::minutes(15),
            refresh_token_ttl: Duration::days(30),
            signup_open: true,
            max_upload: 25 * 1024 * 1024,
            argon2_m_cost: 19 * 1024,
            argon2_t_cost: 2,
            jwt_issuer: "helpdesk".to_string(),
            webhooks_allow_private: false,
            webhook_retry_schedule: crate::clock::default_retry_schedule(),
            limits: crate::limit::Limits::default(),
            instance_heartbeat: std::time::Duration::from_secs(10),
            free_mail_domains: crate::organization::default_free_mail_domains(),
            csat: crate::csat::CsatConfig::default(),
            mail: crate::email::MailConfig::default(),
            event_retention: std::time::Duration::from_secs(30 * 24 * 60 * 60),
        }
    }
}

impl std::fmt::Debug for Config {
    /// Every setting but the JWT secret, which shows as set or not.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "<set>"))
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("signup_open", &self.signup_open)
            .field("max_upload", &self.max_upload)
            .field("argon2_m_cost", &self.argon2_m_cost)
            .field("argon2_t_cost", &self.argon2_t_cost)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("webhooks_allow_private", &self.webhooks_allow_private)
            .field("webhook_retry_schedule", &self.webhook_retry_schedule)
            .field("limits", &self.limits)
            .field("instance_heartbeat", &self.instance_heartbeat)
            .field("free_mail_domains", &self.free_mail_domains)
            .field("csat", &self.csat)
            .field("mail", &self.mail)
            .field("event_retention", &self.event_retention)
            .finish()
    }
}

impl Config {
    /// Defaults with cheap password hashing, for tests and examples only.
    pub fn for_tests() -> Self {
        Config {
            argon2_m_cost: 256,
            argon2_t_cost: 1,
            jwt_secret: Some("test-secret-test-secret-test-secret".into()),
            ..Config::default()
        }
    }
}

/// The library's entry point: every operation of the helpdesk, over one store.
#[derive(Clone)]
pub struct Helpdesk {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Helpdesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Helpdesk")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: Config,
    pub(crate) jwt_keys: tokio::sync::OnceCell<crate::auth::JwtKeys>,
    pub(crate) live: crate::event::Live,
    /// One password hash at a time per core: hashing is CPU-bound, and each argon2 run
    /// holds `argon2_m_cost` KiB, so more at once only adds memory and latency.
    pub(crate) hashing: tokio::sync::Semaphore,
    /// The recent requests of each API key on this instance (see
    /// [`crate::limit::Limits::requests_per_api_key`]).
    pub(crate) key_requests: crate::limit::RequestLog,
    /// This instance on the ephemeral channel, once joined.
    pub(crate) ephemeral: tokio::sync::OnceCell<Arc<crate::ops::ephemeral::Ephemeral>>,
    /// The mail key and this installation's loop id, once read from the store.
    pub(crate) mail_secrets: tokio::sync::OnceCell<crate::email::MailSecrets>,
    /// Notified when the last handle is dropped: the event tailer lets go of the store at
    /// once (a sled database can then be opened again in the same process).
    pub(crate) dropped: Arc<tokio::sync::Notify>,
    /// The statuses, fields, SLA policies and rules as of the store's schema stamp.
    pub(crate) schema: crate::stamped::Stamped<(), Arc<crate::schema::Definitions>>,
    /// Search answers as of the store's KB stamp.
    pub(crate) searches:
        crate::stamped::Stamped<crate::kb::SearchQuery, Arc<crate::kb::SearchAnswer>>,
    /// Sessions and memberships as read within [`crate::access_cache::TTL`].
    pub(crate) access: crate::access_cache::AccessCache,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.dropped.notify_one();
    }
}

impl Helpdesk {
    /// A helpdesk over `store` with the system clock.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        Helpdesk::with_clock(store, config, Arc::new(SystemClock))
    }

    /// A helpdesk with an injected clock (tests of expiry and ordering).
    pub fn with_clock(store: Arc<dyn Store>, config: Config, clock: Arc<dyn Clock>) -> Self {
        let hd = Helpdesk {
            inner: Arc::new(Inner {
                store,
                clock,
                config,
                jwt_keys: tokio::sync::OnceCell::new(),
                ephemeral: tokio::sync::OnceCell::new(),
                mail_secrets: tokio::sync::OnceCell::new(),
                key_requests: Default::default(),
                dropped: Arc::new(tokio::sync::Notify::new()),
                schema: crate::stamped::Stamped::new(1),
                searches: crate::stamped::Stamped::new(crate::kb::SEARCHES_KEPT)
                    .trusting(crate::kb::KB_STAMP_TRUSTED),
                access: Default::default(),
                live: crate::event::Live::new(),
                hashing: tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map_or(2, |n| n.get()),
                ),
            }),
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            hd.start_tailer();
        }
        hd
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Now, from the injected clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.clock.now()
    }

    pub(crate) fn st(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    /// Runs `attempt` as [`Helpdesk::retry_on_version`] does, giving the first attempt
    /// `first` (what the caller read before the loop) and every later one `None`: a
    /// retry follows another write, so it reads again.
    pub(crate) async fn retry_from<T, R, F, Fut>(&self, first: R, mut attempt: F) -> Result<T>
    where
        F: FnMut(Option<R>) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut first = Some(first);
        self.retry_on_version(|| attempt(first.take())).await
    }

    /// Runs an optimistic read-modify-write until it stops losing races on a version
    /// check (a bounded number of times, then the conflict is reported).
    pub(crate) async fn retry_on_version<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut tries = 0;
        loop {
            match attempt().await {
                Err(Error::Store(e)) if e.is_conflict(Conflict::Version) && tries < 50 => {
                    tries += 1;
                    tokio::task::yield_now().await;
                }
                Err(Error::Store(e)) if e.is_conflict(Conflict::Version) => {
                    return Err(Error::Conflict(
                        "too many concurrent changes, try again".into(),
                    ));
                }
                other => return other,
            }
        }
    }
}
