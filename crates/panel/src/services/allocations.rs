//! Managing allocations: a server's users list theirs, add one (a free port on the
//! primary's address, within the limit an admin set), remove one, choose the primary and
//! write notes; admins add and remove a node's allocations in bulk and set a server's
//! limit. What the game sees is told to the agent first; the database follows when it
//! agreed (and the agent gets the old network back if the database then fails).

use std::collections::BTreeSet;
use std::net::IpAddr;

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
        let offsets = templates::load(state.db(), &server.alt_id)
            .await?
            .alt
            .extra_port_offsets;
        let (rows, needed) = network::ordered(
            repo::allocations::for_server(state.db(), &server.id).await?,
            &offsets,
        );
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

/// A page of a node's allocations (addresses containing `ip`, when given), each with the
/// server holding it.
pub async fn node_page(
    state: &AppState,
    node_id: &str,
    ip: Option<&str>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<(allocation::Model, Option<server::Model>)>, u64)> {
    let node = super::nodes::find(state, node_id).await?;
    repo::allocations::page_for_node(state.db(), &node.id, ip, page, per_page).await
}

/// The allocations of the server `id`.
pub async fn list_by_id(state: &AppState, id: &str) -> Result<Listing> {
    let server = repo::servers::find(state.db(), id)
        .await?
        .ok_or_else(|| Error::not_found("server"))?;
    list(state, &server).await
}

pub async fn list(state: &AppState, server: &server::Model) -> Result<Listing> {
    let offsets = templates::load(state.db(), &server.alt_id)
        .await?
        .alt
        .extra_port_offsets;
    let (rows, needed) = network::ordered(
        repo::allocations::for_server(state.db(), &server.id).await?,
        &offsets,
    );
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

/// Adds a free port on the primary allocation's address.
pub async fn add(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    notes: &str,
) -> Result<allocation::Model> {
    let _allocating = lock(state, server).await?;
    let current = Current::load(state, server).await?;
    if current.rows.len() >= current.allowed {
        return Err(Error::Conflict(format!(
            "this server already holds {} of the {} allocations it may have; an administrator can raise the limit",
            current.rows.len(),
            current.allowed
        )));
    }
    let previous = current.network()?;
    let client = state.hub().online_client(&current.node.id)?;
    let picked = network::pick(
        state,
        &current.node,
        &client,
        Some(&previous.primary.ip),
        &[],
    )
    .await?;
    let mut proposed = previous.clone();
    proposed.additional.extend(picked.iter().cloned());
    change(state, server, previous, proposed, async |txn| {
        if !network::claim(txn, &current.node.id, &server.id, &picked, false, notes).await? {
            return Err(Error::Conflict(
                "that port was taken meanwhile; try again".into(),
            ));
        }
        let added = picked
            .first()
            .ok_or_else(|| Error::internal("no port picked"))?;
        let address = (added.ip.as_str(), i32::from(added.port));
        on_allocation(txn, actor, "allocation.added", &server.id, address).await
    })
    .await?;
    let rows = repo::allocations::for_server(state.db(), &server.id).await?;
    rows.into_iter()
        .find(|r| {
            picked
                .iter()
                .any(|b| b.ip == r.ip && i32::from(b.port) == r.port)
        })
        .ok_or_else(|| Error::internal("the added allocation vanished"))
}

/// Removes an allocation that is neither the primary nor one its template needs.
pub async fn remove(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    allocation_id: &str,
) -> Result<()> {
    let _allocating = lock(state, server).await?;
    let current = Current::load(state, server).await?;
    let index = current.position(allocation_id)?;
    let row = &current.rows[index];
    if index == 0 {
        return Err(Error::Conflict(
            "the primary allocation cannot be removed; make another one primary first".into(),
        ));
    }
    if index < current.needed {
        return Err(Error::Conflict(format!(
            "the template needs port {} beside the primary port, so it cannot be removed",
            row.port
        )));
    }
    let mut rows = current.rows.clone();
    rows.remove(index);
    let proposed = network::of_rows(&rows, current.allowed)?;
    change(state, server, current.network()?, proposed, async |txn| {
        repo::allocations::release_one(txn, allocation_id).await?;
        on_allocation(
            txn,
            actor,
            "allocation.removed",
            &server.id,
            (&row.ip, row.port),
        )
        .await
    })
    .await
}

/// Makes an allocation the primary one; the ports the template needs beside the primary
/// must be held too.
pub async fn make_primary(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    allocation_id: &str,
) -> Result<()> {
    let _allocating = lock(state, server).await?;
    let current = Current::load(state, server).await?;
    let index = current.position(allocation_id)?;
    if index == 0 {
        return Ok(());
    }
    let target = current.rows[index].clone();
    for offset in &current.offsets {
        let port = target.port + i32::from(*offset);
        if !current
            .rows
            .iter()
            .any(|r| r.ip == target.ip && r.port == port)
        {
            return Err(Error::Conflict(format!(
                "the template needs port {port} beside the primary port, and this server does not hold it"
            )));
        }
    }
    let switched = current
        .rows
        .iter()
        .cloned()
        .map(|mut r| {
            r.is_primary = r.id == target.id;
            r
        })
        .collect();
    let (rows, _) = network::ordered(switched, &current.offsets);
    let proposed = network::of_rows(&rows, current.allowed)?;
    change(state, server, current.network()?, proposed, async |txn| {
        repo::allocations::set_primary(txn, &server.id, &target.id).await?;
        on_allocation(
            txn,
            actor,
            "allocation.primary_changed",
            &server.id,
            (&target.ip, target.port),
        )
        .await
    })
    .await
}

/// Notes are for people only; the game does not see them.
pub async fn set_notes(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    allocation_id: &str,
    notes: &str,
) -> Result<()> {
    let rows = repo::allocations::for_server(state.db(), &server.id).await?;
    let row = rows
        .iter()
        .find(|r| r.id == allocation_id)
        .ok_or_else(|| Error::not_found("allocation"))?;
    let txn = state.db().begin().await?;
    repo::allocations::set_notes(&txn, &row.id, notes).await?;
    on_allocation(
        &txn,
        actor,
        "allocation.notes_changed",
        &server.id,
        (&row.ip, row.port),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Sets how many allocations a server may hold (admins). Allocations above a lowered
/// limit stay; the server's users cannot add more until they are under it.
pub async fn set_limit(state: &AppState, actor: &Actor, server_id: &str, limit: i32) -> Result<()> {
    if !(1..=MAX_SERVER_ALLOCATIONS).contains(&limit) {
        return Err(Error::validation(
            "limit",
            format!("must be 1 to {MAX_SERVER_ALLOCATIONS}"),
        ));
    }
    let mut server = repo::servers::find(state.db(), server_id)
        .await?
        .ok_or_else(|| Error::not_found("server"))?;
    let previous = server.allocation_limit;
    server.allocation_limit = limit;
    if server.node_id.is_some() {
        // The game sees the limit as P_SERVER_ALLOCATION_LIMIT.
        let current = Current::load(state, &server).await?;
        if !current.rows.is_empty() {
            servers::sync_network(state, &server, current.network()?).await?;
        }
    }
    let txn = state.db().begin().await?;
    repo::allocations::set_limit(&txn, &server.id, limit).await?;
    audit::record_by(
        &txn,
        actor,
        "server.allocation_limit_changed",
        "server",
        &server.id,
        json!({ "from": previous, "to": limit }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Reads `25565-25570,27015`: single ports and inclusive ranges, comma-separated.
pub fn parse_ports(spec: &str) -> Result<Vec<u16>> {
    let bad = |message: String| Error::validation("ports", message);
    let mut ports = BTreeSet::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (start, end) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let number = |text: &str| {
            text.parse::<u16>()
                .ok()
                .filter(|p| *p >= MIN_PORT)
                .ok_or_else(|| {
                    bad(format!(
                        "{part:?}: ports are numbers from {MIN_PORT} to 65535"
                    ))
                })
        };
        let (start, end) = (number(start)?, number(end)?);
        if start > end {
            return Err(bad(format!("{part:?}: a range goes from low to high")));
        }
        if usize::from(end - start) + 1 + ports.len() > MAX_PORTS_PER_REQUEST {
            return Err(bad(format!(
                "at most {MAX_PORTS_PER_REQUEST} ports at a time"
            )));
        }
        ports.extend(start..=end);
    }
    if ports.is_empty() {
        return Err(bad("name at least one port, e.g. 25565-25570,27015".into()));
    }
    Ok(ports.into_iter().collect())
}

/// A node address as stored: normalised, never multicast.
pub fn parse_ip(text: &str) -> Result<String> {
    match text.trim().parse::<IpAddr>() {
        Ok(ip) if !ip.is_multicast() => Ok(ip.to_string()),
        _ => Err(Error::validation(
            "ip",
            "must be an IP address of the node, e.g. 203.0.113.7, or 0.0.0.0 for every address",
        )),
    }
}

/// How a bulk add went.
pub struct AddedToNode {
    pub ip: String,
    pub requested: usize,
    pub added: u64,
}

/// Adds free allocations `ports` on `ip` to a node; ports it already has there stay as
/// they are.
pub async fn add_to_node(
    state: &AppState,
    actor: &Actor,
    node_id: &str,
    ip: &str,
    ports: &str,
    notes: &str,
) -> Result<AddedToNode> {
    let node = &super::nodes::find(state, node_id).await?;
    let ip = parse_ip(ip)?;
    let ports = parse_ports(ports)?;
    let _allocating = state.hub().allocation_lock(&node.id).await;
    let txn = state.db().begin().await?;
    let existing = repo::allocations::count_on_node(&txn, &node.id).await?;
    if existing + ports.len() as u64 > MAX_NODE_ALLOCATIONS {
        return Err(Error::validation(
            "ports",
            format!(
                "a node has at most {MAX_NODE_ALLOCATIONS} allocations; {} has {existing}",
                node.name
            ),
        ));
    }
    let added = repo::allocations::add_free(&txn, &node.id, &ip, &ports, notes).await?;
    audit::record_by(
        &txn,
        actor,
        "node.allocations_added",
        "node",
        &node.id,
        json!({ "ip": ip, "first": ports.first(), "last": ports.last(), "added": added }),
    )
    .await?;
    txn.commit().await?;
    Ok(AddedToNode {
        ip,
        requested: ports.len(),
        added,
    })
}

/// Deletes free allocations of a node, all or none: refused while a server holds one.
pub async fn remove_from_node(
    state: &AppState,
    actor: &Actor,
    node_id: &str,
    ids: &[String],
) -> Result<u64> {
    let node = &super::nodes::find(state, node_id).await?;
    let ids: Vec<String> = ids
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let _allocating = state.hub().allocation_lock(&node.id).await;
    let txn = state.db().begin().await?;
    let rows = repo::allocations::on_node(&txn, &node.id, &ids).await?;
    if rows.len() < ids.len() {
        return Err(Error::NotFound(format!(
            "{} of these allocations are not on node {}",
            ids.len() - rows.len(),
            node.name
        )));
    }
    let in_use: Vec<String> = rows
        .iter()
        .filter(|r| r.server_id.is_some())
        .map(|r| format!("{}:{}", r.ip, r.port))
        .collect();
    if !in_use.is_empty() {
        return Err(Error::Conflict(format!(
            "in use by a server, remove it there first: {}",
            in_use.join(", ")
        )));
    }
    let removed = repo::allocations::delete_free(&txn, &node.id, &ids).await?;
    audit::record_by(
        &txn,
        actor,
        "node.allocations_removed",
        "node",
        &node.id,
        json!({ "removed": removed }),
    )
    .await?;
    txn.commit().await?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_lists_and_ranges() {
        assert_eq!(
            parse_ports("25565-25567, 27015,25566").unwrap(),
            [25565, 25566, 25567, 27015]
        );
        for bad in [
            "",
            "80",
            "70000",
            "2000-1999",
            "abc",
            "1024-65535",
            "1-2000",
        ] {
            assert!(
                matches!(parse_ports(bad), Err(Error::Validation { .. })),
                "{bad:?}"
            );
        }
        assert_eq!(parse_ports("30000-30999").unwrap().len(), 1000);
        assert!(parse_ports("30000-31000").is_err());
    }

    #[test]
    fn addresses() {
        assert_eq!(parse_ip(" 203.0.113.7 ").unwrap(), "203.0.113.7");
        assert_eq!(parse_ip("2001:DB8::1").unwrap(), "2001:db8::1");
        for bad in ["", "224.0.0.1", "example.com", "1.2.3"] {
            assert!(parse_ip(bad).is_err(), "{bad:?}");
        }
    }
}
