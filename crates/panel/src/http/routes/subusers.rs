//! `/api/servers/{id}/subusers`: people invited to a server and what they may do on it.

use axum::extract::{Path, State};
use axum::http::Method;
use chrono::{DateTime, Utc};
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::auth::Actor;
use crate::error::Result;
use crate::http::access::{Access, ApiRoutes, ServerScope};
use crate::http::envelope::Envelope;
use crate::http::extract::ValidJson;
use crate::services::subusers as subuser_service;
use crate::state::AppState;

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    api.add(
        Method::GET,
        "/servers/{id}/subusers",
        Access::Server("server:view"),
        subusers,
    )
    .add(
        Method::POST,
        "/servers/{id}/subusers",
        Access::Server("server:update"),
        add_subuser,
    )
    .add(
        Method::PATCH,
        "/servers/{id}/subusers/{subuser_id}",
        Access::Server("server:update"),
        update_subuser,
    )
    .add(
        Method::DELETE,
        "/servers/{id}/subusers/{subuser_id}",
        Access::Server("server:update"),
        remove_subuser,
    )
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubuserView {
    id: String,
    user_id: String,
    username: String,
    email: String,
    permissions: Vec<String>,
    created_at: DateTime<Utc>,
}

async fn subusers(
    State(state): State<AppState>,
    scope: ServerScope,
) -> Result<Envelope<Vec<SubuserView>>> {
    let rows = subuser_service::list(&state, &scope.server.id).await?;
    Ok(Envelope::ok(
        rows.into_iter()
            .map(|(s, user)| SubuserView {
                permissions: subuser_service::granted(&s).into_iter().collect(),
                username: user
                    .as_ref()
                    .map(|u| u.username.clone())
                    .unwrap_or_default(),
                email: user.map(|u| u.email).unwrap_or_default(),
                id: s.id,
                user_id: s.user_id,
                created_at: s.created_at,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSubuser {
    #[garde(length(min = 1, max = 191))]
    username: String,
    /// Server-scoped keys the caller holds on this server.
    #[garde(length(max = 18))]
    permissions: Vec<String>,
}

async fn add_subuser(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    ValidJson(body): ValidJson<AddSubuser>,
) -> Result<Envelope<Vec<SubuserView>>> {
    subuser_service::add(&state, &actor, &scope, &body.username, body.permissions).await?;
    subusers(State(state), scope).await
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSubuser {
    /// Server-scoped keys; keys beyond the caller's own may only be kept, not added.
    #[garde(length(max = 18))]
    permissions: Vec<String>,
}

async fn update_subuser(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    Path((_, subuser_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<UpdateSubuser>,
) -> Result<Envelope<Vec<SubuserView>>> {
    subuser_service::update(&state, &actor, &scope, &subuser_id, body.permissions).await?;
    subusers(State(state), scope).await
}

async fn remove_subuser(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    Path((_, subuser_id)): Path<(String, String)>,
) -> Result<Envelope<()>> {
    subuser_service::remove(&state, &actor, &scope, &subuser_id).await?;
    Ok(Envelope::ok(()).with_message("subuser removed"))
}
