//! The IMAP pollers (API-email.md "Inbound paths"): one per IMAP mailbox over all
//! instances. [`ImapPollers`] reads the mailboxes every few seconds and runs a poller for
//! each IMAP one this instance can lease ([`Helpdesk::lease_imap_mailbox`]); a poller
//! renews its lease while it runs and stops when it loses it, when the mailbox stops
//! being IMAP, or on shutdown (releasing it, so another instance takes over at once).
//!
//! A poller's round: [`helpdesk_mail::poll_once`] hands each new message to
//! [`Helpdesk::ingest_mail`] (answering once committed) and stores the cursor after it
//! is flagged or moved; then [`helpdesk_mail::wait_for_mail`] waits with IDLE (or the
//! mailbox's `poll_interval` without it). Errors go to `state.last_error` and back off,
//! doubling up to 15 minutes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::email::InboundVia;
use helpdesk_core::mailbox::{ImapState, Inbound, Mailbox};
use helpdesk_core::principal::Principal;
use helpdesk_core::{Error, Helpdesk, IncomingMail};
use helpdesk_mail::{Backoff, ImapSink, SinkError, Wake, poll_once, wait_for_mail};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::mail::imap_config;

/// How long a lease holds without renewal: an instance that dies leaves its mailboxes
/// to the others after this.
const LEASE: Duration = Duration::from_secs(60);
/// How often a running poller renews its lease.
const RENEW_EVERY: Duration = Duration::from_secs(20);
/// How often the mailboxes are read for new IMAP ones and leases to take over.
const RESCAN_EVERY: Duration = Duration::from_secs(5);

/// The running pollers of this instance (see the module).
#[derive(Debug)]
pub struct ImapPollers {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ImapPollers {
    /// Starts polling the IMAP mailboxes of `hd` this instance can lease.
    pub fn spawn(hd: Helpdesk) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(supervise(hd, stopped));
        Self { stop, task }
    }

    /// Stops every poller: each ends its current step and releases its lease, up to
    /// `grace`; then what is left is aborted (its lease ends on its own, and a message
    /// it was ingesting is fetched again and dropped as a duplicate).
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
        }
    }
}

/// A running poller and the version of the mailbox it started with.
struct Poller {
    updated_at: DateTime<Utc>,
    task: JoinHandle<()>,
}

/// Reads the mailboxes every [`RESCAN_EVERY`] and starts a poller for each IMAP mailbox
/// without one here; a mailbox an admin changed gets a new poller at once (so a mended
/// password does not wait out an IDLE or a backoff; the new poller renews the same
/// lease). On stop, waits for the pollers to release their leases.
async fn supervise(hd: Helpdesk, mut stopped: watch::Receiver<bool>) {
    let holder = Uuid::now_v7();
    let mut pollers: HashMap<Uuid, Poller> = HashMap::new();
    loop {
        pollers.retain(|_, p| !p.task.is_finished());
        match hd.list_mailboxes(&Principal::system()).await {
            Ok(mailboxes) => {
                for m in mailboxes {
                    if !matches!(m.inbound, Inbound::Imap(_)) {
                        continue;
                    }
                    match pollers.get(&m.id) {
                        Some(p) if p.updated_at == m.updated_at => continue,
                        // Dropped mid-step: what it ingested is fetched again and
                        // dropped as a duplicate.
                        Some(p) => p.task.abort(),
                        None => {}
                    }
                    let poller = poll_mailbox(hd.clone(), m.id, holder, stopped.clone());
                    let task = tokio::spawn(poller);
                    let updated_at = m.updated_at;
                    pollers.insert(m.id, Poller { updated_at, task });
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the mailboxes to poll"),
        }
        tokio::select! {
            _ = tokio::time::sleep(RESCAN_EVERY) => {}
            _ = stopped.changed() => break,
        }
    }
    for (_, p) in pollers {
        let _ = p.task.await;
    }
}

/// Polls one mailbox while this instance holds its lease.
async fn poll_mailbox(hd: Helpdesk, id: Uuid, holder: Uuid, mut stopped: watch::Receiver<bool>) {
    let system = Principal::system();
    let mut backoff: Option<Backoff> = None;
    loop {
        match hd.lease_imap_mailbox(&system, id, holder, LEASE).await {
            Ok(true) => {}
            // Another instance polls it, or it is gone.
            Ok(false) | Err(Error::NotFound) => return,
            Err(e) => {
                tracing::warn!(mailbox = %id, error = %e, "cannot lease the mailbox");
                return;
            }
        }
        let mailbox = match hd.get_mailbox(&system, id).await {
            Ok(m) if matches!(m.inbound, Inbound::Imap(_)) => m,
            Ok(_) | Err(Error::NotFound) => break,
            Err(e) => {
                tracing::warn!(mailbox = %id, error = %e, "cannot read the mailbox");
                break;
            }
        };
        let round = round(&hd, &mailbox, &mut backoff);
        tokio::select! {
            _ = round => {}
            _ = keep_lease(&hd, id, holder) => return,
            _ = stopped.changed() => break,
        }
    }
    let _ = hd
        .lease_imap_mailbox(&system, id, holder, Duration::ZERO)
        .await;
}

/// Renews the lease every [`RENEW_EVERY`]; returns once it is lost or a renewal fails
/// (the poller then stops, and the supervisor's next look starts another).
async fn keep_lease(hd: &Helpdesk, id: Uuid, holder: Uuid) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        match hd
            .lease_imap_mailbox(&Principal::system(), id, holder, LEASE)
            .await
        {
            Ok(true) => {}
            Ok(false) | Err(Error::NotFound) => return,
            Err(e) => {
                tracing::warn!(mailbox = %id, error = %e, "cannot renew the mailbox's lease");
                return;
            }
        }
    }
}

/// One poll and the wait after it (or the backoff after a failure).
async fn round(hd: &Helpdesk, mailbox: &Mailbox, backoff: &mut Option<Backoff>) {
    let Inbound::Imap(imap) = &mailbox.inbound else {
        return;
    };
    let interval = Duration::from_secs(u64::from(imap.poll_interval.max(1)));
    let backoff = backoff.get_or_insert_with(|| Backoff::new(interval));
    let config = imap_config(imap, hd.config().mail.max_size);
    let sink = Pipeline {
        hd: hd.clone(),
        mailbox_id: mailbox.id,
        state: Mutex::new(ImapState {
            last_poll_at: Some(hd.now()),
            last_error: None,
            ..imap.state.clone()
        }),
    };
    let cursor = cursor_of(&imap.state);
    let outcome = match poll_once(&config, cursor, &sink).await {
        Ok(report) => {
            // The poll's time, and no error any more (the cursor is already stored).
            if let Err(e) = sink.save(&sink.state()).await {
                tracing::warn!(mailbox = %mailbox.id, error = %e, "cannot store the IMAP state");
            }
            let cursor = helpdesk_mail::ImapState {
                uidvalidity: Some(report.uidvalidity),
                last_uid: Some(report.last_uid),
            };
            wait_for_mail(&config, cursor, interval).await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(Wake::NewData | Wake::Timeout) => backoff.succeeded(),
        Ok(Wake::Unsupported) => {
            backoff.succeeded();
            tokio::time::sleep(interval).await;
        }
        Err(e) => {
            tracing::warn!(mailbox = %mailbox.id, error = %e, "IMAP poll failed");
            let state = ImapState {
                last_error: Some(e.to_string()),
                ..sink.state()
            };
            sink.save(&state).await.ok();
            tokio::time::sleep(backoff.failed()).await;
        }
    }
}

/// The stored cursor as the poller reads it.
fn cursor_of(state: &ImapState) -> helpdesk_mail::ImapState {
    helpdesk_mail::ImapState {
        uidvalidity: state.uidvalidity,
        last_uid: state.last_uid,
    }
}

/// The poller's sink: each message into the ingest pipeline, each cursor into the
/// mailbox's `state` (with this poll's time, and no error).
struct Pipeline {
    hd: Helpdesk,
    mailbox_id: Uuid,
    state: Mutex<ImapState>,
}

impl Pipeline {
    fn state(&self) -> ImapState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    async fn save(&self, state: &ImapState) -> Result<(), SinkError> {
        self.hd
            .save_imap_state(&Principal::system(), self.mailbox_id, state)
            .await
            .map(drop)
            .map_err(SinkError::new)
    }
}

#[async_trait]
impl ImapSink for Pipeline {
    async fn ingest(&self, raw: Vec<u8>, too_large: bool) -> Result<(), SinkError> {
        let incoming = IncomingMail {
            mailbox_id: self.mailbox_id,
            raw: Arc::from(raw),
            envelope: Vec::new(),
            via: InboundVia::Imap,
            too_large,
        };
        match self.hd.ingest_mail(incoming).await {
            Ok(_) => Ok(()),
            // No mail at all (empty, no header): nothing to keep but the server's copy,
            // which stays there, flagged or moved like the rest.
            Err(Error::Validation(problems)) => {
                tracing::warn!(mailbox = %self.mailbox_id, ?problems, "IMAP message is no mail; skipped");
                Ok(())
            }
            Err(e) => Err(SinkError::new(e)),
        }
    }

    async fn cursor(&self, uidvalidity: u32, last_uid: u32) -> Result<(), SinkError> {
        let state = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.uidvalidity = Some(uidvalidity);
            state.last_uid = Some(last_uid);
            state.clone()
        };
        self.save(&state).await
    }
}
