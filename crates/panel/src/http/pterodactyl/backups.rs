//! `/backups`: a server's backups, Pterodactyl's way (paged newest first, with
//! `meta.backup_count`; `checksum` is `sha256:<hex>`, `bytes` the archive's size).

use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::Json;
use cap_protocol::backup::MAX_IGNORED_PATTERNS;
use garde::Validate;
use serde::Deserialize;
use serde_json::{json, Value};

use super::servers::scope;
use super::shapes::{item, Page};
use super::{no_content, ClientResult, Compat};
use crate::auth::{Actor, Principal};
use crate::db::entities::backup;
use crate::error::Error;
use crate::http::extract::{OptionalJson, ValidQuery};
use crate::services::backups::{self as service, NewBackup};
use crate::state::AppState;

fn backup_object(row: &backup::Model) -> Value {
    let ignored: Vec<String> = serde_json::from_value(row.ignored.clone()).unwrap_or_default();
    item(
        "backup",
        json!({
            "uuid": row.id,
            "is_successful": row.status == "completed",
            "is_locked": row.locked,
            "name": row.name,
            "ignored_files": ignored,
            "checksum": row.checksum.as_ref().map(|c| format!("sha256:{c}")),
            "bytes": row.size.unwrap_or(0),
            "created_at": row.created_at,
            "completed_at": row.completed_at,
        }),
    )
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<u64>,
    per_page: Option<u64>,
}

/// `GET .../backups?page=&per_page=` (20 a page by default, as Pterodactyl).
pub async fn index(
    State(state): State<AppState>,
    principal: Principal,
    Path(server): Path<String>,
    OriginalUri(uri): OriginalUri,
    Compat(ValidQuery(query)): Compat<ValidQuery<PageQuery>>,
) -> ClientResult<Json<Value>> {
    let per_page = query.per_page.unwrap_or(20);
    if !(1..=100).contains(&per_page) {
        return Err(Error::validation("per_page", "must be between 1 and 100").into());
    }
    let page = query.page.unwrap_or(1).max(1);
    let scope = scope(&state, &principal, &server, "backup:view").await?;
    let listing = service::list(&state, &scope.server).await?;
    let start = usize::try_from((page - 1) * per_page).unwrap_or(usize::MAX);
    let data = listing
        .backups
        .iter()
        .skip(start)
        .take(usize::try_from(per_page).unwrap_or(usize::MAX))
        .map(backup_object)
        .collect();
    let Json(mut rendered) = Page {
        path: uri.path(),
        page,
        per_page,
        total: listing.backups.len() as u64,
    }
    .render(data);
    rendered["meta"]["backup_count"] = json!(listing.backups.len());
    Ok(Json(rendered))
}

#[derive(Debug, Default, Deserialize, Validate)]
pub struct CreateBody {
    #[garde(inner(length(min = 1, max = 191)))]
    name: Option<String>,
    /// Paths to leave out, one a line (gitignore syntax).
    #[garde(inner(length(max = 65536)))]
    ignored: Option<String>,
    #[serde(default)]
    #[garde(skip)]
    is_locked: bool,
}

/// `POST .../backups` with `{name?, ignored?, is_locked?}`: the backup, started.
pub async fn create(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path(server): Path<String>,
    Compat(OptionalJson(body)): Compat<OptionalJson<CreateBody>>,
) -> ClientResult<Json<Value>> {
    let ignored: Vec<String> = body
        .ignored
        .as_deref()
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if ignored.len() > MAX_IGNORED_PATTERNS {
        return Err(Error::validation(
            "ignored",
            format!("may hold at most {MAX_IGNORED_PATTERNS} lines"),
        )
        .into());
    }
    let scope = scope(&state, &actor, &server, "backup:create").await?;
    let input = NewBackup {
        name: body.name,
        ignored,
        locked: body.is_locked,
        ..NewBackup::default()
    };
    let row = service::create(&state, &actor, &scope.server, input).await?;
    Ok(Json(backup_object(&row)))
}

/// `GET .../backups/{uuid}`.
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path((server, id)): Path<(String, String)>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &principal, &server, "backup:view").await?;
    let row = service::get(&state, &scope.server, &id).await?;
    Ok(Json(backup_object(&row)))
}

/// `POST .../backups/{uuid}/lock`: locks an unlocked backup, unlocks a locked one.
pub async fn lock(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path((server, id)): Path<(String, String)>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &actor, &server, "backup:delete").await?;
    let row = service::get(&state, &scope.server, &id).await?;
    let row = service::set_locked(&state, &actor, &scope.server, &id, !row.locked).await?;
    Ok(Json(backup_object(&row)))
}

#[derive(Debug, Default, Deserialize, Validate)]
pub struct RestoreBody {
    #[serde(default)]
    #[garde(skip)]
    truncate: bool,
}

/// `POST .../backups/{uuid}/restore` with `{truncate}`: 204, the node restores.
pub async fn restore(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path((server, id)): Path<(String, String)>,
    Compat(OptionalJson(body)): Compat<OptionalJson<RestoreBody>>,
) -> ClientResult<StatusCode> {
    let scope = scope(&state, &actor, &server, "backup:restore").await?;
    service::restore(&state, &actor, &scope.server, &id, body.truncate).await?;
    Ok(no_content())
}

/// `DELETE .../backups/{uuid}`.
pub async fn delete(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path((server, id)): Path<(String, String)>,
) -> ClientResult<StatusCode> {
    let scope = scope(&state, &actor, &server, "backup:delete").await?;
    service::delete(&state, &actor, &scope.server, &id).await?;
    Ok(no_content())
}
