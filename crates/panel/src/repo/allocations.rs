//! Allocations: addresses (IP + port) of a node, free (`server_id` NULL) or held by a
//! server. Rows are created by admins in bulk, or on first use for ports of the node's
//! range; a released row stays, free, for reuse.

use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::db::entities::{allocation, server};
use crate::error::{Error, Result};

/// Addresses of a node that servers hold.
pub async fn held(db: &impl ConnectionTrait, node_id: &str) -> Result<Vec<(String, i32)>> {
    Ok(allocation::Entity::find()
        .select_only()
        .column(allocation::Column::Ip)
        .column(allocation::Column::Port)
        .filter(allocation::Column::NodeId.eq(node_id))
        .filter(allocation::Column::ServerId.is_not_null())
        .into_tuple()
        .all(db)
        .await?)
}

/// Free rows of a node (on one address, if given), by address and port.
pub async fn free(
    db: &impl ConnectionTrait,
    node_id: &str,
    ip: Option<&str>,
) -> Result<Vec<allocation::Model>> {
    let mut query = allocation::Entity::find()
        .filter(allocation::Column::NodeId.eq(node_id))
        .filter(allocation::Column::ServerId.is_null());
    if let Some(ip) = ip {
        query = query.filter(allocation::Column::Ip.eq(ip));
    }
    Ok(query
        .order_by_asc(allocation::Column::Ip)
        .order_by_asc(allocation::Column::Port)
        .all(db)
        .await?)
}

/// An address of a node for a server.
pub struct Claim<'a> {
    pub node_id: &'a str,
    pub ip: &'a str,
    pub port: i32,
    pub server_id: &'a str,
    pub primary: bool,
    pub notes: &'a str,
}

/// Assigns an address of a node to a server, using its free row or creating one; false
/// if a server holds it already.
pub async fn claim(db: &impl ConnectionTrait, claim: Claim<'_>) -> Result<bool> {
    let Claim {
        node_id,
        ip,
        port,
        server_id,
        primary,
        notes,
    } = claim;
    super::epochs::server_list_changed();
    let reused = allocation::Entity::update_many()
        .col_expr(allocation::Column::ServerId, Expr::value(server_id))
        .col_expr(allocation::Column::IsPrimary, Expr::value(primary))
        .col_expr(allocation::Column::Notes, Expr::value(notes))
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
        is_primary: Set(primary),
        notes: Set(notes.to_owned()),
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

/// Every allocation a server holds, oldest first.
pub async fn for_server(
    db: &impl ConnectionTrait,
    server_id: &str,
) -> Result<Vec<allocation::Model>> {
    Ok(allocation::Entity::find()
        .filter(allocation::Column::ServerId.eq(server_id))
        .order_by_asc(allocation::Column::CreatedAt)
        .order_by_asc(allocation::Column::Port)
        .all(db)
        .await?)
}

/// Makes `allocation_id` the server's primary allocation and every other one not.
pub async fn set_primary(
    db: &impl ConnectionTrait,
    server_id: &str,
    allocation_id: &str,
) -> Result<()> {
    super::epochs::server_list_changed();
    allocation::Entity::update_many()
        .col_expr(
            allocation::Column::IsPrimary,
            Expr::col(allocation::Column::Id).eq(allocation_id),
        )
        .filter(allocation::Column::ServerId.eq(server_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_notes(db: &impl ConnectionTrait, allocation_id: &str, notes: &str) -> Result<()> {
    allocation::Entity::update_many()
        .col_expr(allocation::Column::Notes, Expr::value(notes))
        .filter(allocation::Column::Id.eq(allocation_id))
        .exec(db)
        .await?;
    Ok(())
}

fn released() -> sea_orm::UpdateMany<allocation::Entity> {
    super::epochs::server_list_changed();
    allocation::Entity::update_many()
        .col_expr(
            allocation::Column::ServerId,
            Expr::value(Option::<String>::None),
        )
        .col_expr(allocation::Column::IsPrimary, Expr::value(false))
        .col_expr(allocation::Column::Notes, Expr::value(""))
}

/// Frees one allocation (the row stays, for reuse).
pub async fn release_one(db: &impl ConnectionTrait, allocation_id: &str) -> Result<()> {
    released()
        .filter(allocation::Column::Id.eq(allocation_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Frees a server's allocations (the rows stay, for reuse).
pub async fn release(db: &impl ConnectionTrait, server_id: &str) -> Result<()> {
    released()
        .filter(allocation::Column::ServerId.eq(server_id))
        .exec(db)
        .await?;
    Ok(())
}

/// How many rows a node has, free or held.
pub async fn count_on_node(db: &impl ConnectionTrait, node_id: &str) -> Result<u64> {
    Ok(allocation::Entity::find()
        .filter(allocation::Column::NodeId.eq(node_id))
        .count(db)
        .await?)
}

/// Adds free rows for these ports on `ip`; ports the node already has there are kept as
/// they are. Returns how many rows were added.
pub async fn add_free(
    db: &impl ConnectionTrait,
    node_id: &str,
    ip: &str,
    ports: &[u16],
    notes: &str,
) -> Result<u64> {
    if ports.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let rows = ports.iter().map(|port| allocation::ActiveModel {
        id: Set(super::new_id()),
        node_id: Set(node_id.to_owned()),
        ip: Set(ip.to_owned()),
        port: Set(i32::from(*port)),
        server_id: Set(None),
        is_primary: Set(false),
        notes: Set(notes.to_owned()),
        created_at: Set(now),
    });
    Ok(allocation::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                allocation::Column::NodeId,
                allocation::Column::Ip,
                allocation::Column::Port,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?)
}

/// A page of a node's rows by address and port (narrowed to addresses containing `ip`),
/// each with the server holding it.
pub async fn page_for_node(
    db: &impl ConnectionTrait,
    node_id: &str,
    ip: Option<&str>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<(allocation::Model, Option<server::Model>)>, u64)> {
    let mut query = allocation::Entity::find()
        .filter(allocation::Column::NodeId.eq(node_id))
        .order_by_asc(allocation::Column::Ip)
        .order_by_asc(allocation::Column::Port);
    if let Some(ip) = ip {
        query = query.filter(super::name_contains(allocation::Column::Ip, ip));
    }
    let paginator = query
        .find_also_related(server::Entity)
        .paginate(db, per_page);
    let total = paginator.num_items().await?;
    Ok((paginator.fetch_page(page.saturating_sub(1)).await?, total))
}

/// These rows of a node (ids of other nodes are ignored).
pub async fn on_node(
    db: &impl ConnectionTrait,
    node_id: &str,
    ids: &[String],
) -> Result<Vec<allocation::Model>> {
    Ok(allocation::Entity::find()
        .filter(allocation::Column::NodeId.eq(node_id))
        .filter(allocation::Column::Id.is_in(ids.iter().cloned()))
        .all(db)
        .await?)
}

/// Deletes these rows of a node, as long as no server holds them; returns how many went.
pub async fn delete_free(db: &impl ConnectionTrait, node_id: &str, ids: &[String]) -> Result<u64> {
    Ok(allocation::Entity::delete_many()
        .filter(allocation::Column::NodeId.eq(node_id))
        .filter(allocation::Column::Id.is_in(ids.iter().cloned()))
        .filter(allocation::Column::ServerId.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

/// Sets how many allocations a server may hold.
pub async fn set_limit(db: &impl ConnectionTrait, server_id: &str, limit: i32) -> Result<()> {
    server::Entity::update_many()
        .col_expr(server::Column::AllocationLimit, Expr::value(limit))
        .filter(server::Column::Id.eq(server_id))
        .exec(db)
        .await?;
    Ok(())
}
