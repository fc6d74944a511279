//! Subusers, Pterodactyl's way: addressed by their account's uuid, permissions by
//! Pterodactyl's names (mapped to our keys with [`super::permissions`]).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use garde::Validate;
use serde::Deserialize;
use serde_json::{json, Value};

use super::permissions::{keys_for, names_for};
use super::servers::scope;
use super::shapes::{item, list};
use super::{no_content, ClientError, ClientResult, Compat};
use crate::auth::{two_factor, Actor, Principal};
use crate::db::entities::{subuser, user};
use crate::error::Error;
use crate::http::extract::ValidJson;
use crate::services::server_access::ServerScope;
use crate::services::subusers as service;
use crate::state::AppState;

async fn subuser_object(
    state: &AppState,
    subuser: &subuser::Model,
    user: Option<&user::Model>,
) -> ClientResult<Value> {
    let keys: Vec<String> = service::granted(subuser).into_iter().collect();
    Ok(item(
        "server_subuser",
        json!({
            "uuid": subuser.user_id,
            "username": user.map(|u| u.username.as_str()),
            "email": user.map(|u| u.email.as_str()),
            "image": null,
            "2fa_enabled": two_factor::enabled_for(state, &subuser.user_id).await?,
            "created_at": subuser.created_at,
            "permissions": names_for(&keys, false),
        }),
    ))
}

/// The subuser whose account is `uuid`, with that account.
async fn find(
    state: &AppState,
    scope: &ServerScope,
    uuid: &str,
) -> ClientResult<(subuser::Model, Option<user::Model>)> {
    service::list(state, &scope.server.id)
        .await?
        .into_iter()
        .find(|(s, _)| s.user_id == uuid)
        .ok_or_else(|| ClientError(Error::not_found("subuser")))
}

/// `GET .../users`.
pub async fn index(
    State(state): State<AppState>,
    principal: Principal,
    Path(server): Path<String>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &principal, &server, "server:view").await?;
    let mut data = Vec::new();
    for (subuser, user) in service::list(&state, &scope.server.id).await? {
        data.push(subuser_object(&state, &subuser, user.as_ref()).await?);
    }
    Ok(list(data))
}

/// `GET .../users/{uuid}`.
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path((server, uuid)): Path<(String, String)>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &principal, &server, "server:view").await?;
    let (subuser, user) = find(&state, &scope, &uuid).await?;
    Ok(Json(subuser_object(&state, &subuser, user.as_ref()).await?))
}

#[derive(Debug, Deserialize, Validate)]
pub struct CreateBody {
    #[garde(length(min = 1, max = 191))]
    email: String,
    #[garde(length(max = 64), inner(length(min = 1, max = 64)))]
    permissions: Vec<String>,
}

/// `POST .../users` with `{email, permissions}`: invites an existing account (by e-mail
/// or username; unlike Pterodactyl no account is created).
pub async fn create(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path(server): Path<String>,
    Compat(ValidJson(body)): Compat<ValidJson<CreateBody>>,
) -> ClientResult<Json<Value>> {
    let keys = keys_for(&body.permissions)?;
    let scope = scope(&state, &actor, &server, "server:update").await?;
    let added = service::add(&state, &actor, &scope, &body.email, keys).await?;
    let (subuser, user) = find(&state, &scope, &added.user_id).await?;
    Ok(Json(subuser_object(&state, &subuser, user.as_ref()).await?))
}

#[derive(Debug, Deserialize, Validate)]
pub struct UpdateBody {
    #[garde(length(max = 64), inner(length(min = 1, max = 64)))]
    permissions: Vec<String>,
}

/// `POST .../users/{uuid}` with `{permissions}`: replaces the grant.
pub async fn update(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path((server, uuid)): Path<(String, String)>,
    Compat(ValidJson(body)): Compat<ValidJson<UpdateBody>>,
) -> ClientResult<Json<Value>> {
    let keys = keys_for(&body.permissions)?;
    let scope = scope(&state, &actor, &server, "server:update").await?;
    let (subuser, user) = find(&state, &scope, &uuid).await?;
    let updated = service::update(&state, &actor, &scope, &subuser.id, keys).await?;
    Ok(Json(subuser_object(&state, &updated, user.as_ref()).await?))
}

/// `DELETE .../users/{uuid}`.
pub async fn delete(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path((server, uuid)): Path<(String, String)>,
) -> ClientResult<StatusCode> {
    let scope = scope(&state, &actor, &server, "server:update").await?;
    let (subuser, _) = find(&state, &scope, &uuid).await?;
    service::remove(&state, &actor, &scope, &subuser.id).await?;
    Ok(no_content())
}
