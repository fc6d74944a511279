//! One panel per data directory: an exclusive `flock` on `<data-dir>/panel.lock`, held
//! while the panel serves. A second panel on the same directory would share the SQLite
//! file and the local agent; it refuses to start instead. The kernel releases the lock
//! when the process ends, however it ends.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Result};

/// Name of the lock file inside the data directory.
pub const LOCK_FILE: &str = "panel.lock";

/// Takes an exclusive lock on `path` (creating the file) without waiting: `None` when
/// another process holds it.
pub fn try_lock(path: &Path) -> std::io::Result<Option<Flock<File>>> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(Some(lock)),
        Err((_, Errno::EWOULDBLOCK)) => Ok(None),
        Err((_, errno)) => Err(errno.into()),
    }
}

/// The PID a lock holder wrote into its lock file, if readable.
pub fn holder(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The held lock on the panel's data directory; dropping it releases the directory.
#[derive(Debug)]
pub struct DataDirLock {
    _lock: Flock<File>,
}

impl DataDirLock {
    /// Locks `data_dir` (which must exist), or fails at once naming the panel holding it.
    pub fn acquire(data_dir: &Path) -> Result<DataDirLock> {
        let path = data_dir.join(LOCK_FILE);
        let cannot =
            |e: std::io::Error| Error::Startup(format!("cannot lock {}: {e}", path.display()));
        let Some(mut lock) = try_lock(&path).map_err(cannot)? else {
            let pid = holder(&path)
                .map(|pid| format!(" (pid {pid})"))
                .unwrap_or_default();
            return Err(Error::Startup(format!(
                "another cap-panel{pid} is already using the data directory {}; \
                 stop it first or choose another --data-dir",
                data_dir.display()
            )));
        };
        // The PID is informational (for the message above); the lock is what counts.
        lock.set_len(0)
            .and_then(|()| writeln!(lock, "{}", std::process::id()))
            .map_err(cannot)?;
        Ok(DataDirLock { _lock: lock })
    }
}
