//! The work a helpdesk does on its own, for an embedding application:
//! [`Helpdesk::spawn_background`] runs the scheduler ([`Helpdesk::run_due`]), the
//! sweeper of unattached uploads, the webhook worker and the mail worker until
//! [`BackgroundTasks::shutdown`]. The bundled server runs the same three.

use std::sync::Arc;
use std::time::Duration;

use crate::Helpdesk;
use crate::webhook::WebhookTransport;

/// What [`Helpdesk::spawn_background`] runs.
#[derive(Clone)]
pub struct Background {
    /// How often uploads never attached to anything are looked for (they are deleted
    /// after a day). Default: hourly.
    pub sweep_every: Duration,
    /// How webhook deliveries are sent; `None`: this process sends none (another one,
    /// or nobody, claims them). Default: the reqwest transport (feature
    /// `webhooks-http`) honouring [`crate::Config::webhooks_allow_private`].
    pub webhooks: Option<Arc<dyn WebhookTransport>>,
    /// How often due items (snooze ends, SLA warnings and breaches) are looked for;
    /// `None`: this process fires none. Default: every second
    /// ([`crate::schedule::POLL`]), so each fires within the contract's 5 seconds.
    pub due_every: Option<Duration>,
    /// How the outbox's mail is sent; `None` (the default: the library has no SMTP
    /// client of its own; the server brings `helpdesk-mail`'s): this process sends none.
    pub mail: Option<Arc<dyn crate::email::MailTransport>>,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background")
            .field("sweep_every", &self.sweep_every)
            .field("webhooks", &self.webhooks.is_some())
            .field("due_every", &self.due_every)
            .field("mail", &self.mail.is_some())
            .finish()
    }
}

impl Background {
    /// The defaults for `hd`: hourly sweeps, and webhooks sent with the reqwest
    /// transport when the `webhooks-http` feature is on (else none).
    pub fn for_helpdesk(hd: &Helpdesk) -> Self {
        #[cfg(feature = "webhooks-http")]
        let webhooks: Option<Arc<dyn WebhookTransport>> = Some(Arc::new(
            crate::webhook::HttpTransport::new(hd.config().webhooks_allow_private),
        ));
        #[cfg(not(feature = "webhooks-http"))]
        let webhooks: Option<Arc<dyn WebhookTransport>> = {
            let _ = hd;
            None
        };
        Background {
            sweep_every: Duration::from_secs(60 * 60),
            webhooks,
            due_every: Some(crate::schedule::POLL),
            mail: None,
        }
    }
}

/// The tasks [`Helpdesk::spawn_background`] started.
#[derive(Debug)]
pub struct BackgroundTasks {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl BackgroundTasks {
    /// Stops the tasks: the webhook worker finishes the delivery it is sending, up to
    /// `grace`; whatever is left then is aborted (deliveries stay in the store and are
    /// sent again later: at least once).
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        for mut task in self.tasks {
            if tokio::time::timeout(grace, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

impl Helpdesk {
    /// Starts the background work of a helpdesk (see [`Background`]) on the current
    /// tokio runtime. An application that embeds the library and does not run the
    /// bundled server calls this once.
    pub fn spawn_background(&self, what: Background) -> BackgroundTasks {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let until_stopped = move || {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.wait_for(|s| *s).await;
            }
        };
        let mut tasks = Vec::new();
        let hd = self.clone();
        let sweep_stop = until_stopped();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(what.sweep_every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tokio::pin!(sweep_stop);
            loop {
                tokio::select! {
                    _ = &mut sweep_stop => return,
                    _ = tick.tick() => {}
                }
                match hd.sweep_unattached().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "swept unattached uploads"),
                    Err(e) => tracing::warn!(error = %e, "sweeping unattached uploads failed"),
                }
                let started = std::time::Instant::now();
                match hd.prune_retention().await {
                    Ok(crate::event::Pruned {
                        events: 0,
                        notifications: 0,
                    }) => {}
                    Ok(pruned) => tracing::info!(
                        events = pruned.events,
                        notifications = pruned.notifications,
                        took_ms = started.elapsed().as_millis() as u64,
                        "pruned what the retention window no longer holds"
                    ),
                    Err(e) => tracing::warn!(error = %e, "pruning the event log failed"),
                }
            }
        }));
        if let Some(every) = what.due_every {
            let hd = self.clone();
            let due_stop = until_stopped();
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                tokio::pin!(due_stop);
                loop {
                    tokio::select! {
                        _ = &mut due_stop => return,
                        _ = tick.tick() => {}
                    }
                    if let Err(e) = hd.run_due().await {
                        tracing::warn!(error = %e, "the scheduler's run failed");
                    }
                }
            }));
        }
        if let Some(transport) = what.webhooks {
            let hd = self.clone();
            let worker_stop = until_stopped();
            tasks.push(tokio::spawn(async move {
                hd.run_webhook_worker(transport, worker_stop).await;
            }));
        }
        if let Some(transport) = what.mail {
            let hd = self.clone();
            let worker_stop = until_stopped();
            tasks.push(tokio::spawn(async move {
                hd.run_mail_worker(transport, worker_stop).await;
            }));
        }
        BackgroundTasks { stop, tasks }
    }
}
