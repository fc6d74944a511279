//! `/api/auth/ssh-keys`: the caller's SSH public keys for SFTP logins.

use axum::extract::{Path, State};
use axum::http::Method;
use chrono::{DateTime, Utc};
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::auth::Actor;
use crate::db::entities::ssh_key;
use crate::domain::Name;
use crate::error::Result;
use crate::http::access::{Access, ApiRoutes};
use crate::http::envelope::Envelope;
use crate::http::extract::ValidJson;
use crate::services::ssh_keys;
use crate::state::AppState;

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    api.add(Method::GET, "/auth/ssh-keys", Access::Authenticated, list)
        .add(Method::POST, "/auth/ssh-keys", Access::Authenticated, add)
        .add(
            Method::DELETE,
            "/auth/ssh-keys/{key_id}",
            Access::Authenticated,
            remove,
        )
}

/// An SSH key as the API shows it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SshKeyView {
    pub id: String,
    pub name: String,
    pub algorithm: String,
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    pub public_key: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<ssh_key::Model> for SshKeyView {
    fn from(k: ssh_key::Model) -> Self {
        SshKeyView {
            id: k.id,
            name: k.name,
            algorithm: k.algorithm,
            fingerprint: k.fingerprint,
            public_key: k.public_key,
            last_used_at: k.last_used_at,
            created_at: k.created_at,
        }
    }
}

async fn list(State(state): State<AppState>, actor: Actor) -> Result<Envelope<Vec<SshKeyView>>> {
    let keys = ssh_keys::list(state.db(), &actor).await?;
    Ok(Envelope::ok(
        keys.into_iter().map(SshKeyView::from).collect(),
    ))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AddSshKey {
    #[garde(skip)]
    name: Name<100>,
    /// One line in OpenSSH form (`ssh-ed25519 AAAA… comment`).
    #[garde(length(max = 16384))]
    public_key: String,
}

async fn add(
    State(state): State<AppState>,
    actor: Actor,
    ValidJson(body): ValidJson<AddSshKey>,
) -> Result<Envelope<SshKeyView>> {
    let key = ssh_keys::add(state.db(), &actor, body.name.into(), &body.public_key).await?;
    Ok(Envelope::ok(SshKeyView::from(key)).with_message("SSH key added"))
}

async fn remove(
    State(state): State<AppState>,
    actor: Actor,
    Path(key_id): Path<String>,
) -> Result<Envelope<()>> {
    ssh_keys::remove(state.db(), &actor, &key_id).await?;
    Ok(Envelope::ok(()).with_message("SSH key removed"))
}
