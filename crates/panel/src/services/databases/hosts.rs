//! Database hosts, as admins manage them: each create and update first connects with the
//! admin account and checks its rights, so a host the panel cannot use is never saved.

use sea_orm::TransactionTrait;
use serde_json::json;

use super::{engine_of, host_access};
use crate::auth::Actor;
use crate::db::entities::database_host;
use crate::error::{Error, Result};
use crate::repo::{self, database_hosts::HostFields};
use crate::services::audit;
use crate::sql_hosts::{self, Engine, HostAccess};
use crate::state::AppState;

/// A host as an admin enters it. On update, `password: None` keeps the stored one.
#[derive(Debug, Clone)]
pub struct HostInput {
    pub name: String,
    pub engine: Option<String>,
    pub address: String,
    pub port: u16,
    pub username: String,
    pub password: Option<String>,
    pub node_id: Option<String>,
    pub max_databases: i32,
}

/// A host with how many databases it holds and whether it answers right now.
pub struct HostStatus {
    pub host: database_host::Model,
    pub databases: u64,
    pub health: std::result::Result<String, String>,
}

/// Every host with its database count and health (checked concurrently).
pub async fn list(state: &AppState) -> Result<Vec<HostStatus>> {
    let hosts = repo::database_hosts::all(state.db()).await?;
    let counts = repo::database_hosts::database_counts(state.db()).await?;
    let checks = hosts.iter().map(|host| async move {
        let access = host_access(state, host)?;
        Ok::<_, Error>(sql_hosts::check(&access).await.map(|h| h.version))
    });
    let results = futures_util::future::join_all(checks).await;
    hosts
        .into_iter()
        .zip(results)
        .map(|(host, health)| {
            Ok(HostStatus {
                databases: counts.get(&host.id).copied().unwrap_or_default(),
                health: health?.map_err(|e| e.to_string()),
                host,
            })
        })
        .collect()
}

fn engine(input: &HostInput) -> Result<Engine> {
    let text = input.engine.as_deref().unwrap_or_default();
    Engine::parse(text).ok_or_else(|| Error::validation("engine", "must be mysql or postgres"))
}

/// The name is free (but for `except`) and the node exists.
async fn check_references(state: &AppState, input: &HostInput, except: Option<&str>) -> Result<()> {
    let taken = repo::database_hosts::all(state.db())
        .await?
        .into_iter()
        .any(|h| h.name == input.name && Some(h.id.as_str()) != except);
    if taken {
        return Err(Error::Conflict(
            "a database host with this name exists".into(),
        ));
    }
    let node_id = input.node_id.as_deref();
    if let Some(id) = node_id {
        if repo::nodes::find(state.db(), id).await?.is_none() {
            return Err(Error::validation("nodeId", "no such node"));
        }
    }
    Ok(())
}

/// Checks the input reaches a usable host, then stores it with its audit entry.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    input: HostInput,
) -> Result<database_host::Model> {
    let engine = engine(&input)?;
    let password = input
        .password
        .clone()
        .ok_or_else(|| Error::validation("password", "is required"))?;
    check_references(state, &input, None).await?;
    let fields = checked(state, input, engine, &password).await?;
    let txn = state.db().begin().await?;
    let host = repo::database_hosts::create(&txn, fields).await?;
    audit::record_by(
        &txn,
        actor,
        "database_host.created",
        "database_host",
        &host.id,
        details(&host),
    )
    .await?;
    txn.commit().await?;
    Ok(host)
}

/// Connects as `input` says and checks the account's rights; the fields to store.
async fn checked(
    state: &AppState,
    input: HostInput,
    engine: Engine,
    password: &str,
) -> Result<HostFields> {
    let access = HostAccess {
        name: input.name.clone(),
        engine,
        address: input.address.clone(),
        port: input.port,
        username: input.username.clone(),
        password: password.to_owned(),
    };
    sql_hosts::check(&access).await?;
    Ok(HostFields {
        name: input.name,
        engine: engine.as_str().to_owned(),
        address: input.address,
        port: i32::from(input.port),
        username: input.username,
        password_ciphertext: state.secrets().encrypt(password)?,
        node_id: input.node_id,
        max_databases: input.max_databases,
    })
}

fn details(host: &database_host::Model) -> serde_json::Value {
    json!({
        "name": host.name, "engine": host.engine, "address": host.address, "port": host.port,
        "username": host.username, "nodeId": host.node_id, "maxDatabases": host.max_databases,
    })
}

async fn find(state: &AppState, id: &str) -> Result<database_host::Model> {
    repo::database_hosts::find(state.db(), id)
        .await?
        .ok_or_else(|| Error::not_found("database host"))
}

/// Replaces a host's settings (its engine stays); the new ones are checked first.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: &str,
    input: HostInput,
) -> Result<database_host::Model> {
    let existing = find(state, id).await?;
    let engine = engine_of(&existing)?;
    if input
        .engine
        .as_deref()
        .is_some_and(|e| e != engine.as_str())
    {
        return Err(Error::validation("engine", "a host's engine cannot change"));
    }
    check_references(state, &input, Some(&existing.id)).await?;
    let password = match input.password.clone() {
        Some(password) => password,
        None => state.secrets().decrypt(&existing.password_ciphertext)?,
    };
    let fields = checked(state, input, engine, &password).await?;
    let txn = state.db().begin().await?;
    let host = repo::database_hosts::update(&txn, existing, fields).await?;
    audit::record_by(
        &txn,
        actor,
        "database_host.updated",
        "database_host",
        &host.id,
        details(&host),
    )
    .await?;
    txn.commit().await?;
    Ok(host)
}

/// Removes a host that holds no databases (orphans included).
pub async fn delete(state: &AppState, actor: &Actor, id: &str) -> Result<()> {
    let host = find(state, id).await?;
    let counts = repo::database_hosts::database_counts(state.db()).await?;
    if counts.get(&host.id).copied().unwrap_or_default() > 0 {
        return Err(Error::Conflict(
            "this host still holds databases; delete them first".into(),
        ));
    }
    let txn = state.db().begin().await?;
    repo::database_hosts::delete(&txn, &host.id).await?;
    audit::record_by(
        &txn,
        actor,
        "database_host.deleted",
        "database_host",
        &host.id,
        json!({ "name": host.name }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
