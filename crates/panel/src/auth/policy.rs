//! What the panel requires of an account before it may use the panel: today, that admins
//! turn two-factor sign-in on when an admin has asked for it.

use sea_orm::ConnectionTrait;

use crate::db::entities::user;
use crate::error::Result;
use crate::permissions::ADMIN_ROLE;
use crate::repo;

/// The setting that requires two-factor sign-in of admins.
pub(super) const REQUIRED_FOR_ADMINS: &str = "auth.two_factor_required_for_admins";

/// Whether the panel requires two-factor sign-in of admins.
pub async fn required_for_admins(db: &impl ConnectionTrait) -> Result<bool> {
    Ok(repo::settings::get(db, REQUIRED_FOR_ADMINS)
        .await?
        .and_then(|v| v.as_bool())
        .unwrap_or(false))
}

/// Whether `user` must turn two-factor sign-in on before using the panel.
pub async fn setup_required(db: &impl ConnectionTrait, user: &user::Model) -> Result<bool> {
    Ok(user.role == ADMIN_ROLE
        && repo::two_factor::required_but_off(db, REQUIRED_FOR_ADMINS, &user.id).await?)
}
