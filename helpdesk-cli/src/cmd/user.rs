//! `helpdesk user ...`: create, list, show, set-role, deactivate, activate,
//! reset-password.

use std::io::{IsTerminal, Read};

use clap::{Subcommand, ValueEnum};
use helpdesk_core::Role;
use helpdesk_core::user::{NewUser, User, UserPatch};
use serde_json::json;
use uuid::Uuid;

use super::admin::Admin;
use super::error::{CliError, CliResult};
use super::output;

/// Manage users.
#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user. Without `--password-stdin` a password is generated and printed once.
    #[command(after_help = "Examples:
  helpdesk user create --email ada@example.com --name 'Ada L' --role admin
  printf '%s' \"$PASSWORD\" | helpdesk user create --email bob@example.com --name Bob --role agent --password-stdin")]
    Create {
        /// Email address (unique, case-insensitively).
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Read the password from standard input (8 to 1024 bytes).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users, oldest first.
    #[command(after_help = "Examples:
  helpdesk user list
  helpdesk user list --role agent
  helpdesk user list --json | jq -r .email")]
    List {
        /// Only this role.
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// Only users whose name or email contains this.
        #[arg(long)]
        q: Option<String>,
    },
    /// Show one user.
    #[command(after_help = "Examples:
  helpdesk user show ada@example.com
  helpdesk user show 0193a5c1-7c3e-7b40-9a51-1f2e3d4c5b6a --json")]
    Show {
        /// Email or id.
        user: String,
    },
    /// Change a user's role (takes effect on their existing tokens at once).
    #[command(after_help = "Example:
  helpdesk user set-role bob@example.com admin")]
    SetRole {
        /// Email or id.
        user: String,
        /// The new role.
        #[arg(value_enum)]
        role: RoleArg,
    },
    /// Deactivate a user: they cannot log in and their tokens stop working at once.
    #[command(after_help = "Example:
  helpdesk user deactivate bob@example.com")]
    Deactivate {
        /// Email or id.
        user: String,
    },
    /// Activate a deactivated user again.
    #[command(after_help = "Example:
  helpdesk user activate bob@example.com")]
    Activate {
        /// Email or id.
        user: String,
    },
    /// Set a new password and end all of the user's sessions. Without
    /// `--password-stdin` a password is generated and printed once. Local store only:
    /// the HTTP API has no password reset.
    #[command(after_help = "Examples:
  helpdesk user reset-password bob@example.com
  printf '%s' \"$PASSWORD\" | helpdesk user reset-password bob@example.com --password-stdin")]
    ResetPassword {
        /// Email or id.
        user: String,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// A role on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Everything.
    Admin,
    /// Staff: all tickets, KB editing.
    Agent,
    /// Own tickets and conversations.
    Customer,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Agent => Role::Agent,
            RoleArg::Customer => Role::Customer,
        }
    }
}

/// Runs a `user` command.
pub async fn run(admin: &dyn Admin, cmd: UserCommand, json_out: bool) -> CliResult {
    match cmd {
        UserCommand::Create {
            email,
            name,
            role,
            password_stdin,
        } => {
            let (password, generated) = password(password_stdin)?;
            let new = NewUser::new(&email, &name, role.into(), &password);
            let u = admin.create_user(new).await?;
            report_password(&u, json_out, generated.then_some(&password));
            Ok(())
        }
        UserCommand::List { role, q } => {
            let users = admin.users(role.map(Into::into), q).await?;
            if json_out {
                output::json_lines(users.iter().map(output::user_value));
            } else {
                output::table(&HEADERS, users.iter().map(row).collect(), "no users");
            }
            Ok(())
        }
        UserCommand::Show { user } => {
            let u = find(admin, &user).await?;
            if json_out {
                output::json(&output::user_value(&u));
            } else {
                output::table(&HEADERS, vec![row(&u)], "");
            }
            Ok(())
        }
        UserCommand::SetRole { user, role } => {
            let patch = UserPatch {
                role: Some(role.into()),
                ..Default::default()
            };
            update(admin, &user, patch, json_out).await
        }
        UserCommand::Deactivate { user } => {
            let patch = UserPatch {
                is_active: Some(false),
                ..Default::default()
            };
            update(admin, &user, patch, json_out).await
        }
        UserCommand::Activate { user } => {
            let patch = UserPatch {
                is_active: Some(true),
                ..Default::default()
            };
            update(admin, &user, patch, json_out).await
        }
        UserCommand::ResetPassword {
            user,
            password_stdin,
        } => {
            let id = find(admin, &user).await?.id;
            let (password, generated) = password(password_stdin)?;
            let u = admin.set_password(id, &password).await?;
            report_password(&u, json_out, generated.then_some(&password));
            Ok(())
        }
    }
}

const HEADERS: [&str; 6] = ["email", "name", "role", "active", "created", "id"];

fn row(u: &User) -> Vec<String> {
    vec![
        u.email.clone(),
        u.name.clone(),
        u.role.as_str().into(),
        output::yes_no(u.is_active),
        output::when(u.created_at),
        u.id.to_string(),
    ]
}

/// With `--json` the user (and the generated password); else only a generated password.
fn report_password(u: &User, json_out: bool, generated: Option<&String>) {
    if json_out {
        let mut v = output::user_value(u);
        if let Some(p) = generated {
            v["password"] = json!(p);
        }
        output::json(&v);
    } else if let Some(p) = generated {
        crate::outln!("{p}");
        if std::io::stdout().is_terminal() {
            eprintln!(
                "(the generated password of {}; it is shown only once)",
                u.email
            );
        }
    }
}

/// A user by email or id.
pub async fn find(admin: &dyn Admin, key: &str) -> CliResult<User> {
    let found = match Uuid::try_parse(key) {
        Ok(id) => admin.user(id).await,
        Err(_) => admin.user_by_email(key).await,
    };
    found.map_err(|e| {
        if e.is_not_found() {
            CliError::not_found(format!("no user `{key}`"))
        } else {
            e
        }
    })
}

async fn update(admin: &dyn Admin, key: &str, patch: UserPatch, json_out: bool) -> CliResult {
    let id = find(admin, key).await?.id;
    let u = admin.update_user(id, patch).await?;
    if json_out {
        output::json(&output::user_value(&u));
    }
    Ok(())
}

/// The password from standard input, or a generated one; and whether it was generated.
fn password(from_stdin: bool) -> CliResult<(String, bool)> {
    if from_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        let p = s.trim_end_matches(['\r', '\n']).to_string();
        if p.is_empty() {
            return Err(CliError::invalid(
                "--password-stdin: standard input was empty",
            ));
        }
        Ok((p, false))
    } else {
        Ok((generate_password(), true))
    }
}

fn generate_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}
