//! Allocations: `/api/servers/{id}/allocations` for a server's users (`network:view`,
//! `network:manage`), `/api/servers/{id}/allocation-limit` and
//! `/api/agents/{node_id}/allocations` for admins (`admin:nodes`).

use axum::extract::{Path, State};
use axum::http::Method;
use chrono::{DateTime, Utc};
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::auth::Actor;
use crate::db::entities::allocation;
use crate::error::Result;
use crate::http::access::{Access, ApiRoutes, ServerScope};
use crate::http::envelope::Envelope;
use crate::http::extract::{Page, PageQuery, ValidJson, ValidQuery};
use crate::http::openapi::describe::Note;
use crate::services::allocations::{self as service, MAX_PORTS_PER_REQUEST};
use crate::services::network::BIND_IP;
use crate::state::AppState;

const ADMIN: Access = Access::Permission("admin:nodes");

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    let view = Access::Server("network:view");
    let manage = Access::Server("network:manage");
    api.add(Method::GET, "/servers/{id}/allocations", view, list)
        .add(Method::POST, "/servers/{id}/allocations", manage, add)
        .note(Note::ReachesAgent)
        .add(
            Method::PATCH,
            "/servers/{id}/allocations/{allocation_id}",
            manage,
            set_notes,
        )
        .add(
            Method::DELETE,
            "/servers/{id}/allocations/{allocation_id}",
            manage,
            remove,
        )
        .note(Note::ReachesAgent)
        .add(
            Method::POST,
            "/servers/{id}/allocations/{allocation_id}/primary",
            manage,
            make_primary,
        )
        .note(Note::ReachesAgent)
        .add(
            Method::PUT,
            "/servers/{id}/allocation-limit",
            ADMIN,
            set_limit,
        )
        .note(Note::ReachesAgent)
        .add(
            Method::GET,
            "/agents/{node_id}/allocations",
            ADMIN,
            node_list,
        )
        .add(
            Method::POST,
            "/agents/{node_id}/allocations",
            ADMIN,
            node_add,
        )
        .add(
            Method::POST,
            "/agents/{node_id}/allocations/remove",
            ADMIN,
            node_remove,
        )
}

/// Notes are one line of plain text.
fn plain_line(value: &str, _: &()) -> garde::Result {
    if value.chars().any(char::is_control) {
        Err(garde::Error::new("must be one line of text"))
    } else {
        Ok(())
    }
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllocationView {
    id: String,
    /// Where players connect: the node's address when the game binds every interface.
    ip: String,
    /// The address the game binds on the node.
    bind_ip: String,
    port: i32,
    notes: String,
    primary: bool,
    /// The template needs this port beside the primary one: it cannot be removed.
    required: bool,
    /// The environment variable that carries the port (`SERVER_PORT`, `SERVER_PORT_1`...).
    variable: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerAllocations {
    /// The primary first, then in the order the game sees them.
    items: Vec<AllocationView>,
    /// The limit an administrator set.
    limit: i32,
    /// How many the server may hold: the limit, or what its template needs if more.
    allowed: usize,
}

fn server_allocations(listing: service::Listing) -> ServerAllocations {
    let connect = |ip: &str| match (&listing.node_address, ip) {
        (Some(address), BIND_IP) => address.clone(),
        _ => ip.to_owned(),
    };
    let items = listing
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| AllocationView {
            id: row.id.clone(),
            ip: connect(&row.ip),
            bind_ip: row.ip.clone(),
            port: row.port,
            notes: row.notes.clone(),
            primary: i == 0,
            required: i > 0 && i < listing.needed,
            variable: if i == 0 {
                "SERVER_PORT".to_owned()
            } else {
                format!("SERVER_PORT_{i}")
            },
        })
        .collect();
    ServerAllocations {
        items,
        limit: listing.limit,
        allowed: listing.allowed,
    }
}

async fn listed(state: &AppState, id: &str) -> Result<Envelope<ServerAllocations>> {
    Ok(Envelope::ok(server_allocations(
        service::list_by_id(state, id).await?,
    )))
}

async fn list(
    State(state): State<AppState>,
    scope: ServerScope,
) -> Result<Envelope<ServerAllocations>> {
    listed(&state, &scope.server.id).await
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddBody {
    /// A note for the new allocation.
    #[serde(default)]
    #[garde(length(max = 191), custom(plain_line))]
    notes: String,
}

async fn add(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    ValidJson(body): ValidJson<AddBody>,
) -> Result<Envelope<ServerAllocations>> {
    let added = service::add(&state, &actor, &scope.server, &body.notes).await?;
    Ok(listed(&state, &scope.server.id)
        .await?
        .with_message(format!(
            "port {} added; the game sees it from its next start",
            added.port
        )))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotesBody {
    #[garde(length(max = 191), custom(plain_line))]
    notes: String,
}

async fn set_notes(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    Path((_, allocation_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<NotesBody>,
) -> Result<Envelope<ServerAllocations>> {
    service::set_notes(&state, &actor, &scope.server, &allocation_id, &body.notes).await?;
    listed(&state, &scope.server.id).await
}

async fn remove(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    Path((_, allocation_id)): Path<(String, String)>,
) -> Result<Envelope<ServerAllocations>> {
    service::remove(&state, &actor, &scope.server, &allocation_id).await?;
    Ok(listed(&state, &scope.server.id)
        .await?
        .with_message("allocation removed"))
}

async fn make_primary(
    State(state): State<AppState>,
    actor: Actor,
    scope: ServerScope,
    Path((_, allocation_id)): Path<(String, String)>,
) -> Result<Envelope<ServerAllocations>> {
    service::make_primary(&state, &actor, &scope.server, &allocation_id).await?;
    Ok(listed(&state, &scope.server.id)
        .await?
        .with_message("primary allocation changed; the game uses it from its next start"))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitBody {
    /// How many allocations the server may hold, its primary included.
    #[garde(range(min = 1, max = service::MAX_SERVER_ALLOCATIONS))]
    limit: i32,
}

async fn set_limit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<LimitBody>,
) -> Result<Envelope<ServerAllocations>> {
    service::set_limit(&state, &actor, &id, body.limit).await?;
    listed(&state, &id).await
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerRef {
    id: String,
    name: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeAllocationView {
    id: String,
    ip: String,
    port: i32,
    notes: String,
    /// The server holding it; none when it is free.
    server: Option<ServerRef>,
    created_at: DateTime<Utc>,
}

fn node_view(
    (row, server): (
        allocation::Model,
        Option<crate::db::entities::server::Model>,
    ),
) -> NodeAllocationView {
    NodeAllocationView {
        id: row.id,
        ip: row.ip,
        port: row.port,
        notes: row.notes,
        server: server.map(|s| ServerRef {
            id: s.id,
            name: s.name,
        }),
        created_at: row.created_at,
    }
}

/// `name` narrows the list to addresses containing it.
async fn node_list(
    State(state): State<AppState>,
    Path(node_id): Path<String>,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> Result<Envelope<Page<NodeAllocationView>>> {
    let (rows, total) =
        service::node_page(&state, &node_id, q.name_filter(), q.page(), q.per_page()).await?;
    Ok(Envelope::ok(Page {
        items: rows.into_iter().map(node_view).collect(),
        total,
        page: q.page(),
        per_page: q.per_page(),
    }))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeAddBody {
    /// An address of the node (IPv4 or IPv6), or `0.0.0.0` for every address.
    #[garde(length(min = 1, max = 64))]
    ip: String,
    /// Ports and inclusive ranges, comma-separated: `25565-25570,27015` (at most 1000
    /// ports, each 1024-65535).
    #[garde(length(min = 1, max = 1000))]
    ports: String,
    #[serde(default)]
    #[garde(length(max = 191), custom(plain_line))]
    notes: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeAdded {
    ip: String,
    /// How many ports the request named.
    requested: usize,
    /// How many were new (the others existed already and were kept).
    added: u64,
}

async fn node_add(
    State(state): State<AppState>,
    actor: Actor,
    Path(node_id): Path<String>,
    ValidJson(body): ValidJson<NodeAddBody>,
) -> Result<Envelope<NodeAdded>> {
    let added =
        service::add_to_node(&state, &actor, &node_id, &body.ip, &body.ports, &body.notes).await?;
    let message = format!("{} of {} ports added", added.added, added.requested);
    Ok(Envelope::ok(NodeAdded {
        ip: added.ip,
        requested: added.requested,
        added: added.added,
    })
    .with_message(message))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeRemoveBody {
    /// Ids of free allocations of this node; none is removed if one is in use.
    #[garde(length(min = 1, max = MAX_PORTS_PER_REQUEST), inner(length(min = 1, max = 64)))]
    ids: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct NodeRemoved {
    removed: u64,
}

async fn node_remove(
    State(state): State<AppState>,
    actor: Actor,
    Path(node_id): Path<String>,
    ValidJson(body): ValidJson<NodeRemoveBody>,
) -> Result<Envelope<NodeRemoved>> {
    let removed = service::remove_from_node(&state, &actor, &node_id, &body.ids).await?;
    Ok(Envelope::ok(NodeRemoved { removed }).with_message(format!("{removed} removed")))
}
