//! Files, Pterodactyl's way: paths from the server root (`/world/level.dat`), names
//! relative to a `root` for batch actions. The agent's jail applies as on every file
//! route of ours.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use cap_protocol::files::{
    DeleteRequest, FileEntry, FileKind, MoveRequest, PathRequest, WriteFile,
};
use garde::Validate;
use serde::Deserialize;
use serde_json::{json, Value};

use super::servers::scope;
use super::shapes::{item, list as list_of};
use super::{no_content, ClientResult, Compat};
use crate::auth::{Actor, Principal};
use crate::http::extract::{ValidJson, ValidQuery};
use crate::http::routes::nodes::panel_url;
use crate::services::files as service;
use crate::state::AppState;

/// Most entries one batch action names.
pub(super) const MAX_BATCH: usize = 100;

/// A path from the server root as our file API takes it (relative, no leading `/`).
pub(super) fn relative(path: &str) -> String {
    path.trim_start_matches('/').to_owned()
}

/// `name` inside `root`, relative.
pub(super) fn joined(root: &str, name: &str) -> String {
    let root = relative(root);
    let name = name.trim_start_matches('/');
    if root.is_empty() {
        name.to_owned()
    } else {
        format!("{}/{name}", root.trim_end_matches('/'))
    }
}

/// `-rw-r--r--` from the mode bits.
fn mode_string(entry: &FileEntry) -> String {
    let kind = match entry.kind {
        FileKind::Directory => 'd',
        FileKind::Symlink => 'l',
        FileKind::File | FileKind::Other => '-',
    };
    let mut out = String::from(kind);
    for shift in [6, 3, 0] {
        let bits = (entry.mode >> shift) & 0o7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        out.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    out
}

pub(super) fn file_object(entry: &FileEntry) -> Value {
    let modified = entry.modified.map(|m| m.to_rfc3339());
    item(
        "file_object",
        json!({
            "name": entry.name,
            "mode": mode_string(entry),
            "mode_bits": format!("{:o}", entry.mode & 0o777),
            "size": entry.size,
            "is_file": entry.kind == FileKind::File,
            "is_symlink": entry.kind == FileKind::Symlink,
            "mimetype": if entry.kind == FileKind::Directory { "inode/directory" } else { "application/octet-stream" },
            "created_at": modified,
            "modified_at": modified,
        }),
    )
}

#[derive(Debug, Deserialize)]
pub struct DirectoryQuery {
    #[serde(default)]
    directory: String,
}

/// `GET .../files/list?directory=/`.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(server): Path<String>,
    Compat(ValidQuery(query)): Compat<ValidQuery<DirectoryQuery>>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &principal, &server, "file:read").await?;
    let entries = service::list(&state, &scope.server, &relative(&query.directory)).await?;
    Ok(list_of(entries.iter().map(file_object).collect()))
}

#[derive(Debug, Deserialize)]
pub struct FileQuery {
    file: String,
}

/// `GET .../files/contents?file=/server.properties`: the file as text.
pub async fn contents(
    State(state): State<AppState>,
    principal: Principal,
    Path(server): Path<String>,
    Compat(ValidQuery(query)): Compat<ValidQuery<FileQuery>>,
) -> ClientResult<impl IntoResponse> {
    let scope = scope(&state, &principal, &server, "file:read").await?;
    let file = service::read(&state, &scope.server, &relative(&query.file)).await?;
    Ok((
        [("content-type", "text/plain; charset=utf-8")],
        file.content,
    ))
}

/// `GET .../files/download?file=/world.zip`: a signed URL that downloads the file once,
/// without credentials, within fifteen minutes (as Wings' download links do).
pub async fn download(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    headers: HeaderMap,
    Path(server): Path<String>,
    Compat(ValidQuery(query)): Compat<ValidQuery<FileQuery>>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &actor, &server, "file:read").await?;
    let token = service::download_link(&state, &actor, &scope.server, &relative(&query.file))?;
    let url = format!(
        "{}/api/client/download/file?token={token}",
        panel_url(&state, &headers)
    );
    Ok(Json(item("signed_url", json!({ "url": url }))))
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    token: String,
}

/// `GET /api/client/download/file?token=…`: the file of a download link, streamed from
/// the node.
pub async fn redeem(
    State(state): State<AppState>,
    Compat(ValidQuery(query)): Compat<ValidQuery<TokenQuery>>,
) -> ClientResult<Response> {
    let (server, path) = service::redeem_link(&state, &query.token).await?;
    let upstream = service::download(&state, &server, &path).await?;
    let name = path
        .rsplit('/')
        .next()
        .unwrap_or("download")
        .replace(['"', '\\'], "_");
    let disposition = format!("attachment; filename=\"{name}\"");
    let headers = [
        (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
        (header::CONTENT_DISPOSITION, disposition),
    ];
    Ok((headers, Body::from_stream(upstream.bytes_stream())).into_response())
}

/// `POST .../files/write?file=/notes.txt` with the new contents as the raw body.
pub async fn write(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path(server): Path<String>,
    Compat(ValidQuery(query)): Compat<ValidQuery<FileQuery>>,
    body: String,
) -> ClientResult<StatusCode> {
    let scope = scope(&state, &actor, &server, "file:write").await?;
    let request = WriteFile {
        path: relative(&query.file),
        content: body,
    };
    service::write(&state, &actor, &scope.server, request).await?;
    Ok(no_content())
}

#[derive(Debug, Deserialize, Validate)]
pub struct CreateFolder {
    #[garde(length(max = 4096))]
    #[serde(default)]
    root: String,
    #[garde(length(min = 1, max = 255))]
    name: String,
}

/// `POST .../files/create-folder` with `{root, name}`.
pub async fn create_folder(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path(server): Path<String>,
    Compat(ValidJson(body)): Compat<ValidJson<CreateFolder>>,
) -> ClientResult<StatusCode> {
    let scope = scope(&state, &actor, &server, "file:write").await?;
    let request = PathRequest {
        path: joined(&body.root, &body.name),
    };
    service::act(&state, &actor, &scope.server, "mkdir", &request).await?;
    Ok(no_content())
}

#[derive(Debug, Deserialize, Validate)]
pub struct Rename {
    #[garde(length(max = 4096))]
    #[serde(default)]
    root: String,
    #[garde(length(min = 1, max = MAX_BATCH), dive)]
    files: Vec<RenamePair>,
}

#[derive(Debug, Deserialize, Validate)]
pub struct RenamePair {
    #[garde(length(min = 1, max = 4096))]
    from: String,
    #[garde(length(min = 1, max = 4096))]
    to: String,
}

/// `PUT .../files/rename` with `{root, files: [{from, to}]}`.
pub async fn rename(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path(server): Path<String>,
    Compat(ValidJson(body)): Compat<ValidJson<Rename>>,
) -> ClientResult<StatusCode> {
    let scope = scope(&state, &actor, &server, "file:write").await?;
    for pair in &body.files {
        let request = MoveRequest {
            from: joined(&body.root, &pair.from),
            to: joined(&body.root, &pair.to),
        };
        service::act(&state, &actor, &scope.server, "rename", &request).await?;
    }
    Ok(no_content())
}

#[derive(Debug, Deserialize, Validate)]
pub struct Delete {
    #[garde(length(max = 4096))]
    #[serde(default)]
    root: String,
    #[garde(length(min = 1, max = MAX_BATCH), inner(length(min = 1, max = 4096)))]
    files: Vec<String>,
}

/// `POST .../files/delete` with `{root, files: [names]}`.
pub async fn delete(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path(server): Path<String>,
    Compat(ValidJson(body)): Compat<ValidJson<Delete>>,
) -> ClientResult<StatusCode> {
    let scope = scope(&state, &actor, &server, "file:delete").await?;
    let request = DeleteRequest {
        paths: body.files.iter().map(|f| joined(&body.root, f)).collect(),
    };
    service::act(&state, &actor, &scope.server, "delete", &request).await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_from_the_root_become_relative() {
        assert_eq!(relative("/world/level.dat"), "world/level.dat");
        assert_eq!(joined("/", "plugins"), "plugins");
        assert_eq!(joined("/config/", "a.yml"), "config/a.yml");
        assert_eq!(joined("", "/x"), "x");
    }
}
