//! A deleted server's databases: dropped from their hosts while the server is deleted;
//! those on a host that cannot be reached stay as orphans, listed for admins, until a
//! retry drops them. None is forgotten while it may still exist on its host.

use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::json;

use super::{account_of, host_access};
use crate::auth::Actor;
use crate::db::entities::{database_host, server_database};
use crate::error::{Error, Result};
use crate::repo;
use crate::services::audit;
use crate::sql_hosts;
use crate::state::AppState;

/// What happened to a deleted server's databases.
#[derive(Debug, Default)]
pub struct Dropped {
    /// Dropped from their hosts: their records go.
    pub dropped: Vec<server_database::Model>,
    /// Their host could not drop them: their records stay, marked orphaned.
    pub orphaned: Vec<server_database::Model>,
}

impl Dropped {
    /// Writes the outcome inside the server's deletion transaction.
    pub async fn settle(&self, txn: &impl ConnectionTrait) -> Result<()> {
        for db in &self.dropped {
            repo::server_databases::delete(txn, &db.id).await?;
        }
        for db in &self.orphaned {
            repo::server_databases::mark_orphaned(txn, &db.id).await?;
        }
        Ok(())
    }

    /// For the server's audit entry: the names dropped and the names kept as orphans.
    pub fn details(&self) -> serde_json::Value {
        let names = |rows: &[server_database::Model]| {
            rows.iter()
                .map(|d| d.database_name.clone())
                .collect::<Vec<_>>()
        };
        json!({ "dropped": names(&self.dropped), "orphaned": names(&self.orphaned) })
    }
}

async fn drop_one(state: &AppState, db: &server_database::Model) -> Result<database_host::Model> {
    let host = repo::database_hosts::find(state.db(), &db.host_id)
        .await?
        .ok_or_else(|| Error::internal("a server database without its host"))?;
    sql_hosts::drop(&host_access(state, &host)?, &account_of(state, db)?).await?;
    Ok(host)
}

/// Drops every database of a server that is being deleted.
pub async fn drop_for_server(state: &AppState, server_id: &str) -> Result<Dropped> {
    let mut outcome = Dropped::default();
    for db in repo::server_databases::for_server(state.db(), server_id).await? {
        match drop_one(state, &db).await {
            Ok(_) => outcome.dropped.push(db),
            Err(e) => {
                tracing::warn!(database = %db.database_name, error = %e, "database of a deleted server kept as an orphan");
                outcome.orphaned.push(db);
            }
        }
    }
    Ok(outcome)
}

/// An orphaned database with its host.
pub struct Orphan {
    pub database: server_database::Model,
    pub host: Option<database_host::Model>,
}

pub async fn list_orphans(state: &AppState) -> Result<Vec<Orphan>> {
    let hosts = repo::database_hosts::all(state.db()).await?;
    Ok(repo::server_databases::orphaned(state.db())
        .await?
        .into_iter()
        .map(|database| Orphan {
            host: hosts.iter().find(|h| h.id == database.host_id).cloned(),
            database,
        })
        .collect())
}

/// Tries again to drop an orphaned database; on success its record goes.
pub async fn retry_orphan(state: &AppState, actor: &Actor, id: &str) -> Result<()> {
    let db = repo::server_databases::find_orphaned(state.db(), id)
        .await?
        .ok_or_else(|| Error::not_found("orphaned database"))?;
    drop_and_forget(state, actor, &db, "database.orphan_dropped").await
}

/// Drops `db` and its user from their host, then deletes its record with an audit entry
/// `action` on its server. An unreachable host leaves everything as it was (503).
pub(super) async fn drop_and_forget(
    state: &AppState,
    actor: &Actor,
    db: &server_database::Model,
    action: &str,
) -> Result<()> {
    let host = drop_one(state, db).await?;
    let txn = state.db().begin().await?;
    repo::server_databases::delete(&txn, &db.id).await?;
    let details = json!({ "database": db.database_name, "host": host.name });
    audit::record_by(&txn, actor, action, "server", &db.server_id, details).await?;
    txn.commit().await?;
    Ok(())
}
