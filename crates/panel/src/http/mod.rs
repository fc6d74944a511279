//! The HTTP surface: routes by domain, the middleware stack, the envelope.

pub mod envelope;
mod health;
mod request_id;

use axum::routing::get;
use axum::{middleware, Router};

use crate::error::Error;
use crate::state::AppState;

/// Builds the complete router with its middleware.
pub fn router(state: AppState) -> Router {
    let api = Router::new().fallback(api_not_found);
    Router::new()
        .route("/health", get(health::liveness))
        .nest("/api", api)
        .with_state(state)
        .layer(middleware::from_fn(request_id::middleware))
}

async fn api_not_found() -> Error {
    Error::NotFound("no such API route".into())
}
