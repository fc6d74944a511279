//! Footprint: RSS and CPU of an idle panel and agent, then of the agent (and panel) with
//! 20 and 100 running test servers (stats collection on, as always).

use std::time::Duration;

use crate::procs::{games_under, measure_over, total_rss_mib, PanelOptions};
use crate::report::{Report, Target};
use crate::stack::{Ctx, Stack};
use crate::Result;

const S: &str = "footprint";

pub async fn run(ctx: &Ctx, report: &mut Report) -> Result<()> {
    let window = Duration::from_secs(ctx.pick(10, 3));
    let stack = Stack::start(ctx, S, &PanelOptions::default(), "").await?;
    let result = measure(ctx, &stack, window, report).await;
    stack.stop().await;
    result
}

async fn measure(ctx: &Ctx, stack: &Stack, window: Duration, report: &mut Report) -> Result<()> {
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (panel_cpu, panel_rss) = measure_over(stack.panel.daemon.pid, window).await;
    let (agent_cpu, agent_rss) = measure_over(stack.agent.daemon.pid, window).await;
    report.add(S, "idle panel RSS (1 node, 0 servers)", panel_rss, "MiB");
    report.add(S, "idle panel CPU", panel_cpu, "%core");
    report
        .add(S, "idle agent RSS", agent_rss, "MiB")
        .target(Target::AtMost(10.0));
    report.add(S, "idle agent CPU", agent_cpu, "%core");

    let mut running = Vec::new();
    for count in ctx.pick([20, 100], [5, 10]) {
        let ids = stack
            .servers(&format!("fp{count}"), count - running.len())
            .await?;
        stack.start_all(&ids).await?;
        running.extend(ids);
        // Let a few stats rounds pass before measuring.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (agent_cpu, agent_rss) = measure_over(stack.agent.daemon.pid, window).await;
        let (panel_cpu, panel_rss) = measure_over(stack.panel.daemon.pid, window).await;
        let games = games_under(&stack.agent.daemon.data_dir);
        report.add(
            S,
            format!("agent RSS, {count} running servers"),
            agent_rss,
            "MiB",
        );
        report.add(
            S,
            format!("agent CPU, {count} running servers"),
            agent_cpu,
            "%core",
        );
        report.add(
            S,
            format!("panel RSS, {count} running servers"),
            panel_rss,
            "MiB",
        );
        report.add(
            S,
            format!("panel CPU, {count} running servers"),
            panel_cpu,
            "%core",
        );
        report
            .add(
                S,
                format!("test-game RSS per process, {count} running"),
                total_rss_mib(&games) / games.len().max(1) as f64,
                "MiB",
            )
            .note(format!("{} processes found", games.len()));
    }
    Ok(())
}
