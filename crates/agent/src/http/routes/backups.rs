//! Backups and restores (see [`crate::backup`]).

use axum::extract::State;
use axum::response::Response;
use cap_protocol::backup::{BackupRecord, CreateBackup, RestoreRecord, RestoreRequest};
use uuid::Uuid;

use crate::error::AgentError;
use crate::http::envelope::{ApiOk, ApiResult};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::AppState;

/// `POST /api/servers/{id}/backups`
pub async fn create(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<CreateBackup>,
) -> ApiResult<BackupRecord> {
    Ok(ApiOk(state.backups.create(id, request)?))
}

/// `GET /api/backups`
pub async fn list(State(state): State<AppState>) -> ApiResult<Vec<BackupRecord>> {
    Ok(ApiOk(state.backups.list()))
}

/// `GET /api/backups/{id}`
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<BackupRecord> {
    Ok(ApiOk(state.backups.get(id)?))
}

/// `DELETE /api/backups/{id}`
pub async fn delete(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<()> {
    Ok(ApiOk(state.backups.delete(id)?))
}

/// `GET /api/backups/{id}/download`: the local archive, streamed.
pub async fn download(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, AgentError> {
    let record = state.backups.get(id)?;
    let (file, size) = state.backups.open_local(id)?;
    let name = format!("backup-{id}.{}", record.format.extension());
    super::files::attachment(file, size, &name)
}

/// `POST /api/servers/{id}/backups/{backupId}/restore`
pub async fn restore(
    State(state): State<AppState>,
    ApiPath((id, backup)): ApiPath<(Uuid, Uuid)>,
    ApiJson(request): ApiJson<RestoreRequest>,
) -> ApiResult<RestoreRecord> {
    Ok(ApiOk(state.backups.restore(id, backup, request)?))
}

/// `GET /api/servers/{id}/restore`: the last restore.
pub async fn last_restore(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<RestoreRecord> {
    Ok(ApiOk(state.backups.last_restore(id)?))
}
