//! `/api/agents`: nodes and their agents — registration, the join exchange, discovery.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method};
use chrono::{DateTime, Utc};
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::agents::DiscoveryReport;
use crate::auth::{Actor, Client};
use crate::db::entities::node;
use crate::domain::Name;
use crate::error::Result;
use crate::http::access::{Access, ApiRoutes};
use crate::http::envelope::Envelope;
use crate::http::extract::{Page, PageQuery, ValidJson, ValidQuery};
use crate::services::nodes::{self, NodeChanges, NodeSpec};
use crate::state::AppState;

const ADMIN: Access = Access::Permission("admin:nodes");

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    api.add(Method::GET, "/agents", ADMIN, list)
        .add(Method::POST, "/agents", ADMIN, create)
        .add(Method::POST, "/agents/join", Access::Public, join)
        .add(Method::GET, "/agents/discovery", ADMIN, discovery)
        .add(Method::GET, "/agents/{node_id}", ADMIN, get)
        .add(Method::PATCH, "/agents/{node_id}", ADMIN, update)
        .add(Method::DELETE, "/agents/{node_id}", ADMIN, delete)
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeView {
    id: String,
    name: String,
    description: String,
    address: String,
    port: i32,
    scheme: String,
    cert_fingerprint: Option<String>,
    /// True until the agent has run its join command.
    awaiting_join: bool,
    status: String,
    last_seen_at: Option<DateTime<Utc>>,
    memory_mb: i64,
    disk_mb: i64,
    /// How far servers' limits may exceed memoryMb and diskMb, in percent; -1: no check.
    overallocate_percent: i32,
    port_range_start: i32,
    port_range_end: i32,
    server_count: u64,
    created_at: DateTime<Utc>,
}

async fn view(state: &AppState, node: node::Model) -> Result<NodeView> {
    let server_count = nodes::server_count(state, &node.id).await?;
    let live = state.hub().status(&node.id);
    let status =
        if state.hub().is_registered(&node.id) && live != crate::agents::NodeStatus::Unknown {
            live.as_str().to_owned()
        } else {
            node.status.clone()
        };
    // While the event stream is up, the panel hears from the node every few seconds.
    let last_seen_at = state.hub().last_seen(&node.id).max(node.last_seen_at);
    Ok(NodeView {
        awaiting_join: node.join_token_hash.is_some(),
        id: node.id,
        name: node.name,
        description: node.description,
        address: node.address,
        port: node.port,
        scheme: node.scheme,
        cert_fingerprint: node.cert_fingerprint,
        status,
        last_seen_at,
        memory_mb: node.memory_mb,
        disk_mb: node.disk_mb,
        overallocate_percent: node.overallocate_percent,
        port_range_start: node.port_range_start,
        port_range_end: node.port_range_end,
        server_count,
        created_at: node.created_at,
    })
}

async fn list(
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> Result<Envelope<Page<NodeView>>> {
    let (rows, total) = nodes::list(&state, q.name_filter(), q.page(), q.per_page()).await?;
    let mut items = Vec::with_capacity(rows.len());
    for node in rows {
        items.push(view(&state, node).await?);
    }
    Ok(Envelope::ok(Page {
        items,
        total,
        page: q.page(),
        per_page: q.per_page(),
    }))
}

fn default_port() -> u16 {
    8443
}

fn default_scheme() -> String {
    "https".to_owned()
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateNode {
    #[garde(skip)]
    name: Name,
    #[serde(default)]
    #[garde(length(max = 4000))]
    description: String,
    /// Host name or IP address the panel uses to reach the agent.
    #[garde(length(min = 1, max = 255), pattern(r"^[A-Za-z0-9.\-:\[\]]+$"))]
    address: String,
    #[serde(default = "default_port")]
    #[garde(range(min = 1))]
    port: u16,
    #[serde(default = "default_scheme")]
    #[garde(length(min = 1, max = 8))]
    scheme: String,
    #[garde(range(min = 0, max = 1_073_741_824))]
    memory_mb: i64,
    #[garde(range(min = 0, max = 1_073_741_824))]
    disk_mb: i64,
    /// How far the servers' memory and disk limits may exceed the node's, in percent
    /// (0: exactly the capacity, 50: one and a half times it, -1: no check). Default 0.
    #[serde(default)]
    #[garde(range(min = -1, max = 10_000))]
    overallocate_percent: i32,
    #[garde(range(min = 1))]
    port_range_start: u16,
    #[garde(range(min = 1))]
    port_range_end: u16,
    /// For an agent that already runs: its token (from its token file)...
    #[garde(inner(length(min = 16, max = 256)))]
    token: Option<String>,
    /// ...and the certificate fingerprint it printed at start.
    #[garde(inner(length(min = 64, max = 95)))]
    cert_fingerprint: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedNode {
    node: NodeView,
    /// Run this on the node to connect its agent (shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    join_command: Option<String>,
}

/// The panel's own URL for the join command: the configured public URL, or the host the
/// browser reached, over HTTPS when the panel serves it.
pub(crate) fn panel_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Ok(Some(origin)) = state.config().public_origin() {
        return origin;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    let scheme = if state.config().serves_tls() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

async fn create(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    ValidJson(body): ValidJson<CreateNode>,
) -> Result<Envelope<CreatedNode>> {
    let spec = NodeSpec {
        name: body.name.into(),
        description: body.description,
        address: body.address,
        port: body.port,
        scheme: body.scheme,
        memory_mb: body.memory_mb,
        disk_mb: body.disk_mb,
        overallocate_percent: body.overallocate_percent,
        port_range: (body.port_range_start, body.port_range_end),
        existing: body.token.map(|token| (token, body.cert_fingerprint)),
    };
    let created = nodes::create(&state, Some(&actor), spec).await?;
    let join_command = created
        .join_token
        .map(|token| format!("cap-agent join {} {token}", panel_url(&state, &headers)));
    let message = if join_command.is_some() {
        "node created: run the join command on the node (it is shown only once)"
    } else {
        "node created"
    };
    Ok(Envelope::ok(CreatedNode {
        node: view(&state, created.node).await?,
        join_command,
    })
    .with_message(message))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JoinRequest {
    #[garde(length(min = 16, max = 256))]
    join_token: String,
    #[garde(inner(length(min = 64, max = 95)))]
    fingerprint: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JoinResponse {
    node_id: String,
    node_name: String,
    /// The agent's node token: it stores it and accepts only this.
    token: String,
    port: i32,
}

/// Called by `cap-agent join`, authenticated by the one-time join token.
async fn join(
    State(state): State<AppState>,
    client: Client,
    ValidJson(body): ValidJson<JoinRequest>,
) -> Result<Envelope<JoinResponse>> {
    let joined = nodes::join(
        &state,
        &client,
        &body.join_token,
        body.fingerprint.as_deref(),
    )
    .await?;
    Ok(Envelope::ok(JoinResponse {
        node_id: joined.node.id,
        node_name: joined.node.name,
        token: joined.token,
        port: joined.node.port,
    }))
}

async fn discovery(State(state): State<AppState>) -> Envelope<DiscoveryReport> {
    Envelope::ok(state.hub().discovery_report())
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeDetail {
    #[serde(flatten)]
    node: NodeView,
    /// What the agent reports about its machine, when it is reachable.
    system: Option<cap_protocol::system::SystemInfo>,
}

async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Envelope<NodeDetail>> {
    let node = nodes::find(&state, &id).await?;
    let system = match state.hub().online_client(&node.id) {
        Ok(client) => client.system().await.ok(),
        Err(_) => None,
    };
    Ok(Envelope::ok(NodeDetail {
        node: view(&state, node).await?,
        system,
    }))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateNode {
    #[garde(skip)]
    name: Option<Name>,
    #[garde(inner(length(max = 4000)))]
    description: Option<String>,
    #[garde(inner(length(min = 1, max = 255), pattern(r"^[A-Za-z0-9.\-:\[\]]+$")))]
    address: Option<String>,
    #[garde(inner(range(min = 1)))]
    port: Option<u16>,
    #[garde(inner(length(min = 1, max = 8)))]
    scheme: Option<String>,
    #[garde(inner(range(min = 0, max = 1_073_741_824)))]
    memory_mb: Option<i64>,
    #[garde(inner(range(min = 0, max = 1_073_741_824)))]
    disk_mb: Option<i64>,
    /// See the creation body; applies to servers created or resized from now on.
    #[garde(inner(range(min = -1, max = 10_000)))]
    overallocate_percent: Option<i32>,
    #[garde(inner(range(min = 1)))]
    port_range_start: Option<u16>,
    #[garde(inner(range(min = 1)))]
    port_range_end: Option<u16>,
    #[garde(inner(length(min = 64, max = 95)))]
    cert_fingerprint: Option<String>,
    #[garde(inner(length(min = 16, max = 256)))]
    token: Option<String>,
}

async fn update(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<UpdateNode>,
) -> Result<Envelope<NodeView>> {
    let changes = NodeChanges {
        name: body.name.map(Into::into),
        description: body.description,
        address: body.address,
        port: body.port,
        scheme: body.scheme,
        memory_mb: body.memory_mb,
        disk_mb: body.disk_mb,
        overallocate_percent: body.overallocate_percent,
        port_range_start: body.port_range_start,
        port_range_end: body.port_range_end,
        cert_fingerprint: body.cert_fingerprint,
        token: body.token,
    };
    let node = nodes::update(&state, Some(&actor), &id, changes).await?;
    Ok(Envelope::ok(view(&state, node).await?))
}

async fn delete(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Envelope<()>> {
    nodes::delete(&state, &actor, &id).await?;
    Ok(Envelope::ok(()).with_message("node deleted"))
}
