//! The stats sampler: once per interval, CPU and memory of every running server's process
//! tree (all processes in its session), plus cached disk usage.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cap_protocol::server::ServerStats;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};
use tokio_util::sync::CancellationToken;

use super::Supervisor;

#[derive(Default, Clone, Copy)]
struct Usage {
    cpu: f64,
    memory: u64,
    processes: u32,
}

/// Sample until `cancel` fires.
pub async fn run(supervisor: Arc<Supervisor>, cancel: CancellationToken) {
    let system = Arc::new(Mutex::new(System::new()));
    let interval = supervisor.shared.config.stats_interval;
    let disk_age = supervisor.shared.config.disk_scan_interval;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let targets: Vec<_> = supervisor
            .servers()
            .into_iter()
            .filter_map(|s| s.game_process().map(|p| (s, p)))
            .collect();
        if targets.is_empty() {
            continue;
        }
        let sessions: Vec<u32> = targets.iter().map(|(_, (pid, _))| *pid).collect();
        let system = system.clone();
        let usage = tokio::task::spawn_blocking(move || sample(&system, &sessions)).await;
        let Ok(usage) = usage else { continue };
        for (server, (pid, started)) in targets {
            let limits = server.defined().definition.limits.clone();
            let found = usage.get(&pid).copied().unwrap_or_default();
            server.record_stats(ServerStats {
                cpu_percent: (found.cpu * 10.0).round() / 10.0,
                memory_bytes: found.memory,
                memory_limit_bytes: limits.memory_mib.map(|m| m * 1024 * 1024),
                disk_bytes: server.disk.current(disk_age),
                disk_limit_bytes: limits.disk_mib.map(|m| m * 1024 * 1024),
                uptime_seconds: started.elapsed().as_secs(),
                process_count: found.processes,
            });
        }
    }
}

/// Sum CPU and resident memory of all processes per session id.
fn sample(system: &Mutex<System>, sessions: &[u32]) -> HashMap<u32, Usage> {
    let mut system = system.lock().unwrap_or_else(|e| e.into_inner());
    system.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing().with_cpu().with_memory(),
    );
    let mut usage: HashMap<u32, Usage> = sessions.iter().map(|s| (*s, Usage::default())).collect();
    for process in system.processes().values() {
        let Some(session) = process.session_id().map(Pid::as_u32) else {
            continue;
        };
        if let Some(entry) = usage.get_mut(&session) {
            entry.cpu += f64::from(process.cpu_usage());
            entry.memory += process.memory();
            entry.processes += 1;
        }
    }
    usage
}
