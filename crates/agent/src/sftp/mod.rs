//! The node's SFTP server: every server's directory over SFTP, authorised by the panel
//! and jailed like the file API.
//!
//! - `link`: questions to the panel over the event WebSocket (login, access refresh).
//! - `session`: the SSH side — host key, authentication, throttling, session limits;
//!   only the `sftp` subsystem is served (no shell, exec or forwarding).
//! - `fs`: the SFTP operations on one server directory through [`crate::files::jail`],
//!   with the rights re-checked (and refreshed from the panel every few seconds) on every
//!   operation.

mod fs;
pub mod link;
mod session;
mod throttle;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cap_protocol::sftp::SftpInfo;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::ssh_key::LineEnding;
use russh::keys::{HashAlg, PrivateKey};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::error::{AgentError, AgentResult};
use crate::supervisor::Supervisor;
pub use link::PanelLink;

/// The host key file inside the data directory.
const HOST_KEY_FILE: &str = "sftp_host_ed25519_key";

/// SFTP settings (TOML table `[sftp]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SftpConfig {
    /// Serve SFTP at all.
    pub enabled: bool,
    /// Address to listen on; when it is the default and its port is taken, a free port
    /// is used instead (and reported to the panel).
    pub listen: SocketAddr,
    /// Refuse every change (uploads, renames, new directories, removals) on this node.
    pub read_only: bool,
    /// A session with no traffic for this long is closed, seconds.
    pub idle_timeout_secs: u64,
    /// Open SFTP sessions per panel user on this node.
    pub max_sessions_per_user: usize,
    /// Open SFTP sessions on this node.
    pub max_sessions: usize,
    /// Open files and directories per session.
    pub max_handles: usize,
    /// Failed logins per client address within `throttle_window_secs` before further
    /// attempts from it are refused without asking the panel.
    pub max_failures_per_ip: u32,
    /// Failed logins per username within the window before it is refused the same way.
    pub max_failures_per_user: u32,
    /// The throttling window, seconds.
    pub throttle_window_secs: u64,
    /// How long a session trusts the rights it last heard from the panel, seconds.
    pub recheck_secs: u64,
}

/// The default SFTP address.
pub const DEFAULT_SFTP_LISTEN: ([u8; 4], u16) = ([0, 0, 0, 0], 2022);

impl Default for SftpConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: SocketAddr::from(DEFAULT_SFTP_LISTEN),
            read_only: false,
            idle_timeout_secs: 600,
            max_sessions_per_user: 8,
            max_sessions: 128,
            max_handles: 64,
            max_failures_per_ip: 10,
            max_failures_per_user: 5,
            throttle_window_secs: 300,
            recheck_secs: 5,
        }
    }
}

/// A bound SFTP server, ready to serve.
pub struct SftpServer {
    listener: tokio::net::TcpListener,
    info: SftpInfo,
    key: PrivateKey,
}

impl SftpServer {
    /// Load (or create, 0600) the host key and bind the configured address, falling back
    /// to a free port when the default one is taken.
    pub fn bind(config: &SftpConfig, data_dir: &Path) -> AgentResult<Self> {
        let key = load_or_generate_key(&data_dir.join(HOST_KEY_FILE))?;
        let listener = match std::net::TcpListener::bind(config.listen) {
            Ok(listener) => listener,
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse
                    && config.listen.port() == DEFAULT_SFTP_LISTEN.1 =>
            {
                let fallback = std::net::TcpListener::bind(SocketAddr::new(config.listen.ip(), 0))?;
                tracing::warn!(
                    "SFTP port {} is in use; falling back to free port {}",
                    config.listen.port(),
                    fallback.local_addr()?.port()
                );
                fallback
            }
            Err(e) => {
                return Err(AgentError::Config(format!(
                    "cannot listen for SFTP on {}: {e}",
                    config.listen
                )))
            }
        };
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let info = SftpInfo {
            port,
            host_key_fingerprint: key.public_key().fingerprint(HashAlg::Sha256).to_string(),
            read_only: config.read_only,
        };
        Ok(Self {
            listener: tokio::net::TcpListener::from_std(listener)?,
            info,
            key,
        })
    }

    /// Port and host key fingerprint, as reported to the panel.
    pub fn info(&self) -> &SftpInfo {
        &self.info
    }

    /// Serve until `stop` is cancelled.
    pub async fn serve(
        self,
        config: SftpConfig,
        supervisor: Arc<Supervisor>,
        panel: Arc<PanelLink>,
        stop: CancellationToken,
    ) {
        tracing::info!(
            "SFTP on port {} (host key {})",
            self.info.port,
            self.info.host_key_fingerprint
        );
        let ssh = Arc::new(russh::server::Config {
            server_id: russh::SshId::Standard("SSH-2.0-cap-agent".into()),
            methods: russh::MethodSet::from(
                &[russh::MethodKind::Password, russh::MethodKind::PublicKey][..],
            ),
            keys: vec![self.key],
            inactivity_timeout: Some(Duration::from_secs(config.idle_timeout_secs.max(1))),
            auth_rejection_time: Duration::from_secs(1),
            auth_rejection_time_initial: Some(Duration::ZERO),
            max_auth_attempts: 6,
            nodelay: true,
            window_size: 8 * 1024 * 1024,
            ..Default::default()
        });
        session::serve(
            self.listener,
            ssh,
            session::Shared::new(config, supervisor, panel),
            stop,
        )
        .await;
    }
}

/// The ed25519 host key: read from `path`, or generated and written there (0600).
fn load_or_generate_key(path: &Path) -> AgentResult<PrivateKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => PrivateKey::from_openssh(text.trim())
            .map_err(|e| AgentError::Config(format!("cannot read {}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let seed: [u8; 32] = rand::random();
            let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
            let text = key
                .to_openssh(LineEnding::LF)
                .map_err(|e| AgentError::Config(format!("cannot encode the host key: {e}")))?;
            crate::tls::write_private(path, text.as_bytes())?;
            Ok(key)
        }
        Err(e) => Err(e.into()),
    }
}
