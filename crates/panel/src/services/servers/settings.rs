//! Changing a server's name, description, limits, crash policy or runtime and image.

use cap_protocol::server::CrashPolicy;
use sea_orm::TransactionTrait;
use serde_json::json;

use super::definition::sync;
use super::runtime::{resolve, RuntimeChoice};
use super::LimitsSpec;
use crate::auth::Actor;
use crate::db::entities::server;
use crate::domain::BackupPolicy;
use crate::error::{Error, FieldErrors, Result};
use crate::repo::{self, servers::Settings};
use crate::services::{audit, templates};
use crate::state::AppState;

/// Changes to a server's settings; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct ServerChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub limits: Option<LimitsSpec>,
    pub crash_policy: Option<CrashPolicy>,
    /// Native or Docker and the image; takes effect at the next start.
    pub runtime: RuntimeChoice,
    /// How many backups the server may keep and their retention (admins).
    pub backups: Option<BackupPolicy>,
    /// How many databases the server may have (administrators only).
    pub database_limit: Option<i32>,
}

/// The checks one field cannot make alone: the back-off ceiling is not below the first
/// back-off.
fn check_crash_policy(policy: &CrashPolicy) -> Result<()> {
    let mut details = FieldErrors::new();
    if policy.max_backoff_ms < policy.backoff_ms {
        details.insert(
            "crashPolicy.maxBackoffMs".into(),
            vec!["must be at least the first back-off (backoffMs)".into()],
        );
    }
    Error::unless_invalid(details)
}

/// Changes name, description, limits or crash policy; limit and crash-policy changes are
/// pushed to the agent first. Changing limits needs `server:create`.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    server: server::Model,
    changes: ServerChanges,
) -> Result<server::Model> {
    if changes.limits.is_some() && !actor.has("server:create") {
        return Err(Error::Forbidden(
            "changing resource limits needs server:create".into(),
        ));
    }
    if changes.backups.is_some() && !actor.has("server:create") {
        return Err(Error::Forbidden(
            "changing the backup limit needs server:create".into(),
        ));
    }
    if changes.database_limit.is_some() && !actor.is_admin() {
        return Err(Error::Forbidden(
            "only administrators set how many databases a server may have".into(),
        ));
    }
    if let Some(policy) = &changes.crash_policy {
        check_crash_policy(policy)?;
    }
    if let Some(policy) = &changes.backups {
        crate::services::backups::check_policy(policy)?;
    }
    let mut updated = server.clone();
    if let Some(name) = &changes.name {
        updated.name = name.clone();
    }
    if let Some(description) = &changes.description {
        updated.description = description.clone();
    }
    // Held while the node's capacity is checked and the new limits stored.
    let mut resizing = None;
    if let Some(limits) = changes.limits {
        if let Some(node_id) = server.node_id.as_deref() {
            resizing = Some(state.hub().allocation_lock(node_id).await);
            let node = repo::nodes::find(state.db(), node_id)
                .await?
                .ok_or_else(|| Error::not_found("node"))?;
            crate::services::capacity::check(state, &node, limits, Some(&server.id)).await?;
        }
        updated.memory_mb = limits.memory_mb;
        updated.cpu_percent = limits.cpu_percent;
        updated.disk_mb = limits.disk_mb;
    }
    if let Some(policy) = &changes.crash_policy {
        updated.set_crash_policy(policy);
    }
    if let Some(limit) = changes.database_limit {
        updated.database_limit = limit;
    }
    let runtime = changes.runtime.is_set();
    if runtime {
        let template = templates::load(state.db(), &server.alt_id).await?;
        let client = super::client_for(state, &server)?;
        updated.image = resolve(&client, &template, changes.runtime.clone()).await?;
    }
    if changes.limits.is_some() || changes.crash_policy.is_some() || runtime {
        sync(state, &updated).await?;
    }
    let settings = Settings {
        name: changes.name.is_some(),
        description: changes.description.is_some(),
        limits: changes.limits.is_some(),
        crash_policy: changes.crash_policy.is_some(),
        image: runtime,
        database_limit: changes.database_limit.is_some(),
    };
    let txn = state.db().begin().await?;
    let mut saved = repo::servers::save_settings(&txn, updated, settings).await?;
    if let Some(policy) = changes.backups {
        repo::backups::set_policy(&txn, &saved.id, policy).await?;
        (
            saved.backup_limit,
            saved.backup_keep_last,
            saved.backup_keep_days,
        ) = (policy.limit, policy.keep_last, policy.keep_days);
    }
    let details = json!({
        "name": saved.name,
        "limitsChanged": changes.limits.is_some(),
        "crashPolicy": changes.crash_policy,
        "image": runtime.then_some(&saved.image),
        "backups": changes.backups.map(|p| json!({
            "limit": p.limit, "keepLast": p.keep_last, "keepDays": p.keep_days
        })),
        "databaseLimit": changes.database_limit,
    });
    audit::record_by(&txn, actor, "server.updated", "server", &saved.id, details).await?;
    txn.commit().await?;
    drop(resizing);
    Ok(saved)
}
