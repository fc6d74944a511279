//! Opening a session: the token pair a successful sign-in (or refresh) earns.

use std::collections::BTreeSet;

use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use super::{policy, tokens, Client};
use crate::db::entities::user;
use crate::error::Result;
use crate::repo::{self, sessions::NewSession};
use crate::services::audit::{self, Entry};
use crate::state::AppState;

/// A fresh access + refresh token pair for a user.
pub struct IssuedSession {
    pub access_token: String,
    pub refresh_token: String,
    pub user: user::Model,
    pub permissions: BTreeSet<String>,
    /// The panel requires two-factor sign-in of this account and it is not on yet.
    pub two_factor_setup_required: bool,
}

/// A new session of `family_id` for `user`, stored through `db`.
pub(super) async fn issue(
    state: &AppState,
    db: &impl ConnectionTrait,
    user: user::Model,
    family_id: &str,
    client: &Client,
) -> Result<IssuedSession> {
    let refresh_token = tokens::random_secret(48);
    repo::sessions::create(
        db,
        NewSession {
            user_id: &user.id,
            family_id,
            token_hash: tokens::hash_secret(&refresh_token),
            expires_at: Utc::now() + tokens::REFRESH_TTL,
            user_agent: &client.user_agent,
            ip: &client.ip,
        },
    )
    .await?;
    let access_token = tokens::issue_access(state.secrets().jwt_key(), &user.id, family_id)?;
    let permissions = repo::permissions::effective(db, &user.id, &user.role).await?;
    let two_factor_setup_required = policy::setup_required(db, &user).await?;
    Ok(IssuedSession {
        access_token,
        refresh_token,
        user,
        permissions,
        two_factor_setup_required,
    })
}

/// Finishes a sign-in inside `txn`: records it on the account, opens a new session
/// family, writes the `auth.login` audit row with `details` and commits.
pub(super) async fn sign_in(
    state: &AppState,
    txn: DatabaseTransaction,
    user: user::Model,
    details: serde_json::Value,
    client: &Client,
) -> Result<IssuedSession> {
    repo::users::record_login(&txn, &user.id).await?;
    let issued = issue(state, &txn, user, &repo::new_id(), client).await?;
    let entry = Entry {
        user_id: Some(&issued.user.id),
        action: "auth.login",
        target_type: "user",
        target_id: Some(&issued.user.id),
        details,
    };
    audit::record(&txn, client, entry).await?;
    txn.commit().await?;
    Ok(issued)
}
