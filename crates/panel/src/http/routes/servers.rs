//! `/api/servers`: game servers and their sub-resources (power, console input, variables,
//! stats, subusers; files and the console WebSocket live in their own modules).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::Method;
use cap_protocol::command::{Action, AgentResponse};
use cap_protocol::server::{CrashPolicy, ServerState, ServerStats};
use chrono::{DateTime, Utc};
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::auth::{Actor, Principal};
use crate::db::entities::allocation;
use crate::db::entities::server;
use crate::domain::Name;
use crate::error::{Error, Result};
use crate::http::access::{Access, ApiRoutes, ServerScope};
use crate::http::envelope::{Envelope, Prerendered};
use crate::http::extract::{Page, PageQuery, ValidJson, ValidQuery};
use crate::http::openapi::describe::Note;
use crate::repo::list_cache::{self, CachedPage};
use crate::repo::{self, servers::ServerListRow, servers::Visibility};
use crate::services::servers::{
    self as service, CreateServer, LimitsSpec, PowerOutcome, ServerChanges,
};
use crate::services::subusers as subuser_service;
use crate::services::templates;
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
        )
        .add(
            Method::GET,
            "/servers/{id}/variables",
            Access::Server("server:view"),
            variables,
        )
        .add(
            Method::PUT,
            "/servers/{id}/variables",
            Access::Server("server:update"),
            set_variables,
        )
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
        )
        .add(
            Method::GET,
            "/servers/{id}/subusers",
            Access::Server("server:view"),
            subusers,
        )
        .add(
            Method::POST,
            "/servers/{id}/subusers",
            Access::Server("server:update"),
            add_subuser,
        )
        .add(
            Method::PATCH,
            "/servers/{id}/subusers/{subuser_id}",
            Access::Server("server:update"),
            update_subuser,
        )
        .add(
            Method::DELETE,
            "/servers/{id}/subusers/{subuser_id}",
            Access::Server("server:update"),
            remove_subuser,
        );
    let api = super::console::routes(api);
    super::files::routes(api)
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Named {
    id: String,
    name: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct NodeRef {
    id: String,
    name: String,
    status: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OwnerRef {
    id: String,
    username: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitsView {
    memory_mb: i64,
    cpu_percent: i32,
    disk_mb: i64,
}

/// What the node does when the server crashes: restart it after `backoffMs`, doubling
/// with every further crash inside `windowSeconds` up to `maxBackoffMs`, and give up
/// (leaving it crashed) after `maxRestarts` restarts inside the window.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CrashPolicyBody {
    /// Restart automatically after a crash.
    #[garde(skip)]
    auto_restart: bool,
    /// Restarts allowed inside the window (0-100).
    #[garde(range(min = 0, max = 100))]
    max_restarts: u32,
    /// The window, seconds (10-86400).
    #[garde(range(min = 10, max = 86_400))]
    window_seconds: u64,
    /// First back-off, milliseconds (100-600000).
    #[garde(range(min = 100, max = 600_000))]
    backoff_ms: u64,
    /// Back-off ceiling, milliseconds (at least `backoffMs`, at most 3600000).
    #[garde(range(min = 100, max = 3_600_000))]
    max_backoff_ms: u64,
}

impl From<CrashPolicyBody> for CrashPolicy {
    fn from(p: CrashPolicyBody) -> Self {
        CrashPolicy {
            auto_restart: p.auto_restart,
            max_restarts: p.max_restarts,
            window_seconds: p.window_seconds,
            backoff_ms: p.backoff_ms,
            max_backoff_ms: p.max_backoff_ms,
        }
    }
}

impl From<CrashPolicy> for CrashPolicyBody {
    fn from(p: CrashPolicy) -> Self {
        CrashPolicyBody {
            auto_restart: p.auto_restart,
            max_restarts: p.max_restarts,
            window_seconds: p.window_seconds,
            backoff_ms: p.backoff_ms,
            max_backoff_ms: p.max_backoff_ms,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllocationView {
    /// Where players connect: the node's address when the game binds every interface.
    ip: String,
    port: i32,
    /// The address the game binds on the node.
    bind_ip: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerView {
    id: String,
    name: String,
    description: String,
    owner_id: String,
    owner: OwnerRef,
    node_id: Option<String>,
    node: Option<NodeRef>,
    alt_id: String,
    alt: Named,
    state: String,
    /// Why the server crashed or its installation failed, as its node reported it.
    state_message: Option<String>,
    /// The exit code behind a crash or failed installation.
    exit_code: Option<i32>,
    limits: LimitsView,
    crash_policy: CrashPolicyBody,
    allocation: Option<AllocationView>,
    stats: Option<ServerStats>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// What the caller may do on this server (permission keys).
    #[schemars(with = "Vec<String>")]
    permissions: Box<RawValue>,
}

/// A list of permission keys as ready-made JSON.
fn keys_json<'a>(keys: impl Iterator<Item = &'a String>) -> Result<Box<RawValue>> {
    serde_json::value::to_raw_value(&keys.collect::<Vec<_>>()).map_err(Error::internal)
}

/// Builds views for rows, with allocations, live state and the caller's permissions.
async fn views(
    state: &AppState,
    principal: &Principal,
    rows: &[ServerListRow],
    allocations: &[allocation::Model],
) -> Result<Vec<ServerView>> {
    // The caller's own keys, serialised once and shared by every server they own or
    // administer (a page of 50 servers would otherwise repeat 36 keys 50 times).
    let own_keys = keys_json(principal.permissions.iter())?;
    let shared = if principal.is_admin() {
        Vec::new()
    } else {
        repo::subusers::for_user(state.db(), principal.id()).await?
    };
    let hub = state.hub();
    rows.iter()
        .map(|row| {
            let live = uuid::Uuid::parse_str(&row.id)
                .ok()
                .and_then(|id| hub.live(id));
            let failure = live
                .as_ref()
                .filter(|l| matches!(l.state, ServerState::Crashed | ServerState::InstallFailed));
            let permissions = if principal.is_admin() || row.owner_id == principal.id() {
                own_keys.clone()
            } else {
                let mut keys = shared
                    .iter()
                    .find(|s| s.server_id == row.id)
                    .map(repo::subusers::permissions)
                    .unwrap_or_default();
                keys.insert("server:view".to_owned());
                keys_json(keys.iter())?
            };
            let node = row.node_id.clone().map(|id| {
                let live_status = hub.status(&id);
                NodeRef {
                    status: if live_status == crate::agents::NodeStatus::Unknown {
                        row.node_status.clone().unwrap_or_default()
                    } else {
                        live_status.as_str().to_owned()
                    },
                    name: row.node_name.clone().unwrap_or_default(),
                    id,
                }
            });
            Ok(ServerView {
                allocation: allocations
                    .iter()
                    .find(|a| a.server_id.as_deref() == Some(row.id.as_str()))
                    .map(|a| AllocationView {
                        ip: match (&row.node_address, a.ip.as_str()) {
                            (Some(address), service::BIND_IP) => address.clone(),
                            _ => a.ip.clone(),
                        },
                        port: a.port,
                        bind_ip: a.ip.clone(),
                    }),
                state: live
                    .as_ref()
                    .map(|l| crate::agents::state_name(l.state).to_owned())
                    .unwrap_or_else(|| row.state.clone()),
                state_message: failure.as_ref().and_then(|l| l.message.clone()),
                exit_code: failure.as_ref().and_then(|l| l.exit_code),
                stats: live.and_then(|l| l.stats),
                owner: OwnerRef {
                    id: row.owner_id.clone(),
                    username: row.owner_username.clone(),
                },
                owner_id: row.owner_id.clone(),
                node_id: row.node_id.clone(),
                node,
                alt: Named {
                    id: row.alt_id.clone(),
                    name: row.alt_name.clone(),
                },
                alt_id: row.alt_id.clone(),
                limits: LimitsView {
                    memory_mb: row.memory_mb,
                    cpu_percent: row.cpu_percent,
                    disk_mb: row.disk_mb,
                },
                crash_policy: row.crash_policy().into(),
                id: row.id.clone(),
                name: row.name.clone(),
                description: row.description.clone(),
                created_at: row.created_at,
                updated_at: row.updated_at,
                permissions,
            })
        })
        .collect()
}

async fn view_one(state: &AppState, principal: &Principal, id: &str) -> Result<ServerView> {
    let row = repo::servers::list_row(state.db(), id)
        .await?
        .ok_or_else(|| Error::not_found("server"))?;
    let allocations =
        repo::allocations::primary_for(state.db(), std::slice::from_ref(&row.id)).await?;
    views(state, principal, std::slice::from_ref(&row), &allocations)
        .await?
        .pop()
        .ok_or_else(|| Error::not_found("server"))
}

/// A page of the list, from the cache when nothing changed since it was read.
async fn page_of(
    state: &AppState,
    principal: &Principal,
    q: &PageQuery,
) -> Result<Arc<CachedPage>> {
    let visibility = if principal.is_admin() {
        Visibility::All
    } else {
        Visibility::UserCanSee(principal.id())
    };
    let key = format!(
        "{}|{}|{}|{}",
        if principal.is_admin() {
            "*"
        } else {
            principal.id()
        },
        q.name_filter().unwrap_or_default(),
        q.page(),
        q.per_page()
    );
    if let Some(page) = state.server_pages().get(&key) {
        return Ok(page);
    }
    let epoch = list_cache::epoch();
    let (rows, total) = repo::servers::list(
        state.db(),
        visibility,
        q.name_filter(),
        q.page(),
        q.per_page(),
    )
    .await?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let allocations = repo::allocations::primary_for(state.db(), &ids).await?;
    let page = Arc::new(CachedPage::new(rows, total, allocations));
    state.server_pages().put(key, page.clone(), epoch);
    Ok(page)
}

/// The dashboard's query. The rendered page is reused while nothing it shows changed
/// (rows, live states and stats, node status, the caller's permissions).
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> Result<Envelope<Prerendered<Page<ServerView>>>> {
    let page = page_of(&state, &principal, &q).await?;
    let live_epoch = state.hub().live_epoch();
    if let Some(body) = page.rendered(principal.id(), live_epoch) {
        return Ok(Envelope::ok(Prerendered::from_raw(body)));
    }
    let auth_epoch = crate::auth::cache::epoch();
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
    service::delete(&state, &actor, &scope.server).await?;
    Ok(Envelope::ok(()).with_message("server deleted"))
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

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VariableValue {
    env_variable: String,
    name: String,
    description: String,
    value: String,
    default_value: String,
    rules: String,
    user_viewable: bool,
    user_editable: bool,
}

async fn variable_values(
    state: &AppState,
    principal: &Principal,
    server: &server::Model,
) -> Result<Vec<VariableValue>> {
    let template = templates::load(state.db(), &server.alt_id).await?;
    let values = service::stored_values(state, server, &template).await?;
    Ok(template
        .alt
        .variables
        .iter()
        .filter(|v| principal.is_admin() || v.user_viewable)
        .map(|v| VariableValue {
            value: values
                .get(&v.env_variable)
                .cloned()
                .unwrap_or_else(|| v.default_value.clone()),
            env_variable: v.env_variable.clone(),
            name: v.name.clone(),
            description: v.description.clone(),
            default_value: v.default_value.clone(),
            rules: v.rules.to_pipe_string(),
            user_viewable: v.user_viewable,
            user_editable: v.user_editable,
        })
        .collect())
}

async fn variables(
    State(state): State<AppState>,
    principal: Principal,
    scope: ServerScope,
) -> Result<Envelope<Vec<VariableValue>>> {
    Ok(Envelope::ok(
        variable_values(&state, &principal, &scope.server).await?,
    ))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariablesBody {
    #[garde(length(max = 256))]
    variables: BTreeMap<String, String>,
}

async fn set_variables(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    ValidJson(body): ValidJson<VariablesBody>,
) -> Result<Envelope<Vec<VariableValue>>> {
    service::set_variables(&state, &actor, &scope.server, &body.variables).await?;
    Ok(Envelope::ok(
        variable_values(&state, &actor, &scope.server).await?,
    ))
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
}

async fn preview(State(state): State<AppState>, scope: ServerScope) -> Result<Envelope<Preview>> {
    let (startup, config_files) = service::preview(&state, &scope.server).await?;
    Ok(Envelope::ok(Preview {
        startup,
        config_files,
    }))
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubuserView {
    id: String,
    user_id: String,
    username: String,
    email: String,
    permissions: Vec<String>,
    created_at: DateTime<Utc>,
}

async fn subusers(
    State(state): State<AppState>,
    scope: ServerScope,
) -> Result<Envelope<Vec<SubuserView>>> {
    let rows = subuser_service::list(&state, &scope.server.id).await?;
    Ok(Envelope::ok(
        rows.into_iter()
            .map(|(s, user)| SubuserView {
                permissions: repo::subusers::permissions(&s).into_iter().collect(),
                username: user
                    .as_ref()
                    .map(|u| u.username.clone())
                    .unwrap_or_default(),
                email: user.map(|u| u.email).unwrap_or_default(),
                id: s.id,
                user_id: s.user_id,
                created_at: s.created_at,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSubuser {
    #[garde(length(min = 1, max = 191))]
    username: String,
    /// Server-scoped keys the caller holds on this server.
    #[garde(length(max = 18))]
    permissions: Vec<String>,
}

async fn add_subuser(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    ValidJson(body): ValidJson<AddSubuser>,
) -> Result<Envelope<Vec<SubuserView>>> {
    subuser_service::add(&state, &actor, &scope, &body.username, body.permissions).await?;
    subusers(State(state), scope).await
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSubuser {
    /// Server-scoped keys; keys beyond the caller's own may only be kept, not added.
    #[garde(length(max = 18))]
    permissions: Vec<String>,
}

async fn update_subuser(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    Path((_, subuser_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<UpdateSubuser>,
) -> Result<Envelope<Vec<SubuserView>>> {
    subuser_service::update(&state, &actor, &scope, &subuser_id, body.permissions).await?;
    subusers(State(state), scope).await
}

async fn remove_subuser(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    Path((_, subuser_id)): Path<(String, String)>,
) -> Result<Envelope<()>> {
    subuser_service::remove(&state, &actor, &scope, &subuser_id).await?;
    Ok(Envelope::ok(()).with_message("subuser removed"))
}
