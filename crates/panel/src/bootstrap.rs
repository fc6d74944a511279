//! First-start set-up: the initial administrator.

use rand::distributions::{Alphanumeric, DistString};
use sea_orm::DatabaseConnection;

use crate::auth::password;
use crate::error::{Error, Result};
use crate::permissions::ADMIN_ROLE;
use crate::repo::users::{self, NewUser};

pub const INITIAL_ADMIN_USERNAME: &str = "admin";

/// Credentials of an account created just now, to be shown to the operator once.
pub struct InitialAdmin {
    pub username: String,
    pub password: String,
}

/// Creates the `admin` account when the panel has no users at all. Returns its
/// credentials only when it was created by this call, so they are printed exactly once.
pub async fn ensure_initial_admin(db: &DatabaseConnection) -> Result<Option<InitialAdmin>> {
    if users::count(db).await? > 0 {
        return Ok(None);
    }
    let password = Alphanumeric.sample_string(&mut rand::thread_rng(), 20);
    let created = users::create(
        db,
        NewUser {
            username: INITIAL_ADMIN_USERNAME.to_owned(),
            email: "admin@localhost".to_owned(),
            password_hash: password::hash(password.clone()).await?,
            role: ADMIN_ROLE.to_owned(),
        },
    )
    .await;
    match created {
        Ok(_) => Ok(Some(InitialAdmin {
            username: INITIAL_ADMIN_USERNAME.to_owned(),
            password,
        })),
        // Another panel process sharing this database created it first.
        Err(Error::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
