//! The `helpdesk` command: `serve`, `migrate`, `user create`, `user list`.
//! Every flag has the environment fallback named in DESIGN.md.
#![forbid(unsafe_code)]

mod bench;
mod config;

/// jemalloc returns freed memory to the system (its background thread purges dirty
/// pages): glibc's malloc kept every argon2 buffer (19 MiB per password hash) in
/// whichever thread's arena ran it, so RSS grew by hundreds of MiB after a few dozen
/// logins.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
mod store;

use std::io::Read;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use helpdesk_core::user::NewUser;
use helpdesk_core::{Config, Helpdesk, Principal, Role};

use crate::config::{parse_duration, parse_proxy, parse_schedule, parse_size};

/// Support ticketing: the server and its administration.
#[derive(Parser, Debug)]
#[command(name = "helpdesk", version, about)]
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

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the HTTP server.
    Serve(Box<ServeArgs>),
    /// Create or upgrade the store's schema.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Measure a server of this binary on a fresh store, over loopback.
    Bench(bench::BenchArgs),
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
    /// A proxy (CIDR) whose `X-Forwarded-For` entry names the client (repeatable).
    #[arg(long = "trusted-proxy", env = "HELPDESK_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// Allow webhook URLs on loopback, private and link-local addresses.
    #[arg(long, env = "HELPDESK_WEBHOOKS_ALLOW_PRIVATE")]
    webhooks_allow_private: bool,
    /// Webhook retry delays.
    #[arg(long, env = "HELPDESK_WEBHOOK_RETRY_SCHEDULE", default_value = "5s,5m,30m,2h,5h,10h,10h", value_parser = parse_schedule)]
    webhook_retry_schedule: config::Schedule,
    /// Do not deliver webhooks from this instance (deliveries wait in the store for an
    /// instance that does; fuzzing runs use it so generated URLs are never called).
    #[arg(long, env = "HELPDESK_NO_WEBHOOK_WORKER")]
    no_webhook_worker: bool,
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a user (any role). Without `--password-stdin` a password is generated and
    /// printed once.
    Create {
        /// Email address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Agent,
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

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

type CliResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

async fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Serve(args) => serve(&cli.store, *args).await,
        Command::Migrate => {
            store::migrate(&cli.store).await?;
            println!("the store is up to date");
            Ok(())
        }
        Command::Bench(args) => bench::run(args).await,
        Command::User(cmd) => {
            let st = store::open_store(&cli.store).await?;
            let hd = Helpdesk::new(st, Config::default());
            user_command(&hd, cmd).await
        }
    }
}

async fn user_command(hd: &Helpdesk, cmd: UserCommand) -> CliResult {
    let system = Principal::system();
    match cmd {
        UserCommand::Create {
            email,
            name,
            role,
            password_stdin,
        } => {
            let (password, generated) = if password_stdin {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                (s.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (generate_password(), true)
            };
            let u = hd
                .create_user(&system, NewUser::new(&email, &name, role.into(), &password))
                .await?;
            println!("created {} {} ({})", u.role.as_str(), u.email, u.id);
            if generated {
                println!("password: {password}");
                println!("(shown once; change it with PATCH /api/users/me)");
            }
            Ok(())
        }
        UserCommand::List { json } => {
            let mut cursor = None;
            loop {
                let page = hd
                    .list_users(&system, None, None, cursor, Some(200))
                    .await?;
                for u in &page.items {
                    if json {
                        let line = serde_json::json!({
                            "id": u.id,
                            "email": u.email,
                            "name": u.name,
                            "role": u.role,
                            "is_active": u.is_active,
                            "created_at": helpdesk_core::event::ts(u.created_at),
                        });
                        println!("{line}");
                    } else {
                        println!(
                            "{}  {:<8}  {:<6}  {}  {}",
                            u.id,
                            u.role.as_str(),
                            if u.is_active { "active" } else { "off" },
                            u.email,
                            u.name
                        );
                    }
                }
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            Ok(())
        }
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

async fn serve(store_spec: &str, args: ServeArgs) -> CliResult {
    let st = store::open_store(store_spec).await?;
    let config = Config {
        jwt_secret: args.jwt_secret,
        access_token_ttl: chrono::Duration::from_std(args.access_token_ttl)?,
        refresh_token_ttl: chrono::Duration::from_std(args.refresh_token_ttl)?,
        signup_open: args.signup == Signup::Open,
        max_upload: args.max_upload,
        webhooks_allow_private: args.webhooks_allow_private,
        webhook_retry_schedule: args.webhook_retry_schedule,
        ..Config::default()
    };
    let hd = Helpdesk::new(st, config);
    let server_config = helpdesk_http::ServerConfig {
        cors_origins: args.cors_origins,
        ws_origins: args.ws_origins,
        trusted_proxies: args.trusted_proxies,
        webhook_worker: !args.no_webhook_worker,
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind(&args.bind).await?;
    tracing::info!(addr = %listener.local_addr()?, store = store::describe(store_spec), "listening");
    helpdesk_http::serve(listener, hd, server_config, shutdown_signal()).await?;
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
