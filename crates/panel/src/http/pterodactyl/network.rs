//! `/network/allocations`: a server's allocations, Pterodactyl's way (`is_default` is the
//! primary; ids are ours, strings rather than Pterodactyl's numbers).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use garde::Validate;
use serde::Deserialize;
use serde_json::{json, Value};

use super::servers::scope;
use super::shapes::{item, list};
use super::{no_content, ClientError, ClientResult, Compat};
use crate::auth::{Actor, Principal};
use crate::db::entities::{allocation, server};
use crate::error::Error;
use crate::http::extract::OptionalJson;
use crate::services::allocations::{self as service, Listing};
use crate::services::servers::BIND_IP;
use crate::state::AppState;

fn allocation_object(row: &allocation::Model, listing: &Listing) -> Value {
    let alias = match (&listing.node_address, row.ip.as_str()) {
        (Some(address), BIND_IP) => Some(address.clone()),
        _ => None,
    };
    item(
        "allocation",
        json!({
            "id": row.id,
            "ip": row.ip,
            "ip_alias": alias,
            "port": row.port,
            "notes": Some(&row.notes).filter(|n| !n.is_empty()),
            "is_default": row.is_primary,
        }),
    )
}

/// One allocation of the server, rendered.
async fn one(state: &AppState, server: &server::Model, id: &str) -> ClientResult<Json<Value>> {
    let listing = service::list(state, server).await?;
    let row = listing
        .rows
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ClientError(Error::not_found("allocation")))?;
    Ok(Json(allocation_object(row, &listing)))
}

/// `GET .../network/allocations`: the primary first.
pub async fn index(
    State(state): State<AppState>,
    principal: Principal,
    Path(server): Path<String>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &principal, &server, "network:view").await?;
    let listing = service::list(&state, &scope.server).await?;
    let data = listing
        .rows
        .iter()
        .map(|row| allocation_object(row, &listing))
        .collect();
    Ok(list(data))
}

/// `POST .../network/allocations`: a free port on the primary's address.
pub async fn assign(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path(server): Path<String>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &actor, &server, "network:manage").await?;
    let added = service::add(&state, &actor, &scope.server, "").await?;
    one(&state, &scope.server, &added.id).await
}

#[derive(Debug, Default, Deserialize, Validate)]
pub struct NotesBody {
    #[garde(inner(length(max = 191)))]
    notes: Option<String>,
}

/// `POST .../network/allocations/{id}` with `{notes}`.
pub async fn notes(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path((server, id)): Path<(String, String)>,
    Compat(OptionalJson(body)): Compat<OptionalJson<NotesBody>>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &actor, &server, "network:manage").await?;
    let notes = body.notes.unwrap_or_default();
    if notes.chars().any(char::is_control) {
        return Err(
            Error::validation("notes", "must be one line without control characters").into(),
        );
    }
    service::set_notes(&state, &actor, &scope.server, &id, &notes).await?;
    one(&state, &scope.server, &id).await
}

/// `POST .../network/allocations/{id}/primary`.
pub async fn primary(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path((server, id)): Path<(String, String)>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &actor, &server, "network:manage").await?;
    service::make_primary(&state, &actor, &scope.server, &id).await?;
    one(&state, &scope.server, &id).await
}

/// `DELETE .../network/allocations/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path((server, id)): Path<(String, String)>,
) -> ClientResult<StatusCode> {
    let scope = scope(&state, &actor, &server, "network:manage").await?;
    service::remove(&state, &actor, &scope.server, &id).await?;
    Ok(no_content())
}
