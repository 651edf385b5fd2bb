//! Waiting for new mail with IMAP IDLE (RFC 2177), between polls: the caller polls again
//! when this returns, so it only has to notice that something changed.

use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use async_imap::types::UnsolicitedResponse;

use super::{ImapConfig, ImapError, ImapState, login, select, timed};

/// Why [`wait_for_mail`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The folder changed (or already had mail beyond the cursor): poll now.
    NewData,
    /// Nothing happened within the wait: poll anyway, then wait again.
    Timeout,
    /// The server offers no IDLE: sleep `poll_interval` instead.
    Unsupported,
}

/// Longest IDLE RFC 2177 allows before re-issuing it.
const MAX_IDLE: Duration = Duration::from_secs(29 * 60);

/// Logs in, SELECTs the folder and waits (IDLE) at most `max_wait` for a change. Returns at
/// once when the folder already has messages past `state` (mail that came between the last
/// poll and now), so nothing waits a whole interval.
pub async fn wait_for_mail(
    config: &ImapConfig,
    state: ImapState,
    max_wait: Duration,
) -> Result<Wake, ImapError> {
    let limit = config.timeout;
    let mut session = timed(limit, "logging in", login(config)).await?;
    let mailbox = timed(
        limit,
        "selecting the folder",
        select(&mut session, &config.folder),
    )
    .await?;
    let capabilities = timed(limit, "asking for capabilities", async {
        Ok(session.capabilities().await?)
    })
    .await?;
    let behind = match (state.uidvalidity, state.last_uid, mailbox.uid_next) {
        (Some(known), Some(last), Some(next)) => {
            mailbox.uid_validity != Some(known) || next.saturating_sub(1) > last
        }
        // No cursor yet, or no UIDNEXT to compare: a poll will tell.
        _ => true,
    };
    if behind || !capabilities.has_str("IDLE") {
        let _ = tokio::time::timeout(limit, session.logout()).await;
        return Ok(if behind {
            Wake::NewData
        } else {
            Wake::Unsupported
        });
    }

    let mut idle = session.idle();
    timed(limit, "starting IDLE", async { Ok(idle.init().await?) }).await?;
    let wait = max_wait.min(MAX_IDLE);
    let woke = {
        let (response, _interrupt) = idle.wait_with_timeout(wait);
        // The crate's timeout restarts on every keepalive; this one bounds the whole wait.
        match tokio::time::timeout(wait, response).await {
            Err(_elapsed) => Wake::Timeout,
            Ok(Ok(IdleResponse::NewData(_))) => Wake::NewData,
            Ok(Ok(IdleResponse::Timeout | IdleResponse::ManualInterrupt)) => Wake::Timeout,
            Ok(Err(err)) => return Err(err.into()),
        }
    };
    let mut session = timed(limit, "ending IDLE", async { Ok(idle.done().await?) }).await?;
    // A change that came with IDLE's own answer went to the unsolicited channel.
    let mut changed = woke == Wake::NewData;
    while let Ok(response) = session.unsolicited_responses.try_recv() {
        changed |= matches!(
            response,
            UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
        );
    }
    let _ = tokio::time::timeout(limit, session.logout()).await;
    Ok(if changed {
        Wake::NewData
    } else {
        Wake::Timeout
    })
}
