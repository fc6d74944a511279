//! `/api/servers/{id}/files/...`: the agent's jailed file API through the panel, with the
//! `file:*` permissions. Uploads and downloads stream; nothing is buffered whole.

use axum::body::Body;
use axum::extract::{FromRequestParts, Multipart, State};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use cap_protocol::files::{
    ArchiveFormat, CompressRequest, DecompressRequest, DeleteRequest, FileEntry, FileKind,
    MoveRequest, PathRequest, WriteFile,
};
use chrono::{DateTime, Utc};
use garde::Validate;
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::http::access::{Access, ApiRoutes, ServerScope};
use crate::http::envelope::Envelope;
use crate::http::extract::{ValidJson, ValidQuery};
use crate::http::openapi::describe::{DocInput, Note, OperationDoc};
use crate::services::files;
use crate::state::AppState;

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    let max_upload = api.state().config().max_upload_bytes;
    let read = Access::Server("file:read");
    let write = Access::Server("file:write");
    api.add(Method::GET, "/servers/{id}/files/list", read, list)
        .add(Method::GET, "/servers/{id}/files/contents", read, contents)
        .note(Note::Text("The file's text."))
        .add(Method::GET, "/servers/{id}/files/download", read, download)
        .note(Note::File("The file, as an attachment."))
        .add(
            Method::PUT,
            "/servers/{id}/files/contents",
            write,
            write_contents,
        )
        .add_streaming(
            Method::POST,
            "/servers/{id}/files/upload",
            write,
            upload,
            max_upload,
        )
        .add(Method::POST, "/servers/{id}/files/mkdir", write, mkdir)
        .add(Method::POST, "/servers/{id}/files/rename", write, rename)
        .add(Method::POST, "/servers/{id}/files/copy", write, copy)
        .add(
            Method::POST,
            "/servers/{id}/files/delete",
            Access::Server("file:delete"),
            delete,
        )
        .add(
            Method::POST,
            "/servers/{id}/files/compress",
            Access::Server("file:archive"),
            compress,
        )
        .add(
            Method::POST,
            "/servers/{id}/files/decompress",
            Access::Server("file:archive"),
            decompress,
        )
}

/// The agent wants paths relative to the server directory; the UI shows them from `/`.
fn relative(path: &str) -> String {
    path.trim_start_matches('/').to_owned()
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FileView {
    name: String,
    path: String,
    kind: &'static str,
    size: u64,
    modified: Option<DateTime<Utc>>,
    mode: u32,
}

impl From<FileEntry> for FileView {
    fn from(e: FileEntry) -> Self {
        FileView {
            kind: match e.kind {
                FileKind::File => "file",
                FileKind::Directory => "dir",
                FileKind::Symlink => "symlink",
                FileKind::Other => "other",
            },
            path: format!("/{}", e.path.trim_start_matches('/')),
            name: e.name,
            size: e.size,
            modified: e.modified,
            mode: e.mode,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PathParam {
    /// A path inside the server directory, from `/` (default: the directory itself).
    #[serde(default)]
    path: String,
}

async fn list(
    State(state): State<AppState>,
    scope: ServerScope,
    ValidQuery(q): ValidQuery<PathParam>,
) -> Result<Envelope<Vec<FileView>>> {
    let entries = files::list(&state, &scope.server, &relative(&q.path)).await?;
    Ok(Envelope::ok(
        entries.into_iter().map(FileView::from).collect(),
    ))
}

/// A text file's contents as `text/plain`.
async fn contents(
    State(state): State<AppState>,
    scope: ServerScope,
    ValidQuery(q): ValidQuery<PathParam>,
) -> Result<Response> {
    let file = files::read(&state, &scope.server, &relative(&q.path)).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        file.content,
    )
        .into_response())
}

async fn write_contents(
    State(state): State<AppState>,
    scope: ServerScope,
    actor: Actor,
    ValidQuery(q): ValidQuery<PathParam>,
    body: String,
) -> Result<Envelope<FileView>> {
    let request = WriteFile {
        path: relative(&q.path),
        content: body,
    };
    let entry = files::write(&state, &actor, &scope.server, request).await?;
    Ok(Envelope::ok(entry.into()))
}

/// Streams the agent's download through.
async fn download(
    State(state): State<AppState>,
    scope: ServerScope,
    ValidQuery(q): ValidQuery<PathParam>,
) -> Result<Response> {
    let upstream = files::download(&state, &scope.server, &relative(&q.path)).await?;
    let name = q
        .path
        .rsplit('/')
        .next()
        .unwrap_or("download")
        .replace(['"', '\\'], "_");
    let mut response = Response::new(Body::from_stream(upstream.bytes_stream()));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(value) = header::HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `multipart/form-data` with one or more files, each streamed to `<path>/<file name>`.
async fn upload(
    State(state): State<AppState>,
    scope: ServerScope,
    actor: Actor,
    ValidQuery(q): ValidQuery<PathParam>,
    mut multipart: Multipart,
) -> Result<Envelope<Vec<FileView>>> {
    let upload = files::start_upload(&state, &scope.server)?;
    let dir = relative(&q.path);
    let mut stored = Vec::new();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| upload_error(&state, e))?
    {
        let Some(file_name) = field.file_name().map(str::to_owned) else {
            continue;
        };
        if file_name.is_empty() || file_name.contains(['/', '\\', '\0']) || file_name == ".." {
            return Err(Error::validation(
                "file",
                format!("invalid file name {file_name:?}"),
            ));
        }
        let target = if dir.is_empty() {
            file_name
        } else {
            format!("{}/{file_name}", dir.trim_end_matches('/'))
        };
        // The field borrows the request; a small channel carries its chunks to the
        // agent request while both are driven here, so memory stays bounded.
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(4);
        let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
        // A failure reading the browser's side is what happened, whatever the agent makes
        // of the interrupted stream; otherwise the agent's answer stands.
        let feed = async move {
            loop {
                match field.chunk().await {
                    Ok(Some(bytes)) => {
                        if tx.send(Ok(bytes)).await.is_err() {
                            return None;
                        }
                    }
                    Ok(None) => return None,
                    Err(e) => {
                        tx.send(Err(std::io::Error::other("upload interrupted")))
                            .await
                            .ok();
                        return Some(e);
                    }
                }
            }
        };
        let (entry, failed) = tokio::join!(upload.file(&target, body), feed);
        if let Some(e) = failed {
            return Err(upload_error(&state, e));
        }
        stored.push(entry?.into());
    }
    if stored.is_empty() {
        return Err(Error::validation("file", "no file in the upload"));
    }
    let paths: Vec<&str> = stored.iter().map(|f: &FileView| f.path.as_str()).collect();
    files::uploaded(&state, &actor, &scope.server, &paths).await?;
    Ok(Envelope::ok(stored))
}

/// What went wrong reading an upload from the browser.
fn upload_error(state: &AppState, e: axum::extract::multipart::MultipartError) -> Error {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        Error::PayloadTooLarge(format!(
            "upload larger than the {} bytes allowed",
            state.config().max_upload_bytes
        ))
    } else {
        Error::BadRequest(format!("malformed upload: {}", e.body_text()))
    }
}

/// A stream over a channel's items (reqwest needs a `'static` stream).
fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// The caller of a file action on a server, as every action handler takes it.
struct FileCaller {
    state: AppState,
    scope: ServerScope,
    actor: Actor,
}

impl FromRequestParts<AppState> for FileCaller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        Ok(FileCaller {
            state: state.clone(),
            scope: ServerScope::from_request_parts(parts, state).await?,
            actor: Actor::from_request_parts(parts, state).await?,
        })
    }
}

impl DocInput for FileCaller {
    fn describe(op: &mut OperationDoc, schemas: &mut SchemaGenerator) {
        ServerScope::describe(op, schemas);
        Actor::describe(op, schemas);
    }
}

impl FileCaller {
    /// Has the agent do `action` with `request` (audited) and answers with no data.
    async fn act(&self, action: &str, request: &(impl Serialize + Sync)) -> Result<Envelope<()>> {
        files::act(
            &self.state,
            &self.actor,
            &self.scope.server,
            action,
            request,
        )
        .await?;
        Ok(Envelope::ok(()))
    }
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PathBody {
    #[garde(length(min = 1, max = 4096))]
    path: String,
}

async fn mkdir(caller: FileCaller, ValidJson(body): ValidJson<PathBody>) -> Result<Envelope<()>> {
    let path = relative(&body.path);
    caller.act("mkdir", &PathRequest { path }).await
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    #[garde(length(min = 1, max = 4096))]
    from: String,
    #[garde(length(min = 1, max = 4096))]
    to: String,
}

impl From<MoveBody> for MoveRequest {
    fn from(b: MoveBody) -> Self {
        MoveRequest {
            from: relative(&b.from),
            to: relative(&b.to),
        }
    }
}

async fn rename(caller: FileCaller, ValidJson(body): ValidJson<MoveBody>) -> Result<Envelope<()>> {
    caller.act("rename", &MoveRequest::from(body)).await
}

async fn copy(caller: FileCaller, ValidJson(body): ValidJson<MoveBody>) -> Result<Envelope<()>> {
    caller.act("copy", &MoveRequest::from(body)).await
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PathsBody {
    #[garde(length(min = 1, max = 1000), inner(length(min = 1, max = 4096)))]
    paths: Vec<String>,
}

async fn delete(caller: FileCaller, ValidJson(body): ValidJson<PathsBody>) -> Result<Envelope<()>> {
    let paths = body.paths.iter().map(|p| relative(p)).collect();
    caller.act("delete", &DeleteRequest { paths }).await
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompressBody {
    #[garde(length(min = 1, max = 1000), inner(length(min = 1, max = 4096)))]
    paths: Vec<String>,
    #[garde(length(min = 1, max = 4096))]
    destination: String,
    /// `tar.gz` or `zip`.
    #[garde(length(min = 1, max = 8))]
    format: String,
}

async fn compress(
    caller: FileCaller,
    ValidJson(body): ValidJson<CompressBody>,
) -> Result<Envelope<()>> {
    let format = match body.format.as_str() {
        "tar.gz" | "tgz" => ArchiveFormat::TarGz,
        "zip" => ArchiveFormat::Zip,
        _ => return Err(Error::validation("format", "must be tar.gz or zip")),
    };
    let request = CompressRequest {
        paths: body.paths.iter().map(|p| relative(p)).collect(),
        destination: relative(&body.destination),
        format,
    };
    caller.act("compress", &request).await
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecompressBody {
    #[garde(length(min = 1, max = 4096))]
    path: String,
    #[garde(inner(length(max = 4096)))]
    destination: Option<String>,
}

async fn decompress(
    caller: FileCaller,
    ValidJson(body): ValidJson<DecompressBody>,
) -> Result<Envelope<()>> {
    let request = DecompressRequest {
        path: relative(&body.path),
        destination: body.destination.as_deref().map(relative),
    };
    caller.act("decompress", &request).await
}
