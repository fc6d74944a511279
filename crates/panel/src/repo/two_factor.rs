//! Two-factor secrets and recovery codes.

use chrono::Utc;
use sea_orm::sea_query::{Expr, JoinType, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, Set,
};

use crate::db::entities::{recovery_code, setting, user_two_factor};
use crate::error::Result;

pub async fn find(
    db: &impl ConnectionTrait,
    user_id: &str,
) -> Result<Option<user_two_factor::Model>> {
    Ok(user_two_factor::Entity::find_by_id(user_id).one(db).await?)
}

/// Whether the user's two-factor sign-in is on (set up and confirmed).
pub async fn is_enabled(db: &impl ConnectionTrait, user_id: &str) -> Result<bool> {
    Ok(find(db, user_id)
        .await?
        .is_some_and(|t| t.enabled_at.is_some()))
}

/// Whether the panel setting `required_key` is `true` while the user's two-factor sign-in
/// is not on, read in one query.
pub async fn required_but_off(
    db: &impl ConnectionTrait,
    required_key: &str,
    user_id: &str,
) -> Result<bool> {
    #[derive(FromQueryResult)]
    struct Row {
        value: serde_json::Value,
        enabled_at: Option<chrono::DateTime<Utc>>,
    }
    let query = Query::select()
        .column((setting::Entity, setting::Column::Value))
        .column((user_two_factor::Entity, user_two_factor::Column::EnabledAt))
        .from(setting::Entity)
        .join(
            JoinType::LeftJoin,
            user_two_factor::Entity,
            Expr::col((user_two_factor::Entity, user_two_factor::Column::UserId)).eq(user_id),
        )
        .and_where(Expr::col((setting::Entity, setting::Column::Key)).eq(required_key))
        .to_owned();
    let row = Row::find_by_statement(db.get_database_backend().build(&query))
        .one(db)
        .await?;
    Ok(row.is_some_and(|r| r.value.as_bool() == Some(true) && r.enabled_at.is_none()))
}

/// Starts (or restarts) a setup with a new encrypted secret, not yet enabled.
pub async fn begin_setup(db: &impl ConnectionTrait, user_id: &str, secret: String) -> Result<()> {
    let model = user_two_factor::ActiveModel {
        user_id: Set(user_id.to_owned()),
        secret: Set(secret),
        enabled_at: Set(None),
        last_step: Set(None),
        created_at: Set(Utc::now()),
    };
    user_two_factor::Entity::insert(model)
        .on_conflict(
            OnConflict::column(user_two_factor::Column::UserId)
                .update_columns([
                    user_two_factor::Column::Secret,
                    user_two_factor::Column::EnabledAt,
                    user_two_factor::Column::LastStep,
                    user_two_factor::Column::CreatedAt,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Records that a code of time step `step` was accepted, unless one of that step or a
/// later one was accepted already (then nothing changes and the answer is false: the
/// code is a replay). The condition is part of the update, so two concurrent uses of one
/// code cannot both win.
pub async fn use_step(db: &impl ConnectionTrait, user_id: &str, step: i64) -> Result<bool> {
    let result = user_two_factor::Entity::update_many()
        .col_expr(user_two_factor::Column::LastStep, Expr::value(step))
        .filter(user_two_factor::Column::UserId.eq(user_id))
        .filter(
            user_two_factor::Column::LastStep
                .is_null()
                .or(user_two_factor::Column::LastStep.lt(step)),
        )
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Marks the setup confirmed.
pub async fn enable(db: &impl ConnectionTrait, user_id: &str) -> Result<()> {
    user_two_factor::Entity::update_many()
        .col_expr(user_two_factor::Column::EnabledAt, Expr::value(Utc::now()))
        .filter(user_two_factor::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Removes the user's secret and recovery codes. Returns whether there was a secret.
pub async fn remove(db: &impl ConnectionTrait, user_id: &str) -> Result<bool> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    let result = user_two_factor::Entity::delete_by_id(user_id)
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Replaces the user's recovery codes with these hashes.
pub async fn replace_recovery_codes(
    db: &impl ConnectionTrait,
    user_id: &str,
    hashes: Vec<String>,
) -> Result<()> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    let now = Utc::now();
    let models = hashes.into_iter().map(|hash| recovery_code::ActiveModel {
        id: Set(super::new_id()),
        user_id: Set(user_id.to_owned()),
        code_hash: Set(hash),
        used_at: Set(None),
        created_at: Set(now),
    });
    recovery_code::Entity::insert_many(models).exec(db).await?;
    Ok(())
}

/// Spends the unused recovery code with this hash. False when there is none (wrong, or
/// used before); the condition is part of the update, so a code is spent once.
pub async fn spend_recovery_code(
    db: &impl ConnectionTrait,
    user_id: &str,
    hash: &str,
) -> Result<bool> {
    let result = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(Utc::now()))
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::CodeHash.eq(hash))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// How many of the user's recovery codes are still unused.
pub async fn recovery_codes_left(db: &impl ConnectionTrait, user_id: &str) -> Result<u64> {
    Ok(recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(db)
        .await?)
}
