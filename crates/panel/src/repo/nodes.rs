//! Nodes (machines running an agent).

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::db::entities::node;
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
    pub cert_fingerprint: Option<String>,
    pub memory_mb: i64,
    pub disk_mb: i64,
    pub port_range: (i32, i32),
}

pub async fn create(db: &impl ConnectionTrait, new: NewNode) -> Result<node::Model> {
    let now = Utc::now();
    let model = node::ActiveModel {
        id: Set(super::new_id()),
        name: Set(new.name),
        description: Set(new.description),
        address: Set(new.address),
        port: Set(new.port),
        scheme: Set(new.scheme),
        token_ciphertext: Set(new.token_ciphertext),
        cert_fingerprint: Set(new.cert_fingerprint),
        memory_mb: Set(new.memory_mb),
        disk_mb: Set(new.disk_mb),
        port_range_start: Set(new.port_range.0),
        port_range_end: Set(new.port_range.1),
        status: Set("unknown".to_owned()),
        last_seen_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(model.insert(db).await?)
}
