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
    super::epochs::access_changed();
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

/// Whether a role of that name exists.
pub async fn role_exists(db: &impl ConnectionTrait, role: &str) -> Result<bool> {
    use sea_orm::PaginatorTrait;
    let found = crate::db::entities::role::Entity::find_by_id(role)
        .count(db)
        .await?;
    Ok(found > 0)
}

/// The keys a role holds.
pub async fn role_keys(db: &impl ConnectionTrait, role: &str) -> Result<BTreeSet<String>> {
    Ok(role_permission::Entity::find()
        .filter(role_permission::Column::Role.eq(role))
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.permission_id)
        .collect())
}

/// A user's own grants and revocations, on top of their role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub grants: BTreeSet<String>,
    pub revocations: BTreeSet<String>,
}

pub async fn overrides(db: &impl ConnectionTrait, user_id: &str) -> Result<Overrides> {
    let rows = user_permission::Entity::find()
        .filter(user_permission::Column::UserId.eq(user_id))
        .all(db)
        .await?;
    let mut result = Overrides::default();
    for row in rows {
        if row.granted {
            result.grants.insert(row.permission_id);
        } else {
            result.revocations.insert(row.permission_id);
        }
    }
    Ok(result)
}

/// Replaces all of a user's grants and revocations (run it in a transaction).
pub async fn replace_overrides(
    db: &impl ConnectionTrait,
    user_id: &str,
    new: &Overrides,
) -> Result<()> {
    super::epochs::access_changed();
    user_permission::Entity::delete_many()
        .filter(user_permission::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    let rows = new
        .grants
        .iter()
        .map(|key| (key, true))
        .chain(new.revocations.iter().map(|key| (key, false)));
    for (key, granted) in rows {
        set(db, user_id, key, granted).await?;
    }
    Ok(())
}
