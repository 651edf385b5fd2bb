//! `helpdesk webhook ...`: list, add, remove, deliveries, retry.

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Subcommand};
use helpdesk_core::webhook::{NewWebhook, delivery_json, webhook_json};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::backend::Backend;
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

/// Runs a `webhook` command.
pub async fn run(b: &Backend, cmd: WebhookCommand, json_out: bool) -> CliResult {
    match cmd {
        WebhookCommand::List => {
            let hooks: Vec<Value> = match b {
                Backend::Local { hd, actor } => hd
                    .list_webhooks(actor)
                    .await?
                    .iter()
                    .map(|w| webhook_json(w, false))
                    .collect(),
                Backend::Remote(r) => r.walk("/api/webhooks").await?,
            };
            if json_out {
                output::json_lines(&hooks);
            } else {
                output::table(
                    &["id", "url", "events", "active", "description", "created"],
                    hooks
                        .iter()
                        .map(|w| {
                            vec![
                                output::s(&w["id"]),
                                output::s(&w["url"]),
                                output::list(&w["events"]),
                                if w["active"].as_bool() == Some(true) {
                                    "yes"
                                } else {
                                    "no"
                                }
                                .into(),
                                output::s(&w["description"]),
                                output::when(&w["created_at"]),
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
            let w = match b {
                Backend::Local { hd, actor } => {
                    let new = NewWebhook {
                        url,
                        events,
                        description,
                        active: Some(!inactive),
                    };
                    webhook_json(&hd.create_webhook(actor, new).await?, true)
                }
                Backend::Remote(r) => {
                    let mut body = json!({"url": url, "events": events, "active": !inactive});
                    if let Some(d) = description {
                        body["description"] = json!(d);
                    }
                    r.call(Method::POST, "/api/webhooks", Some(body)).await?
                }
            };
            if json_out {
                output::json(&w);
            } else {
                crate::outln!("{}", output::s(&w["id"]));
                crate::outln!("{}", output::s(&w["secret"]));
                eprintln!("(the endpoint's id, then its signing secret: shown only once)");
            }
            Ok(())
        }
        WebhookCommand::Remove { id } => {
            match b {
                Backend::Local { hd, actor } => hd.delete_webhook(actor, id).await?,
                Backend::Remote(r) => {
                    r.call(Method::DELETE, &format!("/api/webhooks/{id}"), None)
                        .await?;
                }
            }
            Ok(())
        }
        WebhookCommand::Deliveries { id, limit } => {
            let items: Vec<Value> = match b {
                Backend::Local { hd, actor } => hd
                    .list_deliveries(actor, id, None, Some(limit.into()))
                    .await?
                    .items
                    .iter()
                    .map(delivery_json)
                    .collect(),
                Backend::Remote(r) => {
                    let page = r
                        .call(
                            Method::GET,
                            &format!("/api/webhooks/{id}/deliveries?limit={limit}"),
                            None,
                        )
                        .await?;
                    page["items"].as_array().cloned().unwrap_or_default()
                }
            };
            if json_out {
                output::json_lines(&items);
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
                    items
                        .iter()
                        .map(|d| {
                            let last = match (&d["last_status_code"], &d["last_error"]) {
                                (Value::Null, Value::Null) => "-".to_string(),
                                (Value::Null, e) => output::s(e),
                                (c, _) => output::s(c),
                            };
                            vec![
                                output::s(&d["id"]),
                                output::s(&d["event_type"]),
                                output::s(&d["status"]),
                                output::s(&d["attempts"]),
                                last,
                                output::when(&d["next_attempt_at"]),
                                output::when(&d["created_at"]),
                            ]
                        })
                        .collect(),
                    "no deliveries",
                );
            }
            Ok(())
        }
        WebhookCommand::Retry { id, delivery } => {
            let d = match b {
                Backend::Local { hd, actor } => {
                    delivery_json(&hd.retry_delivery(actor, id, delivery).await?)
                }
                Backend::Remote(r) => {
                    r.call(
                        Method::POST,
                        &format!("/api/webhooks/{id}/deliveries/{delivery}/retry"),
                        None,
                    )
                    .await?
                }
            };
            if json_out {
                output::json(&d);
            }
            Ok(())
        }
    }
}
