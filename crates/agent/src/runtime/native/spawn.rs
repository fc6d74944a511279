//! Spawning game and install processes in their own session, cgroups and user, and
//! signalling them.

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::{Gid, Pid, Uid};
use serde::{Deserialize, Serialize};
use tokio::process::{Child, Command};

use super::users::Identity;

/// How often [`wait_group_gone`] checks the process group.
const GROUP_POLL: Duration = Duration::from_millis(20);

/// Directories searched after the agent's own when a definition sets no `PATH`: the
/// usual system ones and Debian's games directory (`/usr/games/minetestserver`).
pub const SYSTEM_PATH: &str = "/usr/local/bin:/usr/bin:/bin:/usr/games";

/// `PATH` for games and install scripts whose environment has none: the directory of the
/// running `cap-agent` executable (so tools shipped beside it, like `cap-testgame`, are
/// found by name), then [`SYSTEM_PATH`].
pub fn default_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let agent_dir = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
            .filter(|dir| !dir.to_string_lossy().contains(':'));
        match agent_dir {
            Some(dir) => format!("{}:{SYSTEM_PATH}", dir.display()),
            None => SYSTEM_PATH.to_owned(),
        }
    })
}

/// The environment a game or install script gets: exactly its definition's variables,
/// plus `PATH` ([`default_path`]) and `HOME` (the server directory) when those are
/// missing, and always `SERVER_DIR`, the absolute path of the server directory.
pub fn environment(
    defined: &BTreeMap<String, String>,
    server_dir: &Path,
) -> BTreeMap<String, String> {
    let dir = std::path::absolute(server_dir)
        .unwrap_or_else(|_| server_dir.to_path_buf())
        .display()
        .to_string();
    let mut env = defined.clone();
    env.entry("PATH".into())
        .or_insert_with(|| default_path().to_owned());
    env.entry("HOME".into()).or_insert_with(|| dir.clone());
    env.insert("SERVER_DIR".into(), dir);
    env
}

/// Where a process's standard streams go.
pub enum Streams {
    /// stdout and stderr on pipes of their own; stdin piped when `stdin`.
    Piped {
        /// Whether console input is wanted.
        stdin: bool,
    },
    /// stdin piped, stdout and stderr both into this pipe (in the order written).
    Merged(OwnedFd),
}

/// Who a process runs as and which cgroup it joins.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Isolation {
    /// The user (none: the agent's own).
    pub identity: Option<Identity>,
    /// `cgroup.procs` files to join before the program runs.
    pub cgroup_procs: Vec<PathBuf>,
}

/// Start `program args…` in `cwd` with exactly `env`, piped stdio, in a new session (so
/// its PID is also its process group id and every descendant can be signalled at once).
/// Between fork and exec the child joins its cgroups (so nothing it runs escapes the
/// limits), drops to its user and sets no-new-privileges.
pub fn spawn(
    program: &str,
    args: &[&str],
    cwd: &Path,
    env: &BTreeMap<String, String>,
    streams: Streams,
    isolation: &Isolation,
) -> std::io::Result<Child> {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(env)
        .kill_on_drop(false);
    match streams {
        Streams::Piped { stdin } => command
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
        Streams::Merged(out) => command
            .stdin(Stdio::piped())
            .stdout(Stdio::from(out.try_clone()?))
            .stderr(Stdio::from(out)),
    };
    let procs = isolation
        .cgroup_procs
        .iter()
        .map(|path| std::fs::OpenOptions::new().write(true).open(path))
        .collect::<std::io::Result<Vec<_>>>()?;
    let fds: Vec<RawFd> = procs.iter().map(AsRawFd::as_raw_fd).collect();
    let ids = isolation
        .identity
        .as_ref()
        .map(|i| (Uid::from_raw(i.uid), Gid::from_raw(i.gid)));
    // SAFETY: the closure runs between fork and exec and only makes async-signal-safe
    // system calls (setsid, write, setgroups, setgid, setuid, prctl) on values prepared
    // before the fork; it allocates nothing and touches no lock.
    unsafe {
        command.pre_exec(move || {
            nix::unistd::setsid()?;
            for fd in &fds {
                // Writing 0 moves the writing process itself.
                if libc::write(*fd, b"0".as_ptr().cast(), 1) != 1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if let Some((uid, gid)) = ids {
                nix::unistd::setgroups(&[])?;
                nix::unistd::setgid(gid)?;
                nix::unistd::setuid(uid)?;
            }
            nix::sys::prctl::set_no_new_privs()?;
            Ok(())
        });
    }
    let child = command.spawn();
    drop(procs);
    child
}

/// Send `signal` to the process group `pgid`; a group that no longer exists is not an error.
pub fn signal_group(pgid: u32, signal: Signal) -> std::io::Result<()> {
    let Ok(raw) = i32::try_from(pgid) else {
        return Err(std::io::Error::other("pid out of range"));
    };
    match killpg(Pid::from_raw(raw), signal) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Wait until no process of group `pgid` is left, or `deadline` passes (polling; the
/// group's members need not be our children).
pub async fn wait_group_gone(pgid: u32, deadline: Instant) {
    let Ok(raw) = i32::try_from(pgid) else { return };
    while killpg(Pid::from_raw(raw), None).is_ok() && Instant::now() < deadline {
        tokio::time::sleep(GROUP_POLL).await;
    }
}

/// Exit code, or minus the signal number for a process killed by a signal.
pub fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| -s))
        .unwrap_or(-1)
}

/// Kernel start time of `pid` in clock ticks since boot (`/proc/<pid>/stat` field 22).
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields after it follow the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_only_adds_path_home_and_server_dir() {
        let mut defined = BTreeMap::new();
        defined.insert("PATH".to_owned(), "/opt/bin".to_owned());
        defined.insert("SERVER_PORT".to_owned(), "25565".to_owned());
        defined.insert("SERVER_DIR".to_owned(), "/mnt/server".to_owned());
        let env = environment(&defined, Path::new("/srv/x"));
        assert_eq!(env.len(), 4);
        assert_eq!(env["PATH"], "/opt/bin");
        assert_eq!(env["HOME"], "/srv/x");
        assert_eq!(env["SERVER_DIR"], "/srv/x");
        let relative = environment(&BTreeMap::new(), Path::new("servers/y"));
        assert!(relative["SERVER_DIR"].starts_with('/'));
        assert!(relative["SERVER_DIR"].ends_with("/servers/y"));
        assert!(relative["PATH"].ends_with(SYSTEM_PATH));
        let own_dir = std::env::current_exe().unwrap();
        let own_dir = own_dir.parent().unwrap().display().to_string();
        assert!(relative["PATH"].starts_with(&format!("{own_dir}:")));
    }

    #[test]
    fn own_start_time_is_readable() {
        assert!(start_ticks(std::process::id()).is_some());
        assert!(start_ticks(u32::MAX).is_none());
    }
}
