//! Replacing a schedule.

use sea_orm::TransactionTrait;
use serde_json::json;

use super::{get, stored, to_row, validate, ScheduleInput};
use crate::auth::Actor;
use crate::db::entities::schedule;
use crate::error::Result;
use crate::repo;
use crate::services::audit;
use crate::services::server_access::ServerScope;
use crate::services::servers as definition;
use crate::state::AppState;

/// Validate, tell the agent, store with the audit row.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    scope: &ServerScope,
    id: &str,
    input: ScheduleInput,
) -> Result<schedule::Model> {
    let (row, existing) = get(state, scope, id).await?;
    let schedule = validate(existing.id, input)?;
    let all = stored(state, &scope.server.id)
        .await?
        .into_iter()
        .map(|s| {
            if s.id == schedule.id {
                schedule.clone()
            } else {
                s
            }
        })
        .collect();
    definition::sync_schedules(state, &scope.server, all).await?;
    let txn = state.db().begin().await?;
    let updated =
        repo::schedules::update(&txn, to_row(&scope.server.id, &schedule, row.created_at)?).await?;
    audit::record_by(
        &txn,
        actor,
        "schedule.updated",
        "server",
        &scope.server.id,
        json!({ "schedule": updated.id, "name": updated.name }),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}
