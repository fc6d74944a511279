//! Per-user permission grants and revocations.

use chrono::Utc;
use std::collections::BTreeSet;

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::db::entities::{role_permission, user_permission};
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

/// A user's effective permission keys: their role's set, plus grants, minus revocations.
pub async fn effective(
    db: &impl ConnectionTrait,
    user_id: &str,
    role: &str,
) -> Result<BTreeSet<String>> {
    let mut keys: BTreeSet<String> = role_permission::Entity::find()
        .filter(role_permission::Column::Role.eq(role))
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.permission_id)
        .collect();
    let overrides = user_permission::Entity::find()
        .filter(user_permission::Column::UserId.eq(user_id))
        .all(db)
        .await?;
    for row in overrides {
        if row.granted {
            keys.insert(row.permission_id);
        } else {
            keys.remove(&row.permission_id);
        }
    }
    Ok(keys)
}
