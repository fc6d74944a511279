//! Login, refresh-token rotation, logout, password change and API keys.

use std::sync::OnceLock;

use chrono::Utc;
use sea_orm::TransactionTrait;
use serde_json::json;

use super::identity::{Credential, KeyFamily};
use super::session::{self, IssuedSession};
use super::{password, tokens, two_factor, Actor, Client};
use crate::db::entities::{api_key, user};
use crate::domain::Password;
use crate::error::{Error, Result};
use crate::repo::{self, api_keys::NewApiKey};
use crate::services::audit::{self, Entry};
use crate::state::AppState;

/// What a correct password earns.
pub enum LoginOutcome {
    /// A session.
    Signed(Box<IssuedSession>),
    /// Two-factor sign-in is on: a token for the second step and when it expires.
    SecondFactor {
        checkpoint: String,
        expires_at: chrono::DateTime<Utc>,
    },
}

fn bad_login() -> Error {
    Error::Unauthorized("invalid username or password".into())
}

/// A real hash to verify against when the account does not exist, so both cases take
/// the same time and usernames cannot be probed.
async fn dummy_hash() -> Result<String> {
    static HASH: OnceLock<String> = OnceLock::new();
    if let Some(hash) = HASH.get() {
        return Ok(hash.clone());
    }
    let hash = password::hash(tokens::random_secret(24)).await?;
    Ok(HASH.get_or_init(|| hash).clone())
}

/// Signs a user in and records it; a refused attempt is recorded too, with what was
/// typed as the login (never the password). With two-factor sign-in on, the password
/// only earns the checkpoint of [`two_factor::complete_login`].
pub async fn login(
    state: &AppState,
    login: &str,
    pass: &str,
    client: &Client,
) -> Result<LoginOutcome> {
    let user = match check_login(state, login, pass, client).await {
        Ok(user) => user,
        Err(e) => {
            let entry = Entry {
                user_id: None,
                action: "auth.login_failed",
                target_type: "user",
                target_id: None,
                details: json!({ "login": login }),
            };
            audit::record(state.db(), client, entry).await?;
            return Err(e);
        }
    };
    if repo::two_factor::is_enabled(state.db(), &user.id).await? {
        let (checkpoint, expires_at) = two_factor::checkpoint(state, &user)?;
        return Ok(LoginOutcome::SecondFactor {
            checkpoint,
            expires_at,
        });
    }
    let txn = state.db().begin().await?;
    let issued = session::sign_in(state, txn, user, json!({}), client).await?;
    Ok(LoginOutcome::Signed(Box::new(issued)))
}

/// Checks a login. Attempts are rate-limited per client address, per resolved account
/// and address, and per account over all addresses (waived for addresses the account
/// has signed in from before); see [`crate::limits`].
async fn check_login(
    state: &AppState,
    login: &str,
    pass: &str,
    client: &Client,
) -> Result<user::Model> {
    let limits = state.limits();
    limits.check_client(&client.ip)?;
    let found = repo::users::find_by_login(state.db(), login.trim()).await?;
    // A name nobody has is limited under what was typed, so it behaves like an account.
    let account = match &found {
        Some(user) => user.id.clone(),
        None => login.trim().to_lowercase(),
    };
    limits.check_account(&account, &client.ip)?;
    if let Err(limited) = limits.check_account_ceiling(&account) {
        let known_address = match &found {
            Some(user) => repo::sessions::signed_in_from(state.db(), &user.id, &client.ip).await?,
            None => false,
        };
        if !known_address {
            return Err(limited);
        }
    }
    let Some(user) = found else {
        password::verify(pass.to_owned(), dummy_hash().await?).await?;
        return Err(bad_login());
    };
    if !password::verify(pass.to_owned(), user.password_hash.clone()).await? {
        return Err(bad_login());
    }
    if user.disabled {
        return Err(Error::Unauthorized("this account is disabled".into()));
    }
    Ok(user)
}

/// Outcome of presenting a refresh token that was already used.
pub const REUSE_MESSAGE: &str =
    "this refresh token was already used; every session of this login has been revoked";

/// Rotates a refresh token. Presenting one that was already rotated revokes the family.
pub async fn refresh(state: &AppState, presented: &str, client: &Client) -> Result<IssuedSession> {
    let expired = || Error::Unauthorized("session expired, please log in again".into());
    let session = repo::sessions::find_by_hash(state.db(), &tokens::hash_secret(presented))
        .await?
        .ok_or_else(expired)?;
    if session.revoked_at.is_some() || !repo::sessions::revoke_one(state.db(), &session.id).await? {
        repo::sessions::revoke_family(state.db(), &session.family_id).await?;
        tracing::warn!(user_id = %session.user_id, "refresh token reuse detected");
        return Err(Error::Unauthorized(REUSE_MESSAGE.into()));
    }
    if session.expires_at < Utc::now() {
        return Err(expired());
    }
    let user = match repo::users::find(state.db(), &session.user_id).await? {
        Some(user) if !user.disabled => user,
        _ => return Err(expired()),
    };
    session::issue(state, state.db(), user, &session.family_id, client).await
}

/// Ends the login the refresh token (or the access token's family) belongs to.
pub async fn logout(
    state: &AppState,
    refresh_token: Option<&str>,
    family_id: Option<&str>,
) -> Result<()> {
    if let Some(token) = refresh_token {
        if let Some(session) =
            repo::sessions::find_by_hash(state.db(), &tokens::hash_secret(token)).await?
        {
            repo::sessions::revoke_family(state.db(), &session.family_id).await?;
        }
    }
    if let Some(family_id) = family_id {
        repo::sessions::revoke_family(state.db(), family_id).await?;
    }
    Ok(())
}

/// A changed password: the caller's new session, and how many API keys ended with the
/// old password.
pub struct PasswordChanged {
    pub session: IssuedSession,
    pub api_keys_revoked: u64,
}

/// Changes the password after checking the current one (attempts are rate-limited like
/// logins). Every other session ends, every API key of the account is revoked (a key
/// made by whoever knew the old password must not outlive it), and a new session is
/// issued for the caller.
pub async fn change_password(
    state: &AppState,
    actor: &Actor,
    current: &str,
    new: &str,
) -> Result<PasswordChanged> {
    if !matches!(actor.credential, Credential::Session { .. }) {
        return Err(Error::Forbidden(
            "log in with your password to change it".into(),
        ));
    }
    let new = Password::parse(new).map_err(|e| Error::validation("newPassword", e))?;
    let (user, client) = (&actor.user, &actor.client);
    let limits = state.limits();
    limits.check_client(&client.ip)?;
    limits.check_account(&user.id, &client.ip)?;
    limits.check_account_ceiling(&user.id)?;
    if !password::verify(current.to_owned(), user.password_hash.clone()).await? {
        return Err(Error::validation(
            "currentPassword",
            "is not your current password",
        ));
    }
    let hash = password::hash(new.expose().to_owned()).await?;
    let txn = state.db().begin().await?;
    repo::users::set_password(&txn, &user.id, hash).await?;
    repo::sessions::revoke_user(&txn, &user.id).await?;
    let api_keys_revoked = repo::api_keys::delete_all_for_user(&txn, &user.id).await?;
    audit::record(
        &txn,
        client,
        Entry {
            user_id: Some(&user.id),
            action: "auth.password_changed",
            target_type: "user",
            target_id: Some(&user.id),
            details: json!({ "apiKeysRevoked": api_keys_revoked }),
        },
    )
    .await?;
    let user = repo::users::find(&txn, &user.id)
        .await?
        .ok_or_else(|| Error::not_found("user"))?;
    txn.commit().await?;
    Ok(PasswordChanged {
        session: session::issue(state, state.db(), user, &repo::new_id(), client).await?,
        api_keys_revoked,
    })
}

/// Creates an API key for `user`, limited to `permissions` (which must be the user's own).
/// Returns the stored key and the secret, which is shown exactly once.
pub async fn create_api_key(
    state: &AppState,
    actor: &Actor,
    name: String,
    permissions: Option<Vec<String>>,
    family: KeyFamily,
) -> Result<(api_key::Model, String)> {
    let own_permissions = &actor.permissions;
    let permissions = match permissions {
        None => own_permissions.iter().cloned().collect(),
        Some(requested) => {
            if let Some(missing) = requested.iter().find(|k| !own_permissions.contains(*k)) {
                return Err(Error::validation(
                    "permissions",
                    format!("'{missing}' is not a permission you hold"),
                ));
            }
            requested
        }
    };
    let prefix = tokens::random_secret(12);
    let secret = format!("{}{prefix}_{}", family.prefix(), tokens::random_secret(40));
    let txn = state.db().begin().await?;
    let key = repo::api_keys::create(
        &txn,
        NewApiKey {
            user_id: actor.id().to_owned(),
            name,
            prefix,
            secret_hash: tokens::hash_secret(&secret),
            permissions,
            family: family.as_str(),
        },
    )
    .await?;
    let details = json!({ "name": key.name, "family": family.as_str() });
    audit::record_by(&txn, actor, "api_key.created", "api_key", &key.id, details).await?;
    txn.commit().await?;
    Ok((key, secret))
}

/// The caller's own API keys.
pub async fn api_keys(state: &AppState, actor: &Actor) -> Result<Vec<api_key::Model>> {
    repo::api_keys::list_for_user(state.db(), actor.id()).await
}

/// Revokes one of the caller's own API keys.
pub async fn delete_api_key(state: &AppState, actor: &Actor, key_id: &str) -> Result<()> {
    let txn = state.db().begin().await?;
    if !repo::api_keys::delete_for_user(&txn, actor.id(), key_id).await? {
        return Err(Error::not_found("API key"));
    }
    audit::record_by(&txn, actor, "api_key.deleted", "api_key", key_id, json!({})).await?;
    txn.commit().await?;
    Ok(())
}
