//! `helpdesk mail ingest`: one mail from standard input into the ingest pipeline, for an
//! MTA's `pipe` transport. Exits with sysexits ([`Exit::sysexit`]), which MTAs read:
//! 0 stored (a duplicate or an ignored mail too), 65, 67, 75 (retried), 77.

use clap::Subcommand;
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use super::admin::Admin;
use super::error::{CliError, CliResult, Exit};
use super::output;

/// Hand mail to the email channel.
#[derive(Subcommand, Debug)]
pub enum MailCommand {
    /// Read one mail (RFC 5322 bytes) from standard input and ingest it for a mailbox.
    Ingest {
        /// The receiving mailbox's id.
        #[arg(long)]
        mailbox: Uuid,
        /// An envelope recipient (repeatable): checked first for reply tokens.
        #[arg(long = "recipient", value_name = "ADDR")]
        recipients: Vec<String>,
    },
}

/// Runs a `mail` command.
pub async fn run(admin: &dyn Admin, command: MailCommand, json: bool) -> CliResult {
    match command {
        MailCommand::Ingest {
            mailbox,
            recipients,
        } => {
            let mut raw = Vec::new();
            tokio::io::stdin()
                .read_to_end(&mut raw)
                .await
                .map_err(|e| CliError::new(Exit::TempFail, format!("reading the mail: {e}")))?;
            if raw.iter().all(u8::is_ascii_whitespace) {
                return Err(CliError::new(Exit::DataErr, "the input holds no mail"));
            }
            let record = admin
                .ingest_mail(mailbox, raw, recipients)
                .await
                .map_err(|e| CliError::new(e.exit.sysexit(), e.message))?;
            if json {
                output::json(&record);
            } else {
                let mut line = record["result"].as_str().unwrap_or("").to_string();
                if let Some(reason) = record["reason"].as_str() {
                    line.push_str(&format!(" ({reason})"));
                }
                if record["duplicate"] == true {
                    line.push_str(", a duplicate");
                }
                println!("{line}");
            }
            Ok(())
        }
    }
}
