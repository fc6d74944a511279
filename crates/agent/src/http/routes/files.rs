//! `/api/servers/{id}/files/...`: the jailed file manager.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use cap_protocol::files::{
    ChmodRequest, CompressRequest, DecompressRequest, DeleteRequest, FileContent, FileEntry,
    MoveRequest, PathQuery, PathRequest, WriteFile,
};
use cap_std::fs::Dir;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use crate::error::{AgentError, AgentResult};
use crate::files::{self, archive, jail};
use crate::http::envelope::{ApiOk, ApiResult};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::AppState;

/// Whether an operation may add data (then the disk usage cache is refreshed after it).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

/// Run a blocking file operation against the server's jail.
async fn in_jail<T, F>(state: &AppState, id: Uuid, access: Access, op: F) -> AgentResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Dir) -> AgentResult<T> + Send + 'static,
{
    let server = state.supervisor.get(id)?;
    let dir = state.supervisor.config().server_dir(id);
    let result = tokio::task::spawn_blocking(move || op(&jail::open_root(&dir)?)).await?;
    if access == Access::Write {
        server.disk.invalidate();
    }
    result
}

/// Bytes the server may still add under its disk quota (`None`: no quota).
fn quota_room(state: &AppState, id: Uuid) -> AgentResult<Option<u64>> {
    let server = state.supervisor.get(id)?;
    let Some(limit_mib) = server.defined().definition.limits.disk_mib else {
        return Ok(None);
    };
    let used = server
        .disk
        .current(state.supervisor.config().disk_scan_interval);
    Ok(Some((limit_mib * 1024 * 1024).saturating_sub(used)))
}

fn check_quota(state: &AppState, id: Uuid, adding: u64) -> AgentResult<()> {
    match quota_room(state, id)? {
        Some(room) if adding > room => Err(AgentError::TooLarge(format!(
            "disk quota exceeded: {adding} bytes needed, {room} bytes left"
        ))),
        _ => Ok(()),
    }
}

/// `GET files/list?path=`
pub async fn list(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<PathQuery>,
) -> ApiResult<Vec<FileEntry>> {
    Ok(ApiOk(
        in_jail(&state, id, Access::Read, move |root| {
            files::list(root, &q.path)
        })
        .await?,
    ))
}

/// `GET files/stat?path=`
pub async fn stat(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<PathQuery>,
) -> ApiResult<FileEntry> {
    Ok(ApiOk(
        in_jail(&state, id, Access::Read, move |root| {
            files::stat(root, &q.path)
        })
        .await?,
    ))
}

/// `GET files/read?path=`
pub async fn read(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<PathQuery>,
) -> ApiResult<FileContent> {
    let max = state.supervisor.config().files.max_edit_bytes;
    Ok(ApiOk(
        in_jail(&state, id, Access::Read, move |root| {
            files::read(root, &q.path, max)
        })
        .await?,
    ))
}

/// `POST files/write`
pub async fn write(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<WriteFile>,
) -> ApiResult<FileEntry> {
    let max = state.supervisor.config().files.max_edit_bytes;
    if req.content.len() as u64 > max {
        return Err(AgentError::TooLarge(format!(
            "content over {max} bytes; use upload"
        )));
    }
    check_quota(&state, id, req.content.len() as u64)?;
    Ok(ApiOk(
        in_jail(&state, id, Access::Write, move |root| {
            files::write(root, &req.path, req.content.as_bytes())
        })
        .await?,
    ))
}

/// `POST files/mkdir`
pub async fn mkdir(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<PathRequest>,
) -> ApiResult<FileEntry> {
    Ok(ApiOk(
        in_jail(&state, id, Access::Write, move |root| {
            files::mkdir(root, &req.path)
        })
        .await?,
    ))
}

/// `POST files/rename`
pub async fn rename(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<MoveRequest>,
) -> ApiResult<FileEntry> {
    Ok(ApiOk(
        in_jail(&state, id, Access::Write, move |root| {
            files::rename(root, &req.from, &req.to)
        })
        .await?,
    ))
}

/// `POST files/copy`
pub async fn copy(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<MoveRequest>,
) -> ApiResult<FileEntry> {
    let room = quota_room(&state, id)?;
    Ok(ApiOk(
        in_jail(&state, id, Access::Write, move |root| {
            let size = files::tree_size(root, &jail::relative_non_root(&req.from)?)?;
            if room.is_some_and(|room| size > room) {
                return Err(AgentError::TooLarge(
                    "disk quota exceeded by this copy".into(),
                ));
            }
            files::copy(root, &req.from, &req.to)
        })
        .await?,
    ))
}

/// `POST files/delete`
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<DeleteRequest>,
) -> ApiResult<()> {
    if req.paths.is_empty() || req.paths.len() > 1000 {
        return Err(AgentError::Validation(
            "give between 1 and 1000 paths".into(),
        ));
    }
    Ok(ApiOk(
        in_jail(&state, id, Access::Write, move |root| {
            files::delete(root, &req.paths)
        })
        .await?,
    ))
}

/// `POST files/chmod`
pub async fn chmod(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<ChmodRequest>,
) -> ApiResult<FileEntry> {
    Ok(ApiOk(
        in_jail(&state, id, Access::Read, move |root| {
            files::chmod(root, &req.path, req.mode)
        })
        .await?,
    ))
}

/// `POST files/compress`
pub async fn compress(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<CompressRequest>,
) -> ApiResult<FileEntry> {
    check_quota(&state, id, 0)?;
    Ok(ApiOk(
        in_jail(&state, id, Access::Write, move |root| {
            archive::compress(root, &req.paths, &req.destination, req.format)
        })
        .await?,
    ))
}

/// `POST files/decompress`
pub async fn decompress(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<DecompressRequest>,
) -> ApiResult<()> {
    let mut max = state.supervisor.config().files.max_extract_bytes;
    if let Some(room) = quota_room(&state, id)? {
        max = max.min(room);
    }
    in_jail(&state, id, Access::Write, move |root| {
        archive::decompress(root, &req.path, req.destination.as_deref(), max)
    })
    .await?;
    Ok(ApiOk(()))
}

/// How long a refused upload's remaining body is read and discarded, so the sender gets
/// the answer instead of a reset connection.
const DRAIN_FOR: std::time::Duration = std::time::Duration::from_secs(30);

/// `PUT files/upload?path=`: stream the body to a temporary file, then rename it into place.
pub async fn upload(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<PathQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<FileEntry> {
    let mut stream = body.into_data_stream();
    let stored = store_upload(&state, id, q, &headers, &mut stream).await;
    if stored.is_err() {
        let drain = async { while let Some(Ok(_)) = stream.next().await {} };
        let _ = tokio::time::timeout(DRAIN_FOR, drain).await;
    }
    stored.map(ApiOk)
}

async fn store_upload(
    state: &AppState,
    id: Uuid,
    q: PathQuery,
    headers: &HeaderMap,
    stream: &mut axum::body::BodyDataStream,
) -> AgentResult<FileEntry> {
    let mut limit = state.supervisor.config().files.max_upload_bytes;
    if let Some(room) = quota_room(state, id)? {
        limit = limit.min(room);
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(AgentError::TooLarge(format!(
            "upload larger than the {limit} bytes allowed"
        )));
    }
    let (upload, file) = in_jail(state, id, Access::Read, move |root| {
        files::Upload::begin(root.try_clone().map_err(AgentError::Io)?, &q.path)
    })
    .await?;
    let mut file = tokio::fs::File::from_std(file);
    let mut written: u64 = 0;
    let copied: AgentResult<()> = async {
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| AgentError::Validation(format!("upload interrupted: {e}")))?;
            written += chunk.len() as u64;
            if written > limit {
                return Err(AgentError::TooLarge(format!(
                    "upload larger than the {limit} bytes allowed"
                )));
            }
            file.write_all(&chunk).await?;
        }
        file.sync_all().await?;
        Ok(())
    }
    .await;
    let server = state.supervisor.get(id)?;
    server.disk.invalidate();
    match copied {
        Ok(()) => Ok(tokio::task::spawn_blocking(move || upload.finish()).await??),
        Err(e) => {
            tokio::task::spawn_blocking(move || upload.abort()).await?;
            Err(e)
        }
    }
}

/// `GET files/download?path=`: the raw bytes, streamed.
pub async fn download(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<PathQuery>,
) -> Result<Response, AgentError> {
    let name: String = std::path::Path::new(&q.path)
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || "._- ".contains(*c))
                .collect()
        })
        .unwrap_or_default();
    let (file, size) = in_jail(&state, id, Access::Read, move |root| {
        files::open_download(root, &q.path)
    })
    .await?;
    attachment(file, size, &name)
}

/// A file streamed as a download named `name` (already safe for the header).
pub fn attachment(file: std::fs::File, size: u64, name: &str) -> Result<Response, AgentError> {
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(
        tokio::fs::File::from_std(file),
    ));
    Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, size)
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        )
        .body(body)
        .map_err(|e| AgentError::Internal(e.to_string()))
}
