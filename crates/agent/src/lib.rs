//! `cap-agent`: the node daemon that supervises game servers.
//!
//! [`run`] is the whole program; [`Agent`] splits it in two so tests can learn the bound
//! address and certificate fingerprint before serving. The HTTP API and event stream are
//! documented in the `cap-protocol` crate.
//!
//! Data directory layout:
//! ```text
//! agent.lock                held (flock) by the agent using this directory; holds its PID
//! agent.toml                configuration read when no --config is given (written by join)
//! token                     node token (0600, generated when missing, replaced by join)
//! tls/cert.pem, tls/key.pem self-signed certificate (key 0600)
//! sftp_host_ed25519_key     the SFTP host key (OpenSSH format, 0600, generated when missing)
//! definitions/<id>.json     server definitions + desired state (atomic writes)
//! logs/<id>/console.log     console log, rotated (outside the file jail)
//! install/<id>.sh           last install script
//! servers/<id>/             server directories (unless server_root is set)
//! backups/                  local backups and backup records (see backup::journal)
//! schedule-runs/<id>/       schedule run records, one file per record (see schedule)
//! ```

pub mod backup;
pub mod bus;
pub mod config;
pub mod error;
pub mod files;
pub mod game;
pub mod http;
pub mod join;
pub mod lock;
pub mod runtime;
pub mod schedule;
pub mod sftp;
pub mod store;
pub mod supervisor;
pub mod system;
pub mod tls;
pub mod token;

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum_server::tls_rustls::RustlsConfig;
use tokio_util::sync::CancellationToken;

pub use config::{Cli, Config};
pub use error::{AgentError, AgentResult};

use bus::EventBus;
use supervisor::Supervisor;

/// How long open connections may take to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Run the agent until `shutdown` completes; then stop every server (their desired
/// state is kept, so the next start brings them back) and return.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> AgentResult<()> {
    Agent::build(config)
        .await?
        .run_until_stopped(shutdown)
        .await
}

/// A bound, ready agent.
pub struct Agent {
    _lock: lock::DataDirLock,
    listener: TcpListener,
    addr: SocketAddr,
    fingerprint: String,
    tls: Option<Arc<rustls::ServerConfig>>,
    token_file: PathBuf,
    supervisor: Arc<Supervisor>,
    bus: Arc<EventBus>,
    backups: Arc<backup::Backups>,
    scheduler: Arc<schedule::Scheduler>,
    cancel: CancellationToken,
    started: Instant,
    token: http::auth::TokenCheck,
    sftp: Option<sftp::SftpServer>,
}

impl Agent {
    /// Lock the data directory (failing at once if another agent uses it), prepare the
    /// token and certificate, bind the listener, and restore stored servers (starting
    /// those meant to run).
    pub async fn build(mut config: Config) -> AgentResult<Self> {
        config.absolutize()?;
        let lock = lock::DataDirLock::acquire(&config.data_dir)?;
        let token = token::load_or_generate(&config.token_file)?;
        let identity = tls::Identity::load_or_generate(&config.data_dir.join("tls"))?;
        let fingerprint = identity.fingerprint();
        let tls = if config.insecure_http {
            None
        } else {
            Some(identity.server_config()?)
        };
        let listener = bind(&config)?;
        let addr = listener.local_addr()?;
        let sftp = if config.sftp.enabled {
            Some(sftp::SftpServer::bind(&config.sftp, &config.data_dir)?)
        } else {
            None
        };
        let bus = Arc::new(EventBus::default());
        let token_file = config.token_file.clone();
        let supervisor = Supervisor::new(Arc::new(config), bus.clone())?;
        supervisor.restore().await?;
        let backups = backup::Backups::open(supervisor.clone(), bus.clone())?;
        let cancel = CancellationToken::new();
        let scheduler = schedule::Scheduler::start(
            supervisor.clone(),
            backups.clone(),
            bus.clone(),
            cancel.clone(),
        )?;
        Ok(Self {
            _lock: lock,
            listener,
            addr,
            fingerprint,
            tls,
            token_file,
            supervisor,
            bus,
            backups,
            scheduler,
            cancel,
            started: Instant::now(),
            token: http::auth::TokenCheck::new(&token),
            sftp,
        })
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// SHA-256 fingerprint of the TLS certificate (`AB:CD:…`).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The SFTP server's port and host key fingerprint, when it listens.
    pub fn sftp(&self) -> Option<&cap_protocol::sftp::SftpInfo> {
        self.sftp.as_ref().map(sftp::SftpServer::info)
    }

    /// Where the node token is stored.
    pub fn token_file(&self) -> &std::path::Path {
        &self.token_file
    }

    /// Serve until `shutdown` completes, then stop all servers.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> AgentResult<()> {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        tracing::info!("TLS certificate SHA-256 fingerprint: {}", self.fingerprint);
        tracing::info!("node token file: {}", self.token_file.display());
        tracing::info!("listening on {scheme}://{}", self.addr);
        let cancel = self.cancel.clone();
        let panel = Arc::new(sftp::PanelLink::default());
        let state = http::AppState {
            supervisor: self.supervisor.clone(),
            bus: self.bus.clone(),
            backups: self.backups.clone(),
            scheduler: self.scheduler.clone(),
            started: self.started,
            shutdown: cancel.clone(),
            panel: panel.clone(),
            sftp: self.sftp.as_ref().map(|s| s.info().clone()),
        };
        let sftp = self.sftp.map(|server| {
            let config = self.supervisor.config().sftp.clone();
            tokio::spawn(server.serve(config, self.supervisor.clone(), panel, cancel.clone()))
        });
        let app = http::router(state, self.token.clone()).into_make_service();
        let stats = tokio::spawn(supervisor::stats::run(
            self.supervisor.clone(),
            cancel.clone(),
        ));
        let queries = tokio::spawn(game::poller::run(self.supervisor.clone(), cancel.clone()));
        let handle = axum_server::Handle::new();
        let serving = {
            let handle = handle.clone();
            let listener = self.listener;
            async move {
                match self.tls {
                    Some(tls) => {
                        axum_server::from_tcp_rustls(listener, RustlsConfig::from_config(tls))
                            .handle(handle)
                            .serve(app)
                            .await
                    }
                    None => {
                        axum_server::from_tcp(listener)
                            .handle(handle)
                            .serve(app)
                            .await
                    }
                }
            }
        };
        let server = tokio::spawn(serving);
        shutdown.await;
        let keep = self.supervisor.config().keep_servers_on_exit;
        if keep {
            tracing::info!("shutting down: game servers keep running for the next agent");
        } else {
            tracing::info!("shutting down: stopping servers");
        }
        cancel.cancel();
        handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
        self.supervisor.shutdown(keep).await;
        let scheduler = self.scheduler.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || scheduler.flush()).await {
            tracing::error!(error = %e, "cannot wait for the schedule run records");
        }
        stats.abort();
        queries.abort();
        if let Some(sftp) = sftp {
            let _ = sftp.await;
        }
        match server.await {
            Ok(result) => result.map_err(AgentError::Io),
            Err(e) => Err(e.into()),
        }
    }
}

/// Bind the configured address; if it is the default and its port is taken, bind a free
/// port on the same address instead and say so.
fn bind(config: &Config) -> AgentResult<TcpListener> {
    let listener = match TcpListener::bind(config.listen) {
        Ok(listener) => listener,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && config.port_fallback => {
            let fallback = TcpListener::bind(SocketAddr::new(config.listen.ip(), 0))?;
            tracing::warn!(
                "port {} is in use; falling back to free port {}",
                config.listen.port(),
                fallback.local_addr()?.port()
            );
            fallback
        }
        Err(e) => {
            return Err(AgentError::Config(format!(
                "cannot listen on {}: {e}",
                config.listen
            )))
        }
    };
    listener.set_nonblocking(true)?;
    Ok(listener)
}
