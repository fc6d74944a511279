//! Subusers: users invited to a server with per-server permissions.

use std::collections::BTreeSet;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::db::entities::{subuser, user};
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

/// Subusers of a server with their usernames, oldest first.
pub async fn list(
    db: &impl ConnectionTrait,
    server_id: &str,
) -> Result<Vec<(subuser::Model, Option<user::Model>)>> {
    Ok(subuser::Entity::find()
        .filter(subuser::Column::ServerId.eq(server_id))
        .find_also_related(user::Entity)
        .order_by_asc(subuser::Column::CreatedAt)
        .all(db)
        .await?)
}

pub async fn find_by_id(
    db: &impl ConnectionTrait,
    server_id: &str,
    id: &str,
) -> Result<Option<subuser::Model>> {
    Ok(subuser::Entity::find_by_id(id)
        .filter(subuser::Column::ServerId.eq(server_id))
        .one(db)
        .await?)
}

pub async fn create(
    db: &impl ConnectionTrait,
    server_id: &str,
    user_id: &str,
    permissions: &BTreeSet<String>,
) -> Result<subuser::Model> {
    super::epochs::server_list_changed();
    let model = subuser::ActiveModel {
        id: Set(super::new_id()),
        server_id: Set(server_id.to_owned()),
        user_id: Set(user_id.to_owned()),
        permissions: Set(serde_json::json!(permissions)),
        created_at: Set(Utc::now()),
    };
    Ok(model.insert(db).await?)
}

pub async fn set_permissions(
    db: &impl ConnectionTrait,
    existing: subuser::Model,
    permissions: &BTreeSet<String>,
) -> Result<subuser::Model> {
    super::epochs::server_list_changed();
    let mut model: subuser::ActiveModel = existing.into();
    model.permissions = Set(serde_json::json!(permissions));
    Ok(model.update(db).await?)
}

pub async fn delete(db: &impl ConnectionTrait, id: &str) -> Result<()> {
    super::epochs::server_list_changed();
    subuser::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Every server a user is a subuser of, with the grant.
pub async fn for_user(db: &impl ConnectionTrait, user_id: &str) -> Result<Vec<subuser::Model>> {
    Ok(subuser::Entity::find()
        .filter(subuser::Column::UserId.eq(user_id))
        .all(db)
        .await?)
}
