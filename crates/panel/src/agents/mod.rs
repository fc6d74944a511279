//! The panel's side of the panel ↔ agent link (docs/architecture.md, "Panel ↔ agent
//! protocol"): one [`AgentClient`] and one
//! event connection per node, a live view of every server's state and stats, per-server
//! fan-out of console output to browsers, and the discovery sweep.

mod backups;
pub mod client;
mod discovery;
mod events;
mod questions;
pub mod tls;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use cap_protocol::server::{ServerState, ServerStats};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use client::{AgentClient, Endpoint};
pub use discovery::DiscoveryReport;
pub use events::state_name;
pub use questions::SftpAuthority;

use crate::db::entities::node;
use crate::error::{Error, Result};
use crate::secrets::Secrets;

/// How a node looks from the panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeStatus {
    /// Not probed yet.
    Unknown,
    /// Event stream connected.
    Online,
    /// Answers health checks but the event stream is down.
    Degraded,
    /// Does not answer.
    Offline,
}

impl NodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Unknown => "unknown",
            NodeStatus::Online => "online",
            NodeStatus::Degraded => "degraded",
            NodeStatus::Offline => "offline",
        }
    }
}

/// Something that happened to one server, for its console watchers.
#[derive(Debug, Clone)]
pub enum LiveEvent {
    Console(Arc<[String]>),
    Install(Arc<[String]>),
    State {
        state: ServerState,
        message: Option<String>,
    },
    Stats(ServerStats),
}

/// The last known state and stats of a server.
#[derive(Debug, Clone, Default)]
pub struct LiveServer {
    pub state: ServerState,
    pub stats: Option<ServerStats>,
    /// What the agent said with its last state report (a crash or install failure).
    pub message: Option<String>,
    /// The exit code behind the last state, when an exit caused it.
    pub exit_code: Option<i32>,
    /// The system user the node runs the server's processes as (`name (uid N)`).
    pub user: Option<String>,
}

/// Buffered events per server channel; a browser that falls further behind skips ahead.
const CHANNEL_CAPACITY: usize = 256;

struct NodeLink {
    client: AgentClient,
    status: NodeStatus,
    last_seen: Option<DateTime<Utc>>,
    /// The last-seen time the database holds.
    seen_persisted: Option<DateTime<Utc>>,
    reconnect: Arc<Notify>,
    stop: CancellationToken,
}

pub(crate) struct HubInner {
    db: DatabaseConnection,
    secrets: Secrets,
    nodes: RwLock<HashMap<String, NodeLink>>,
    servers: RwLock<HashMap<Uuid, LiveServer>>,
    /// The state each server has in the database, so unchanged states reported again
    /// (every snapshot after a reconnect or a panel restart) cost no write.
    persisted: RwLock<HashMap<Uuid, ServerState>>,
    channels: RwLock<HashMap<Uuid, broadcast::Sender<LiveEvent>>>,
    /// Servers whose backup just completed or failed (for retention).
    backups_finished: broadcast::Sender<Uuid>,
    discovery: RwLock<DiscoveryReport>,
    /// Bumped whenever a live state, stats sample or node status changes.
    live_epoch: AtomicU64,
    /// One lock per node, held while a port is chosen and claimed there.
    allocation_locks: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Answers the agents' SFTP questions.
    sftp: std::sync::OnceLock<Arc<dyn SftpAuthority>>,
    shutdown: CancellationToken,
}

/// Shared handle; cheap to clone.
#[derive(Clone)]
pub struct AgentHub {
    inner: Arc<HubInner>,
}

/// Reads a lock, recovering from poisoning (a panicked writer leaves valid data here).
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

impl AgentHub {
    pub fn new(db: DatabaseConnection, secrets: Secrets) -> AgentHub {
        AgentHub {
            inner: Arc::new(HubInner {
                db,
                secrets,
                nodes: RwLock::new(HashMap::new()),
                servers: RwLock::new(HashMap::new()),
                persisted: RwLock::new(HashMap::new()),
                channels: RwLock::new(HashMap::new()),
                backups_finished: broadcast::channel(CHANNEL_CAPACITY).0,
                discovery: RwLock::new(DiscoveryReport::default()),
                live_epoch: AtomicU64::new(0),
                allocation_locks: std::sync::Mutex::new(HashMap::new()),
                sftp: std::sync::OnceLock::new(),
                shutdown: CancellationToken::new(),
            }),
        }
    }

    /// Connects to every known node and starts the discovery sweep every `interval`.
    pub async fn start(&self, interval: Duration) -> Result<()> {
        let stored = crate::repo::servers::states(&self.inner.db).await?;
        write(&self.inner.persisted).extend(stored.into_iter().filter_map(|(id, state)| {
            let id = Uuid::parse_str(&id).ok()?;
            let state = serde_json::from_value(serde_json::Value::String(state)).ok()?;
            Some((id, state))
        }));
        for node in crate::repo::nodes::all(&self.inner.db).await? {
            if let Err(e) = self.register(&node) {
                tracing::warn!(node = %node.name, "cannot connect to node: {e}");
            }
        }
        discovery::spawn(self.clone(), interval);
        Ok(())
    }

    /// Installs what answers the agents' SFTP questions (once, before [`Self::start`]).
    pub fn set_sftp_authority(&self, authority: Arc<dyn SftpAuthority>) {
        let _ = self.inner.sftp.set(authority);
    }

    pub(crate) fn sftp_authority(&self) -> Option<Arc<dyn SftpAuthority>> {
        self.inner.sftp.get().cloned()
    }

    /// Stops every connection task.
    pub fn shutdown(&self) {
        self.inner.shutdown.cancel();
    }

    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    /// How to reach a node, with its token decrypted.
    pub fn endpoint(&self, node: &node::Model) -> Result<Endpoint> {
        Ok(Endpoint {
            node_name: node.name.clone(),
            base_url: format!("{}://{}:{}", node.scheme, node.address, node.port),
            token: self.inner.secrets.decrypt(&node.token_ciphertext)?,
            fingerprint: node.cert_fingerprint.clone(),
        })
    }

    /// (Re)connects to a node after it was created or changed.
    pub fn register(&self, node: &node::Model) -> Result<()> {
        let client = AgentClient::new(self.endpoint(node)?)?;
        let link = NodeLink {
            client: client.clone(),
            status: NodeStatus::Unknown,
            last_seen: node.last_seen_at,
            seen_persisted: node.last_seen_at,
            reconnect: Arc::new(Notify::new()),
            stop: self.inner.shutdown.child_token(),
        };
        let (reconnect, stop) = (link.reconnect.clone(), link.stop.clone());
        if let Some(old) = write(&self.inner.nodes).insert(node.id.clone(), link) {
            old.stop.cancel();
        }
        events::spawn(self.clone(), node.id.clone(), client, reconnect, stop);
        Ok(())
    }

    /// Disconnects from a deleted node.
    pub fn forget(&self, node_id: &str) {
        if let Some(link) = write(&self.inner.nodes).remove(node_id) {
            link.stop.cancel();
        }
    }

    pub fn is_registered(&self, node_id: &str) -> bool {
        read(&self.inner.nodes).contains_key(node_id)
    }

    /// The client for a node (whatever its status).
    pub fn client(&self, node_id: &str) -> Result<AgentClient> {
        read(&self.inner.nodes)
            .get(node_id)
            .map(|link| link.client.clone())
            .ok_or_else(|| {
                Error::AgentUnavailable("the node is not connected to this panel".into())
            })
    }

    /// The client for a node that is known to be reachable: offline nodes fail fast.
    pub fn online_client(&self, node_id: &str) -> Result<AgentClient> {
        let nodes = read(&self.inner.nodes);
        let link = nodes.get(node_id).ok_or_else(|| {
            Error::AgentUnavailable("the node is not connected to this panel".into())
        })?;
        match link.status {
            NodeStatus::Online | NodeStatus::Degraded => Ok(link.client.clone()),
            status => Err(Error::AgentUnavailable(format!(
                "node {} is {}{}; try again when it is back online",
                link.client.endpoint().node_name,
                status.as_str(),
                link.last_seen
                    .map(|t| format!(" (last seen {})", t.to_rfc3339()))
                    .unwrap_or_default()
            ))),
        }
    }

    pub fn status(&self, node_id: &str) -> NodeStatus {
        read(&self.inner.nodes)
            .get(node_id)
            .map_or(NodeStatus::Unknown, |link| link.status)
    }

    /// When this panel last heard from a node (its event stream answers pings).
    pub fn last_seen(&self, node_id: &str) -> Option<DateTime<Utc>> {
        read(&self.inner.nodes)
            .get(node_id)
            .and_then(|link| link.last_seen)
    }

    /// Records a node's status in memory and, when it changed or the last-seen time is
    /// stale, in the database.
    pub(crate) async fn set_status(&self, node_id: &str, status: NodeStatus) {
        let now = Utc::now();
        let persist = {
            let mut nodes = write(&self.inner.nodes);
            let Some(link) = nodes.get_mut(node_id) else {
                return;
            };
            let changed = link.status != status;
            if changed {
                self.inner.live_epoch.fetch_add(1, Ordering::SeqCst);
            }
            link.status = status;
            let seen = status != NodeStatus::Offline;
            let stale = seen
                && link
                    .seen_persisted
                    .is_none_or(|t| now - t > chrono::Duration::seconds(30));
            if seen {
                link.last_seen = Some(now);
            }
            if seen && (changed || stale) {
                link.seen_persisted = Some(now);
            }
            changed || stale
        };
        if persist {
            let seen = (status != NodeStatus::Offline).then_some(now);
            if let Err(e) =
                crate::repo::nodes::set_status(&self.inner.db, node_id, status.as_str(), seen).await
            {
                tracing::warn!(node_id, "cannot record node status: {e}");
            }
        }
    }

    /// Like [`AgentHub::set_status`], but never overrides "online": the event connection
    /// owns that status, and discovery's probe may be older than the connection.
    pub(crate) async fn set_status_unless_online(&self, node_id: &str, status: NodeStatus) {
        if self.status(node_id) != NodeStatus::Online {
            self.set_status(node_id, status).await;
        }
    }

    /// Wakes a node's connection loop out of its back-off (discovery saw it answer).
    pub(crate) fn kick(&self, node_id: &str) {
        if let Some(link) = read(&self.inner.nodes).get(node_id) {
            link.reconnect.notify_one();
        }
    }

    pub fn live(&self, server_id: Uuid) -> Option<LiveServer> {
        read(&self.inner.servers).get(&server_id).cloned()
    }

    pub(crate) fn update_live(&self, server_id: Uuid, update: impl FnOnce(&mut LiveServer)) {
        update(write(&self.inner.servers).entry(server_id).or_default());
        self.inner.live_epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Records that the database now holds `state` for a server; false when it already did.
    pub(crate) fn mark_persisted(&self, server_id: Uuid, state: ServerState) -> bool {
        write(&self.inner.persisted).insert(server_id, state) != Some(state)
    }

    /// The write after [`AgentHub::mark_persisted`] failed: try again next time.
    pub(crate) fn unmark_persisted(&self, server_id: Uuid) {
        write(&self.inner.persisted).remove(&server_id);
    }

    pub(crate) fn forget_live(&self, server_id: Uuid) {
        write(&self.inner.servers).remove(&server_id);
        write(&self.inner.persisted).remove(&server_id);
        self.inner.live_epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Serialises port allocation on one node within this panel, so concurrent creations
    /// never pick the same port (another panel process sharing the database is caught by
    /// the allocations' unique index instead).
    pub async fn allocation_lock(&self, node_id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = self
            .inner
            .allocation_locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(node_id.to_owned())
            .or_default()
            .clone();
        lock.lock_owned().await
    }

    /// Changes whenever anything live (state, stats, node status) changes; views built
    /// from live data at one value are still current while it stays the same.
    pub fn live_epoch(&self) -> u64 {
        self.inner.live_epoch.load(Ordering::SeqCst)
    }

    /// Watches one server's console, state and stats.
    pub fn subscribe(&self, server_id: Uuid) -> broadcast::Receiver<LiveEvent> {
        write(&self.inner.channels)
            .entry(server_id)
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe()
    }

    /// Sends an event to a server's watchers, if it has any.
    pub(crate) fn publish(&self, server_id: Uuid, event: LiveEvent) {
        let mut unwatched = false;
        if let Some(sender) = read(&self.inner.channels).get(&server_id) {
            unwatched = sender.send(event).is_err();
        }
        if unwatched {
            let mut channels = write(&self.inner.channels);
            if channels
                .get(&server_id)
                .is_some_and(|s| s.receiver_count() == 0)
            {
                channels.remove(&server_id);
            }
        }
    }

    /// Tells of every server whose backup completed or failed (as the node reported it,
    /// live or when the panel caught up after a reconnect).
    pub fn backups_finished(&self) -> broadcast::Receiver<Uuid> {
        self.inner.backups_finished.subscribe()
    }

    pub(crate) fn backup_finished(&self, server_id: Uuid) {
        // Nobody listening (no retention task) is fine.
        let _ = self.inner.backups_finished.send(server_id);
    }

    pub fn discovery_report(&self) -> DiscoveryReport {
        read(&self.inner.discovery).clone()
    }

    pub(crate) fn set_discovery_report(&self, report: DiscoveryReport) {
        *write(&self.inner.discovery) = report;
    }

    pub(crate) fn links(&self) -> Vec<(String, AgentClient, NodeStatus)> {
        read(&self.inner.nodes)
            .iter()
            .map(|(id, link)| (id.clone(), link.client.clone(), link.status))
            .collect()
    }
}
