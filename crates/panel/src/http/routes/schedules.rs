//! `/api/servers/{id}/schedules`: schedules the server's agent runs, manual runs and run
//! history; `/api/schedules/preview`: a cron expression in words with its next runs.

use axum::extract::{Path, State};
use axum::http::Method;
use cap_protocol::schedule::{Outcome, RunTrigger, ScheduleTask, TaskRecord, Trigger};
use chrono::{DateTime, Utc};
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::auth::Actor;
use crate::db::entities::{schedule, schedule_run};
use crate::error::Result;
use crate::http::access::{Access, ApiRoutes, ServerScope};
use crate::http::envelope::Envelope;
use crate::http::extract::{Page, PageQuery, ValidJson, ValidQuery};
use crate::services::schedules::{self as service, ScheduleInput};
use crate::state::AppState;

const KEY: &str = "server:schedule";

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    api.add(
        Method::GET,
        "/servers/{id}/schedules",
        Access::Server(KEY),
        list,
    )
    .add(
        Method::POST,
        "/servers/{id}/schedules",
        Access::Server(KEY),
        create,
    )
    .add(
        Method::GET,
        "/servers/{id}/schedules/{schedule_id}",
        Access::Server(KEY),
        get,
    )
    .add(
        Method::PUT,
        "/servers/{id}/schedules/{schedule_id}",
        Access::Server(KEY),
        update,
    )
    .add(
        Method::DELETE,
        "/servers/{id}/schedules/{schedule_id}",
        Access::Server(KEY),
        delete,
    )
    .add(
        Method::POST,
        "/servers/{id}/schedules/{schedule_id}/run",
        Access::Server(KEY),
        run_now,
    )
    .add(
        Method::GET,
        "/servers/{id}/schedules/{schedule_id}/runs",
        Access::Server(KEY),
        runs,
    )
    .add(
        Method::GET,
        "/schedules/preview",
        Access::Authenticated,
        preview,
    )
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleView {
    id: String,
    name: String,
    active: bool,
    trigger: Trigger,
    only_when_online: bool,
    tasks: Vec<ScheduleTask>,
    deadline_seconds: u64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn view(row: schedule::Model, schedule: cap_protocol::schedule::Schedule) -> ScheduleView {
    ScheduleView {
        id: row.id,
        name: schedule.name,
        active: schedule.active,
        trigger: schedule.trigger,
        only_when_online: schedule.only_when_online,
        tasks: schedule.tasks,
        deadline_seconds: schedule.deadline_seconds,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// A schedule: a trigger and up to 20 tasks run in order on the server's node.
#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduleBody {
    #[garde(length(min = 1, max = 100))]
    name: String,
    /// Inactive schedules only run when run by hand (default true).
    #[serde(default = "yes")]
    #[garde(skip)]
    active: bool,
    /// `cron` (with `expression` and `timezone`, `UTC` when omitted), `started`,
    /// `crashed`, `stopped`, `console_line` (with `pattern`) or `backup_finished`.
    #[garde(skip)]
    trigger: Trigger,
    /// Only run while the server is running (otherwise the run is recorded as skipped).
    #[serde(default)]
    #[garde(skip)]
    only_when_online: bool,
    /// Each task has a `type`: `command`, `power`, `backup`, `wait` or `wait_for_line`.
    #[garde(skip)]
    tasks: Vec<ScheduleTask>,
    /// Seconds a run may take before it is ended as failed (default 3600).
    #[serde(default = "an_hour")]
    #[garde(skip)]
    deadline_seconds: u64,
}

fn yes() -> bool {
    true
}

fn an_hour() -> u64 {
    3600
}

impl From<ScheduleBody> for ScheduleInput {
    fn from(body: ScheduleBody) -> Self {
        ScheduleInput {
            name: body.name,
            active: body.active,
            trigger: body.trigger,
            only_when_online: body.only_when_online,
            tasks: body.tasks,
            deadline_seconds: body.deadline_seconds,
        }
    }
}

async fn list(
    State(state): State<AppState>,
    scope: ServerScope,
) -> Result<Envelope<Vec<ScheduleView>>> {
    let rows = service::list(&state, &scope).await?;
    Ok(Envelope::ok(
        rows.into_iter().map(|(row, s)| view(row, s)).collect(),
    ))
}

async fn create(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    ValidJson(body): ValidJson<ScheduleBody>,
) -> Result<Envelope<ScheduleView>> {
    let row = service::create::create(&state, &actor, &scope, body.into()).await?;
    let (row, schedule) = service::get(&state, &scope, &row.id).await?;
    Ok(Envelope::ok(view(row, schedule)).with_message("schedule created"))
}

async fn get(
    State(state): State<AppState>,
    scope: ServerScope,
    Path((_, schedule_id)): Path<(String, String)>,
) -> Result<Envelope<ScheduleView>> {
    let (row, schedule) = service::get(&state, &scope, &schedule_id).await?;
    Ok(Envelope::ok(view(row, schedule)))
}

async fn update(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    Path((_, schedule_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<ScheduleBody>,
) -> Result<Envelope<ScheduleView>> {
    service::update::update(&state, &actor, &scope, &schedule_id, body.into()).await?;
    get(State(state), scope, Path((String::new(), schedule_id))).await
}

async fn delete(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    Path((_, schedule_id)): Path<(String, String)>,
) -> Result<Envelope<()>> {
    service::delete::delete(&state, &actor, &scope, &schedule_id).await?;
    Ok(Envelope::ok(()).with_message("schedule deleted"))
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunStartedView {
    /// The run's id; its record appears in the history once the node reports it.
    run_id: String,
}

async fn run_now(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    Path((_, schedule_id)): Path<(String, String)>,
) -> Result<Envelope<RunStartedView>> {
    let run_id = service::run_now::run_now(&state, &actor, &scope, &schedule_id).await?;
    Ok(Envelope::ok(RunStartedView {
        run_id: run_id.to_string(),
    })
    .with_message("schedule started"))
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    id: String,
    trigger: RunTrigger,
    outcome: Outcome,
    error: Option<String>,
    tasks: Vec<TaskRecord>,
    started_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
}

/// A stored enum value by its wire name.
fn named<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

fn run_view(row: schedule_run::Model) -> RunView {
    RunView {
        trigger: named(&row.trigger).unwrap_or(RunTrigger::Manual),
        outcome: named(&row.outcome).unwrap_or(Outcome::Failed),
        error: row.error,
        tasks: serde_json::from_value(row.tasks).unwrap_or_default(),
        id: row.id,
        started_at: row.started_at,
        ended_at: row.ended_at,
    }
}

async fn runs(
    State(state): State<AppState>,
    scope: ServerScope,
    Path((_, schedule_id)): Path<(String, String)>,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> Result<Envelope<Page<RunView>>> {
    let (rows, total) = service::runs(&state, &scope, &schedule_id, q.page(), q.per_page()).await?;
    Ok(Envelope::ok(Page {
        items: rows.into_iter().map(run_view).collect(),
        total,
        page: q.page(),
        per_page: q.per_page(),
    }))
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PreviewQuery {
    /// Five fields (or six with leading seconds).
    cron: String,
    /// An IANA timezone name (default `UTC`).
    #[serde(default)]
    timezone: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewView {
    /// In words, e.g. `every day at 04:00 Europe/Berlin`.
    description: String,
    /// The next five run times.
    next_runs: Vec<DateTime<Utc>>,
}

async fn preview(ValidQuery(q): ValidQuery<PreviewQuery>) -> Result<Envelope<PreviewView>> {
    let timezone = q.timezone.as_deref().unwrap_or("UTC");
    let preview = service::preview::preview(&q.cron, timezone)?;
    Ok(Envelope::ok(PreviewView {
        description: preview.description,
        next_runs: preview.next_runs,
    }))
}
