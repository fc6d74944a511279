//! Users.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, Set,
};

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

pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id).one(db).await?)
}

/// Looks a user up by username or (case-insensitively) e-mail.
pub async fn find_by_login(db: &impl ConnectionTrait, login: &str) -> Result<Option<user::Model>> {
    let condition = Condition::any()
        .add(user::Column::Username.eq(login))
        .add(user::Column::Email.eq(login.to_lowercase()));
    Ok(user::Entity::find().filter(condition).one(db).await?)
}

pub async fn record_login(db: &impl ConnectionTrait, id: &str) -> Result<()> {
    user::Entity::update_many()
        .col_expr(user::Column::LastLoginAt, Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Stores a new password hash; tokens issued before now stop working.
pub async fn set_password(
    db: &impl ConnectionTrait,
    id: &str,
    password_hash: String,
) -> Result<()> {
    let now = Utc::now();
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(password_hash))
        .col_expr(user::Column::PasswordChangedAt, Expr::value(now))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
