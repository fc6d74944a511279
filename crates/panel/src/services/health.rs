//! Health and resource use: the `HealthStatus` report (database round-trip, nodes
//! by status, uptime), the panel process's own memory and CPU, and the fleet overview.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use sea_orm::ConnectionTrait;
use serde::Serialize;
use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};

use crate::error::{Error, Result};
use crate::repo;

/// The service name in every health report.
pub const SERVICE: &str = "ctrl-alt-play-panel";
/// How long the database may take to answer `SELECT 1` before it counts as down.
pub const DATABASE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Everything answers.
    Healthy,
    /// The panel works, but some nodes are offline or degraded.
    Degraded,
    /// The panel cannot do its job: the database does not answer.
    Unhealthy,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct HealthStatus {
    pub service: &'static str,
    pub status: Status,
    pub timestamp: DateTime<Utc>,
    pub details: HealthDetails,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthDetails {
    /// Whether the database answered in time.
    pub database: bool,
    pub database_latency_ms: Option<f64>,
    /// Nodes by the status their agent last reported; absent when the database is down.
    pub agents: Option<AgentCounts>,
    /// Seconds since the panel started.
    pub uptime: u64,
}

/// Nodes by the `status` the agent connection keeps up to date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct AgentCounts {
    pub total: u64,
    pub online: u64,
    pub offline: u64,
    pub degraded: u64,
    pub unknown: u64,
}

impl AgentCounts {
    /// Whether any node is known to be in trouble.
    pub fn any_impaired(&self) -> bool {
        self.offline > 0 || self.degraded > 0
    }
}

pub async fn check(db: &impl ConnectionTrait, uptime: u64) -> HealthStatus {
    let started = Instant::now();
    let reachable = match tokio::time::timeout(DATABASE_TIMEOUT, repo::monitoring::ping(db)).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: database round-trip failed");
            false
        }
        Err(_) => {
            tracing::warn!("health check: database did not answer in time");
            false
        }
    };
    let latency = started.elapsed();
    let agents = if reachable {
        agent_counts(db)
            .await
            .inspect_err(|e| tracing::warn!(error = %e, "health check: counting nodes failed"))
            .ok()
    } else {
        None
    };
    let status = match &agents {
        _ if !reachable => Status::Unhealthy,
        Some(counts) if !counts.any_impaired() => Status::Healthy,
        _ => Status::Degraded,
    };
    HealthStatus {
        service: SERVICE,
        status,
        timestamp: Utc::now(),
        details: HealthDetails {
            database: reachable,
            database_latency_ms: reachable.then_some(latency.as_secs_f64() * 1000.0),
            agents,
            uptime,
        },
    }
}

pub async fn agent_counts(db: &impl ConnectionTrait) -> Result<AgentCounts> {
    let mut counts = AgentCounts::default();
    for row in repo::monitoring::node_status_counts(db).await? {
        let n = u64::try_from(row.count).unwrap_or_default();
        counts.total += n;
        match row.status.as_str() {
            "online" => counts.online += n,
            "offline" => counts.offline += n,
            "degraded" => counts.degraded += n,
            _ => counts.unknown += n,
        }
    }
    Ok(counts)
}

/// The panel process's own resource use.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProcessStats {
    pub pid: u32,
    pub rss_bytes: u64,
    pub virtual_bytes: u64,
    /// Percent of one core since the previous sample (can exceed 100 on several cores).
    pub cpu_percent: f32,
}

/// Samples the current process. CPU use is measured between consecutive samples, so the
/// very first call waits the minimum interval sysinfo needs for a meaningful figure.
pub async fn process_stats() -> Result<ProcessStats> {
    static SAMPLER: OnceLock<Mutex<Option<System>>> = OnceLock::new();
    let pid = sysinfo::get_current_pid().map_err(Error::internal)?;
    tokio::task::spawn_blocking(move || {
        let mut guard = SAMPLER
            .get_or_init(|| Mutex::new(None))
            .lock()
            .map_err(|_| Error::internal("process sampler poisoned"))?;
        let refresh = |system: &mut System| {
            system.refresh_processes_specifics(
                ProcessesToUpdate::Some(&[pid]),
                true,
                ProcessRefreshKind::nothing().with_memory().with_cpu(),
            );
        };
        let system = guard.get_or_insert_with(|| {
            let mut system = System::new();
            refresh(&mut system);
            std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
            system
        });
        refresh(system);
        let process = system
            .process(pid)
            .ok_or_else(|| Error::internal("the panel process is not visible to itself"))?;
        Ok(ProcessStats {
            pid: pid.as_u32(),
            rss_bytes: process.memory(),
            virtual_bytes: process.virtual_memory(),
            cpu_percent: process.cpu_usage(),
        })
    })
    .await
    .map_err(Error::internal)?
}

/// One node with its capacity and its servers by state.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeOverview {
    pub id: String,
    pub name: String,
    pub status: String,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub memory_mb: i64,
    pub disk_mb: i64,
    pub servers: ServerCounts,
    /// What the node's agent reports about its machine (online nodes only).
    pub resources: Option<cap_protocol::system::SystemInfo>,
}

/// Servers by state, with their total.
#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct ServerCounts {
    pub total: u64,
    pub states: BTreeMap<String, u64>,
}

impl ServerCounts {
    fn add(&mut self, state: String, count: u64) {
        self.total += count;
        *self.states.entry(state).or_default() += count;
    }
}

/// Every node with its servers, and all servers by state (`unassigned`: servers whose
/// node was deleted).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Fleet {
    pub nodes: Vec<NodeOverview>,
    pub servers: ServerCounts,
    pub unassigned: ServerCounts,
}

pub async fn fleet(db: &impl ConnectionTrait) -> Result<Fleet> {
    let mut per_node: BTreeMap<String, ServerCounts> = BTreeMap::new();
    let mut servers = ServerCounts::default();
    let mut unassigned = ServerCounts::default();
    for row in repo::monitoring::server_state_counts(db).await? {
        let count = u64::try_from(row.count).unwrap_or_default();
        servers.add(row.state.clone(), count);
        match row.node_id {
            Some(node) => per_node.entry(node).or_default().add(row.state, count),
            None => unassigned.add(row.state, count),
        }
    }
    let nodes = repo::monitoring::nodes(db)
        .await?
        .into_iter()
        .map(|node| NodeOverview {
            servers: per_node.remove(&node.id).unwrap_or_default(),
            id: node.id,
            name: node.name,
            status: node.status,
            last_seen_at: node.last_seen_at,
            memory_mb: node.memory_mb,
            disk_mb: node.disk_mb,
            resources: None,
        })
        .collect();
    Ok(Fleet {
        nodes,
        servers,
        unassigned,
    })
}

/// Asks every online node's agent for its machine's resources, concurrently, waiting at
/// most `timeout` for each.
pub async fn fill_resources(
    hub: &crate::agents::AgentHub,
    nodes: &mut [NodeOverview],
    timeout: std::time::Duration,
) {
    let queries = nodes.iter().map(|node| {
        let client = hub.online_client(&node.id).ok();
        async move {
            match client {
                Some(client) => tokio::time::timeout(timeout, client.system())
                    .await
                    .ok()
                    .and_then(|r| r.ok()),
                None => None,
            }
        }
    });
    let answers = futures_util::future::join_all(queries).await;
    for (node, resources) in nodes.iter_mut().zip(answers) {
        node.resources = resources;
    }
}
