//! `/schedules`: a server's schedules, Pterodactyl's way. A cron trigger shows as
//! Pterodactyl's five `cron` fields; our event triggers (started, crashed, console line…)
//! have no such fields and show `cron: null`. Our schedules always hold a task, so a
//! schedule is created with its tasks on our own API; here they are listed, changed, run
//! and their tasks added, changed and removed (see [`super::schedule_tasks`]).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use cap_protocol::schedule::{Schedule, Trigger};
use garde::Validate;
use serde::Deserialize;
use serde_json::{json, Value};

use super::schedule_tasks::{ours, theirs, Task};
use super::servers::scope;
use super::shapes::{item, list};
use super::{no_content, ClientError, ClientResult, Compat};
use crate::auth::{Actor, Principal};
use crate::db::entities::schedule;
use crate::error::Error;
use crate::http::extract::{OptionalJson, ValidJson};
use crate::services::schedules::{self as service, ScheduleInput};
use crate::services::server_access::ServerScope;
use crate::state::AppState;

const KEY: &str = "server:schedule";

/// Pterodactyl's cron fields of a five-field expression (or a nickname of one).
fn cron_fields(trigger: &Trigger) -> Option<Value> {
    let Trigger::Cron { expression, .. } = trigger else {
        return None;
    };
    let expression = match expression.trim() {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        other => other,
    };
    let fields: Vec<&str> = expression.split_whitespace().collect();
    let [minute, hour, day_of_month, month, day_of_week] = fields[..] else {
        return None;
    };
    Some(json!({
        "minute": minute, "hour": hour, "day_of_month": day_of_month,
        "month": month, "day_of_week": day_of_week,
    }))
}

async fn schedule_object(
    state: &AppState,
    scope: &ServerScope,
    row: &schedule::Model,
    schedule: &Schedule,
) -> ClientResult<Value> {
    let (runs, _) = service::runs(state, scope, &row.id, 1, 1).await?;
    let last = runs.first();
    let next = match &schedule.trigger {
        Trigger::Cron {
            expression,
            timezone,
        } if schedule.active => service::preview::preview(expression, timezone)?
            .next_runs
            .first()
            .copied(),
        _ => None,
    };
    let tasks: Vec<Value> = theirs(&schedule.tasks)
        .iter()
        .enumerate()
        .map(|(i, t)| t.object(i + 1))
        .collect();
    Ok(item(
        "server_schedule",
        json!({
            "id": row.id,
            "name": schedule.name,
            "cron": cron_fields(&schedule.trigger),
            "is_active": schedule.active,
            "is_processing": last.is_some_and(|r| r.ended_at.is_none()),
            "only_when_online": schedule.only_when_online,
            "last_run_at": last.map(|r| r.started_at),
            "next_run_at": next,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "relationships": { "tasks": { "object": "list", "data": tasks } },
        }),
    ))
}

/// The schedule, rendered.
async fn one(state: &AppState, scope: &ServerScope, id: &str) -> ClientResult<Json<Value>> {
    let (row, schedule) = service::get(state, scope, id).await?;
    Ok(Json(schedule_object(state, scope, &row, &schedule).await?))
}

/// `GET .../schedules`.
pub async fn index(
    State(state): State<AppState>,
    principal: Principal,
    Path(server): Path<String>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &principal, &server, KEY).await?;
    let mut data = Vec::new();
    for (row, schedule) in service::list(&state, &scope).await? {
        data.push(schedule_object(&state, &scope, &row, &schedule).await?);
    }
    Ok(list(data))
}

/// `GET .../schedules/{id}`.
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path((server, id)): Path<(String, String)>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &principal, &server, KEY).await?;
    one(&state, &scope, &id).await
}

/// The schedule as it is, to change.
fn input_of(schedule: Schedule) -> ScheduleInput {
    ScheduleInput {
        name: schedule.name,
        active: schedule.active,
        trigger: schedule.trigger,
        only_when_online: schedule.only_when_online,
        tasks: schedule.tasks,
        deadline_seconds: schedule.deadline_seconds,
    }
}

#[derive(Debug, Deserialize, Validate)]
pub struct UpdateBody {
    #[garde(length(min = 1, max = 100))]
    name: String,
    #[garde(length(min = 1, max = 64))]
    minute: String,
    #[garde(length(min = 1, max = 64))]
    hour: String,
    #[garde(length(min = 1, max = 64))]
    day_of_month: String,
    #[garde(length(min = 1, max = 64))]
    month: String,
    #[garde(length(min = 1, max = 64))]
    day_of_week: String,
    #[serde(default = "yes")]
    #[garde(skip)]
    is_active: bool,
    #[serde(default)]
    #[garde(skip)]
    only_when_online: bool,
}

fn yes() -> bool {
    true
}

/// `POST .../schedules/{id}` with Pterodactyl's fields: a cron trigger (in the
/// schedule's timezone, UTC for schedules that had an event trigger); tasks stay.
pub async fn update(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path((server, id)): Path<(String, String)>,
    Compat(ValidJson(body)): Compat<ValidJson<UpdateBody>>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &actor, &server, KEY).await?;
    let (_, schedule) = service::get(&state, &scope, &id).await?;
    let timezone = match &schedule.trigger {
        Trigger::Cron { timezone, .. } => timezone.clone(),
        _ => "UTC".to_owned(),
    };
    let expression = [
        &body.minute,
        &body.hour,
        &body.day_of_month,
        &body.month,
        &body.day_of_week,
    ]
    .map(|f| f.trim())
    .join(" ");
    let input = ScheduleInput {
        name: body.name,
        active: body.is_active,
        trigger: Trigger::Cron {
            expression,
            timezone,
        },
        only_when_online: body.only_when_online,
        ..input_of(schedule)
    };
    service::update::update(&state, &actor, &scope, &id, input).await?;
    one(&state, &scope, &id).await
}

/// `DELETE .../schedules/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path((server, id)): Path<(String, String)>,
) -> ClientResult<StatusCode> {
    let scope = scope(&state, &actor, &server, KEY).await?;
    service::delete::delete(&state, &actor, &scope, &id).await?;
    Ok(no_content())
}

/// `POST .../schedules/{id}/execute`: 202, the node runs it now.
pub async fn execute(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path((server, id)): Path<(String, String)>,
) -> ClientResult<StatusCode> {
    let scope = scope(&state, &actor, &server, KEY).await?;
    service::run_now::run_now(&state, &actor, &scope, &id).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Default, Deserialize, Validate)]
pub struct TaskBody {
    #[garde(length(min = 1, max = 32))]
    action: String,
    #[serde(default)]
    #[garde(length(max = 65536))]
    payload: String,
    #[serde(default)]
    #[garde(skip)]
    time_offset: u64,
    #[serde(default)]
    #[garde(skip)]
    continue_on_failure: bool,
}

impl TaskBody {
    fn task(&self) -> Result<Task, Error> {
        Task::parse(
            &self.action,
            &self.payload,
            self.time_offset,
            self.continue_on_failure,
        )
    }
}

/// Replaces the schedule's tasks with `change` applied to them; the tasks as stored.
async fn change_tasks(
    state: &AppState,
    actor: &Actor,
    scope: &ServerScope,
    id: &str,
    change: impl FnOnce(&mut Vec<Task>) -> Result<(), Error>,
) -> ClientResult<Vec<Task>> {
    let (_, schedule) = service::get(state, scope, id).await?;
    let mut tasks = theirs(&schedule.tasks);
    change(&mut tasks)?;
    let tasks = ours(&tasks);
    let input = ScheduleInput {
        tasks: tasks.clone(),
        ..input_of(schedule)
    };
    service::update::update(state, actor, scope, id, input).await?;
    Ok(theirs(&tasks))
}

/// A task's number from the path.
fn number(raw: &str) -> Result<usize, Error> {
    raw.parse().map_err(|_| Error::not_found("task"))
}

/// Task `n` (from 1) of `tasks`, as an index.
fn place(tasks: &[Task], n: usize) -> Result<usize, Error> {
    n.checked_sub(1)
        .filter(|at| *at < tasks.len())
        .ok_or_else(|| Error::not_found("task"))
}

/// `POST .../schedules/{id}/tasks`: a task at the end.
pub async fn create_task(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path((server, id)): Path<(String, String)>,
    Compat(OptionalJson(body)): Compat<OptionalJson<TaskBody>>,
) -> ClientResult<Json<Value>> {
    let task = body.task()?;
    let scope = scope(&state, &actor, &server, KEY).await?;
    let tasks = change_tasks(&state, &actor, &scope, &id, |tasks| {
        tasks.push(task);
        Ok(())
    })
    .await?;
    let n = tasks.len();
    let last = tasks
        .last()
        .ok_or_else(|| ClientError(Error::internal("the new task vanished")))?;
    Ok(Json(last.object(n)))
}

/// `POST .../schedules/{id}/tasks/{n}`: task `n` replaced.
pub async fn update_task(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path((server, id, n)): Path<(String, String, String)>,
    Compat(ValidJson(body)): Compat<ValidJson<TaskBody>>,
) -> ClientResult<Json<Value>> {
    let task = body.task()?;
    let n = number(&n)?;
    let scope = scope(&state, &actor, &server, KEY).await?;
    let tasks = change_tasks(&state, &actor, &scope, &id, |tasks| {
        let at = place(tasks, n)?;
        tasks[at] = task;
        Ok(())
    })
    .await?;
    let changed = tasks
        .get(n - 1)
        .ok_or_else(|| ClientError(Error::internal("the changed task vanished")))?;
    Ok(Json(changed.object(n)))
}

/// `DELETE .../schedules/{id}/tasks/{n}` (the last task of a schedule stays: ours
/// always hold one).
pub async fn delete_task(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path((server, id, n)): Path<(String, String, String)>,
) -> ClientResult<StatusCode> {
    let n = number(&n)?;
    let scope = scope(&state, &actor, &server, KEY).await?;
    change_tasks(&state, &actor, &scope, &id, |tasks| {
        let at = place(tasks, n)?;
        tasks.remove(at);
        Ok(())
    })
    .await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_field_crons_show_as_pterodactyls_fields() {
        let cron = |expression: &str| Trigger::Cron {
            expression: expression.into(),
            timezone: "UTC".into(),
        };
        let fields = cron_fields(&cron("*/5 4 * * 1-5")).unwrap();
        assert_eq!(fields["minute"], "*/5");
        assert_eq!(fields["day_of_week"], "1-5");
        assert_eq!(cron_fields(&cron("@daily")).unwrap()["hour"], "0");
        assert!(cron_fields(&cron("0 */5 4 * * *")).is_none());
        assert!(cron_fields(&Trigger::Started).is_none());
    }
}
