//! Account SSH keys.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};

use crate::db::entities::ssh_key;
use crate::error::Result;

pub struct NewSshKey {
    pub user_id: String,
    pub name: String,
    pub algorithm: String,
    pub fingerprint: String,
    pub public_key: String,
}

pub async fn create(db: &impl ConnectionTrait, new: NewSshKey) -> Result<ssh_key::Model> {
    let model = ssh_key::ActiveModel {
        id: Set(super::new_id()),
        user_id: Set(new.user_id),
        name: Set(new.name),
        algorithm: Set(new.algorithm),
        fingerprint: Set(new.fingerprint),
        public_key: Set(new.public_key),
        last_used_at: Set(None),
        created_at: Set(Utc::now()),
    };
    Ok(model.insert(db).await?)
}

pub async fn list_for_user(
    db: &impl ConnectionTrait,
    user_id: &str,
) -> Result<Vec<ssh_key::Model>> {
    Ok(ssh_key::Entity::find()
        .filter(ssh_key::Column::UserId.eq(user_id))
        .order_by_asc(ssh_key::Column::CreatedAt)
        .all(db)
        .await?)
}

pub async fn count_for_user(db: &impl ConnectionTrait, user_id: &str) -> Result<u64> {
    Ok(ssh_key::Entity::find()
        .filter(ssh_key::Column::UserId.eq(user_id))
        .count(db)
        .await?)
}

/// The key with this fingerprint, whoever holds it.
pub async fn find_by_fingerprint(
    db: &impl ConnectionTrait,
    fingerprint: &str,
) -> Result<Option<ssh_key::Model>> {
    Ok(ssh_key::Entity::find()
        .filter(ssh_key::Column::Fingerprint.eq(fingerprint))
        .one(db)
        .await?)
}

/// Deletes a key if it belongs to `user_id`; the deleted key, if there was one.
pub async fn delete_for_user(
    db: &impl ConnectionTrait,
    user_id: &str,
    id: &str,
) -> Result<Option<ssh_key::Model>> {
    let found = ssh_key::Entity::find_by_id(id)
        .filter(ssh_key::Column::UserId.eq(user_id))
        .one(db)
        .await?;
    if let Some(key) = &found {
        ssh_key::Entity::delete_by_id(key.id.clone())
            .exec(db)
            .await?;
    }
    Ok(found)
}

pub async fn touch(db: &impl ConnectionTrait, id: &str) -> Result<()> {
    ssh_key::Entity::update_many()
        .col_expr(
            ssh_key::Column::LastUsedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(ssh_key::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
