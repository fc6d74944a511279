//! Adding a schedule to a server.

use cap_protocol::schedule::MAX_SCHEDULES;
use chrono::Utc;
use sea_orm::TransactionTrait;
use serde_json::json;
use uuid::Uuid;

use super::{stored, to_row, validate, ScheduleInput};
use crate::auth::Actor;
use crate::db::entities::schedule;
use crate::error::{Error, Result};
use crate::repo;
use crate::services::audit;
use crate::services::server_access::ServerScope;
use crate::services::servers as definition;
use crate::state::AppState;

/// Validate, tell the agent, store with the audit row.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    scope: &ServerScope,
    input: ScheduleInput,
) -> Result<schedule::Model> {
    let schedule = validate(Uuid::now_v7(), input)?;
    let mut all = stored(state, &scope.server.id).await?;
    if all.len() >= MAX_SCHEDULES {
        return Err(Error::validation(
            "schedules",
            format!("a server has at most {MAX_SCHEDULES} schedules"),
        ));
    }
    all.push(schedule.clone());
    definition::sync_schedules(state, &scope.server, all).await?;
    let txn = state.db().begin().await?;
    let row =
        repo::schedules::insert(&txn, to_row(&scope.server.id, &schedule, Utc::now())?).await?;
    audit::record_by(
        &txn,
        actor,
        "schedule.created",
        "server",
        &scope.server.id,
        json!({ "schedule": row.id, "name": row.name }),
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}
