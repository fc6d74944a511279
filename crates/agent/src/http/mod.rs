//! The HTTP API: router, middleware and handlers (thin; the services hold the logic).

pub mod auth;
pub mod envelope;
pub mod extract;
mod routes;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post, put};
use axum::Router;
use tokio_util::sync::CancellationToken;

use crate::backup::Backups;
use crate::bus::EventBus;
use crate::error::AgentError;
use crate::schedule::Scheduler;
use crate::supervisor::Supervisor;

/// JSON bodies larger than this are refused (file writes have their own limit).
const JSON_BODY_LIMIT: usize = 1024 * 1024;

/// A backup request may carry up to 10 000 presigned part URLs.
const BACKUP_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The servers.
    pub supervisor: Arc<Supervisor>,
    /// Events.
    pub bus: Arc<EventBus>,
    /// Backups and restores.
    pub backups: Arc<Backups>,
    /// Schedules.
    pub scheduler: Arc<Scheduler>,
    /// When the agent started.
    pub started: Instant,
    /// Fires when the agent shuts down (closes WebSockets).
    pub shutdown: CancellationToken,
    /// Questions to the panel over its event sockets (SFTP logins).
    pub panel: Arc<crate::sftp::PanelLink>,
    /// The SFTP server's port and host key, when it listens.
    pub sftp: Option<cap_protocol::sftp::SftpInfo>,
}

/// The complete router.
pub fn router(state: AppState, token: auth::TokenCheck) -> Router {
    let edit_limit = usize::try_from(state.supervisor.config().files.max_edit_bytes)
        .unwrap_or(usize::MAX)
        .saturating_mul(2)
        .saturating_add(4096);
    let files = Router::new()
        .route("/list", get(routes::files::list))
        .route("/stat", get(routes::files::stat))
        .route("/read", get(routes::files::read))
        .route(
            "/write",
            post(routes::files::write).layer(DefaultBodyLimit::max(edit_limit)),
        )
        .route("/mkdir", post(routes::files::mkdir))
        .route("/rename", post(routes::files::rename))
        .route("/copy", post(routes::files::copy))
        .route("/delete", post(routes::files::delete))
        .route("/chmod", post(routes::files::chmod))
        .route(
            "/upload",
            put(routes::files::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/download", get(routes::files::download))
        .route("/compress", post(routes::files::compress))
        .route("/decompress", post(routes::files::decompress));
    let api = Router::new()
        .route("/system", get(routes::system::info))
        .route("/images", get(routes::system::images))
        .route("/ports/{port}", get(routes::system::port))
        .route("/command", post(routes::servers::command))
        .route("/events", get(routes::events::subscribe))
        .route("/servers", get(routes::servers::list))
        .route(
            "/servers/{id}",
            get(routes::servers::get)
                .put(routes::servers::define)
                .delete(routes::servers::remove),
        )
        .route("/servers/{id}/install", post(routes::servers::install))
        .route("/servers/{id}/stats", get(routes::servers::stats))
        .route(
            "/servers/{id}/console",
            get(routes::servers::console_history).post(routes::servers::console_input),
        )
        .nest("/servers/{id}/files", files)
        .route(
            "/servers/{id}/backups",
            post(routes::backups::create).layer(DefaultBodyLimit::max(BACKUP_BODY_LIMIT)),
        )
        .route(
            "/servers/{id}/backups/{backup}/restore",
            post(routes::backups::restore),
        )
        .route("/servers/{id}/restore", get(routes::backups::last_restore))
        .route(
            "/servers/{id}/schedules/{schedule}/run",
            post(routes::schedules::run),
        )
        .route("/servers/{id}/schedule-runs", get(routes::schedules::runs))
        .route("/backups", get(routes::backups::list))
        .route(
            "/backups/{id}",
            get(routes::backups::get).delete(routes::backups::delete),
        )
        .route("/backups/{id}/download", get(routes::backups::download))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(token, auth::require_token));
    Router::new()
        .route("/health", get(routes::system::health))
        .nest("/api", api)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(middleware::from_fn(envelope::request_id))
        .with_state(state)
}

async fn not_found() -> AgentError {
    AgentError::NotFound("no such route".into())
}
