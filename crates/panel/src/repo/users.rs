//! Users.

use chrono::Utc;
use sea_orm::sea_query::{Expr, Func, SimpleExpr};
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

/// `lower(column) = lower(value)`: what the case-insensitive unique indexes compare.
fn same_letters(column: user::Column, value: &str) -> SimpleExpr {
    Expr::expr(Func::lower(Expr::col(column))).eq(value.to_lowercase())
}

/// Looks a user up by username or e-mail, in any letter case.
pub async fn find_by_login(db: &impl ConnectionTrait, login: &str) -> Result<Option<user::Model>> {
    let condition = Condition::any()
        .add(same_letters(user::Column::Username, login))
        .add(same_letters(user::Column::Email, login));
    Ok(user::Entity::find().filter(condition).one(db).await?)
}

/// Another account (not `except`) whose username or e-mail equals these in any letter
/// case.
pub async fn find_clash(
    db: &impl ConnectionTrait,
    username: Option<&str>,
    email: Option<&str>,
    except: Option<&str>,
) -> Result<Option<user::Model>> {
    let mut same = Condition::any();
    if let Some(username) = username {
        same = same.add(same_letters(user::Column::Username, username));
    }
    if let Some(email) = email {
        same = same.add(same_letters(user::Column::Email, email));
    }
    let mut query = user::Entity::find().filter(same);
    if let Some(except) = except {
        query = query.filter(user::Column::Id.ne(except));
    }
    Ok(query.one(db).await?)
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
    super::epochs::access_changed();
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

/// One page of users ordered by username, optionally only those whose username or
/// e-mail contains `filter` (case-insensitively); with the number of matching users.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: Option<&str>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<user::Model>, u64)> {
    use sea_orm::QueryOrder;

    let mut query = user::Entity::find().order_by_asc(user::Column::Username);
    if let Some(filter) = filter {
        query = query.filter(
            Condition::any()
                .add(super::name_contains(user::Column::Username, filter))
                .add(super::name_contains(user::Column::Email, filter)),
        );
    }
    super::fetch_page(db, query, page, per_page).await
}

/// Fields of a user to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub email: Option<String>,
    pub role: Option<String>,
    pub disabled: Option<bool>,
    /// Already hashed. Tokens issued before the change stop working.
    pub password_hash: Option<String>,
}

pub async fn update(
    db: &impl ConnectionTrait,
    current: user::Model,
    changes: UserChanges,
) -> Result<user::Model> {
    super::epochs::server_list_changed();
    super::epochs::access_changed();
    let now = Utc::now();
    let mut model: user::ActiveModel = current.into();
    if let Some(email) = changes.email {
        model.email = Set(email);
    }
    if let Some(role) = changes.role {
        model.role = Set(role);
    }
    if let Some(disabled) = changes.disabled {
        model.disabled = Set(disabled);
    }
    if let Some(hash) = changes.password_hash {
        model.password_hash = Set(hash);
        model.password_changed_at = Set(now);
    }
    model.updated_at = Set(now);
    Ok(model.update(db).await?)
}

/// Deletes a user; their servers, sessions, keys and permission rows go with them
/// (foreign keys cascade), their audit rows stay with the user unset.
pub async fn delete(db: &impl ConnectionTrait, id: &str) -> Result<bool> {
    super::epochs::server_list_changed();
    super::epochs::access_changed();
    let result = user::Entity::delete_by_id(id).exec(db).await?;
    Ok(result.rows_affected == 1)
}

fn active_admins() -> Condition {
    Condition::all()
        .add(user::Column::Role.eq(crate::permissions::ADMIN_ROLE))
        .add(user::Column::Disabled.eq(false))
}

/// Inside a transaction, takes the write locks that serialise changes to the set of
/// active administrators: a no-op update of their rows locks them on PostgreSQL, and any
/// write takes the database write lock on SQLite. Two concurrent demotions then cannot
/// both see the other administrator still active.
pub async fn lock_active_admins(db: &impl ConnectionTrait) -> Result<()> {
    user::Entity::update_many()
        .col_expr(
            user::Column::UpdatedAt,
            Expr::col(user::Column::UpdatedAt).into(),
        )
        .filter(active_admins())
        .exec(db)
        .await?;
    Ok(())
}

/// How many enabled users hold the admin role.
pub async fn count_active_admins(db: &impl ConnectionTrait) -> Result<u64> {
    Ok(user::Entity::find()
        .filter(active_admins())
        .count(db)
        .await?)
}

/// Usernames of the given user ids (ids that no longer exist are absent).
pub async fn usernames(
    db: &impl ConnectionTrait,
    ids: Vec<String>,
) -> Result<std::collections::HashMap<String, String>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(users.into_iter().map(|u| (u.id, u.username)).collect())
}
