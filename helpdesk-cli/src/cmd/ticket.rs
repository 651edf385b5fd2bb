//! `helpdesk ticket ...`: list, show, create, assign, status, comment. Tickets are named
//! by their number; status moves follow the same table as the API.

use std::collections::HashMap;
use std::io::Read;

use clap::Subcommand;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use helpdesk_core::message::NewMessage;
use helpdesk_core::status::StatusKey;
use helpdesk_core::ticket::{
    AssigneeFilter, NewTicket, Priority, Ticket, TicketFilter, TicketPatch,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::admin::Admin;
use super::error::{CliError, CliResult};
use super::output;
use super::user;

const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];

/// A priority argument: one of [`PRIORITIES`].
fn priority_parser() -> impl TypedValueParser<Value = Priority> {
    PossibleValuesParser::new(PRIORITIES).map(|s| {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .unwrap_or(Priority::Normal)
    })
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
        /// Only this status key (repeatable: any of them).
        #[arg(long = "status")]
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
        #[arg(long, value_parser = priority_parser())]
        priority: Option<Priority>,
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
        #[arg(long, value_parser = priority_parser())]
        priority: Option<Priority>,
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
        /// The new status's key.
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
pub async fn run(admin: &dyn Admin, cmd: TicketCommand, json_out: bool) -> CliResult {
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
                Some(a) => Some(AssigneeFilter::User(user::find(admin, a).await?.id)),
            };
            let filter = TicketFilter {
                statuses: statuses.into_iter().map(StatusKey::new).collect(),
                priority,
                assignee,
                requester_id: user_id(admin, requester.as_deref()).await?,
                tag,
                ..Default::default()
            };
            let tickets = admin.tickets(filter).await?;
            if json_out {
                output::json_lines(tickets.iter().map(output::ticket_value));
                return Ok(());
            }
            let mut names = Names::default();
            let mut rows = Vec::new();
            for t in &tickets {
                rows.push(vec![
                    t.number.to_string(),
                    t.status.as_str().into(),
                    t.priority.as_str().into(),
                    t.subject.clone(),
                    names.email(admin, Some(t.requester_id)).await,
                    names.email(admin, t.assignee_id).await,
                    output::list(&t.tags),
                    output::when(t.updated_at),
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
        TicketCommand::Show { number } => show(admin, number, json_out).await,
        TicketCommand::Create {
            subject,
            description,
            requester,
            assignee,
            priority,
            tags,
        } => {
            let new = NewTicket {
                subject,
                description,
                priority,
                tags,
                attachment_ids: vec![],
                requester_id: user_id(admin, requester.as_deref()).await?,
                assignee_id: user_id(admin, assignee.as_deref()).await?,
                group_id: None,
                organization_id: None,
                fields: Default::default(),
                mailbox_id: None,
            };
            let t = admin.create_ticket(new).await?;
            if json_out {
                output::json(&output::ticket_value(&t));
            } else {
                crate::outln!("{}", t.number);
            }
            Ok(())
        }
        TicketCommand::Assign { number, assignee } => {
            let to = match assignee.as_str() {
                "none" => None,
                a => Some(user::find(admin, a).await?.id),
            };
            let patch = TicketPatch {
                assignee_id: Some(to),
                ..Default::default()
            };
            update(admin, number, patch, json_out).await
        }
        TicketCommand::Status { number, status } => {
            let patch = TicketPatch {
                status: Some(StatusKey::new(status)),
                ..Default::default()
            };
            update(admin, number, patch, json_out).await
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
            let t = get(admin, number).await?;
            let new = NewMessage {
                content,
                internal,
                ..Default::default()
            };
            let m = admin.send_message(t.conversation_id, new).await?;
            if json_out {
                output::json(&output::message_value(&m));
            }
            Ok(())
        }
    }
}

/// The id of the user named by email or id, if one is named.
async fn user_id(admin: &dyn Admin, key: Option<&str>) -> CliResult<Option<Uuid>> {
    match key {
        Some(k) => Ok(Some(user::find(admin, k).await?.id)),
        None => Ok(None),
    }
}

/// A ticket by number.
async fn get(admin: &dyn Admin, number: i64) -> CliResult<Ticket> {
    admin.ticket_by_number(number).await.map_err(|e| {
        if e.is_not_found() {
            CliError::not_found(format!("no ticket #{number}"))
        } else {
            e
        }
    })
}

async fn update(admin: &dyn Admin, number: i64, patch: TicketPatch, json_out: bool) -> CliResult {
    let id = get(admin, number).await?.id;
    let t = admin.update_ticket(id, patch).await?;
    if json_out {
        output::json(&output::ticket_value(&t));
    }
    Ok(())
}

async fn show(admin: &dyn Admin, number: i64, json_out: bool) -> CliResult {
    let t = get(admin, number).await?;
    let events = admin.ticket_events(t.id).await?;
    let mut messages = admin.messages(t.conversation_id).await?;
    // Pages come newest first: put the conversation in order.
    messages.sort_by_key(|m| m.message.seq);
    if json_out {
        output::json(&json!({
            "ticket": output::ticket_value(&t),
            "events": events.iter().map(output::ticket_event_value).collect::<Vec<_>>(),
            "messages": messages.iter().map(output::message_value).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    let mut names = Names::default();
    crate::outln!("#{} {}", t.number, t.subject);
    crate::outln!(
        "status: {}  priority: {}  tags: {}",
        t.status.as_str(),
        t.priority.as_str(),
        output::list(&t.tags)
    );
    crate::outln!(
        "requester: {}  assignee: {}",
        names.email(admin, Some(t.requester_id)).await,
        names.email(admin, t.assignee_id).await
    );
    crate::outln!(
        "created: {}  updated: {}",
        output::when(t.created_at),
        output::when(t.updated_at)
    );
    crate::outln!();
    for line in t.description.lines() {
        crate::outln!("    {line}");
    }
    crate::outln!();
    crate::outln!("Timeline:");
    for e in &events {
        let detail = timeline_detail(admin, &mut names, &e.data).await;
        let by = match e.actor_id {
            None => "system".to_string(),
            by => names.email(admin, by).await,
        };
        crate::outln!("  {}  {}{}  by {}", output::when(e.at), e.kind, detail, by);
    }
    crate::outln!();
    crate::outln!("Messages:");
    if messages.is_empty() {
        crate::outln!("  (none)");
    }
    for view in &messages {
        let m = &view.message;
        let tags: Vec<&str> = [
            (m.internal, "internal"),
            (m.parent_id.is_some(), "reply"),
            (m.deleted_at.is_some(), "deleted"),
            (m.edited_at.is_some(), "edited"),
        ]
        .into_iter()
        .filter_map(|(on, tag)| on.then_some(tag))
        .collect();
        let tags = if tags.is_empty() {
            String::new()
        } else {
            format!(" ({})", tags.join(", "))
        };
        crate::outln!(
            "  [{}] {}  {}{}",
            m.seq,
            output::when(m.created_at),
            // A rule's message (no sender) shows as the system's.
            names
                .email(admin, Some(m.sender_id.unwrap_or_default()))
                .await,
            tags
        );
        for line in m.content.lines() {
            crate::outln!("      {line}");
        }
    }
    Ok(())
}

/// A timeline entry's data for people: `from → to` (user ids as emails), tags added and
/// removed, fields changed.
async fn timeline_detail(admin: &dyn Admin, names: &mut Names, data: &Value) -> String {
    if let (Some(from), Some(to)) = (data.get("from"), data.get("to")) {
        let from = names.value(admin, from).await;
        let to = names.value(admin, to).await;
        return format!(" {from} → {to}");
    }
    let mut parts = Vec::new();
    for t in data["added"].as_array().into_iter().flatten() {
        parts.push(format!("+{}", text(t)));
    }
    for t in data["removed"].as_array().into_iter().flatten() {
        parts.push(format!("-{}", text(t)));
    }
    if let Some(f) = data["fields"].as_array() {
        parts.push(f.iter().map(text).collect::<Vec<_>>().join(", "));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" {}", parts.join(" "))
    }
}

/// A JSON value of a timeline entry as text: strings bare, `-` for null.
fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Emails of user ids, looked up once each.
#[derive(Default)]
struct Names(HashMap<Uuid, String>);

impl Names {
    /// The email of the user `id`: `-` for none, `system` for the nil id, the id itself
    /// when it names no user.
    async fn email(&mut self, admin: &dyn Admin, id: Option<Uuid>) -> String {
        let Some(id) = id else {
            return "-".into();
        };
        if id.is_nil() {
            return "system".into();
        }
        if let Some(e) = self.0.get(&id) {
            return e.clone();
        }
        let email = match admin.user(id).await {
            Ok(u) => u.email,
            Err(_) => id.to_string(),
        };
        self.0.insert(id, email.clone());
        email
    }

    /// A timeline value: a user id as the user's email, anything else as text.
    async fn value(&mut self, admin: &dyn Admin, v: &Value) -> String {
        match v.as_str().map(Uuid::try_parse) {
            Some(Ok(id)) => self.email(admin, Some(id)).await,
            _ => text(v),
        }
    }
}
