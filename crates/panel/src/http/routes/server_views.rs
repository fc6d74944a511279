//! How a server looks to the caller: its row, owner, node, template, limits, crash
//! policy, primary allocation, live state and stats, and the caller's permission keys.

use cap_protocol::runtime::RuntimeKind;
use cap_protocol::server::{CrashPolicy, ServerState, ServerStats};
use chrono::{DateTime, Utc};
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::auth::Principal;
use crate::db::entities::allocation;
use crate::db::entities::server::ServerListRow;
use crate::error::{Error, Result};
use crate::services::servers::{listing, BIND_IP};
use crate::services::subusers;
use crate::state::AppState;

#[derive(Debug, Serialize, JsonSchema)]
pub struct Named {
    id: String,
    name: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct NodeRef {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) status: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OwnerRef {
    id: String,
    username: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitsView {
    pub(crate) memory_mb: i64,
    pub(crate) cpu_percent: i32,
    pub(crate) disk_mb: i64,
}

/// What the node does when the server crashes: restart it after `backoffMs`, doubling
/// with every further crash inside `windowSeconds` up to `maxBackoffMs`, and give up
/// (leaving it crashed) after `maxRestarts` restarts inside the window.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CrashPolicyBody {
    /// Restart automatically after a crash.
    #[garde(skip)]
    auto_restart: bool,
    /// Restarts allowed inside the window (0-100).
    #[garde(range(min = 0, max = 100))]
    max_restarts: u32,
    /// The window, seconds (10-86400).
    #[garde(range(min = 10, max = 86_400))]
    window_seconds: u64,
    /// First back-off, milliseconds (100-600000).
    #[garde(range(min = 100, max = 600_000))]
    backoff_ms: u64,
    /// Back-off ceiling, milliseconds (at least `backoffMs`, at most 3600000).
    #[garde(range(min = 100, max = 3_600_000))]
    max_backoff_ms: u64,
}

impl From<CrashPolicyBody> for CrashPolicy {
    fn from(p: CrashPolicyBody) -> Self {
        CrashPolicy {
            auto_restart: p.auto_restart,
            max_restarts: p.max_restarts,
            window_seconds: p.window_seconds,
            backoff_ms: p.backoff_ms,
            max_backoff_ms: p.max_backoff_ms,
        }
    }
}

impl From<CrashPolicy> for CrashPolicyBody {
    fn from(p: CrashPolicy) -> Self {
        CrashPolicyBody {
            auto_restart: p.auto_restart,
            max_restarts: p.max_restarts,
            window_seconds: p.window_seconds,
            backoff_ms: p.backoff_ms,
            max_backoff_ms: p.max_backoff_ms,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllocationView {
    pub(crate) id: String,
    /// Where players connect: the node's address when the game binds every interface.
    pub(crate) ip: String,
    pub(crate) port: i32,
    /// The address the game binds on the node.
    pub(crate) bind_ip: String,
    pub(crate) notes: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) owner_id: String,
    owner: OwnerRef,
    node_id: Option<String>,
    pub(crate) node: Option<NodeRef>,
    alt_id: String,
    alt: Named,
    pub(crate) state: String,
    /// Why the server crashed or its installation failed, as its node reported it.
    state_message: Option<String>,
    /// The exit code behind a crash or failed installation.
    exit_code: Option<i32>,
    pub(crate) limits: LimitsView,
    crash_policy: CrashPolicyBody,
    /// What runs the server: `native`, or `docker` in `image`.
    runtime: RuntimeKind,
    /// The Docker image (with the `docker` runtime).
    pub(crate) image: Option<String>,
    /// A suspended server refuses SFTP logins (no route of the panel suspends one yet).
    pub(crate) suspended: bool,
    pub(crate) allocation: Option<AllocationView>,
    pub(crate) stats: Option<ServerStats>,
    /// The system user the node runs the game and install script as (`name (uid N)`),
    /// once the node has reported it.
    pub(crate) runs_as: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// What the caller may do on this server (permission keys).
    #[schemars(with = "Vec<String>")]
    pub(crate) permissions: Box<RawValue>,
}

/// A list of permission keys as ready-made JSON.
fn keys_json<'a>(keys: impl Iterator<Item = &'a String>) -> Result<Box<RawValue>> {
    serde_json::value::to_raw_value(&keys.collect::<Vec<_>>()).map_err(Error::internal)
}

/// Builds views for rows, with allocations, live state and the caller's permissions.
pub async fn views(
    state: &AppState,
    principal: &Principal,
    rows: &[ServerListRow],
    allocations: &[allocation::Model],
) -> Result<Vec<ServerView>> {
    // The caller's own keys, serialised once and shared by every server they own or
    // administer (a page of 50 servers would otherwise repeat 36 keys 50 times).
    let own_keys = keys_json(principal.permissions.iter())?;
    let shared = listing::shared_with(state, principal).await?;
    let hub = state.hub();
    rows.iter()
        .map(|row| {
            let live = uuid::Uuid::parse_str(&row.id)
                .ok()
                .and_then(|id| hub.live(id));
            let failure = live
                .as_ref()
                .filter(|l| matches!(l.state, ServerState::Crashed | ServerState::InstallFailed));
            let permissions = if principal.is_admin() || row.owner_id == principal.id() {
                own_keys.clone()
            } else {
                let mut keys = shared
                    .iter()
                    .find(|s| s.server_id == row.id)
                    .map(subusers::granted)
                    .unwrap_or_default();
                keys.insert("server:view".to_owned());
                keys_json(keys.iter())?
            };
            let node = row.node_id.clone().map(|id| {
                let live_status = hub.status(&id);
                NodeRef {
                    status: if live_status == crate::agents::NodeStatus::Unknown {
                        row.node_status.clone().unwrap_or_default()
                    } else {
                        live_status.as_str().to_owned()
                    },
                    name: row.node_name.clone().unwrap_or_default(),
                    id,
                }
            });
            Ok(ServerView {
                allocation: allocations
                    .iter()
                    .find(|a| a.server_id.as_deref() == Some(row.id.as_str()))
                    .map(|a| AllocationView {
                        id: a.id.clone(),
                        ip: match (&row.node_address, a.ip.as_str()) {
                            (Some(address), BIND_IP) => address.clone(),
                            _ => a.ip.clone(),
                        },
                        port: a.port,
                        bind_ip: a.ip.clone(),
                        notes: a.notes.clone(),
                    }),
                state: live
                    .as_ref()
                    .map(|l| crate::agents::state_name(l.state).to_owned())
                    .unwrap_or_else(|| row.state.clone()),
                state_message: failure.as_ref().and_then(|l| l.message.clone()),
                exit_code: failure.as_ref().and_then(|l| l.exit_code),
                runs_as: live.as_ref().and_then(|l| l.user.clone()),
                stats: live.and_then(|l| l.stats),
                owner: OwnerRef {
                    id: row.owner_id.clone(),
                    username: row.owner_username.clone(),
                },
                owner_id: row.owner_id.clone(),
                node_id: row.node_id.clone(),
                node,
                alt: Named {
                    id: row.alt_id.clone(),
                    name: row.alt_name.clone(),
                },
                alt_id: row.alt_id.clone(),
                limits: LimitsView {
                    memory_mb: row.memory_mb,
                    cpu_percent: row.cpu_percent,
                    disk_mb: row.disk_mb,
                },
                crash_policy: row.crash_policy().into(),
                runtime: crate::services::servers::kind_of(row.image.as_deref()),
                image: row.image.clone(),
                suspended: row.suspended,
                id: row.id.clone(),
                name: row.name.clone(),
                description: row.description.clone(),
                created_at: row.created_at,
                updated_at: row.updated_at,
                permissions,
            })
        })
        .collect()
}

/// One server as `principal` sees it.
pub async fn view_one(state: &AppState, principal: &Principal, id: &str) -> Result<ServerView> {
    let (row, allocations) = listing::one(state, id).await?;
    views(state, principal, std::slice::from_ref(&row), &allocations)
        .await?
        .pop()
        .ok_or_else(|| Error::not_found("server"))
}
