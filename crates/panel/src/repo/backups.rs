//! Backups of servers, and the mirror of what the agents report about them.

use cap_protocol::backup::{BackupAdapter, BackupFormat, BackupRecord, BackupStatus};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use crate::db::entities::{backup, server};
use crate::domain::BackupPolicy;
use crate::error::Result;

/// The stored name of a status, adapter or format (their wire names).
pub fn wire_name<T: serde::Serialize>(value: T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

const FINAL: [&str; 2] = ["completed", "failed"];

/// A backup the panel asked a node for.
#[derive(Debug, Clone)]
pub struct NewBackup {
    pub id: String,
    pub server_id: String,
    pub name: String,
    pub adapter: BackupAdapter,
    pub format: BackupFormat,
    pub ignored: Vec<String>,
    pub locked: bool,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Records a backup the node accepted. The node's first event may have been adopted as a
/// row already: then only what the panel alone knows (name, ignore list, lock, who) is
/// written over it.
pub async fn insert(db: &impl ConnectionTrait, new: NewBackup) -> Result<backup::Model> {
    let id = new.id.clone();
    let model = backup::ActiveModel {
        id: Set(new.id),
        server_id: Set(new.server_id),
        name: Set(new.name),
        status: Set(wire_name(BackupStatus::Pending)),
        adapter: Set(wire_name(new.adapter)),
        format: Set(wire_name(new.format)),
        size: Set(None),
        checksum: Set(None),
        ignored: Set(serde_json::json!(new.ignored)),
        locked: Set(new.locked),
        bytes: Set(0),
        files: Set(0),
        error: Set(None),
        created_by: Set(new.created_by),
        created_at: Set(new.created_at),
        completed_at: Set(None),
    };
    backup::Entity::insert(model)
        .on_conflict(
            OnConflict::column(backup::Column::Id)
                .update_columns([
                    backup::Column::Name,
                    backup::Column::Ignored,
                    backup::Column::Locked,
                    backup::Column::CreatedBy,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    backup::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| crate::error::Error::internal("the recorded backup vanished"))
}

/// One backup of a server.
pub async fn find(
    db: &impl ConnectionTrait,
    server_id: &str,
    id: &str,
) -> Result<Option<backup::Model>> {
    Ok(backup::Entity::find_by_id(id)
        .filter(backup::Column::ServerId.eq(server_id))
        .one(db)
        .await?)
}

/// A server's backups, newest first.
pub async fn list(db: &impl ConnectionTrait, server_id: &str) -> Result<Vec<backup::Model>> {
    Ok(backup::Entity::find()
        .filter(backup::Column::ServerId.eq(server_id))
        .order_by_desc(backup::Column::CreatedAt)
        .order_by_desc(backup::Column::Id)
        .all(db)
        .await?)
}

/// How many backups count against a server's limit (all but failed ones).
pub async fn counted(db: &impl ConnectionTrait, server_id: &str) -> Result<u64> {
    Ok(backup::Entity::find()
        .filter(backup::Column::ServerId.eq(server_id))
        .filter(backup::Column::Status.ne("failed"))
        .count(db)
        .await?)
}

/// The server's backup that is still pending or running, if any.
pub async fn unfinished(
    db: &impl ConnectionTrait,
    server_id: &str,
) -> Result<Option<backup::Model>> {
    Ok(backup::Entity::find()
        .filter(backup::Column::ServerId.eq(server_id))
        .filter(backup::Column::Status.is_not_in(FINAL))
        .one(db)
        .await?)
}

/// Unfinished backups of the servers on a node.
pub async fn unfinished_on_node(
    db: &impl ConnectionTrait,
    node_id: &str,
) -> Result<Vec<backup::Model>> {
    let on_node = sea_orm::sea_query::Query::select()
        .column(server::Column::Id)
        .from(server::Entity)
        .and_where(server::Column::NodeId.eq(node_id))
        .to_owned();
    Ok(backup::Entity::find()
        .filter(backup::Column::Status.is_not_in(FINAL))
        .filter(backup::Column::ServerId.in_subquery(on_node))
        .all(db)
        .await?)
}

pub async fn set_locked(db: &impl ConnectionTrait, id: &str, locked: bool) -> Result<()> {
    backup::Entity::update_many()
        .col_expr(backup::Column::Locked, Expr::value(locked))
        .filter(backup::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn delete(db: &impl ConnectionTrait, id: &str) -> Result<()> {
    backup::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Marks an unfinished backup failed (the node lost it).
pub async fn fail(db: &impl ConnectionTrait, id: &str, reason: &str) -> Result<bool> {
    let done = backup::Entity::update_many()
        .col_expr(backup::Column::Status, Expr::value("failed"))
        .col_expr(backup::Column::Error, Expr::value(reason))
        .col_expr(backup::Column::CompletedAt, Expr::value(Utc::now()))
        .filter(backup::Column::Id.eq(id))
        .filter(backup::Column::Status.is_not_in(FINAL))
        .exec(db)
        .await?;
    Ok(done.rows_affected > 0)
}

/// What mirroring a node's record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mirrored {
    /// The row took the record's progress or outcome.
    Updated,
    /// The row was final already; nothing changed.
    Unchanged,
    /// The panel did not know the backup; it was added to its server's list.
    Adopted,
    /// The panel knows neither the backup nor its server.
    Unknown,
}

/// Mirrors a node's record: progress and outcome of an unfinished row (a final row is
/// never changed again), or the whole record when the panel did not know it (a backup
/// made on the node while the panel was away).
pub async fn mirror(db: &impl ConnectionTrait, record: &BackupRecord) -> Result<Mirrored> {
    let id = record.id.to_string();
    let wide = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let mut update = backup::Entity::update_many()
        .col_expr(
            backup::Column::Status,
            Expr::value(wire_name(record.status)),
        )
        .col_expr(backup::Column::Bytes, Expr::value(wide(record.bytes)))
        .col_expr(backup::Column::Files, Expr::value(wide(record.files)));
    if record.status.is_final() {
        update = update
            .col_expr(backup::Column::Size, Expr::value(record.size.map(wide)))
            .col_expr(
                backup::Column::Checksum,
                Expr::value(record.checksum.clone()),
            )
            .col_expr(backup::Column::Error, Expr::value(record.error.clone()))
            .col_expr(
                backup::Column::CompletedAt,
                Expr::value(record.finished_at.unwrap_or_else(Utc::now)),
            );
    }
    let done = update
        .filter(backup::Column::Id.eq(&id))
        .filter(backup::Column::Status.is_not_in(FINAL))
        .exec(db)
        .await?;
    if done.rows_affected > 0 {
        return Ok(Mirrored::Updated);
    }
    if backup::Entity::find_by_id(&id).one(db).await?.is_some() {
        return Ok(Mirrored::Unchanged);
    }
    let server_id = record.server_id.to_string();
    if server::Entity::find_by_id(&server_id)
        .one(db)
        .await?
        .is_none()
    {
        return Ok(Mirrored::Unknown);
    }
    let model = backup::ActiveModel {
        id: Set(id),
        server_id: Set(server_id),
        name: Set(format!(
            "made on the node {}",
            record.created_at.format("%Y-%m-%d %H:%M UTC")
        )),
        status: Set(wire_name(record.status)),
        adapter: Set(wire_name(record.adapter)),
        format: Set(wire_name(record.format)),
        size: Set(record.size.map(wide)),
        checksum: Set(record.checksum.clone()),
        ignored: Set(serde_json::json!([])),
        locked: Set(false),
        bytes: Set(wide(record.bytes)),
        files: Set(wide(record.files)),
        error: Set(record.error.clone()),
        created_by: Set(None),
        created_at: Set(record.created_at),
        completed_at: Set(record.finished_at),
    };
    let inserted = backup::Entity::insert(model)
        .on_conflict(
            OnConflict::column(backup::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(if inserted > 0 {
        Mirrored::Adopted
    } else {
        Mirrored::Unchanged
    })
}

pub fn policy_of(server: &server::Model) -> BackupPolicy {
    BackupPolicy {
        limit: server.backup_limit,
        keep_last: server.backup_keep_last,
        keep_days: server.backup_keep_days,
    }
}

pub async fn set_policy(
    db: &impl ConnectionTrait,
    server_id: &str,
    policy: BackupPolicy,
) -> Result<()> {
    super::epochs::server_list_changed();
    server::Entity::update_many()
        .col_expr(server::Column::BackupLimit, Expr::value(policy.limit))
        .col_expr(
            server::Column::BackupKeepLast,
            Expr::value(policy.keep_last),
        )
        .col_expr(
            server::Column::BackupKeepDays,
            Expr::value(policy.keep_days),
        )
        .filter(server::Column::Id.eq(server_id))
        .exec(db)
        .await?;
    Ok(())
}
