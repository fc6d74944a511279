//! Starting the real binaries and reading their resource use from `/proc`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::Result;

/// Where the release builds of `cap-panel`, `cap-agent` and `cap-testgame` are.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub dir: PathBuf,
}

impl Binaries {
    pub fn check(dir: PathBuf) -> Result<Self> {
        for bin in ["cap-panel", "cap-agent", "cap-testgame"] {
            if !dir.join(bin).is_file() {
                return Err(format!(
                    "{} missing: cargo build --release -p cap-panel -p cap-agent -p cap-testgame",
                    dir.join(bin).display()
                )
                .into());
            }
        }
        Ok(Self { dir })
    }

    /// `PATH` for the agent, so templates find `cap-testgame`.
    fn path_env(&self) -> OsString {
        let mut paths = vec![self.dir.clone()];
        if let Some(path) = std::env::var_os("PATH") {
            paths.extend(std::env::split_paths(&path));
        }
        std::env::join_paths(paths).unwrap_or_default()
    }
}

/// A started panel or agent. Its output goes to `<name>.log` in its data directory.
pub struct Daemon {
    child: Child,
    pub pid: u32,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub data_dir: PathBuf,
    /// When the process was spawned.
    pub spawned: Instant,
}

/// A started panel.
pub struct Panel {
    pub daemon: Daemon,
}

/// Panel settings the benchmarks change from the defaults.
#[derive(Debug, Clone)]
pub struct PanelOptions {
    pub database_url: Option<String>,
    pub discovery_interval_secs: u64,
    /// `CAP_*` settings beyond those (a panel ignores variables it does not know).
    pub env: Vec<(&'static str, String)>,
}

impl Default for PanelOptions {
    fn default() -> Self {
        Self {
            database_url: None,
            discovery_interval_secs: 15,
            env: Vec::new(),
        }
    }
}

impl Panel {
    /// Starts `cap-panel` on a free port with the general per-IP rate limit off (a load
    /// generator is one IP) and a generous login limit.
    pub async fn start(bins: &Binaries, data_dir: &Path, options: &PanelOptions) -> Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let config = data_dir.join("bench-panel.toml");
        std::fs::write(
            &config,
            format!(
                "requests_per_second = 0\nlogin_attempts_per_minute = 100000\ndiscovery_interval_secs = {}\n",
                options.discovery_interval_secs
            ),
        )?;
        let mut command = Command::new(bins.dir.join("cap-panel"));
        command
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", &format!("127.0.0.1:{}", free_port()?)]);
        if let Some(url) = &options.database_url {
            command.arg("--database-url").arg(url);
        }
        command.envs(options.env.iter().map(|(k, v)| (k, v)));
        let daemon = Daemon::spawn(command, data_dir, "panel").await?;
        Ok(Self { daemon })
    }
}

impl Panel {
    /// The admin password from the first-start banner (waits briefly for it).
    pub async fn admin_password(&self) -> Result<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let banner =
                std::fs::read_to_string(self.daemon.data_dir.join("panel.log")).unwrap_or_default();
            if let Some(password) = banner
                .lines()
                .find_map(|l| l.trim().strip_prefix("password: "))
            {
                return Ok(password.trim().to_owned());
            }
            if Instant::now() > deadline {
                return Err("the panel printed no admin password (not a first start?)".into());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// A started agent with its node token.
pub struct Agent {
    pub daemon: Daemon,
    pub token: String,
}

impl Agent {
    /// Starts `cap-agent` over plain HTTP on a free port, with `config` (TOML, usually
    /// empty: defaults) as its configuration file.
    pub async fn start(bins: &Binaries, data_dir: &Path, config_toml: &str) -> Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let config = data_dir.join("agent.toml");
        std::fs::write(&config, config_toml)?;
        let mut command = Command::new(bins.dir.join("cap-agent"));
        command
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0", "--insecure-http"])
            .env("PATH", bins.path_env());
        let daemon = Daemon::spawn(command, data_dir, "agent").await?;
        let token = std::fs::read_to_string(data_dir.join("token"))?
            .trim()
            .to_owned();
        Ok(Self { daemon, token })
    }

    /// The port the agent listens on.
    pub fn port(&self) -> u16 {
        self.daemon
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }
}

impl Daemon {
    async fn spawn(mut command: Command, data_dir: &Path, name: &str) -> Result<Self> {
        // stdout and stderr both go to one log: the banner, the `listening on` line.
        let log = data_dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log)?;
        command
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .kill_on_drop(true);
        let spawned = Instant::now();
        let child = command.spawn()?;
        let pid = child.id().ok_or("process exited at once")?;
        let mut daemon = Self {
            child,
            pid,
            url: String::new(),
            data_dir: data_dir.to_owned(),
            spawned,
        };
        daemon.url = daemon.wait_listening(&log).await?;
        Ok(daemon)
    }

    /// Polls the log for `listening on http://…`.
    async fn wait_listening(&mut self, log: &Path) -> Result<String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if let Some(at) = text.find("listening on http://") {
                let url: String = text[at + "listening on ".len()..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '\u{1b}')
                    .collect();
                return Ok(url);
            }
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("{} exited ({status}): {}", log.display(), tail(&text)).into());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Err(format!("{}: no `listening on` line within 60 s", log.display()).into())
    }

    pub fn usage(&self) -> Usage {
        Usage::of(self.pid)
    }

    /// SIGTERM, then wait (SIGKILL after 20 s).
    pub async fn stop(mut self) {
        signal(self.pid, "TERM");
        if tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .is_err()
        {
            signal(self.pid, "KILL");
            let _ = self.child.wait().await;
        }
    }

    /// SIGKILL, as a crash would.
    pub async fn kill(mut self) {
        signal(self.pid, "KILL");
        let _ = self.child.wait().await;
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

fn signal(pid: u32, name: &str) {
    let _ = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status();
}

/// A port nobody listens on right now (the daemons fall back if it gets taken).
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Kernel clock ticks per second for `/proc/<pid>/stat` times (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// Resident memory and CPU time of one process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub rss_kib: u64,
    pub cpu_ticks: u64,
    pub at: Option<Instant>,
}

impl Usage {
    pub fn of(pid: u32) -> Self {
        let rss_kib = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
            .unwrap_or(0);
        // Fields after the command name (which may contain spaces) start at `state`;
        // utime and stime are the 12th and 13th of them.
        let cpu_ticks = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                let rest = &s[s.rfind(')')? + 2..];
                let fields: Vec<&str> = rest.split_whitespace().collect();
                Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
            })
            .unwrap_or(0);
        Self {
            rss_kib,
            cpu_ticks,
            at: Some(Instant::now()),
        }
    }

    pub fn rss_mib(&self) -> f64 {
        self.rss_kib as f64 / 1024.0
    }

    /// CPU use between two readings, in percent of one core.
    pub fn cpu_percent_since(&self, earlier: &Usage) -> f64 {
        let (Some(now), Some(then)) = (self.at, earlier.at) else {
            return 0.0;
        };
        let seconds = now.duration_since(then).as_secs_f64().max(1e-9);
        self.cpu_ticks.saturating_sub(earlier.cpu_ticks) as f64 / TICKS_PER_SECOND / seconds * 100.0
    }
}

/// CPU % and RSS of a process measured over `window`.
pub async fn measure_over(pid: u32, window: Duration) -> (f64, f64) {
    let before = Usage::of(pid);
    tokio::time::sleep(window).await;
    let after = Usage::of(pid);
    (after.cpu_percent_since(&before), after.rss_mib())
}

/// Game processes (`cap-testgame`) running in directories under `root`: the ones this
/// run's agents started. Returns their pids.
pub fn games_under(root: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
            let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap_or_default();
            exe.file_name().is_some_and(|n| n == "cap-testgame") && cwd.starts_with(root)
        })
        .collect()
}

/// Sum of the RSS of `pids`, MiB.
pub fn total_rss_mib(pids: &[u32]) -> f64 {
    pids.iter().map(|p| Usage::of(*p).rss_mib()).sum()
}

/// SIGKILLs game processes left under `root` (agents may leave them running by design).
pub fn reap_games(root: &Path) {
    for pid in games_under(root) {
        signal(pid, "KILL");
    }
}

/// Runs `work` while sampling the RSS of `pid` every 20 ms; returns what `work` gave and
/// the highest RSS seen (MiB).
pub async fn with_peak_rss<T>(pid: u32, work: impl std::future::Future<Output = T>) -> (T, f64) {
    tokio::pin!(work);
    let mut peak = Usage::of(pid).rss_mib();
    loop {
        tokio::select! {
            out = &mut work => return (out, peak.max(Usage::of(pid).rss_mib())),
            _ = tokio::time::sleep(Duration::from_millis(20)) => {
                peak = peak.max(Usage::of(pid).rss_mib());
            }
        }
    }
}
