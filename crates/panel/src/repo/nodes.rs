//! Nodes (machines running an agent).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};

use crate::db::entities::{node, server};
use crate::error::Result;

#[derive(Debug, Clone)]
pub struct NewNode {
    pub name: String,
    pub description: String,
    pub address: String,
    pub port: i32,
    pub scheme: String,
    /// Already encrypted with the panel's key.
    pub token_ciphertext: String,
    pub join_token_hash: Option<String>,
    pub cert_fingerprint: Option<String>,
    pub memory_mb: i64,
    pub disk_mb: i64,
    /// See `node::Model::overallocate_percent`.
    pub overallocate_percent: i32,
    pub port_range: (i32, i32),
}

pub async fn create(db: &impl ConnectionTrait, new: NewNode) -> Result<node::Model> {
    super::epochs::server_list_changed();
    let now = Utc::now();
    let model = node::ActiveModel {
        id: Set(super::new_id()),
        name: Set(new.name),
        description: Set(new.description),
        address: Set(new.address),
        port: Set(new.port),
        scheme: Set(new.scheme),
        token_ciphertext: Set(new.token_ciphertext),
        join_token_hash: Set(new.join_token_hash),
        cert_fingerprint: Set(new.cert_fingerprint),
        memory_mb: Set(new.memory_mb),
        disk_mb: Set(new.disk_mb),
        overallocate_percent: Set(new.overallocate_percent),
        port_range_start: Set(new.port_range.0),
        port_range_end: Set(new.port_range.1),
        status: Set("unknown".to_owned()),
        last_seen_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(model.insert(db).await?)
}

pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<node::Model>> {
    Ok(node::Entity::find()
        .order_by_asc(node::Column::Name)
        .all(db)
        .await?)
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<node::Model>> {
    Ok(node::Entity::find_by_id(id).one(db).await?)
}

pub async fn find_by_name(db: &impl ConnectionTrait, name: &str) -> Result<Option<node::Model>> {
    Ok(node::Entity::find()
        .filter(node::Column::Name.eq(name))
        .one(db)
        .await?)
}

pub async fn list(
    db: &impl ConnectionTrait,
    name: Option<&str>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<node::Model>, u64)> {
    super::page_by_name::<node::Entity>(db, node::Column::Name, name, page, per_page).await
}

/// Saves changed columns of a node.
pub async fn save(db: &impl ConnectionTrait, mut model: node::ActiveModel) -> Result<node::Model> {
    super::epochs::server_list_changed();
    model.updated_at = Set(Utc::now());
    Ok(model.update(db).await?)
}

pub async fn delete(db: &impl ConnectionTrait, id: &str) -> Result<()> {
    super::epochs::server_list_changed();
    node::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

pub async fn server_count(db: &impl ConnectionTrait, node_id: &str) -> Result<u64> {
    Ok(server::Entity::find()
        .filter(server::Column::NodeId.eq(node_id))
        .count(db)
        .await?)
}

/// Records what the panel last saw of a node.
pub async fn set_status(
    db: &impl ConnectionTrait,
    id: &str,
    status: &str,
    seen_at: Option<DateTime<Utc>>,
) -> Result<()> {
    super::epochs::server_list_changed();
    let mut update = node::Entity::update_many()
        .col_expr(node::Column::Status, Expr::value(status))
        .filter(node::Column::Id.eq(id));
    if let Some(seen_at) = seen_at {
        update = update.col_expr(node::Column::LastSeenAt, Expr::value(seen_at));
    }
    update.exec(db).await?;
    Ok(())
}

pub async fn find_by_join_hash(
    db: &impl ConnectionTrait,
    hash: &str,
) -> Result<Option<node::Model>> {
    Ok(node::Entity::find()
        .filter(node::Column::JoinTokenHash.eq(hash))
        .one(db)
        .await?)
}
