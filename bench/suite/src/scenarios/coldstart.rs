//! Cold start: panel process start → first `200` from `GET /health`, on a fresh data
//! directory (creates the database, keys and admin account) and on a populated one.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::procs::{Binaries, Panel, PanelOptions};
use crate::report::Report;
use crate::stack::{Ctx, Stack};
use crate::stats::{millis, percentile};
use crate::Result;

const S: &str = "coldstart";
const POPULATED_SERVERS: usize = 50;

/// Starts a panel on `data_dir` and returns it with the time from spawn to healthy.
pub async fn start_until_healthy(
    bins: &Binaries,
    data_dir: &Path,
    options: &PanelOptions,
) -> Result<(Panel, Duration)> {
    let panel = Panel::start(bins, data_dir, options).await?;
    let http = reqwest::Client::new();
    let url = format!("{}/health", panel.daemon.url);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = http.get(&url).send().await {
            if response.status().is_success() {
                let took = panel.daemon.spawned.elapsed();
                return Ok((panel, took));
            }
        }
        if Instant::now() > deadline {
            return Err(format!("GET {url} not healthy within 60 s").into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

pub async fn run(ctx: &Ctx, report: &mut Report) -> Result<()> {
    let runs = ctx.pick(5, 2);
    let options = PanelOptions::default();
    let mut fresh = Vec::new();
    for i in 0..runs {
        let (panel, took) =
            start_until_healthy(&ctx.bins, &ctx.scratch.join(format!("cold-{i}")), &options)
                .await?;
        fresh.push(took);
        panel.daemon.stop().await;
    }
    let fresh = millis(&fresh);
    report
        .add(
            S,
            "fresh data dir → /health OK (median)",
            percentile(&fresh, 0.5),
            "ms",
        )
        .note(format!(
            "{runs} starts; max {:.0} ms",
            percentile(&fresh, 1.0)
        ));

    // Populate a data directory, then restart the panel on it (its agent stopped: the
    // panel comes up without waiting for nodes).
    let stack = Stack::start(ctx, "cold-populated", &options, "").await?;
    let data_dir = stack.panel.daemon.data_dir.clone();
    let created = stack.servers("cold", POPULATED_SERVERS).await;
    stack.stop().await;
    created?;
    let mut populated = Vec::new();
    for _ in 0..runs {
        let (panel, took) = start_until_healthy(&ctx.bins, &data_dir, &options).await?;
        populated.push(took);
        panel.daemon.stop().await;
    }
    let populated = millis(&populated);
    report
        .add(
            S,
            "populated data dir → /health OK (median)",
            percentile(&populated, 0.5),
            "ms",
        )
        .note(format!(
            "1 node, {POPULATED_SERVERS} servers; {runs} starts"
        ));
    Ok(())
}
