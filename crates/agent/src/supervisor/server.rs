//! One supervised server: its definition, lifecycle state machine and power actions.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cap_protocol::events::EventKind;
use cap_protocol::game::Players;
use cap_protocol::server::{
    DesiredState, ServerDefinition, ServerInfo, ServerState, ServerStats, ServerStatus, StopKind,
    StopSignal,
};
use chrono::{DateTime, Utc};
use nix::sys::signal::Signal;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::ansi::clean_input;
use super::config_files;
use super::console::{pump, Console, OutputKind};
use super::disk::DiskUsage;
use super::patterns::DonePatterns;
use super::quota;
use super::Shared;
use crate::error::{AgentError, AgentResult};
use crate::runtime::{Control, Exit, Launch, Process, Task};
use crate::store::{Failure, StoredServer};

/// How long to wait for a process group to disappear after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(10);
/// Failed game queries in a row after which the players are no longer reported.
pub const QUERY_FAILURES: u32 = 3;
/// How long to wait for output pipes to drain after the main process exited.
const DRAIN_WAIT: Duration = Duration::from_secs(3);

/// A definition with its compiled done patterns.
pub struct Defined {
    /// The definition (its `desired_state` is kept current).
    pub definition: ServerDefinition,
    /// Compiled `done_patterns`.
    pub patterns: DonePatterns,
}

/// One server.
pub struct Server {
    /// Its id.
    pub id: Uuid,
    shared: Arc<Shared>,
    defined: Mutex<Arc<Defined>>,
    runtime: Mutex<Runtime>,
    power: tokio::sync::Mutex<()>,
    /// Console capture.
    pub console: Arc<Console>,
    /// Cached size of the server directory.
    pub disk: DiskUsage,
    awaiting_done: AtomicBool,
    removed: AtomicBool,
    restoring: AtomicBool,
    flusher: JoinHandle<()>,
}

#[derive(Default)]
struct Runtime {
    state: ServerState,
    process: Option<Running>,
    generation: u64,
    exit_code: Option<i32>,
    message: Option<String>,
    kill_reason: Option<String>,
    crashes: VecDeque<Instant>,
    stats: Option<ServerStats>,
    /// The game's last query answer and the failed queries since.
    players: Option<Players>,
    query_failures: u32,
    /// End of the grace period of the graceful stop in progress.
    stop_deadline: Option<Instant>,
}

/// The process currently attached to the server (game or install script).
struct Running {
    pid: u32,
    control: Control,
    generation: u64,
    started_at: DateTime<Utc>,
    started: Instant,
    install: bool,
    stdin: Option<mpsc::Sender<String>>,
    exited: watch::Receiver<Option<i32>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.flusher.abort();
    }
}

impl Server {
    /// A server in state `offline`.
    pub fn new(shared: Arc<Shared>, defined: Defined) -> Arc<Self> {
        let id = defined.definition.id;
        let console = Arc::new(Console::new(
            id,
            shared.config.console.clone(),
            shared.bus.clone(),
            shared.config.log_dir(id).join("console.log"),
        ));
        let flusher = tokio::spawn(console.clone().run_flusher());
        Arc::new(Self {
            id,
            disk: DiskUsage::new(shared.config.server_dir(id)),
            shared,
            defined: Mutex::new(Arc::new(defined)),
            runtime: Mutex::new(Runtime::default()),
            power: tokio::sync::Mutex::new(()),
            console,
            awaiting_done: AtomicBool::new(false),
            removed: AtomicBool::new(false),
            restoring: AtomicBool::new(false),
            flusher,
        })
    }

    fn rt(&self) -> MutexGuard<'_, Runtime> {
        self.runtime.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// While set, the server refuses to start (a restore writes its directory).
    pub fn set_restoring(&self, restoring: bool) {
        self.restoring.store(restoring, Ordering::SeqCst);
    }

    /// The current definition.
    pub fn defined(&self) -> Arc<Defined> {
        self.defined
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replace the definition (keeps the current desired state); takes effect at the next
    /// start, except stop settings and limits, which apply at once.
    pub fn redefine(&self, mut defined: Defined) -> AgentResult<()> {
        defined.definition.desired_state = self.defined().definition.desired_state;
        *self.defined.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(defined);
        self.persist()
    }

    fn set_desired(&self, desired: DesiredState) -> AgentResult<()> {
        {
            let mut slot = self.defined.lock().unwrap_or_else(|e| e.into_inner());
            if slot.definition.desired_state == desired {
                return Ok(());
            }
            let mut definition = slot.definition.clone();
            definition.desired_state = desired;
            *slot = Arc::new(Defined {
                definition,
                patterns: slot.patterns.clone(),
            });
        }
        self.persist()
    }

    /// Write the definition and the current process record.
    pub fn persist(&self) -> AgentResult<()> {
        let process = self
            .rt()
            .process
            .as_ref()
            .filter(|p| !p.install)
            .and_then(|p| p.control.record());
        self.shared.store.save(&StoredServer {
            definition: self.defined().definition.clone(),
            process,
            failure: self.failure(),
        })
    }

    /// The failed state the server is in, if any.
    fn failure(&self) -> Option<Failure> {
        let rt = self.rt();
        matches!(rt.state, ServerState::Crashed | ServerState::InstallFailed).then(|| Failure {
            state: rt.state,
            message: rt.message.clone(),
            exit_code: rt.exit_code,
        })
    }

    /// Show a failed state stored by a previous agent (the server has no process).
    pub fn restore_failure(&self, failure: Failure) {
        let mut rt = self.rt();
        if rt.process.is_none() {
            rt.state = failure.state;
            rt.message = failure.message;
            rt.exit_code = failure.exit_code;
        }
    }

    /// Definition, status and latest stats.
    pub fn info(&self) -> ServerInfo {
        let definition = self.defined().definition.clone();
        let user = self.shared.runtimes.user(definition.runtime, self.id);
        let rt = self.rt();
        ServerInfo {
            status: ServerStatus {
                state: rt.state,
                desired_state: definition.desired_state,
                pid: rt.process.as_ref().map(|p| p.pid),
                started_at: rt.process.as_ref().map(|p| p.started_at),
                exit_code: rt.exit_code,
                restart_count: rt.crashes.len() as u32,
                message: rt.message.clone(),
                user,
            },
            stats: rt.stats.clone(),
            definition,
        }
    }

    /// Current state.
    pub fn state(&self) -> ServerState {
        self.rt().state
    }

    /// Control and start instant of the running game (not of an install script).
    pub fn game_process(&self) -> Option<(Control, Instant)> {
        self.rt()
            .process
            .as_ref()
            .filter(|p| !p.install)
            .map(|p| (p.control.clone(), p.started))
    }

    fn transition(&self, rt: &mut Runtime, state: ServerState, message: Option<String>) {
        let previous = rt.state;
        rt.state = state;
        if message.is_some() {
            rt.message = message.clone();
        }
        if !state.has_process() {
            rt.stats = None;
            rt.players = None;
            rt.query_failures = 0;
        }
        if previous != state || message.is_some() {
            self.shared.bus.publish(EventKind::State {
                server_id: self.id,
                state,
                previous,
                exit_code: if state.has_process() {
                    None
                } else {
                    rt.exit_code
                },
                message,
            });
        }
    }

    // ----- power actions -------------------------------------------------------------

    /// Start (no-op when starting or running).
    pub async fn start(self: &Arc<Self>) -> AgentResult<()> {
        let _power = self.power.lock().await;
        self.rt().crashes.clear();
        self.start_locked().await
    }

    /// Stop gracefully, escalating to SIGKILL after the grace period.
    pub async fn stop(self: &Arc<Self>) -> AgentResult<()> {
        let _power = self.power.lock().await;
        self.set_desired(DesiredState::Offline)?;
        self.stop_locked().await
    }

    /// Stop, then start.
    pub async fn restart(self: &Arc<Self>) -> AgentResult<()> {
        let _power = self.power.lock().await;
        self.stop_locked().await?;
        self.rt().crashes.clear();
        self.start_locked().await
    }

    /// SIGKILL the process group at once (also aborts an install), then wait for it.
    pub async fn kill(self: &Arc<Self>) -> AgentResult<()> {
        self.set_desired(DesiredState::Offline)?;
        self.kill_now(None);
        let _power = self.power.lock().await;
        if let Some(exited) = self.kill_now(None) {
            wait_exit(exited, KILL_WAIT).await?;
        }
        Ok(())
    }

    /// SIGKILL the current process group, remembering why; returns its exit watch.
    pub fn kill_now(&self, reason: Option<String>) -> Option<watch::Receiver<Option<i32>>> {
        let mut rt = self.rt();
        let (control, install, exited) = {
            let p = rt.process.as_ref()?;
            (p.control.clone(), p.install, p.exited.clone())
        };
        if let Some(reason) = reason {
            self.console.notice(&reason);
            rt.kill_reason = Some(reason);
        } else if !install && rt.state != ServerState::Stopping {
            self.transition(&mut rt, ServerState::Stopping, None);
        }
        drop(rt);
        if let Err(e) = control.signal(Signal::SIGKILL) {
            tracing::error!(server = %self.id, error = %e, "cannot kill process group");
        }
        Some(exited)
    }

    /// Apply the config-file edits, then spawn the game (the power lock is held).
    async fn start_locked(self: &Arc<Self>) -> AgentResult<()> {
        if self.removed.load(Ordering::SeqCst) {
            return Err(AgentError::NotFound("server was deleted".into()));
        }
        if self.restoring.load(Ordering::SeqCst) {
            return Err(AgentError::Conflict(
                "a backup is being restored into this server; start it when the restore ended"
                    .into(),
            ));
        }
        match self.rt().process.as_ref() {
            Some(p) if p.install => {
                return Err(AgentError::Conflict("server is installing".into()))
            }
            Some(_) => return Ok(()),
            None => {}
        }
        self.refuse_if_install_failed()?;
        let defined = self.defined();
        quota::refuse_start_over(&self.disk, defined.definition.limits.disk_mib).await?;
        let runtime = defined.definition.runtime;
        let dir = self.shared.config.server_dir(self.id);
        std::fs::create_dir_all(&dir)?;
        let (edit_dir, files) = (dir.clone(), defined.definition.config_files.clone());
        let edited =
            tokio::task::spawn_blocking(move || config_files::apply(&edit_dir, &files)).await?;
        if let Err(message) = edited {
            return Err(AgentError::Conflict(
                self.refuse_start(format!("cannot start: {message}")),
            ));
        }
        self.set_desired(DesiredState::Running)?;
        let console = self.console.clone();
        let say = move |line: &str| console.notice(line);
        let launch = Launch {
            definition: &defined.definition,
            dir: &dir,
            task: Task::Game {
                startup: &defined.definition.startup,
            },
            say: &say,
        };
        let spawned = self.shared.runtimes.start(runtime, launch).await;
        let process = match spawned {
            Ok(process) => process,
            Err(e) => {
                self.refuse_start(format!("cannot start: {e}"));
                return Err(AgentError::Internal(format!(
                    "cannot spawn server {}: {e}",
                    self.id
                )));
            }
        };
        let awaiting = !defined.patterns.is_empty();
        self.awaiting_done.store(awaiting, Ordering::SeqCst);
        let state = if awaiting {
            ServerState::Starting
        } else {
            ServerState::Running
        };
        self.attach(process, false, state, None)?;
        self.persist()
    }

    /// Take over a game a previous agent left running (its missed output is replayed
    /// through the console and may still contain the done line).
    pub fn adopt(self: &Arc<Self>, process: Process) -> AgentResult<()> {
        self.console
            .notice("agent restarted; reattached to the running server");
        if process.lost_output_bytes > 0 {
            let lost = process.lost_output_bytes;
            tracing::warn!(server = %self.id, bytes = lost, "output was lost while no agent was reading it");
            self.console.notice(&format!(
                "{} KiB of output printed while the agent was away did not fit in the buffer and was lost",
                lost.div_ceil(1024)
            ));
        }
        self.attach(process, false, ServerState::Running, None)?;
        self.persist()
    }

    /// A start that cannot happen: say why on the console and in the status (`crashed`),
    /// and stop wanting the server running. Returns the message.
    fn refuse_start(&self, message: String) -> String {
        self.console.notice(&message);
        {
            let mut rt = self.rt();
            rt.exit_code = None;
            self.transition(&mut rt, ServerState::Crashed, Some(message.clone()));
        }
        let saved = self
            .set_desired(DesiredState::Offline)
            .and_then(|_| self.persist());
        if let Err(e) = saved {
            tracing::error!(server = %self.id, error = %e, "cannot persist server state");
        }
        message
    }

    /// Stop the running game because of `reason` (said on the console and kept as the
    /// status message) through the normal stop path; it stays stopped.
    pub fn stop_because(self: &Arc<Self>, reason: String) {
        {
            let mut rt = self.rt();
            let game = rt.process.as_ref().is_some_and(|p| !p.install);
            if !game || !matches!(rt.state, ServerState::Starting | ServerState::Running) {
                return;
            }
            self.console
                .notice(&format!("{reason}; stopping the server"));
            self.transition(&mut rt, ServerState::Stopping, Some(reason));
        }
        let server = self.clone();
        tokio::spawn(async move {
            if let Err(e) = server.stop().await {
                tracing::error!(server = %server.id, error = %e, "cannot stop server");
            }
        });
    }

    /// A server whose install failed does not start (its files are incomplete).
    fn refuse_if_install_failed(&self) -> AgentResult<()> {
        let rt = self.rt();
        if rt.state != ServerState::InstallFailed {
            return Ok(());
        }
        let reason = rt.message.as_deref().unwrap_or("no reason recorded");
        Err(AgentError::Conflict(format!(
            "install failed: {reason}; reinstall first"
        )))
    }

    async fn stop_locked(self: &Arc<Self>) -> AgentResult<()> {
        let (control, exited, stdin) = {
            let mut rt = self.rt();
            let Some(p) = rt.process.as_ref() else {
                return Ok(());
            };
            if p.install {
                return Err(AgentError::Conflict(
                    "server is installing; use kill to abort".into(),
                ));
            }
            let found = (p.control.clone(), p.exited.clone(), p.stdin.clone());
            self.transition(&mut rt, ServerState::Stopping, None);
            found
        };
        let stop = self.defined().definition.stop.clone();
        let grace = Duration::from_secs(stop.grace_seconds);
        self.rt().stop_deadline = Some(Instant::now() + grace);
        let sent = match stop.kind {
            StopKind::Command => stdin.is_some_and(|tx| tx.try_send(stop.value.clone()).is_ok()),
            StopKind::Signal => {
                let signal = StopSignal::parse(&stop.value).unwrap_or(StopSignal::Term);
                control.signal(to_signal(signal)).is_ok()
            }
        };
        if !sent {
            control.signal(Signal::SIGTERM)?;
        }
        if wait_exit(exited.clone(), grace).await.is_ok() {
            return Ok(());
        }
        self.console.notice(&format!(
            "server did not stop within {}s; killing its process group",
            stop.grace_seconds
        ));
        control.signal(Signal::SIGKILL)?;
        wait_exit(exited, KILL_WAIT).await
    }

    /// Run the install script (returns once it is started).
    pub async fn install(self: &Arc<Self>) -> AgentResult<()> {
        let _power = self.power.lock().await;
        if self.rt().process.is_some() {
            return Err(AgentError::Conflict(
                "stop the server before installing".into(),
            ));
        }
        let defined = self.defined();
        let Some(script) = defined.definition.install.clone() else {
            return Err(AgentError::Validation(
                "this server has no install script".into(),
            ));
        };
        let runtime = defined.definition.runtime;
        let dir = self.shared.config.server_dir(self.id);
        std::fs::create_dir_all(&dir)?;
        let console = self.console.clone();
        let say = move |line: &str| console.notice(line);
        let launch = Launch {
            definition: &defined.definition,
            dir: &dir,
            task: Task::Install {
                interpreter: &script.interpreter,
                script: &script.script,
                image: script.container.as_deref(),
            },
            say: &say,
        };
        let started = self.shared.runtimes.start(runtime, launch).await;
        let process = match (started, &script.container) {
            (Ok(process), _) => process,
            (Err(e), Some(image)) => {
                self.fail_install(format!(
                    "this template's install script must run in the container image {image}, \
                     which cannot run here: {e}"
                ));
                return Ok(());
            }
            (Err(e), None) => {
                return Err(AgentError::Validation(format!(
                    "cannot run {}: {e}",
                    script.interpreter
                )))
            }
        };
        self.console.notice(INSTALL_STARTED);
        self.attach(
            process,
            true,
            ServerState::Installing,
            Some(Duration::from_secs(script.timeout_seconds)),
        )?;
        self.persist()
    }

    /// An install that cannot run: `install_failed` with the reason, said on the console.
    fn fail_install(&self, message: String) {
        self.console.notice(&message);
        {
            let mut rt = self.rt();
            rt.exit_code = None;
            self.transition(&mut rt, ServerState::InstallFailed, Some(message));
        }
        if let Err(e) = self.persist() {
            tracing::error!(server = %self.id, error = %e, "cannot persist server state");
        }
    }

    /// Wire a started process: console pumps, stdin, exit watcher.
    fn attach(
        self: &Arc<Self>,
        process: Process,
        install: bool,
        state: ServerState,
        timeout: Option<Duration>,
    ) -> AgentResult<()> {
        let Process {
            pid,
            started_at,
            stdin,
            output,
            mut exit,
            control,
            lost_output_bytes: _,
        } = process;
        let kind = if install {
            OutputKind::Install
        } else {
            OutputKind::Console
        };
        let (exit_tx, exited) = watch::channel(None);
        let generation = {
            let mut rt = self.rt();
            rt.generation += 1;
            rt.exit_code = None;
            rt.message = None;
            rt.kill_reason = None;
            rt.stop_deadline = None;
            let age = (Utc::now() - started_at).to_std().unwrap_or_default();
            let started = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
            rt.process = Some(Running {
                pid,
                control: control.clone(),
                generation: rt.generation,
                started_at,
                started,
                install,
                stdin,
                exited,
            });
            self.transition(&mut rt, state, None);
            rt.generation
        };
        // Read output only once the state is set: a done line read earlier would find the
        // server not yet `starting` and be lost, leaving it `starting` for good.
        let readers: Vec<_> = output
            .into_iter()
            .map(|out| tokio::spawn(self.clone().pump(out, kind)))
            .collect();
        let server = self.clone();
        tokio::spawn(async move {
            let ended = match timeout {
                Some(limit) => match tokio::time::timeout(limit, &mut exit).await {
                    Ok(ended) => ended,
                    Err(_) => {
                        server.kill_now(Some(format!(
                            "install script timed out after {}s",
                            limit.as_secs()
                        )));
                        exit.await
                    }
                },
                None => exit.await,
            };
            // During a graceful stop the main process may be a shell that the stop signal
            // ended before the game behind it: give the game the rest of the grace period.
            let stop_deadline = server.rt().stop_deadline;
            if let Some(deadline) = stop_deadline {
                control.wait_gone(deadline).await;
            }
            // Whatever the main process left behind goes with it.
            control.kill_all();
            for reader in readers {
                let _ = tokio::time::timeout(DRAIN_WAIT, reader).await;
            }
            server.console.flush();
            let code = ended.code;
            server.on_exit(generation, ended);
            control.finished().await;
            let _ = exit_tx.send(Some(code));
        });
        Ok(())
    }

    async fn pump<R: tokio::io::AsyncRead + Unpin>(self: Arc<Self>, reader: R, kind: OutputKind) {
        let console = self.console.clone();
        let server = self.clone();
        pump(reader, console, kind, move |line| {
            if server.awaiting_done.load(Ordering::Relaxed)
                && server.defined().patterns.matches(line)
            {
                server.mark_running();
            }
        })
        .await;
    }

    fn mark_running(&self) {
        if self.awaiting_done.swap(false, Ordering::SeqCst) {
            let mut rt = self.rt();
            if rt.state == ServerState::Starting {
                self.transition(&mut rt, ServerState::Running, None);
            }
        }
    }

    /// The process of `generation` exited: decide the next state.
    fn on_exit(self: &Arc<Self>, generation: u64, ended: Exit) {
        let code = ended.code;
        let defined = self.defined();
        let mut restart_in = None;
        {
            let mut rt = self.rt();
            if rt.process.as_ref().map(|p| p.generation) != Some(generation) {
                return;
            }
            let running = rt.process.take();
            rt.exit_code = Some(code);
            let reason = rt.kill_reason.take().or(ended.reason);
            let previous = rt.state;
            let install = running.is_some_and(|p| p.install);
            let suffix = reason.map(|r| format!(" ({r})")).unwrap_or_default();
            if install {
                let (state, message) = if code == 0 {
                    (ServerState::Offline, format!("install finished{suffix}"))
                } else {
                    (
                        ServerState::InstallFailed,
                        format!(
                            "install script exited with code {code}{suffix}{}{}",
                            last_output(&self.console),
                            root_hint(&defined.definition)
                        ),
                    )
                };
                self.console.notice(&message);
                self.transition(&mut rt, state, Some(message));
            } else if previous == ServerState::Stopping || (code == 0 && suffix.is_empty()) {
                let message = (previous != ServerState::Stopping)
                    .then(|| "server exited by itself".to_owned());
                self.transition(&mut rt, ServerState::Offline, message);
            } else {
                let policy = &defined.definition.crash_policy;
                let now = Instant::now();
                let window = Duration::from_secs(policy.window_seconds);
                rt.crashes.retain(|t| now.duration_since(*t) < window);
                let wants = defined.definition.desired_state == DesiredState::Running
                    && policy.auto_restart;
                let message = if wants && (rt.crashes.len() as u32) < policy.max_restarts {
                    rt.crashes.push_back(now);
                    let attempt = rt.crashes.len() as u32;
                    let backoff = policy
                        .backoff_ms
                        .saturating_mul(1u64 << (attempt - 1).min(20))
                        .min(policy.max_backoff_ms.max(policy.backoff_ms));
                    restart_in = Some(Duration::from_millis(backoff));
                    format!(
                        "exited with code {code}{suffix}; restart {attempt}/{} in {backoff} ms",
                        policy.max_restarts
                    )
                } else if wants {
                    format!(
                        "exited with code {code}{suffix}; crashed {} times within {}s, not restarting",
                        rt.crashes.len() + 1,
                        policy.window_seconds
                    )
                } else {
                    format!("exited with code {code}{suffix}")
                };
                self.console.notice(&message);
                self.transition(&mut rt, ServerState::Crashed, Some(message));
            }
        }
        let crashed_for_good = self.state() == ServerState::Crashed && restart_in.is_none();
        let saved = if crashed_for_good {
            self.set_desired(DesiredState::Offline)
        } else {
            Ok(())
        }
        .and_then(|_| self.persist());
        if let Err(e) = saved {
            tracing::error!(server = %self.id, error = %e, "cannot persist server state");
        }
        if let Some(delay) = restart_in {
            let server = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _power = server.power.lock().await;
                let still_crashed = {
                    let rt = server.rt();
                    rt.state == ServerState::Crashed && rt.generation == generation
                };
                let wanted = server.defined().definition.desired_state == DesiredState::Running;
                if still_crashed && wanted {
                    if let Err(e) = server.start_locked().await {
                        tracing::error!(server = %server.id, error = %e, "automatic restart failed");
                    }
                }
            });
        }
    }

    /// Write a console command to the game's stdin, without its control characters and
    /// escape sequences.
    pub fn send_command(&self, command: &str) -> AgentResult<()> {
        let rt = self.rt();
        let stdin = rt
            .process
            .as_ref()
            .filter(|p| !p.install)
            .and_then(|p| p.stdin.clone())
            .ok_or_else(|| AgentError::Conflict("server is not running".into()))?;
        drop(rt);
        stdin.try_send(clean_input(command)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                AgentError::Conflict("the server is not reading its console input".into())
            }
            mpsc::error::TrySendError::Closed(_) => {
                AgentError::Conflict("server is not running".into())
            }
        })
    }

    /// Record a stats sample; publishes it and, where the kernel does not, enforces the
    /// memory limit.
    pub fn record_stats(&self, stats: ServerStats) {
        let over = stats
            .memory_limit_bytes
            .is_some_and(|limit| stats.memory_bytes > limit);
        let enforced = {
            let mut rt = self.rt();
            let Some(p) = rt.process.as_ref().filter(|p| !p.install) else {
                return;
            };
            let enforced = p.control.enforces_memory();
            rt.stats = Some(stats.clone());
            enforced
        };
        self.shared.bus.publish(EventKind::Stats {
            server_id: self.id,
            stats: stats.clone(),
        });
        if over && !enforced {
            self.kill_now(Some(format!(
                "memory limit exceeded ({} MiB used); killing the server",
                stats.memory_bytes / (1024 * 1024)
            )));
        }
    }

    /// Latest stats sample.
    pub fn stats(&self) -> Option<ServerStats> {
        self.rt().stats.clone()
    }

    /// Record the outcome of a game query (`None`: it failed). A failure changes nothing
    /// but the players reported: they are dropped after [`QUERY_FAILURES`] in a row.
    pub fn record_query(&self, answer: Option<Players>) {
        let mut rt = self.rt();
        if rt.process.as_ref().is_none_or(|p| p.install) {
            return;
        }
        match answer {
            Some(players) => {
                rt.players = Some(players);
                rt.query_failures = 0;
            }
            None => {
                rt.query_failures = rt.query_failures.saturating_add(1);
                if rt.query_failures >= QUERY_FAILURES {
                    rt.players = None;
                }
            }
        }
    }

    /// The game's players as last queried.
    pub fn players(&self) -> Option<Players> {
        self.rt().players.clone()
    }

    /// Mark deleted (pending restarts give up), kill, and wait for the process group.
    pub async fn shut_down_for_removal(self: &Arc<Self>) -> AgentResult<()> {
        self.removed.store(true, Ordering::SeqCst);
        let _power = self.power.lock().await;
        if let Some(exited) = self.kill_now(None) {
            wait_exit(exited, KILL_WAIT).await?;
        }
        Ok(())
    }

    /// Stop for an agent shutdown, keeping the desired state for the next start (with
    /// `keep_game` a running game is left to its shim for the next agent).
    pub async fn stop_for_shutdown(self: &Arc<Self>, keep_game: bool) {
        self.removed.store(true, Ordering::SeqCst);
        let _power = self.power.lock().await;
        let install = self.rt().process.as_ref().is_some_and(|p| p.install);
        let result = if keep_game && !install {
            Ok(())
        } else if install {
            match self.kill_now(Some("agent is shutting down".into())) {
                Some(exited) => wait_exit(exited, KILL_WAIT).await,
                None => Ok(()),
            }
        } else {
            self.stop_locked().await
        };
        if let Err(e) = result {
            tracing::error!(server = %self.id, error = %e, "stop at shutdown failed");
        }
    }
}

/// Wait until the exit watch reports an exit, at most `limit`.
async fn wait_exit(mut exited: watch::Receiver<Option<i32>>, limit: Duration) -> AgentResult<()> {
    match tokio::time::timeout(limit, exited.wait_for(Option::is_some)).await {
        Ok(_) => Ok(()),
        Err(_) => Err(AgentError::Internal(format!(
            "process did not exit within {}s",
            limit.as_secs()
        ))),
    }
}

/// The nix signal for a stop signal.
fn to_signal(signal: StopSignal) -> Signal {
    match signal {
        StopSignal::Term => Signal::SIGTERM,
        StopSignal::Int => Signal::SIGINT,
        StopSignal::Hup => Signal::SIGHUP,
        StopSignal::Quit => Signal::SIGQUIT,
        StopSignal::Usr1 => Signal::SIGUSR1,
        StopSignal::Usr2 => Signal::SIGUSR2,
        StopSignal::Kill => Signal::SIGKILL,
    }
}

/// The notice written when an install script starts.
const INSTALL_STARTED: &str = "running install script";
/// Lines of a failed install script's output quoted in its status message.
const FAILED_INSTALL_LINES: usize = 5;

/// Console lines searched for the start of the failed install's output.
const INSTALL_SEARCH_LINES: usize = 200;

/// `; last output: …` with the last lines the install script printed (agent notices left
/// out).
fn last_output(console: &Console) -> String {
    let history = console.history(INSTALL_SEARCH_LINES);
    let began = format!("{} {INSTALL_STARTED}", super::NOTICE_PREFIX);
    let from = history
        .iter()
        .rposition(|l| *l == began)
        .map_or(0, |i| i + 1);
    let lines: Vec<&String> = history[from..]
        .iter()
        .filter(|l| !l.starts_with(super::NOTICE_PREFIX) && !l.trim().is_empty())
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(FAILED_INSTALL_LINES);
    let quoted: Vec<&str> = lines[start..].iter().map(|l| l.as_str()).collect();
    format!("; last output: {}", quoted.join(" | "))
}

/// Commands of install scripts that only work as root.
const ROOT_COMMANDS: [&str; 6] = ["apt-get ", "apt ", "dpkg ", "yum ", "dnf ", "apk add"];

/// For a failed install script run on the host that uses a root-only command: why it
/// cannot work.
fn root_hint(definition: &ServerDefinition) -> &'static str {
    let needs_root = definition.install.as_ref().is_some_and(|i| {
        i.container.is_none() && ROOT_COMMANDS.iter().any(|c| i.script.contains(c))
    });
    if needs_root {
        "; install scripts run as an unprivileged user, so commands that need root (apt-get, dpkg, yum, …) cannot work: install such packages on the node beforehand"
    } else {
        ""
    }
}
