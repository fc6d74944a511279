//! Server definitions, power commands, install, stats and console.

use axum::extract::State;
use cap_protocol::command::{AgentCommand, AgentResponse};
use cap_protocol::console::{ConsoleHistory, ConsoleInput};
use cap_protocol::server::{ServerDefinition, ServerInfo, ServerStats};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::AgentError;
use crate::http::envelope::{ApiOk, ApiResult};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::AppState;

/// Longest console input line, bytes.
const MAX_CONSOLE_INPUT: usize = 4096;

/// `GET /api/servers`
pub async fn list(State(state): State<AppState>) -> ApiResult<Vec<ServerInfo>> {
    Ok(ApiOk(state.supervisor.list()))
}

/// `GET /api/servers/{id}`
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ServerInfo> {
    Ok(ApiOk(state.supervisor.get(id)?.info()))
}

/// `PUT /api/servers/{id}`
pub async fn define(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(definition): ApiJson<ServerDefinition>,
) -> ApiResult<ServerInfo> {
    if definition.id != id {
        return Err(AgentError::Validation(format!(
            "the id in the body ({}) differs from the id in the path ({id})",
            definition.id
        )));
    }
    Ok(ApiOk(state.supervisor.define(definition).await?))
}

/// `?purge=true`
#[derive(Debug, Deserialize)]
pub struct RemoveQuery {
    #[serde(default)]
    purge: bool,
}

/// `DELETE /api/servers/{id}`
pub async fn remove(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<RemoveQuery>,
) -> ApiResult<()> {
    state.supervisor.remove(id, query.purge).await?;
    Ok(ApiOk(()))
}

/// `POST /api/command`
pub async fn command(
    State(state): State<AppState>,
    ApiJson(command): ApiJson<AgentCommand>,
) -> ApiResult<AgentResponse> {
    Ok(ApiOk(state.supervisor.command(command).await?))
}

/// `POST /api/servers/{id}/install`
pub async fn install(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ServerInfo> {
    let server = state.supervisor.get(id)?;
    server.install().await?;
    Ok(ApiOk(server.info()))
}

/// `GET /api/servers/{id}/stats`
pub async fn stats(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ServerStats> {
    let server = state.supervisor.get(id)?;
    let limits = server.defined().definition.limits.clone();
    let stats = server.stats().unwrap_or_else(|| ServerStats {
        disk_bytes: server
            .disk
            .current(state.supervisor.config().disk_scan_interval),
        memory_limit_bytes: limits.memory_mib.map(|m| m * 1024 * 1024),
        disk_limit_bytes: limits.disk_mib.map(|m| m * 1024 * 1024),
        ..ServerStats::default()
    });
    Ok(ApiOk(stats))
}

/// `?lines=N`
#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    lines: Option<usize>,
}

/// `GET /api/servers/{id}/console?lines=N`
pub async fn console_history(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> ApiResult<ConsoleHistory> {
    let server = state.supervisor.get(id)?;
    let lines = query.lines.unwrap_or(100);
    Ok(ApiOk(ConsoleHistory {
        lines: server.console.history(lines),
    }))
}

/// `POST /api/servers/{id}/console`
pub async fn console_input(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<ConsoleInput>,
) -> ApiResult<()> {
    if input.command.len() > MAX_CONSOLE_INPUT || input.command.contains(['\n', '\r', '\0']) {
        return Err(AgentError::Validation(
            "command must be one line of at most 4096 bytes without NUL".into(),
        ));
    }
    state.supervisor.get(id)?.send_command(&input.command)?;
    Ok(ApiOk(()))
}
