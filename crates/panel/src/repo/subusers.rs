//! Subusers: users invited to a server with per-server permissions.

use std::collections::BTreeSet;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::db::entities::subuser;
use crate::error::Result;

pub async fn find(
    db: &impl ConnectionTrait,
    server_id: &str,
    user_id: &str,
) -> Result<Option<subuser::Model>> {
    Ok(subuser::Entity::find()
        .filter(subuser::Column::ServerId.eq(server_id))
        .filter(subuser::Column::UserId.eq(user_id))
        .one(db)
        .await?)
}

/// The permission keys stored for a subuser.
pub fn permissions(subuser: &subuser::Model) -> BTreeSet<String> {
    serde_json::from_value(subuser.permissions.clone()).unwrap_or_default()
}
