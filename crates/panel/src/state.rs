//! Shared application state handed to every handler.

use std::sync::Arc;
use std::time::Instant;

use sea_orm::DatabaseConnection;

use crate::agents::AgentHub;
use crate::auth::cache::PrincipalCache;
use crate::config::Config;
use crate::limits::RateLimits;
use crate::secrets::Secrets;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    config: Config,
    secrets: Secrets,
    hub: AgentHub,
    principals: PrincipalCache,
    limits: RateLimits,
    started_at: Instant,
}

impl AppState {
    pub fn new(db: DatabaseConnection, config: Config, secrets: Secrets) -> Self {
        let hub = AgentHub::new(db.clone(), secrets.clone());
        AppState {
            inner: Arc::new(Inner {
                db,
                limits: RateLimits::new(&config),
                config,
                secrets,
                hub,
                principals: PrincipalCache::default(),
                started_at: Instant::now(),
            }),
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn secrets(&self) -> &Secrets {
        &self.inner.secrets
    }

    /// Connections to the agents.
    pub fn hub(&self) -> &AgentHub {
        &self.inner.hub
    }

    /// Recently resolved callers, by token.
    pub fn principals(&self) -> &PrincipalCache {
        &self.inner.principals
    }

    pub fn limits(&self) -> &RateLimits {
        &self.inner.limits
    }

    pub fn uptime_secs(&self) -> u64 {
        self.inner.started_at.elapsed().as_secs()
    }
}
