//! Usage of process trees found by scanning every process on the host (used where the
//! server has no cgroup to read).

use std::collections::HashMap;

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use crate::runtime::Usage;

/// Keeps the previous scan, which CPU percentages are computed against.
#[derive(Default)]
pub struct Scanner {
    system: System,
}

impl Scanner {
    /// Sum CPU and resident memory of all processes per session id, in `sessions` order.
    pub fn sample(&mut self, sessions: &[u32]) -> Vec<Usage> {
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing().with_cpu().with_memory(),
        );
        let mut usage: HashMap<u32, Usage> =
            sessions.iter().map(|s| (*s, Usage::default())).collect();
        for process in self.system.processes().values() {
            let Some(session) = process.session_id().map(Pid::as_u32) else {
                continue;
            };
            if let Some(entry) = usage.get_mut(&session) {
                entry.cpu_percent += f64::from(process.cpu_usage());
                entry.memory_bytes += process.memory();
                entry.processes += 1;
            }
        }
        sessions
            .iter()
            .map(|s| usage.get(s).copied().unwrap_or_default())
            .collect()
    }
}
