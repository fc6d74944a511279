//! `/api/servers`: game servers and their lifecycle (power, console input, reinstall,
//! stats, preview); variables, subusers, files and the console WebSocket have modules of
//! their own, and a server's view is built in `server_views`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::Method;
use axum::Extension;
use cap_protocol::command::{Action, AgentResponse};
use cap_protocol::runtime::RuntimeKind;
use cap_protocol::server::ServerStats;
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::server_views::{view_one, views, CrashPolicyBody, ServerView};
use crate::auth::{Actor, Principal};
use crate::domain::Name;
use crate::error::{Error, Result};
use crate::http::access::{Access, ApiRoutes, ServerScope};
use crate::http::envelope::{Envelope, Prerendered};
use crate::http::extract::{Page, PageQuery, ValidJson, ValidQuery};
use crate::http::openapi::describe::Note;
use crate::services::servers::listing::{self, PageRequest, ServerPages};
use crate::services::servers::{
    self as service, CreateServer, LimitsSpec, PowerOutcome, RuntimeChoice, ServerChanges,
};
use crate::state::AppState;

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    let api = api
        .add(
            Method::GET,
            "/servers",
            Access::Permission("server:view"),
            list,
        )
        .add(
            Method::POST,
            "/servers",
            Access::Permission("server:create"),
            create,
        )
        .note(Note::ReachesAgent)
        .add(
            Method::GET,
            "/servers/{id}",
            Access::Server("server:view"),
            get,
        )
        .add(
            Method::PATCH,
            "/servers/{id}",
            Access::Server("server:update"),
            update,
        )
        .add(
            Method::DELETE,
            "/servers/{id}",
            Access::Server("server:delete"),
            delete,
        )
        .add(
            Method::POST,
            "/servers/{id}/power",
            Access::Server("server:power"),
            power,
        )
        .add(
            Method::POST,
            "/servers/{id}/command",
            Access::Server("console:command"),
            command,
        )
        .add(
            Method::POST,
            "/servers/{id}/reinstall",
            Access::Server("server:update"),
            reinstall,
        );
    let api = super::server_variables::routes(api)
        .add(
            Method::GET,
            "/servers/{id}/stats",
            Access::Server("server:view"),
            stats,
        )
        .add(
            Method::GET,
            "/servers/{id}/preview",
            Access::Server("server:update"),
            preview,
        );
    let api = super::subusers::routes(api);
    let api = super::backups::routes(api);
    let api = super::schedules::routes(api);
    let api = super::console::routes(api);
    super::files::routes(api)
}

/// The dashboard's query. The rendered page is reused while nothing it shows changed
/// (rows, live states and stats, node status, the caller's permissions).
async fn list(
    State(state): State<AppState>,
    Extension(pages): Extension<Arc<ServerPages>>,
    principal: Principal,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> Result<Envelope<Prerendered<Page<ServerView>>>> {
    let request = PageRequest {
        name: q.name_filter(),
        page: q.page(),
        per_page: q.per_page(),
    };
    let page = listing::page(&state, &pages, &principal, &request).await?;
    let live_epoch = state.hub().live_epoch();
    if let Some(body) = page.rendered(principal.id(), live_epoch) {
        return Ok(Envelope::ok(Prerendered::from_raw(body)));
    }
    let auth_epoch = listing::access_epoch();
    let body = Prerendered::render(&Page {
        items: views(&state, &principal, &page.rows, &page.allocations).await?,
        total: page.total,
        page: q.page(),
        per_page: q.per_page(),
    })?;
    page.keep_rendered(principal.id(), live_epoch, auth_epoch, body.raw());
    Ok(Envelope::ok(body))
}

#[derive(Debug, Clone, Copy, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LimitsBody {
    /// MiB of memory; 0 = unlimited.
    #[garde(range(min = 0, max = 16_777_216))]
    memory_mb: i64,
    /// Percent of one core; 0 = unlimited.
    #[garde(range(min = 0, max = 100_000))]
    cpu_percent: i32,
    /// MiB of disk; 0 = unlimited.
    #[garde(range(min = 0, max = 1_073_741_824))]
    disk_mb: i64,
}

impl From<LimitsBody> for LimitsSpec {
    fn from(l: LimitsBody) -> Self {
        LimitsSpec {
            memory_mb: l.memory_mb,
            cpu_percent: l.cpu_percent,
            disk_mb: l.disk_mb,
        }
    }
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateBody {
    #[garde(skip)]
    name: Name,
    #[serde(default)]
    #[garde(length(max = 4000))]
    description: String,
    #[garde(inner(length(min = 1, max = 64)))]
    owner_id: Option<String>,
    #[garde(length(min = 1, max = 64))]
    node_id: String,
    #[garde(length(min = 1, max = 64))]
    alt_id: String,
    #[garde(dive)]
    limits: LimitsBody,
    #[serde(default)]
    #[garde(length(max = 256))]
    variables: BTreeMap<String, String>,
    /// `native` or `docker`; by default `docker` when the template has Docker images and
    /// the node a Docker engine, `native` otherwise.
    #[garde(skip)]
    runtime: Option<RuntimeKind>,
    /// One of the template's Docker images (default: its first).
    #[garde(inner(length(min = 1, max = 512)))]
    image: Option<String>,
    /// How many backups it may keep and their retention (default: 3 backups, kept until
    /// deleted).
    #[garde(dive)]
    backups: Option<super::backups::PolicyBody>,
    /// Administrators: how many databases the server may have (default none).
    #[garde(inner(range(min = 0, max = 1000)))]
    database_limit: Option<i32>,
}

async fn create(
    State(state): State<AppState>,
    actor: Actor,
    ValidJson(body): ValidJson<CreateBody>,
) -> Result<Envelope<ServerView>> {
    let server = service::create(
        &state,
        &actor,
        CreateServer {
            name: body.name.into(),
            description: body.description,
            owner_id: body.owner_id,
            node_id: body.node_id,
            alt_id: body.alt_id,
            limits: body.limits.into(),
            variables: body.variables,
            runtime: RuntimeChoice {
                runtime: body.runtime,
                image: body.image,
            },
            backups: body.backups.map(Into::into),
            database_limit: body.database_limit,
        },
    )
    .await?;
    Ok(Envelope::ok(view_one(&state, &actor, &server.id).await?)
        .with_message("server created; installing"))
}

async fn get(
    State(state): State<AppState>,
    principal: Principal,
    scope: ServerScope,
) -> Result<Envelope<ServerView>> {
    Ok(Envelope::ok(
        view_one(&state, &principal, &scope.server.id).await?,
    ))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateBody {
    #[garde(skip)]
    name: Option<Name>,
    #[garde(inner(length(max = 4000)))]
    description: Option<String>,
    #[garde(dive)]
    limits: Option<LimitsBody>,
    #[garde(dive)]
    crash_policy: Option<CrashPolicyBody>,
    /// `native` or `docker` (from the next start on).
    #[garde(skip)]
    runtime: Option<RuntimeKind>,
    /// One of the template's Docker images (from the next start on).
    #[garde(inner(length(min = 1, max = 512)))]
    image: Option<String>,
    /// How many backups it may keep and their retention (needs `server:create`).
    #[garde(dive)]
    backups: Option<super::backups::PolicyBody>,
    /// Administrators: how many databases the server may have.
    #[garde(inner(range(min = 0, max = 1000)))]
    database_limit: Option<i32>,
}

async fn update(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    ValidJson(body): ValidJson<UpdateBody>,
) -> Result<Envelope<ServerView>> {
    let server = service::update(
        &state,
        &actor,
        scope.server,
        ServerChanges {
            name: body.name.map(Into::into),
            description: body.description,
            limits: body.limits.map(Into::into),
            crash_policy: body.crash_policy.map(Into::into),
            runtime: RuntimeChoice {
                runtime: body.runtime,
                image: body.image,
            },
            backups: body.backups.map(Into::into),
            database_limit: body.database_limit,
        },
    )
    .await?;
    Ok(Envelope::ok(view_one(&state, &actor, &server.id).await?))
}

async fn delete(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
) -> Result<Envelope<()>> {
    let left = service::delete(&state, &actor, &scope.server).await?;
    if left.is_empty() {
        return Ok(Envelope::ok(()).with_message("server deleted"));
    }
    Ok(Envelope::ok(()).with_message(format!(
        "server deleted; these backups could not be removed: {}",
        left.join("; ")
    )))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PowerBody {
    #[garde(skip)]
    action: Action,
}

async fn power(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    ValidJson(body): ValidJson<PowerBody>,
) -> Result<Envelope<AgentResponse>> {
    Ok(
        match service::power(&state, &actor, &scope.server, body.action).await? {
            PowerOutcome::Done(response) => Envelope::ok(response),
            PowerOutcome::InProgress(response) => {
                Envelope::ok(response).with_message("power action in progress")
            }
        },
    )
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandBody {
    #[garde(length(min = 1, max = 4096), custom(single_line))]
    command: String,
}

fn single_line(value: &str, _: &()) -> garde::Result {
    if value.contains(['\n', '\r', '\0']) {
        Err(garde::Error::new("must be a single line"))
    } else {
        Ok(())
    }
}

async fn command(
    State(state): State<AppState>,
    scope: ServerScope,
    ValidJson(body): ValidJson<CommandBody>,
) -> Result<Envelope<()>> {
    service::console_command(&state, &scope.server, &body.command).await?;
    Ok(Envelope::ok(()))
}

async fn reinstall(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
) -> Result<Envelope<()>> {
    service::reinstall(&state, &actor, &scope.server).await?;
    Ok(Envelope::ok(()).with_message("reinstalling"))
}

async fn stats(
    State(state): State<AppState>,
    scope: ServerScope,
) -> Result<Envelope<Option<ServerStats>>> {
    let id = uuid::Uuid::parse_str(&scope.server.id).map_err(Error::internal)?;
    let live = state.hub().live(id).and_then(|l| l.stats);
    Ok(Envelope::ok(live))
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// The startup command: `command`, `display`, `env`, `unresolved`.
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    startup: cap_templates::RenderedStartup,
    /// Config-file edits: `path`, `parser`, `edits`, `unresolved` each.
    #[schemars(with = "Vec<serde_json::Map<String, serde_json::Value>>")]
    config_files: Vec<cap_templates::RenderedConfigFile>,
    /// The template's Docker images the server may run in (`PATCH` with `runtime` and
    /// `image` to change), in the template's order.
    docker_images: Vec<DockerImage>,
}

/// One of a template's Docker images.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DockerImage {
    /// The template's name for it (`Java 21`).
    label: String,
    /// The image reference.
    image: String,
}

async fn preview(State(state): State<AppState>, scope: ServerScope) -> Result<Envelope<Preview>> {
    let preview = service::preview(&state, &scope.server).await?;
    Ok(Envelope::ok(Preview {
        startup: preview.startup,
        config_files: preview.config_files,
        docker_images: preview
            .docker_images
            .into_iter()
            .map(|(label, image)| DockerImage { label, image })
            .collect(),
    }))
}
