//! Node capacity: the memory and disk limits of a node's servers together stay within
//! what the node declares, plus its overallocation percent (0: exactly the capacity,
//! -1: no check). A server without a memory or disk limit cannot be placed on a node
//! whose capacity is checked: it could take everything.

use crate::db::entities::node;
use crate::error::{Error, FieldErrors, Result};
use crate::repo;
use crate::services::servers::LimitsSpec;
use crate::state::AppState;

/// Refuses `limits` for a server on `node` (leaving out the server `resized`, whose old
/// limits are replaced) with 422 and, per field, how much is left.
pub async fn check(
    state: &AppState,
    node: &node::Model,
    limits: LimitsSpec,
    resized: Option<&str>,
) -> Result<()> {
    if node.overallocate_percent < 0 {
        return Ok(());
    }
    let (memory, disk) = repo::servers::committed(state.db(), &node.id, resized).await?;
    let mut details = FieldErrors::new();
    for (field, what, wanted, used, capacity) in [
        (
            "limits.memoryMb",
            "memory",
            limits.memory_mb,
            memory,
            node.memory_mb,
        ),
        ("limits.diskMb", "disk", limits.disk_mb, disk, node.disk_mb),
    ] {
        let allowed = capacity.saturating_mul(100 + i64::from(node.overallocate_percent)) / 100;
        let left = allowed.saturating_sub(used).max(0);
        let problem = if wanted == 0 {
            format!(
                "node {} has a limited {what}: give the server a {what} limit \
                 (at most {left} MB is left)",
                node.name
            )
        } else if wanted > left {
            format!(
                "node {} has {left} MB of {what} left for this server, {wanted} MB asked",
                node.name
            )
        } else {
            continue;
        };
        details.insert(field.to_owned(), vec![problem]);
    }
    Error::unless_invalid(details)
}
