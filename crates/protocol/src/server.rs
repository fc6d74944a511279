//! Server definitions, states and statistics.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config_files::{self, ConfigFileEdits};
use crate::game::{GameQuery, Players};
use crate::runtime::RuntimeKind;
use crate::schedule::{self, Schedule};

pub use crate::validation::FieldError;

/// Everything the agent needs to install, run and stop one game server
/// (`PUT /api/servers/{id}`; the `id` in the body must match the path).
///
/// - `startup` runs as `/bin/sh -c <startup>` with the server directory as working
///   directory, in a new session (its own process group).
/// - `environment` is the *only* environment the game and its install script get. The
///   agent adds `HOME=<server dir>` and `PATH` when they are absent, and always sets
///   `SERVER_DIR` to the absolute path of the server directory (which is also the working
///   directory). The default `PATH` is `<directory of the cap-agent executable>:`
///   `/usr/local/bin:/usr/bin:/bin:/usr/games`, so tools installed beside the agent (such as
///   `cap-testgame`) and Debian's games (`/usr/games/minetestserver`) are found by name.
/// - Native templates must not assume Pterodactyl's `/mnt/server` (an egg's install
///   container path): use relative paths or `$SERVER_DIR`. The agent never rewrites
///   script text.
/// - With the `docker` runtime the game runs in a container of `image` as Wings runs
///   eggs: the server directory at `/home/container` (also the working directory), the
///   environment plus `STARTUP`, `SERVER_MEMORY`, `SERVER_IP`, `SERVER_PORT` and `HOME`
///   when absent, every port published (TCP and UDP) on `SERVER_IP` (`SERVER_IP_<n>` for
///   the n-th further port). An image with an entrypoint of its own (a yolk) runs it and
///   it runs `STARTUP`; otherwise `/bin/sh -c` runs the startup. `{{VAR}}` placeholders
///   left in the startup become `${VAR}` environment references.
/// - `configFiles` are edited before every start (see [`crate::config_files`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerDefinition {
    /// The server's id (a UUID; also the name of its directory).
    pub id: Uuid,
    /// Display name (informational).
    #[serde(default)]
    pub name: String,
    /// Shell command line that starts the game (placeholders already substituted).
    pub startup: String,
    /// Environment variables for the game and its install script.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// How to stop the game gracefully.
    #[serde(default)]
    pub stop: StopConfig,
    /// Console lines that mean "started": a plain substring, or a regular expression when
    /// prefixed with `regex:`. Empty: the server is `running` as soon as it is spawned.
    #[serde(default)]
    pub done_patterns: Vec<String>,
    /// Ports the game uses (the first one is reported as the server's port).
    #[serde(default)]
    pub ports: Vec<u16>,
    /// Resource limits (see [`Limits`] for what is enforced).
    #[serde(default)]
    pub limits: Limits,
    /// Install script, run by `POST /api/servers/{id}/install`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<InstallScript>,
    /// What to do when the game exits unexpectedly.
    #[serde(default)]
    pub crash_policy: CrashPolicy,
    /// Config files edited before every start (also restarts and automatic restarts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_files: Vec<ConfigFileEdits>,
    /// The runtime that runs the server (`native` when omitted).
    #[serde(default)]
    pub runtime: RuntimeKind,
    /// The container image the `docker` runtime runs the game in (one of the template's
    /// `docker_images`); required with that runtime, ignored by `native`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Whether the server should be running; the agent restores this after a restart.
    /// `PUT` with `running` starts an offline server, with `offline` leaves it as it is.
    #[serde(default)]
    pub desired_state: DesiredState,
    /// The server's schedules, run by the agent (see [`crate::schedule`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<Schedule>,
    /// How the agent asks the running game who is playing (see [`crate::game`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub game_query: Option<GameQuery>,
}

/// Maximum lengths accepted in a [`ServerDefinition`].
pub mod bounds {
    /// Startup command, install script: bytes.
    pub const MAX_COMMAND_BYTES: usize = 64 * 1024;
    /// Number of environment variables.
    pub const MAX_ENV_VARS: usize = 256;
    /// Length of one environment value.
    pub const MAX_ENV_VALUE_BYTES: usize = 16 * 1024;
    /// Number of done patterns.
    pub const MAX_DONE_PATTERNS: usize = 16;
    /// Number of ports.
    pub const MAX_PORTS: usize = 64;
    /// Longest stop grace period, seconds.
    pub const MAX_GRACE_SECONDS: u64 = 3600;
    /// Longest container image name of an install script, bytes.
    pub const MAX_IMAGE_BYTES: usize = 512;
}

impl ServerDefinition {
    /// Check every field against the rules and [`bounds`]; returns all problems found.
    /// (Regular expressions in done patterns are compiled by the agent, which reports
    /// invalid ones the same way.)
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut fail = |field: &str, message: &str| {
            errors.push(FieldError {
                field: field.to_owned(),
                message: message.to_owned(),
            })
        };
        if self.startup.trim().is_empty() {
            fail("startup", "must not be empty");
        }
        if self.startup.len() > bounds::MAX_COMMAND_BYTES || self.startup.contains('\0') {
            fail("startup", "too long or contains NUL");
        }
        if self.environment.len() > bounds::MAX_ENV_VARS {
            fail("environment", "too many variables");
        }
        for (key, value) in &self.environment {
            let valid_key = !key.is_empty()
                && !key.starts_with(|c: char| c.is_ascii_digit())
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_key {
                fail(
                    &format!("environment.{key}"),
                    "name must match [A-Za-z_][A-Za-z0-9_]*",
                );
            }
            if value.len() > bounds::MAX_ENV_VALUE_BYTES || value.contains('\0') {
                fail(
                    &format!("environment.{key}"),
                    "value too long or contains NUL",
                );
            }
        }
        match self.stop.kind {
            StopKind::Command if self.stop.value.is_empty() || self.stop.value.contains('\n') => {
                fail("stop.value", "stop command must be one non-empty line")
            }
            StopKind::Signal if StopSignal::parse(&self.stop.value).is_none() => fail(
                "stop.value",
                "unknown signal (use SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 or SIGKILL)",
            ),
            _ => {}
        }
        if self.stop.grace_seconds > bounds::MAX_GRACE_SECONDS {
            fail("stop.graceSeconds", "at most 3600");
        }
        if self.done_patterns.len() > bounds::MAX_DONE_PATTERNS
            || self
                .done_patterns
                .iter()
                .any(|p| p.is_empty() || p.len() > 1024)
        {
            fail(
                "donePatterns",
                "at most 16 non-empty patterns of at most 1024 bytes",
            );
        }
        if self.ports.len() > bounds::MAX_PORTS || self.ports.contains(&0) {
            fail("ports", "at most 64 ports, each 1-65535");
        }
        if self.limits.cpu_percent == Some(0)
            || self.limits.memory_mib == Some(0)
            || self.limits.pids == Some(0)
        {
            fail("limits", "limits must be positive (omit a limit for none)");
        }
        if let Some(install) = &self.install {
            if install.script.len() > bounds::MAX_COMMAND_BYTES {
                fail("install.script", "too long");
            }
            let interpreter_ok = !install.interpreter.is_empty()
                && install
                    .interpreter
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c));
            if !interpreter_ok {
                fail("install.interpreter", "must be a program name or path");
            }
            if !install.container.as_deref().is_none_or(image_ok) {
                fail(
                    "install.container",
                    "must be an image name of at most 512 bytes without control characters",
                );
            }
        }
        match &self.image {
            Some(image) if !image_ok(image) => fail(
                "image",
                "must be an image name of at most 512 bytes without control characters",
            ),
            None if self.runtime == RuntimeKind::Docker => {
                fail("image", "the docker runtime needs an image")
            }
            _ => {}
        }
        if self
            .limits
            .io_weight
            .is_some_and(|w| !(MIN_IO_WEIGHT..=MAX_IO_WEIGHT).contains(&w))
        {
            fail("limits.ioWeight", "between 10 and 1000");
        }
        if self.config_files.len() > config_files::bounds::MAX_CONFIG_FILES {
            fail("configFiles", "at most 32 config files");
        }
        if self.crash_policy.backoff_ms > 3_600_000 || self.crash_policy.max_backoff_ms > 3_600_000
        {
            fail("crashPolicy", "back-off at most one hour");
        }
        for (index, file) in self.config_files.iter().enumerate() {
            file.check(index, &mut errors);
        }
        schedule::check_all(&self.schedules, &mut errors);
        if let Some(query) = &self.game_query {
            query.check("gameQuery", &mut errors);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// A container image name the agent accepts.
fn image_ok(image: &str) -> bool {
    !image.trim().is_empty()
        && image.len() <= bounds::MAX_IMAGE_BYTES
        && !image.chars().any(char::is_control)
}

/// Smallest block-IO weight.
const MIN_IO_WEIGHT: u16 = 10;
/// Largest block-IO weight.
const MAX_IO_WEIGHT: u16 = 1000;

/// How to ask the game to stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopConfig {
    /// Write a console command, or send a signal to the process group.
    #[serde(rename = "type")]
    pub kind: StopKind,
    /// The command line (without newline) or the signal name (e.g. `SIGTERM`).
    pub value: String,
    /// Seconds to wait for the game to exit before SIGKILL of the whole group.
    #[serde(default = "default_grace")]
    pub grace_seconds: u64,
}

fn default_grace() -> u64 {
    30
}

impl Default for StopConfig {
    fn default() -> Self {
        Self {
            kind: StopKind::Signal,
            value: "SIGTERM".into(),
            grace_seconds: default_grace(),
        }
    }
}

/// [`StopConfig::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StopKind {
    /// `value` is written to stdin followed by a newline.
    Command,
    /// `value` names a signal sent to the process group.
    Signal,
}

/// Signals accepted as stop signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGTERM
    Term,
    /// SIGINT
    Int,
    /// SIGHUP
    Hup,
    /// SIGQUIT
    Quit,
    /// SIGUSR1
    Usr1,
    /// SIGUSR2
    Usr2,
    /// SIGKILL
    Kill,
}

impl StopSignal {
    /// Parse `SIGTERM`/`TERM` (case-insensitive).
    pub fn parse(name: &str) -> Option<Self> {
        let upper = name.trim().to_ascii_uppercase();
        Some(match upper.strip_prefix("SIG").unwrap_or(&upper) {
            "TERM" => Self::Term,
            "INT" => Self::Int,
            "HUP" => Self::Hup,
            "QUIT" => Self::Quit,
            "USR1" => Self::Usr1,
            "USR2" => Self::Usr2,
            "KILL" => Self::Kill,
            _ => return None,
        })
    }
}

/// Resource limits of a server.
///
/// Where the agent can write cgroups (it runs as root) the kernel enforces `memoryMib`
/// (plus `swapMib` of swap; an out-of-memory kill is reported as the crash reason),
/// `cpuPercent` (a CPU quota, 100 = one core) and `pids` (processes and threads).
/// Without cgroups the agent samples the process tree's resident memory about once a
/// second and kills the server when it exceeds `memoryMib`; CPU and process limits are
/// then not enforced. `diskMib` is a quota on the server directory: file API writes and
/// uploads are refused once it is over the limit; a running server found over it (the
/// size is rescanned every `disk_scan_interval_secs` of the agent, 30 s by default) is
/// stopped with the status message `disk quota exceeded (X MiB of Y MiB)`, and starts
/// are refused (409) until it is under again.
///
/// With the `docker` runtime the engine enforces them on the container: memory with the
/// headroom Wings gives (15 % up to 2 GiB, 10 % up to 4 GiB, 5 % above, so a Java heap of
/// `memoryMib` fits), swap on top of that, the CPU quota (only when set), `pids` and
/// `ioWeight`; the engine's OOM-killed flag becomes the crash reason `out of memory`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Resident memory limit of the whole process tree, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u64>,
    /// CPU limit in percent of one core (200 = two cores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<u32>,
    /// Swap the server may use on top of `memoryMib`, MiB (none when omitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_mib: Option<u64>,
    /// Most processes and threads the server may have (the agent's default when omitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<u32>,
    /// Disk quota of the server directory, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_mib: Option<u64>,
    /// Relative block-IO weight, 10-1000 (the engine's default 500 when omitted; the
    /// `docker` runtime only, where the kernel's IO scheduler supports weights).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_weight: Option<u16>,
}

/// Install script run in the server directory (its working directory, also in
/// `$SERVER_DIR`) with the definition's environment and the same `PATH` rules as the game
/// (see [`ServerDefinition`]). Scripts written for Pterodactyl's install containers expect
/// `/mnt/server`; on the native runtime they must use `$SERVER_DIR` or relative paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallScript {
    /// Script text, passed to the interpreter as a file.
    pub script: String,
    /// Interpreter program (looked up in the script's `PATH`), default `bash`.
    #[serde(default = "default_interpreter")]
    pub interpreter: String,
    /// Kill the install after this many seconds (default one hour).
    #[serde(default = "default_install_timeout")]
    pub timeout_seconds: u64,
    /// The container image the script was written for (an egg's install container, e.g.
    /// `ghcr.io/pterodactyl/installers:debian`). Such a script expects to be root in that
    /// image and to write to `/mnt/server`; it is never run on the host: it runs in a
    /// container of that image (`interpreter /mnt/install/install.sh`, the server directory
    /// at `/mnt/server`), whatever the server's runtime. Where no container engine answers
    /// or the image cannot be had, the install fails (`install_failed`, with the reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

fn default_interpreter() -> String {
    "bash".into()
}

fn default_install_timeout() -> u64 {
    3600
}

/// Automatic restart after a crash.
///
/// After a crash the agent waits `backoffMs`, doubling with every further crash inside
/// `windowSeconds` up to `maxBackoffMs`; once `maxRestarts` restarts happened inside the
/// window it gives up: the server stays `crashed` and its desired state becomes `offline`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrashPolicy {
    /// Restart automatically after a crash.
    #[serde(default = "default_true")]
    pub auto_restart: bool,
    /// Restarts allowed inside the window.
    #[serde(default = "default_max_restarts")]
    pub max_restarts: u32,
    /// The window, seconds.
    #[serde(default = "default_window")]
    pub window_seconds: u64,
    /// First back-off, milliseconds.
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
    /// Back-off ceiling, milliseconds.
    #[serde(default = "default_max_backoff")]
    pub max_backoff_ms: u64,
}

fn default_true() -> bool {
    true
}
fn default_max_restarts() -> u32 {
    3
}
fn default_window() -> u64 {
    600
}
fn default_backoff() -> u64 {
    2_000
}
fn default_max_backoff() -> u64 {
    60_000
}

impl Default for CrashPolicy {
    fn default() -> Self {
        Self {
            auto_restart: true,
            max_restarts: default_max_restarts(),
            window_seconds: default_window(),
            backoff_ms: default_backoff(),
            max_backoff_ms: default_max_backoff(),
        }
    }
}

/// Whether a server should be running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DesiredState {
    /// Keep it stopped.
    #[default]
    Offline,
    /// Keep it running (restored after an agent restart).
    Running,
}

/// The precise lifecycle state (see the agent's supervisor in docs/architecture.md).
///
/// `offline → installing → offline | install_failed`,
/// `offline → starting → running → stopping → offline`, and `crashed` after an
/// unexpected exit (from `starting` or `running`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ServerState {
    /// No process.
    #[default]
    Offline,
    /// The install script runs.
    Installing,
    /// The game process runs; no done pattern matched yet.
    Starting,
    /// A done pattern matched (or there is none).
    Running,
    /// Stop requested; waiting for the process group to exit.
    Stopping,
    /// The game exited unexpectedly (see `exitCode`).
    Crashed,
    /// The install script failed.
    InstallFailed,
}

impl ServerState {
    /// True while a game or install process exists.
    pub fn has_process(self) -> bool {
        matches!(
            self,
            Self::Installing | Self::Starting | Self::Running | Self::Stopping
        )
    }
}

/// A server's runtime status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerStatus {
    /// Current state.
    pub state: ServerState,
    /// Desired state.
    pub desired_state: DesiredState,
    /// PID of the main process (its process group id too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// When the current process started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// Exit code of the last process (negative: killed by that signal number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Automatic restarts inside the current crash window.
    pub restart_count: u32,
    /// Last noteworthy event (crash reason, install failure, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The system user the game and install script run as (`name (uid N)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// A definition with its status (`GET /api/servers[/{id}]`, snapshots).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    /// The stored definition.
    pub definition: ServerDefinition,
    /// The runtime status.
    pub status: ServerStatus,
    /// Latest stats, if the server is running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<ServerStats>,
}

/// Resource use of one server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ServerStats {
    /// CPU use of the process tree in percent of one core (may exceed 100).
    pub cpu_percent: f64,
    /// Resident memory of the process tree, bytes.
    pub memory_bytes: u64,
    /// Memory limit, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit_bytes: Option<u64>,
    /// Size of the server directory, bytes (refreshed periodically, not every sample).
    pub disk_bytes: u64,
    /// Disk quota, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_limit_bytes: Option<u64>,
    /// Seconds since the current process started (0 when not running).
    pub uptime_seconds: u64,
    /// Number of processes in the server's session.
    pub process_count: u32,
    /// Bytes received over the network (containers only: native servers share the
    /// node's network).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_rx_bytes: Option<u64>,
    /// Bytes sent over the network (containers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_tx_bytes: Option<u64>,
    /// Who is playing, when the definition declares a game query and the game answered
    /// it recently (see [`crate::game`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub players: Option<Players>,
}
