//! `/api/ctrls` and `/api/alts`: template categories and templates, egg import/export.

use axum::extract::{Path, State};
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use cap_templates::Alt;
use chrono::{DateTime, Utc};
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::auth::Actor;
use crate::db::entities::ctrl;
use crate::domain::Name;
use crate::error::{Error, Result};
use crate::http::access::{Access, ApiRoutes};
use crate::http::envelope::Envelope;
use crate::http::extract::{Page, PageQuery, ValidJson, ValidQuery};
use crate::http::openapi::describe::Note;
use crate::services::ctrls;
use crate::services::templates::{self, Template};
use crate::state::AppState;

/// Reading templates is needed to create servers; changing them is an admin's job.
const READ: Access = Access::Permission("server:create");
const WRITE: Access = Access::Permission("admin:templates");

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    api.add(Method::GET, "/ctrls", READ, list_ctrls)
        .add(Method::POST, "/ctrls", WRITE, create_ctrl)
        .add(Method::GET, "/ctrls/{ctrl_id}", READ, get_ctrl)
        .add(Method::PATCH, "/ctrls/{ctrl_id}", WRITE, update_ctrl)
        .add(Method::DELETE, "/ctrls/{ctrl_id}", WRITE, delete_ctrl)
        .add(Method::GET, "/alts", READ, list_alts)
        .add(Method::POST, "/alts", WRITE, create_alt)
        .add(Method::POST, "/alts/import", WRITE, import_alt)
        .add(Method::GET, "/alts/{alt_id}", READ, get_alt)
        .add(Method::PUT, "/alts/{alt_id}", WRITE, replace_alt)
        .add(Method::DELETE, "/alts/{alt_id}", WRITE, delete_alt)
        .add(
            Method::POST,
            "/alts/{alt_id}/import",
            WRITE,
            update_alt_from_egg,
        )
        .add(Method::GET, "/alts/{alt_id}/export", WRITE, export_alt)
        .note(Note::Document(
            "The template as a PTDL_v2 egg, as an attachment.",
        ))
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CtrlView {
    id: String,
    name: String,
    description: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<ctrl::Model> for CtrlView {
    fn from(c: ctrl::Model) -> Self {
        CtrlView {
            id: c.id,
            name: c.name,
            description: c.description,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VariableView {
    id: String,
    name: String,
    description: String,
    env_variable: String,
    default_value: String,
    rules: String,
    user_viewable: bool,
    user_editable: bool,
    sort_order: i32,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AltView {
    id: String,
    ctrl_id: String,
    name: String,
    description: String,
    author: String,
    uuid: Option<String>,
    startup: String,
    stop_command: String,
    done_patterns: Vec<String>,
    docker_images: Vec<String>,
    variables: Vec<VariableView>,
    /// The complete template, for editing and `PUT /api/alts/{id}`.
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    template: Alt,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Template> for AltView {
    fn from(t: Template) -> Self {
        let variables = t
            .variables
            .iter()
            .zip(&t.alt.variables)
            .map(|(row, v)| VariableView {
                id: row.id.clone(),
                name: v.name.clone(),
                description: v.description.clone(),
                env_variable: v.env_variable.clone(),
                default_value: v.default_value.clone(),
                rules: v.rules.to_pipe_string(),
                user_viewable: v.user_viewable,
                user_editable: v.user_editable,
                sort_order: row.sort_order,
            })
            .collect();
        AltView {
            id: t.row.id,
            ctrl_id: t.row.ctrl_id,
            name: t.row.name,
            description: t.row.description,
            author: t.row.author,
            uuid: t.row.uuid,
            startup: t.alt.startup().to_owned(),
            stop_command: t.alt.stop.as_egg_str().to_owned(),
            done_patterns: t.alt.done_patterns(),
            docker_images: t.alt.docker_images.values().cloned().collect(),
            variables,
            template: t.alt,
            created_at: t.row.created_at,
            updated_at: t.row.updated_at,
        }
    }
}

async fn list_ctrls(
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> Result<Envelope<Page<CtrlView>>> {
    let (rows, total) = ctrls::list(state.db(), q.name_filter(), q.page(), q.per_page()).await?;
    Ok(Envelope::ok(Page {
        items: rows.into_iter().map(CtrlView::from).collect(),
        total,
        page: q.page(),
        per_page: q.per_page(),
    }))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CtrlBody {
    #[garde(skip)]
    name: Name,
    #[serde(default)]
    #[garde(length(max = 4000))]
    description: String,
}

async fn create_ctrl(
    State(state): State<AppState>,
    actor: Actor,
    ValidJson(body): ValidJson<CtrlBody>,
) -> Result<Envelope<CtrlView>> {
    let ctrl = ctrls::create(state.db(), &actor, body.name.as_ref(), &body.description).await?;
    Ok(Envelope::ok(CtrlView::from(ctrl)).with_message("category created"))
}

async fn get_ctrl(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Envelope<CtrlView>> {
    Ok(Envelope::ok(ctrls::find(state.db(), &id).await?.into()))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CtrlPatch {
    #[garde(skip)]
    name: Option<Name>,
    #[garde(inner(length(max = 4000)))]
    description: Option<String>,
}

async fn update_ctrl(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<CtrlPatch>,
) -> Result<Envelope<CtrlView>> {
    let name = body.name.map(Into::into);
    let ctrl = ctrls::update(state.db(), &actor, &id, name, body.description).await?;
    Ok(Envelope::ok(CtrlView::from(ctrl)))
}

async fn delete_ctrl(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Envelope<()>> {
    ctrls::delete(state.db(), &actor, &id).await?;
    Ok(Envelope::ok(()).with_message("category deleted"))
}

/// `?ctrlId=` plus the usual paging (serde's `flatten` cannot carry typed query values).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AltQuery {
    #[serde(default)]
    ctrl_id: Option<String>,
    #[serde(default)]
    page: Option<u64>,
    #[serde(default)]
    per_page: Option<u64>,
    #[serde(default)]
    name: Option<String>,
}

async fn list_alts(
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<AltQuery>,
) -> Result<Envelope<Page<AltView>>> {
    let page = &PageQuery {
        page: q.page,
        per_page: q.per_page,
        name: q.name,
    };
    let (rows, total) = templates::list(
        state.db(),
        q.ctrl_id.as_deref(),
        page.name_filter(),
        page.page(),
        page.per_page(),
    )
    .await?;
    Ok(Envelope::ok(Page {
        items: rows.into_iter().map(AltView::from).collect(),
        total,
        page: page.page(),
        per_page: page.per_page(),
    }))
}

async fn get_alt(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Envelope<AltView>> {
    Ok(Envelope::ok(templates::load(state.db(), &id).await?.into()))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateAlt {
    #[garde(length(min = 1, max = 64))]
    ctrl_id: String,
    /// The template in the panel's format (as `GET /api/alts/{id}` shows it).
    #[garde(skip)]
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    template: Alt,
}

async fn create_alt(
    State(state): State<AppState>,
    actor: Actor,
    ValidJson(body): ValidJson<CreateAlt>,
) -> Result<Envelope<AltView>> {
    let template = templates::create(state.db(), &actor, &body.ctrl_id, &body.template).await?;
    Ok(Envelope::ok(AltView::from(template)).with_message("template created"))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceAlt {
    /// The template in the panel's format (as `GET /api/alts/{id}` shows it).
    #[garde(skip)]
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    template: Alt,
}

async fn replace_alt(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<ReplaceAlt>,
) -> Result<Envelope<AltView>> {
    let template = templates::replace(state.db(), &actor, &id, &body.template).await?;
    Ok(Envelope::ok(AltView::from(template)))
}

async fn delete_alt(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Envelope<()>> {
    templates::delete(state.db(), &actor, &id).await?;
    Ok(Envelope::ok(()).with_message("template deleted"))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImportAlt {
    #[garde(length(min = 1, max = 64))]
    ctrl_id: String,
    /// The egg: a JSON document, or its text (JSON or YAML) as a string.
    #[garde(skip)]
    egg: Box<RawValue>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ImportResult {
    alt: AltView,
    warnings: Vec<String>,
}

async fn import_alt(
    State(state): State<AppState>,
    actor: Actor,
    ValidJson(body): ValidJson<ImportAlt>,
) -> Result<Envelope<ImportResult>> {
    let text = egg_text(&body.egg)?;
    let (template, warnings) = templates::import(state.db(), &actor, &body.ctrl_id, &text).await?;
    Ok(Envelope::ok(ImportResult {
        alt: template.into(),
        warnings: warnings.iter().map(ToString::to_string).collect(),
    })
    .with_message("template imported"))
}

/// The egg's text: the document itself, or the JSON string holding it (YAML).
fn egg_text(egg: &RawValue) -> Result<String> {
    let raw = egg.get();
    if raw.starts_with('"') {
        serde_json::from_str::<String>(raw).map_err(|e| Error::validation("egg", e.to_string()))
    } else {
        Ok(raw.to_owned())
    }
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EggBody {
    /// The egg: a JSON document, or its text (JSON or YAML) as a string.
    #[garde(skip)]
    egg: Box<RawValue>,
}

/// Updates the template from an egg, keeping its name, category and servers.
async fn update_alt_from_egg(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<EggBody>,
) -> Result<Envelope<ImportResult>> {
    let text = egg_text(&body.egg)?;
    let (template, warnings) = templates::update_from_egg(state.db(), &actor, &id, &text).await?;
    Ok(Envelope::ok(ImportResult {
        alt: template.into(),
        warnings: warnings.iter().map(ToString::to_string).collect(),
    })
    .with_message("template updated from the egg"))
}

/// The PTDL_v2 egg as a download (a document, not an envelope).
async fn export_alt(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response> {
    let template = templates::load(state.db(), &id).await?;
    let egg = templates::export(state.db(), &id).await?;
    let slug: String = template
        .row
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"egg-{slug}.json\""),
            ),
        ],
        egg,
    )
        .into_response())
}
