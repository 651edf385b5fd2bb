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

use clap::Args;

pub use backend::Backend;
pub use error::{CliError, CliResult};

/// Flags every administration command takes.
#[derive(Args, Debug, Clone, Default)]
pub struct Global {
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

/// Runs an administration command against the store or the server.
pub async fn run(global: &Global, store_spec: &str, command: crate::Command) -> CliResult {
    use crate::Command as C;
    let b = Backend::connect(global, store_spec).await?;
    let json = global.json;
    match command {
        C::User(c) => user::run(&b, c, json).await,
        C::Ticket(c) => ticket::run(&b, c, json).await,
        C::Kb(c) => kb::run(&b, c, json).await,
        C::Webhook(c) => webhook::run(&b, c, json).await,
        C::Export(a) => archive::export(&b, a, json).await,
        C::Import(a) => archive::import(&b, a, json).await,
        C::Serve(_) | C::Migrate | C::Completions { .. } => Err(CliError::new(
            error::code::FAILURE,
            "not an administration command",
        )),
    }
}
