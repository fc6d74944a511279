//! The audit log's rows: one inserted per recorded change (see `services::audit`), read
//! back a page at a time.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::db::entities::audit_log;
use crate::error::Result;

/// An entry to store.
pub struct NewEntry {
    pub user_id: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub details: serde_json::Value,
    pub ip: String,
    pub request_id: String,
}

pub async fn insert(db: &impl ConnectionTrait, entry: NewEntry) -> Result<()> {
    audit_log::ActiveModel {
        id: Set(super::new_id()),
        user_id: Set(entry.user_id),
        action: Set(entry.action),
        target_type: Set(entry.target_type),
        target_id: Set(entry.target_id),
        details: Set(entry.details),
        ip: Set(entry.ip),
        request_id: Set(entry.request_id),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Removes what one request recorded about `target_id`, when the change it recorded was
/// undone as a whole (a server its agent refused to create).
pub async fn forget_request(
    db: &impl ConnectionTrait,
    request_id: &str,
    target_id: &str,
) -> Result<()> {
    audit_log::Entity::delete_many()
        .filter(audit_log::Column::RequestId.eq(request_id))
        .filter(audit_log::Column::TargetId.eq(target_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user_id: Option<String>,
    pub action: Option<String>,
}

/// One page of entries, newest first, with the number of matching entries.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: AuditFilter,
    page: u64,
    per_page: u64,
) -> Result<(Vec<audit_log::Model>, u64)> {
    let mut query = audit_log::Entity::find()
        .order_by_desc(audit_log::Column::CreatedAt)
        .order_by_desc(audit_log::Column::Id);
    if let Some(user_id) = filter.user_id {
        query = query.filter(audit_log::Column::UserId.eq(user_id));
    }
    if let Some(action) = filter.action {
        query = query.filter(audit_log::Column::Action.eq(action));
    }
    super::fetch_page(db, query, page, per_page).await
}
