//! Startup and settings: the server's variables as Pterodactyl's egg variables with the
//! startup command and Docker images, a variable's change, rename and reinstall.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use cap_templates::Variable;
use garde::Validate;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::servers::scope;
use super::shapes::item;
use super::{no_content, ClientError, ClientResult, Compat};
use crate::auth::{Actor, Principal};
use crate::domain::Name;
use crate::error::Error;
use crate::http::extract::ValidJson;
use crate::services::servers::{self as service, ServerChanges};
use crate::state::AppState;

fn egg_variable(variable: &Variable, values: &BTreeMap<String, String>) -> Value {
    item(
        "egg_variable",
        json!({
            "name": variable.name,
            "description": variable.description,
            "env_variable": variable.env_variable,
            "default_value": variable.default_value,
            "server_value": values.get(&variable.env_variable).unwrap_or(&variable.default_value),
            "is_editable": variable.user_editable,
            "rules": variable.rules.to_pipe_string(),
        }),
    )
}

/// `GET .../startup`: the variables the caller may see, and in `meta` the startup command
/// (with values written in for holders of `server:update`, who may see the rendered
/// command on our own API too; the template's command for the others), the raw command
/// and the template's Docker images (label → image).
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(server): Path<String>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &principal, &server, "server:view").await?;
    let (template, values) = service::variables_of(&state, &scope.server).await?;
    let data: Vec<Value> = template
        .alt
        .variables
        .iter()
        .filter(|v| principal.is_admin() || v.user_viewable)
        .map(|v| egg_variable(v, &values))
        .collect();
    let raw = scope
        .server
        .startup_override
        .clone()
        .unwrap_or_else(|| template.alt.startup().to_owned());
    let startup = if scope.permissions.contains("server:update") {
        service::preview(&state, &scope.server)
            .await?
            .startup
            .display
    } else {
        raw.clone()
    };
    let images: Map<String, Value> = template
        .alt
        .docker_images
        .iter()
        .map(|(label, image)| (label.clone(), Value::String(image.clone())))
        .collect();
    Ok(Json(json!({
        "object": "list",
        "data": data,
        "meta": {
            "startup_command": startup,
            "docker_images": images,
            "raw_startup_command": raw,
        },
    })))
}

#[derive(Debug, Deserialize, Validate)]
pub struct VariableBody {
    #[garde(length(min = 1, max = 191))]
    key: String,
    #[garde(length(max = 4096))]
    #[serde(default)]
    value: String,
}

/// `PUT .../startup/variable` with `{key, value}`: the changed variable.
pub async fn set_variable(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path(server): Path<String>,
    Compat(ValidJson(body)): Compat<ValidJson<VariableBody>>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &actor, &server, "server:update").await?;
    let given = BTreeMap::from([(body.key.clone(), body.value)]);
    let values = service::set_variables(&state, &actor, &scope.server, &given).await?;
    let (template, _) = service::variables_of(&state, &scope.server).await?;
    let variable = template
        .alt
        .variable(&body.key)
        .ok_or_else(|| ClientError(Error::validation("key", "is not a variable of this server")))?;
    Ok(Json(egg_variable(variable, &values)))
}

#[derive(Debug, Deserialize, Validate)]
pub struct RenameBody {
    #[garde(skip)]
    name: Name,
    #[garde(inner(length(max = 4000)))]
    description: Option<String>,
}

/// `POST .../settings/rename` with `{name, description?}`.
pub async fn rename(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path(server): Path<String>,
    Compat(ValidJson(body)): Compat<ValidJson<RenameBody>>,
) -> ClientResult<StatusCode> {
    let scope = scope(&state, &actor, &server, "server:update").await?;
    let changes = ServerChanges {
        name: Some(body.name.into()),
        description: body.description,
        ..ServerChanges::default()
    };
    service::update(&state, &actor, scope.server, changes).await?;
    Ok(no_content())
}

/// `POST .../settings/reinstall`: 202, the install script runs again.
pub async fn reinstall(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path(server): Path<String>,
) -> ClientResult<StatusCode> {
    let scope = scope(&state, &actor, &server, "server:update").await?;
    service::reinstall(&state, &actor, &scope.server).await?;
    Ok(StatusCode::ACCEPTED)
}
