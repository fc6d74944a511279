//! The supervisor: the registry of servers and the services the HTTP layer calls.

mod ansi;
mod config_files;
mod console;
mod disk;
mod logfile;
mod patterns;
mod quota;
mod server;
pub mod stats;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use cap_protocol::command::{
    Action, AgentCommand, AgentResponse, CommandStatus, ResourceSummary, ResponseData,
};
use cap_protocol::events::EventKind;
use cap_protocol::server::{DesiredState, ServerDefinition, ServerInfo};
use chrono::Utc;
use uuid::Uuid;

pub use console::NOTICE_PREFIX;
pub use server::{Defined, Server};

use crate::bus::EventBus;
use crate::config::Config;
use crate::error::{AgentError, AgentResult};
use crate::runtime::Runtimes;
use crate::store::Store;

/// What every server shares.
pub struct Shared {
    /// Resolved configuration.
    pub config: Arc<Config>,
    /// Event bus.
    pub bus: Arc<EventBus>,
    /// Definition store.
    pub store: Store,
    /// What runs the servers.
    pub runtimes: Runtimes,
}

/// All servers of this node.
pub struct Supervisor {
    shared: Arc<Shared>,
    servers: RwLock<HashMap<Uuid, Arc<Server>>>,
}

impl Supervisor {
    /// An empty supervisor (call [`Self::restore`] next).
    pub fn new(config: Arc<Config>, bus: Arc<EventBus>) -> AgentResult<Arc<Self>> {
        std::fs::create_dir_all(&config.server_root)?;
        let store = Store::open(&config.data_dir)?;
        let runtimes = Runtimes::new(&config)?;
        Ok(Arc::new(Self {
            shared: Arc::new(Shared {
                config,
                bus,
                store,
                runtimes,
            }),
            servers: RwLock::default(),
        }))
    }

    /// Load stored definitions, take over the games a previous agent left running (the
    /// runtime ends what it cannot take over), and start the servers whose desired state
    /// is `running` and that are not running yet.
    pub async fn restore(self: &Arc<Self>) -> AgentResult<()> {
        let stored = self.shared.store.load_all()?;
        let runtimes = &self.shared.runtimes;
        let found = futures_util::future::join_all(
            stored
                .iter()
                .map(|s| runtimes.reattach(s.definition.runtime, s.definition.id, s.process)),
        )
        .await;
        let mut starts = Vec::new();
        for (stored, found) in stored.into_iter().zip(found) {
            let defined = match compile(stored.definition) {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %e, "skipping stored definition that no longer validates");
                    continue;
                }
            };
            let server = Server::new(self.shared.clone(), defined);
            self.write_servers().insert(server.id, server.clone());
            if let Some(process) = found {
                server.adopt(process)?;
                continue;
            }
            if let Some(failure) = stored.failure {
                server.restore_failure(failure);
            }
            server.persist()?;
            if server.defined().definition.desired_state == DesiredState::Running {
                starts.push(server);
            }
        }
        futures_util::future::join_all(starts.iter().map(|server| async move {
            if let Err(e) = server.start().await {
                tracing::error!(server = %server.id, error = %e, "cannot restore server");
            }
        }))
        .await;
        let known: Vec<Uuid> = self.servers().iter().map(|s| s.id).collect();
        self.shared.runtimes.end_orphans(&known).await;
        Ok(())
    }

    fn write_servers(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Uuid, Arc<Server>>> {
        self.servers.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Every server.
    pub fn servers(&self) -> Vec<Arc<Server>> {
        self.servers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// One server, or `NOT_FOUND`.
    pub fn get(&self, id: Uuid) -> AgentResult<Arc<Server>> {
        self.servers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
            .ok_or_else(|| AgentError::NotFound(format!("no server {id} on this node")))
    }

    /// Every server's info, sorted by id.
    pub fn list(&self) -> Vec<ServerInfo> {
        let mut list: Vec<_> = self.servers().iter().map(|s| s.info()).collect();
        list.sort_by_key(|i| i.definition.id);
        list
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The runtimes.
    pub fn runtimes(&self) -> &Runtimes {
        &self.shared.runtimes
    }

    /// Create or replace a definition. A new server whose desired state is `running` is
    /// started; for an existing one the stored desired state is kept.
    pub async fn define(self: &Arc<Self>, definition: ServerDefinition) -> AgentResult<ServerInfo> {
        let wants_running = definition.desired_state == DesiredState::Running;
        let mut defined = compile(definition)?;
        std::fs::create_dir_all(self.shared.config.server_dir(defined.definition.id))?;
        let existing = self.get(defined.definition.id).ok();
        let server = match existing {
            Some(server) => {
                server.redefine(defined)?;
                server
            }
            None => {
                defined.definition.desired_state = DesiredState::Offline;
                let server = Server::new(self.shared.clone(), defined);
                server.persist()?;
                self.write_servers().insert(server.id, server.clone());
                if wants_running {
                    server.start().await?;
                }
                server
            }
        };
        let info = server.info();
        self.shared.bus.publish(EventKind::Defined {
            server: Box::new(info.clone()),
        });
        Ok(info)
    }

    /// Kill and forget a server; `purge` also deletes its files and logs.
    pub async fn remove(&self, id: Uuid, purge: bool) -> AgentResult<()> {
        let server = self.get(id)?;
        server.shut_down_for_removal().await?;
        self.shared
            .runtimes
            .forget(server.defined().definition.runtime, id)
            .await;
        self.write_servers().remove(&id);
        self.shared.store.remove(id)?;
        if purge {
            for dir in [
                self.shared.config.server_dir(id),
                self.shared.config.log_dir(id),
            ] {
                match tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await? {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
            }
        }
        self.shared
            .bus
            .publish(EventKind::Removed { server_id: id });
        Ok(())
    }

    /// Carry out a power command.
    pub async fn command(&self, command: AgentCommand) -> AgentResult<AgentResponse> {
        let server = self.get(command.server_id)?;
        tracing::info!(
            server = %command.server_id,
            action = ?command.action,
            request = %command.metadata.request_id,
            user = %command.metadata.user_id,
            "power action"
        );
        let message = match command.action {
            Action::Start => server.start().await.map(|_| "start requested"),
            Action::Stop => server.stop().await.map(|_| "server stopped"),
            Action::Restart => server.restart().await.map(|_| "server restarted"),
            Action::Kill => server.kill().await.map(|_| "server killed"),
            Action::Status => Ok("status"),
        }?;
        Ok(response(&server, message))
    }

    /// Stop every server (keeping desired states) for an agent shutdown; with
    /// `keep_games` the games keep running for the next agent (install scripts, which
    /// cannot be taken over, are still ended).
    pub async fn shutdown(&self, keep_games: bool) {
        let stops = self
            .servers()
            .into_iter()
            .map(|s| async move { s.stop_for_shutdown(keep_games).await });
        futures_util::future::join_all(stops).await;
    }
}

/// Validate and compile a definition.
pub fn compile(definition: ServerDefinition) -> AgentResult<Defined> {
    definition.validate().map_err(AgentError::InvalidFields)?;
    let patterns = patterns::DonePatterns::compile(&definition.done_patterns)
        .map_err(AgentError::InvalidFields)?;
    Ok(Defined {
        definition,
        patterns,
    })
}

/// The `AgentResponse` for a server's current status.
pub fn response(server: &Server, message: &str) -> AgentResponse {
    let info = server.info();
    let data = info.status.pid.map(|pid| ResponseData {
        process_id: Some(pid.to_string()),
        port: info.definition.ports.first().copied(),
        resources: info.stats.as_ref().map(|s| ResourceSummary {
            cpu: format!("{:.1}", s.cpu_percent),
            memory: s.memory_bytes.to_string(),
        }),
    });
    AgentResponse {
        status: CommandStatus::from(info.status.state),
        state: info.status.state,
        server_id: server.id,
        timestamp: Utc::now(),
        message: message.to_owned(),
        data,
    }
}
