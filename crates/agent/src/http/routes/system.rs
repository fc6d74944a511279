//! `/health`, `/api/system`, `/api/images`, `/api/ports/{port}`.

use axum::extract::State;
use axum::Json;
use cap_protocol::system::{Health, ImageInfo, PortStatus, SystemInfo};
use chrono::Utc;

use crate::error::AgentError;
use crate::http::envelope::{ApiOk, ApiResult};
use crate::http::extract::ApiPath;
use crate::http::AppState;
use crate::system;

/// Liveness (unauthenticated).
pub async fn health() -> Json<Health> {
    Json(Health {
        service: "ctrl-alt-play-agent".into(),
        status: "healthy".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        timestamp: Utc::now(),
    })
}

/// Host facts.
pub async fn info(State(state): State<AppState>) -> ApiResult<SystemInfo> {
    let supervisor = state.supervisor.clone();
    supervisor.runtimes().refresh().await;
    let started = state.started;
    let sftp = state.sftp.clone();
    let mut info = tokio::task::spawn_blocking(move || {
        let root = &supervisor.config().server_root;
        system::info(
            root,
            started,
            supervisor.servers().len(),
            supervisor.runtimes(),
        )
    })
    .await?;
    info.sftp = sftp;
    Ok(ApiOk(info))
}

/// The container engine's images (409 `runtime unavailable` when no engine answers).
pub async fn images(State(state): State<AppState>) -> ApiResult<Vec<ImageInfo>> {
    let images = state
        .supervisor
        .runtimes()
        .images()
        .await
        .map_err(|e| AgentError::Conflict(e.to_string()))?;
    Ok(ApiOk(images))
}

/// Whether a port can be bound.
pub async fn port(ApiPath(port): ApiPath<u16>) -> ApiResult<PortStatus> {
    if port == 0 {
        return Err(AgentError::Validation(
            "port must be between 1 and 65535".into(),
        ));
    }
    Ok(ApiOk(system::port_status(port)))
}
