//! The audit log: who did what to which target, from where, in which request.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde_json::Value;

use crate::auth::service::Client;
use crate::auth::Principal;
use crate::db::entities::audit_log;
use crate::error::Result;
use crate::http::envelope::current_request_id;

/// One audit entry. `details` must never contain secrets.
pub struct Entry<'a> {
    pub user_id: Option<&'a str>,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<&'a str>,
    pub details: Value,
}

pub async fn record(db: &impl ConnectionTrait, client: &Client, entry: Entry<'_>) -> Result<()> {
    let row = audit_log::ActiveModel {
        id: Set(crate::repo::new_id()),
        user_id: Set(entry.user_id.map(str::to_owned)),
        action: Set(entry.action.to_owned()),
        target_type: Set(entry.target_type.to_owned()),
        target_id: Set(entry.target_id.map(str::to_owned)),
        details: Set(entry.details),
        ip: Set(client.ip.clone()),
        request_id: Set(current_request_id()),
        created_at: Set(Utc::now()),
    };
    row.insert(db).await?;
    Ok(())
}

/// Records that `principal` did `action` to a target, from `client`'s address.
pub async fn record_by(
    db: &impl ConnectionTrait,
    principal: &Principal,
    client: &Client,
    action: &str,
    target_type: &str,
    target_id: &str,
    details: Value,
) -> Result<()> {
    record(
        db,
        client,
        Entry {
            user_id: Some(principal.id()),
            action,
            target_type,
            target_id: Some(target_id),
            details,
        },
    )
    .await
}
