//! Servers: the list, one server, its resources, power signals and console commands.

use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::Json;
use cap_protocol::command::Action;
use garde::Validate;
use serde::Deserialize;
use serde_json::{json, Value};

use super::permissions::names_for;
use super::shapes::{item, Page};
use super::{no_content, ClientError, ClientResult, Compat};
use crate::auth::{Actor, Principal};
use crate::domain::ShortId;
use crate::domain::Visibility;
use crate::error::Error;
use crate::http::extract::{ValidJson, ValidQuery};
use crate::http::routes::server_views::{views, ServerView};
use crate::services::server_access::{self, ServerScope};
use crate::services::servers::listing::{self, PageRequest};
use crate::services::servers::{self as service};
use crate::state::AppState;

/// The server in the path and what the caller may do on it (404 for strangers), after
/// checking that they hold `key` there.
pub async fn scope(
    state: &AppState,
    principal: &Principal,
    server: &str,
    key: &str,
) -> ClientResult<ServerScope> {
    let id = listing::by_identifier(state, server).await?;
    let scope = server_access::resolve(state, principal, &id).await?;
    if !scope.permissions.contains(key) {
        return Err(Error::Forbidden("This action is unauthorized.".into()).into());
    }
    Ok(scope)
}

/// What Pterodactyl calls a server's power state.
pub(super) fn power_state(state: &str) -> &'static str {
    match state {
        "running" => "running",
        "starting" | "installing" => "starting",
        "stopping" => "stopping",
        _ => "offline",
    }
}

fn attributes(principal: &Principal, view: &ServerView) -> Value {
    let keys: Vec<String> = serde_json::from_str(view.permissions.get()).unwrap_or_default();
    let owner = view.owner_id == principal.id();
    let allocation = view.allocation.as_ref().map(|a| {
        item(
            "allocation",
            json!({
                "id": a.id,
                "ip": a.bind_ip,
                "ip_alias": (a.ip != a.bind_ip).then_some(&a.ip),
                "port": a.port,
                "notes": Some(&a.notes).filter(|n| !n.is_empty()),
                "is_default": true,
            }),
        )
    });
    json!({
        "server_owner": owner,
        "identifier": ShortId::of(&view.id).to_string(),
        "uuid": view.id,
        "name": view.name,
        "node": view.node.as_ref().map(|n| n.name.clone()).unwrap_or_default(),
        "is_node_under_maintenance": false,
        "description": view.description,
        "limits": {
            "memory": view.limits.memory_mb,
            "swap": 0,
            "disk": view.limits.disk_mb,
            "io": 500,
            "cpu": view.limits.cpu_percent,
            "threads": null,
            "oom_disabled": false,
        },
        "docker_image": view.image,
        "status": match view.state.as_str() {
            "installing" => Some("installing"),
            "install_failed" => Some("install_failed"),
            _ => None,
        },
        "is_suspended": view.suspended,
        "is_installing": view.state == "installing",
        "is_transferring": false,
        "relationships": {
            "allocations": { "object": "list", "data": allocation.into_iter().collect::<Vec<_>>() },
        },
        "meta": { "is_server_owner": owner, "user_permissions": names_for(&keys, owner || principal.is_admin()) },
    })
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    page: Option<u64>,
    per_page: Option<u64>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(rename = "filter[name]")]
    name: Option<String>,
}

/// `GET /api/client`: the servers the key's user has, Pterodactyl's way: by default those
/// they own or were invited to; `type=owner` only their own; for administrators
/// `type=admin` the others' and `type=admin-all` every server.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    OriginalUri(uri): OriginalUri,
    Compat(ValidQuery(query)): Compat<ValidQuery<ListQuery>>,
) -> ClientResult<Json<Value>> {
    let me = principal.id();
    let visibility = match (query.kind.as_deref(), principal.is_admin()) {
        (None | Some(""), _) => Visibility::UserCanSee(me),
        (Some("owner"), _) => Visibility::OwnedBy(me),
        (Some("admin"), true) => Visibility::NotOwnedBy(me),
        (Some("admin-all"), true) => Visibility::All,
        (Some("admin" | "admin-all"), false) => Visibility::UserCanSee(me),
        (Some(_), _) => {
            return Err(Error::validation("type", "must be owner, admin or admin-all").into())
        }
    };
    let per_page = query.per_page.unwrap_or(50);
    if !(1..=100).contains(&per_page) {
        return Err(Error::validation("per_page", "must be between 1 and 100").into());
    }
    let page = query.page.unwrap_or(1).max(1);
    let request = PageRequest {
        name: query.name.as_deref().filter(|n| !n.is_empty()),
        page,
        per_page,
    };
    let found = listing::page_of(&state, visibility, &request).await?;
    let rendered = views(&state, &principal, &found.rows, &found.allocations).await?;
    let data = rendered
        .iter()
        .map(|v| item("server", attributes(&principal, v)))
        .collect();
    let page = Page {
        path: uri.path(),
        page,
        per_page,
        total: found.total,
    };
    Ok(page.render(data))
}

/// The server in the path as the panel's own views show it (to those who may see it).
async fn view_of(
    state: &AppState,
    principal: &Principal,
    server: &str,
) -> ClientResult<ServerView> {
    let scope = scope(state, principal, server, "server:view").await?;
    let (row, allocations) = listing::one(state, &scope.server.id).await?;
    let mut rendered = views(state, principal, std::slice::from_ref(&row), &allocations).await?;
    rendered
        .pop()
        .ok_or_else(|| ClientError(Error::not_found("server")))
}

/// `GET /api/client/servers/{server}`.
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(server): Path<String>,
) -> ClientResult<Json<Value>> {
    let view = view_of(&state, &principal, &server).await?;
    Ok(Json(item("server", attributes(&principal, &view))))
}

/// `GET /api/client/servers/{server}/resources`.
pub async fn resources(
    State(state): State<AppState>,
    principal: Principal,
    Path(server): Path<String>,
) -> ClientResult<Json<Value>> {
    let view = view_of(&state, &principal, &server).await?;
    let stats = view.stats.as_ref();
    Ok(Json(item(
        "stats",
        json!({
            "current_state": power_state(&view.state),
            "is_suspended": view.suspended,
            "resources": {
                "memory_bytes": stats.map_or(0, |s| s.memory_bytes),
                "cpu_absolute": stats.map_or(0.0, |s| s.cpu_percent),
                "disk_bytes": stats.map_or(0, |s| s.disk_bytes),
                "network_rx_bytes": stats.and_then(|s| s.network_rx_bytes).unwrap_or(0),
                "network_tx_bytes": stats.and_then(|s| s.network_tx_bytes).unwrap_or(0),
                "uptime": stats.map_or(0, |s| s.uptime_seconds * 1000),
            },
        }),
    )))
}

#[derive(Debug, Deserialize, Validate)]
pub struct PowerBody {
    #[garde(skip)]
    signal: String,
}

/// `POST /api/client/servers/{server}/power` with `{"signal": "start"|"stop"|"restart"|"kill"}`.
pub async fn power(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path(server): Path<String>,
    Compat(ValidJson(body)): Compat<ValidJson<PowerBody>>,
) -> ClientResult<StatusCode> {
    let action = match body.signal.as_str() {
        "start" => Action::Start,
        "stop" => Action::Stop,
        "restart" => Action::Restart,
        "kill" => Action::Kill,
        _ => {
            return Err(
                Error::validation("signal", "must be one of start, stop, restart or kill").into(),
            )
        }
    };
    let scope = scope(&state, &actor, &server, "server:power").await?;
    service::power(&state, &actor, &scope.server, action).await?;
    Ok(no_content())
}

#[derive(Debug, Deserialize, Validate)]
pub struct CommandBody {
    #[garde(length(min = 1, max = 4096))]
    command: String,
}

/// `POST /api/client/servers/{server}/command` with `{"command": "..."}`.
pub async fn command(
    State(state): State<AppState>,
    principal: Principal,
    Path(server): Path<String>,
    Compat(ValidJson(body)): Compat<ValidJson<CommandBody>>,
) -> ClientResult<StatusCode> {
    if body.command.contains(['\n', '\r', '\0']) {
        return Err(Error::validation("command", "must be a single line").into());
    }
    let scope = scope(&state, &principal, &server, "console:command").await?;
    service::console_command(&state, &scope.server, &body.command).await?;
    Ok(no_content())
}
