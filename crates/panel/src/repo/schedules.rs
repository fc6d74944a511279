//! Schedules and their run records.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use cap_protocol::schedule::ScheduleRun;

use crate::db::entities::{schedule, schedule_run};
use crate::error::{Error, Result};

/// A server's schedules, oldest first.
pub async fn for_server(
    db: &impl ConnectionTrait,
    server_id: &str,
) -> Result<Vec<schedule::Model>> {
    Ok(schedule::Entity::find()
        .filter(schedule::Column::ServerId.eq(server_id))
        .order_by_asc(schedule::Column::CreatedAt)
        .order_by_asc(schedule::Column::Id)
        .all(db)
        .await?)
}

/// One schedule of a server.
pub async fn find(
    db: &impl ConnectionTrait,
    server_id: &str,
    id: &str,
) -> Result<Option<schedule::Model>> {
    Ok(schedule::Entity::find_by_id(id)
        .filter(schedule::Column::ServerId.eq(server_id))
        .one(db)
        .await?)
}

pub async fn insert(db: &impl ConnectionTrait, model: schedule::Model) -> Result<schedule::Model> {
    Ok(schedule::ActiveModel::from(model).insert(db).await?)
}

/// Replace every field but the id, server and creation time.
pub async fn update(db: &impl ConnectionTrait, model: schedule::Model) -> Result<schedule::Model> {
    let mut active = schedule::ActiveModel::from(model.clone());
    active.name = Set(model.name);
    active.active = Set(model.active);
    active.trigger = Set(model.trigger);
    active.only_when_online = Set(model.only_when_online);
    active.tasks = Set(model.tasks);
    active.deadline_seconds = Set(model.deadline_seconds);
    active.updated_at = Set(model.updated_at);
    Ok(active.update(db).await?)
}

/// Delete a schedule with its run records.
pub async fn delete(db: &impl ConnectionTrait, id: &str) -> Result<()> {
    schedule_run::Entity::delete_many()
        .filter(schedule_run::Column::ScheduleId.eq(id))
        .exec(db)
        .await?;
    schedule::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Store a run record unless a version at least as new is stored already.
pub async fn upsert_run(db: &impl ConnectionTrait, run: schedule_run::Model) -> Result<()> {
    let updated = schedule_run::Entity::update_many()
        .col_expr(schedule_run::Column::Seq, Expr::value(run.seq))
        .col_expr(
            schedule_run::Column::Outcome,
            Expr::value(run.outcome.clone()),
        )
        .col_expr(schedule_run::Column::Error, Expr::value(run.error.clone()))
        .col_expr(schedule_run::Column::Tasks, Expr::value(run.tasks.clone()))
        .col_expr(schedule_run::Column::EndedAt, Expr::value(run.ended_at))
        .filter(schedule_run::Column::Id.eq(run.id.clone()))
        .filter(schedule_run::Column::Seq.lt(run.seq))
        .exec(db)
        .await?;
    if updated.rows_affected > 0 {
        return Ok(());
    }
    let exists = schedule_run::Entity::find_by_id(run.id.clone())
        .count(db)
        .await?
        > 0;
    if exists {
        return Ok(());
    }
    match schedule_run::ActiveModel::from(run).insert(db).await {
        Ok(_) => Ok(()),
        Err(e) => match Error::from(e) {
            // Delivered twice at once (live event and catch-up): the other one stored it.
            Error::Conflict(_) => Ok(()),
            other => Err(other),
        },
    }
}

/// The greatest `seq` stored for a server's runs (0 when none).
pub async fn last_seq(db: &impl ConnectionTrait, server_id: &str) -> Result<i64> {
    let max: Option<Option<i64>> = schedule_run::Entity::find()
        .select_only()
        .column_as(schedule_run::Column::Seq.max(), "max_seq")
        .filter(schedule_run::Column::ServerId.eq(server_id))
        .into_tuple()
        .one(db)
        .await?;
    Ok(max.flatten().unwrap_or(0))
}

/// One page of a schedule's runs, newest first, with their number.
pub async fn runs(
    db: &impl ConnectionTrait,
    schedule_id: &str,
    page: u64,
    per_page: u64,
) -> Result<(Vec<schedule_run::Model>, u64)> {
    let query = schedule_run::Entity::find()
        .filter(schedule_run::Column::ScheduleId.eq(schedule_id))
        .order_by_desc(schedule_run::Column::StartedAt)
        .order_by_desc(schedule_run::Column::Id);
    super::fetch_page(db, query, page, per_page).await
}

/// The stored form of a run record from an agent.
pub fn run_model(run: &ScheduleRun) -> schedule_run::Model {
    let name = |value: serde_json::Result<serde_json::Value>| {
        value
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    schedule_run::Model {
        id: run.id.to_string(),
        server_id: run.server_id.to_string(),
        schedule_id: run.schedule_id.to_string(),
        seq: i64::try_from(run.seq).unwrap_or(i64::MAX),
        trigger: name(serde_json::to_value(&run.trigger)),
        outcome: name(serde_json::to_value(run.outcome)),
        error: run.error.clone(),
        tasks: serde_json::to_value(&run.tasks).unwrap_or_default(),
        started_at: run.started_at,
        ended_at: run.ended_at,
    }
}
