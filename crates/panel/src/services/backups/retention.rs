//! Retention: after each backup of a server completes or fails, its completed backups
//! beyond the newest `keepLast` or older than `keepDays` are deleted, locked ones never.
//! And the removal of a deleted server's backups.

use chrono::{Duration, Utc};
use sea_orm::TransactionTrait;
use serde_json::json;

use super::manage::remove_archive;
use crate::auth::Client;
use crate::db::entities::{backup, server};
use crate::error::Result;
use crate::repo;
use crate::services::audit::{self, Entry};
use crate::state::AppState;

/// The backups the policy no longer keeps, from a list newest first.
fn expired(server: &server::Model, backups: &[backup::Model]) -> Vec<backup::Model> {
    let policy = repo::backups::policy_of(server);
    let cutoff = policy
        .keep_days
        .map(|days| Utc::now() - Duration::days(i64::from(days)));
    let keep_last = policy.keep_last.and_then(|n| usize::try_from(n).ok());
    backups
        .iter()
        .filter(|b| b.status == "completed")
        .enumerate()
        .filter(|(newer, b)| {
            !b.locked
                && (keep_last.is_some_and(|n| *newer >= n)
                    || cutoff.is_some_and(|cutoff| b.created_at < cutoff))
        })
        .map(|(_, b)| b.clone())
        .collect()
}

/// Applies a server's retention policy now.
pub async fn apply(state: &AppState, server_id: &str) -> Result<()> {
    let Some(server) = repo::servers::find(state.db(), server_id).await? else {
        return Ok(());
    };
    let backups = repo::backups::list(state.db(), &server.id).await?;
    for row in expired(&server, &backups) {
        remove_archive(state, &server, &row).await?;
        let txn = state.db().begin().await?;
        repo::backups::delete(&txn, &row.id).await?;
        let entry = Entry {
            user_id: None,
            action: "backup.pruned",
            target_type: "server",
            target_id: Some(&server.id),
            details: json!({ "backupId": row.id, "name": row.name, "reason": "retention policy" }),
        };
        audit::record(&txn, &Client::default(), entry).await?;
        txn.commit().await?;
    }
    Ok(())
}

/// Applies retention whenever a node reports a backup completed or failed.
pub fn spawn_retention(state: AppState) {
    let mut finished = state.hub().backups_finished();
    tokio::spawn(async move {
        loop {
            let server = match finished.recv().await {
                Ok(server) => server,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            if let Err(e) = apply(&state, &server.to_string()).await {
                tracing::warn!(%server, "cannot apply the backup retention policy: {e}");
            }
        }
    });
}

/// Removes the archives of a server that is being deleted (their rows go with it);
/// returns what could not be removed, in plain words.
pub async fn remove_all(state: &AppState, server: &server::Model) -> Result<Vec<String>> {
    let mut left = Vec::new();
    for row in repo::backups::list(state.db(), &server.id).await? {
        if let Err(e) = remove_archive(state, server, &row).await {
            left.push(format!("backup \"{}\": {e}", row.name));
        }
    }
    Ok(left)
}
