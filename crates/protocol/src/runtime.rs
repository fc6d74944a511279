//! Which runtime runs a server, and what a node offers.

use serde::{Deserialize, Serialize};

/// The backend that runs a server's game and install script.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RuntimeKind {
    /// A process on the node, as its own unprivileged user, limited by a cgroup, kept
    /// running across agent restarts by a small per-server supervisor process.
    #[default]
    Native,
    /// A container of the Docker Engine (or Podman's compatible API) from the server's
    /// `image`, with the server directory at `/home/container`, as Pterodactyl's Wings runs
    /// eggs.
    Docker,
}

impl RuntimeKind {
    /// The name used on the wire (`native`, `docker`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Docker => "docker",
        }
    }
}

/// The control-group layout the agent found on its node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CgroupVersion {
    /// The legacy per-controller hierarchies (also the "hybrid" layout).
    V1,
    /// The unified hierarchy.
    V2,
}
