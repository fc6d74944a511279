//! Liveness: answers as long as the process serves HTTP.

use axum::extract::State;
use serde::Serialize;

use super::envelope::Envelope;
use crate::state::AppState;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Liveness {
    status: &'static str,
    service: &'static str,
    version: &'static str,
    uptime: u64,
}

pub async fn liveness(State(state): State<AppState>) -> Envelope<Liveness> {
    Envelope::ok(Liveness {
        status: "ok",
        service: "ctrl-alt-play-panel",
        version: env!("CARGO_PKG_VERSION"),
        uptime: state.uptime_secs(),
    })
}
