//! Templates (Ctrls and Alts): storing `cap_templates::Alt`s, egg import/export, and the
//! built-in templates seeded on first start.

use cap_templates::{Alt, ImportWarning, Variable};
use chrono::{SecondsFormat, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, TransactionTrait};
use serde_json::json;

use crate::auth::Actor;
use crate::db::entities::{alt, alt_variable};
use crate::error::{Error, Result};
use crate::repo::{self, alts::AltRow};
use crate::services::audit;

/// Name of the category the built-in templates are seeded into.
pub const BUILTIN_CTRL: &str = "Built-in";
const BUILTINS_SEEDED: &str = "builtin_templates_seeded";

/// A stored template: its row, its variables' rows and the assembled model.
#[derive(Debug, Clone)]
pub struct Template {
    pub row: alt::Model,
    pub variables: Vec<alt_variable::Model>,
    pub alt: Alt,
}

impl Template {
    /// The variable row for an env name.
    pub fn variable_row(&self, env: &str) -> Option<&alt_variable::Model> {
        self.variables.iter().find(|v| v.env_variable == env)
    }
}

/// Maps the templates crate's errors (which name the field) to validation errors.
pub fn template_error(err: cap_templates::Error) -> Error {
    match err {
        cap_templates::Error::Field { field, message } => {
            let text = format!("{field}: {message}");
            Error::Validation {
                message: text,
                details: [(field, vec![message])].into(),
            }
        }
        other => Error::validation("egg", other.to_string()),
    }
}

fn row_of(ctrl_id: &str, alt: &Alt) -> Result<AltRow> {
    let mut definition = alt.clone();
    definition.variables.clear();
    Ok(AltRow {
        ctrl_id: ctrl_id.to_owned(),
        name: alt.name.trim().to_owned(),
        description: alt.description.clone().unwrap_or_default(),
        author: alt.author.clone(),
        uuid: alt.uuid.clone(),
        definition: serde_json::to_value(definition).map_err(Error::internal)?,
    })
}

fn variable_json(variable: &Variable) -> Result<serde_json::Value> {
    serde_json::to_value(variable).map_err(Error::internal)
}

fn sort_order(index: usize) -> i32 {
    i32::try_from(index).unwrap_or(i32::MAX)
}

/// A page of templates (of one category, when given), by name.
pub async fn list(
    db: &DatabaseConnection,
    ctrl_id: Option<&str>,
    name: Option<&str>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<Template>, u64)> {
    let (rows, total) = repo::alts::list(db, ctrl_id, name, page, per_page).await?;
    let mut templates = Vec::with_capacity(rows.len());
    for row in rows {
        templates.push(assemble(db, row).await?);
    }
    Ok((templates, total))
}

/// Loads a template with its variables.
pub async fn load(db: &impl ConnectionTrait, id: &str) -> Result<Template> {
    let row = repo::alts::find(db, id)
        .await?
        .ok_or_else(|| Error::not_found("template"))?;
    assemble(db, row).await
}

async fn assemble(db: &impl ConnectionTrait, row: alt::Model) -> Result<Template> {
    let variables = repo::alts::variables(db, &row.id).await?;
    let mut alt: Alt = serde_json::from_value(row.definition.clone())
        .map_err(|e| Error::internal(format!("stored template {} is unreadable: {e}", row.id)))?;
    alt.variables = variables
        .iter()
        .map(|v| serde_json::from_value(v.definition.clone()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| {
            Error::internal(format!("stored variable of {} is unreadable: {e}", row.id))
        })?;
    Ok(Template {
        row,
        variables,
        alt,
    })
}

/// The template as stored: checked, with Unix line endings in its scripts.
fn checked(alt: &Alt) -> Result<Alt> {
    let mut alt = alt.clone();
    alt.normalize_line_endings();
    alt.check().map_err(template_error)?;
    Ok(alt)
}

/// Refuses a second template of the same name in a category, in plain words.
async fn check_name_free(
    db: &impl ConnectionTrait,
    ctrl_id: &str,
    name: &str,
    this: Option<&str>,
) -> Result<()> {
    match repo::alts::find_by_name(db, ctrl_id, name.trim()).await? {
        Some(other) if Some(other.id.as_str()) != this => Err(Error::Conflict(format!(
            "this category already has a template named \"{}\"; update that template from \
             the egg instead (its servers keep their settings), or rename one of them",
            other.name
        ))),
        _ => Ok(()),
    }
}

/// Stores a new template in `ctrl_id`, inside the caller's transaction.
async fn store_new(txn: &DatabaseTransaction, ctrl_id: &str, alt: &Alt) -> Result<Template> {
    let alt = &checked(alt)?;
    repo::ctrls::find(txn, ctrl_id)
        .await?
        .ok_or_else(|| Error::validation("ctrlId", "no such template category"))?;
    check_name_free(txn, ctrl_id, &alt.name, None).await?;
    let row = repo::alts::insert(txn, row_of(ctrl_id, alt)?).await?;
    for (i, variable) in alt.variables.iter().enumerate() {
        repo::alts::insert_variable(
            txn,
            &row.id,
            &variable.env_variable,
            sort_order(i),
            variable_json(variable)?,
        )
        .await?;
    }
    assemble(txn, row).await
}

/// Stores a new template in `ctrl_id` with its audit entry, all or nothing.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    ctrl_id: &str,
    alt: &Alt,
) -> Result<Template> {
    let txn = db.begin().await?;
    let template = store_new(&txn, ctrl_id, alt).await?;
    let details = json!({ "name": template.row.name });
    audit::record_by(&txn, actor, "alt.created", "alt", &template.row.id, details).await?;
    txn.commit().await?;
    Ok(template)
}

/// Replaces a template's definition. Variables are matched by env name, so values that
/// servers already set for a kept variable survive; removed variables take their
/// server values with them.
pub async fn replace(
    db: &DatabaseConnection,
    actor: &Actor,
    id: &str,
    alt: &Alt,
) -> Result<Template> {
    let alt = &checked(alt)?;
    let txn = db.begin().await?;
    let existing = load(&txn, id).await?;
    let template = store_over(&txn, existing, alt).await?;
    let details = json!({ "name": template.row.name });
    audit::record_by(&txn, actor, "alt.updated", "alt", id, details).await?;
    txn.commit().await?;
    Ok(template)
}

/// Deletes a template no server uses.
pub async fn delete(db: &DatabaseConnection, actor: &Actor, id: &str) -> Result<()> {
    let txn = db.begin().await?;
    let template = load(&txn, id).await?;
    let in_use = repo::alts::servers_using(&txn, id).await?;
    if in_use > 0 {
        return Err(Error::Conflict(format!(
            "{in_use} server(s) use this template; delete them first"
        )));
    }
    repo::alts::delete(&txn, id).await?;
    let details = json!({ "name": template.row.name });
    audit::record_by(&txn, actor, "alt.deleted", "alt", id, details).await?;
    Ok(txn.commit().await?)
}

/// Writes `alt` (already checked) over `existing`, inside the caller's transaction.
async fn store_over(txn: &DatabaseTransaction, existing: Template, alt: &Alt) -> Result<Template> {
    let ctrl_id = existing.row.ctrl_id.clone();
    check_name_free(txn, &ctrl_id, &alt.name, Some(&existing.row.id)).await?;
    let row = repo::alts::update(txn, existing.row.clone(), row_of(&ctrl_id, alt)?).await?;
    for (i, variable) in alt.variables.iter().enumerate() {
        let json = variable_json(variable)?;
        match existing.variable_row(&variable.env_variable) {
            Some(current) => {
                repo::alts::update_variable(txn, current.clone(), sort_order(i), json).await?
            }
            None => {
                repo::alts::insert_variable(
                    txn,
                    &row.id,
                    &variable.env_variable,
                    sort_order(i),
                    json,
                )
                .await?;
            }
        }
    }
    for stale in existing
        .variables
        .iter()
        .filter(|v| alt.variable(&v.env_variable).is_none())
    {
        repo::alts::delete_variable(txn, &stale.id).await?;
    }
    assemble(txn, row).await
}

/// Updates a template from an egg, keeping its name, category and servers: variables
/// are matched by env name, so servers keep the values they set; variables the egg no
/// longer has are removed (with a warning). All or nothing, with an audit entry.
pub async fn update_from_egg(
    db: &DatabaseConnection,
    actor: &Actor,
    id: &str,
    text: &str,
) -> Result<(Template, Vec<ImportWarning>)> {
    let imported = cap_templates::import_egg(text).map_err(template_error)?;
    let mut warnings = imported.warnings;
    let txn = db.begin().await?;
    let existing = load(&txn, id).await?;
    let mut alt = imported.alt;
    alt.name = existing.alt.name.clone();
    if alt.uuid.is_none() {
        alt.uuid = existing.alt.uuid.clone();
    }
    if let Some(uuid) = &alt.uuid {
        if let Some(other) = repo::alts::find_by_uuid(&txn, uuid).await? {
            if other.id != existing.row.id {
                return Err(already_installed(&other));
            }
        }
    }
    for gone in existing
        .alt
        .variables
        .iter()
        .filter(|v| alt.variable(&v.env_variable).is_none())
    {
        warnings.push(ImportWarning {
            field: "variables".into(),
            message: format!(
                "{} ({}) is not in the egg and was removed; servers lose their value for it",
                gone.name, gone.env_variable
            ),
        });
    }
    let alt = checked(&alt)?;
    let template = store_over(&txn, existing, &alt).await?;
    audit::record_by(
        &txn,
        actor,
        "alt.updated_from_egg",
        "alt",
        &template.row.id,
        json!({ "name": template.row.name, "warnings": warnings.len() }),
    )
    .await?;
    txn.commit().await?;
    Ok((template, warnings))
}

fn already_installed(other: &alt::Model) -> Error {
    Error::Conflict(format!(
        "this egg is already installed as the template \"{}\"; update that template from \
         the egg instead",
        other.name
    ))
}

/// Imports an egg (PTDL_v1/v2 or PLCN, JSON or YAML text) into `ctrl_id`.
pub async fn import(
    db: &DatabaseConnection,
    actor: &Actor,
    ctrl_id: &str,
    text: &str,
) -> Result<(Template, Vec<ImportWarning>)> {
    let imported = cap_templates::import_egg(text).map_err(template_error)?;
    let txn = db.begin().await?;
    if let Some(uuid) = &imported.alt.uuid {
        if let Some(other) = repo::alts::find_by_uuid(&txn, uuid).await? {
            return Err(already_installed(&other));
        }
    }
    let template = store_new(&txn, ctrl_id, &imported.alt).await?;
    let details = json!({ "name": template.row.name, "warnings": imported.warnings.len() });
    audit::record_by(
        &txn,
        actor,
        "alt.imported",
        "alt",
        &template.row.id,
        details,
    )
    .await?;
    txn.commit().await?;
    Ok((template, imported.warnings))
}

/// The template as a PTDL_v2 egg.
pub async fn export(db: &impl ConnectionTrait, id: &str) -> Result<String> {
    let template = load(db, id).await?;
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, false);
    Ok(cap_templates::export_ptdl_v2(&template.alt, &now))
}

/// Seeds the built-in templates into the "Built-in" category, once per database: an
/// admin who deletes them does not get them back on the next start.
pub async fn seed_builtins(db: &DatabaseConnection) -> Result<()> {
    if repo::settings::get(db, BUILTINS_SEEDED).await?.is_some() {
        return Ok(());
    }
    let builtins = cap_templates::builtins().map_err(template_error)?;
    let ctrl = match repo::ctrls::find_by_name(db, BUILTIN_CTRL).await? {
        Some(ctrl) => ctrl,
        None => {
            repo::ctrls::create(db, BUILTIN_CTRL, "Templates that ship with Ctrl-Alt-Play").await?
        }
    };
    for alt in &builtins {
        let known = match &alt.uuid {
            Some(uuid) => repo::alts::find_by_uuid(db, uuid).await?.is_some(),
            None => false,
        };
        if !known {
            let txn = db.begin().await?;
            store_new(&txn, &ctrl.id, alt).await?;
            txn.commit().await?;
        }
    }
    repo::settings::set(db, BUILTINS_SEEDED, json!(true)).await
}
