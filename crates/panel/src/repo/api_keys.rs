//! Personal API keys.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::db::entities::api_key;
use crate::error::Result;

pub struct NewApiKey {
    pub user_id: String,
    pub name: String,
    pub prefix: String,
    pub secret_hash: String,
    pub permissions: Vec<String>,
    pub family: &'static str,
}

pub async fn create(db: &impl ConnectionTrait, new: NewApiKey) -> Result<api_key::Model> {
    let model = api_key::ActiveModel {
        id: Set(super::new_id()),
        user_id: Set(new.user_id),
        name: Set(new.name),
        prefix: Set(new.prefix),
        secret_hash: Set(new.secret_hash),
        permissions: Set(serde_json::json!(new.permissions)),
        last_used_at: Set(None),
        expires_at: Set(None),
        created_at: Set(Utc::now()),
        family: Set(new.family.to_owned()),
    };
    Ok(model.insert(db).await?)
}

pub async fn find_by_prefix(
    db: &impl ConnectionTrait,
    prefix: &str,
) -> Result<Option<api_key::Model>> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::Prefix.eq(prefix))
        .one(db)
        .await?)
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<api_key::Model>> {
    Ok(api_key::Entity::find_by_id(id).one(db).await?)
}

pub async fn list_for_user(
    db: &impl ConnectionTrait,
    user_id: &str,
) -> Result<Vec<api_key::Model>> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::UserId.eq(user_id))
        .order_by_asc(api_key::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Deletes a key if it belongs to `user_id`; false when there was no such key.
pub async fn delete_for_user(db: &impl ConnectionTrait, user_id: &str, id: &str) -> Result<bool> {
    super::epochs::access_changed();
    let result = api_key::Entity::delete_many()
        .filter(api_key::Column::Id.eq(id))
        .filter(api_key::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Deletes every key of `user_id` (their password changed); returns how many there were.
pub async fn delete_all_for_user(db: &impl ConnectionTrait, user_id: &str) -> Result<u64> {
    super::epochs::access_changed();
    let result = api_key::Entity::delete_many()
        .filter(api_key::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

pub async fn touch(db: &impl ConnectionTrait, id: &str) -> Result<()> {
    api_key::Entity::update_many()
        .col_expr(api_key::Column::LastUsedAt, Expr::value(Utc::now()))
        .filter(api_key::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
