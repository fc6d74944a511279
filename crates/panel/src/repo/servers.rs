//! Game servers.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

use crate::db::entities::server;
use crate::error::Result;

#[derive(Debug, Clone)]
pub struct NewServer {
    pub name: String,
    pub description: String,
    pub owner_id: String,
    pub node_id: Option<String>,
    pub alt_id: String,
    pub memory_mb: i64,
    pub cpu_percent: i32,
    pub disk_mb: i64,
}

pub async fn create(db: &impl ConnectionTrait, new: NewServer) -> Result<server::Model> {
    let now = Utc::now();
    let model = server::ActiveModel {
        id: Set(super::new_id()),
        name: Set(new.name),
        description: Set(new.description),
        owner_id: Set(new.owner_id),
        node_id: Set(new.node_id),
        alt_id: Set(new.alt_id),
        state: Set("offline".to_owned()),
        memory_mb: Set(new.memory_mb),
        cpu_percent: Set(new.cpu_percent),
        disk_mb: Set(new.disk_mb),
        startup_override: Set(None),
        image: Set(None),
        suspended: Set(false),
        installed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(model.insert(db).await?)
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<server::Model>> {
    Ok(server::Entity::find_by_id(id).one(db).await?)
}
