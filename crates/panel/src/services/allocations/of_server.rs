//! A server's allocations: add, remove, choose the primary, notes, and the limit.

use serde_json::json;

use super::{change, lock, on_allocation, Current, MAX_SERVER_ALLOCATIONS};
use crate::auth::Actor;
use crate::db::entities::{allocation, server};
use crate::error::{Error, Result};
use crate::repo;
use crate::services::{audit, network, servers};
use crate::state::AppState;
use sea_orm::TransactionTrait;

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
