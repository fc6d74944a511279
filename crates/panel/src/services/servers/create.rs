//! Creating a server: validated, given ports its agent confirms are free, stored with
//! its audit entry, defined on the agent and installed.

use std::collections::BTreeMap;

use cap_protocol::server::DesiredState;
use sea_orm::TransactionTrait;
use serde_json::json;

use super::definition::{definition, render_context};
use super::runtime::{resolve, RuntimeChoice};
use super::variables::validate_variables;
use super::{parse_id, LimitsSpec};
use crate::auth::Actor;
use crate::db::entities::server;
use crate::domain::BackupPolicy;
use crate::error::{Error, Result};
use crate::repo::{self, servers::NewServer};
use crate::services::audit;
use crate::services::network::{self, Network};
use crate::services::templates;
use crate::state::AppState;

/// A server to create.
#[derive(Debug, Clone)]
pub struct CreateServer {
    pub name: String,
    pub description: String,
    /// The caller when `None`.
    pub owner_id: Option<String>,
    pub node_id: String,
    pub alt_id: String,
    pub limits: LimitsSpec,
    pub variables: BTreeMap<String, String>,
    /// Native or Docker, and the image (defaults: see [`resolve`]).
    pub runtime: RuntimeChoice,
    /// How many backups it may keep and their retention (default: 3, no retention).
    pub backups: Option<BackupPolicy>,
    /// How many databases it may have (administrators only; default none).
    pub database_limit: Option<i32>,
}

/// Creates a server: validates, allocates a port the agent confirms is free, stores it
/// with its audit entry, defines it on the agent and starts its installation. If the
/// agent refuses, nothing is left behind (the audit entry neither).
pub async fn create(state: &AppState, actor: &Actor, spec: CreateServer) -> Result<server::Model> {
    let owner_id = spec
        .owner_id
        .clone()
        .unwrap_or_else(|| actor.id().to_owned());
    if owner_id != actor.id() && !actor.is_admin() {
        return Err(Error::Forbidden(
            "only administrators create servers for other users".into(),
        ));
    }
    if spec.database_limit.is_some() && !actor.is_admin() {
        return Err(Error::Forbidden(
            "only administrators set how many databases a server may have".into(),
        ));
    }
    let template = match templates::load(state.db(), &spec.alt_id).await {
        Err(Error::NotFound(_)) => return Err(Error::validation("altId", "no such template")),
        other => other?,
    };
    let node = repo::nodes::find(state.db(), &spec.node_id)
        .await?
        .ok_or_else(|| Error::validation("nodeId", "no such node"))?;
    if repo::users::find(state.db(), &owner_id).await?.is_none() {
        return Err(Error::validation("ownerId", "no such user"));
    }
    if let Some(policy) = &spec.backups {
        crate::services::backups::check_policy(policy)?;
    }
    let values = validate_variables(&template, &spec.variables, &BTreeMap::new(), false)?;
    let client = state.hub().online_client(&node.id)?;
    let image = resolve(&client, &template, spec.runtime.clone()).await?;
    let installs = !template.alt.install.script.trim().is_empty();

    let allocating = state.hub().allocation_lock(&node.id).await;
    crate::services::capacity::check(state, &node, spec.limits, None).await?;
    let mut attempts = 0;
    let offsets = &template.alt.extra_port_offsets;
    let (server, ports) = loop {
        attempts += 1;
        let ports = network::pick(state, &node, &client, None, offsets).await?;
        let txn = state.db().begin().await?;
        let server = repo::servers::create(
            &txn,
            NewServer {
                name: spec.name.clone(),
                description: spec.description.clone(),
                owner_id: owner_id.clone(),
                node_id: Some(node.id.clone()),
                alt_id: spec.alt_id.clone(),
                memory_mb: spec.limits.memory_mb,
                cpu_percent: spec.limits.cpu_percent,
                disk_mb: spec.limits.disk_mb,
                image: image.clone(),
            },
        )
        .await?;
        let server = match spec.backups {
            Some(policy) => {
                repo::backups::set_policy(&txn, &server.id, policy).await?;
                server::Model {
                    backup_limit: policy.limit,
                    backup_keep_last: policy.keep_last,
                    backup_keep_days: policy.keep_days,
                    ..server
                }
            }
            None => server,
        };
        let server = match spec.database_limit {
            Some(limit) => repo::servers::set_database_limit(&txn, server, limit).await?,
            None => server,
        };
        if !network::claim(&txn, &node.id, &server.id, &ports, true, "").await? {
            txn.rollback().await?;
            if attempts >= 3 {
                return Err(Error::Conflict(
                    "ports are being allocated concurrently; try again".into(),
                ));
            }
            continue;
        }
        for variable in &template.variables {
            if let Some(value) = values.get(&variable.env_variable) {
                repo::server_variables::upsert(&txn, &server.id, &variable.id, value).await?;
            }
        }
        if installs {
            // Installing from the start: nobody can start it before the agent says the
            // install is over (its events take over from here).
            repo::servers::set_state(&txn, &server.id, "installing").await?;
        }
        let details = json!({ "name": server.name });
        audit::record_by(&txn, actor, "server.created", "server", &server.id, details).await?;
        txn.commit().await?;
        break (server, ports);
    };
    drop(allocating);

    let network = Network::new(ports, network::allowed(&server, offsets))?;
    let ctx = render_context(&server, &node, &network, &values);
    let defined = async {
        client
            .define(&definition(
                &server,
                &template,
                &ctx,
                DesiredState::Offline,
            )?)
            .await?;
        if installs {
            client.install(parse_id(&server.id)?).await?;
        }
        Ok::<(), Error>(())
    }
    .await;
    if let Err(e) = defined {
        // The agent did not take it: undo, so no half-created server remains.
        let txn = state.db().begin().await?;
        repo::allocations::release(&txn, &server.id).await?;
        repo::servers::delete(&txn, &server.id).await?;
        repo::audit::forget_request(&txn, &actor.client.request_id, &server.id).await?;
        txn.commit().await?;
        return Err(e);
    }
    Ok(server)
}
