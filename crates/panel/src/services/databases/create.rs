//! Creating a server's database: a host is chosen (one serving the server's node first,
//! then any other with room; admins may name one), the database and its user are
//! created on it, then recorded with the audit entry. If recording fails, the database
//! is dropped from the host again.

use sea_orm::TransactionTrait;
use serde_json::json;

use super::{engine_of, host_access};
use crate::auth::Actor;
use crate::db::entities::{database_host, server, server_database};
use crate::domain::ShortId;
use crate::error::{Error, Result};
use crate::repo::{self, server_databases::NewServerDatabase};
use crate::services::audit;
use crate::services::server_access::ServerScope;
use crate::sql_hosts::{self, names, Account, Engine};
use crate::state::AppState;

/// Held from the limit checks to the record: two creations at once cannot both take the
/// last place of a server's limit or of a host. Creating databases is rare, so one
/// creation at a time panel-wide costs nothing noticeable.
static CREATING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A database a server's user asks for.
#[derive(Debug, Clone)]
pub struct NewDatabase {
    /// The part after the server's prefix.
    pub name: String,
    /// The MySQL host pattern its user may connect from (default `%`: anywhere).
    pub remote: Option<String>,
    /// At most this many connections at once (none: the host's own limit).
    pub max_connections: Option<u32>,
    /// The host to use (admins only); chosen automatically when `None`.
    pub host_id: Option<String>,
}

/// The host for a new database of `server`.
async fn choose_host(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    requested: Option<&str>,
) -> Result<database_host::Model> {
    let hosts = repo::database_hosts::all(state.db()).await?;
    let counts = repo::database_hosts::database_counts(state.db()).await?;
    let has_room = |host: &database_host::Model| {
        counts.get(&host.id).copied().unwrap_or_default()
            < u64::try_from(host.max_databases).unwrap_or_default()
    };
    if let Some(id) = requested {
        if !actor.is_admin() {
            return Err(Error::Forbidden(
                "only administrators choose the database host".into(),
            ));
        }
        let host = hosts
            .into_iter()
            .find(|h| h.id == id)
            .ok_or_else(|| Error::validation("hostId", "no such database host"))?;
        if !has_room(&host) {
            return Err(Error::Conflict(format!(
                "the database host {} is full",
                host.name
            )));
        }
        return Ok(host);
    }
    if hosts.is_empty() {
        return Err(Error::Conflict(
            "no database host is set up; ask an administrator to add one".into(),
        ));
    }
    let serves_node = |h: &database_host::Model| h.node_id.is_some() && h.node_id == server.node_id;
    let (mut ordered, others): (Vec<_>, Vec<_>) = hosts.into_iter().partition(serves_node);
    ordered.extend(others);
    ordered.into_iter().find(has_room).ok_or_else(|| {
        Error::Conflict("every database host is full; ask an administrator for room".into())
    })
}

/// The MySQL host pattern for a new user; PostgreSQL hosts take none.
fn remote_for(engine: Engine, remote: Option<&str>) -> Result<String> {
    match (engine, remote) {
        (Engine::Mysql, Some(pattern)) => names::remote(pattern),
        (Engine::Postgres, Some(pattern)) if pattern != "%" => Err(Error::validation(
            "remote",
            "a PostgreSQL host decides where users may connect from (its pg_hba.conf); leave this empty",
        )),
        _ => Ok("%".to_owned()),
    }
}

/// Creates a database for the server in `scope`, within the limit its admin set.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    scope: &ServerScope,
    new: NewDatabase,
) -> Result<server_database::Model> {
    let server = &scope.server;
    let _creating = CREATING.lock().await;
    let host = choose_host(state, actor, server, new.host_id.as_deref()).await?;
    let engine = engine_of(&host)?;
    let short = ShortId::of(&server.id);
    let database = names::database_name(engine, short.as_ref(), &new.name)?;
    let remote = remote_for(engine, new.remote.as_deref())?;
    let existing = repo::server_databases::for_server(state.db(), &server.id).await?;
    let limit = u64::try_from(server.database_limit).unwrap_or_default();
    if existing.len() as u64 >= limit {
        return Err(Error::Conflict(match limit {
            0 => "this server may not have databases; an administrator sets how many it may have"
                .into(),
            n => format!("this server may have at most {n} database(s)"),
        }));
    }
    if existing.iter().any(|d| d.database_name == database) {
        return Err(Error::Conflict(format!(
            "this server already has a database named {database}"
        )));
    }
    let account = Account {
        database,
        username: names::username(short.as_ref()),
        password: names::password(),
        remote,
        max_connections: new.max_connections.unwrap_or_default(),
    };
    let access = host_access(state, &host)?;
    sql_hosts::create(&access, &account).await?;
    let recorded = record(state, actor, &host, server, &account).await;
    if recorded.is_err() {
        if let Err(e) = sql_hosts::drop(&access, &account).await {
            tracing::warn!(host = %host.name, database = %account.database, error = %e, "could not drop a database the panel failed to record");
        }
    }
    recorded
}

async fn record(
    state: &AppState,
    actor: &Actor,
    host: &database_host::Model,
    server: &server::Model,
    account: &Account,
) -> Result<server_database::Model> {
    let txn = state.db().begin().await?;
    let saved = repo::server_databases::create(
        &txn,
        NewServerDatabase {
            server_id: server.id.clone(),
            host_id: host.id.clone(),
            database_name: account.database.clone(),
            username: account.username.clone(),
            password_ciphertext: state.secrets().encrypt(&account.password)?,
            remote: account.remote.clone(),
            max_connections: i32::try_from(account.max_connections).unwrap_or(i32::MAX),
        },
    )
    .await?;
    let details = json!({
        "database": saved.database_name, "username": saved.username,
        "host": host.name, "remote": saved.remote,
    });
    audit::record_by(
        &txn,
        actor,
        "database.created",
        "server",
        &server.id,
        details,
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}
