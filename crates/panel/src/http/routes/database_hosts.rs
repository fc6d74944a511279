//! `/api/database-hosts`: the MySQL/MariaDB and PostgreSQL servers on which servers'
//! databases are created (admins), and `/api/database-orphans`: databases of deleted
//! servers whose host could not drop them yet.

use axum::extract::{Path, State};
use axum::http::Method;
use chrono::{DateTime, Utc};
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::auth::Actor;
use crate::db::entities::database_host;
use crate::domain::Name;
use crate::error::Result;
use crate::http::access::{Access, ApiRoutes};
use crate::http::envelope::Envelope;
use crate::http::extract::ValidJson;
use crate::services::databases::hosts::{self, HostInput, HostStatus};
use crate::services::databases::{self as databases, Orphan};
use crate::state::AppState;

const ADMIN: Access = Access::Permission("admin:settings");

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    api.add(Method::GET, "/database-hosts", ADMIN, list)
        .add(Method::POST, "/database-hosts", ADMIN, create)
        .add(Method::PUT, "/database-hosts/{host_id}", ADMIN, update)
        .add(Method::DELETE, "/database-hosts/{host_id}", ADMIN, delete)
        .add(Method::GET, "/database-orphans", ADMIN, orphans)
        .add(
            Method::POST,
            "/database-orphans/{database_id}/retry",
            ADMIN,
            retry_orphan,
        )
}

/// A database host; its admin password is never shown.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostView {
    id: String,
    name: String,
    /// `mysql` (MySQL or MariaDB) or `postgres`.
    engine: String,
    address: String,
    port: i32,
    username: String,
    /// The node whose servers this host serves first.
    node_id: Option<String>,
    max_databases: i32,
    created_at: DateTime<Utc>,
}

fn view(host: database_host::Model) -> HostView {
    HostView {
        id: host.id,
        name: host.name,
        engine: host.engine,
        address: host.address,
        port: host.port,
        username: host.username,
        node_id: host.node_id,
        max_databases: host.max_databases,
        created_at: host.created_at,
    }
}

/// A host, what it holds and whether it answers.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostStatusView {
    #[serde(flatten)]
    host: HostView,
    databases: u64,
    /// True when the panel could connect and the account may create databases.
    healthy: bool,
    /// The host's version when healthy, else why not.
    health: String,
}

async fn list(State(state): State<AppState>) -> Result<Envelope<Vec<HostStatusView>>> {
    let hosts = hosts::list(&state).await?;
    Ok(Envelope::ok(
        hosts
            .into_iter()
            .map(
                |HostStatus {
                     host,
                     databases,
                     health,
                 }| HostStatusView {
                    host: view(host),
                    databases,
                    healthy: health.is_ok(),
                    health: health.unwrap_or_else(|e| e),
                },
            )
            .collect(),
    ))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HostBody {
    #[garde(skip)]
    name: Name,
    /// `mysql` (MySQL or MariaDB) or `postgres`; fixed once created.
    #[garde(inner(length(min = 1, max = 16)))]
    engine: Option<String>,
    /// Host name or IP address the panel connects to (and shows to users).
    #[garde(length(min = 1, max = 255), pattern(r"^[A-Za-z0-9.:\-]+$"))]
    address: String,
    #[garde(range(min = 1))]
    port: u16,
    /// An account that may create databases and users and grant rights on them.
    #[garde(length(min = 1, max = 64))]
    username: String,
    /// Required on create; on update, leave it out to keep the stored one.
    #[garde(inner(length(min = 1, max = 256)))]
    password: Option<String>,
    #[garde(inner(length(min = 1, max = 64)))]
    node_id: Option<String>,
    #[garde(range(min = 0, max = 100000))]
    max_databases: i32,
}

impl From<HostBody> for HostInput {
    fn from(body: HostBody) -> HostInput {
        HostInput {
            name: body.name.into(),
            engine: body.engine,
            address: body.address,
            port: body.port,
            username: body.username,
            password: body.password,
            node_id: body.node_id,
            max_databases: body.max_databases,
        }
    }
}

async fn create(
    State(state): State<AppState>,
    actor: Actor,
    ValidJson(body): ValidJson<HostBody>,
) -> Result<Envelope<HostView>> {
    let host = hosts::create(&state, &actor, body.into()).await?;
    Ok(Envelope::ok(view(host)).with_message("database host added"))
}

async fn update(
    State(state): State<AppState>,
    actor: Actor,
    Path(host_id): Path<String>,
    ValidJson(body): ValidJson<HostBody>,
) -> Result<Envelope<HostView>> {
    let host = hosts::update(&state, &actor, &host_id, body.into()).await?;
    Ok(Envelope::ok(view(host)))
}

async fn delete(
    State(state): State<AppState>,
    actor: Actor,
    Path(host_id): Path<String>,
) -> Result<Envelope<()>> {
    hosts::delete(&state, &actor, &host_id).await?;
    Ok(Envelope::ok(()).with_message("database host removed"))
}

/// A database whose server is gone but which may still exist on its host.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrphanView {
    id: String,
    /// The deleted server's id.
    server_id: String,
    name: String,
    username: String,
    host_id: String,
    host_name: Option<String>,
    orphaned_at: Option<DateTime<Utc>>,
}

async fn orphans(State(state): State<AppState>) -> Result<Envelope<Vec<OrphanView>>> {
    let rows = databases::list_orphans(&state).await?;
    Ok(Envelope::ok(
        rows.into_iter()
            .map(|Orphan { database, host }| OrphanView {
                id: database.id,
                server_id: database.server_id,
                name: database.database_name,
                username: database.username,
                host_id: database.host_id,
                host_name: host.map(|h| h.name),
                orphaned_at: database.orphaned_at,
            })
            .collect(),
    ))
}

async fn retry_orphan(
    State(state): State<AppState>,
    actor: Actor,
    Path(database_id): Path<String>,
) -> Result<Envelope<()>> {
    databases::retry_orphan(&state, &actor, &database_id).await?;
    Ok(Envelope::ok(()).with_message("orphaned database dropped"))
}
