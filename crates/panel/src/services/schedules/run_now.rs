//! Running a schedule now (on its agent; the run's record arrives as events).

use sea_orm::TransactionTrait;
use serde_json::json;
use uuid::Uuid;

use super::get;
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::services::audit;
use crate::services::server_access::ServerScope;
use crate::services::servers::parse_id;
use crate::state::AppState;

/// Ask the agent to run the schedule; returns the run's id.
pub async fn run_now(
    state: &AppState,
    actor: &Actor,
    scope: &ServerScope,
    id: &str,
) -> Result<Uuid> {
    let (row, schedule) = get(state, scope, id).await?;
    let node =
        scope.server.node_id.as_deref().ok_or_else(|| {
            Error::Conflict("this server has no node; its node was deleted".into())
        })?;
    let client = state.hub().online_client(node)?;
    let started = client
        .run_schedule(parse_id(&scope.server.id)?, schedule.id)
        .await?;
    let txn = state.db().begin().await?;
    audit::record_by(
        &txn,
        actor,
        "schedule.run",
        "server",
        &scope.server.id,
        json!({ "schedule": row.id, "name": row.name, "run": started.run_id }),
    )
    .await?;
    txn.commit().await?;
    Ok(started.run_id)
}
