//! Shared application state handed to every handler.

use std::sync::Arc;
use std::time::Instant;

use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::secrets::Secrets;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    config: Config,
    secrets: Secrets,
    started_at: Instant,
}

impl AppState {
    pub fn new(db: DatabaseConnection, config: Config, secrets: Secrets) -> Self {
        AppState {
            inner: Arc::new(Inner {
                db,
                config,
                secrets,
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

    pub fn uptime_secs(&self) -> u64 {
        self.inner.started_at.elapsed().as_secs()
    }
}
