//! Runtimes: how a server's game and install script are started, fed, signalled,
//! measured and found again after an agent restart.
//!
//! The supervisor drives a server's lifecycle (states, console, crash policy, installs)
//! through [`Runtimes`] and the [`Process`] it hands back, without knowing which backend
//! runs the server. Each backend is one module (`native`, `docker`).

pub mod docker;
pub mod native;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Instant;

use cap_protocol::runtime::{CgroupVersion, RuntimeKind};
use cap_protocol::server::ServerDefinition;
use chrono::{DateTime, Utc};
use nix::sys::signal::Signal;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::config::Config;
use crate::store::ProcessRecord;

/// What to run for a server.
pub struct Launch<'a> {
    /// The server's definition (environment, limits, …).
    pub definition: &'a ServerDefinition,
    /// The server directory (working directory).
    pub dir: &'a Path,
    /// The game or the install script.
    pub task: Task<'a>,
    /// Progress worth showing on the console before the process runs (an image pull).
    pub say: &'a (dyn Fn(&str) + Send + Sync),
}

/// The two kinds of process a server has.
pub enum Task<'a> {
    /// The game: `startup` run by `/bin/sh -c`, with console input.
    Game {
        /// The startup command line.
        startup: &'a str,
    },
    /// The install script, run by `interpreter`, without console input.
    Install {
        /// Interpreter program.
        interpreter: &'a str,
        /// Script text.
        script: &'a str,
        /// The container image the script must run in (never on the host).
        image: Option<&'a str>,
    },
}

/// A stream of a process's output.
pub type Output = Pin<Box<dyn AsyncRead + Send>>;

/// Resolves once the main process has exited.
pub type ExitFuture = Pin<Box<dyn Future<Output = Exit> + Send>>;

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// Exit code, or minus the signal number for a process killed by a signal.
    pub code: i32,
    /// Why, when the runtime knows better than the code (`out of memory`).
    pub reason: Option<String>,
}

/// A started (or found again) process of a server.
pub struct Process {
    /// PID of the main process.
    pub pid: u32,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Console input, one line per message.
    pub stdin: Option<mpsc::Sender<String>>,
    /// Output streams, read until they end.
    pub output: Vec<Output>,
    /// The main process's exit.
    pub exit: ExitFuture,
    /// Signals, limits and measurements.
    pub control: Control,
    /// Output bytes that were lost before this agent could read them (a re-attached
    /// process printed more than its runtime could keep while no agent was there).
    pub lost_output_bytes: u64,
}

/// Resource usage of one server's processes.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Usage {
    /// CPU, percent of one core.
    pub cpu_percent: f64,
    /// Memory, bytes.
    pub memory_bytes: u64,
    /// Processes (and, with cgroups, threads).
    pub processes: u32,
    /// Bytes received and sent, for a server with a network of its own.
    pub network: Option<(u64, u64)>,
}

/// Handle on a running process, whatever runs it.
#[derive(Clone)]
pub enum Control {
    /// A native process group.
    Native(native::Control),
    /// A container.
    Docker(docker::Control),
}

impl Control {
    /// Send `signal` to every process of the server.
    pub fn signal(&self, signal: Signal) -> std::io::Result<()> {
        match self {
            Self::Native(c) => c.signal(signal),
            Self::Docker(c) => c.signal(signal),
        }
    }

    /// Wait until no process of the server is left, or `deadline` passes.
    pub async fn wait_gone(&self, deadline: Instant) {
        match self {
            Self::Native(c) => c.wait_gone(deadline).await,
            Self::Docker(c) => c.wait_gone(deadline).await,
        }
    }

    /// Kill whatever the main process left behind.
    pub fn kill_all(&self) {
        match self {
            Self::Native(c) => c.kill_all(),
            Self::Docker(c) => c.kill_all(),
        }
    }

    /// Whether the kernel enforces the memory limit (otherwise the supervisor does).
    pub fn enforces_memory(&self) -> bool {
        match self {
            Self::Native(c) => c.enforces_memory(),
            Self::Docker(c) => c.enforces_memory(),
        }
    }

    /// What identifies the process across agent restarts.
    pub fn record(&self) -> Option<ProcessRecord> {
        match self {
            Self::Native(c) => c.record(),
            Self::Docker(_) => None,
        }
    }

    /// The exit has been handled: free what the process held.
    pub async fn finished(&self) {
        match self {
            Self::Native(c) => c.finished().await,
            Self::Docker(c) => c.finished().await,
        }
    }
}

/// Every runtime this agent offers.
pub struct Runtimes {
    native: native::Native,
    docker: docker::Docker,
}

impl Runtimes {
    /// Set up the runtimes for `config`.
    pub fn new(config: &Config) -> std::io::Result<Self> {
        Ok(Self {
            native: native::Native::new(config)?,
            docker: docker::Docker::new(config),
        })
    }

    /// The runtimes servers can use here.
    pub fn offered(&self) -> Vec<RuntimeKind> {
        let mut offered = vec![RuntimeKind::Native];
        if self.docker.version().is_some() {
            offered.push(RuntimeKind::Docker);
        }
        offered
    }

    /// The container engine's version, when it answered last time it was asked.
    pub fn docker_version(&self) -> Option<String> {
        self.docker.version()
    }

    /// The container engine's images (`runtime unavailable` without an engine).
    pub async fn images(&self) -> std::io::Result<Vec<cap_protocol::system::ImageInfo>> {
        self.docker.images().await
    }

    /// Ask the container engine again whether it is there.
    pub async fn refresh(&self) {
        self.docker.refresh().await;
    }

    /// The cgroup layout used for limits, when cgroups can be written.
    pub fn cgroup_version(&self) -> Option<CgroupVersion> {
        self.native.cgroup_version()
    }

    /// Whether games run as users of their own.
    pub fn isolated_users(&self) -> bool {
        self.native.isolated_users()
    }

    /// The user a server runs as, for its status.
    pub fn user(&self, kind: RuntimeKind, server: Uuid) -> Option<String> {
        match kind {
            RuntimeKind::Native => self.native.user(server),
            RuntimeKind::Docker => Some(self.docker.user()),
        }
    }

    /// Start a server's game or install script; an install script that names a
    /// container image runs in a container whatever the server's runtime.
    pub async fn start(&self, kind: RuntimeKind, launch: Launch<'_>) -> std::io::Result<Process> {
        let in_container = matches!(launch.task, Task::Install { image: Some(_), .. });
        match kind {
            RuntimeKind::Native if !in_container => self.native.start(launch).await,
            _ => self.docker.start(launch).await,
        }
    }

    /// Find the game a previous agent left running for `server`; whatever cannot be
    /// taken over is ended.
    pub async fn reattach(
        &self,
        kind: RuntimeKind,
        server: Uuid,
        record: Option<ProcessRecord>,
    ) -> Option<Process> {
        match kind {
            RuntimeKind::Native => self.native.reattach(server, record).await,
            RuntimeKind::Docker => self.docker.reattach(server).await,
        }
    }

    /// End the games of servers that are not among `known` (deleted while no agent ran).
    pub async fn end_orphans(&self, known: &[Uuid]) {
        self.native.end_orphans(known).await;
        self.docker.end_orphans(known).await;
    }

    /// A server was deleted: remove what the runtime kept for it.
    pub async fn forget(&self, kind: RuntimeKind, server: Uuid) {
        match kind {
            RuntimeKind::Native => self.native.forget(server).await,
            RuntimeKind::Docker => self.docker.forget(server).await,
        }
    }

    /// Measure running servers (blocking: call from a blocking task).
    pub fn usage(&self, controls: &[Control]) -> Vec<Usage> {
        let (mut native, mut docker) = (Vec::new(), Vec::new());
        for control in controls {
            match control {
                Control::Native(c) => native.push(c),
                Control::Docker(c) => docker.push(c),
            }
        }
        let mut native = self.native.usage(&native).into_iter();
        let mut docker = self.docker.usage(&docker).into_iter();
        controls
            .iter()
            .map(|c| match c {
                Control::Native(_) => native.next(),
                Control::Docker(_) => docker.next(),
            })
            .map(Option::unwrap_or_default)
            .collect()
    }
}

/// Console input queued per server.
pub const STDIN_QUEUE: usize = 64;

/// A queue whose lines are written, newline-terminated, to `pipe`.
pub fn stdin_writer<W: AsyncWrite + Unpin + Send + 'static>(mut pipe: W) -> mpsc::Sender<String> {
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
