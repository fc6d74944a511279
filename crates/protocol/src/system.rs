//! Node-level information.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::runtime::{CgroupVersion, RuntimeKind};

/// `GET /health` (unauthenticated, not enveloped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `"ctrl-alt-play-agent"`.
    pub service: String,
    /// `"healthy"`.
    pub status: String,
    /// Agent version.
    pub version: String,
    /// When the answer was produced.
    pub timestamp: DateTime<Utc>,
}

/// `GET /api/system`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SystemInfo {
    /// Host name.
    pub hostname: String,
    /// Operating system description.
    pub os: String,
    /// CPU architecture.
    pub arch: String,
    /// Logical CPUs.
    pub cpu_count: usize,
    /// Total memory, bytes.
    pub memory_total_bytes: u64,
    /// Available memory, bytes.
    pub memory_available_bytes: u64,
    /// Size of the file system holding the server root, bytes.
    pub disk_total_bytes: u64,
    /// Free space on that file system, bytes.
    pub disk_available_bytes: u64,
    /// Agent version.
    pub agent_version: String,
    /// Seconds since the agent started.
    pub uptime_seconds: u64,
    /// Number of defined servers.
    pub server_count: usize,
    /// Runtimes this node can run servers with.
    #[serde(default)]
    pub runtimes: Vec<RuntimeKind>,
    /// The cgroup layout used for limits; absent when the agent cannot write cgroups
    /// (limits are then not enforced by the kernel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_version: Option<CgroupVersion>,
    /// Whether games run as unprivileged users separate from the agent's.
    #[serde(default)]
    pub isolated_users: bool,
    /// The version of the container engine behind the `docker` runtime, when it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_version: Option<String>,
    /// The node's SFTP server, when it listens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sftp: Option<crate::sftp::SftpInfo>,
}

/// One image of the node's container engine (`GET /api/images`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImageInfo {
    /// The engine's image id (`sha256:…`).
    pub id: String,
    /// Its names (`ghcr.io/pterodactyl/yolks:java_17`).
    pub tags: Vec<String>,
    /// Size, bytes.
    pub size_bytes: u64,
    /// When it was built.
    pub created: DateTime<Utc>,
}

/// `GET /api/ports/{port}`: whether the port can be bound on all interfaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortStatus {
    /// The port asked about.
    pub port: u16,
    /// True when both TCP and UDP binds succeeded.
    pub free: bool,
    /// TCP bind on 0.0.0.0 succeeded.
    pub tcp: bool,
    /// UDP bind on 0.0.0.0 succeeded.
    pub udp: bool,
}
