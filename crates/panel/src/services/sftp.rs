//! SFTP logins and rights, decided for the agents (they serve SFTP but know no users).
//!
//! A login is `<panel username>.<server short id>` with the account password or one of
//! the account's SSH keys. It is granted to the server's owner, administrators, and
//! subusers holding `file:sftp`; never for disabled accounts, suspended or installing
//! servers, or servers on another node; password logins are refused for accounts with
//! two-factor sign-in on (the password alone is one factor: such accounts use a key). The file rights of the session are the caller's
//! `file:read`, `file:write` and `file:delete` on that server. Every login attempt is
//! audited with the client's address.

use std::future::Future;
use std::pin::Pin;

use cap_protocol::sftp::{SftpCredential, SftpGrant, SftpQuestion, SftpVerdict};
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use crate::agents::SftpAuthority;
use crate::auth::{password, Actor, Client};
use crate::db::entities::{server, user};
use crate::domain::ShortId;
use crate::error::{Error, Result};
use crate::permissions::ADMIN_ROLE;
use crate::repo;
use crate::services::audit::{self, Entry};
use crate::services::ssh_keys;
use crate::state::AppState;

/// Answers the agents from the database.
pub struct Authority {
    db: DatabaseConnection,
}

impl Authority {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

impl SftpAuthority for Authority {
    fn answer(
        &self,
        node_id: String,
        question: SftpQuestion,
    ) -> Pin<Box<dyn Future<Output = SftpVerdict> + Send>> {
        let db = self.db.clone();
        Box::pin(async move {
            let decided = match question {
                SftpQuestion::SftpLogin {
                    username,
                    credential,
                    client_ip,
                } => login(&db, &node_id, &username, &credential, &client_ip).await,
                SftpQuestion::SftpAccess { user_id, server_id } => {
                    access(&db, &node_id, &user_id, server_id).await
                }
            };
            decided.unwrap_or_else(|e| {
                tracing::warn!("cannot decide an SFTP question: {e}");
                refused("the panel could not check this login; try again later")
            })
        })
    }
}

fn refused(reason: &str) -> SftpVerdict {
    SftpVerdict::Refused {
        reason: reason.to_owned(),
    }
}

const BAD_LOGIN: &str = "invalid username or password";

/// Someone tried to log in; the attempt and its outcome are audited.
pub async fn login(
    db: &DatabaseConnection,
    node_id: &str,
    username: &str,
    credential: &SftpCredential,
    client_ip: &str,
) -> Result<SftpVerdict> {
    let client = Client {
        ip: client_ip.to_owned(),
        user_agent: "sftp".to_owned(),
        request_id: repo::new_id(),
    };
    let method = match credential {
        SftpCredential::Password { .. } => "password",
        SftpCredential::PublicKey { .. } => "publickey",
    };
    let (user, server) = find_target(db, node_id, username).await?;
    let mut key_id = None;
    let outcome = match (&user, &server) {
        (Some(user), Some(server)) => match check_credential(db, user, credential).await? {
            // A password alone is one factor: accounts with two-factor sign-in use a key.
            Some(None) if repo::two_factor::is_enabled(db, &user.id).await? => refused(
                "two-factor sign-in is on for this account: log in over SFTP with an SSH key",
            ),
            Some(key) => {
                key_id = key;
                decide(db, user, server).await?
            }
            None => refused(BAD_LOGIN),
        },
        _ => refused(BAD_LOGIN),
    };
    let txn = db.begin().await?;
    let (action, reason) = match &outcome {
        SftpVerdict::Granted(_) => ("sftp.login", None),
        SftpVerdict::Refused { reason } => ("sftp.login_failed", Some(reason.as_str())),
    };
    if let (SftpVerdict::Granted(_), Some(key)) = (&outcome, &key_id) {
        repo::ssh_keys::touch(&txn, key).await?;
    }
    let entry = Entry {
        user_id: user.as_ref().map(|u| u.id.as_str()),
        action,
        target_type: "server",
        target_id: server.as_ref().map(|s| s.id.as_str()),
        details: json!({ "username": username, "method": method, "reason": reason }),
    };
    audit::record(&txn, &client, entry).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// The rights `user_id` still holds on `server_id` (asked while a session is open).
pub async fn access(
    db: &DatabaseConnection,
    node_id: &str,
    user_id: &str,
    server_id: Uuid,
) -> Result<SftpVerdict> {
    let user = repo::users::find(db, user_id).await?;
    let server = repo::servers::find(db, &server_id.to_string()).await?;
    match (user, server) {
        (Some(user), Some(server)) if server.node_id.as_deref() == Some(node_id) => {
            decide(db, &user, &server).await
        }
        _ => Ok(refused("this session's server or account no longer exists")),
    }
}

/// The account and the server (on this node) a username names.
async fn find_target(
    db: &DatabaseConnection,
    node_id: &str,
    username: &str,
) -> Result<(Option<user::Model>, Option<server::Model>)> {
    let Some((name, short)) = username.rsplit_once('.') else {
        return Ok((None, None));
    };
    let Ok(short) = ShortId::parse(short) else {
        return Ok((None, None));
    };
    let user = repo::users::find_by_login(db, name).await?;
    let mut servers = repo::servers::by_short_id(db, &short, Some(node_id)).await?;
    // Two servers of one node sharing the digits cannot be told apart: refuse both.
    let server = if servers.len() == 1 {
        servers.pop()
    } else {
        None
    };
    Ok((user, server))
}

/// Whether the credential is the account's: `Some(key id)` for a key, `Some(None)` for
/// the password, `None` when it is not.
async fn check_credential(
    db: &DatabaseConnection,
    user: &user::Model,
    credential: &SftpCredential,
) -> Result<Option<Option<String>>> {
    match credential {
        SftpCredential::Password { password } => {
            let matches = password::verify(password.clone(), user.password_hash.clone()).await?;
            Ok(matches.then_some(None))
        }
        SftpCredential::PublicKey { public_key } => {
            let Some(fingerprint) = ssh_keys::fingerprint_of(public_key) else {
                return Ok(None);
            };
            Ok(repo::ssh_keys::find_by_fingerprint(db, &fingerprint)
                .await?
                .filter(|key| key.user_id == user.id)
                .map(|key| Some(key.id)))
        }
    }
}

/// Whether a (proven) user may use SFTP on a server now, and with which rights.
async fn decide(
    db: &DatabaseConnection,
    user: &user::Model,
    server: &server::Model,
) -> Result<SftpVerdict> {
    if user.disabled {
        return Ok(refused("this account is disabled"));
    }
    if server.suspended {
        return Ok(refused("this server is suspended"));
    }
    if server.state == "installing" {
        return Ok(refused(
            "this server is being installed; try again when it is done",
        ));
    }
    let Ok(server_id) = Uuid::parse_str(&server.id) else {
        return Ok(refused(BAD_LOGIN));
    };
    let held = if user.role == ADMIN_ROLE || server.owner_id == user.id {
        repo::permissions::effective(db, &user.id, &user.role).await?
    } else {
        match repo::subusers::find(db, &server.id, &user.id).await? {
            Some(subuser) => {
                let granted = repo::subusers::permissions(&subuser);
                if !granted.contains("file:sftp") {
                    return Ok(refused(
                        "you do not have the file:sftp permission on this server",
                    ));
                }
                granted
            }
            None => return Ok(refused(BAD_LOGIN)),
        }
    };
    Ok(SftpVerdict::Granted(SftpGrant {
        user_id: user.id.clone(),
        server_id,
        read: held.contains("file:read"),
        write: held.contains("file:write"),
        delete: held.contains("file:delete"),
    }))
}

/// How a caller reaches a server over SFTP.
pub struct Connection {
    /// The node's address.
    pub host: String,
    pub port: u16,
    /// `<caller's username>.<server short id>`.
    pub username: String,
    /// The node's host key, `SHA256:…`.
    pub host_key_fingerprint: String,
    pub read_only: bool,
}

/// The SFTP connection details of `server` for `actor`, from its node (which must be
/// online: the port and host key are the agent's own report).
pub async fn connection(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
) -> Result<Connection> {
    let node_id = server
        .node_id
        .as_deref()
        .ok_or_else(|| Error::Conflict("this server is not placed on a node".into()))?;
    let node = repo::nodes::find(state.db(), node_id)
        .await?
        .ok_or_else(|| Error::not_found("node"))?;
    let system = state.hub().online_client(node_id)?.system().await?;
    let sftp = system.sftp.ok_or_else(|| {
        Error::Conflict("SFTP is turned off on this server's node ([sftp] enabled = false)".into())
    })?;
    Ok(Connection {
        host: node.address,
        port: sftp.port,
        username: format!("{}.{}", actor.user.username, ShortId::of(&server.id)),
        host_key_fingerprint: sftp.host_key_fingerprint,
        read_only: sftp.read_only,
    })
}
