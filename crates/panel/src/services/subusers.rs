//! Subusers: people invited to one server with a grant of server-scoped permissions.
//!
//! Nobody hands out more than they hold: a grant may only add keys that are server-scoped
//! and that the granter holds on this server (an owner's own effective permissions, an
//! administrator's all). Keys a subuser already holds may stay when someone else edits
//! the grant. Every change is written with its audit row in one transaction.

use std::collections::BTreeSet;

use sea_orm::TransactionTrait;
use serde_json::json;

use crate::auth::Actor;
use crate::db::entities::{subuser, user};
use crate::error::{Error, Result};
use crate::permissions::SERVER_SCOPED;
use crate::repo;
use crate::services::audit;
use crate::services::server_access::ServerScope;
use crate::state::AppState;

/// The keys a subuser was granted.
pub fn granted(subuser: &subuser::Model) -> BTreeSet<String> {
    repo::subusers::permissions(subuser)
}

/// A server's subusers with their accounts, oldest first.
pub async fn list(
    state: &AppState,
    server_id: &str,
) -> Result<Vec<(subuser::Model, Option<user::Model>)>> {
    repo::subusers::list(state.db(), server_id).await
}

/// Checks `requested` against what the caller may grant; `already` are the keys the
/// subuser holds today.
fn grant(
    scope: &ServerScope,
    requested: Vec<String>,
    already: &BTreeSet<String>,
) -> Result<BTreeSet<String>> {
    let requested: BTreeSet<String> = requested.into_iter().collect();
    let unknown: Vec<&str> = requested
        .iter()
        .map(String::as_str)
        .filter(|k| !SERVER_SCOPED.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(Error::validation(
            "permissions",
            format!("not grantable to a subuser: {}", unknown.join(", ")),
        ));
    }
    let beyond: Vec<&str> = requested
        .iter()
        .filter(|k| !scope.permissions.contains(*k) && !already.contains(*k))
        .map(String::as_str)
        .collect();
    if !beyond.is_empty() {
        return Err(Error::Forbidden(format!(
            "you cannot grant permissions you do not hold on this server: {}",
            beyond.join(", ")
        )));
    }
    Ok(requested)
}

/// Invites the user named `login` (username or e-mail).
pub async fn add(
    state: &AppState,
    actor: &Actor,
    scope: &ServerScope,
    login: &str,
    permissions: Vec<String>,
) -> Result<subuser::Model> {
    let permissions = grant(scope, permissions, &BTreeSet::new())?;
    let user = repo::users::find_by_login(state.db(), login)
        .await?
        .ok_or_else(|| Error::validation("username", "no user with this name or e-mail"))?;
    if user.id == scope.server.owner_id {
        return Err(Error::validation("username", "this user owns the server"));
    }
    let txn = state.db().begin().await?;
    let subuser = repo::subusers::create(&txn, &scope.server.id, &user.id, &permissions).await?;
    audit::record_by(
        &txn,
        actor,
        "subuser.added",
        "server",
        &scope.server.id,
        json!({ "user": user.username, "permissions": permissions }),
    )
    .await?;
    txn.commit().await?;
    Ok(subuser)
}

async fn find(state: &AppState, scope: &ServerScope, id: &str) -> Result<subuser::Model> {
    repo::subusers::find_by_id(state.db(), &scope.server.id, id)
        .await?
        .ok_or_else(|| Error::not_found("subuser"))
}

/// Replaces a subuser's grant.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    scope: &ServerScope,
    id: &str,
    permissions: Vec<String>,
) -> Result<subuser::Model> {
    let existing = find(state, scope, id).await?;
    let permissions = grant(scope, permissions, &repo::subusers::permissions(&existing))?;
    let txn = state.db().begin().await?;
    let updated = repo::subusers::set_permissions(&txn, existing, &permissions).await?;
    audit::record_by(
        &txn,
        actor,
        "subuser.updated",
        "server",
        &scope.server.id,
        json!({ "subuser": id, "permissions": permissions }),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Uninvites a subuser.
pub async fn remove(state: &AppState, actor: &Actor, scope: &ServerScope, id: &str) -> Result<()> {
    find(state, scope, id).await?;
    let txn = state.db().begin().await?;
    repo::subusers::delete(&txn, id).await?;
    audit::record_by(
        &txn,
        actor,
        "subuser.removed",
        "server",
        &scope.server.id,
        json!({ "subuser": id }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
