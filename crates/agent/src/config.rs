//! Agent configuration: defaults < TOML file < environment (`CAP_AGENT_*`) < flags.
//!
//! The TOML file is `--config FILE` when given, otherwise `<data-dir>/agent.toml` if it
//! exists (the file `cap-agent join` writes).

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

use crate::error::AgentError;

/// The default listen address; when its port is taken the agent falls back to a free port.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8443";

/// The configuration file read from the data directory when no `--config` is given.
pub const DATA_DIR_CONFIG: &str = "agent.toml";

/// Uids of per-server users unless configured.
pub const DEFAULT_UID_RANGE: RangeInclusive<u32> = 70_000..=79_999;

/// Parent cgroup of the servers' cgroups unless configured.
pub const DEFAULT_CGROUP_ROOT: &str = "cap-agent";

/// The container engine's socket unless configured (`DOCKER_HOST` when it names a Unix
/// socket wins over this).
pub const DEFAULT_DOCKER_SOCKET: &str = "/var/run/docker.sock";

/// The user and group of game containers unless configured: outside the default range
/// of per-server users.
pub const DEFAULT_DOCKER_USER: (u32, u32) = (69_999, 69_999);

/// Process limit of a server whose definition sets none, unless configured.
pub const DEFAULT_PIDS_LIMIT: u32 = 4096;

/// Command line of `cap-agent` (every flag also reads `CAP_AGENT_<NAME>`).
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "cap-agent", version, about = "Ctrl-Alt-Play node agent")]
pub struct Cli {
    /// Without a subcommand the agent serves.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// TOML configuration file (default `<data-dir>/agent.toml` when it exists).
    #[arg(long, env = "CAP_AGENT_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Directory for the token, TLS certificate, definitions and logs.
    #[arg(long, env = "CAP_AGENT_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on (default 0.0.0.0:8443, with free-port fallback).
    #[arg(long, env = "CAP_AGENT_LISTEN", global = true)]
    pub listen: Option<SocketAddr>,
    /// File holding the node token (generated when missing).
    #[arg(long, env = "CAP_AGENT_TOKEN_FILE", global = true)]
    pub token_file: Option<PathBuf>,
    /// Directory holding one directory per server (default `<data-dir>/servers`).
    #[arg(long, env = "CAP_AGENT_SERVER_ROOT", global = true)]
    pub server_root: Option<PathBuf>,
    /// Serve plain HTTP instead of TLS (for loopback development and tests only).
    #[arg(long, env = "CAP_AGENT_INSECURE_HTTP", global = true)]
    pub insecure_http: bool,
    /// User ids (and group ids) for the per-server system users `cap-<id>` the agent
    /// creates when it runs as root, as `FIRST-LAST` (default 70000-79999). Games and
    /// install scripts never run as root.
    #[arg(long, env = "CAP_AGENT_UID_RANGE", global = true)]
    #[arg(value_name = "FIRST-LAST")]
    pub uid_range: Option<String>,
    /// Run every server as this one unprivileged user instead of one user per server
    /// (created from the uid range when missing).
    #[arg(long, env = "CAP_AGENT_SHARED_USER", global = true)]
    #[arg(value_name = "NAME")]
    pub shared_user: Option<String>,
    /// Parent cgroup of the servers' cgroups, relative to each cgroup hierarchy
    /// (`/sys/fs/cgroup/<root>/<server id>` on cgroup v2,
    /// `/sys/fs/cgroup/<controller>/<root>/<server id>` on v1; default `cap-agent`).
    #[arg(long, env = "CAP_AGENT_CGROUP_ROOT", global = true)]
    #[arg(value_name = "PATH")]
    pub cgroup_root: Option<PathBuf>,
    /// The Unix socket of the Docker Engine API for the `docker` runtime (Podman's
    /// Docker-compatible socket speaks the same API; default `DOCKER_HOST` when it is `unix://…`, else
    /// /var/run/docker.sock). The runtime is offered while the engine answers.
    #[arg(long, env = "CAP_AGENT_DOCKER_SOCKET", global = true)]
    #[arg(value_name = "PATH")]
    pub docker_socket: Option<PathBuf>,
    /// `UID:GID` that game containers run as when the agent is root (default
    /// 69999:69999; install containers run as root inside their container).
    #[arg(long, env = "CAP_AGENT_DOCKER_USER", global = true)]
    #[arg(value_name = "UID:GID")]
    pub docker_user: Option<String>,
    /// On SIGTERM/SIGINT exit without stopping the game servers: the next agent takes
    /// them over (for upgrades and restarts). Without it they are stopped gracefully.
    #[arg(long, env = "CAP_AGENT_KEEP_SERVERS_ON_EXIT", global = true)]
    pub keep_servers_on_exit: bool,
}

/// Subcommands of `cap-agent`.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Register this agent with a panel, using the join command the panel showed.
    ///
    /// Stores the node token the panel answers with and the port it expects, then prints
    /// the command that starts the agent. `--listen` chooses the address (its port is
    /// replaced by the panel's); `--insecure-http` joins without TLS.
    Join(JoinArgs),
    /// Hold one native game for the agent (started by the agent itself).
    #[command(hide = true)]
    Shim(ShimArgs),
}

/// Arguments of `cap-agent shim`.
#[derive(Debug, Clone, Args)]
pub struct ShimArgs {
    /// The Unix socket the agent connects to.
    #[arg(long)]
    pub socket: PathBuf,
}

/// Arguments of `cap-agent join`.
#[derive(Debug, Clone, Args)]
pub struct JoinArgs {
    /// The panel's URL, e.g. `https://panel.example.com` (`http://` for loopback/dev).
    pub panel_url: String,
    /// The one-time join token from the panel.
    pub join_token: String,
    /// Start serving right after joining.
    #[arg(long)]
    pub run: bool,
}

/// The TOML file; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    token_file: Option<PathBuf>,
    server_root: Option<PathBuf>,
    insecure_http: Option<bool>,
    uid_range: Option<String>,
    shared_user: Option<String>,
    cgroup_root: Option<PathBuf>,
    docker_socket: Option<PathBuf>,
    docker_user: Option<String>,
    pids_limit: Option<u32>,
    keep_servers_on_exit: Option<bool>,
    stats_interval_ms: Option<u64>,
    disk_scan_interval_secs: Option<u64>,
    query_interval_secs: Option<u64>,
    #[serde(default)]
    console: Option<ConsoleConfig>,
    #[serde(default)]
    files: Option<FilesConfig>,
    #[serde(default)]
    backups: Option<BackupsConfig>,
    #[serde(default)]
    sftp: Option<crate::sftp::SftpConfig>,
}

/// Console capture limits (TOML table `[console]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// Lines kept in memory per server for history.
    pub history_lines: usize,
    /// Longer lines are cut at this many bytes and marked with `…`.
    pub max_line_bytes: usize,
    /// Lines per second per server passed on; the rest is dropped with a notice.
    pub lines_per_second: u32,
    /// A console log file is rotated when it reaches this size.
    pub log_max_bytes: u64,
    /// Rotated log files kept (`console.log.1` …).
    pub log_files: u32,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            history_lines: 1000,
            max_line_bytes: 4096,
            lines_per_second: 2000,
            log_max_bytes: 8 * 1024 * 1024,
            log_files: 3,
        }
    }
}

/// File manager limits (TOML table `[files]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesConfig {
    /// Largest upload, bytes.
    pub max_upload_bytes: u64,
    /// Largest file returned by `files/read` or accepted by `files/write`, bytes.
    pub max_edit_bytes: u64,
    /// Largest total size unpacked by `files/decompress`, bytes.
    pub max_extract_bytes: u64,
}

impl Default for FilesConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: 4 * 1024 * 1024 * 1024,
            max_edit_bytes: 8 * 1024 * 1024,
            max_extract_bytes: 16 * 1024 * 1024 * 1024,
        }
    }
}

/// Backup limits (TOML table `[backups]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupsConfig {
    /// Backups and restores running at once on this node (more wait as `pending`).
    pub max_concurrent: usize,
    /// zstd compression level (1-19).
    pub zstd_level: i32,
    /// Attempts per part of an S3 upload before the backup fails.
    pub part_attempts: u32,
}

impl Default for BackupsConfig {
    fn default() -> Self {
        Self {
            max_concurrent: 2,
            zstd_level: 3,
            part_attempts: 5,
        }
    }
}

/// The resolved configuration passed to [`crate::run`].
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind.
    pub listen: SocketAddr,
    /// Bind a free port instead when `listen`'s port is in use (true for the default).
    pub port_fallback: bool,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Server directories live in `<server_root>/<id>`.
    pub server_root: PathBuf,
    /// Node token file.
    pub token_file: PathBuf,
    /// The `--config` file, if one was given (otherwise `<data-dir>/agent.toml` is read
    /// when it exists); see [`Config::config_path`].
    pub config_file: Option<PathBuf>,
    /// Plain HTTP instead of TLS.
    pub insecure_http: bool,
    /// How often stats are sampled and published.
    pub stats_interval: Duration,
    /// How often a server directory's size is recomputed.
    pub disk_scan_interval: Duration,
    /// How often running games that declare a query are asked who is playing.
    pub query_interval: Duration,
    /// Console limits.
    pub console: ConsoleConfig,
    /// File manager limits.
    pub files: FilesConfig,
    /// Backup limits.
    pub backups: BackupsConfig,
    /// The SFTP server.
    pub sftp: crate::sftp::SftpConfig,
    /// Uids and gids of per-server users.
    pub uid_range: RangeInclusive<u32>,
    /// One user for every server instead of one each.
    pub shared_user: Option<String>,
    /// Parent cgroup of the servers' cgroups (relative to each hierarchy).
    pub cgroup_root: PathBuf,
    /// The container engine's Unix socket.
    pub docker_socket: PathBuf,
    /// `(uid, gid)` of game containers.
    pub docker_user: (u32, u32),
    /// Process limit of a server whose definition sets none.
    pub pids_limit: u32,
    /// Leave games running when the agent exits.
    pub keep_servers_on_exit: bool,
    /// The program started as `<program> shim …` to hold each native game (the running
    /// executable unless set).
    pub shim_program: Option<PathBuf>,
}

impl Config {
    /// Defaults for a data directory: listen on [`DEFAULT_LISTEN`] with TLS.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Self {
            listen: DEFAULT_LISTEN
                .parse()
                .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 8443))),
            port_fallback: true,
            server_root: data_dir.join("servers"),
            token_file: data_dir.join("token"),
            config_file: None,
            data_dir,
            insecure_http: false,
            stats_interval: Duration::from_secs(1),
            disk_scan_interval: Duration::from_secs(30),
            query_interval: Duration::from_secs(10),
            console: ConsoleConfig::default(),
            files: FilesConfig::default(),
            backups: BackupsConfig::default(),
            sftp: crate::sftp::SftpConfig::default(),
            uid_range: DEFAULT_UID_RANGE,
            shared_user: None,
            cgroup_root: PathBuf::from(DEFAULT_CGROUP_ROOT),
            docker_socket: default_docker_socket(),
            docker_user: DEFAULT_DOCKER_USER,
            pids_limit: DEFAULT_PIDS_LIMIT,
            shim_program: None,
            keep_servers_on_exit: false,
        }
    }

    /// Resolve the command line (with its environment fallbacks) and the optional file.
    pub fn from_cli(cli: Cli) -> Result<Self, AgentError> {
        let (file, data_dir) = match &cli.config {
            Some(path) => {
                let file = read_file(path)?.ok_or_else(|| {
                    AgentError::Config(format!("cannot read {}: no such file", path.display()))
                })?;
                let data_dir = cli.data_dir.or(file.data_dir.clone());
                (file, data_dir.unwrap_or_else(default_data_dir))
            }
            None => {
                let data_dir = cli.data_dir.unwrap_or_else(default_data_dir);
                let path = data_dir.join(DATA_DIR_CONFIG);
                let file = read_file(&path)?.unwrap_or_default();
                if file.data_dir.is_some() {
                    return Err(AgentError::Config(format!(
                        "{}: data_dir cannot be set in the data directory's own file",
                        path.display()
                    )));
                }
                (file, data_dir)
            }
        };
        let mut config = Self::new(data_dir);
        config.config_file = cli.config;
        if let Some(listen) = cli.listen.or(file.listen) {
            config.listen = listen;
            config.port_fallback = false;
        }
        if let Some(root) = cli.server_root.or(file.server_root) {
            config.server_root = root;
        }
        if let Some(token) = cli.token_file.or(file.token_file) {
            config.token_file = token;
        }
        config.insecure_http = cli.insecure_http || file.insecure_http.unwrap_or(false);
        if let Some(ms) = file.stats_interval_ms {
            config.stats_interval = Duration::from_millis(ms.max(100));
        }
        if let Some(secs) = file.disk_scan_interval_secs {
            config.disk_scan_interval = Duration::from_secs(secs.max(1));
        }
        if let Some(secs) = file.query_interval_secs {
            config.query_interval = Duration::from_secs(secs.max(1));
        }
        if let Some(range) = cli.uid_range.or(file.uid_range) {
            config.uid_range = parse_uid_range(&range)?;
        }
        config.shared_user = cli.shared_user.or(file.shared_user);
        config.keep_servers_on_exit =
            cli.keep_servers_on_exit || file.keep_servers_on_exit.unwrap_or(false);
        if let Some(root) = cli.cgroup_root.or(file.cgroup_root) {
            config.cgroup_root = root;
        }
        if let Some(socket) = cli.docker_socket.or(file.docker_socket) {
            config.docker_socket = socket;
        }
        if let Some(user) = cli.docker_user.or(file.docker_user) {
            config.docker_user = parse_user(&user)?;
        }
        if let Some(pids) = file.pids_limit {
            config.pids_limit = pids.max(16);
        }
        config.console = file.console.unwrap_or_default();
        config.files = file.files.unwrap_or_default();
        config.backups = file.backups.unwrap_or_default();
        config.sftp = file.sftp.unwrap_or_default();
        Ok(config)
    }

    /// The TOML file in use: `--config`, or `<data-dir>/agent.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.config_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join(DATA_DIR_CONFIG))
    }

    /// Makes every path absolute (relative to the working directory at start), so that
    /// nothing depends on the directory a game or install script runs in.
    pub fn absolutize(&mut self) -> std::io::Result<()> {
        for path in [
            &mut self.data_dir,
            &mut self.server_root,
            &mut self.token_file,
        ] {
            *path = std::path::absolute(&*path)?;
        }
        Ok(())
    }

    /// Where a server's files live.
    pub fn server_dir(&self, id: uuid::Uuid) -> PathBuf {
        self.server_root.join(id.to_string())
    }

    /// Where backups and their records live (outside every server directory).
    pub fn backup_dir(&self) -> PathBuf {
        self.data_dir.join("backups")
    }

    /// Where a server's console logs live (outside its file jail).
    pub fn log_dir(&self, id: uuid::Uuid) -> PathBuf {
        self.data_dir.join("logs").join(id.to_string())
    }
}

/// `FIRST-LAST`, both above 0 (uid 0 is root) and in order.
fn parse_uid_range(text: &str) -> Result<RangeInclusive<u32>, AgentError> {
    let bad = || {
        AgentError::Config(format!(
            "uid range {text:?}: expected FIRST-LAST, e.g. 70000-79999, with 0 < FIRST <= LAST"
        ))
    };
    let (first, last) = number_pair(text, '-', &bad)?;
    if first == 0 || first > last {
        return Err(bad());
    }
    Ok(first..=last)
}

/// `UID:GID` of an unprivileged user (neither is 0).
fn parse_user(text: &str) -> Result<(u32, u32), AgentError> {
    let bad = || {
        AgentError::Config(format!(
            "docker user {text:?}: expected UID:GID of an unprivileged user, e.g. 69999:69999"
        ))
    };
    let (uid, gid) = number_pair(text, ':', &bad)?;
    if uid == 0 || gid == 0 {
        return Err(bad());
    }
    Ok((uid, gid))
}

/// Two numbers written `A<separator>B`; `bad()` when the text is not that.
fn number_pair(
    text: &str,
    separator: char,
    bad: &impl Fn() -> AgentError,
) -> Result<(u32, u32), AgentError> {
    let (a, b) = text.split_once(separator).ok_or_else(bad)?;
    let number = |s: &str| s.trim().parse::<u32>().map_err(|_| bad());
    Ok((number(a)?, number(b)?))
}

fn default_docker_socket() -> PathBuf {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|host| host.strip_prefix("unix://").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DOCKER_SOCKET))
}

/// Parse a TOML file; `None` when it does not exist.
fn read_file(path: &Path) -> Result<Option<FileConfig>, AgentError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(AgentError::Config(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    toml::from_str(&text)
        .map(Some)
        .map_err(|e| AgentError::Config(format!("{}: {e}", path.display())))
}

/// `/var/lib/cap-agent` for root, `$HOME/.local/share/cap-agent` otherwise.
fn default_data_dir() -> PathBuf {
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/var/lib/cap-agent");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/cap-agent"),
        None => PathBuf::from("cap-agent-data"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn relative_paths_become_absolute() {
        let mut config = super::Config::new("relative-data");
        config.absolutize().unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(config.data_dir, cwd.join("relative-data"));
        assert!(config.server_root.is_absolute() && config.token_file.is_absolute());
    }

    use super::*;

    #[test]
    fn flags_override_file_and_listen_disables_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("agent.toml");
        std::fs::write(
            &file,
            "data_dir = \"/srv/a\"\nlisten = \"127.0.0.1:9000\"\n[console]\nlines_per_second = 5\n",
        )
        .unwrap();
        let cli = Cli {
            config: Some(file),
            data_dir: Some("/srv/b".into()),
            ..Cli::default()
        };
        let config = Config::from_cli(cli).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/srv/b"));
        assert_eq!(config.server_root, PathBuf::from("/srv/b/servers"));
        assert_eq!(config.listen.port(), 9000);
        assert!(!config.port_fallback);
        assert_eq!(config.console.lines_per_second, 5);
        assert_eq!(config.console.history_lines, 1000);
    }

    #[test]
    fn data_dir_file_is_read_without_config_flag() {
        let dir = tempfile::tempdir().unwrap();
        let cli = || Cli {
            data_dir: Some(dir.path().to_owned()),
            ..Cli::default()
        };
        assert_eq!(Config::from_cli(cli()).unwrap().listen.port(), 8443);
        std::fs::write(
            dir.path().join(DATA_DIR_CONFIG),
            "listen = \"127.0.0.1:9100\"\n",
        )
        .unwrap();
        let config = Config::from_cli(cli()).unwrap();
        assert_eq!(config.listen.port(), 9100);
        assert!(!config.port_fallback);
        assert_eq!(config.config_path(), dir.path().join(DATA_DIR_CONFIG));
        std::fs::write(dir.path().join(DATA_DIR_CONFIG), "data_dir = \"/x\"\n").unwrap();
        assert!(Config::from_cli(cli()).is_err());
        let missing = Cli {
            config: Some(dir.path().join("missing.toml")),
            ..cli()
        };
        assert!(Config::from_cli(missing).is_err());
    }

    #[test]
    fn uid_ranges_are_checked() {
        assert_eq!(parse_uid_range("100-200").unwrap(), 100..=200);
        for bad in ["0-10", "20-10", "x-1", "100", "-5"] {
            let err = parse_uid_range(bad).unwrap_err().to_string();
            assert!(err.contains("FIRST-LAST"), "{bad}: {err}");
        }
    }

    #[test]
    fn unknown_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("agent.toml");
        std::fs::write(&file, "listne = \"x\"\n").unwrap();
        let cli = Cli {
            config: Some(file),
            ..Cli::default()
        };
        let err = Config::from_cli(cli).unwrap_err().to_string();
        assert!(err.contains("listne"), "{err}");
    }
}
