//! Events streamed on the agent's WebSocket (`GET /api/events`).
//!
//! Each text frame is one [`AgentEvent`] JSON object. The first frame after connecting is a
//! [`EventKind::Snapshot`] of every server; after it, events follow in `seq` order.
//! `seq` increases by one for every event the agent publishes (a client sees gaps only for
//! events published before it connected). When a client falls too far behind, the agent
//! sends a fresh snapshot instead of the events it missed, so a client that applies
//! snapshots and events in order always converges.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::backup::{BackupRecord, RestoreRecord};
use crate::schedule::ScheduleRun;
use crate::server::{ServerInfo, ServerState, ServerStats};

/// One event frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentEvent {
    /// Sequence number; a snapshot carries the number of the last event it includes.
    pub seq: u64,
    /// When the event was published.
    pub timestamp: DateTime<Utc>,
    /// The payload, tagged by `type`.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Event payloads, distinguished by the `type` field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum EventKind {
    /// Every server with its definition, status and latest stats.
    Snapshot {
        /// All servers.
        servers: Vec<ServerInfo>,
    },
    /// A server changed state.
    State {
        /// Which server.
        server_id: Uuid,
        /// The new state.
        state: ServerState,
        /// The state before.
        previous: ServerState,
        /// Exit code, when the change was caused by an exit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        /// Reason, when there is one worth showing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Console lines, batched (at most every 50 ms per server).
    Console {
        /// Which server.
        server_id: Uuid,
        /// Lines in order.
        lines: Vec<String>,
    },
    /// Install script output, batched like console lines.
    InstallOutput {
        /// Which server.
        server_id: Uuid,
        /// Lines in order.
        lines: Vec<String>,
    },
    /// Resource use, about once a second per running server.
    Stats {
        /// Which server.
        server_id: Uuid,
        /// The sample.
        stats: ServerStats,
    },
    /// A definition was created or replaced.
    Defined {
        /// The server with its new definition.
        server: Box<ServerInfo>,
    },
    /// A server was deleted.
    Removed {
        /// Which server.
        server_id: Uuid,
    },
    /// A backup started, progressed (about twice a second) or ended.
    Backup {
        /// The backup as it stands.
        backup: Box<BackupRecord>,
    },
    /// A restore started, progressed or ended.
    Restore {
        /// The restore as it stands.
        restore: Box<RestoreRecord>,
    },
    /// A schedule run started or ended (the record is also kept on the node).
    ScheduleRun {
        /// The run as it stands.
        run: Box<ScheduleRun>,
    },
}
