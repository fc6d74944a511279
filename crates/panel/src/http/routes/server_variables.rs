//! `/api/servers/{id}/variables`: a server's variable values, as far as the caller may
//! see them, and changes to them.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::Method;
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::auth::{Actor, Principal};
use crate::db::entities::server;
use crate::error::Result;
use crate::http::access::{Access, ApiRoutes, ServerScope};
use crate::http::envelope::Envelope;
use crate::http::extract::ValidJson;
use crate::services::servers as service;
use crate::state::AppState;

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    api.add(
        Method::GET,
        "/servers/{id}/variables",
        Access::Server("server:view"),
        variables,
    )
    .add(
        Method::PUT,
        "/servers/{id}/variables",
        Access::Server("server:update"),
        set_variables,
    )
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VariableValue {
    env_variable: String,
    name: String,
    description: String,
    value: String,
    default_value: String,
    rules: String,
    user_viewable: bool,
    user_editable: bool,
}

async fn variable_values(
    state: &AppState,
    principal: &Principal,
    server: &server::Model,
) -> Result<Vec<VariableValue>> {
    let (template, values) = service::variables_of(state, server).await?;
    Ok(template
        .alt
        .variables
        .iter()
        .filter(|v| principal.is_admin() || v.user_viewable)
        .map(|v| VariableValue {
            value: values
                .get(&v.env_variable)
                .cloned()
                .unwrap_or_else(|| v.default_value.clone()),
            env_variable: v.env_variable.clone(),
            name: v.name.clone(),
            description: v.description.clone(),
            default_value: v.default_value.clone(),
            rules: v.rules.to_pipe_string(),
            user_viewable: v.user_viewable,
            user_editable: v.user_editable,
        })
        .collect())
}

async fn variables(
    State(state): State<AppState>,
    principal: Principal,
    scope: ServerScope,
) -> Result<Envelope<Vec<VariableValue>>> {
    Ok(Envelope::ok(
        variable_values(&state, &principal, &scope.server).await?,
    ))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariablesBody {
    #[garde(length(max = 256))]
    variables: BTreeMap<String, String>,
}

async fn set_variables(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    ValidJson(body): ValidJson<VariablesBody>,
) -> Result<Envelope<Vec<VariableValue>>> {
    service::set_variables(&state, &actor, &scope.server, &body.variables).await?;
    Ok(Envelope::ok(
        variable_values(&state, &actor, &scope.server).await?,
    ))
}
