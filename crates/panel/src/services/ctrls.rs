//! Template categories: listing, and changes recorded in the audit log.

use sea_orm::{DatabaseConnection, TransactionTrait};
use serde_json::json;

use super::audit;
use crate::auth::Actor;
use crate::db::entities::ctrl;
use crate::error::{Error, Result};
use crate::repo;

/// A page of categories, by name.
pub async fn list(
    db: &DatabaseConnection,
    name: Option<&str>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<ctrl::Model>, u64)> {
    repo::ctrls::list(db, name, page, per_page).await
}

pub async fn find(db: &DatabaseConnection, id: &str) -> Result<ctrl::Model> {
    repo::ctrls::find(db, id)
        .await?
        .ok_or_else(|| Error::not_found("template category"))
}

/// Category names are unique: say so in words, not in the database's.
fn name_taken(err: Error, name: &str) -> Error {
    match err {
        Error::Conflict(_) => {
            Error::Conflict(format!("a category named \"{name}\" already exists"))
        }
        other => other,
    }
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    name: &str,
    description: &str,
) -> Result<ctrl::Model> {
    let txn = db.begin().await?;
    let ctrl = repo::ctrls::create(&txn, name, description)
        .await
        .map_err(|e| name_taken(e, name))?;
    let details = json!({ "name": ctrl.name });
    audit::record_by(&txn, actor, "ctrl.created", "ctrl", &ctrl.id, details).await?;
    txn.commit().await?;
    Ok(ctrl)
}

pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: &str,
    name: Option<String>,
    description: Option<String>,
) -> Result<ctrl::Model> {
    let existing = find(db, id).await?;
    let wanted = name.clone().unwrap_or_default();
    let txn = db.begin().await?;
    let ctrl = repo::ctrls::update(&txn, existing, name, description)
        .await
        .map_err(|e| name_taken(e, &wanted))?;
    let details = json!({ "name": ctrl.name });
    audit::record_by(&txn, actor, "ctrl.updated", "ctrl", &ctrl.id, details).await?;
    txn.commit().await?;
    Ok(ctrl)
}

/// Deletes a category whose templates no server uses.
pub async fn delete(db: &DatabaseConnection, actor: &Actor, id: &str) -> Result<()> {
    let ctrl = find(db, id).await?;
    let txn = db.begin().await?;
    let in_use = repo::ctrls::servers_using(&txn, id).await?;
    if in_use > 0 {
        return Err(Error::Conflict(format!(
            "{in_use} server(s) use templates of this category; delete or move them first"
        )));
    }
    repo::ctrls::delete(&txn, id).await?;
    let details = json!({ "name": ctrl.name });
    audit::record_by(&txn, actor, "ctrl.deleted", "ctrl", id, details).await?;
    txn.commit().await?;
    Ok(())
}
