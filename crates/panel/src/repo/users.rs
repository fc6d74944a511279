//! Users.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, PaginatorTrait, Set};

use crate::db::entities::user;
use crate::error::Result;

/// What it takes to create a user; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
}

pub async fn create(db: &impl ConnectionTrait, new: NewUser) -> Result<user::Model> {
    let now = Utc::now();
    let model = user::ActiveModel {
        id: Set(super::new_id()),
        username: Set(new.username),
        email: Set(new.email),
        password_hash: Set(new.password_hash),
        role: Set(new.role),
        disabled: Set(false),
        last_login_at: Set(None),
        password_changed_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(model.insert(db).await?)
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64> {
    Ok(user::Entity::find().count(db).await?)
}
