//! The audit log: who did what to which target, from where, in which request. Services
//! write an entry inside the transaction of the change it records, so the two commit or
//! roll back together.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::Value;

use crate::auth::{Actor, Client};
use crate::db::entities::audit_log;
use crate::error::Result;
use crate::repo::{self, audit::NewEntry};

pub use crate::repo::audit::AuditFilter;

/// A page of entries, newest first, with the total and the usernames of their users.
pub struct Listed {
    pub rows: Vec<audit_log::Model>,
    pub total: u64,
    pub usernames: HashMap<String, String>,
}

pub async fn list(
    db: &DatabaseConnection,
    filter: AuditFilter,
    page: u64,
    per_page: u64,
) -> Result<Listed> {
    let (rows, total) = repo::audit::list(db, filter, page, per_page).await?;
    let ids = rows.iter().filter_map(|row| row.user_id.clone()).collect();
    let usernames = repo::users::usernames(db, ids).await?;
    Ok(Listed {
        rows,
        total,
        usernames,
    })
}

/// One audit entry. `details` must never contain secrets.
pub struct Entry<'a> {
    pub user_id: Option<&'a str>,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<&'a str>,
    pub details: Value,
}

/// Records `entry` as coming from `client` (for callers who are not signed in, or who
/// act on their own account while signing in).
pub async fn record(db: &impl ConnectionTrait, client: &Client, entry: Entry<'_>) -> Result<()> {
    repo::audit::insert(
        db,
        NewEntry {
            user_id: entry.user_id.map(str::to_owned),
            action: entry.action.to_owned(),
            target_type: entry.target_type.to_owned(),
            target_id: entry.target_id.map(str::to_owned),
            details: entry.details,
            ip: client.ip.clone(),
            request_id: client.request_id.clone(),
        },
    )
    .await
}

/// Records that `actor` did `action` to a target.
pub async fn record_by(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    target_type: &str,
    target_id: &str,
    details: Value,
) -> Result<()> {
    record(
        db,
        &actor.client,
        Entry {
            user_id: Some(actor.id()),
            action,
            target_type,
            target_id: Some(target_id),
            details,
        },
    )
    .await
}
