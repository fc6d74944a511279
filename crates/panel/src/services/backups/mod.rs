//! Backups of servers, one module per use case: creating one (`create`), restoring and
//! downloading (`restore`), locking and deleting (`manage`), the retention policy and the
//! removal of a deleted server's backups (`retention`), and the S3 bucket (`s3`). The
//! node does the work (`cap_protocol::backup`); its events keep the rows current
//! (`agents::backups`).

mod create;
mod manage;
mod restore;
mod retention;
pub mod s3;

use cap_protocol::backup::{BackupAdapter, BackupFormat};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::auth::Actor;
use crate::db::entities::{backup, server};
use crate::domain::BackupPolicy;
use crate::error::{Error, Result};
use crate::repo;
use crate::services::audit;
use crate::state::AppState;

pub use create::{create, NewBackup};
pub use manage::{check_policy, delete, set_locked};
pub use restore::{download, last_restore, restore, Download};
pub use retention::{remove_all, spawn_retention};

/// A server's backups (newest first) and its limit and retention policy.
pub struct Listing {
    pub backups: Vec<backup::Model>,
    pub policy: BackupPolicy,
}

pub async fn list(state: &AppState, server: &server::Model) -> Result<Listing> {
    Ok(Listing {
        backups: repo::backups::list(state.db(), &server.id).await?,
        policy: repo::backups::policy_of(server),
    })
}

/// One backup of the server (404 when the server has no such backup).
pub async fn get(state: &AppState, server: &server::Model, id: &str) -> Result<backup::Model> {
    repo::backups::find(state.db(), &server.id, id)
        .await?
        .ok_or_else(|| Error::not_found("backup"))
}

/// The wire value of a stored name (`local`, `tar_gz`).
fn parse<T: serde::de::DeserializeOwned>(name: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).map_err(Error::internal)
}

/// Where a backup is kept and how it is compressed.
fn kind_of(row: &backup::Model) -> Result<(BackupAdapter, BackupFormat)> {
    Ok((parse(&row.adapter)?, parse(&row.format)?))
}

fn ids(row: &backup::Model) -> Result<(Uuid, Uuid)> {
    let server = Uuid::parse_str(&row.server_id).map_err(Error::internal)?;
    let backup = Uuid::parse_str(&row.id).map_err(Error::internal)?;
    Ok((server, backup))
}

/// Writes the audit entry `backup.<action>` of one backup.
async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    row: &backup::Model,
    mut details: serde_json::Value,
) -> Result<()> {
    details["backupId"] = row.id.clone().into();
    details["name"] = row.name.clone().into();
    let action = format!("backup.{action}");
    audit::record_by(db, actor, &action, "server", &row.server_id, details).await
}
