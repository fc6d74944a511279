//! A server's variable values: checked against its template, pushed to the agent,
//! stored with their audit entry.

use std::collections::BTreeMap;

use sea_orm::TransactionTrait;
use serde_json::json;

use super::definition::{context, define, stored_values, Context};
use crate::auth::Actor;
use crate::db::entities::server;
use crate::error::{Error, FieldErrors, Result};
use crate::repo;
use crate::services::audit;
use crate::services::templates::{self, Template};
use crate::state::AppState;

/// Checks values against a template's variables. `editable_only` restricts changes to
/// variables the server's users may edit. Returns every value to store (given or default).
pub fn validate_variables(
    template: &Template,
    given: &BTreeMap<String, String>,
    existing: &BTreeMap<String, String>,
    editable_only: bool,
) -> Result<BTreeMap<String, String>> {
    let mut details = FieldErrors::new();
    for env in given.keys() {
        match template.alt.variable(env) {
            None => {
                details.insert(
                    format!("variables.{env}"),
                    vec!["is not a variable of this template".into()],
                );
            }
            Some(v) if editable_only && !(v.user_editable && v.user_viewable) => {
                details.insert(
                    format!("variables.{env}"),
                    vec!["cannot be changed by server users".into()],
                );
            }
            Some(_) => {}
        }
    }
    let mut values = BTreeMap::new();
    for variable in &template.alt.variables {
        let value = given
            .get(&variable.env_variable)
            .or_else(|| existing.get(&variable.env_variable))
            .cloned()
            .unwrap_or_else(|| variable.default_value.clone());
        if let Err(messages) = variable.validate(&value) {
            details.insert(format!("variables.{}", variable.env_variable), messages);
        }
        values.insert(variable.env_variable.clone(), value);
    }
    if details.is_empty() {
        Ok(values)
    } else {
        let message = details
            .iter()
            .map(|(field, messages)| format!("{field}: {}", messages.join(" ")))
            .collect::<Vec<_>>()
            .join("; ");
        Err(Error::Validation { message, details })
    }
}

/// Validates and stores variable values, pushing the new environment to the agent first.
/// Only administrators change variables their users may not edit.
pub async fn set_variables(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    let ctx = context(state, server).await?;
    let values = validate_variables(&ctx.template, given, &ctx.values, !actor.is_admin())?;
    let ctx = Context { values, ..ctx };
    define(state, server, &ctx).await?;
    let txn = state.db().begin().await?;
    for variable in &ctx.template.variables {
        if let Some(value) = ctx.values.get(&variable.env_variable) {
            repo::server_variables::upsert(&txn, &server.id, &variable.id, value).await?;
        }
    }
    let details = json!({ "variables": given.keys().collect::<Vec<_>>() });
    audit::record_by(
        &txn,
        actor,
        "server.variables_changed",
        "server",
        &server.id,
        details,
    )
    .await?;
    txn.commit().await?;
    Ok(ctx.values)
}

/// A server's template and its stored variable values.
pub async fn variables_of(
    state: &AppState,
    server: &server::Model,
) -> Result<(Template, BTreeMap<String, String>)> {
    let template = templates::load(state.db(), &server.alt_id).await?;
    let values = stored_values(state, server, &template).await?;
    Ok((template, values))
}
