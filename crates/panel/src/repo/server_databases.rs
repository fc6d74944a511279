//! Databases created for servers on database hosts.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};

use crate::db::entities::server_database;
use crate::error::Result;

/// A database to record; the password is already encrypted with the panel's key.
#[derive(Debug, Clone)]
pub struct NewServerDatabase {
    pub server_id: String,
    pub host_id: String,
    pub database_name: String,
    pub username: String,
    pub password_ciphertext: String,
    pub remote: String,
    pub max_connections: i32,
}

pub async fn create(
    db: &impl ConnectionTrait,
    new: NewServerDatabase,
) -> Result<server_database::Model> {
    let model = server_database::ActiveModel {
        id: Set(super::new_id()),
        server_id: Set(new.server_id),
        host_id: Set(new.host_id),
        database_name: Set(new.database_name),
        username: Set(new.username),
        password_ciphertext: Set(new.password_ciphertext),
        remote: Set(new.remote),
        max_connections: Set(new.max_connections),
        orphaned_at: Set(None),
        created_at: Set(Utc::now()),
    };
    Ok(model.insert(db).await?)
}

/// A server's databases, oldest first.
pub async fn for_server(
    db: &impl ConnectionTrait,
    server_id: &str,
) -> Result<Vec<server_database::Model>> {
    Ok(server_database::Entity::find()
        .filter(server_database::Column::ServerId.eq(server_id))
        .filter(server_database::Column::OrphanedAt.is_null())
        .order_by_asc(server_database::Column::CreatedAt)
        .order_by_asc(server_database::Column::Id)
        .all(db)
        .await?)
}

pub async fn count_for_server(db: &impl ConnectionTrait, server_id: &str) -> Result<u64> {
    Ok(server_database::Entity::find()
        .filter(server_database::Column::ServerId.eq(server_id))
        .filter(server_database::Column::OrphanedAt.is_null())
        .count(db)
        .await?)
}

/// Database `id` of server `server_id` (not orphaned).
pub async fn find_for_server(
    db: &impl ConnectionTrait,
    server_id: &str,
    id: &str,
) -> Result<Option<server_database::Model>> {
    Ok(server_database::Entity::find_by_id(id)
        .filter(server_database::Column::ServerId.eq(server_id))
        .filter(server_database::Column::OrphanedAt.is_null())
        .one(db)
        .await?)
}

/// Databases whose server was deleted while their host could not be reached.
pub async fn orphaned(db: &impl ConnectionTrait) -> Result<Vec<server_database::Model>> {
    Ok(server_database::Entity::find()
        .filter(server_database::Column::OrphanedAt.is_not_null())
        .order_by_asc(server_database::Column::OrphanedAt)
        .all(db)
        .await?)
}

pub async fn find_orphaned(
    db: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<server_database::Model>> {
    Ok(server_database::Entity::find_by_id(id)
        .filter(server_database::Column::OrphanedAt.is_not_null())
        .one(db)
        .await?)
}

pub async fn set_password(
    db: &impl ConnectionTrait,
    existing: server_database::Model,
    password_ciphertext: String,
) -> Result<server_database::Model> {
    let mut model: server_database::ActiveModel = existing.into();
    model.password_ciphertext = Set(password_ciphertext);
    Ok(model.update(db).await?)
}

pub async fn mark_orphaned(db: &impl ConnectionTrait, id: &str) -> Result<()> {
    server_database::Entity::update_many()
        .col_expr(
            server_database::Column::OrphanedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(server_database::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn delete(db: &impl ConnectionTrait, id: &str) -> Result<()> {
    server_database::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}
