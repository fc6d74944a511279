//! Running schedules now and reading run records (see [`crate::schedule`]).

use axum::extract::State;
use cap_protocol::schedule::{RunStarted, ScheduleRun};
use serde::Deserialize;
use uuid::Uuid;

use crate::http::envelope::{ApiOk, ApiResult};
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::AppState;

/// `POST /api/servers/{id}/schedules/{schedule}/run`
pub async fn run(
    State(state): State<AppState>,
    ApiPath((id, schedule)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<RunStarted> {
    let run_id = state.scheduler.run_now(id, schedule)?;
    Ok(ApiOk(RunStarted { run_id }))
}

/// `?after=SEQ`
#[derive(Debug, Deserialize)]
pub struct AfterQuery {
    #[serde(default)]
    after: u64,
}

/// `GET /api/servers/{id}/schedule-runs?after=SEQ`
pub async fn runs(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<AfterQuery>,
) -> ApiResult<Vec<ScheduleRun>> {
    state.supervisor.get(id)?;
    let scheduler = state.scheduler.clone();
    let runs = tokio::task::spawn_blocking(move || scheduler.runs_after(id, query.after)).await?;
    Ok(ApiOk(runs))
}
