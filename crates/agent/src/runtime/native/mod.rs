//! The native runtime: each server's processes run on the node in a session of their
//! own, as the server's unprivileged user, inside the server's cgroup.

mod attach;
pub mod cgroup;
pub mod shim;
pub mod spawn;
mod usage;
pub mod users;
mod wire;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use nix::sys::signal::Signal;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{Exit, Launch, Process, Task, Usage};
use crate::config::Config;
use crate::store::ProcessRecord;
use cgroup::{Cgroups, ServerCgroup};
use spawn::Isolation;
use users::Users;

/// How often [`Control::wait_gone`] checks a cgroup.
const CGROUP_POLL: Duration = Duration::from_millis(20);
/// The crash reason of a process the kernel killed for lack of memory.
pub const OUT_OF_MEMORY: &str = "out of memory";
/// How long the game of a deleted server may take to end.
const ORPHAN_WAIT: Duration = Duration::from_secs(10);
/// Output a shim keeps for an absent agent, bytes.
const SHIM_BUFFER_BYTES: usize = 1024 * 1024;

/// The native runtime.
pub struct Native {
    scanner: Mutex<usage::Scanner>,
    install_dir: PathBuf,
    users: Arc<Users>,
    cgroups: Option<Cgroups>,
    pids_limit: u32,
    shims: attach::Shims,
}

impl Native {
    /// The runtime for `config`: finds out whether users and cgroups can be used, and
    /// says once at start when they cannot.
    pub fn new(config: &Config) -> std::io::Result<Self> {
        let euid = nix::unistd::geteuid();
        let users = Users::new(
            euid,
            config.uid_range.clone(),
            config.shared_user.as_deref(),
        )?;
        let install_dir = config.data_dir.join("install");
        std::fs::create_dir_all(&install_dir)?;
        let cgroups = if euid.is_root() {
            protect_data_dir(config)?;
            match Cgroups::detect(&config.cgroup_root) {
                Ok(cgroups) => Some(cgroups),
                Err(why) => {
                    tracing::warn!("{why}: limits are not enforced by the kernel (memory limits are checked by sampling; CPU and process limits are not enforced)");
                    None
                }
            }
        } else {
            tracing::warn!(
                "the agent is not running as root: game servers and install scripts run as the agent's own user, and limits are not enforced by the kernel (memory limits are checked by sampling; CPU and process limits are not enforced)"
            );
            None
        };
        let program = match &config.shim_program {
            Some(program) => program.clone(),
            None => std::env::current_exe()?,
        };
        let shims = attach::Shims::new(
            program,
            config.data_dir.join("shims"),
            config.data_dir.join("logs"),
        )?;
        Ok(Self {
            scanner: Mutex::default(),
            shims,
            install_dir,
            users: Arc::new(users),
            cgroups,
            pids_limit: config.pids_limit,
        })
    }

    /// The cgroup layout in use.
    pub fn cgroup_version(&self) -> Option<cap_protocol::runtime::CgroupVersion> {
        self.cgroups.as_ref().map(Cgroups::version)
    }

    /// Whether servers run as users of their own.
    pub fn isolated_users(&self) -> bool {
        self.users.isolated()
    }

    /// The user a server runs as.
    pub fn user(&self, server: Uuid) -> Option<String> {
        self.users.describe(server)
    }

    /// Start a game or install script: its user (created when missing) gets the server
    /// directory, a fresh cgroup gets its limits.
    pub async fn start(&self, launch: Launch<'_>) -> std::io::Result<Process> {
        let server = launch.definition.id;
        let (users, dir) = (self.users.clone(), launch.dir.to_path_buf());
        let cgroups = self.cgroups.clone();
        let (limits, pids) = (launch.definition.limits.clone(), self.pids_limit);
        let (identity, cgroup) = tokio::task::spawn_blocking(move || {
            let identity = users.identity(server, &dir)?;
            if let Some(identity) = &identity {
                users::hand_over(&dir, identity)?;
                users::ensure_reachable(&dir)?;
            }
            let cgroup = cgroups
                .map(|c| c.create(server, &limits, pids))
                .transpose()?;
            Ok::<_, std::io::Error>((identity, cgroup))
        })
        .await
        .map_err(std::io::Error::other)??;
        let isolation = Isolation {
            cgroup_procs: cgroup
                .as_ref()
                .map(ServerCgroup::procs_files)
                .unwrap_or_default(),
            identity,
        };
        match launch.task {
            Task::Game { startup } => {
                let spec = shim::Spec {
                    program: "/bin/sh".into(),
                    args: vec!["-c".into(), startup.to_owned()],
                    cwd: launch.dir.to_path_buf(),
                    env: spawn::environment(&launch.definition.environment, launch.dir),
                    isolation,
                    buffer_bytes: SHIM_BUFFER_BYTES,
                };
                self.shims.start(server, &spec).await?;
                self.shims.connect(server, cgroup).await
            }
            Task::Install {
                interpreter,
                script,
                ..
            } => {
                let path = self.install_dir.join(format!("{server}.sh"));
                crate::tls::write_private(&path, script.as_bytes())
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                if let Some(identity) = &isolation.identity {
                    std::os::unix::fs::lchown(&path, Some(identity.uid), Some(identity.gid))?;
                }
                let arg = path.display().to_string();
                direct(&launch, interpreter, &[&arg], false, &isolation, cgroup)
            }
        }
    }

    /// Connect to the shim of a game a previous agent started. Without one, a game
    /// process left behind (by an agent without shims) is killed, and so is whatever is
    /// left in the server's cgroup.
    pub async fn reattach(&self, server: Uuid, record: Option<ProcessRecord>) -> Option<Process> {
        let socket = self.shims.socket(server);
        if socket.exists() {
            let cgroup = self.cgroups.as_ref().map(|c| c.of(server));
            match self.shims.connect(server, cgroup).await {
                Ok(process) => return Some(process),
                Err(e) => {
                    tracing::warn!(%server, error = %e, "the server's supervisor process is gone");
                    let _ = std::fs::remove_file(&socket);
                }
            }
        }
        if let Some(record) = record {
            if spawn::start_ticks(record.pid) == Some(record.start_ticks) {
                tracing::warn!(%server, pid = record.pid, "killing a game process left by a previous agent");
                let _ = spawn::signal_group(record.pid, Signal::SIGKILL);
            }
        }
        if let Some(cgroups) = &self.cgroups {
            let cgroup = cgroups.of(server);
            let _ = tokio::task::spawn_blocking(move || cgroup.remove()).await;
        }
        None
    }

    /// End every game whose shim is here but whose server is not among `known`.
    pub async fn end_orphans(&self, known: &[Uuid]) {
        for server in self.shims.servers() {
            if known.contains(&server) {
                continue;
            }
            let cgroup = self.cgroups.as_ref().map(|c| c.of(server));
            if let Ok(process) = self.shims.connect(server, cgroup).await {
                tracing::warn!(%server, "ending a game whose server no longer exists");
                process.control.kill_all();
                let _ = tokio::time::timeout(ORPHAN_WAIT, process.exit).await;
                process.control.finished().await;
            }
            // The released shim removes its socket too, but maybe only after we are done.
            let _ = std::fs::remove_file(self.shims.socket(server));
            self.forget(server).await;
        }
    }

    /// Delete the server's user and cgroup.
    pub async fn forget(&self, server: Uuid) {
        let users = self.users.clone();
        let cgroup = self.cgroups.as_ref().map(|c| c.of(server));
        let removed = tokio::task::spawn_blocking(move || {
            users.remove(server);
            cgroup.map(|c| c.remove()).transpose()
        })
        .await;
        if let Ok(Err(e)) = removed {
            tracing::warn!(%server, error = %e, "cannot remove the server's cgroup");
        }
    }

    /// Measure each control's processes: from its cgroup, or by scanning the host's
    /// processes for its session.
    pub fn usage(&self, controls: &[&Control]) -> Vec<Usage> {
        let sessions: Vec<u32> = controls
            .iter()
            .filter(|c| c.cgroup.is_none())
            .map(|c| c.pgid)
            .collect();
        let mut scanned = if sessions.is_empty() {
            Vec::new()
        } else {
            let mut scanner = self.scanner.lock().unwrap_or_else(|e| e.into_inner());
            scanner.sample(&sessions)
        }
        .into_iter();
        controls
            .iter()
            .map(|c| match &c.cgroup {
                Some(cgroup) => cgroup.usage(),
                None => scanned.next().unwrap_or_default(),
            })
            .collect()
    }
}

/// Games must be able to reach their own directory but read nothing else of the agent's:
/// the data directory and the server root can be passed through, not listed; the
/// definitions, logs and certificate are the agent's alone.
fn protect_data_dir(config: &Config) -> std::io::Result<()> {
    let mode = |path: &Path, mode: u32| -> std::io::Result<()> {
        std::fs::create_dir_all(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    };
    mode(&config.data_dir, 0o711)?;
    for private in ["definitions", "logs", "tls"] {
        mode(&config.data_dir.join(private), 0o700)?;
    }
    mode(&config.data_dir.join("install"), 0o711)?;
    let mut dir = config.server_root.clone();
    loop {
        mode(&dir, 0o711)?;
        if !dir.pop() || !dir.starts_with(&config.data_dir) || dir == config.data_dir {
            return Ok(());
        }
    }
}

/// A native process group, its cgroup when limits are enforced, and the connection to
/// its shim when it has one.
#[derive(Clone)]
pub struct Control {
    pgid: u32,
    cgroup: Option<ServerCgroup>,
    shim: Option<mpsc::Sender<attach::Outgoing>>,
}

impl Control {
    /// Signal the process group.
    pub fn signal(&self, signal: Signal) -> std::io::Result<()> {
        spawn::signal_group(self.pgid, signal)
    }

    /// Wait for the processes to disappear (every process of the cgroup, when there
    /// is one: that includes those that left the process group).
    pub async fn wait_gone(&self, deadline: Instant) {
        match &self.cgroup {
            Some(cgroup) => {
                while !cgroup.pids().is_empty() && Instant::now() < deadline {
                    tokio::time::sleep(CGROUP_POLL).await;
                }
            }
            None => spawn::wait_group_gone(self.pgid, deadline).await,
        }
    }

    /// SIGKILL what is left of the group and the cgroup.
    pub fn kill_all(&self) {
        let _ = spawn::signal_group(self.pgid, Signal::SIGKILL);
        if let Some(cgroup) = &self.cgroup {
            cgroup.kill_all();
        }
    }

    /// With a cgroup the kernel enforces the memory limit.
    pub fn enforces_memory(&self) -> bool {
        self.cgroup.is_some()
    }

    /// PID and start time of the group leader.
    pub fn record(&self) -> Option<ProcessRecord> {
        spawn::start_ticks(self.pgid).map(|start_ticks| ProcessRecord {
            pid: self.pgid,
            start_ticks,
        })
    }

    /// Let the shim end (the cgroup is replaced at the next start).
    pub async fn finished(&self) {
        if let Some(shim) = &self.shim {
            attach::release(shim).await;
        }
    }
}

/// Spawn directly as a child of the agent.
fn direct(
    launch: &Launch<'_>,
    program: &str,
    args: &[&str],
    stdin: bool,
    isolation: &Isolation,
    cgroup: Option<ServerCgroup>,
) -> std::io::Result<Process> {
    let env = spawn::environment(&launch.definition.environment, launch.dir);
    let streams = spawn::Streams::Piped { stdin };
    let mut child = spawn::spawn(program, args, launch.dir, &env, streams, isolation)?;
    let pid = child
        .id()
        .ok_or_else(|| std::io::Error::other("child has no pid"))?;
    let stdin = child.stdin.take().map(super::stdin_writer);
    let mut output: Vec<super::Output> = Vec::new();
    if let Some(out) = child.stdout.take() {
        output.push(Box::pin(out));
    }
    if let Some(err) = child.stderr.take() {
        output.push(Box::pin(err));
    }
    let oom = cgroup.clone();
    let exit = Box::pin(async move {
        let code = child.wait().await.map(spawn::exit_code).unwrap_or(-1);
        let reason = oom
            .is_some_and(|c| c.oom_killed())
            .then(|| OUT_OF_MEMORY.to_owned());
        Exit { code, reason }
    });
    Ok(Process {
        pid,
        started_at: Utc::now(),
        stdin,
        output,
        exit,
        control: super::Control::Native(Control {
            pgid: pid,
            cgroup,
            shim: None,
        }),
        lost_output_bytes: 0,
    })
}
