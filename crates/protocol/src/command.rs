//! Power commands: `AgentCommand` / `AgentResponse` (`POST /api/command`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::server::ServerState;

/// A power action requested by the panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Start the server (no-op if already starting/running).
    Start,
    /// Stop command or signal, grace period, then SIGKILL of the process group.
    /// The response is sent once the server is offline.
    Stop,
    /// Stop (as above), then start.
    Restart,
    /// Report the current status without changing anything.
    Status,
    /// SIGKILL the whole process group immediately.
    Kill,
}

/// Who asked and under which request id (for the agent's logs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandMetadata {
    /// The panel's request id.
    pub request_id: String,
    /// The panel user on whose behalf the action runs.
    pub user_id: String,
}

/// `POST /api/command` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentCommand {
    /// What to do.
    pub action: Action,
    /// Which server.
    pub server_id: Uuid,
    /// When the panel issued the command.
    pub timestamp: DateTime<Utc>,
    /// Audit information.
    pub metadata: CommandMetadata,
}

/// The coarse status, derived from the precise [`ServerState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum CommandStatus {
    /// `installing` or `starting`.
    Starting,
    /// `running`.
    Running,
    /// `offline` or `stopping`.
    Stopped,
    /// `crashed` or `install_failed`.
    Error,
}

impl From<ServerState> for CommandStatus {
    fn from(state: ServerState) -> Self {
        match state {
            ServerState::Installing | ServerState::Starting => Self::Starting,
            ServerState::Running => Self::Running,
            ServerState::Offline | ServerState::Stopping => Self::Stopped,
            ServerState::Crashed | ServerState::InstallFailed => Self::Error,
        }
    }
}

/// Resource figures as strings (the wire format of `AgentResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ResourceSummary {
    /// CPU use in percent of one core, decimal (e.g. `"12.5"`).
    pub cpu: String,
    /// Resident memory in bytes, decimal (e.g. `"104857600"`).
    pub memory: String,
}

/// Optional process details in an [`AgentResponse`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ResponseData {
    /// PID of the server's main process, as a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_id: Option<String>,
    /// The server's first port, if it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Latest sampled resource use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceSummary>,
}

/// Answer to an [`AgentCommand`] (the `data` of the success envelope).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AgentResponse {
    /// Coarse status.
    pub status: CommandStatus,
    /// The precise state.
    pub state: ServerState,
    /// Which server.
    pub server_id: Uuid,
    /// When the response was produced.
    pub timestamp: DateTime<Utc>,
    /// Human-readable outcome.
    pub message: String,
    /// Process details, present while a process exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<ResponseData>,
}
