//! `/api/monitoring`: the health report and an overview of the panel and its nodes.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::Serialize;

use crate::error::Result;
use crate::http::access::{Access, ApiRoutes};
use crate::http::envelope::Envelope;
use crate::http::openapi::describe::Note;
use crate::services::health::{self, Fleet, HealthStatus, ProcessStats, Status};
use crate::state::AppState;

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    api.add(
        Method::GET,
        "/monitoring",
        Access::Permission("monitoring:view"),
        overview,
    )
    .add(
        Method::GET,
        "/monitoring/health",
        Access::Permission("monitoring:view"),
        health_report,
    )
    .note(Note::AlsoStatus(
        503,
        "Unhealthy: the same report, status `unhealthy`.",
    ))
}

/// 200 when healthy or degraded, 503 when unhealthy, so load balancers and probes can
/// act on the status code alone.
async fn health_report(State(state): State<AppState>) -> (StatusCode, Envelope<HealthStatus>) {
    let report = health::check(state.db(), state.uptime_secs()).await;
    let code = match report.status {
        Status::Unhealthy => StatusCode::SERVICE_UNAVAILABLE,
        Status::Healthy | Status::Degraded => StatusCode::OK,
    };
    (code, Envelope::ok(report))
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PanelStats {
    version: &'static str,
    database: &'static str,
    uptime: u64,
    #[serde(flatten)]
    process: ProcessStats,
}

#[derive(Serialize, JsonSchema)]
pub struct Overview {
    panel: PanelStats,
    #[serde(flatten)]
    fleet: Fleet,
}

async fn overview(State(state): State<AppState>) -> Result<Envelope<Overview>> {
    let process = health::process_stats().await?;
    let mut fleet = health::fleet(state.db()).await?;
    health::fill_resources(
        state.hub(),
        &mut fleet.nodes,
        std::time::Duration::from_secs(2),
    )
    .await;
    Ok(Envelope::ok(Overview {
        panel: PanelStats {
            version: env!("CARGO_PKG_VERSION"),
            database: crate::db::backend_name(state.db()),
            uptime: state.uptime_secs(),
            process,
        },
        fleet,
    }))
}
