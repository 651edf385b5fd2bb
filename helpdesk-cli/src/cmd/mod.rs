//! The administration commands. Each verb is written once, against [`Admin`]: the
//! library over a local store (`--store`, [`local`]) or the HTTP API of a running server
//! (`--url` and `HELPDESK_TOKEN`, [`remote`]). Both answer in the library's types and
//! print through the API's renderings, so what is printed (a table for people, JSON
//! with `--json`) is the same either way.

pub mod admin;
pub mod archive;
pub mod error;
pub mod kb;
pub mod local;
pub mod mail;
pub mod output;
pub mod remote;
pub mod ticket;
pub mod user;
pub mod webhook;

use clap::{Args, Subcommand};

pub use admin::Admin;
pub use error::{CliError, CliResult};

/// Flags of the administration commands (and of no other: `serve --help` does not list
/// them). Global within each command group, so they go before or after the verb:
/// `helpdesk user --json list` and `helpdesk user list --json` alike.
#[derive(Args, Debug, Clone, Default)]
pub struct AdminArgs {
    /// Talk to a running server at this URL instead of opening the store (then
    /// `HELPDESK_TOKEN` must hold an admin's access token).
    #[arg(long, env = "HELPDESK_URL", global = true)]
    pub url: Option<String>,
    /// An admin's access token, for `--url`.
    #[arg(long, env = "HELPDESK_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Act as this staff user (recorded as the actor of changes); default: the system.
    /// Local store only: over `--url` the token's user acts.
    #[arg(long = "as", value_name = "EMAIL", global = true)]
    pub as_email: Option<String>,
    /// Print JSON for scripts (lists: one object per line) instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The administration flags written before the command (`helpdesk --url URL user
/// list`), as they were when every flag was global: still accepted, not listed. Their
/// environment fallbacks are the command's own flags'.
#[derive(Args, Debug, Clone, Default)]
pub struct LeadingAdminArgs {
    #[arg(long = "url", id = "leading_url", hide = true)]
    url: Option<String>,
    #[arg(long = "token", id = "leading_token", hide = true)]
    token: Option<String>,
    #[arg(long = "as", id = "leading_as", hide = true)]
    as_email: Option<String>,
    #[arg(long = "json", id = "leading_json", hide = true)]
    json: bool,
}

impl LeadingAdminArgs {
    /// The first of these flags given, for the error of a command they do not apply to.
    pub fn first_given(&self) -> Option<&'static str> {
        [
            (self.url.is_some(), "--url"),
            (self.token.is_some(), "--token"),
            (self.as_email.is_some(), "--as"),
            (self.json, "--json"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }

    /// The command's flags with these in front: a flag given here wins over the
    /// command's environment fallback.
    fn over(self, flags: &AdminArgs) -> AdminArgs {
        AdminArgs {
            url: self.url.or_else(|| flags.url.clone()),
            token: self.token.or_else(|| flags.token.clone()),
            as_email: self.as_email.or_else(|| flags.as_email.clone()),
            json: self.json || flags.json,
        }
    }
}

/// The administration commands.
#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Manage users.
    #[command(after_help = "Examples:
  helpdesk user create --email ada@example.com --name Ada --role admin
  helpdesk user list --role agent
  helpdesk user deactivate bob@example.com")]
    User {
        #[command(flatten)]
        flags: AdminArgs,
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// Work with tickets.
    #[command(after_help = "Examples:
  helpdesk ticket list --status open --assignee none
  helpdesk ticket show 42
  helpdesk ticket status 42 resolved")]
    Ticket {
        #[command(flatten)]
        flags: AdminArgs,
        #[command(subcommand)]
        command: ticket::TicketCommand,
    },
    /// Import or export the knowledge base as Markdown files.
    #[command(after_help = "Examples:
  helpdesk kb import ./kb
  helpdesk kb export ./kb")]
    Kb {
        #[command(flatten)]
        flags: AdminArgs,
        #[command(subcommand)]
        command: kb::KbCommand,
    },
    /// Manage webhook endpoints and their deliveries.
    #[command(after_help = "Examples:
  helpdesk webhook add https://hooks.example.com/in
  helpdesk webhook list")]
    Webhook {
        #[command(flatten)]
        flags: AdminArgs,
        #[command(subcommand)]
        command: webhook::WebhookCommand,
    },
    /// Hand mail to the email channel (an MTA's `pipe`).
    #[command(after_help = "Examples:
  helpdesk mail ingest --mailbox 0193a5c1-7c3e-7b40-9a51-1f2e3d4c5b6a < message.eml
  helpdesk mail ingest --mailbox ID --recipient support+42-abc@example.com < message.eml

Exit codes (sysexits, as MTAs read them): 0 stored (a duplicate or an ignored mail too),
65 not a mail or too large, 67 no such mailbox, 75 store or server unavailable (the MTA
retries), 77 denied.")]
    Mail {
        #[command(flatten)]
        flags: AdminArgs,
        #[command(subcommand)]
        command: mail::MailCommand,
    },
    /// Write the whole store as JSON Lines (a backup, or a move to another store).
    Export(archive::ExportArgs),
    /// Read a JSON Lines export into an empty store.
    Import(archive::ImportArgs),
}

/// Runs an administration command against the store or the server.
pub async fn run(command: AdminCommand, leading: LeadingAdminArgs, store_spec: &str) -> CliResult {
    use AdminCommand as C;
    let flags = match &command {
        C::User { flags, .. }
        | C::Ticket { flags, .. }
        | C::Kb { flags, .. }
        | C::Webhook { flags, .. }
        | C::Mail { flags, .. } => flags,
        C::Export(a) => &a.flags,
        C::Import(a) => &a.flags,
    };
    let flags = leading.over(flags);
    let allow_private = matches!(
        &command,
        C::Webhook {
            command: webhook::WebhookCommand::Add {
                webhooks_allow_private: true,
                ..
            },
            ..
        }
    );
    let is_mail = matches!(&command, C::Mail { .. });
    let admin = match connect(&flags, store_spec, allow_private).await {
        Ok(admin) => admin,
        // An MTA reads sysexits: a store it cannot open is worth retrying.
        Err(e) if is_mail => return Err(CliError::new(e.exit.sysexit(), e.message)),
        Err(e) => return Err(e),
    };
    let (admin, json) = (admin.as_ref(), flags.json);
    match command {
        C::User { command, .. } => user::run(admin, command, json).await,
        C::Ticket { command, .. } => ticket::run(admin, command, json).await,
        C::Kb { command, .. } => kb::run(admin, command, json).await,
        C::Webhook { command, .. } => webhook::run(admin, command, json).await,
        C::Mail { command, .. } => mail::run(admin, command, json).await,
        C::Export(a) => archive::export(admin, a, json).await,
        C::Import(a) => archive::import(admin, a, json).await,
    }
}

/// The server's API with `--url`, else the store opened here.
async fn connect(
    flags: &AdminArgs,
    store_spec: &str,
    webhooks_allow_private: bool,
) -> CliResult<Box<dyn Admin>> {
    match &flags.url {
        Some(url) => {
            if flags.as_email.is_some() {
                return Err(CliError::invalid(
                    "--as works on a local store only: over --url the token's user is the actor",
                ));
            }
            Ok(Box::new(remote::Remote::new(url, flags.token.as_deref())?))
        }
        None => {
            let as_email = flags.as_email.as_deref();
            let local = local::Local::open(store_spec, as_email, webhooks_allow_private).await?;
            Ok(Box::new(local))
        }
    }
}
