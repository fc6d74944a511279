//! The stats sampler: once per interval, CPU and memory of every running server (as its
//! runtime measures them), plus cached disk usage.

use std::sync::Arc;

use cap_protocol::server::ServerStats;
use tokio_util::sync::CancellationToken;

use super::{quota, Supervisor};

/// Sample until `cancel` fires.
pub async fn run(supervisor: Arc<Supervisor>, cancel: CancellationToken) {
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
        let controls: Vec<_> = targets.iter().map(|(_, (c, _))| c.clone()).collect();
        let shared = supervisor.shared.clone();
        let usage = tokio::task::spawn_blocking(move || shared.runtimes.usage(&controls)).await;
        let Ok(usage) = usage else { continue };
        for ((server, (_, started)), found) in targets.into_iter().zip(usage) {
            let limits = server.defined().definition.limits.clone();
            let (disk_bytes, disk_limit_bytes) = (
                server.disk.current(disk_age),
                limits.disk_mib.map(|m| m * 1024 * 1024),
            );
            server.record_stats(ServerStats {
                cpu_percent: (found.cpu_percent * 10.0).round() / 10.0,
                memory_bytes: found.memory_bytes,
                memory_limit_bytes: limits.memory_mib.map(|m| m * 1024 * 1024),
                disk_bytes,
                disk_limit_bytes,
                uptime_seconds: started.elapsed().as_secs(),
                process_count: found.processes,
                network_rx_bytes: found.network.map(|(rx, _)| rx),
                network_tx_bytes: found.network.map(|(_, tx)| tx),
                players: server.players(),
            });
            if let Some(reason) = quota::exceeded(disk_bytes, disk_limit_bytes) {
                server.stop_because(reason);
            }
        }
    }
}
