//! The native runtime: each server's processes run on the node in a session of their
//! own.

pub mod spawn;
mod usage;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use chrono::Utc;
use nix::sys::signal::Signal;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{Exit, Launch, Process, Task, Usage};
use crate::config::Config;
use crate::store::ProcessRecord;

/// Console input lines queued per server.
const STDIN_QUEUE: usize = 64;

/// The native runtime.
pub struct Native {
    scanner: Mutex<usage::Scanner>,
    install_dir: PathBuf,
}

impl Native {
    /// The runtime for `config`.
    pub fn new(config: &Config) -> std::io::Result<Self> {
        let install_dir = config.data_dir.join("install");
        std::fs::create_dir_all(&install_dir)?;
        Ok(Self {
            scanner: Mutex::default(),
            install_dir,
        })
    }

    /// The cgroup layout in use.
    pub fn cgroup_version(&self) -> Option<cap_protocol::runtime::CgroupVersion> {
        None
    }

    /// Whether servers run as users of their own.
    pub fn isolated_users(&self) -> bool {
        false
    }

    /// The user a server runs as.
    pub fn user(&self, _server: Uuid) -> Option<String> {
        None
    }

    /// Start a game or install script.
    pub async fn start(&self, launch: Launch<'_>) -> std::io::Result<Process> {
        match launch.task {
            Task::Game { startup } => direct(&launch, "/bin/sh", &["-c", startup], true),
            Task::Install {
                interpreter,
                script,
            } => {
                let path = self
                    .install_dir
                    .join(format!("{}.sh", launch.definition.id));
                crate::tls::write_private(&path, script.as_bytes())
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                let arg = path.display().to_string();
                direct(&launch, interpreter, &[&arg], false)
            }
        }
    }

    /// A game process left by a previous agent is killed (it cannot be taken over).
    pub async fn reattach(&self, server: Uuid, record: Option<ProcessRecord>) -> Option<Process> {
        if let Some(record) = record {
            if spawn::start_ticks(record.pid) == Some(record.start_ticks) {
                tracing::warn!(%server, pid = record.pid, "killing a game process left by a previous agent");
                let _ = spawn::signal_group(record.pid, Signal::SIGKILL);
            }
        }
        None
    }

    /// Nothing is kept per server.
    pub async fn forget(&self, _server: Uuid) {}

    /// Measure each control's processes.
    pub fn usage(&self, controls: &[&Control]) -> Vec<Usage> {
        let sessions: Vec<u32> = controls.iter().map(|c| c.pgid).collect();
        let mut scanner = self.scanner.lock().unwrap_or_else(|e| e.into_inner());
        scanner.sample(&sessions)
    }
}

/// A native process group.
#[derive(Clone)]
pub struct Control {
    pgid: u32,
}

impl Control {
    /// Signal the process group.
    pub fn signal(&self, signal: Signal) -> std::io::Result<()> {
        spawn::signal_group(self.pgid, signal)
    }

    /// Wait for the process group to disappear.
    pub async fn wait_gone(&self, deadline: Instant) {
        spawn::wait_group_gone(self.pgid, deadline).await;
    }

    /// SIGKILL what is left of the group.
    pub fn kill_all(&self) {
        let _ = spawn::signal_group(self.pgid, Signal::SIGKILL);
    }

    /// The supervisor enforces memory limits.
    pub fn enforces_memory(&self) -> bool {
        false
    }

    /// PID and start time of the group leader.
    pub fn record(&self) -> Option<ProcessRecord> {
        spawn::start_ticks(self.pgid).map(|start_ticks| ProcessRecord {
            pid: self.pgid,
            start_ticks,
        })
    }

    /// Nothing to free.
    pub fn finished(&self) {}
}

/// Spawn directly as a child of the agent.
fn direct(
    launch: &Launch<'_>,
    program: &str,
    args: &[&str],
    stdin: bool,
) -> std::io::Result<Process> {
    let env = spawn::environment(&launch.definition.environment, launch.dir);
    let mut child = spawn::spawn(program, args, launch.dir, &env, stdin)?;
    let pid = child
        .id()
        .ok_or_else(|| std::io::Error::other("child has no pid"))?;
    let stdin = child.stdin.take().map(stdin_writer);
    let mut output: Vec<super::Output> = Vec::new();
    if let Some(out) = child.stdout.take() {
        output.push(Box::pin(out));
    }
    if let Some(err) = child.stderr.take() {
        output.push(Box::pin(err));
    }
    let exit = Box::pin(async move {
        let code = child.wait().await.map(spawn::exit_code).unwrap_or(-1);
        Exit { code, reason: None }
    });
    Ok(Process {
        pid,
        started_at: Utc::now(),
        stdin,
        output,
        exit,
        control: super::Control::Native(Control { pgid: pid }),
    })
}

/// A queue whose lines are written, newline-terminated, to `pipe`.
fn stdin_writer<W: AsyncWrite + Unpin + Send + 'static>(mut pipe: W) -> mpsc::Sender<String> {
    let (tx, mut rx) = mpsc::channel::<String>(STDIN_QUEUE);
    tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            let bytes = format!("{line}\n");
            if pipe.write_all(bytes.as_bytes()).await.is_err() || pipe.flush().await.is_err() {
                break;
            }
        }
    });
    tx
}
