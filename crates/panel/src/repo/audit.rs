//! Reading the audit log (entries are written by `services::audit`).

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::db::entities::audit_log;
use crate::error::Result;

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
