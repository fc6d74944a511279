//! The one-machine set-up: with `--local-agent`, the panel runs `cap-agent` beside itself
//! as a separate process (so killing the panel does not stop game servers), and registers
//! it as the node `local` — TLS pinned, token read from the agent's data directory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::agents::tls::fingerprint_of;
use crate::error::{Error, Result};
use crate::repo;
use crate::services::nodes::{self, NodeChanges, NodeSpec};
use crate::state::AppState;

pub const NODE_NAME: &str = "local";
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The agent process this panel started, if any.
pub struct LocalAgent {
    child: Option<Child>,
}

impl LocalAgent {
    /// Stops the agent this panel started (its servers are stopped gracefully by it and
    /// come back on the next start).
    pub async fn stop(mut self) {
        if let Some(child) = self.child.as_mut() {
            if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
            let _ = tokio::time::timeout(Duration::from_secs(60), child.wait()).await;
        }
    }
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

/// Starts (or reuses) the local agent and makes sure the node `local` points at it.
pub async fn ensure(state: &AppState) -> Result<LocalAgent> {
    let dir = state.config().data_dir.join("local-agent");
    let existing = repo::nodes::find_by_name(state.db(), NODE_NAME).await?;
    if let Some(node) = &existing {
        // Still running from before (say the panel was killed): just use it.
        let client = crate::agents::AgentClient::new(state.hub().endpoint(node)?)?;
        if client.health().await.is_ok() {
            tracing::info!("local agent already running on port {}", node.port);
            return Ok(LocalAgent { child: None });
        }
    }
    let Some(binary) = agent_binary() else {
        tracing::warn!(
            "--local-agent: cap-agent was not found next to cap-panel or on PATH; no local node"
        );
        return Ok(LocalAgent { child: None });
    };
    let port = existing
        .as_ref()
        .and_then(|n| u16::try_from(n.port).ok())
        .unwrap_or(0);
    let (child, port) = match spawn(&binary, &dir, port).await {
        Ok(started) => started,
        // The old port is taken by something else: let the OS choose.
        Err(_) if port != 0 => spawn(&binary, &dir, 0).await?,
        Err(e) => return Err(e),
    };
    let token = read_token(&dir)?;
    let fingerprint = read_fingerprint(&dir)?;
    match existing {
        Some(node) => {
            nodes::update(
                state,
                node,
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
                NodeSpec {
                    name: NODE_NAME.to_owned(),
                    description: "This machine (started by the panel)".to_owned(),
                    address: "127.0.0.1".to_owned(),
                    port,
                    scheme: "https".to_owned(),
                    memory_mb: 4096,
                    disk_mb: 20480,
                    port_range: (27000, 27999),
                    existing: Some((token, Some(fingerprint))),
                },
            )
            .await?;
        }
    }
    Ok(LocalAgent { child: Some(child) })
}

/// Spawns the agent and waits for its `listening on https://ADDR:PORT` line; its output
/// continues into the panel's log, prefixed.
async fn spawn(binary: &Path, dir: &Path, port: u16) -> Result<(Child, u16)> {
    // Absolute, so nothing in the agent depends on its working directory.
    let dir = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::canonicalize(dir))
        .map_err(|e| Error::Startup(format!("cannot create {}: {e}", dir.display())))?;
    let mut child = Command::new(binary)
        .arg("--data-dir")
        .arg(&dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Startup(format!("cannot start {}: {e}", binary.display())))?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u16>();
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(port) = line
                    .split_once("listening on https://")
                    .and_then(|(_, addr)| addr.trim().rsplit(':').next())
                    .and_then(|p| p.parse().ok())
                {
                    let _ = tx.send(port);
                }
                eprintln!("[agent] {line}");
            }
        });
    }
    drop(tx);
    match tokio::time::timeout(START_TIMEOUT, rx.recv()).await {
        Ok(Some(port)) => Ok((child, port)),
        _ => {
            let _ = child.kill().await;
            Err(Error::Startup(
                "the local agent did not start; see its output above".into(),
            ))
        }
    }
}
