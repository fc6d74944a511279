//! One cgroup per server: memory (and swap), CPU quota and process limits, usage and
//! out-of-memory kills. The unified hierarchy (v2) is used when `/sys/fs/cgroup` is one;
//! otherwise the per-controller hierarchies of v1 (also the "hybrid" layout).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cap_protocol::runtime::CgroupVersion;
use cap_protocol::server::Limits;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use uuid::Uuid;

use crate::runtime::Usage;

/// Where cgroup file systems are mounted.
const MOUNT: &str = "/sys/fs/cgroup";
/// CPU quota period, microseconds.
const CPU_PERIOD_US: u64 = 100_000;
/// How long a cgroup's processes get to disappear after SIGKILL before removal fails.
const EMPTY_WAIT: Duration = Duration::from_secs(5);

/// The cgroups of this agent: `<hierarchy>/<parent>/<server id>`.
#[derive(Debug, Clone)]
pub struct Cgroups {
    version: CgroupVersion,
    /// v2: one directory; v1: memory, cpu, cpuacct, pids parents (possibly the same).
    parents: Hierarchies,
}

#[derive(Debug, Clone)]
struct Hierarchies {
    memory: PathBuf,
    cpu: PathBuf,
    cpuacct: PathBuf,
    pids: PathBuf,
}

impl Hierarchies {
    fn map(&self, f: impl Fn(&Path) -> PathBuf) -> Self {
        Self {
            memory: f(&self.memory),
            cpu: f(&self.cpu),
            cpuacct: f(&self.cpuacct),
            pids: f(&self.pids),
        }
    }

    /// The distinct directories.
    fn dirs(&self) -> Vec<&Path> {
        let mut dirs: Vec<&Path> = Vec::new();
        for dir in [&self.memory, &self.cpu, &self.cpuacct, &self.pids] {
            if !dirs.contains(&dir.as_path()) {
                dirs.push(dir);
            }
        }
        dirs
    }
}

impl Cgroups {
    /// Find the layout and create the agent's parent cgroup `parent` (a relative path);
    /// an error says why limits cannot be enforced.
    pub fn detect(parent: &Path) -> Result<Self, String> {
        Self::detect_in(Path::new(MOUNT), parent)
    }

    /// [`Self::detect`] with the cgroup file systems mounted at `mount`.
    fn detect_in(mount: &Path, parent: &Path) -> Result<Self, String> {
        if parent.is_absolute() || parent.components().any(|c| c.as_os_str() == "..") {
            return Err(format!(
                "cgroup root {} must be a relative path",
                parent.display()
            ));
        }
        let (version, roots) = if mount.join("cgroup.controllers").exists() {
            let root = mount.to_path_buf();
            (
                CgroupVersion::V2,
                Hierarchies {
                    memory: root.clone(),
                    cpu: root.clone(),
                    cpuacct: root.clone(),
                    pids: root,
                },
            )
        } else {
            let hierarchy = |name: &str| -> Result<PathBuf, String> {
                let dir = mount.join(name);
                std::fs::canonicalize(&dir)
                    .map_err(|_| format!("no cgroup v1 {name} hierarchy at {}", dir.display()))
            };
            (
                CgroupVersion::V1,
                Hierarchies {
                    memory: hierarchy("memory")?,
                    cpu: hierarchy("cpu")?,
                    cpuacct: hierarchy("cpuacct")?,
                    pids: hierarchy("pids")?,
                },
            )
        };
        let parents = roots.map(|root| root.join(parent));
        for dir in parents.dirs() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create cgroup {}: {e}", dir.display()))?;
        }
        if version == CgroupVersion::V2 {
            // Controllers must be enabled in every ancestor for the servers' cgroups.
            let mut dir = roots.memory.clone();
            for part in std::iter::once(None).chain(parent.components().map(Some)) {
                if let Some(part) = part {
                    dir.push(part);
                }
                std::fs::write(dir.join("cgroup.subtree_control"), "+memory +cpu +pids").map_err(
                    |e| format!("cannot enable cgroup controllers in {}: {e}", dir.display()),
                )?;
            }
        }
        Ok(Self { version, parents })
    }

    /// The layout in use.
    pub fn version(&self) -> CgroupVersion {
        self.version
    }

    /// The cgroup of `server` (whether or not it exists).
    pub fn of(&self, server: Uuid) -> ServerCgroup {
        let name = server.to_string();
        ServerCgroup {
            version: self.version,
            dirs: self.parents.map(|p| p.join(&name)),
            last_cpu: Arc::default(),
        }
    }

    /// A fresh cgroup for `server` with `limits` (what an earlier run left is killed and
    /// removed first, so counters such as OOM kills start at zero).
    pub fn create(
        &self,
        server: Uuid,
        limits: &Limits,
        pids: u32,
    ) -> std::io::Result<ServerCgroup> {
        let cgroup = self.of(server);
        cgroup.remove()?;
        for dir in cgroup.dirs.dirs() {
            std::fs::create_dir(dir)?;
        }
        cgroup.apply(limits, pids)?;
        Ok(cgroup)
    }
}

/// One server's cgroup.
#[derive(Debug, Clone)]
pub struct ServerCgroup {
    version: CgroupVersion,
    dirs: Hierarchies,
    /// Previous CPU reading (nanoseconds used, when), for percentages.
    last_cpu: Arc<Mutex<Option<(u64, Instant)>>>,
}

impl ServerCgroup {
    fn apply(&self, limits: &Limits, pids: u32) -> std::io::Result<()> {
        let d = &self.dirs;
        let pids = limits.pids.unwrap_or(pids);
        std::fs::write(d.pids.join("pids.max"), pids.to_string())?;
        let memory = limits.memory_mib.map(|m| m * 1024 * 1024);
        let swap = limits.swap_mib.unwrap_or(0) * 1024 * 1024;
        match self.version {
            CgroupVersion::V2 => {
                if let Some(memory) = memory {
                    std::fs::write(d.memory.join("memory.max"), memory.to_string())?;
                    write_if_present(&d.memory.join("memory.swap.max"), &swap.to_string())?;
                }
                if let Some(cpu) = limits.cpu_percent {
                    let quota = u64::from(cpu) * CPU_PERIOD_US / 100;
                    std::fs::write(d.cpu.join("cpu.max"), format!("{quota} {CPU_PERIOD_US}"))?;
                }
            }
            CgroupVersion::V1 => {
                if let Some(memory) = memory {
                    std::fs::write(d.memory.join("memory.limit_in_bytes"), memory.to_string())?;
                    let total = (memory + swap).to_string();
                    write_if_present(&d.memory.join("memory.memsw.limit_in_bytes"), &total)?;
                }
                if let Some(cpu) = limits.cpu_percent {
                    let quota = u64::from(cpu) * CPU_PERIOD_US / 100;
                    std::fs::write(d.cpu.join("cpu.cfs_period_us"), CPU_PERIOD_US.to_string())?;
                    std::fs::write(d.cpu.join("cpu.cfs_quota_us"), quota.to_string())?;
                }
            }
        }
        Ok(())
    }

    /// The `cgroup.procs` files a process writes itself into to join.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs
            .dirs()
            .into_iter()
            .map(|d| d.join("cgroup.procs"))
            .collect()
    }

    /// Whether the kernel killed a process of this cgroup for lack of memory.
    pub fn oom_killed(&self) -> bool {
        let file = match self.version {
            CgroupVersion::V2 => "memory.events",
            CgroupVersion::V1 => "memory.oom_control",
        };
        read_key(&self.dirs.memory.join(file), "oom_kill").is_some_and(|n| n > 0)
    }

    /// CPU since the previous call, memory in use (without reclaimable file cache) and
    /// tasks.
    pub fn usage(&self) -> Usage {
        let d = &self.dirs;
        let (cpu_ns, memory) = match self.version {
            CgroupVersion::V2 => (
                read_key(&d.cpu.join("cpu.stat"), "usage_usec").map(|us| us * 1000),
                read_number(&d.memory.join("memory.current")),
            ),
            CgroupVersion::V1 => (
                read_number(&d.cpuacct.join("cpuacct.usage")),
                read_number(&d.memory.join("memory.usage_in_bytes")),
            ),
        };
        let inactive_key = match self.version {
            CgroupVersion::V2 => "inactive_file",
            CgroupVersion::V1 => "total_inactive_file",
        };
        let inactive = read_key(&d.memory.join("memory.stat"), inactive_key).unwrap_or(0);
        let now = Instant::now();
        let mut last = self.last_cpu.lock().unwrap_or_else(|e| e.into_inner());
        let cpu_percent = match (cpu_ns, *last) {
            (Some(used), Some((before, at))) if used >= before => {
                let wall = now.duration_since(at).as_nanos().max(1) as f64;
                (used - before) as f64 / wall * 100.0
            }
            _ => 0.0,
        };
        if let Some(used) = cpu_ns {
            *last = Some((used, now));
        }
        Usage {
            cpu_percent,
            memory_bytes: memory.unwrap_or(0).saturating_sub(inactive),
            processes: read_number(&d.pids.join("pids.current")).unwrap_or(0) as u32,
            network: None,
        }
    }

    /// PIDs of the processes in the cgroup.
    pub fn pids(&self) -> Vec<u32> {
        std::fs::read_to_string(self.dirs.pids.join("cgroup.procs"))
            .map(|text| text.lines().filter_map(|l| l.trim().parse().ok()).collect())
            .unwrap_or_default()
    }

    /// SIGKILL every process in the cgroup.
    pub fn kill_all(&self) {
        for pid in self.pids() {
            if let Ok(raw) = i32::try_from(pid) {
                let _ = kill(Pid::from_raw(raw), Signal::SIGKILL);
            }
        }
    }

    /// Kill what is left and remove the cgroup (a missing one is not an error).
    pub fn remove(&self) -> std::io::Result<()> {
        if !self.dirs.pids.exists() && !self.dirs.memory.exists() {
            return Ok(());
        }
        let deadline = Instant::now() + EMPTY_WAIT;
        loop {
            self.kill_all();
            let mut busy = None;
            for dir in self.dirs.dirs() {
                match std::fs::remove_dir(dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => busy = Some(e),
                }
            }
            match busy {
                None => return Ok(()),
                Some(e) if Instant::now() >= deadline => return Err(e),
                Some(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

fn write_if_present(path: &Path, value: &str) -> std::io::Result<()> {
    match std::fs::write(path, value) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn read_number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The value of `key` in a flat-keyed cgroup file (`key value` lines).
fn read_key(path: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    //! The unified hierarchy cannot be had on the v1/hybrid machines the suite runs on
    //! (every controller is bound to v1), so these check what is written to and read from
    //! a directory laid out like one; the v1 path runs against the kernel in the
    //! integration tests.
    use super::*;

    fn v2_tree() -> tempfile::TempDir {
        let mount = tempfile::tempdir().expect("tempdir");
        std::fs::write(mount.path().join("cgroup.controllers"), "cpu memory pids\n")
            .expect("write");
        mount
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn on_v2_controllers_are_enabled_down_to_the_servers_and_limits_use_v2_files() {
        let mount = v2_tree();
        let cgroups = Cgroups::detect_in(mount.path(), Path::new("cap/agent")).expect("detect");
        assert_eq!(cgroups.version(), CgroupVersion::V2);
        for dir in ["", "cap", "cap/agent"] {
            let control = mount.path().join(dir).join("cgroup.subtree_control");
            assert_eq!(
                read(&control),
                "+memory +cpu +pids",
                "{}",
                control.display()
            );
        }
        let server = Uuid::new_v4();
        let limits = Limits {
            memory_mib: Some(256),
            swap_mib: Some(64),
            cpu_percent: Some(150),
            pids: Some(100),
            ..Limits::default()
        };
        let dir = mount.path().join("cap/agent").join(server.to_string());
        // The kernel creates the interface files; here the test does.
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("memory.swap.max"), "max").expect("write");
        let cgroup = cgroups.of(server);
        cgroup.apply(&limits, 4096).expect("apply");
        assert_eq!(read(&dir.join("memory.max")), (256u64 << 20).to_string());
        assert_eq!(
            read(&dir.join("memory.swap.max")),
            (64u64 << 20).to_string()
        );
        assert_eq!(read(&dir.join("cpu.max")), "150000 100000");
        assert_eq!(read(&dir.join("pids.max")), "100");
        assert_eq!(cgroup.procs_files(), vec![dir.join("cgroup.procs")]);
    }

    #[test]
    fn on_v2_usage_and_oom_kills_come_from_v2_files() {
        let mount = v2_tree();
        let cgroups = Cgroups::detect_in(mount.path(), Path::new("cap")).expect("detect");
        let server = Uuid::new_v4();
        let dir = mount.path().join("cap").join(server.to_string());
        std::fs::create_dir_all(&dir).expect("dir");
        let cgroup = cgroups.of(server);
        std::fs::write(dir.join("cpu.stat"), "usage_usec 1000\nuser_usec 600\n").expect("write");
        std::fs::write(dir.join("memory.current"), "10485760\n").expect("write");
        std::fs::write(dir.join("memory.stat"), "anon 1\ninactive_file 2097152\n").expect("write");
        std::fs::write(dir.join("pids.current"), "7\n").expect("write");
        std::fs::write(dir.join("memory.events"), "low 0\noom 1\noom_kill 0\n").expect("write");
        let first = cgroup.usage();
        assert_eq!(
            first.memory_bytes,
            8 << 20,
            "reclaimable file cache is not counted"
        );
        assert_eq!(first.processes, 7);
        assert!(
            !cgroup.oom_killed(),
            "an OOM event without a kill is not a kill"
        );
        std::fs::write(dir.join("cpu.stat"), "usage_usec 500000\n").expect("write");
        assert!(cgroup.usage().cpu_percent > 0.0);
        std::fs::write(dir.join("memory.events"), "oom 2\noom_kill 1\n").expect("write");
        assert!(cgroup.oom_killed());
    }

    #[test]
    fn a_cgroup_root_must_stay_below_the_mount() {
        let mount = v2_tree();
        for parent in ["/abs", "../up", "a/../../b"] {
            let err = Cgroups::detect_in(mount.path(), Path::new(parent)).expect_err(parent);
            assert!(err.contains("relative path"), "{err}");
        }
    }
}
