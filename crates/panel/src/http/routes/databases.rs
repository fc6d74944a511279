//! `/api/servers/{id}/databases`: a server's databases on the panel's database hosts —
//! list, create, reveal and rotate the password, delete.

use axum::extract::{Path, State};
use axum::http::Method;
use chrono::{DateTime, Utc};
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::auth::Actor;
use crate::db::entities::{database_host, server_database};
use crate::error::Result;
use crate::http::access::{Access, ApiRoutes, ServerScope};
use crate::http::envelope::Envelope;
use crate::http::extract::ValidJson;
use crate::services::databases::{self as service, NewDatabase};
use crate::state::AppState;

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    api.add(
        Method::GET,
        "/servers/{id}/databases",
        Access::Server("database:view"),
        list,
    )
    .add(
        Method::POST,
        "/servers/{id}/databases",
        Access::Server("database:create"),
        create,
    )
    .add(
        Method::POST,
        "/servers/{id}/databases/{database_id}/reveal",
        Access::Server("database:view"),
        reveal,
    )
    .add(
        Method::POST,
        "/servers/{id}/databases/{database_id}/rotate",
        Access::Server("database:create"),
        rotate,
    )
    .add(
        Method::DELETE,
        "/servers/{id}/databases/{database_id}",
        Access::Server("database:delete"),
        remove,
    )
}

/// A server's database; its password only through `reveal`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseView {
    id: String,
    /// The database's full name on its host (`s<server>_<name>`).
    name: String,
    username: String,
    /// `mysql` (MySQL or MariaDB) or `postgres`.
    engine: String,
    host_name: String,
    address: String,
    port: i32,
    /// Where the user may connect from (a MySQL host pattern).
    remote: String,
    /// 0: the host's own limit.
    max_connections: i32,
    /// `mysql://user@address:port/name` or `postgresql://…`, without the password.
    connection_string: String,
    created_at: DateTime<Utc>,
}

fn view(db: server_database::Model, host: &database_host::Model) -> DatabaseView {
    DatabaseView {
        connection_string: service::connection_string(host, &db),
        id: db.id,
        name: db.database_name,
        username: db.username,
        engine: host.engine.clone(),
        host_name: host.name.clone(),
        address: host.address.clone(),
        port: host.port,
        remote: db.remote,
        max_connections: db.max_connections,
        created_at: db.created_at,
    }
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseList {
    databases: Vec<DatabaseView>,
    /// How many databases the server may have (set by administrators).
    limit: i32,
}

async fn list(State(state): State<AppState>, scope: ServerScope) -> Result<Envelope<DatabaseList>> {
    let listed = service::list(&state, &scope).await?;
    Ok(Envelope::ok(DatabaseList {
        databases: listed
            .databases
            .into_iter()
            .map(|(db, host)| view(db, &host))
            .collect(),
        limit: listed.limit,
    }))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateBody {
    /// Letters, digits and underscores; the server's prefix is added in front.
    #[garde(length(min = 1, max = 64))]
    name: String,
    /// MySQL hosts: where the user may connect from (default `%`, anywhere).
    #[garde(inner(length(min = 1, max = 255)))]
    remote: Option<String>,
    /// At most this many connections at once (default: the host's own limit).
    #[garde(inner(range(min = 1, max = 10000)))]
    max_connections: Option<u32>,
    /// Administrators: the database host to use (default: chosen by the panel).
    #[garde(inner(length(min = 1, max = 64)))]
    host_id: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    ValidJson(body): ValidJson<CreateBody>,
) -> Result<Envelope<DatabaseView>> {
    let db = service::create(
        &state,
        &actor,
        &scope,
        NewDatabase {
            name: body.name,
            remote: body.remote,
            max_connections: body.max_connections,
            host_id: body.host_id,
        },
    )
    .await?;
    let (db, host) = service::find(&state, &scope, &db.id).await?;
    Ok(Envelope::ok(view(db, &host)).with_message("database created"))
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Password {
    password: String,
}

async fn reveal(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    Path((_, database_id)): Path<(String, String)>,
) -> Result<Envelope<Password>> {
    let password = service::reveal(&state, &actor, &scope, &database_id).await?;
    Ok(Envelope::ok(Password { password }))
}

async fn rotate(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    Path((_, database_id)): Path<(String, String)>,
) -> Result<Envelope<DatabaseView>> {
    let (db, host) = service::rotate(&state, &actor, &scope, &database_id).await?;
    Ok(Envelope::ok(view(db, &host)).with_message("password rotated"))
}

async fn remove(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    Path((_, database_id)): Path<(String, String)>,
) -> Result<Envelope<()>> {
    service::remove(&state, &actor, &scope, &database_id).await?;
    Ok(Envelope::ok(()).with_message("database deleted"))
}
