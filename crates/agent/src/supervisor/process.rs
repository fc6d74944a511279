//! Spawning game and install processes in their own session, and signalling them.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{ExitStatus, Stdio};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

use cap_protocol::server::StopSignal;

/// `PATH` given to games whose environment has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The environment a game gets: exactly its definition's variables, plus `PATH` and
/// `HOME` (the server directory) when those are missing.
pub fn environment(
    defined: &BTreeMap<String, String>,
    server_dir: &Path,
) -> BTreeMap<String, String> {
    let mut env = defined.clone();
    env.entry("PATH".into())
        .or_insert_with(|| DEFAULT_PATH.into());
    env.entry("HOME".into())
        .or_insert_with(|| server_dir.display().to_string());
    env
}

/// Start `program args…` in `cwd` with exactly `env`, piped stdio, in a new session (so
/// its PID is also its process group id and every descendant can be signalled at once).
pub fn spawn(
    program: &str,
    args: &[&str],
    cwd: &Path,
    env: &BTreeMap<String, String>,
    stdin: bool,
) -> std::io::Result<Child> {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(env)
        .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(false);
    // SAFETY: the closure runs between fork and exec and only calls setsid(2), which is
    // async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            nix::unistd::setsid()
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
    command.spawn()
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

/// The nix signal for a stop signal.
pub fn to_signal(signal: StopSignal) -> Signal {
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
    fn environment_only_adds_path_and_home() {
        let mut defined = BTreeMap::new();
        defined.insert("PATH".to_owned(), "/opt/bin".to_owned());
        defined.insert("SERVER_PORT".to_owned(), "25565".to_owned());
        let env = environment(&defined, Path::new("/srv/x"));
        assert_eq!(env.len(), 3);
        assert_eq!(env["PATH"], "/opt/bin");
        assert_eq!(env["HOME"], "/srv/x");
    }

    #[test]
    fn own_start_time_is_readable() {
        assert!(start_ticks(std::process::id()).is_some());
        assert!(start_ticks(u32::MAX).is_none());
    }
}
