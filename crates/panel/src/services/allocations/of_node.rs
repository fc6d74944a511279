//! A node's allocations in bulk (admins): parse port lists, add and remove.

use std::collections::BTreeSet;
use std::net::IpAddr;

use sea_orm::TransactionTrait;
use serde_json::json;

use super::{MAX_NODE_ALLOCATIONS, MAX_PORTS_PER_REQUEST, MIN_PORT};
use crate::auth::Actor;
use crate::db::entities::{allocation, server};
use crate::error::{Error, Result};
use crate::repo;
use crate::services::{audit, nodes};
use crate::state::AppState;

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
    let node = &nodes::find(state, node_id).await?;
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
    let node = &nodes::find(state, node_id).await?;
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

/// A page of a node's allocations (addresses containing `ip`, when given), each with the
/// server holding it.
pub async fn node_page(
    state: &AppState,
    node_id: &str,
    ip: Option<&str>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<(allocation::Model, Option<server::Model>)>, u64)> {
    let node = nodes::find(state, node_id).await?;
    repo::allocations::page_for_node(state.db(), &node.id, ip, page, per_page).await
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
