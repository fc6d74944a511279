//! A short-lived cache of resolved callers, so a request with a known token does not
//! re-read the user, session and permissions. Entries are keyed on the token *and* how it
//! was presented, so a session token is never taken as an API key or the other way
//! round, cached or not. Entries live at most [`TTL`]; any write
//! that can change who someone is or what they may do (password, role, disabled flag,
//! permission grants, session or API-key revocation) bumps the storage layer's access
//! counter (`repo::epochs`), which empties every cache in the process at once.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::identity::{Credential, Principal};

/// How a credential reached the panel; each transport carries exactly one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// `Authorization: Bearer`: an API key.
    Bearer,
    /// The access-token cookie: a browser session.
    Cookie,
}

impl Transport {
    /// Whether `credential` is the kind this transport carries.
    fn carries(self, credential: &Credential) -> bool {
        matches!(
            (self, credential),
            (Transport::Bearer, Credential::ApiKey { .. })
                | (Transport::Cookie, Credential::Session { .. })
        )
    }
}

/// How long a resolved caller is reused. Also the longest a change made by another
/// panel process sharing the database can take to be noticed.
pub const TTL: Duration = Duration::from_secs(2);
/// More distinct tokens than this in [`TTL`] and the cache starts over.
const MAX_ENTRIES: usize = 10_000;

/// The current invalidation epoch; take it before resolving, give it to [`PrincipalCache::put`].
/// Where the storage layer's access counter stands: cached callers resolved at an older
/// value are stale.
pub fn epoch() -> u64 {
    crate::repo::epochs::access()
}

struct Entry {
    principal: Principal,
    cached_at: Instant,
    epoch: u64,
    /// When the credential itself stops being valid (access-token expiry).
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct PrincipalCache {
    entries: RwLock<HashMap<(Transport, String), Entry>>,
}

impl PrincipalCache {
    pub fn get(&self, transport: Transport, token: &str) -> Option<Principal> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(&(transport, token.to_owned()))?;
        let fresh = transport.carries(&entry.principal.credential)
            && entry.epoch == epoch()
            && entry.cached_at.elapsed() < TTL
            && entry.expires_at.is_none_or(|at| at > Utc::now());
        fresh.then(|| entry.principal.clone())
    }

    /// Caches `principal` unless something was invalidated since `resolved_at_epoch`.
    pub fn put(
        &self,
        transport: Transport,
        token: &str,
        principal: Principal,
        resolved_at_epoch: u64,
        expires_at: Option<DateTime<Utc>>,
    ) {
        if resolved_at_epoch != epoch() || !transport.carries(&principal.credential) {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            (transport, token.to_owned()),
            Entry {
                principal,
                cached_at: Instant::now(),
                epoch: resolved_at_epoch,
                expires_at,
            },
        );
    }
}
