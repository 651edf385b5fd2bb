//! `helpdesk webhook ...`: list, add, remove, deliveries, retry.

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Subcommand};
use helpdesk_core::webhook::{Delivery, NewWebhook, delivery_json, webhook_json};
use uuid::Uuid;

use super::admin::Admin;
use super::error::CliResult;
use super::output;

/// Manage webhook endpoints and their deliveries.
#[derive(Subcommand, Debug)]
pub enum WebhookCommand {
    /// List endpoints.
    #[command(after_help = "Example:
  helpdesk webhook list")]
    List,
    /// Add an endpoint; prints its signing secret, shown only this once.
    #[command(after_help = "Examples:
  helpdesk webhook add https://hooks.example.com/helpdesk
  helpdesk webhook add https://crm.example.com/in --event ticket.created --event ticket.updated \\
      --description 'CRM sync'")]
    Add {
        /// Where to POST events.
        #[arg(id = "endpoint", value_name = "URL")]
        endpoint: String,
        /// An event type to send (repeatable; default `*`, every type).
        #[arg(long = "event")]
        events: Vec<String>,
        /// Free text.
        #[arg(long)]
        description: Option<String>,
        /// Add it disabled.
        #[arg(long)]
        inactive: bool,
        /// Allow a URL on a loopback, private or link-local address, as `serve
        /// --webhooks-allow-private` does (local store only: over `--url` the server's
        /// own switch decides).
        #[arg(
            long,
            env = "HELPDESK_WEBHOOKS_ALLOW_PRIVATE",
            action = ArgAction::SetTrue,
            value_parser = BoolishValueParser::new()
        )]
        webhooks_allow_private: bool,
    },
    /// Remove an endpoint and its deliveries.
    #[command(after_help = "Example:
  helpdesk webhook remove 0193a5c1-7c3e-7b40-9a51-1f2e3d4c5b6a")]
    Remove {
        /// The endpoint's id.
        id: Uuid,
    },
    /// An endpoint's deliveries, newest first.
    #[command(after_help = "Examples:
  helpdesk webhook deliveries 0193a5c1-7c3e-7b40-9a51-1f2e3d4c5b6a
  helpdesk webhook deliveries 0193a5c1-7c3e-7b40-9a51-1f2e3d4c5b6a --limit 200 --json")]
    Deliveries {
        /// The endpoint's id.
        id: Uuid,
        /// How many (1..=200).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=200))]
        limit: u16,
    },
    /// Send a delivery again now (also a dead one).
    #[command(after_help = "Example:
  helpdesk webhook retry 0193a5c1-7c3e-7b40-9a51-1f2e3d4c5b6a 0193a5c2-0000-7000-8000-000000000001")]
    Retry {
        /// The endpoint's id.
        id: Uuid,
        /// The delivery's id.
        delivery: Uuid,
    },
}

/// Runs a `webhook` command. `webhook add --webhooks-allow-private` is read where the
/// local store is opened (see [`super::run`]).
pub async fn run(admin: &dyn Admin, cmd: WebhookCommand, json_out: bool) -> CliResult {
    match cmd {
        WebhookCommand::List => {
            let hooks = admin.webhooks().await?;
            if json_out {
                output::json_lines(hooks.iter().map(|w| webhook_json(w, false)));
            } else {
                output::table(
                    &["id", "url", "events", "active", "description", "created"],
                    hooks
                        .iter()
                        .map(|w| {
                            vec![
                                w.id.to_string(),
                                w.url.clone(),
                                output::list(&w.events),
                                output::yes_no(w.active),
                                w.description.clone(),
                                output::when(w.created_at),
                            ]
                        })
                        .collect(),
                    "no webhooks",
                );
            }
            Ok(())
        }
        WebhookCommand::Add {
            endpoint: url,
            events,
            description,
            inactive,
            webhooks_allow_private: _,
        } => {
            let events = if events.is_empty() {
                vec!["*".to_string()]
            } else {
                events
            };
            let new = NewWebhook {
                url,
                events,
                description,
                active: Some(!inactive),
            };
            let w = admin.create_webhook(new).await?;
            if json_out {
                output::json(&webhook_json(&w, true));
            } else {
                crate::outln!("{}", w.id);
                crate::outln!("{}", w.secret);
                eprintln!("(the endpoint's id, then its signing secret: shown only once)");
            }
            Ok(())
        }
        WebhookCommand::Remove { id } => admin.delete_webhook(id).await,
        WebhookCommand::Deliveries { id, limit } => {
            let items = admin.deliveries(id, limit.into()).await?;
            if json_out {
                output::json_lines(items.iter().map(delivery_json));
            } else {
                output::table(
                    &[
                        "id",
                        "event",
                        "status",
                        "attempts",
                        "last",
                        "next attempt",
                        "created",
                    ],
                    items.iter().map(delivery_row).collect(),
                    "no deliveries",
                );
            }
            Ok(())
        }
        WebhookCommand::Retry { id, delivery } => {
            let d = admin.retry_delivery(id, delivery).await?;
            if json_out {
                output::json(&delivery_json(&d));
            }
            Ok(())
        }
    }
}

fn delivery_row(d: &Delivery) -> Vec<String> {
    let last = match (d.last_status_code, &d.last_error) {
        (Some(code), _) => code.to_string(),
        (None, Some(error)) => error.clone(),
        (None, None) => "-".into(),
    };
    vec![
        d.id.to_string(),
        d.event_type.to_string(),
        output::name(d.status),
        d.attempts.to_string(),
        last,
        output::when_opt(d.next_attempt_at),
        output::when(d.created_at),
    ]
}
