//! The administration commands. Each verb is one function over a [`Backend`]: the
//! library over a local store (`--store`), or the HTTP API of a running server (`--url`
//! and `HELPDESK_TOKEN`). Both answer in the API's JSON shapes, so what is printed (a
//! table for people, JSON with `--json`) is the same either way.

pub mod archive;
pub mod backend;
pub mod error;
pub mod kb;
pub mod output;
pub mod ticket;
pub mod user;
pub mod webhook;

use clap::{Args, Subcommand};

pub use backend::Backend;
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
    fn over(self, args: &AdminArgs) -> AdminArgs {
        AdminArgs {
            url: self.url.or_else(|| args.url.clone()),
            token: self.token.or_else(|| args.token.clone()),
            as_email: self.as_email.or_else(|| args.as_email.clone()),
            json: self.json || args.json,
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
        admin: AdminArgs,
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
        admin: AdminArgs,
        #[command(subcommand)]
        command: ticket::TicketCommand,
    },
    /// Import or export the knowledge base as Markdown files.
    #[command(after_help = "Examples:
  helpdesk kb import ./kb
  helpdesk kb export ./kb")]
    Kb {
        #[command(flatten)]
        admin: AdminArgs,
        #[command(subcommand)]
        command: kb::KbCommand,
    },
    /// Manage webhook endpoints and their deliveries.
    #[command(after_help = "Examples:
  helpdesk webhook add https://hooks.example.com/in
  helpdesk webhook list")]
    Webhook {
        #[command(flatten)]
        admin: AdminArgs,
        #[command(subcommand)]
        command: webhook::WebhookCommand,
    },
    /// Write the whole store as JSON Lines (a backup, or a move to another store).
    Export(archive::ExportArgs),
    /// Read a JSON Lines export into an empty store.
    Import(archive::ImportArgs),
}

/// Runs an administration command against the store or the server.
pub async fn run(command: AdminCommand, leading: LeadingAdminArgs, store_spec: &str) -> CliResult {
    use AdminCommand as C;
    let admin = match &command {
        C::User { admin, .. }
        | C::Ticket { admin, .. }
        | C::Kb { admin, .. }
        | C::Webhook { admin, .. } => admin,
        C::Export(a) => &a.admin,
        C::Import(a) => &a.admin,
    };
    let admin = leading.over(admin);
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
    let b = Backend::connect(&admin, store_spec, allow_private).await?;
    let json = admin.json;
    match command {
        C::User { command, .. } => user::run(&b, command, json).await,
        C::Ticket { command, .. } => ticket::run(&b, command, json).await,
        C::Kb { command, .. } => kb::run(&b, command, json).await,
        C::Webhook { command, .. } => webhook::run(&b, command, json).await,
        C::Export(a) => archive::export(&b, a, json).await,
        C::Import(a) => archive::import(&b, a, json).await,
    }
}
