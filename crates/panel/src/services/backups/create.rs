//! Creating a backup: one at a time per server, within the server's limit, on the node
//! or (when a bucket is configured) in S3 as a multipart upload the node streams to.

use cap_protocol::backup::{BackupAdapter, BackupFormat, CreateBackup};
use chrono::Utc;
use sea_orm::TransactionTrait;
use serde_json::json;
use uuid::Uuid;

use super::s3::Store;
use crate::auth::Actor;
use crate::db::entities::{backup, server};
use crate::error::{Error, Result};
use crate::repo;
use crate::services::servers::{client_for, parse_id};
use crate::state::AppState;

/// What the caller asks for (already checked field by field).
#[derive(Debug, Clone, Default)]
pub struct NewBackup {
    pub name: Option<String>,
    pub ignored: Vec<String>,
    pub locked: bool,
    pub format: BackupFormat,
}

/// Room the archive may need: the server directory's size (or its quota when the size is
/// not known) and a tenth more for incompressible data and tar headers.
fn expected_bytes(state: &AppState, server: &server::Model, id: Uuid) -> u64 {
    let used = state
        .hub()
        .live(id)
        .and_then(|l| l.stats)
        .map_or(0, |s| s.disk_bytes);
    let quota = u64::try_from(server.disk_mb).unwrap_or(0) * 1024 * 1024;
    let size = if used > 0 { used.max(quota) } else { quota };
    if size == 0 {
        // Unlimited and not measured: as many parts as S3 allows.
        return u64::MAX / 2;
    }
    size + size / 10
}

/// Starts a backup of `server`. The node answers at once; its events complete the row.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    input: NewBackup,
) -> Result<backup::Model> {
    let policy = repo::backups::policy_of(server);
    if let Some(running) = repo::backups::unfinished(state.db(), &server.id).await? {
        return Err(Error::Conflict(format!(
            "backup \"{}\" of this server is still running; wait until it ends",
            running.name
        )));
    }
    let held = repo::backups::counted(state.db(), &server.id).await?;
    if held >= u64::try_from(policy.limit).unwrap_or(0) {
        return Err(Error::Conflict(format!(
            "this server may keep {} backups and has {held}; delete one first",
            policy.limit
        )));
    }
    let client = client_for(state, server)?;
    let server_id = parse_id(&server.id)?;
    let backup_id = Uuid::new_v4();
    let store = Store::load(state).await?;
    let upload = match &store {
        Some(store) => {
            let key = Store::key(server_id, backup_id, input.format);
            let expected = expected_bytes(state, server, server_id);
            Some(store.start_upload(&key, expected).await?)
        }
        None => None,
    };
    let request = CreateBackup {
        backup_id,
        format: input.format,
        ignored: input.ignored.clone(),
        s3: upload.clone(),
    };
    let record = match client.create_backup(server_id, &request).await {
        Ok(record) => record,
        Err(e) => {
            if let (Some(store), Some(upload)) = (&store, &upload) {
                store.abort(upload).await;
            }
            return Err(e);
        }
    };
    let name = input
        .name
        .unwrap_or_else(|| format!("Backup {}", Utc::now().format("%Y-%m-%d %H:%M UTC")));
    let adapter = if upload.is_some() {
        BackupAdapter::S3
    } else {
        BackupAdapter::Local
    };
    let txn = state.db().begin().await?;
    let row = repo::backups::insert(
        &txn,
        repo::backups::NewBackup {
            id: backup_id.to_string(),
            server_id: server.id.clone(),
            name,
            adapter,
            format: input.format,
            ignored: input.ignored,
            locked: input.locked,
            created_by: Some(actor.id().to_owned()),
            created_at: record.created_at,
        },
    )
    .await?;
    let details = json!({ "adapter": row.adapter, "format": row.format, "locked": row.locked });
    super::record(&txn, actor, "created", &row, details).await?;
    txn.commit().await?;
    Ok(row)
}
