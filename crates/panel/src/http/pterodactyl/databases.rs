//! `/databases`: a server's databases, Pterodactyl's way. Passwords come in
//! `relationships.password` after a creation or rotation, and in lists with
//! `?include=password`; each password shown is audited as a reveal on our own API is.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use garde::Validate;
use serde::Deserialize;
use serde_json::{json, Value};

use super::servers::scope;
use super::shapes::{item, list};
use super::{no_content, ClientResult, Compat};
use crate::auth::Actor;
use crate::db::entities::{database_host, server_database};
use crate::http::extract::{ValidJson, ValidQuery};
use crate::services::databases::{self as service, NewDatabase};
use crate::state::AppState;

fn database_object(
    db: &server_database::Model,
    host: &database_host::Model,
    password: Option<String>,
) -> Value {
    let mut attributes = json!({
        "id": db.id,
        "host": { "address": host.address, "port": host.port },
        "name": db.database_name,
        "username": db.username,
        "connections_from": db.remote,
        "max_connections": db.max_connections,
    });
    if let Some(password) = password {
        attributes["relationships"] = json!({
            "password": item("database_password", json!({ "password": password })),
        });
    }
    item("server_database", attributes)
}

#[derive(Debug, Deserialize)]
pub struct IncludeQuery {
    #[serde(default)]
    include: String,
}

/// `GET .../databases` (`?include=password` with the passwords, for holders of
/// `database:view`, who may reveal them on our own API too).
pub async fn index(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path(server): Path<String>,
    Compat(ValidQuery(query)): Compat<ValidQuery<IncludeQuery>>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &actor, &server, "database:view").await?;
    let with_passwords = query.include.split(',').any(|i| i.trim() == "password");
    let listed = service::list(&state, &scope).await?;
    let mut data = Vec::new();
    for (db, host) in &listed.databases {
        let password = if with_passwords {
            Some(service::reveal(&state, &actor, &scope, &db.id).await?)
        } else {
            None
        };
        data.push(database_object(db, host, password));
    }
    Ok(list(data))
}

#[derive(Debug, Deserialize, Validate)]
pub struct CreateBody {
    /// Letters, digits and underscores; the server's prefix is added in front.
    #[garde(length(min = 1, max = 64))]
    database: String,
    /// Where the user may connect from (`%`: anywhere).
    #[garde(inner(length(min = 1, max = 255)))]
    remote: Option<String>,
}

/// `POST .../databases` with `{database, remote}`: the database with its password.
pub async fn create(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path(server): Path<String>,
    Compat(ValidJson(body)): Compat<ValidJson<CreateBody>>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &actor, &server, "database:create").await?;
    let new = NewDatabase {
        name: body.database,
        remote: body.remote,
        max_connections: None,
        host_id: None,
    };
    let created = service::create(&state, &actor, &scope, new).await?;
    let (db, host) = service::find(&state, &scope, &created.id).await?;
    let password = service::reveal(&state, &actor, &scope, &db.id).await?;
    Ok(Json(database_object(&db, &host, Some(password))))
}

/// `POST .../databases/{id}/rotate-password`: the database with its new password.
pub async fn rotate(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path((server, id)): Path<(String, String)>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &actor, &server, "database:create").await?;
    let (db, host) = service::rotate(&state, &actor, &scope, &id).await?;
    let password = service::reveal(&state, &actor, &scope, &db.id).await?;
    Ok(Json(database_object(&db, &host, Some(password))))
}

/// `DELETE .../databases/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path((server, id)): Path<(String, String)>,
) -> ClientResult<StatusCode> {
    let scope = scope(&state, &actor, &server, "database:delete").await?;
    service::remove(&state, &actor, &scope, &id).await?;
    Ok(no_content())
}
