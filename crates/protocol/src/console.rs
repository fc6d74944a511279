//! Console input and history.

use serde::{Deserialize, Serialize};

/// `POST /api/servers/{id}/console` body: one line written to the game's stdin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleInput {
    /// The command, without trailing newline (at most 4096 bytes, no newlines inside).
    pub command: String,
}

/// `GET /api/servers/{id}/console?lines=N` answer: the newest lines, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleHistory {
    /// Console lines (stdout and stderr interleaved as read, agent notices included).
    pub lines: Vec<String>,
}
