//! Removing a schedule (with its run history).

use sea_orm::TransactionTrait;
use serde_json::json;

use super::{get, stored};
use crate::auth::Actor;
use crate::error::Result;
use crate::repo;
use crate::services::audit;
use crate::services::server_access::ServerScope;
use crate::services::servers as definition;
use crate::state::AppState;

/// Tell the agent, then delete with the audit row.
pub async fn delete(state: &AppState, actor: &Actor, scope: &ServerScope, id: &str) -> Result<()> {
    let (row, schedule) = get(state, scope, id).await?;
    let rest = stored(state, &scope.server.id)
        .await?
        .into_iter()
        .filter(|s| s.id != schedule.id)
        .collect();
    definition::sync_schedules(state, &scope.server, rest).await?;
    let txn = state.db().begin().await?;
    repo::schedules::delete(&txn, &row.id).await?;
    audit::record_by(
        &txn,
        actor,
        "schedule.deleted",
        "server",
        &scope.server.id,
        json!({ "schedule": row.id, "name": row.name }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
