//! Schedules of a server. The panel stores them and pushes them to the server's agent
//! with its definition; the agent runs them (also while the panel is away) and reports
//! every run, which the event stream stores (`agents/events.rs`). One module per use case;
//! each change pushes the new set of schedules first and then writes the change and its
//! audit row in one transaction.

pub mod create;
pub mod delete;
pub mod preview;
pub mod run_now;
pub mod update;

use cap_protocol::schedule::{Schedule, ScheduleTask, Trigger, MAX_TASKS};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::entities::{schedule, schedule_run};
use crate::error::{Error, FieldErrors, Result};
use crate::repo;
use crate::services::server_access::ServerScope;
use crate::state::AppState;

/// A schedule as a caller describes it.
#[derive(Debug, Clone)]
pub struct ScheduleInput {
    pub name: String,
    pub active: bool,
    pub trigger: Trigger,
    pub only_when_online: bool,
    pub tasks: Vec<ScheduleTask>,
    pub deadline_seconds: u64,
}

/// The schedule `input` describes under `id`, or every problem with it (422).
fn validate(id: Uuid, input: ScheduleInput) -> Result<Schedule> {
    let schedule = Schedule {
        id,
        name: input.name.trim().to_owned(),
        active: input.active,
        trigger: input.trigger,
        only_when_online: input.only_when_online,
        tasks: input.tasks,
        deadline_seconds: input.deadline_seconds,
    };
    let mut problems = Vec::new();
    schedule.check("", &mut problems);
    if schedule.name.is_empty() {
        problems.push(cap_protocol::validation::FieldError {
            field: "name".into(),
            message: "must not be empty".into(),
        });
    }
    let mut details = FieldErrors::new();
    for problem in problems {
        let message = if problem.field == "tasks" {
            format!("a schedule has between 1 and {MAX_TASKS} tasks")
        } else {
            problem.message
        };
        details.entry(problem.field).or_default().push(message);
    }
    Error::unless_invalid(details)?;
    Ok(schedule)
}

/// The stored row of `schedule` on `server_id`.
fn to_row(
    server_id: &str,
    schedule: &Schedule,
    created_at: DateTime<Utc>,
) -> Result<schedule::Model> {
    let json = |value: serde_json::Result<serde_json::Value>| value.map_err(Error::internal);
    Ok(schedule::Model {
        id: schedule.id.to_string(),
        server_id: server_id.to_owned(),
        name: schedule.name.clone(),
        active: schedule.active,
        trigger: json(serde_json::to_value(&schedule.trigger))?,
        only_when_online: schedule.only_when_online,
        tasks: json(serde_json::to_value(&schedule.tasks))?,
        deadline_seconds: i64::try_from(schedule.deadline_seconds).unwrap_or(i64::MAX),
        created_at,
        updated_at: Utc::now(),
    })
}

/// The schedule a stored row holds.
pub fn to_wire(row: &schedule::Model) -> Result<Schedule> {
    let parse = |what: &'static str| {
        move |e: serde_json::Error| Error::internal(format!("stored schedule {what}: {e}"))
    };
    Ok(Schedule {
        id: row.id.parse().map_err(Error::internal)?,
        name: row.name.clone(),
        active: row.active,
        trigger: serde_json::from_value(row.trigger.clone()).map_err(parse("trigger"))?,
        only_when_online: row.only_when_online,
        tasks: serde_json::from_value(row.tasks.clone()).map_err(parse("tasks"))?,
        deadline_seconds: u64::try_from(row.deadline_seconds).unwrap_or(0),
    })
}

/// Every schedule stored for a server, as its agent gets them.
pub async fn stored(state: &AppState, server_id: &str) -> Result<Vec<Schedule>> {
    repo::schedules::for_server(state.db(), server_id)
        .await?
        .iter()
        .map(to_wire)
        .collect()
}

/// A server's schedules with their rows (for the times), oldest first.
pub async fn list(
    state: &AppState,
    scope: &ServerScope,
) -> Result<Vec<(schedule::Model, Schedule)>> {
    let rows = repo::schedules::for_server(state.db(), &scope.server.id).await?;
    rows.into_iter()
        .map(|row| to_wire(&row).map(|s| (row, s)))
        .collect()
}

/// One schedule of the server, or 404.
pub async fn get(
    state: &AppState,
    scope: &ServerScope,
    id: &str,
) -> Result<(schedule::Model, Schedule)> {
    let row = repo::schedules::find(state.db(), &scope.server.id, id)
        .await?
        .ok_or_else(|| Error::not_found("schedule"))?;
    let schedule = to_wire(&row)?;
    Ok((row, schedule))
}

/// One page of a schedule's runs, newest first, with their number.
pub async fn runs(
    state: &AppState,
    scope: &ServerScope,
    id: &str,
    page: u64,
    per_page: u64,
) -> Result<(Vec<schedule_run::Model>, u64)> {
    get(state, scope, id).await?;
    repo::schedules::runs(state.db(), id, page, per_page).await
}
