//! The audit log: who did what to which target, from where, in which request.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde_json::Value;

use crate::auth::service::Client;
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
