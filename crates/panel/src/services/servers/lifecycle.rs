//! Power actions, console input, reinstalling and removing a server.

use std::time::Duration;

use cap_protocol::command::{Action, AgentCommand, AgentResponse, CommandMetadata};
use cap_protocol::server::ServerState;
use chrono::Utc;
use sea_orm::TransactionTrait;
use serde_json::json;

use super::definition::sync;
use super::{client_for, parse_id};
use crate::auth::Actor;
use crate::db::entities::server;
use crate::error::{Error, Result};
use crate::repo;
use crate::services::audit;
use crate::state::AppState;

/// Refuses a power action that cannot work, before anything reaches the node: any action
/// while the node is offline, and starting a server whose installation failed (its files
/// are incomplete; it would only crash).
pub fn check_power(state: &AppState, server: &server::Model, action: Action) -> Result<()> {
    client_for(state, server)?;
    if !matches!(action, Action::Start | Action::Restart) {
        return Ok(());
    }
    let live = parse_id(&server.id)
        .ok()
        .and_then(|id| state.hub().live(id));
    let failed = live.as_ref().map_or(
        server.state == crate::agents::state_name(ServerState::InstallFailed),
        |l| l.state == ServerState::InstallFailed,
    );
    if !failed {
        return Ok(());
    }
    let reason = live
        .and_then(|l| l.message)
        .unwrap_or_else(|| "the install script failed".into());
    Err(Error::Conflict(format!(
        "this server cannot start because its installation failed ({reason}); \
         reinstall it first"
    )))
}

/// How long a power request waits for the agent before answering "in progress".
const POWER_WAIT: Duration = Duration::from_secs(5);

/// What became of a power action.
pub enum PowerOutcome {
    /// The agent answered.
    Done(AgentResponse),
    /// Still running after [`POWER_WAIT`] (a graceful stop can take its whole grace
    /// period); the console shows the outcome.
    InProgress(AgentResponse),
}

/// start / stop / restart / kill / status: checked, recorded, then sent to the agent as
/// an [`AgentCommand`] that keeps running if the caller stops waiting.
pub async fn power(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    action: Action,
) -> Result<PowerOutcome> {
    // Fail fast, before anything is recorded or spawned.
    check_power(state, server, action)?;
    let details = json!({ "action": action });
    audit::record_by(
        state.db(),
        actor,
        "server.power",
        "server",
        &server.id,
        details,
    )
    .await?;
    let server_id = parse_id(&server.id)?;
    let client = client_for(state, server)?;
    let command = AgentCommand {
        action,
        server_id,
        timestamp: Utc::now(),
        metadata: CommandMetadata {
            request_id: actor.client.request_id.clone(),
            user_id: actor.id().to_owned(),
        },
    };
    let request_id = actor.client.request_id.clone();
    let task = tokio::spawn(crate::request_id::scope(request_id, async move {
        client.command(&command).await
    }));
    match tokio::time::timeout(POWER_WAIT, task).await {
        Ok(joined) => Ok(PowerOutcome::Done(joined.map_err(Error::internal)??)),
        Err(_) => Ok(PowerOutcome::InProgress(AgentResponse {
            status: cap_protocol::command::CommandStatus::Stopped,
            state: ServerState::Stopping,
            server_id,
            timestamp: Utc::now(),
            message: "in progress; the console shows the result".into(),
            data: None,
        })),
    }
}

pub async fn console_command(
    state: &AppState,
    server: &server::Model,
    command: &str,
) -> Result<()> {
    client_for(state, server)?
        .console_input(parse_id(&server.id)?, command)
        .await
}

/// Re-sends the definition and runs the install script again.
pub async fn reinstall(state: &AppState, actor: &Actor, server: &server::Model) -> Result<()> {
    sync(state, server).await?;
    client_for(state, server)?
        .install(parse_id(&server.id)?)
        .await?;
    let details = json!({});
    audit::record_by(
        state.db(),
        actor,
        "server.reinstalled",
        "server",
        &server.id,
        details,
    )
    .await
}

/// Removes the server from its agent (files too), then its backups' archives, then its
/// databases from their hosts (those on unreachable hosts are kept as orphans), then the
/// server from the database; its port returns to the pool. A server whose node is gone
/// is removed from the database only. Returns the backups whose archives could not be
/// removed.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
) -> Result<Vec<String>> {
    if server.node_id.is_some() {
        match client_for(state, server)?
            .remove(parse_id(&server.id)?, true)
            .await
        {
            Ok(()) | Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let left = crate::services::backups::remove_all(state, server).await?;
    let databases = crate::services::databases::drop_for_server(state, &server.id).await?;
    let txn = state.db().begin().await?;
    repo::allocations::release(&txn, &server.id).await?;
    databases.settle(&txn).await?;
    repo::servers::delete(&txn, &server.id).await?;
    let details = json!({
        "name": server.name, "backupsLeft": left, "databases": databases.details()
    });
    audit::record_by(&txn, actor, "server.deleted", "server", &server.id, details).await?;
    txn.commit().await?;
    state.hub().forget_live(parse_id(&server.id)?);
    Ok(left)
}
