//! `/api/servers/{id}/backups`: a server's backups with the `backup:*` permissions, and
//! `/api/settings/backups/s3`: the S3 bucket backups go to (`admin:settings`). Progress
//! is read by polling a backup (the rows follow the node's events about twice a second).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, Method};
use axum::response::Response;
use cap_protocol::backup::{BackupFormat, BackupStatus, RestoreRecord, MAX_IGNORED_PATTERNS};
use chrono::{DateTime, Utc};
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::auth::Actor;
use crate::db::entities::backup;
use crate::domain::BackupPolicy;
use crate::error::Result;
use crate::http::access::{Access, ApiRoutes, ServerScope};
use crate::http::envelope::Envelope;
use crate::http::extract::ValidJson;
use crate::http::openapi::describe::Note;
use crate::services::backups::{self as service, s3, NewBackup};
use crate::state::AppState;

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    let view = Access::Server("backup:view");
    let settings = Access::Permission("admin:settings");
    api.add(Method::GET, "/servers/{id}/backups", view, list)
        .add(
            Method::POST,
            "/servers/{id}/backups",
            Access::Server("backup:create"),
            create,
        )
        .note(Note::ReachesAgent)
        .add(
            Method::GET,
            "/servers/{id}/backups/restore",
            view,
            last_restore,
        )
        .note(Note::ReachesAgent)
        .add(Method::GET, "/servers/{id}/backups/{backup_id}", view, get)
        .add(
            Method::GET,
            "/servers/{id}/backups/{backup_id}/download",
            view,
            download,
        )
        .note(Note::File("The archive (.tar.zst or .tar.gz)."))
        .add(
            Method::POST,
            "/servers/{id}/backups/{backup_id}/restore",
            Access::Server("backup:restore"),
            restore,
        )
        .note(Note::ReachesAgent)
        .add(
            Method::PATCH,
            "/servers/{id}/backups/{backup_id}",
            Access::Server("backup:delete"),
            update,
        )
        .add(
            Method::DELETE,
            "/servers/{id}/backups/{backup_id}",
            Access::Server("backup:delete"),
            delete,
        )
        .note(Note::ReachesAgent)
        .add(Method::GET, "/settings/backups/s3", settings, s3_settings)
        .add(Method::PUT, "/settings/backups/s3", settings, set_s3)
        .add(Method::DELETE, "/settings/backups/s3", settings, clear_s3)
}

/// A server's backup limit and retention, as admins set it on the server.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyBody {
    /// How many backups the server may keep (failed ones do not count); 0 = none.
    #[garde(skip)]
    limit: i32,
    /// Keep only the newest N completed backups (locked ones are always kept).
    #[serde(default)]
    #[garde(skip)]
    keep_last: Option<i32>,
    /// Keep completed backups for D days (locked ones are always kept).
    #[serde(default)]
    #[garde(skip)]
    keep_days: Option<i32>,
}

impl From<PolicyBody> for BackupPolicy {
    fn from(p: PolicyBody) -> Self {
        BackupPolicy {
            limit: p.limit,
            keep_last: p.keep_last,
            keep_days: p.keep_days,
        }
    }
}

impl From<BackupPolicy> for PolicyBody {
    fn from(p: BackupPolicy) -> Self {
        PolicyBody {
            limit: p.limit,
            keep_last: p.keep_last,
            keep_days: p.keep_days,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupView {
    id: String,
    name: String,
    /// `pending`, `running`, `completed` or `failed`.
    status: String,
    /// `local` (on the server's node) or `s3`.
    adapter: String,
    /// `tar_zstd` or `tar_gz`.
    format: String,
    /// Bytes of the archive, once completed.
    size: Option<i64>,
    /// SHA-256 of the archive, once completed.
    checksum: Option<String>,
    ignored: Vec<String>,
    locked: bool,
    /// Bytes of server files read so far.
    bytes: i64,
    /// Files archived so far.
    files: i64,
    /// Why it failed.
    error: Option<String>,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

impl From<backup::Model> for BackupView {
    fn from(b: backup::Model) -> Self {
        BackupView {
            ignored: serde_json::from_value(b.ignored).unwrap_or_default(),
            id: b.id,
            name: b.name,
            status: b.status,
            adapter: b.adapter,
            format: b.format,
            size: b.size,
            checksum: b.checksum,
            locked: b.locked,
            bytes: b.bytes,
            files: b.files,
            error: b.error,
            created_at: b.created_at,
            completed_at: b.completed_at,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupList {
    /// Newest first.
    items: Vec<BackupView>,
    /// The server's limit and retention.
    policy: PolicyBody,
}

async fn list(State(state): State<AppState>, scope: ServerScope) -> Result<Envelope<BackupList>> {
    let listing = service::list(&state, &scope.server).await?;
    Ok(Envelope::ok(BackupList {
        items: listing.backups.into_iter().map(Into::into).collect(),
        policy: listing.policy.into(),
    }))
}

fn pattern(value: &str, _: &()) -> garde::Result {
    if value.trim().is_empty() || value.contains(['\n', '\r', '\0']) {
        return Err(garde::Error::new("must be one non-empty line"));
    }
    Ok(())
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateBody {
    /// Default: `Backup <date and time>`.
    #[garde(inner(length(min = 1, max = 191)))]
    name: Option<String>,
    /// Paths to leave out, in gitignore syntax (besides `.capignore` / `.pteroignore` in
    /// the server directory).
    #[serde(default)]
    #[garde(length(max = MAX_IGNORED_PATTERNS), inner(length(max = 4096), custom(pattern)))]
    ignored: Vec<String>,
    /// Locked backups are kept by retention and cannot be deleted until unlocked.
    #[serde(default)]
    #[garde(skip)]
    locked: bool,
    /// `tar_zstd` (default) or `tar_gz`.
    #[serde(default)]
    #[garde(skip)]
    format: BackupFormat,
}

async fn create(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    ValidJson(body): ValidJson<CreateBody>,
) -> Result<Envelope<BackupView>> {
    let input = NewBackup {
        name: body.name,
        ignored: body.ignored,
        locked: body.locked,
        format: body.format,
    };
    let row = service::create(&state, &actor, &scope.server, input).await?;
    Ok(Envelope::ok(row.into()).with_message("backup started"))
}

async fn get(
    State(state): State<AppState>,
    scope: ServerScope,
    Path((_, backup_id)): Path<(String, String)>,
) -> Result<Envelope<BackupView>> {
    Ok(Envelope::ok(
        service::get(&state, &scope.server, &backup_id)
            .await?
            .into(),
    ))
}

/// Streams the archive from the node or relays it from the bucket.
async fn download(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    Path((_, backup_id)): Path<(String, String)>,
) -> Result<Response> {
    let download = service::download(&state, &actor, &scope.server, &backup_id).await?;
    let mut response = Response::new(Body::from_stream(download.body.bytes_stream()));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    let name = download.file_name.replace(['"', '\\', '/'], "_");
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Some(size) = download.size {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    }
    Ok(response)
}

/// A restore as the node tells it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreView {
    backup_id: String,
    /// `pending`, `running`, `completed` or `failed`.
    status: BackupStatus,
    /// Files written so far.
    files: u64,
    /// Bytes written so far.
    bytes: u64,
    /// What went wrong, and what was and was not restored.
    error: Option<String>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl From<RestoreRecord> for RestoreView {
    fn from(r: RestoreRecord) -> Self {
        RestoreView {
            backup_id: r.backup_id.to_string(),
            status: r.status,
            files: r.files,
            bytes: r.bytes,
            error: r.error,
            created_at: r.created_at,
            finished_at: r.finished_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreBody {
    /// Empty the server directory before extracting.
    #[garde(skip)]
    truncate: bool,
}

async fn restore(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    Path((_, backup_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<RestoreBody>,
) -> Result<Envelope<RestoreView>> {
    let record = service::restore(&state, &actor, &scope.server, &backup_id, body.truncate).await?;
    Ok(Envelope::ok(record.into())
        .with_message("restoring; the server is stopped first if it runs and stays stopped"))
}

/// The server's last restore as its node tells it (poll while it runs).
async fn last_restore(
    State(state): State<AppState>,
    scope: ServerScope,
) -> Result<Envelope<RestoreView>> {
    Ok(Envelope::ok(
        service::last_restore(&state, &scope.server).await?.into(),
    ))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    /// Locked backups are kept by retention and cannot be deleted until unlocked.
    #[garde(skip)]
    locked: bool,
}

/// Locks or unlocks a backup.
async fn update(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    Path((_, backup_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<UpdateBody>,
) -> Result<Envelope<BackupView>> {
    let row = service::set_locked(&state, &actor, &scope.server, &backup_id, body.locked).await?;
    Ok(Envelope::ok(row.into()))
}

async fn delete(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    Path((_, backup_id)): Path<(String, String)>,
) -> Result<Envelope<()>> {
    service::delete(&state, &actor, &scope.server, &backup_id).await?;
    Ok(Envelope::ok(()).with_message("backup deleted"))
}

/// The bucket's settings (never the secret key), or `null` when backups stay on the nodes.
async fn s3_settings(State(state): State<AppState>) -> Result<Envelope<Option<s3::S3View>>> {
    Ok(Envelope::ok(s3::settings(&state).await?))
}

#[derive(Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct S3Body {
    /// `https://s3.example.com` (or `http://` for a store on a private network).
    #[garde(length(min = 1, max = 512))]
    endpoint: String,
    #[garde(length(min = 3, max = 63))]
    bucket: String,
    #[garde(length(min = 1, max = 64))]
    region: String,
    /// Address the bucket as `endpoint/bucket` (most self-hosted stores) instead of
    /// `bucket.endpoint`.
    #[serde(default)]
    #[garde(skip)]
    path_style: bool,
    #[garde(length(min = 1, max = 256))]
    access_key: String,
    /// Stored encrypted, never shown; leave out to keep the stored one.
    #[garde(inner(length(min = 1, max = 256)))]
    secret_key: Option<String>,
    /// MiB per part of a multipart upload (5 to 64; each running backup holds one part
    /// in its node's memory).
    #[serde(default = "default_part_size")]
    #[garde(skip)]
    part_size_mib: u64,
}

impl std::fmt::Debug for S3Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Body")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

fn default_part_size() -> u64 {
    8
}

/// Saves the bucket after checking it answers to the credentials.
async fn set_s3(
    State(state): State<AppState>,
    actor: Actor,
    ValidJson(body): ValidJson<S3Body>,
) -> Result<Envelope<s3::S3View>> {
    let input = s3::S3Input {
        endpoint: body.endpoint,
        bucket: body.bucket,
        region: body.region,
        path_style: body.path_style,
        access_key: body.access_key,
        secret_key: body.secret_key,
        part_size_mib: body.part_size_mib,
    };
    Ok(Envelope::ok(s3::set(&state, &actor, input).await?)
        .with_message("new backups go to this bucket"))
}

async fn clear_s3(State(state): State<AppState>, actor: Actor) -> Result<Envelope<()>> {
    s3::clear(&state, &actor).await?;
    Ok(Envelope::ok(()).with_message("new backups stay on their nodes"))
}
