//! Refresh-token sessions.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};

use crate::db::entities::session;
use crate::error::Result;

pub struct NewSession<'a> {
    pub user_id: &'a str,
    pub family_id: &'a str,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
    pub user_agent: &'a str,
    pub ip: &'a str,
}

pub async fn create(db: &impl ConnectionTrait, new: NewSession<'_>) -> Result<session::Model> {
    let model = session::ActiveModel {
        id: Set(super::new_id()),
        user_id: Set(new.user_id.to_owned()),
        family_id: Set(new.family_id.to_owned()),
        token_hash: Set(new.token_hash),
        expires_at: Set(new.expires_at),
        revoked_at: Set(None),
        user_agent: Set(new.user_agent.chars().take(255).collect()),
        ip: Set(new.ip.to_owned()),
        created_at: Set(Utc::now()),
    };
    Ok(model.insert(db).await?)
}

pub async fn find_by_hash(db: &impl ConnectionTrait, hash: &str) -> Result<Option<session::Model>> {
    Ok(session::Entity::find()
        .filter(session::Column::TokenHash.eq(hash))
        .one(db)
        .await?)
}

/// Marks one session used up (rotated). Returns false if it was already revoked, which
/// means a concurrent refresh won the race.
pub async fn revoke_one(db: &impl ConnectionTrait, id: &str) -> Result<bool> {
    let result = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Revokes every live session of a family (logout, refresh-token reuse).
pub async fn revoke_family(db: &impl ConnectionTrait, family_id: &str) -> Result<()> {
    super::epochs::access_changed();
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::FamilyId.eq(family_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Revokes every session of a user (password change, account disabled).
pub async fn revoke_user(db: &impl ConnectionTrait, user_id: &str) -> Result<()> {
    super::epochs::access_changed();
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Whether the family still has an unrevoked, unexpired session.
pub async fn family_is_live(db: &impl ConnectionTrait, family_id: &str) -> Result<bool> {
    let live = session::Entity::find()
        .filter(session::Column::FamilyId.eq(family_id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(Utc::now()))
        .count(db)
        .await?;
    Ok(live > 0)
}

/// Whether `user_id` has ever been issued a session at address `ip`.
pub async fn signed_in_from(db: &impl ConnectionTrait, user_id: &str, ip: &str) -> Result<bool> {
    let sessions = session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::Ip.eq(ip))
        .count(db)
        .await?;
    Ok(sessions > 0)
}
