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
    /// `Authorization: Bearer` API key.
    ApiKey { id: String },
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
