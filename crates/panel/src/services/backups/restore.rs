//! Restoring a completed backup into its server (the node verifies the checksum before it
//! touches anything, stops the server if it runs and leaves it stopped), and downloading
//! one through the panel.

use cap_protocol::backup::{
    BackupAdapter, BackupStatus, RestoreRecord, RestoreRequest, RestoreSource,
};
use serde_json::json;

use super::s3::Store;
use super::{get, ids, kind_of, record};
use crate::auth::Actor;
use crate::db::entities::{backup, server};
use crate::error::{Error, Result};
use crate::services::servers::{client_for, parse_id};
use crate::state::AppState;

fn completed(row: &backup::Model) -> Result<()> {
    if row.status == crate::repo::backups::wire_name(BackupStatus::Completed) {
        return Ok(());
    }
    Err(Error::Conflict(format!(
        "backup \"{}\" is {}; only a completed backup can be used",
        row.name, row.status
    )))
}

/// Starts restoring `backup_id` into its server, emptying the directory first when
/// `truncate`. The node answers at once; [`last_restore`] tells how it went.
pub async fn restore(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    backup_id: &str,
    truncate: bool,
) -> Result<RestoreRecord> {
    let row = get(state, server, backup_id).await?;
    completed(&row)?;
    let checksum = row
        .checksum
        .clone()
        .ok_or_else(|| Error::Conflict("this backup has no checksum to verify".into()))?;
    let (adapter, format) = kind_of(&row)?;
    let (server_id, backup) = ids(&row)?;
    let source = match adapter {
        BackupAdapter::Local => RestoreSource::Local,
        BackupAdapter::S3 => RestoreSource::S3 {
            url: Store::required(state)
                .await?
                .restore_url(&Store::key(server_id, backup, format)),
        },
    };
    let request = RestoreRequest {
        source,
        format,
        checksum,
        truncate,
    };
    let answer = client_for(state, server)?
        .restore_backup(server_id, backup, &request)
        .await?;
    record(
        state.db(),
        actor,
        "restored",
        &row,
        json!({ "truncate": truncate }),
    )
    .await?;
    Ok(answer)
}

/// The server's last restore as its node tells it.
pub async fn last_restore(state: &AppState, server: &server::Model) -> Result<RestoreRecord> {
    client_for(state, server)?
        .last_restore(parse_id(&server.id)?)
        .await
}

/// A backup's archive to stream to the caller.
pub struct Download {
    pub file_name: String,
    pub size: Option<u64>,
    pub body: reqwest::Response,
}

/// Starts a download: from the node for a local backup, relayed from the bucket for an
/// S3 one (so the bucket need not be reachable from browsers and every byte passes the
/// caller's permission check).
pub async fn download(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    backup_id: &str,
) -> Result<Download> {
    let row = get(state, server, backup_id).await?;
    completed(&row)?;
    let (adapter, format) = kind_of(&row)?;
    let (server_id, backup) = ids(&row)?;
    let body = match adapter {
        BackupAdapter::Local => client_for(state, server)?.backup_download(backup).await?,
        BackupAdapter::S3 => {
            Store::required(state)
                .await?
                .get(&Store::key(server_id, backup, format))
                .await?
        }
    };
    record(state.db(), actor, "downloaded", &row, json!({})).await?;
    Ok(Download {
        file_name: format!("{}-{}.{}", server.name, row.id, format.extension()),
        size: row.size.and_then(|s| u64::try_from(s).ok()),
        body,
    })
}
