//! The command line: `cap-panel [serve]` and `cap-panel user create`.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::auth::password;
use crate::config::{Config, LogFormat, Overrides};
use crate::db;
use crate::domain::{Email, Password, Username};
use crate::error::{Error, Result};
use crate::permissions::ADMIN_ROLE;
use crate::repo::users::{self, NewUser};

/// Ctrl-Alt-Play panel: the web UI and REST API for your game servers.
///
/// Settings come from, in increasing priority: built-in defaults, the TOML file given
/// with --config (or CAP_CONFIG), environment variables, and these flags. Every setting
/// has a CAP_* variable named after its flag (CAP_LISTEN, CAP_DATA_DIR, CAP_TLS_CERT,
/// CAP_PUBLIC_URL, ...; DATABASE_URL works too), and a TOML key: the flag name with '_'
/// for '-' (listen, data_dir, tls_self_signed, ...).
/// Further settings for the TOML file or CAP_* variables: cors_origins,
/// login_attempts_per_minute, requests_per_second, discovery_interval_secs,
/// max_upload_bytes, console_sockets_per_user, console_sockets_per_ip.
#[derive(Debug, Parser)]
#[command(name = "cap-panel", version)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, env = "CAP_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory for the SQLite database, keys and other state [default: ./data].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to serve on; if the port is taken a free one nearby is used
    /// [default: 127.0.0.1:8080].
    #[arg(long, global = true, value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,
    /// Database URL: sqlite://PATH or postgres://USER:PASS@HOST/DB
    /// [default: SQLite file panel.db in the data directory].
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Log level or filter directive, e.g. info, debug, cap_panel=trace [default: info].
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Log line format [default: text].
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Also run a local agent (cap-agent next to cap-panel) and register it as the node
    /// "local": a complete one-machine install (env CAP_LOCAL_AGENT=true).
    #[arg(long, global = true)]
    pub local_agent: bool,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, global = true, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, global = true, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate generated once into <data-dir>/tls/;
    /// its SHA-256 fingerprint is logged at every start (env CAP_TLS_SELF_SIGNED=true).
    #[arg(long, global = true)]
    pub tls_self_signed: bool,
    /// The address browsers use, e.g. https://panel.example.com behind a proxy that
    /// terminates TLS: with https, cookies are Secure, HSTS is sent, and node join
    /// commands use it.
    #[arg(long, global = true, value_name = "URL")]
    pub public_url: Option<String>,
    /// A secret (16+ characters) a Prometheus scraper sends as `Authorization: Bearer`
    /// to read /metrics; otherwise only administrators can. Prefer CAP_METRICS_TOKEN or
    /// the config file: other local users can see command lines.
    #[arg(long, global = true, value_name = "TOKEN")]
    pub metrics_token: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the panel (what happens without a subcommand).
    Serve,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account, e.g. to recover access:
    /// `echo 'new password' | cap-panel user create --username bob --email bob@example.com --password-stdin --admin`
    Create(CreateUser),
}

#[derive(Debug, Args)]
pub struct CreateUser {
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub email: String,
    /// Read the password from standard input (first line), so it stays out of shell history.
    #[arg(long, required = true)]
    pub password_stdin: bool,
    /// Give the account the admin role (all 36 permissions).
    #[arg(long)]
    pub admin: bool,
}

impl Cli {
    /// Resolves the configuration layers with this command line on top.
    pub fn config(&self) -> Result<Config> {
        let overrides = Overrides {
            listen: self.listen,
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            log_level: self.log_level.clone(),
            log_format: self.log_format,
            local_agent: self.local_agent.then_some(true),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            tls_self_signed: self.tls_self_signed.then_some(true),
            public_url: self.public_url.clone(),
            metrics_token: self.metrics_token.clone(),
        };
        Config::load(self.config.as_deref(), &overrides)
    }
}

/// `cap-panel user create`: validates, hashes and stores the account, printing its id.
pub async fn create_user(config: &Config, args: &CreateUser, stdin: impl Read) -> Result<String> {
    let username = Username::parse(&args.username).map_err(|e| Error::validation("username", e))?;
    let email = Email::parse(&args.email).map_err(|e| Error::validation("email", e))?;
    let mut line = String::new();
    stdin
        .take(4096)
        .read_to_string(&mut line)
        .map_err(|e| Error::BadRequest(format!("cannot read the password from stdin: {e}")))?;
    let first_line = line.lines().next().unwrap_or_default();
    let password = Password::parse(first_line).map_err(|e| Error::validation("password", e))?;

    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| Error::Startup(format!("cannot create {}: {e}", config.data_dir.display())))?;
    let db = db::connect(&config.database_url()).await?;
    db::migrate(&db).await?;
    let user = users::create(
        &db,
        NewUser {
            username: username.into(),
            email: email.into(),
            password_hash: password::hash(password.expose().to_owned()).await?,
            role: if args.admin { ADMIN_ROLE } else { "user" }.to_owned(),
        },
    )
    .await?;
    Ok(user.id)
}
