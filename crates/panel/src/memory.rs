//! Handing freed memory back to the operating system.
//!
//! After a burst of short-lived allocations (thousands of console sockets closing) glibc's
//! allocator keeps the freed pages in the process. [`release_soon`] asks it to return
//! them, once for a whole burst: calls within [`SETTLE`] of each other share one trim.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long a burst may go on before its memory is trimmed.
const SETTLE: Duration = Duration::from_secs(2);

static SCHEDULED: AtomicBool = AtomicBool::new(false);

/// Returns freed heap memory to the OS a moment from now (needs a Tokio runtime).
pub fn release_soon() {
    if SCHEDULED.swap(true, Ordering::AcqRel) {
        return;
    }
    tokio::spawn(async {
        tokio::time::sleep(SETTLE).await;
        SCHEDULED.store(false, Ordering::Release);
        let _ = tokio::task::spawn_blocking(trim).await;
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
