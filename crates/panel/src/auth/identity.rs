//! Who a caller is once resolved: their account, effective permissions and credential.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::db::entities::user;
use crate::permissions::ADMIN_ROLE;

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// Browser session (cookie); the family id of its refresh-token chain.
    Session { family_id: String },
    /// `Authorization: Bearer` API key, of one family.
    ApiKey { id: String, family: KeyFamily },
}

/// Which API an API key opens: each family opens only its own.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum KeyFamily {
    /// `cap_…`: this panel's API under `/api`.
    Panel,
    /// `ptlc_…`: the Pterodactyl-compatible client API under `/api/client`.
    PterodactylClient,
}

impl KeyFamily {
    pub const ALL: [KeyFamily; 2] = [KeyFamily::Panel, KeyFamily::PterodactylClient];

    /// What every key of the family starts with.
    pub fn prefix(self) -> &'static str {
        match self {
            KeyFamily::Panel => "cap_",
            KeyFamily::PterodactylClient => "ptlc_",
        }
    }

    /// The name stored with the key.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyFamily::Panel => "panel",
            KeyFamily::PterodactylClient => "pterodactyl_client",
        }
    }

    /// The family a stored name stands for (unknown names open nothing).
    pub fn from_stored(name: &str) -> Option<KeyFamily> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

/// An authenticated caller and their effective permissions.
#[derive(Debug)]
pub struct Identity {
    pub user: user::Model,
    pub permissions: BTreeSet<String>,
    pub credential: Credential,
    /// The panel requires two-factor sign-in of this account and it is not on yet: the
    /// session reaches only the account's own sign-in settings (API keys are never set).
    pub two_factor_setup_required: bool,
}

/// A shared [`Identity`]: cheap to clone into request extensions and the cache.
#[derive(Debug, Clone)]
pub struct Principal(Arc<Identity>);

impl std::ops::Deref for Principal {
    type Target = Identity;

    fn deref(&self) -> &Identity {
        &self.0
    }
}

impl Principal {
    pub fn new(identity: Identity) -> Principal {
        Principal(Arc::new(identity))
    }
}

impl Identity {
    pub fn id(&self) -> &str {
        &self.user.id
    }

    pub fn is_admin(&self) -> bool {
        self.user.role == ADMIN_ROLE
    }

    pub fn has(&self, key: &str) -> bool {
        self.permissions.contains(key)
    }

    pub fn uses_cookie(&self) -> bool {
        matches!(self.credential, Credential::Session { .. })
    }
}
