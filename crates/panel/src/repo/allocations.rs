//! Game ports per node (the port manager's bookkeeping).

use std::collections::HashSet;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
};

use crate::db::entities::allocation;
use crate::error::{Error, Result};

/// Ports of a node that are assigned to a server.
pub async fn taken(db: &impl ConnectionTrait, node_id: &str) -> Result<HashSet<i32>> {
    let ports: Vec<i32> = allocation::Entity::find()
        .select_only()
        .column(allocation::Column::Port)
        .filter(allocation::Column::NodeId.eq(node_id))
        .filter(allocation::Column::ServerId.is_not_null())
        .into_tuple()
        .all(db)
        .await?;
    Ok(ports.into_iter().collect())
}

/// Assigns `port` on a node to a server; false if someone else holds it.
pub async fn claim(
    db: &impl ConnectionTrait,
    node_id: &str,
    ip: &str,
    port: i32,
    server_id: &str,
) -> Result<bool> {
    super::list_cache::invalidate();
    let reused = allocation::Entity::update_many()
        .col_expr(allocation::Column::ServerId, Expr::value(server_id))
        .col_expr(allocation::Column::IsPrimary, Expr::value(true))
        .filter(allocation::Column::NodeId.eq(node_id))
        .filter(allocation::Column::Ip.eq(ip))
        .filter(allocation::Column::Port.eq(port))
        .filter(allocation::Column::ServerId.is_null())
        .exec(db)
        .await?;
    if reused.rows_affected == 1 {
        return Ok(true);
    }
    let model = allocation::ActiveModel {
        id: Set(super::new_id()),
        node_id: Set(node_id.to_owned()),
        ip: Set(ip.to_owned()),
        port: Set(port),
        server_id: Set(Some(server_id.to_owned())),
        is_primary: Set(true),
        created_at: Set(Utc::now()),
    };
    match model.insert(db).await {
        Ok(_) => Ok(true),
        Err(e) => match Error::from(e) {
            Error::Conflict(_) => Ok(false),
            other => Err(other),
        },
    }
}

/// The primary allocation of each of these servers.
pub async fn primary_for(
    db: &impl ConnectionTrait,
    server_ids: &[String],
) -> Result<Vec<allocation::Model>> {
    if server_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(allocation::Entity::find()
        .filter(allocation::Column::ServerId.is_in(server_ids.iter().cloned()))
        .filter(allocation::Column::IsPrimary.eq(true))
        .all(db)
        .await?)
}

/// Frees a server's ports (the rows stay, for reuse).
pub async fn release(db: &impl ConnectionTrait, server_id: &str) -> Result<()> {
    super::list_cache::invalidate();
    allocation::Entity::update_many()
        .col_expr(
            allocation::Column::ServerId,
            Expr::value(Option::<String>::None),
        )
        .col_expr(allocation::Column::IsPrimary, Expr::value(false))
        .filter(allocation::Column::ServerId.eq(server_id))
        .exec(db)
        .await?;
    Ok(())
}
