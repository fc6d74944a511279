//! One agent per data directory: an exclusive `flock` on `<data-dir>/agent.lock`, held
//! for the agent's lifetime. The kernel releases it when the process ends, however it
//! ends, and game processes do not inherit it (the file is opened close-on-exec).

use std::fs::File;
use std::io::Write;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::error::{AgentError, AgentResult};

/// Name of the lock file inside the data directory.
pub const LOCK_FILE: &str = "agent.lock";

/// The held lock; dropping it releases the directory.
#[derive(Debug)]
pub struct DataDirLock {
    _lock: Flock<File>,
}

impl DataDirLock {
    /// Lock `data_dir` (creating it), or fail at once naming the agent holding it.
    pub fn acquire(data_dir: &Path) -> AgentResult<Self> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| {
                AgentError::DataDirLocked(format!("cannot open {}: {e}", path.display()))
            })?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(mut lock) => {
                // The PID is only informational (for the message below); the lock is what counts.
                let _ = lock
                    .set_len(0)
                    .and_then(|_| writeln!(lock, "{}", std::process::id()));
                Ok(Self { _lock: lock })
            }
            Err((_, Errno::EWOULDBLOCK)) => {
                let holder = std::fs::read_to_string(&path)
                    .ok()
                    .map(|pid| pid.trim().to_owned())
                    .filter(|pid| !pid.is_empty())
                    .map(|pid| format!(" (pid {pid})"))
                    .unwrap_or_default();
                Err(AgentError::DataDirLocked(format!(
                    "another cap-agent{holder} is already using the data directory {}; \
                     stop it first or choose another --data-dir",
                    data_dir.display()
                )))
            }
            Err((_, errno)) => Err(AgentError::DataDirLocked(format!(
                "cannot lock {}: {errno}",
                path.display()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_fails_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path()).unwrap();
        let err = DataDirLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(&format!("(pid {})", std::process::id())),
            "{err}"
        );
        assert!(err.contains("already using the data directory"), "{err}");
        assert!(dir.path().join(LOCK_FILE).is_file());
        drop(first);
        DataDirLock::acquire(dir.path()).unwrap();
    }
}
