//! Managing allocations: a server's users list theirs, add one (a free port on the
//! primary's address, within the limit an admin set), remove one, choose the primary and
//! write notes; admins add and remove a node's allocations in bulk and set a server's
//! limit. What the game sees is told to the agent first; the database follows when it
//! agreed (and the agent gets the old network back if the database then fails).

use sea_orm::{DatabaseTransaction, TransactionTrait};
use serde_json::json;

use super::audit;
use super::network::{self, Network};
use super::{servers, templates};
use crate::auth::Actor;
use crate::db::entities::{allocation, node, server};
use crate::error::{Error, Result};
use crate::repo;
use crate::state::AppState;

mod of_node;
mod of_server;

pub use of_node::{add_to_node, node_page, parse_ip, parse_ports, remove_from_node, AddedToNode};
pub use of_server::{add, make_primary, remove, set_limit, set_notes};

/// Ports below this need privileges games do not have.
pub const MIN_PORT: u16 = 1024;
/// Most ports one bulk request may add.
pub const MAX_PORTS_PER_REQUEST: usize = 1000;
/// Most allocations a node may have.
pub const MAX_NODE_ALLOCATIONS: u64 = 20_000;
/// Most allocations a server may be allowed (what an agent definition can carry).
pub const MAX_SERVER_ALLOCATIONS: i32 = 64;

/// Records `action` on one allocation of a server.
async fn on_allocation(
    db: &impl sea_orm::ConnectionTrait,
    actor: &Actor,
    action: &str,
    server_id: &str,
    (ip, port): (&str, i32),
) -> Result<()> {
    let details = json!({ "ip": ip, "port": port });
    audit::record_by(db, actor, action, "server", server_id, details).await
}

/// A server's allocations as its users see them.
pub struct Listing {
    /// In the order the game sees them: the primary first.
    pub rows: Vec<allocation::Model>,
    /// How many leading rows are the primary and the ports its template needs beside it.
    pub needed: usize,
    /// The limit an admin set.
    pub limit: i32,
    /// How many the server may hold (the limit, or what its template needs if more).
    pub allowed: usize,
    /// The node's address, where players connect to allocations on the bind-all address.
    pub node_address: Option<String>,
}

/// The template's extra port offsets, the server's allocations in the order the game
/// sees them, and how many leading ones the template needs.
async fn ordered_rows(
    state: &AppState,
    server: &server::Model,
) -> Result<(Vec<u16>, Vec<allocation::Model>, usize)> {
    let offsets = templates::load(state.db(), &server.alt_id)
        .await?
        .alt
        .extra_port_offsets;
    let rows = repo::allocations::for_server(state.db(), &server.id).await?;
    let (rows, needed) = network::ordered(rows, &offsets);
    Ok((offsets, rows, needed))
}

/// What a change starts from: the server's node, template offsets and ordered rows.
struct Current {
    node: node::Model,
    offsets: Vec<u16>,
    rows: Vec<allocation::Model>,
    needed: usize,
    allowed: usize,
}

fn node_of(server: &server::Model) -> Result<&str> {
    server
        .node_id
        .as_deref()
        .ok_or_else(|| Error::Conflict("this server has no node; its node was deleted".into()))
}

/// Changes of allocations on one node happen one at a time.
async fn lock(
    state: &AppState,
    server: &server::Model,
) -> Result<tokio::sync::OwnedMutexGuard<()>> {
    Ok(state.hub().allocation_lock(node_of(server)?).await)
}

impl Current {
    async fn load(state: &AppState, server: &server::Model) -> Result<Current> {
        let node_id = node_of(server)?;
        let node = repo::nodes::find(state.db(), node_id)
            .await?
            .ok_or_else(|| Error::not_found("node"))?;
        let (offsets, rows, needed) = ordered_rows(state, server).await?;
        Ok(Current {
            allowed: network::allowed(server, &offsets),
            node,
            offsets,
            rows,
            needed,
        })
    }

    fn position(&self, allocation_id: &str) -> Result<usize> {
        self.rows
            .iter()
            .position(|r| r.id == allocation_id)
            .ok_or_else(|| Error::not_found("allocation"))
    }

    fn network(&self) -> Result<Network> {
        network::of_rows(&self.rows, self.allowed)
    }
}

/// Tells the agent the server's `proposed` network, then records the change with
/// `write` in one transaction; if that fails, the agent gets `previous` back.
async fn change(
    state: &AppState,
    server: &server::Model,
    previous: Network,
    proposed: Network,
    write: impl AsyncFnOnce(&DatabaseTransaction) -> Result<()>,
) -> Result<()> {
    servers::sync_network(state, server, proposed).await?;
    let written = async {
        let txn = state.db().begin().await?;
        write(&txn).await?;
        txn.commit().await?;
        Ok(())
    }
    .await;
    let Err(cause) = written else {
        return Ok(());
    };
    if let Err(e) = servers::sync_network(state, server, previous).await {
        tracing::warn!(server = %server.id, error = %e, "could not restore the agent's ports");
    }
    Err(cause)
}

/// The allocations of the server `id`.
pub async fn list_by_id(state: &AppState, id: &str) -> Result<Listing> {
    let server = repo::servers::find(state.db(), id)
        .await?
        .ok_or_else(|| Error::not_found("server"))?;
    list(state, &server).await
}

pub async fn list(state: &AppState, server: &server::Model) -> Result<Listing> {
    let (offsets, rows, needed) = ordered_rows(state, server).await?;
    let node_address = match server.node_id.as_deref() {
        Some(id) => repo::nodes::find(state.db(), id).await?.map(|n| n.address),
        None => None,
    };
    Ok(Listing {
        rows,
        needed,
        limit: server.allocation_limit,
        allowed: network::allowed(server, &offsets),
        node_address,
    })
}
