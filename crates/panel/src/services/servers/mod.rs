//! Game servers, one module per use case: creation, the definition pushed to the agent,
//! power and removal, settings, variables, and the dashboard's list. The agent is always
//! told first; the database follows only when the agent agreed.

mod console_ticket;
mod create;
mod definition;
mod lifecycle;
pub mod listing;
mod runtime;
mod settings;
mod variables;

use uuid::Uuid;

use crate::agents::AgentClient;
use crate::db::entities::server;
use crate::error::{Error, Result};
use crate::repo;
use crate::state::AppState;

pub use super::network::BIND_IP;
pub use console_ticket::{console_ticket, redeem_console_ticket};
pub use create::{create, CreateServer};
pub use definition::{
    definition, preview, render_context, stored_values, sync, sync_network, sync_schedules,
};
pub use lifecycle::{check_power, console_command, delete, power, reinstall, PowerOutcome};
pub use runtime::{kind_of, RuntimeChoice};
pub use settings::{update, ServerChanges};
pub use variables::{set_variables, validate_variables, variables_of};

/// Resource limits as the API takes them (0 = unlimited CPU).
#[derive(Debug, Clone, Copy)]
pub struct LimitsSpec {
    pub memory_mb: i64,
    pub cpu_percent: i32,
    pub disk_mb: i64,
}

pub(crate) fn parse_id(id: &str) -> Result<Uuid> {
    Uuid::parse_str(id).map_err(|_| Error::internal(format!("server id {id} is not a UUID")))
}

/// The client of the node a server lives on, failing fast when the node is offline.
pub fn client_for(state: &AppState, server: &server::Model) -> Result<AgentClient> {
    let node_id = server
        .node_id
        .as_deref()
        .ok_or_else(|| Error::Conflict("this server has no node; its node was deleted".into()))?;
    state.hub().online_client(node_id)
}

/// The primary port of a server, if any.
pub async fn port_of(state: &AppState, server_id: &str) -> Result<Option<u16>> {
    Ok(
        repo::allocations::primary_for(state.db(), &[server_id.to_owned()])
            .await?
            .first()
            .and_then(|a| u16::try_from(a.port).ok()),
    )
}
