//! Read-only queries behind the health check and the monitoring overview.

use sea_orm::sea_query::Expr;
use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, QueryOrder, QuerySelect, Statement};

use crate::db::entities::{node, server};
use crate::error::Result;

/// A real round-trip to the database: `SELECT 1`.
pub async fn ping(db: &impl ConnectionTrait) -> Result<()> {
    let statement = Statement::from_string(db.get_database_backend(), "SELECT 1");
    db.query_one(statement).await?;
    Ok(())
}

/// How many rows share one value (a status, a state).
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct NodeStatusCount {
    pub status: String,
    pub count: i64,
}

/// Nodes per `status` column value.
pub async fn node_status_counts(db: &impl ConnectionTrait) -> Result<Vec<NodeStatusCount>> {
    Ok(node::Entity::find()
        .select_only()
        .column(node::Column::Status)
        .column_as(Expr::col(node::Column::Id).count(), "count")
        .group_by(node::Column::Status)
        .into_model::<NodeStatusCount>()
        .all(db)
        .await?)
}

/// Every node, by name.
pub async fn nodes(db: &impl ConnectionTrait) -> Result<Vec<node::Model>> {
    Ok(node::Entity::find()
        .order_by_asc(node::Column::Name)
        .all(db)
        .await?)
}

/// Servers per node (`None`: not placed on a node) and state.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct ServerStateCount {
    pub node_id: Option<String>,
    pub state: String,
    pub count: i64,
}

pub async fn server_state_counts(db: &impl ConnectionTrait) -> Result<Vec<ServerStateCount>> {
    Ok(server::Entity::find()
        .select_only()
        .column(server::Column::NodeId)
        .column(server::Column::State)
        .column_as(Expr::col(server::Column::Id).count(), "count")
        .group_by(server::Column::NodeId)
        .group_by(server::Column::State)
        .into_model::<ServerStateCount>()
        .all(db)
        .await?)
}
