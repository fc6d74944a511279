//! The SSH side of the SFTP server: one [`Connection`] per client. Logins are decided by
//! the panel; failures are throttled per address and per username before the panel is
//! asked; only a session channel with the `sftp` subsystem is served.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cap_protocol::sftp::{SftpCredential, SftpGrant, SftpQuestion, SftpVerdict};
use russh::server::{
    Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Server, Session, VerifiedPublicKey,
};
use russh::{Channel, ChannelId};
use tokio_util::sync::CancellationToken;

use super::fs::SftpFs;
use super::link::PanelLink;
use super::throttle::{Failures, SessionSlot, Sessions};
use super::SftpConfig;
use crate::supervisor::Supervisor;

/// What every connection shares.
pub struct Shared {
    pub config: SftpConfig,
    pub supervisor: Arc<Supervisor>,
    pub panel: Arc<PanelLink>,
    by_ip: Failures,
    by_user: Failures,
    sessions: Arc<Sessions>,
}

impl Shared {
    pub fn new(
        config: SftpConfig,
        supervisor: Arc<Supervisor>,
        panel: Arc<PanelLink>,
    ) -> Arc<Self> {
        let window = Duration::from_secs(config.throttle_window_secs.max(1));
        Arc::new(Self {
            by_ip: Failures::new(config.max_failures_per_ip, window),
            by_user: Failures::new(config.max_failures_per_user, window),
            sessions: Sessions::new(config.max_sessions_per_user, config.max_sessions),
            config,
            supervisor,
            panel,
        })
    }
}

/// Accept connections until `stop` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    ssh: Arc<russh::server::Config>,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let mut acceptor = Acceptor { shared };
    let running = acceptor.run_on_socket(ssh, &listener);
    let handle = running.handle();
    tokio::select! {
        result = running => {
            if let Err(e) = result {
                tracing::warn!("SFTP server stopped: {e}");
            }
        }
        () = stop.cancelled() => handle.shutdown("the agent is stopping".into()),
    }
}

struct Acceptor {
    shared: Arc<Shared>,
}

impl Server for Acceptor {
    type Handler = Connection;

    fn new_client(&mut self, peer: Option<SocketAddr>) -> Connection {
        Connection {
            shared: self.shared.clone(),
            ip: peer.map(|p| p.ip().to_string()).unwrap_or_default(),
            login: None,
            channels: HashMap::new(),
        }
    }
}

struct Login {
    grant: SftpGrant,
    _slot: SessionSlot,
}

/// One SSH connection.
pub struct Connection {
    shared: Arc<Shared>,
    ip: String,
    login: Option<Login>,
    channels: HashMap<ChannelId, Channel<Msg>>,
}

/// Whether `username` has the form `<panel username>.<8 hex digits>`.
fn well_formed(username: &str) -> bool {
    username.rsplit_once('.').is_some_and(|(user, short)| {
        !user.is_empty() && short.len() == 8 && short.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

impl Connection {
    async fn login(&mut self, username: &str, credential: SftpCredential) -> Auth {
        let key = username.to_lowercase();
        if !well_formed(&key) {
            return Auth::reject();
        }
        if self.shared.by_ip.blocked(&self.ip) || self.shared.by_user.blocked(&key) {
            tracing::info!(ip = %self.ip, username = %key, "SFTP login throttled after repeated failures");
            return Auth::reject();
        }
        let question = SftpQuestion::SftpLogin {
            username: key.clone(),
            credential,
            client_ip: self.ip.clone(),
        };
        let grant = match self.shared.panel.ask(question).await {
            Ok(SftpVerdict::Granted(grant)) => grant,
            Ok(SftpVerdict::Refused { reason }) => {
                self.shared.by_ip.fail(&self.ip);
                self.shared.by_user.fail(&key);
                tracing::info!(ip = %self.ip, username = %key, "SFTP login refused: {reason}");
                return Auth::reject();
            }
            Err(unreachable) => {
                tracing::warn!(
                    ip = %self.ip, username = %key,
                    "SFTP login refused because the panel cannot be asked: {}", unreachable.0
                );
                return Auth::reject();
            }
        };
        if self.shared.supervisor.get(grant.server_id).is_err() {
            tracing::warn!(server = %grant.server_id, "SFTP login for a server this node does not hold");
            return Auth::reject();
        }
        match self.shared.sessions.claim(&grant.user_id) {
            Ok(slot) => {
                self.login = Some(Login { grant, _slot: slot });
                Auth::Accept
            }
            Err(why) => {
                tracing::info!(ip = %self.ip, username = %key, "SFTP login refused: {why}");
                Auth::reject()
            }
        }
    }
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        let credential = SftpCredential::Password {
            password: password.to_owned(),
        };
        Ok(self.login(user, credential).await)
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        _offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(if well_formed(&user.to_lowercase()) {
            Auth::Accept
        } else {
            Auth::reject()
        })
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let Ok(public_key) = key.public_key.to_openssh() else {
            return Ok(Auth::reject());
        };
        Ok(self
            .login(user, SftpCredential::PublicKey { public_key })
            .await)
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.login.is_none() || !self.channels.is_empty() {
            return Ok(());
        }
        self.channels.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn subsystem_request(
        &mut self,
        channel_id: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let (Some(login), true) = (&self.login, name == "sftp") else {
            return session.channel_failure(channel_id);
        };
        let Some(channel) = self.channels.remove(&channel_id) else {
            return session.channel_failure(channel_id);
        };
        let Ok(server) = self.shared.supervisor.get(login.grant.server_id) else {
            return session.channel_failure(channel_id);
        };
        let fs = match SftpFs::open(self.shared.clone(), server, login.grant.clone()) {
            Ok(fs) => fs,
            Err(e) => {
                tracing::warn!("cannot open the server directory for SFTP: {e}");
                return session.channel_failure(channel_id);
            }
        };
        session.channel_success(channel_id)?;
        let config = russh_sftp::server::Config {
            max_client_packet_len: 256 * 1024 + 1024,
        };
        russh_sftp::server::run_with_config(channel.into_stream(), fs, config).await;
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.close(channel)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn usernames_need_a_short_server_id() {
        assert!(super::well_formed("alice.0a1b2c3d"));
        assert!(super::well_formed("first.last.0a1b2c3d"));
        for bad in [
            "alice",
            "alice.",
            ".0a1b2c3d",
            "alice.0a1b2c3",
            "alice.0a1b2c3g",
        ] {
            assert!(!super::well_formed(bad), "{bad}");
        }
    }
}
