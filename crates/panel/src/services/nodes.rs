//! Nodes: registering machines that run an agent, the one-time join exchange, changes.

use std::net::IpAddr;

use sea_orm::{Set, TransactionTrait};
use serde_json::json;

use super::audit::{self, Entry};
use crate::agents::tls::normalize_fingerprint;
use crate::auth::{tokens, Actor, Client};
use crate::db::entities::node;
use crate::error::{Error, Result};
use crate::repo::{self, nodes::NewNode};
use crate::state::AppState;

/// A page of nodes, by name.
pub async fn list(
    state: &AppState,
    name: Option<&str>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<node::Model>, u64)> {
    repo::nodes::list(state.db(), name, page, per_page).await
}

pub async fn find(state: &AppState, id: &str) -> Result<node::Model> {
    repo::nodes::find(state.db(), id)
        .await?
        .ok_or_else(|| Error::not_found("node"))
}

/// How many servers live on a node.
pub async fn server_count(state: &AppState, id: &str) -> Result<u64> {
    repo::nodes::server_count(state.db(), id).await
}

/// What an admin gives to register a node.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub name: String,
    pub description: String,
    pub address: String,
    pub port: u16,
    pub scheme: String,
    pub memory_mb: i64,
    pub disk_mb: i64,
    /// How far servers' limits may exceed the capacity, in percent; -1: no check.
    pub overallocate_percent: i32,
    pub port_range: (u16, u16),
    /// For an agent that already runs: its token and certificate fingerprint.
    pub existing: Option<(String, Option<String>)>,
}

/// A created node and, for the join flow, the one-time join token.
pub struct Created {
    pub node: node::Model,
    pub join_token: Option<String>,
}

fn is_loopback(address: &str) -> bool {
    address == "localhost" || address.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Rules shared by create and update.
pub fn check_spec(scheme: &str, address: &str, range: (u16, u16)) -> Result<()> {
    match scheme {
        "https" => {}
        "http" if is_loopback(address) => {}
        "http" => {
            return Err(Error::validation(
                "scheme",
                "plain http is only allowed for agents on this machine (loopback)",
            ))
        }
        _ => return Err(Error::validation("scheme", "must be https or http")),
    }
    if range.0 == 0 || range.0 > range.1 {
        return Err(Error::validation(
            "portRangeStart",
            "the port range must be 1-65535 with start ≤ end",
        ));
    }
    Ok(())
}

/// Registers a node. `by` is `None` for the panel's own local agent, which is not audited.
pub async fn create(state: &AppState, by: Option<&Actor>, spec: NodeSpec) -> Result<Created> {
    check_spec(&spec.scheme, &spec.address, spec.port_range)?;
    let (token, fingerprint, join_token) = match spec.existing {
        Some((token, fingerprint)) => {
            let fingerprint = fingerprint
                .map(|f| {
                    normalize_fingerprint(&f).ok_or_else(|| {
                        Error::validation("certFingerprint", "must be a SHA-256 fingerprint")
                    })
                })
                .transpose()?;
            if spec.scheme == "https" && fingerprint.is_none() {
                return Err(Error::validation(
                    "certFingerprint",
                    "give the fingerprint the agent printed at start, so its certificate can be pinned",
                ));
            }
            (token, fingerprint, None)
        }
        None => (
            tokens::random_secret(48),
            None,
            Some(tokens::random_secret(40)),
        ),
    };
    let txn = state.db().begin().await?;
    let node = repo::nodes::create(
        &txn,
        NewNode {
            name: spec.name,
            description: spec.description,
            address: spec.address,
            port: i32::from(spec.port),
            scheme: spec.scheme,
            token_ciphertext: state.secrets().encrypt(&token)?,
            join_token_hash: join_token.as_deref().map(tokens::hash_secret),
            cert_fingerprint: fingerprint,
            memory_mb: spec.memory_mb,
            disk_mb: spec.disk_mb,
            overallocate_percent: spec.overallocate_percent,
            port_range: (i32::from(spec.port_range.0), i32::from(spec.port_range.1)),
        },
    )
    .await?;
    if let Some(actor) = by {
        let details = json!({ "name": node.name, "address": node.address });
        audit::record_by(&txn, actor, "node.created", "node", &node.id, details).await?;
    }
    txn.commit().await?;
    if join_token.is_none() {
        state.hub().register(&node)?;
    }
    Ok(Created { node, join_token })
}

/// What a joining agent learns: who it is and the token the panel will use.
pub struct Joined {
    pub node: node::Model,
    pub token: String,
}

/// The agent side of `cap-agent join`: trades the one-time join token for the node token,
/// and pins the certificate fingerprint the agent reports. Attempts are rate-limited per
/// client address.
pub async fn join(
    state: &AppState,
    client: &Client,
    join_token: &str,
    fingerprint: Option<&str>,
) -> Result<Joined> {
    state.limits().check_client(&client.ip)?;
    let node = repo::nodes::find_by_join_hash(state.db(), &tokens::hash_secret(join_token))
        .await?
        .ok_or_else(|| Error::Unauthorized("unknown or already used join token".into()))?;
    let fingerprint = match (node.scheme.as_str(), fingerprint) {
        (_, Some(f)) => Some(
            normalize_fingerprint(f)
                .ok_or_else(|| Error::validation("fingerprint", "must be a SHA-256 fingerprint"))?,
        ),
        ("https", None) => {
            return Err(Error::validation(
                "fingerprint",
                "the agent must report its certificate fingerprint",
            ))
        }
        _ => None,
    };
    let token = state.secrets().decrypt(&node.token_ciphertext)?;
    let mut model: node::ActiveModel = node.into();
    model.join_token_hash = Set(None);
    model.cert_fingerprint = Set(fingerprint);
    let txn = state.db().begin().await?;
    let node = repo::nodes::save(&txn, model).await?;
    let entry = Entry {
        user_id: None,
        action: "node.joined",
        target_type: "node",
        target_id: Some(&node.id),
        details: json!({ "name": node.name }),
    };
    audit::record(&txn, client, entry).await?;
    txn.commit().await?;
    state.hub().register(&node)?;
    Ok(Joined { node, token })
}

/// Changes to a node; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct NodeChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub address: Option<String>,
    pub port: Option<u16>,
    pub scheme: Option<String>,
    pub memory_mb: Option<i64>,
    pub disk_mb: Option<i64>,
    pub overallocate_percent: Option<i32>,
    pub port_range_start: Option<u16>,
    pub port_range_end: Option<u16>,
    /// A new certificate fingerprint (after the agent's certificate was replaced).
    pub cert_fingerprint: Option<String>,
    /// A new node token (after it was rotated on the agent).
    pub token: Option<String>,
}

/// Applies changes and reconnects with the new settings. `by` is `None` for the panel's
/// own local agent, which is not audited.
pub async fn update(
    state: &AppState,
    by: Option<&Actor>,
    id: &str,
    changes: NodeChanges,
) -> Result<node::Model> {
    let node = find(state, id).await?;
    let scheme = changes.scheme.unwrap_or_else(|| node.scheme.clone());
    let address = changes.address.unwrap_or_else(|| node.address.clone());
    let range = (
        changes
            .port_range_start
            .unwrap_or(u16::try_from(node.port_range_start).unwrap_or(0)),
        changes
            .port_range_end
            .unwrap_or(u16::try_from(node.port_range_end).unwrap_or(0)),
    );
    let token_changed = changes.token.is_some();
    check_spec(&scheme, &address, range)?;
    let fingerprint = changes
        .cert_fingerprint
        .map(|f| {
            normalize_fingerprint(&f).ok_or_else(|| {
                Error::validation("certFingerprint", "must be a SHA-256 fingerprint")
            })
        })
        .transpose()?;
    let token = changes
        .token
        .map(|t| state.secrets().encrypt(&t))
        .transpose()?;
    let mut model: node::ActiveModel = node.into();
    model.scheme = Set(scheme);
    model.address = Set(address);
    model.port_range_start = Set(i32::from(range.0));
    model.port_range_end = Set(i32::from(range.1));
    if let Some(name) = changes.name {
        model.name = Set(name);
    }
    if let Some(description) = changes.description {
        model.description = Set(description);
    }
    if let Some(port) = changes.port {
        model.port = Set(i32::from(port));
    }
    if let Some(memory) = changes.memory_mb {
        model.memory_mb = Set(memory);
    }
    if let Some(disk) = changes.disk_mb {
        model.disk_mb = Set(disk);
    }
    if let Some(percent) = changes.overallocate_percent {
        model.overallocate_percent = Set(percent);
    }
    if let Some(fingerprint) = fingerprint {
        model.cert_fingerprint = Set(Some(fingerprint));
    }
    if let Some(token) = token {
        model.token_ciphertext = Set(token);
    }
    let txn = state.db().begin().await?;
    let node = repo::nodes::save(&txn, model).await?;
    if let Some(actor) = by {
        let details = json!({ "name": node.name, "tokenChanged": token_changed });
        audit::record_by(&txn, actor, "node.updated", "node", &node.id, details).await?;
    }
    txn.commit().await?;
    if node.join_token_hash.is_none() {
        state.hub().register(&node)?;
    }
    Ok(node)
}

/// Deletes a node that no longer has servers.
pub async fn delete(state: &AppState, actor: &Actor, id: &str) -> Result<()> {
    let node = find(state, id).await?;
    let txn = state.db().begin().await?;
    let servers = repo::nodes::server_count(&txn, &node.id).await?;
    if servers > 0 {
        return Err(Error::Conflict(format!(
            "node {} still has {servers} server(s); delete or move them first",
            node.name
        )));
    }
    repo::nodes::delete(&txn, &node.id).await?;
    let details = json!({ "name": node.name });
    audit::record_by(&txn, actor, "node.deleted", "node", id, details).await?;
    txn.commit().await?;
    state.hub().forget(&node.id);
    Ok(())
}
