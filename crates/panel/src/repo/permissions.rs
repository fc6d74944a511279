//! Per-user permission grants and revocations.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::db::entities::user_permission;
use crate::error::Result;

/// Records a grant (`granted = true`) or a revocation of `permission` for `user_id`.
pub async fn set(
    db: &impl ConnectionTrait,
    user_id: &str,
    permission: &str,
    granted: bool,
) -> Result<user_permission::Model> {
    let model = user_permission::ActiveModel {
        id: Set(super::new_id()),
        user_id: Set(user_id.to_owned()),
        permission_id: Set(permission.to_owned()),
        granted: Set(granted),
        created_at: Set(Utc::now()),
    };
    Ok(model.insert(db).await?)
}
