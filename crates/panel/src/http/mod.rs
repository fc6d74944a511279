//! The HTTP surface: routes by domain, the middleware stack, the envelope.

pub mod access;
pub mod envelope;
pub mod extract;
mod health;
pub mod metrics;
pub mod openapi;
mod paths;
pub mod pterodactyl;
pub mod rate_limit;
mod request_id;
pub mod routes;
pub mod security;
mod ui;

use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::{middleware, Extension, Router};
use tower::ServiceBuilder;

use crate::error::Error;
use crate::services::servers::listing::ServerPages;
use crate::state::AppState;
use access::{ApiRoutes, RouteSpec};

/// Largest JSON body accepted (file uploads stream through their own routes).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Longest a plain request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Every API route with its access rule, in registration order.
fn api(state: AppState) -> ApiRoutes {
    let api = ApiRoutes::new(state);
    let api = routes::docs::routes(api);
    let api = routes::auth::routes(api);
    let api = routes::two_factor::routes(api);
    let api = routes::ssh_keys::routes(api);
    let api = routes::sftp::routes(api);
    let api = routes::permissions::routes(api);
    let api = routes::users::routes(api);
    let api = routes::audit::routes(api);
    let api = routes::monitoring::routes(api);
    let api = routes::templates::routes(api);
    let api = routes::nodes::routes(api);
    let api = routes::allocations::routes(api);
    let api = routes::database_hosts::routes(api);
    let api = routes::databases::routes(api);
    routes::servers::routes(api)
}

/// The declared API routes, for the OpenAPI document and the RBAC matrix test.
pub fn route_specs(state: AppState) -> Vec<RouteSpec> {
    api(state).into_parts().1
}

/// Builds the complete router with its middleware.
pub fn router(state: AppState) -> Router {
    let (api, specs) = api(state.clone()).into_parts();
    let openapi = openapi::OpenApiJson::build(&specs);
    let http_metrics = metrics::Metrics::new(state.clone());
    Router::new()
        .route("/health", get(health::liveness))
        .route("/metrics", http_metrics.route())
        .nest(
            "/api",
            api.nest("/client", pterodactyl::router(state.clone()))
                .fallback(api_not_found)
                .layer(Extension(openapi))
                .layer(Extension(Arc::new(ServerPages::default()))),
        )
        .fallback(ui::serve)
        .layer(middleware::from_fn(paths::utf8_only))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::csrf,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            rate_limit::general,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                    Error::Timeout
                }))
                .timeout(REQUEST_TIMEOUT),
        )
        .layer(middleware::from_fn(security::headers))
        .layer(middleware::from_fn(request_id::middleware))
        .layer(middleware::from_fn_with_state(http_metrics, metrics::track))
        .with_state(state)
}

async fn api_not_found() -> Error {
    Error::NotFound("no such API route".into())
}
