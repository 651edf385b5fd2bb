//! The `helpdesk` command: `serve`, `migrate`, and the administration commands of
//! [`cmd`] (users, tickets, KB, webhooks, export/import, completions).
//! Every flag has the environment fallback named in DESIGN.md.
#![forbid(unsafe_code)]

mod cmd;
mod config;
mod store;

/// jemalloc returns freed memory to the system (its background thread purges dirty
/// pages): glibc's malloc kept every argon2 buffer (19 MiB per password hash) in
/// whichever thread's arena ran it, so RSS grew by hundreds of MiB after a few dozen
/// logins.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand, ValueEnum};
use helpdesk_core::{Config, Helpdesk};

use crate::config::{
    parse_duration, parse_free_mail_domain, parse_proxy, parse_schedule, parse_size,
};

/// Support ticketing: the server and its administration.
#[derive(Parser, Debug)]
#[command(
    name = "helpdesk",
    version,
    about,
    after_help = "Examples:
  helpdesk serve --store sled:./helpdesk-data
  helpdesk user create --email ada@example.com --name Ada --role admin
  helpdesk ticket list --status open --assignee none
  helpdesk user list --url https://helpdesk.example.com      # with HELPDESK_TOKEN
  helpdesk export --store sled:./helpdesk-data - | helpdesk import --store postgres://db/helpdesk -

Exit codes: 0 success, 1 failure, 2 bad input, 3 not found, 4 conflict, 5 not allowed,
6 store or server unavailable."
)]
struct Cli {
    /// Where the data lives: `sled:PATH`, `postgres://...` or `memory`.
    #[arg(
        long,
        env = "HELPDESK_STORE",
        default_value = "sled:./helpdesk-data",
        global = true
    )]
    store: String,
    /// Log format.
    #[arg(
        long,
        env = "HELPDESK_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    log_format: LogFormat,
    #[command(flatten)]
    leading: cmd::LeadingAdminArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Signup {
    Open,
    Closed,
}

/// `--socketio`: Socket.IO at `/socket.io/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SocketIo {
    /// Polling, upgraded to a WebSocket, or a WebSocket at once.
    On,
    /// No Socket.IO (`/socket.io/` answers 404).
    Off,
    /// WebSocket only: several instances without sticky sessions.
    WebsocketOnly,
}

/// `--csat`: CSAT surveys when a customer's ticket is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Csat {
    /// A survey per resolution, its link in the requester's notification.
    On,
    /// No surveys.
    Off,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the HTTP server.
    #[command(after_help = "Examples:
  helpdesk serve
  helpdesk serve --store postgres://helpdesk@db/helpdesk --bind 0.0.0.0:8080 --signup closed")]
    Serve(Box<ServeArgs>),
    /// Create or upgrade the store's schema.
    #[command(after_help = "Example:
  helpdesk migrate --store postgres://helpdesk@db/helpdesk")]
    Migrate,
    #[command(flatten)]
    Admin(Box<cmd::AdminCommand>),
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  helpdesk completions bash > ~/.local/share/bash-completion/completions/helpdesk
  helpdesk completions zsh > ~/.zfunc/_helpdesk
  helpdesk completions fish > ~/.config/fish/completions/helpdesk.fish")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HELPDESK_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// HS256 secret for access tokens (default: generated once, kept in the store).
    #[arg(long, env = "HELPDESK_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// Access token lifetime (`15m`, `1h`, ...).
    #[arg(long, env = "HELPDESK_ACCESS_TOKEN_TTL", default_value = "15m", value_parser = parse_duration)]
    access_token_ttl: std::time::Duration,
    /// Refresh token lifetime.
    #[arg(long, env = "HELPDESK_REFRESH_TOKEN_TTL", default_value = "30d", value_parser = parse_duration)]
    refresh_token_ttl: std::time::Duration,
    /// Whether anyone may sign up.
    #[arg(long, env = "HELPDESK_SIGNUP", value_enum, default_value = "open")]
    signup: Signup,
    /// Signups allowed from one client address (`N/DURATION`: `20/1m`, `100/1h`);
    /// counted in the store, so shared by every instance.
    #[arg(long, env = "HELPDESK_SIGNUP_LIMIT", default_value = "20/1m")]
    signup_limit: helpdesk_core::limit::Rate,
    /// Requests per minute through one API key on this instance; `0`: no limit.
    #[arg(long, env = "HELPDESK_API_KEY_RATE_LIMIT", default_value_t = 600)]
    api_key_rate_limit: usize,
    /// Largest upload (`25MiB`, `10MB`, bytes).
    #[arg(long, env = "HELPDESK_MAX_UPLOAD", default_value = "25MiB", value_parser = parse_size)]
    max_upload: u64,
    /// An origin allowed to call the API from a browser (repeatable).
    #[arg(
        long = "cors-origin",
        env = "HELPDESK_CORS_ORIGINS",
        value_delimiter = ','
    )]
    cors_origins: Vec<String>,
    /// An origin allowed to open WebSockets (repeatable; default any).
    #[arg(long = "ws-origin", env = "HELPDESK_WS_ORIGINS", value_delimiter = ',')]
    ws_origins: Vec<String>,
    /// Socket.IO at `/socket.io/` (for Flask-SocketIO front ends); `websocket-only`
    /// when several instances run without sticky sessions.
    #[arg(long, env = "HELPDESK_SOCKETIO", value_enum, default_value = "on")]
    socketio: SocketIo,
    /// How often this instance tells the others sharing the store that it is alive
    /// (typing and presence across instances); one silent for three is gone.
    #[arg(long, env = "HELPDESK_INSTANCE_HEARTBEAT", default_value = "10s", value_parser = parse_duration)]
    instance_heartbeat: std::time::Duration,
    /// An email domain whose users are no organization (repeatable; replaces the default
    /// list: gmail.com, googlemail.com, outlook.com, hotmail.com, live.com, yahoo.com,
    /// icloud.com, aol.com, proton.me, gmx.de, web.de). No organization may list one, and
    /// it never places a new customer in one.
    #[arg(
        long = "free-mail-domain",
        env = "HELPDESK_FREE_MAIL_DOMAINS",
        value_delimiter = ',',
        value_parser = parse_free_mail_domain
    )]
    free_mail_domains: Option<Vec<String>>,
    /// A proxy (CIDR) whose `X-Forwarded-For` entry names the client (repeatable).
    #[arg(long = "trusted-proxy", env = "HELPDESK_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// Allow webhook URLs on loopback, private and link-local addresses.
    #[arg(long, env = "HELPDESK_WEBHOOKS_ALLOW_PRIVATE", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    webhooks_allow_private: bool,
    /// Webhook retry delays.
    #[arg(long, env = "HELPDESK_WEBHOOK_RETRY_SCHEDULE", default_value = "5s,5m,30m,2h,5h,10h,10h", value_parser = parse_schedule)]
    webhook_retry_schedule: config::Schedule,
    /// Do not deliver webhooks from this instance (deliveries wait in the store for an
    /// instance that does; fuzzing runs use it so generated URLs are never called).
    #[arg(long, env = "HELPDESK_NO_WEBHOOK_WORKER", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    no_webhook_worker: bool,
    /// Listen for mail over plain SMTP on this address (loopback, or behind an MTA);
    /// none by default.
    #[arg(long, env = "HELPDESK_SMTP_BIND")]
    smtp_bind: Option<std::net::SocketAddr>,
    /// The largest mail ingested whole (larger: recorded from its headers as `too_large`).
    #[arg(long, env = "HELPDESK_MAIL_MAX_SIZE", default_value = "40MiB", value_parser = parse_size)]
    mail_max_size: u64,
    /// At most this many attachments kept from one mail.
    #[arg(long, env = "HELPDESK_MAIL_MAX_ATTACHMENTS", default_value = "20")]
    mail_max_attachments: usize,
    /// Outbound mail retry delays.
    #[arg(long, env = "HELPDESK_MAIL_RETRY_SCHEDULE", default_value = "5s,5m,30m,2h,5h,10h,10h", value_parser = parse_schedule)]
    mail_retry_schedule: config::Schedule,
    /// Auto-replies per sender address over all mailboxes (`count/window`).
    #[arg(long, env = "HELPDESK_MAIL_AUTO_REPLY_LIMIT", default_value = "3/1h", value_parser = config::parse_rate)]
    mail_auto_reply_limit: config::RateLimit,
    /// Send no mail and poll no IMAP mailbox from this instance.
    #[arg(long, env = "HELPDESK_NO_MAIL_WORKER", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    no_mail_worker: bool,
    /// CSAT surveys: resolving a customer's ticket sends them a survey link.
    #[arg(long, env = "HELPDESK_CSAT", value_enum, default_value = "on")]
    csat: Csat,
    /// How long a CSAT survey link takes answers (`14d`, `5s`, ...).
    #[arg(long, env = "HELPDESK_CSAT_TTL", default_value = "14d", value_parser = parse_duration)]
    csat_ttl: std::time::Duration,
    /// How long events and read notifications are kept (pruned hourly); a `resume`
    /// from before the window is answered `resume_gap` (the client refetches).
    #[arg(long, env = "HELPDESK_EVENT_RETENTION", default_value = "30d", value_parser = parse_duration)]
    event_retention: std::time::Duration,
}

/// Logs go to standard error, coloured only when it is a terminal (a log file or a
/// journal gets plain text).
fn init_logs(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Administration commands keep standard error for their own messages.
    let level = match cli.command {
        Command::Serve(_) | Command::Migrate => "info",
        _ => "warn",
    };
    init_logs(cli.log_format, level);
    if let (Some(name), Some(flag)) = (cli.command.outside_admin(), cli.leading.first_given()) {
        let e = cmd::CliError::invalid(format!(
            "{flag} belongs to the administration commands \
             (user, ticket, kb, webhook, export, import), not to `{name}`"
        ));
        return fail(&e, e.exit.code());
    }
    let result = match cli.command {
        Command::Serve(args) => serve(&cli.store, *args).await,
        Command::Migrate => store::migrate(&cli.store)
            .await
            .map(|()| println!("the store is up to date"))
            .map_err(Into::into),
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "helpdesk", &mut std::io::stdout());
            Ok(())
        }
        Command::Admin(command) => match cmd::run(*command, cli.leading, &cli.store).await {
            Ok(()) => Ok(()),
            Err(e) => return fail(&e, e.exit.code()),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `serve` and `migrate` fail with 1 whatever the cause.
        Err(e) => fail(&*e, 1),
    }
}

impl Command {
    /// The name of a command that takes none of the administration flags.
    fn outside_admin(&self) -> Option<&'static str> {
        match self {
            Command::Serve(_) => Some("serve"),
            Command::Migrate => Some("migrate"),
            Command::Completions { .. } => Some("completions"),
            Command::Admin(_) => None,
        }
    }
}

fn fail(e: &dyn std::fmt::Display, code: u8) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(code)
}

type ServeResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

async fn serve(store_spec: &str, args: ServeArgs) -> ServeResult {
    let st = store::open_store(store_spec).await?;
    let config = Config {
        jwt_secret: args.jwt_secret,
        access_token_ttl: chrono::Duration::from_std(args.access_token_ttl)?,
        refresh_token_ttl: chrono::Duration::from_std(args.refresh_token_ttl)?,
        signup_open: args.signup == Signup::Open,
        max_upload: args.max_upload,
        webhooks_allow_private: args.webhooks_allow_private,
        webhook_retry_schedule: args.webhook_retry_schedule,
        limits: helpdesk_core::limit::Limits {
            signups_per_client: args.signup_limit,
            requests_per_api_key: (args.api_key_rate_limit > 0).then(|| {
                helpdesk_core::limit::Rate::new(
                    args.api_key_rate_limit,
                    chrono::Duration::minutes(1),
                )
            }),
            ..Default::default()
        },
        instance_heartbeat: args.instance_heartbeat,
        event_retention: args.event_retention,
        free_mail_domains: match args.free_mail_domains {
            Some(given) => given.into_iter().filter(|d| !d.is_empty()).collect(),
            None => helpdesk_core::organization::default_free_mail_domains(),
        },
        csat: helpdesk_core::csat::CsatConfig {
            enabled: args.csat == Csat::On,
            ttl: args.csat_ttl,
        },
        mail: helpdesk_core::email::MailConfig {
            max_size: usize::try_from(args.mail_max_size).unwrap_or(usize::MAX),
            max_attachments: args.mail_max_attachments,
            retry_schedule: args.mail_retry_schedule,
            auto_reply_limit: args.mail_auto_reply_limit.count,
            auto_reply_window: args.mail_auto_reply_limit.window,
        },
        ..Config::default()
    };
    let hd = Helpdesk::new(st, config);
    let server_config = helpdesk_http::ServerConfig {
        cors_origins: args.cors_origins,
        ws_origins: args.ws_origins,
        socketio: match args.socketio {
            SocketIo::On => helpdesk_http::SocketIoMode::On,
            SocketIo::Off => helpdesk_http::SocketIoMode::Off,
            SocketIo::WebsocketOnly => helpdesk_http::SocketIoMode::WebsocketOnly,
        },
        trusted_proxies: args.trusted_proxies,
        webhook_worker: !args.no_webhook_worker,
        mail_worker: !args.no_mail_worker,
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind(&args.bind).await?;
    let smtp = match args.smtp_bind {
        Some(addr) => {
            let smtp = helpdesk_http::mail::listen_smtp(hd.clone(), addr).await?;
            tracing::info!(addr = %smtp.local_addr(), "listening for SMTP");
            Some(smtp)
        }
        None => None,
    };
    tracing::info!(addr = %listener.local_addr()?, store = store::describe(store_spec), "listening");
    helpdesk_http::serve(listener, hd, server_config, shutdown_signal()).await?;
    if let Some(smtp) = smtp {
        smtp.shutdown().await;
    }
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    fn free_mail(args: &[&str]) -> Option<Vec<String>> {
        let mut argv = vec!["helpdesk", "serve"];
        argv.extend(args);
        match Cli::try_parse_from(argv).expect("parses").command {
            Command::Serve(serve) => serve.free_mail_domains,
            _ => unreachable!("a serve command"),
        }
    }

    #[test]
    fn free_mail_domains_replace_the_default_list() {
        assert_eq!(
            free_mail(&[
                "--free-mail-domain",
                "Mail.Example",
                "--free-mail-domain",
                "other.example"
            ]),
            Some(vec!["mail.example".into(), "other.example".into()])
        );
        assert!(
            Cli::try_parse_from(["helpdesk", "serve", "--free-mail-domain", "no way"]).is_err()
        );
        if std::env::var_os("HELPDESK_FREE_MAIL_DOMAINS").is_none() {
            assert_eq!(free_mail(&[]), None, "unset: the default list");
        }
    }
}
