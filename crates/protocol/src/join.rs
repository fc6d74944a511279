//! The join exchange: `cap-agent join PANEL_URL JOIN_TOKEN` calls the panel's
//! `POST {PANEL_URL}/api/agents/join` once, authenticated only by the one-time join token.
//!
//! The panel answers with its envelope: [`crate::envelope::Success`] of [`JoinResponse`], or
//! [`crate::envelope::Failure`] (HTTP 401 for an unknown or already used join token). The
//! agent then stores `token` as its node token (the token file, mode 0600) and `port` in
//! `listen` of its configuration file, so the next plain start serves what the panel
//! expects.

use serde::{Deserialize, Serialize};

/// Body of `POST /api/agents/join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinRequest {
    /// The one-time token from the panel's join command.
    pub join_token: String,
    /// SHA-256 fingerprint of the agent's TLS certificate (`AB:CD:…`), for the panel to
    /// pin; absent when the agent serves plain HTTP (`--insecure-http`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// `data` of a successful join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinResponse {
    /// The node's id in the panel.
    pub node_id: String,
    /// The node's display name.
    pub node_name: String,
    /// The node token the agent must accept from now on.
    pub token: String,
    /// The port the panel will connect to.
    pub port: u16,
}
