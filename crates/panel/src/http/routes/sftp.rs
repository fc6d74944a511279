//! `/api/servers/{id}/sftp`: how the caller connects to a server over SFTP.

use axum::extract::State;
use axum::http::Method;
use schemars::JsonSchema;
use serde::Serialize;

use crate::auth::Actor;
use crate::error::Result;
use crate::http::access::{Access, ApiRoutes, ServerScope};
use crate::http::envelope::Envelope;
use crate::services::sftp;
use crate::state::AppState;

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    api.add(
        Method::GET,
        "/servers/{id}/sftp",
        Access::Server("file:sftp"),
        connection,
    )
}

/// What an SFTP client (FileZilla, WinSCP, `sftp`) needs to log in.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SftpConnectionView {
    /// The node's address.
    host: String,
    port: u16,
    /// `<your username>.<server short id>`; the password is your panel password, or use
    /// one of your account's SSH keys.
    username: String,
    /// The node's host key as clients show it on first connection (`SHA256:…`).
    host_key_fingerprint: String,
    /// Whether the node refuses every change over SFTP.
    read_only: bool,
    /// `sftp://username@host:port`.
    url: String,
}

async fn connection(
    State(state): State<AppState>,
    scope: ServerScope,
    actor: Actor,
) -> Result<Envelope<SftpConnectionView>> {
    let c = sftp::connection(&state, &actor, &scope.server).await?;
    let host = if c.host.contains(':') {
        format!("[{}]", c.host)
    } else {
        c.host.clone()
    };
    Ok(Envelope::ok(SftpConnectionView {
        url: format!("sftp://{}@{host}:{}", c.username, c.port),
        host: c.host,
        port: c.port,
        username: c.username,
        host_key_fingerprint: c.host_key_fingerprint,
        read_only: c.read_only,
    }))
}
