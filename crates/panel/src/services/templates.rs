//! Templates (Ctrls and Alts): storing `cap_templates::Alt`s, egg import/export, and the
//! built-in templates seeded on first start.

use cap_templates::{Alt, ImportWarning, Variable};
use chrono::{SecondsFormat, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use serde_json::json;

use crate::db::entities::{alt, alt_variable};
use crate::error::{Error, Result};
use crate::repo::{self, alts::AltRow};

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

/// Stores a new template in `ctrl_id`, all or nothing.
pub async fn create(db: &DatabaseConnection, ctrl_id: &str, alt: &Alt) -> Result<Template> {
    let alt = &checked(alt)?;
    repo::ctrls::find(db, ctrl_id)
        .await?
        .ok_or_else(|| Error::validation("ctrlId", "no such template category"))?;
    let txn = db.begin().await?;
    let row = repo::alts::insert(&txn, row_of(ctrl_id, alt)?).await?;
    for (i, variable) in alt.variables.iter().enumerate() {
        repo::alts::insert_variable(
            &txn,
            &row.id,
            &variable.env_variable,
            sort_order(i),
            variable_json(variable)?,
        )
        .await?;
    }
    let template = assemble(&txn, row).await?;
    txn.commit().await?;
    Ok(template)
}

/// Replaces a template's definition. Variables are matched by env name, so values that
/// servers already set for a kept variable survive; removed variables take their
/// server values with them.
pub async fn replace(db: &DatabaseConnection, id: &str, alt: &Alt) -> Result<Template> {
    let alt = &checked(alt)?;
    let txn = db.begin().await?;
    let existing = load(&txn, id).await?;
    let row = repo::alts::update(
        &txn,
        existing.row.clone(),
        row_of(&existing.row.ctrl_id, alt)?,
    )
    .await?;
    for (i, variable) in alt.variables.iter().enumerate() {
        let json = variable_json(variable)?;
        match existing.variable_row(&variable.env_variable) {
            Some(current) => {
                repo::alts::update_variable(&txn, current.clone(), sort_order(i), json).await?
            }
            None => {
                repo::alts::insert_variable(
                    &txn,
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
        repo::alts::delete_variable(&txn, &stale.id).await?;
    }
    let template = assemble(&txn, row).await?;
    txn.commit().await?;
    Ok(template)
}

/// Imports an egg (PTDL_v1/v2 or PLCN, JSON or YAML text) into `ctrl_id`.
pub async fn import(
    db: &DatabaseConnection,
    ctrl_id: &str,
    text: &str,
) -> Result<(Template, Vec<ImportWarning>)> {
    let imported = cap_templates::import_egg(text).map_err(template_error)?;
    if let Some(uuid) = &imported.alt.uuid {
        if repo::alts::find_by_uuid(db, uuid).await?.is_some() {
            return Err(Error::Conflict(format!(
                "a template with uuid {uuid} is already installed; update it instead"
            )));
        }
    }
    let template = create(db, ctrl_id, &imported.alt).await?;
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
            create(db, &ctrl.id, alt).await?;
        }
    }
    repo::settings::set(db, BUILTINS_SEEDED, json!(true)).await
}
