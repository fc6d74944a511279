//! Locking, deleting, and the limit and retention policy admins set per server.

use cap_protocol::backup::{BackupAdapter, BackupStatus};
use sea_orm::TransactionTrait;
use serde_json::json;

use super::s3::Store;
use super::{get, ids, kind_of, record};
use crate::auth::Actor;
use crate::db::entities::{backup, server};
use crate::domain::BackupPolicy;
use crate::error::{Error, FieldErrors, Result};
use crate::repo;
use crate::services::servers::client_for;
use crate::state::AppState;

/// Most backups a server may be allowed to keep.
pub const MAX_BACKUP_LIMIT: i32 = 1000;

pub async fn set_locked(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    backup_id: &str,
    locked: bool,
) -> Result<backup::Model> {
    let mut row = get(state, server, backup_id).await?;
    let txn = state.db().begin().await?;
    repo::backups::set_locked(&txn, &row.id, locked).await?;
    let action = if locked { "locked" } else { "unlocked" };
    record(&txn, actor, action, &row, json!({})).await?;
    txn.commit().await?;
    row.locked = locked;
    Ok(row)
}

/// Removes a backup's archive: from the node (local) or the bucket, and the node's
/// record of it. Gone already is fine.
pub(super) async fn remove_archive(
    state: &AppState,
    server: &server::Model,
    row: &backup::Model,
) -> Result<()> {
    let (adapter, format) = kind_of(row)?;
    let (server_id, backup) = ids(row)?;
    if adapter == BackupAdapter::S3 {
        Store::required(state)
            .await?
            .delete(&Store::key(server_id, backup, format))
            .await?;
    }
    if server.node_id.is_some() {
        match client_for(state, server)?.delete_backup(backup).await {
            Ok(()) | Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Deletes a finished, unlocked backup and its archive.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    backup_id: &str,
) -> Result<()> {
    let row = get(state, server, backup_id).await?;
    if row.locked {
        return Err(Error::Conflict(format!(
            "backup \"{}\" is locked; unlock it first",
            row.name
        )));
    }
    let status: BackupStatus = super::parse(&row.status)?;
    if !status.is_final() {
        return Err(Error::Conflict(format!(
            "backup \"{}\" is still running; wait until it ends",
            row.name
        )));
    }
    remove_archive(state, server, &row).await?;
    let txn = state.db().begin().await?;
    repo::backups::delete(&txn, &row.id).await?;
    let details = json!({ "adapter": row.adapter, "size": row.size });
    record(&txn, actor, "deleted", &row, details).await?;
    txn.commit().await?;
    Ok(())
}

/// Checks a backup limit and retention policy an admin sets on a server.
pub fn check_policy(policy: &BackupPolicy) -> Result<()> {
    let mut details = FieldErrors::new();
    let mut bad = |field: &str, message: String| {
        details.insert(format!("backups.{field}"), vec![message]);
    };
    if !(0..=MAX_BACKUP_LIMIT).contains(&policy.limit) {
        bad("limit", format!("must be 0 to {MAX_BACKUP_LIMIT}"));
    }
    if policy
        .keep_last
        .is_some_and(|n| !(1..=MAX_BACKUP_LIMIT).contains(&n))
    {
        bad("keepLast", format!("must be 1 to {MAX_BACKUP_LIMIT}"));
    }
    if policy.keep_days.is_some_and(|d| !(1..=36_500).contains(&d)) {
        bad("keepDays", "must be 1 to 36500".into());
    }
    Error::unless_invalid(details)
}
