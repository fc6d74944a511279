//! The discovery sweep: every interval, probe every known node's
//! health endpoint concurrently, connect nodes this panel does not know yet, mark nodes
//! that stop answering, and wake the event connection of nodes that answer again.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use schemars::JsonSchema;
use serde::Serialize;

use super::{AgentHub, NodeStatus};
use crate::repo;

/// The outcome of the last sweep, shown under `/api/agents/discovery`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveryReport {
    pub last_run_at: Option<DateTime<Utc>>,
    pub duration_ms: u64,
    pub probed: usize,
    pub online: usize,
    pub degraded: usize,
    pub offline: usize,
    /// Nodes found in the database that this panel was not connected to yet.
    pub registered: Vec<String>,
    /// Nodes whose status changed in this sweep, as `name: old → new`.
    pub changes: Vec<String>,
}

pub(super) fn spawn(hub: AgentHub, interval: Duration) {
    let stop = hub.inner.shutdown.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => sweep(&hub).await,
            }
        }
    });
}

/// One sweep; public to the crate so tests and the API can trigger it.
pub(crate) async fn sweep(hub: &AgentHub) {
    let started = Instant::now();
    let mut report = DiscoveryReport {
        last_run_at: Some(Utc::now()),
        ..DiscoveryReport::default()
    };
    match repo::nodes::all(hub.db()).await {
        Ok(nodes) => {
            for node in nodes.iter().filter(|n| !hub.is_registered(&n.id)) {
                match hub.register(node) {
                    Ok(()) => report.registered.push(node.name.clone()),
                    Err(e) => tracing::warn!(node = %node.name, "cannot register node: {e}"),
                }
            }
        }
        Err(e) => tracing::warn!("discovery cannot list nodes: {e}"),
    }
    let links = hub.links();
    report.probed = links.len();
    let probes = links.into_iter().map(|(id, client, before)| async move {
        let healthy = client.health().await.is_ok();
        (id, client.endpoint().node_name.clone(), before, healthy)
    });
    for (id, name, before, healthy) in join_all(probes).await {
        let after = match (healthy, before) {
            (true, NodeStatus::Online) => NodeStatus::Online,
            (true, _) => {
                hub.kick(&id);
                NodeStatus::Degraded
            }
            (false, _) => NodeStatus::Offline,
        };
        if after != NodeStatus::Online {
            hub.set_status_unless_online(&id, after).await;
        }
        if before != after {
            report
                .changes
                .push(format!("{name}: {} → {}", before.as_str(), after.as_str()));
        }
        match after {
            NodeStatus::Online => report.online += 1,
            NodeStatus::Degraded => report.degraded += 1,
            _ => report.offline += 1,
        }
    }
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    hub.set_discovery_report(report);
}
