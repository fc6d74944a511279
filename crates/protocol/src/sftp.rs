//! SFTP logins, decided by the panel and asked for on the event WebSocket.
//!
//! The agent serves SFTP itself but knows no users. When someone logs in, it sends an
//! [`SftpRequest`] text frame up the event WebSocket the panel holds open to it (so the
//! agent needs no panel address and works behind NAT); the panel answers with an
//! [`SftpAnswer`] frame carrying the same `requestId`. While a session is open the agent
//! asks again ([`SftpQuestion::SftpAccess`]) every few seconds, so a revoked permission
//! takes effect on an open session.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How the SFTP server of a node can be reached (part of [`crate::system::SystemInfo`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SftpInfo {
    /// The port it listens on.
    pub port: u16,
    /// The host key's fingerprint as OpenSSH prints it (`SHA256:…`).
    pub host_key_fingerprint: String,
    /// Whether the node refuses every change over SFTP.
    pub read_only: bool,
}

/// Agent → panel: a question with an id the answer repeats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SftpRequest {
    /// Chosen by the agent, unique among its open questions.
    pub request_id: u64,
    /// The question, tagged by `type`.
    #[serde(flatten)]
    pub question: SftpQuestion,
}

/// What the agent asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum SftpQuestion {
    /// May `username` (`<panel username>.<server short id>`) log in with `credential`?
    /// The panel records the attempt in its audit log.
    SftpLogin {
        /// As typed by the client.
        username: String,
        /// What the client proved.
        credential: SftpCredential,
        /// The client's address, for the audit log.
        client_ip: String,
    },
    /// What may this user still do on this server (asked during a session)?
    SftpAccess {
        /// The user granted at login.
        user_id: String,
        /// The server of the session.
        server_id: Uuid,
    },
}

/// A login credential.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "method",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum SftpCredential {
    /// The account password.
    Password {
        /// As typed.
        password: String,
    },
    /// A public key whose possession the agent verified (OpenSSH one-line form).
    PublicKey {
        /// `ssh-ed25519 AAAA…`.
        public_key: String,
    },
}

impl std::fmt::Debug for SftpCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Password { .. } => f.write_str("Password(…)"),
            Self::PublicKey { public_key } => write!(f, "PublicKey({public_key})"),
        }
    }
}

/// Panel → agent: the answer to [`SftpRequest`] `request_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SftpAnswer {
    /// The id of the question.
    pub request_id: u64,
    /// Granted with these rights, or refused.
    pub verdict: SftpVerdict,
}

/// The panel's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "outcome",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum SftpVerdict {
    /// Allowed.
    Granted(SftpGrant),
    /// Not allowed; `reason` is safe to show to the client.
    Refused {
        /// Plain words.
        reason: String,
    },
}

/// Who logged in, to which server, and which file rights they hold there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SftpGrant {
    /// The panel user.
    pub user_id: String,
    /// The server whose directory the session sees.
    pub server_id: Uuid,
    /// `file:read`: list, stat, download.
    pub read: bool,
    /// `file:write`: upload, rename, mkdir, change modes.
    pub write: bool,
    /// `file:delete`: remove files and directories.
    pub delete: bool,
}
