//! `helpdesk user ...`: create, list, show, set-role, deactivate, activate,
//! reset-password.

use helpdesk_core::wire::to_json;
use std::io::{IsTerminal, Read};

use clap::{Subcommand, ValueEnum};
use helpdesk_core::user::{NewUser, UserPatch};
use helpdesk_core::{Role, user::User};
use helpdesk_http::render::user_json;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::backend::{Backend, all_pages, encode};
use super::error::{CliError, CliResult, Exit};
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
pub async fn run(b: &Backend, cmd: UserCommand, json_out: bool) -> CliResult {
    match cmd {
        UserCommand::Create {
            email,
            name,
            role,
            password_stdin,
        } => {
            let (password, generated) = password(password_stdin)?;
            let role: Role = role.into();
            let u = match b {
                Backend::Local { hd, actor } => to_json(user_json(
                    &hd.create_user(actor, NewUser::new(&email, &name, role, &password))
                        .await?,
                    actor,
                )),
                Backend::Remote(r) => {
                    let body =
                        json!({"email": email, "name": name, "role": role, "password": password});
                    r.call(Method::POST, "/api/users", Some(body)).await?
                }
            };
            report_password(&u, json_out, generated.then_some(&password));
            Ok(())
        }
        UserCommand::List { role, q } => {
            let users = list(b, role.map(Into::into), q).await?;
            if json_out {
                output::json_lines(&users);
            } else {
                output::table(
                    &["email", "name", "role", "active", "created", "id"],
                    users.iter().map(row).collect(),
                    "no users",
                );
            }
            Ok(())
        }
        UserCommand::Show { user } => {
            let u = find(b, &user).await?;
            if json_out {
                output::json(&u);
            } else {
                output::table(
                    &["email", "name", "role", "active", "created", "id"],
                    vec![row(&u)],
                    "",
                );
            }
            Ok(())
        }
        UserCommand::SetRole { user, role } => {
            let role: Role = role.into();
            patch(
                b,
                &user,
                UserPatch {
                    role: Some(role),
                    ..Default::default()
                },
                json_out,
            )
            .await
        }
        UserCommand::Deactivate { user } => {
            patch(
                b,
                &user,
                UserPatch {
                    is_active: Some(false),
                    ..Default::default()
                },
                json_out,
            )
            .await
        }
        UserCommand::Activate { user } => {
            patch(
                b,
                &user,
                UserPatch {
                    is_active: Some(true),
                    ..Default::default()
                },
                json_out,
            )
            .await
        }
        UserCommand::ResetPassword {
            user,
            password_stdin,
        } => {
            let Backend::Local { hd, actor } = b else {
                return Err(CliError::new(
                    Exit::Failure,
                    "reset-password is not part of the HTTP API: run it against the store (--store)",
                ));
            };
            let id = id_of(&find(b, &user).await?)?;
            let (password, generated) = password(password_stdin)?;
            let u = to_json(user_json(
                &hd.set_password(actor, id, &password).await?,
                actor,
            ));
            report_password(&u, json_out, generated.then_some(&password));
            Ok(())
        }
    }
}

fn row(u: &Value) -> Vec<String> {
    vec![
        output::s(&u["email"]),
        output::s(&u["name"]),
        output::s(&u["role"]),
        if u["is_active"].as_bool() == Some(false) {
            "no"
        } else {
            "yes"
        }
        .into(),
        output::when(&u["created_at"]),
        output::s(&u["id"]),
    ]
}

/// With `--json` the user (and the generated password); else only a generated password.
fn report_password(u: &Value, json_out: bool, generated: Option<&String>) {
    if json_out {
        let mut u = u.clone();
        if let Some(p) = generated {
            u["password"] = json!(p);
        }
        output::json(&u);
    } else if let Some(p) = generated {
        crate::outln!("{p}");
        if std::io::stdout().is_terminal() {
            eprintln!(
                "(the generated password of {}; it is shown only once)",
                output::s(&u["email"])
            );
        }
    }
}

/// Every user, as the API renders them.
pub async fn list(b: &Backend, role: Option<Role>, q: Option<String>) -> CliResult<Vec<Value>> {
    match b {
        Backend::Local { hd, actor } => {
            let users = all_pages(|c| hd.list_users(actor, role, q.clone(), c, Some(200))).await?;
            Ok(users.iter().map(|u| to_json(user_json(u, actor))).collect())
        }
        Backend::Remote(r) => {
            let mut path = "/api/users?".to_string();
            if let Some(role) = role {
                path.push_str(&format!("role={}&", role.as_str()));
            }
            if let Some(q) = q {
                path.push_str(&format!("q={}&", encode(&q)));
            }
            r.walk(path.trim_end_matches(['&', '?'])).await
        }
    }
}

/// A user by email or id.
pub async fn find(b: &Backend, key: &str) -> CliResult<Value> {
    let missing = || CliError::not_found(format!("no user `{key}`"));
    match (b, Uuid::try_parse(key)) {
        (Backend::Local { hd, actor }, Ok(id)) => {
            let u: User = hd.get_user(actor, id).await.map_err(|_| missing())?;
            Ok(to_json(user_json(&u, actor)))
        }
        (Backend::Local { hd, actor }, Err(_)) => {
            let u =
                hd.find_user_by_email(actor, key)
                    .await
                    .map_err(|e| match CliError::from(e) {
                        e if e.is_not_found() => missing(),
                        e => e,
                    })?;
            Ok(to_json(user_json(&u, actor)))
        }
        (Backend::Remote(r), Ok(id)) => r
            .call(Method::GET, &format!("/api/users/{id}"), None)
            .await
            .map_err(|e| if e.is_not_found() { missing() } else { e }),
        (Backend::Remote(_), Err(_)) => {
            let wanted = key.trim().to_lowercase();
            list(b, None, Some(wanted.clone()))
                .await?
                .into_iter()
                .find(|u| u["email"].as_str().map(str::to_lowercase) == Some(wanted.clone()))
                .ok_or_else(missing)
        }
    }
}

/// A user's id from its JSON.
pub fn id_of(u: &Value) -> CliResult<Uuid> {
    u["id"]
        .as_str()
        .and_then(|s| Uuid::try_parse(s).ok())
        .ok_or_else(|| CliError::new(Exit::Failure, "a user without an id"))
}

async fn patch(b: &Backend, key: &str, p: UserPatch, json_out: bool) -> CliResult {
    let id = id_of(&find(b, key).await?)?;
    let u = match b {
        Backend::Local { hd, actor } => {
            to_json(user_json(&hd.update_user(actor, id, p).await?, actor))
        }
        Backend::Remote(r) => {
            let mut body = serde_json::Map::new();
            if let Some(role) = p.role {
                body.insert("role".into(), json!(role));
            }
            if let Some(a) = p.is_active {
                body.insert("is_active".into(), json!(a));
            }
            r.call(
                Method::PATCH,
                &format!("/api/users/{id}"),
                Some(Value::Object(body)),
            )
            .await?
        }
    };
    if json_out {
        output::json(&u);
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
