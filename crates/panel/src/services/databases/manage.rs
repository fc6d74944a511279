//! What a server's users do with its databases: list them, reveal a password (audited),
//! rotate it, delete a database. The host is changed first; the record follows.

use std::collections::HashMap;

use sea_orm::TransactionTrait;
use serde_json::json;

use super::{account_of, host_access};
use crate::auth::Actor;
use crate::db::entities::{database_host, server_database};
use crate::error::{Error, Result};
use crate::repo;
use crate::services::audit;
use crate::services::server_access::ServerScope;
use crate::sql_hosts::{self, names};
use crate::state::AppState;

/// A server's databases with their hosts, and how many it may have.
pub struct Listed {
    pub databases: Vec<(server_database::Model, database_host::Model)>,
    pub limit: i32,
}

/// Every host by id.
async fn hosts(state: &AppState) -> Result<HashMap<String, database_host::Model>> {
    Ok(repo::database_hosts::all(state.db())
        .await?
        .into_iter()
        .map(|h| (h.id.clone(), h))
        .collect())
}

pub async fn list(state: &AppState, scope: &ServerScope) -> Result<Listed> {
    let hosts = hosts(state).await?;
    let rows = repo::server_databases::for_server(state.db(), &scope.server.id).await?;
    let databases = rows
        .into_iter()
        .filter_map(|db| hosts.get(&db.host_id).cloned().map(|h| (db, h)))
        .collect();
    Ok(Listed {
        databases,
        limit: scope.server.database_limit,
    })
}

/// Database `id` of the server in `scope`, with its host.
pub async fn find(
    state: &AppState,
    scope: &ServerScope,
    id: &str,
) -> Result<(server_database::Model, database_host::Model)> {
    let db = repo::server_databases::find_for_server(state.db(), &scope.server.id, id)
        .await?
        .ok_or_else(|| Error::not_found("database"))?;
    let host = repo::database_hosts::find(state.db(), &db.host_id)
        .await?
        .ok_or_else(|| Error::internal("a server database without its host"))?;
    Ok((db, host))
}

/// The database's password; who asked is written to the audit log.
pub async fn reveal(
    state: &AppState,
    actor: &Actor,
    scope: &ServerScope,
    id: &str,
) -> Result<String> {
    let (db, _) = find(state, scope, id).await?;
    let password = state.secrets().decrypt(&db.password_ciphertext)?;
    let txn = state.db().begin().await?;
    let details = json!({ "database": db.database_name });
    audit::record_by(
        &txn,
        actor,
        "database.password_viewed",
        "server",
        &scope.server.id,
        details,
    )
    .await?;
    txn.commit().await?;
    Ok(password)
}

/// Gives the database's user a new random password, on the host first. If the panel
/// cannot record it, the host gets the old one back.
pub async fn rotate(
    state: &AppState,
    actor: &Actor,
    scope: &ServerScope,
    id: &str,
) -> Result<(server_database::Model, database_host::Model)> {
    let (db, host) = find(state, scope, id).await?;
    let access = host_access(state, &host)?;
    let old = account_of(state, &db)?;
    let new = sql_hosts::Account {
        password: names::password(),
        ..old.clone()
    };
    sql_hosts::set_password(&access, &new).await?;
    let saved = async {
        let ciphertext = state.secrets().encrypt(&new.password)?;
        let txn = state.db().begin().await?;
        let saved = repo::server_databases::set_password(&txn, db, ciphertext).await?;
        let details = json!({ "database": saved.database_name });
        audit::record_by(
            &txn,
            actor,
            "database.password_rotated",
            "server",
            &scope.server.id,
            details,
        )
        .await?;
        txn.commit().await?;
        Ok::<_, Error>(saved)
    }
    .await;
    match saved {
        Ok(saved) => Ok((saved, host)),
        Err(e) => {
            if let Err(undo) = sql_hosts::set_password(&access, &old).await {
                tracing::warn!(host = %host.name, database = %old.database, error = %undo, "could not restore a database password");
            }
            Err(e)
        }
    }
}

/// Drops the database and its user from the host, then forgets it. An unreachable host
/// leaves everything as it was (503).
pub async fn remove(state: &AppState, actor: &Actor, scope: &ServerScope, id: &str) -> Result<()> {
    let (db, _) = find(state, scope, id).await?;
    super::orphans::drop_and_forget(state, actor, &db, "database.deleted").await
}
