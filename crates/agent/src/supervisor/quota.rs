//! The disk quota of a server directory (`limits.diskMib`). While the game runs, every
//! stats sample compares the cached directory size (rescanned in the background every
//! `disk_scan_interval`, so the check costs nothing on its own) with the limit, and a
//! server over it is stopped; a start measures afresh and is refused while over.

use super::disk::DiskUsage;
use crate::error::{AgentError, AgentResult};

const MIB: u64 = 1024 * 1024;

/// The status message when `used` bytes exceed the limit, if they do.
pub fn exceeded(used: u64, limit_bytes: Option<u64>) -> Option<String> {
    let limit = limit_bytes?;
    (used > limit).then(|| {
        format!(
            "disk quota exceeded ({} MiB of {} MiB)",
            used.div_ceil(MIB),
            limit / MIB
        )
    })
}

/// Refuse a start while the directory is over `limit_mib` (measured now).
pub async fn refuse_start_over(disk: &DiskUsage, limit_mib: Option<u64>) -> AgentResult<()> {
    let Some(limit) = limit_mib.map(|m| m * MIB) else {
        return Ok(());
    };
    match exceeded(disk.measure().await, Some(limit)) {
        Some(message) => Err(AgentError::Conflict(format!(
            "cannot start: {message}; delete files to get under it first"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_usage_over_the_limit_is_reported() {
        assert_eq!(exceeded(5 * MIB, None), None);
        assert_eq!(exceeded(MIB, Some(MIB)), None);
        assert_eq!(
            exceeded(MIB + 1, Some(MIB)).as_deref(),
            Some("disk quota exceeded (2 MiB of 1 MiB)")
        );
    }
}
