//! Assembling and running the panel (`Application::build` → `run_until_stopped`).

use std::future::Future;
use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use tokio::net::TcpListener;

use crate::bootstrap::{self, InitialAdmin};
use crate::config::Config;
use crate::data_lock::DataDirLock;
use crate::error::{Error, Result};
use crate::local_agent::{self, LocalAgent};
use crate::secrets::Secrets;
use crate::state::AppState;
use crate::tls::Tls;
use crate::{db, http, listener, services};

pub struct Application {
    listener: TcpListener,
    /// `Some` when the panel serves HTTPS itself.
    tls: Option<Tls>,
    router: Router,
    state: AppState,
    initial_admin: Option<InitialAdmin>,
    local_agent: Option<LocalAgent>,
    /// Held while this panel runs: one panel per data directory.
    _data_lock: DataDirLock,
}

impl Application {
    /// Prepares everything: data directory, secrets, database and migrations, the first
    /// administrator, TLS, and the listening socket. Nothing is served until
    /// [`Application::run_until_stopped`].
    pub async fn build(config: Config) -> Result<Application> {
        config.validate()?;
        prepare_data_dir(&config)?;
        let data_lock = DataDirLock::acquire(&config.data_dir)?;
        let tls = Tls::from_config(&config)?;
        let secrets = Secrets::load_or_create(&config.data_dir)?;
        let db = db::connect(&config.database_url()).await?;
        db::migrate(&db).await?;
        services::templates::seed_builtins(&db).await?;
        let initial_admin = bootstrap::ensure_initial_admin(&db).await?;
        let listener = listener::bind(config.listen).await?;
        let discovery = std::time::Duration::from_secs(config.discovery_interval_secs.max(1));
        let sftp = services::sftp::Authority::new(db.clone());
        let state = AppState::new(db, config, secrets);
        state.hub().set_sftp_authority(std::sync::Arc::new(sftp));
        services::backups::spawn_retention(state.clone());
        state.hub().start(discovery).await?;
        let local_agent = if state.config().local_agent {
            Some(local_agent::ensure(&state).await?)
        } else {
            None
        };
        Ok(Application {
            router: http::security::transport_security(http::router(state.clone()), state.config()),
            listener,
            tls,
            state,
            initial_admin,
            local_agent,
            _data_lock: data_lock,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        // A bound TcpListener always has a local address.
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The URL people should open.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.local_addr())
    }

    /// SHA-256 fingerprint of the certificate served, when the panel serves HTTPS.
    pub fn tls_fingerprint(&self) -> Option<&str> {
        self.tls.as_ref().map(Tls::fingerprint)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The administrator created by this start, if any (first start only).
    pub fn take_initial_admin(&mut self) -> Option<InitialAdmin> {
        self.initial_admin.take()
    }

    /// Serves until `shutdown` completes, then drains in-flight requests.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        if let Some(fingerprint) = self.tls_fingerprint() {
            tracing::info!("TLS certificate SHA-256 fingerprint: {fingerprint}");
        }
        tracing::info!(
            database = db::backend_name(self.state.db()),
            "listening on {}",
            self.url()
        );
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        match self.tls {
            Some(tls) => serve_tls(self.listener, &tls, service, shutdown).await,
            None => {
                axum::serve(self.listener, service)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
        }
        .map_err(|e| Error::Startup(format!("server error: {e}")))?;
        self.state.hub().shutdown();
        if let Some(agent) = self.local_agent {
            agent.detach();
        }
        Ok(())
    }
}

/// Serves HTTPS on `listener` until `shutdown` completes, then lets in-flight requests
/// finish (for at most the request timeout).
async fn serve_tls(
    listener: TcpListener,
    tls: &Tls,
    service: IntoMakeServiceWithConnectInfo<Router, SocketAddr>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    let on_shutdown = tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(http::REQUEST_TIMEOUT));
    });
    let served = axum_server::from_tcp_rustls(
        listener.into_std()?,
        RustlsConfig::from_config(tls.server_config()),
    )
    .handle(handle)
    .serve(service)
    .await;
    on_shutdown.abort();
    served
}

/// Files of the data directory that only the panel's user may read (older versions left
/// some of them readable by everyone).
const PRIVATE_FILES: &[&str] = &[
    "panel.db",
    "panel.db-wal",
    "panel.db-shm",
    "local-agent.log",
    "local-agent.log.1",
];

fn prepare_data_dir(config: &Config) -> Result<()> {
    let dir = &config.data_dir;
    let existed = dir.exists();
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::Startup(format!(
            "cannot create data directory {}: {e}",
            dir.display()
        ))
    })?;
    let secure = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::Startup(format!("cannot secure {}: {e}", path.display())))
    };
    if !existed {
        tracing::info!("created data directory {}", dir.display());
    }
    // The directory holds keys and the database: private. With a local agent, whose data
    // lives below it, other users may pass through it (but not list it), because every
    // game runs as a user of its own that must reach its server directory.
    if !existed || config.local_agent {
        secure(dir, if config.local_agent { 0o711 } else { 0o700 })?;
    }
    for name in PRIVATE_FILES {
        let path = dir.join(name);
        if *name == "panel.db" && config.database_url.is_none() && !path.exists() {
            // Created here so SQLite (which gives its WAL files the database's mode)
            // never makes it readable by others.
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| Error::Startup(format!("cannot create {}: {e}", path.display())))?;
        } else if path.exists() {
            secure(&path, 0o600)?;
        }
    }
    Ok(())
}
