//! CPU, memory, processes and network of a container, from the engine's stats.

use std::sync::{Arc, Mutex};

use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

use crate::runtime::Usage;

/// The CPU counters of the previous sample: the container's and the whole system's, ns.
pub type CpuSample = Arc<Mutex<Option<(u64, u64)>>>;

/// One sample of `container` (CPU from the difference to the previous one).
pub async fn sample(docker: &Docker, container: &str, previous: &CpuSample) -> Usage {
    let options = StatsOptionsBuilder::default()
        .stream(false)
        .one_shot(true)
        .build();
    let mut stats = docker.stats(container, Some(options));
    match stats.next().await {
        Some(Ok(found)) => usage(&found, previous),
        _ => Usage::default(),
    }
}

fn usage(stats: &ContainerStatsResponse, previous: &CpuSample) -> Usage {
    let cpu = stats.cpu_stats.as_ref();
    let total = cpu
        .and_then(|c| c.cpu_usage.as_ref())
        .and_then(|u| u.total_usage)
        .unwrap_or(0);
    let system = cpu.and_then(|c| c.system_cpu_usage).unwrap_or(0);
    let cpus = cpu.and_then(|c| c.online_cpus).unwrap_or(1).max(1);
    let mut last = previous.lock().unwrap_or_else(|e| e.into_inner());
    let cpu_percent = match *last {
        Some((total_before, system_before)) if system > system_before => {
            let used = total.saturating_sub(total_before) as f64;
            used / (system - system_before) as f64 * f64::from(cpus) * 100.0
        }
        _ => 0.0,
    };
    *last = Some((total, system));
    let (rx, tx) = stats
        .networks
        .iter()
        .flat_map(|n| n.values())
        .fold((0, 0), |(rx, tx), n| {
            (rx + n.rx_bytes.unwrap_or(0), tx + n.tx_bytes.unwrap_or(0))
        });
    Usage {
        cpu_percent,
        memory_bytes: stats.memory_stats.as_ref().map(memory).unwrap_or(0),
        processes: stats
            .pids_stats
            .as_ref()
            .and_then(|p| p.current)
            .and_then(|p| u32::try_from(p).ok())
            .unwrap_or(0),
        network: Some((rx, tx)),
    }
}

/// Memory in use without the page cache that can be dropped (as `docker stats` shows).
fn memory(stats: &bollard::models::ContainerMemoryStats) -> u64 {
    let usage = stats.usage.unwrap_or(0);
    let inactive = stats.stats.as_ref().and_then(|s| {
        s.get("total_inactive_file")
            .or_else(|| s.get("inactive_file"))
    });
    match inactive {
        Some(&inactive) if inactive < usage => usage - inactive,
        _ => usage,
    }
}
