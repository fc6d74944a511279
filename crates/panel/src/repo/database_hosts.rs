//! Database hosts: the MySQL/MariaDB and PostgreSQL servers admins register.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryOrder, QuerySelect, Set,
};

use crate::db::entities::{database_host, server_database};
use crate::error::Result;

/// A host to store; the password is already encrypted with the panel's key.
#[derive(Debug, Clone)]
pub struct HostFields {
    pub name: String,
    pub engine: String,
    pub address: String,
    pub port: i32,
    pub username: String,
    pub password_ciphertext: String,
    pub node_id: Option<String>,
    pub max_databases: i32,
}

pub async fn create(db: &impl ConnectionTrait, new: HostFields) -> Result<database_host::Model> {
    let now = Utc::now();
    let model = database_host::ActiveModel {
        id: Set(super::new_id()),
        name: Set(new.name),
        engine: Set(new.engine),
        address: Set(new.address),
        port: Set(new.port),
        username: Set(new.username),
        password_ciphertext: Set(new.password_ciphertext),
        node_id: Set(new.node_id),
        max_databases: Set(new.max_databases),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(model.insert(db).await?)
}

/// Replaces every field of host `id` but its engine.
pub async fn update(
    db: &impl ConnectionTrait,
    existing: database_host::Model,
    fields: HostFields,
) -> Result<database_host::Model> {
    let mut model: database_host::ActiveModel = existing.into();
    model.name = Set(fields.name);
    model.address = Set(fields.address);
    model.port = Set(fields.port);
    model.username = Set(fields.username);
    model.password_ciphertext = Set(fields.password_ciphertext);
    model.node_id = Set(fields.node_id);
    model.max_databases = Set(fields.max_databases);
    model.updated_at = Set(Utc::now());
    Ok(model.update(db).await?)
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<database_host::Model>> {
    Ok(database_host::Entity::find_by_id(id).one(db).await?)
}

/// Every host, oldest first.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<database_host::Model>> {
    Ok(database_host::Entity::find()
        .order_by_asc(database_host::Column::CreatedAt)
        .order_by_asc(database_host::Column::Id)
        .all(db)
        .await?)
}

/// How many databases (orphaned ones too) each host holds.
pub async fn database_counts(db: &impl ConnectionTrait) -> Result<HashMap<String, u64>> {
    let rows: Vec<(String, i64)> = server_database::Entity::find()
        .select_only()
        .column(server_database::Column::HostId)
        .column_as(server_database::Column::Id.count(), "count")
        .group_by(server_database::Column::HostId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(host, count)| (host, u64::try_from(count).unwrap_or_default()))
        .collect())
}

/// Deletes a host; one that still holds databases is refused by its foreign key.
pub async fn delete(db: &impl ConnectionTrait, id: &str) -> Result<()> {
    database_host::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}
