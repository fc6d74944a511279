//! User administration: accounts, roles and per-user permission overrides.
//!
//! Every change is written together with its audit row in one transaction. The panel
//! never loses its last active administrator: changes that would disable, demote or
//! delete them are refused with 409.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::auth::password;
use crate::auth::principal::Principal;
use crate::auth::Actor;
use crate::db::entities::user;
use crate::domain::{Email, Password, Username};
use crate::error::{Error, FieldErrors, Result};
use crate::permissions::{self, ADMIN_ROLE};
use crate::repo::{self, users::NewUser, users::UserChanges};
use crate::services::audit;

pub use crate::repo::permissions::Overrides;

/// The role new accounts get; assigning any other role is a permission change and
/// needs `admin:permissions`.
pub const DEFAULT_ROLE: &str = "user";
/// The permission that governs roles, grants and revocations.
const PERMISSIONS_KEY: &str = "admin:permissions";

/// A new account, already validated.
#[derive(Debug)]
pub struct NewAccount {
    pub username: Username,
    pub email: Email,
    pub password: Password,
    pub role: String,
}

/// Changes to an account; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct AccountChanges {
    pub email: Option<Email>,
    pub role: Option<String>,
    pub disabled: Option<bool>,
    pub password: Option<Password>,
}

/// How a user's effective permissions come about.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionSet {
    pub role: String,
    pub role_permissions: BTreeSet<String>,
    pub grants: BTreeSet<String>,
    pub revocations: BTreeSet<String>,
    pub effective: BTreeSet<String>,
}

/// A page of accounts, by username.
pub async fn list(
    db: &DatabaseConnection,
    name: Option<&str>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<user::Model>, u64)> {
    repo::users::list(db, name, page, per_page).await
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<user::Model> {
    repo::users::find(db, id)
        .await?
        .ok_or_else(|| Error::not_found("user"))
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewAccount,
) -> Result<user::Model> {
    if new.role != DEFAULT_ROLE {
        require_permissions_key(actor, "assign a role other than 'user'")?;
    }
    ensure_role_exists(db, &new.role).await?;
    ensure_unclaimed(db, Some(new.username.as_ref()), new.email.as_ref(), None).await?;
    let password_hash = password::hash(new.password.expose().to_owned()).await?;
    let txn = db.begin().await?;
    let user = repo::users::create(
        &txn,
        NewUser {
            username: new.username.into(),
            email: new.email.into(),
            password_hash,
            role: new.role,
        },
    )
    .await?;
    let details = json!({ "username": user.username, "email": user.email, "role": user.role });
    record(&txn, actor, "user.created", &user.id, details).await?;
    txn.commit().await?;
    Ok(user)
}

pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: &str,
    changes: AccountChanges,
) -> Result<user::Model> {
    // Hash before the transaction: it is slow and must not hold locks.
    let password_hash = match &changes.password {
        Some(password) => Some(password::hash(password.expose().to_owned()).await?),
        None => None,
    };
    let txn = db.begin().await?;
    repo::users::lock_active_admins(&txn).await?;
    let current = find(&txn, id).await?;
    ensure_may_manage(actor, &current)?;

    let email = changes
        .email
        .map(String::from)
        .filter(|email| *email != current.email);
    let role = changes.role.filter(|role| *role != current.role);
    let disabled = changes.disabled.filter(|d| *d != current.disabled);
    if let Some(email) = &email {
        ensure_unclaimed(&txn, None, email, Some(&current.id)).await?;
    }
    if let Some(role) = &role {
        require_permissions_key(actor, "change a user's role")?;
        ensure_role_exists(&txn, role).await?;
    }

    let mut details = Map::new();
    if let Some(email) = &email {
        details.insert("email".into(), change(&current.email, email));
    }
    if let Some(role) = &role {
        details.insert("role".into(), change(&current.role, role));
    }
    if let Some(disabled) = disabled {
        details.insert("disabled".into(), change(current.disabled, disabled));
    }
    if password_hash.is_some() {
        details.insert("passwordChanged".into(), Value::Bool(true));
    }
    if details.is_empty() {
        return Ok(current);
    }

    let was_active_admin = is_active_admin(&current);
    let password_changed = password_hash.is_some();
    let ends_sessions = disabled == Some(true) || password_changed;
    let updated = repo::users::update(
        &txn,
        current,
        UserChanges {
            email,
            role,
            disabled,
            password_hash,
        },
    )
    .await?;
    if was_active_admin && !is_active_admin(&updated) {
        ensure_an_admin_remains(&txn).await?;
    }
    if ends_sessions {
        repo::sessions::revoke_user(&txn, &updated.id).await?;
    }
    if password_changed {
        // A key made by whoever knew the old password must not outlive it.
        let revoked = repo::api_keys::delete_all_for_user(&txn, &updated.id).await?;
        details.insert("apiKeysRevoked".into(), Value::from(revoked));
    }
    record(
        &txn,
        actor,
        "user.updated",
        &updated.id,
        Value::Object(details),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

pub async fn delete(db: &DatabaseConnection, actor: &Actor, id: &str) -> Result<()> {
    if id == actor.id() {
        return Err(Error::Conflict("you cannot delete your own account".into()));
    }
    let txn = db.begin().await?;
    repo::users::lock_active_admins(&txn).await?;
    let current = find(&txn, id).await?;
    ensure_may_manage(actor, &current)?;
    repo::users::delete(&txn, id).await?;
    if is_active_admin(&current) {
        ensure_an_admin_remains(&txn).await?;
    }
    let details = json!({ "username": current.username, "email": current.email });
    record(&txn, actor, "user.deleted", id, details).await?;
    txn.commit().await?;
    Ok(())
}

pub async fn permissions(db: &impl ConnectionTrait, id: &str) -> Result<PermissionSet> {
    let user = find(db, id).await?;
    permission_set(db, user).await
}

async fn permission_set(db: &impl ConnectionTrait, user: user::Model) -> Result<PermissionSet> {
    let role_permissions = repo::permissions::role_keys(db, &user.role).await?;
    let Overrides {
        grants,
        revocations,
    } = repo::permissions::overrides(db, &user.id).await?;
    let effective = repo::permissions::effective(db, &user.id, &user.role).await?;
    Ok(PermissionSet {
        role: user.role,
        role_permissions,
        grants,
        revocations,
        effective,
    })
}

/// Replaces a user's grants and revocations.
pub async fn set_permissions(
    db: &DatabaseConnection,
    actor: &Actor,
    id: &str,
    new: Overrides,
) -> Result<PermissionSet> {
    check_overrides(&new)?;
    let txn = db.begin().await?;
    let user = find(&txn, id).await?;
    ensure_may_manage(actor, &user)?;
    let previous = repo::permissions::overrides(&txn, id).await?;
    repo::permissions::replace_overrides(&txn, id, &new).await?;
    let result = permission_set(&txn, user).await?;
    if id == actor.id() && !result.effective.contains(PERMISSIONS_KEY) {
        return Err(Error::Conflict(format!(
            "you cannot revoke {PERMISSIONS_KEY} from yourself"
        )));
    }
    let details = json!({
        "grants": new.grants,
        "revocations": new.revocations,
        "previous": { "grants": previous.grants, "revocations": previous.revocations },
    });
    record(&txn, actor, "permissions.changed", id, details).await?;
    txn.commit().await?;
    Ok(result)
}

/// Every key must be one of the 36, and none may be both granted and revoked.
fn check_overrides(new: &Overrides) -> Result<()> {
    let mut details = FieldErrors::new();
    for (field, keys) in [("grants", &new.grants), ("revocations", &new.revocations)] {
        let unknown: Vec<&str> = keys
            .iter()
            .map(String::as_str)
            .filter(|key| !permissions::is_known(key))
            .collect();
        if !unknown.is_empty() {
            details.insert(
                field.to_owned(),
                vec![format!("unknown permissions: {}", unknown.join(", "))],
            );
        }
    }
    let both: Vec<&str> = new
        .grants
        .intersection(&new.revocations)
        .map(String::as_str)
        .collect();
    if !both.is_empty() {
        details
            .entry("revocations".to_owned())
            .or_default()
            .push(format!("both granted and revoked: {}", both.join(", ")));
    }
    Error::unless_invalid(details)
}

fn is_active_admin(user: &user::Model) -> bool {
    user.role == ADMIN_ROLE && !user.disabled
}

/// Only administrators may change administrators' accounts, so a holder of `user:update`
/// cannot take over an administrator by resetting their password.
fn ensure_may_manage(actor: &Principal, target: &user::Model) -> Result<()> {
    if target.role == ADMIN_ROLE && !actor.is_admin() {
        return Err(Error::Forbidden(
            "only an administrator can change an administrator's account".into(),
        ));
    }
    Ok(())
}

fn require_permissions_key(actor: &Principal, what: &str) -> Result<()> {
    if actor.has(PERMISSIONS_KEY) {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "missing permission {PERMISSIONS_KEY} to {what}"
        )))
    }
}

async fn ensure_role_exists(db: &impl ConnectionTrait, role: &str) -> Result<()> {
    if repo::permissions::role_exists(db, role).await? {
        Ok(())
    } else {
        Err(Error::validation("role", format!("no role named '{role}'")))
    }
}

/// Usernames and e-mail addresses are unique in any letter case; a clash is a 409 that
/// says which one (the unique indexes catch a concurrent one).
async fn ensure_unclaimed(
    db: &impl ConnectionTrait,
    username: Option<&str>,
    email: &str,
    except: Option<&str>,
) -> Result<()> {
    let Some(other) = repo::users::find_clash(db, username, Some(email), except).await? else {
        return Ok(());
    };
    let what = match username {
        Some(name) if other.username.eq_ignore_ascii_case(name) => {
            format!("the username '{}' is taken", other.username)
        }
        _ => "another account already uses this e-mail address".to_owned(),
    };
    Err(Error::Conflict(what))
}

/// Call after a change inside the transaction that took `lock_active_admins`.
async fn ensure_an_admin_remains(db: &impl ConnectionTrait) -> Result<()> {
    if repo::users::count_active_admins(db).await? == 0 {
        return Err(Error::Conflict(
            "this is the last active administrator: make another user an administrator first"
                .into(),
        ));
    }
    Ok(())
}

fn change(from: impl Serialize, to: impl Serialize) -> Value {
    json!({ "from": from, "to": to })
}

async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    user_id: &str,
    details: Value,
) -> Result<()> {
    audit::record_by(db, actor, action, "user", user_id, details).await
}
