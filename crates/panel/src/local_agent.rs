//! The one-machine set-up: with `--local-agent`, the panel runs `cap-agent` beside itself
//! and registers it as the node `local` — TLS pinned, token read from the agent's data
//! directory (`<data-dir>/local-agent`).
//!
//! The agent is a separate process in its own process group, so neither a Ctrl-C in the
//! panel's terminal nor the panel stopping (however it stops) reaches it: game servers
//! keep running. On the next start the panel finds the agent still holding its data
//! directory lock and adopts it instead of starting a second one. While the panel runs it
//! watches the agent and starts it again, with back-off, when it dies. The agent's
//! output goes to `<data-dir>/local-agent.log` (the previous run's to `….log.1`).

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::agents::tls::fingerprint_of;
use crate::data_lock;
use crate::db::entities::node;
use crate::error::{Error, Result};
use crate::repo;
use crate::services::nodes::{self, NodeChanges, NodeSpec};
use crate::state::AppState;

pub const NODE_NAME: &str = "local";
/// The agent's data directory and its log, inside the panel's data directory.
const AGENT_DIR: &str = "local-agent";
const LOG_FILE: &str = "local-agent.log";
/// The agent's own lock file (holding its PID) inside its data directory.
const AGENT_LOCK: &str = "agent.lock";
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How often an adopted agent (not this panel's child) is checked for life.
const POLL: Duration = Duration::from_millis(500);
/// Restart delays double from the first to the last; an agent that ran this long
/// before dying starts again after the first delay.
const FIRST_DELAY: Duration = Duration::from_secs(1);
const LAST_DELAY: Duration = Duration::from_secs(60);
const STABLE_AFTER: Duration = Duration::from_secs(60);

/// Watches the local agent while the panel runs.
pub struct LocalAgent {
    watcher: Option<JoinHandle<()>>,
}

impl LocalAgent {
    /// Stops watching; the agent and its game servers keep running for the next start.
    pub fn detach(self) {
        if let Some(watcher) = self.watcher {
            watcher.abort();
        }
    }
}

/// A running agent: started by this panel (a child, reaped here) or found running.
enum Running {
    Child(Child),
    Adopted(Pid),
}

impl Running {
    fn pid(&self) -> String {
        match self {
            Running::Child(child) => child.id().map(|p| p.to_string()).unwrap_or_default(),
            Running::Adopted(pid) => pid.to_string(),
        }
    }

    /// Completes when the agent has exited, with how it ended.
    async fn exited(&mut self, dir: &Path) -> String {
        match self {
            Running::Child(child) => match child.wait().await {
                Ok(status) => status.to_string(),
                Err(e) => format!("cannot wait for it: {e}"),
            },
            Running::Adopted(_) => {
                while agent_alive(dir) {
                    tokio::time::sleep(POLL).await;
                }
                "it no longer holds its data directory".to_owned()
            }
        }
    }
}

/// Whether an agent holds the lock on `dir` (agents lock their data directory for their
/// whole life; the kernel releases it when they end, however they end).
fn agent_alive(dir: &Path) -> bool {
    let path = dir.join(AGENT_LOCK);
    path.is_file() && matches!(data_lock::try_lock(&path), Ok(None))
}

/// Adopts the local agent still running from before, or starts it, makes sure the node
/// `local` points at it, and watches it from now on.
pub async fn ensure(state: &AppState) -> Result<LocalAgent> {
    let dir = agent_dir(state)?;
    let binary = agent_binary();
    let running = match adopt(state, &dir).await? {
        Some(running) => running,
        None => match &binary {
            Some(binary) => start(state, binary, &dir).await?,
            None => {
                tracing::warn!(
                    "--local-agent: cap-agent was not found next to cap-panel or on PATH; no local node"
                );
                return Ok(LocalAgent { watcher: None });
            }
        },
    };
    let Some(binary) = binary else {
        tracing::warn!(
            "cap-agent was not found next to cap-panel or on PATH: the local agent will not be restarted if it stops"
        );
        return Ok(LocalAgent { watcher: None });
    };
    let state = state.clone();
    let watcher = tokio::spawn(async move { watch(state, binary, dir, running).await });
    Ok(LocalAgent {
        watcher: Some(watcher),
    })
}

fn agent_dir(state: &AppState) -> Result<PathBuf> {
    let dir = state.config().data_dir.join(AGENT_DIR);
    // Absolute, so nothing in the agent depends on its working directory.
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::canonicalize(&dir))
        .map_err(|e| Error::Startup(format!("cannot create {}: {e}", dir.display())))
}

/// The agent still running from a previous start, once it answers.
async fn adopt(state: &AppState, dir: &Path) -> Result<Option<Running>> {
    if !agent_alive(dir) {
        return Ok(None);
    }
    let pid = data_lock::holder(&dir.join(AGENT_LOCK)).unwrap_or(0);
    let node = repo::nodes::find_by_name(state.db(), NODE_NAME).await?;
    let deadline = Instant::now() + START_TIMEOUT;
    if let Some(node) = &node {
        let client = crate::agents::AgentClient::new(state.hub().endpoint(node)?)?;
        while Instant::now() < deadline && agent_alive(dir) {
            if client.health().await.is_ok() {
                tracing::info!(
                    "local agent (pid {pid}) already running on port {}: using it",
                    node.port
                );
                return Ok(Some(Running::Adopted(Pid::from_raw(pid))));
            }
            tokio::time::sleep(POLL).await;
        }
        if !agent_alive(dir) {
            return Ok(None);
        }
    }
    Err(Error::Startup(format!(
        "a cap-agent (pid {pid}) is using {} but does not answer where the node {NODE_NAME} \
         expects it; stop it (kill {pid}) and start the panel again",
        dir.display()
    )))
}

/// Watches the agent until the panel stops, starting it again when it dies.
async fn watch(state: AppState, binary: PathBuf, dir: PathBuf, mut running: Running) {
    let mut delay = FIRST_DELAY;
    loop {
        let since = Instant::now();
        let pid = running.pid();
        let how = running.exited(&dir).await;
        if since.elapsed() >= STABLE_AFTER {
            delay = FIRST_DELAY;
        }
        loop {
            tracing::warn!(
                "the local agent (pid {pid}) stopped ({how}); starting it again in {}s",
                delay.as_secs()
            );
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(LAST_DELAY);
            match start(&state, &binary, &dir).await {
                Ok(started) => {
                    tracing::info!("local agent started again (pid {})", started.pid());
                    running = started;
                    break;
                }
                Err(e) => tracing::error!("cannot start the local agent: {e}"),
            }
        }
    }
}

/// Starts the agent and points the node `local` at it (creating the node on first start).
async fn start(state: &AppState, binary: &Path, dir: &Path) -> Result<Running> {
    let existing = repo::nodes::find_by_name(state.db(), NODE_NAME).await?;
    let port = existing
        .as_ref()
        .and_then(|n| u16::try_from(n.port).ok())
        .unwrap_or(0);
    let (child, port) = match spawn(state, binary, dir, port).await {
        Ok(started) => started,
        // The old port is taken by something else: let the OS choose.
        Err(_) if port != 0 => spawn(state, binary, dir, 0).await?,
        Err(e) => return Err(e),
    };
    register(state, existing, dir, port).await?;
    Ok(Running::Child(child))
}

async fn register(
    state: &AppState,
    existing: Option<node::Model>,
    dir: &Path,
    port: u16,
) -> Result<()> {
    let token = read_token(dir)?;
    let fingerprint = read_fingerprint(dir)?;
    match existing {
        Some(node) => {
            nodes::update(
                state,
                None,
                &node.id,
                NodeChanges {
                    port: Some(port),
                    token: Some(token),
                    cert_fingerprint: Some(fingerprint),
                    ..NodeChanges::default()
                },
            )
            .await?;
        }
        None => {
            nodes::create(
                state,
                None,
                NodeSpec {
                    name: NODE_NAME.to_owned(),
                    description: "This machine (started by the panel)".to_owned(),
                    address: "127.0.0.1".to_owned(),
                    port,
                    scheme: "https".to_owned(),
                    memory_mb: 4096,
                    disk_mb: 20480,
                    // The figures above are not measured: no capacity check until an
                    // administrator sets this machine's real capacity.
                    overallocate_percent: -1,
                    port_range: (27000, 27999),
                    existing: Some((token, Some(fingerprint))),
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// `cap-agent` next to this executable, else from PATH.
fn agent_binary() -> Option<PathBuf> {
    let sibling = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("cap-agent")))
        .filter(|path| path.is_file());
    sibling.or_else(|| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("cap-agent"))
                .find(|path| path.is_file())
        })
    })
}

fn read_token(dir: &Path) -> Result<String> {
    std::fs::read_to_string(dir.join("token"))
        .map(|t| t.trim().to_owned())
        .map_err(|e| Error::Startup(format!("cannot read the local agent's token: {e}")))
}

fn read_fingerprint(dir: &Path) -> Result<String> {
    let pem = std::fs::read_to_string(dir.join("tls/cert.pem"))
        .map_err(|e| Error::Startup(format!("cannot read the local agent's certificate: {e}")))?;
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map_err(|e| Error::Startup(format!("the local agent's certificate is unreadable: {e}")))?;
    Ok(fingerprint_of(&der))
}

/// A fresh log file for the agent's output; the previous one becomes `….log.1`.
fn fresh_log(state: &AppState) -> Result<(PathBuf, File)> {
    let path = state.config().data_dir.join(LOG_FILE);
    if path.exists() {
        let _ = std::fs::rename(&path, path.with_extension("log.1"));
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map(|file| (path.clone(), file))
        .map_err(|e| Error::Startup(format!("cannot create {}: {e}", path.display())))
}

/// Spawns the agent in its own process group, its output into the log file, and waits
/// for its `listening on https://ADDR:PORT` line.
async fn spawn(state: &AppState, binary: &Path, dir: &Path, port: u16) -> Result<(Child, u16)> {
    let (log, file) = fresh_log(state)?;
    let stderr = file
        .try_clone()
        .map_err(|e| Error::Startup(format!("cannot share {}: {e}", log.display())))?;
    let mut child = Command::new(binary)
        .arg("--data-dir")
        .arg(dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("NO_COLOR", "1")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(stderr)
        .spawn()
        .map_err(|e| Error::Startup(format!("cannot start {}: {e}", binary.display())))?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let text = tokio::fs::read_to_string(&log).await.unwrap_or_default();
        if let Some(port) = listening_port(&text) {
            tracing::info!(
                "local agent started (pid {}, port {port}); its log: {}",
                child.id().unwrap_or_default(),
                log.display()
            );
            return Ok((child, port));
        }
        let exited = matches!(child.try_wait(), Ok(Some(_)));
        if exited || Instant::now() >= deadline {
            if !exited {
                let _ = child.kill().await;
            }
            let tail: Vec<&str> = text.lines().rev().take(5).collect();
            return Err(Error::Startup(format!(
                "the local agent did not start (see {}): {}",
                log.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn listening_port(log: &str) -> Option<u16> {
    log.lines().find_map(|line| {
        line.split_once("listening on https://")
            .and_then(|(_, addr)| addr.trim().rsplit(':').next())
            .and_then(|p| p.parse().ok())
    })
}
