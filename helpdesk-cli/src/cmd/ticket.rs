//! `helpdesk ticket ...`: list, show, create, assign, status, comment. Tickets are named
//! by their number; status moves follow the same table as the API.

use helpdesk_core::wire::to_json;
use std::collections::HashMap;
use std::io::Read;

use clap::Subcommand;
use helpdesk_core::message::{MessagePageQuery, NewMessageInput, message_json};
use helpdesk_core::ticket::{
    AssigneeFilter, NewTicketInput, Priority, TicketFilter, TicketPatch, TicketStatus, ticket_json,
};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::backend::{Backend, all_pages, encode};
use super::error::{CliError, CliResult, Exit};
use super::output;
use super::user;

const STATUSES: [&str; 5] = ["open", "pending", "on_hold", "resolved", "closed"];
const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];

fn status_of(s: &str) -> TicketStatus {
    TicketStatus::ALL
        .into_iter()
        .find(|t| t.as_str() == s)
        .unwrap_or(TicketStatus::Open)
}

fn priority_of(s: &str) -> Priority {
    Priority::ALL
        .into_iter()
        .find(|p| p.as_str() == s)
        .unwrap_or(Priority::Normal)
}

/// Work with tickets.
#[derive(Subcommand, Debug)]
pub enum TicketCommand {
    /// List tickets, newest first.
    #[command(after_help = "Examples:
  helpdesk ticket list
  helpdesk ticket list --status open --status pending --assignee none
  helpdesk ticket list --assignee agent@example.com --tag billing --json")]
    List {
        /// Only this status (repeatable: any of them).
        #[arg(long = "status", value_parser = STATUSES)]
        statuses: Vec<String>,
        /// Only tickets assigned to this user (email or id), or `none` for unassigned.
        #[arg(long)]
        assignee: Option<String>,
        /// Only tickets of this requester (email or id).
        #[arg(long)]
        requester: Option<String>,
        /// Only tickets with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// Only this priority.
        #[arg(long, value_parser = PRIORITIES)]
        priority: Option<String>,
    },
    /// Show a ticket with its timeline and messages (internal notes included).
    #[command(after_help = "Examples:
  helpdesk ticket show 42
  helpdesk ticket show 42 --json | jq '.messages | length'")]
    Show {
        /// The ticket number.
        number: i64,
    },
    /// Open a ticket for a requester; prints its number.
    #[command(after_help = "Examples:
  helpdesk ticket create --requester carol@example.com --subject 'VPN down' --description 'Since 9am'
  helpdesk ticket create --as agent@example.com --requester carol@example.com --subject 'Refund' \\
      --description 'Order 1234' --priority high --tag billing --assignee agent@example.com")]
    Create {
        /// Subject (1..=200 characters).
        #[arg(long)]
        subject: String,
        /// Description.
        #[arg(long)]
        description: String,
        /// Who the ticket is for (email or id). Required when acting as the system.
        #[arg(long)]
        requester: Option<String>,
        /// Assign it to this staff user (email or id).
        #[arg(long)]
        assignee: Option<String>,
        /// Priority (default normal).
        #[arg(long, value_parser = PRIORITIES)]
        priority: Option<String>,
        /// A tag (repeatable).
        #[arg(long = "tag")]
        tags: Vec<String>,
    },
    /// Assign a ticket to a staff user, or `none` to unassign.
    #[command(after_help = "Examples:
  helpdesk ticket assign 42 agent@example.com
  helpdesk ticket assign 42 none")]
    Assign {
        /// The ticket number.
        number: i64,
        /// Email or id of a staff user, or `none`.
        assignee: String,
    },
    /// Move a ticket to another status: among open, pending and on_hold freely; any of
    /// those to resolved; resolved to open or closed; closed is final.
    #[command(after_help = "Examples:
  helpdesk ticket status 42 pending
  helpdesk ticket status 42 resolved")]
    Status {
        /// The ticket number.
        number: i64,
        /// The new status.
        #[arg(value_parser = STATUSES)]
        status: String,
    },
    /// Post a message on a ticket (from `--message`, else standard input). Needs a
    /// sender: `--as EMAIL` on a local store, the token's user over `--url`.
    #[command(after_help = "Examples:
  helpdesk ticket comment 42 --as agent@example.com --message 'Restarted the VPN gateway.'
  echo 'Customer called back' | helpdesk ticket comment 42 --as agent@example.com --internal")]
    Comment {
        /// The ticket number.
        number: i64,
        /// The text (default: standard input).
        #[arg(long, short)]
        message: Option<String>,
        /// A staff-only internal note.
        #[arg(long)]
        internal: bool,
    },
}

/// Runs a `ticket` command.
pub async fn run(b: &Backend, cmd: TicketCommand, json_out: bool) -> CliResult {
    match cmd {
        TicketCommand::List {
            statuses,
            assignee,
            requester,
            tag,
            priority,
        } => {
            let assignee = match assignee.as_deref() {
                None => None,
                Some("none") => Some(AssigneeFilter::Nobody),
                Some(a) => Some(AssigneeFilter::User(user::id_of(&user::find(b, a).await?)?)),
            };
            let requester_id = match requester {
                Some(r) => Some(user::id_of(&user::find(b, &r).await?)?),
                None => None,
            };
            let filter = TicketFilter {
                statuses: statuses.iter().map(|s| status_of(s)).collect(),
                priority: priority.as_deref().map(priority_of),
                assignee,
                requester_id,
                tag,
                ..Default::default()
            };
            let tickets = list(b, filter).await?;
            if json_out {
                output::json_lines(&tickets);
                return Ok(());
            }
            let mut names = Names::default();
            let mut rows = Vec::new();
            for t in &tickets {
                rows.push(vec![
                    output::s(&t["number"]),
                    output::s(&t["status"]),
                    output::s(&t["priority"]),
                    output::s(&t["subject"]),
                    names.email(b, &t["requester_id"]).await,
                    names.email(b, &t["assignee_id"]).await,
                    output::list(&t["tags"]),
                    output::when(&t["updated_at"]),
                ]);
            }
            output::table(
                &[
                    "#",
                    "status",
                    "priority",
                    "subject",
                    "requester",
                    "assignee",
                    "tags",
                    "updated",
                ],
                rows,
                "no tickets",
            );
            Ok(())
        }
        TicketCommand::Show { number } => show(b, number, json_out).await,
        TicketCommand::Create {
            subject,
            description,
            requester,
            assignee,
            priority,
            tags,
        } => {
            let requester_id = match requester {
                Some(r) => Some(user::id_of(&user::find(b, &r).await?)?),
                None => None,
            };
            let assignee_id = match assignee {
                Some(a) => Some(user::id_of(&user::find(b, &a).await?)?),
                None => None,
            };
            let t = match b {
                Backend::Local { hd, actor } => {
                    let input = NewTicketInput {
                        subject,
                        description,
                        priority: priority.as_deref().map(priority_of),
                        tags,
                        attachment_ids: vec![],
                        requester_id,
                        assignee_id,
                    };
                    to_json(ticket_json(&hd.create_ticket(actor, input).await?))
                }
                Backend::Remote(r) => {
                    let mut body =
                        json!({"subject": subject, "description": description, "tags": tags});
                    if let Some(p) = priority {
                        body["priority"] = json!(p);
                    }
                    if let Some(id) = requester_id {
                        body["requester_id"] = json!(id);
                    }
                    if let Some(id) = assignee_id {
                        body["assignee_id"] = json!(id);
                    }
                    r.call(Method::POST, "/api/tickets", Some(body)).await?
                }
            };
            if json_out {
                output::json(&t);
            } else {
                crate::outln!("{}", output::s(&t["number"]));
            }
            Ok(())
        }
        TicketCommand::Assign { number, assignee } => {
            let to = if assignee == "none" {
                None
            } else {
                Some(user::id_of(&user::find(b, &assignee).await?)?)
            };
            let patch = TicketPatch {
                assignee_id: Some(to),
                ..Default::default()
            };
            update(b, number, patch, json!({ "assignee_id": to }), json_out).await
        }
        TicketCommand::Status { number, status } => {
            let patch = TicketPatch {
                status: Some(status_of(&status)),
                ..Default::default()
            };
            update(b, number, patch, json!({ "status": status }), json_out).await
        }
        TicketCommand::Comment {
            number,
            message,
            internal,
        } => {
            let content = match message {
                Some(m) => m,
                None => {
                    let mut s = String::new();
                    std::io::stdin().read_to_string(&mut s)?;
                    s.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let t = get(b, number).await?;
            let conv = uuid_field(&t["conversation_id"])?;
            let m = match b {
                Backend::Local { hd, actor } => {
                    if actor.is_system() {
                        return Err(CliError::invalid(
                            "ticket comment needs --as EMAIL: a message needs a sender",
                        ));
                    }
                    let input = NewMessageInput {
                        content,
                        internal,
                        ..Default::default()
                    };
                    to_json(message_json(&hd.send_message(actor, conv, input).await?))
                }
                Backend::Remote(r) => {
                    let body = json!({"content": content, "internal": internal});
                    r.call(
                        Method::POST,
                        &format!("/api/conversations/{conv}/messages"),
                        Some(body),
                    )
                    .await?
                }
            };
            if json_out {
                output::json(&m);
            }
            Ok(())
        }
    }
}

fn uuid_field(v: &Value) -> CliResult<Uuid> {
    v.as_str()
        .and_then(|s| Uuid::try_parse(s).ok())
        .ok_or_else(|| CliError::new(Exit::Failure, "a record without an id"))
}

/// Tickets matching the filter, newest first, as the API renders them.
async fn list(b: &Backend, mut filter: TicketFilter) -> CliResult<Vec<Value>> {
    match b {
        Backend::Local { hd, actor } => {
            filter.limit = Some(200);
            let tickets = all_pages(|c| {
                let mut f = filter.clone();
                f.cursor = c;
                hd.list_tickets(actor, f)
            })
            .await?;
            Ok(tickets.iter().map(|x| to_json(ticket_json(x))).collect())
        }
        Backend::Remote(r) => {
            let mut q = vec!["sort=-created_at".to_string()];
            for s in &filter.statuses {
                q.push(format!("status={}", s.as_str()));
            }
            if let Some(p) = filter.priority {
                q.push(format!("priority={}", p.as_str()));
            }
            match filter.assignee {
                Some(AssigneeFilter::Nobody) => q.push("assignee_id=none".into()),
                Some(AssigneeFilter::User(id)) => q.push(format!("assignee_id={id}")),
                None => {}
            }
            if let Some(id) = filter.requester_id {
                q.push(format!("requester_id={id}"));
            }
            if let Some(t) = &filter.tag {
                q.push(format!("tag={}", encode(t)));
            }
            r.walk(&format!("/api/tickets?{}", q.join("&"))).await
        }
    }
}

/// A ticket by number.
async fn get(b: &Backend, number: i64) -> CliResult<Value> {
    let missing = || CliError::not_found(format!("no ticket #{number}"));
    match b {
        Backend::Local { hd, actor } => match hd.get_ticket_by_number(actor, number).await {
            Ok(t) => Ok(to_json(ticket_json(&t))),
            Err(helpdesk_core::Error::NotFound) => Err(missing()),
            Err(e) => Err(e.into()),
        },
        // The API names tickets by id: walk the list, oldest first, until the number.
        Backend::Remote(r) => r
            .walk("/api/tickets?sort=created_at")
            .await?
            .into_iter()
            .find(|t| t["number"].as_i64() == Some(number))
            .ok_or_else(missing),
    }
}

async fn update(
    b: &Backend,
    number: i64,
    patch: TicketPatch,
    body: Value,
    json_out: bool,
) -> CliResult {
    let id = uuid_field(&get(b, number).await?["id"])?;
    let t = match b {
        Backend::Local { hd, actor } => {
            to_json(ticket_json(&hd.update_ticket(actor, id, patch).await?))
        }
        Backend::Remote(r) => {
            r.call(Method::PATCH, &format!("/api/tickets/{id}"), Some(body))
                .await?
        }
    };
    if json_out {
        output::json(&t);
    }
    Ok(())
}

async fn show(b: &Backend, number: i64, json_out: bool) -> CliResult {
    let t = get(b, number).await?;
    let id = uuid_field(&t["id"])?;
    let conv = uuid_field(&t["conversation_id"])?;
    let (events, mut messages) = match b {
        Backend::Local { hd, actor } => {
            let events = all_pages(|c| hd.ticket_events(actor, id, c, Some(200))).await?;
            let events = events
                .iter()
                .map(|e| {
                    json!({"id": e.id, "kind": e.kind, "actor_id": e.actor_id,
                           "at": helpdesk_core::event::ts(e.at), "data": e.data})
                })
                .collect::<Vec<_>>();
            let messages = all_pages(|c| {
                let q = MessagePageQuery {
                    cursor: c,
                    limit: Some(200),
                    ..Default::default()
                };
                hd.list_messages(actor, conv, q)
            })
            .await?;
            (
                events,
                messages
                    .iter()
                    .map(|x| to_json(message_json(x)))
                    .collect::<Vec<_>>(),
            )
        }
        Backend::Remote(r) => (
            r.walk(&format!("/api/tickets/{id}/events")).await?,
            r.walk(&format!("/api/conversations/{conv}/messages"))
                .await?,
        ),
    };
    // Pages come newest first: put the conversation in order.
    messages.sort_by_key(|m| m["seq"].as_u64());
    if json_out {
        output::json(&json!({"ticket": t, "events": events, "messages": messages}));
        return Ok(());
    }
    let mut names = Names::default();
    crate::outln!("#{} {}", output::s(&t["number"]), output::s(&t["subject"]));
    crate::outln!(
        "status: {}  priority: {}  tags: {}",
        output::s(&t["status"]),
        output::s(&t["priority"]),
        output::list(&t["tags"])
    );
    crate::outln!(
        "requester: {}  assignee: {}",
        names.email(b, &t["requester_id"]).await,
        names.email(b, &t["assignee_id"]).await
    );
    crate::outln!(
        "created: {}  updated: {}",
        output::when(&t["created_at"]),
        output::when(&t["updated_at"])
    );
    crate::outln!();
    for line in output::s(&t["description"]).lines() {
        crate::outln!("    {line}");
    }
    crate::outln!();
    crate::outln!("Timeline:");
    for e in &events {
        let detail = timeline_detail(b, &mut names, &e["data"]).await;
        let by = if e["actor_id"].is_null() {
            "system".to_string()
        } else {
            names.email(b, &e["actor_id"]).await
        };
        crate::outln!(
            "  {}  {}{}  by {}",
            output::when(&e["at"]),
            output::s(&e["kind"]),
            detail,
            by,
        );
    }
    crate::outln!();
    crate::outln!("Messages:");
    if messages.is_empty() {
        crate::outln!("  (none)");
    }
    for m in &messages {
        let mut tags = Vec::new();
        if m["internal"].as_bool() == Some(true) {
            tags.push("internal".to_string());
        }
        if !m["parent_id"].is_null() {
            tags.push("reply".to_string());
        }
        if !m["deleted_at"].is_null() {
            tags.push("deleted".to_string());
        }
        if !m["edited_at"].is_null() {
            tags.push("edited".to_string());
        }
        let tags = if tags.is_empty() {
            String::new()
        } else {
            format!(" ({})", tags.join(", "))
        };
        crate::outln!(
            "  [{}] {}  {}{}",
            output::s(&m["seq"]),
            output::when(&m["created_at"]),
            names.email(b, &m["sender_id"]).await,
            tags
        );
        for line in output::s(&m["content"]).lines() {
            crate::outln!("      {line}");
        }
    }
    Ok(())
}

/// A timeline entry's data for people: `from → to` (user ids as emails), tags added and
/// removed, fields changed.
async fn timeline_detail(b: &Backend, names: &mut Names, data: &Value) -> String {
    if let (Some(from), Some(to)) = (data.get("from"), data.get("to")) {
        let show = async |names: &mut Names, v: &Value| {
            if v.as_str().is_some_and(|s| Uuid::try_parse(s).is_ok()) {
                names.email(b, v).await
            } else {
                output::s(v)
            }
        };
        let from = show(names, from).await;
        let to = show(names, to).await;
        return format!(" {from} → {to}");
    }
    let mut parts = Vec::new();
    for t in data["added"].as_array().into_iter().flatten() {
        parts.push(format!("+{}", output::s(t)));
    }
    for t in data["removed"].as_array().into_iter().flatten() {
        parts.push(format!("-{}", output::s(t)));
    }
    if let Some(f) = data["fields"].as_array() {
        parts.push(f.iter().map(output::s).collect::<Vec<_>>().join(", "));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" {}", parts.join(" "))
    }
}

/// Emails of user ids, looked up once each.
#[derive(Default)]
struct Names(HashMap<String, String>);

impl Names {
    async fn email(&mut self, b: &Backend, id: &Value) -> String {
        let Some(id) = id.as_str() else {
            return "-".into();
        };
        if Uuid::try_parse(id).is_ok_and(|u| u.is_nil()) {
            return "system".into();
        }
        if let Some(e) = self.0.get(id) {
            return e.clone();
        }
        let email = match user::find(b, id).await {
            Ok(u) => output::s(&u["email"]),
            Err(_) => id.to_string(),
        };
        self.0.insert(id.to_string(), email.clone());
        email
    }
}
