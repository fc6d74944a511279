//! The general per-client rate limit as middleware (the limits themselves live in
//! [`crate::limits`], where logins and console sockets are checked too).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

pub async fn general(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_default();
    if let Err(e) = state.limits().check_general(ip) {
        return e.into_response();
    }
    next.run(request).await
}
