//! Scale: one panel, many real agents (default 200 × 25 servers = 5,000 servers).
//! The panel is killed (SIGKILL), half of the servers are started directly through their
//! agents while it is down, and the panel is started again: convergence is the time from
//! its process start until `GET /api/servers` shows every server's true state. Then the
//! discovery sweep time, list latencies and panel CPU at rest with every agent's event
//! stream connected and stats flowing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use serde_json::{json, Value};

use crate::panel_api::PanelClient;
use crate::procs::{
    games_under, measure_over, reap_games, total_rss_mib, Agent, Panel, PanelOptions,
};
use crate::report::{Report, Target};
use crate::scenarios::coldstart::start_until_healthy;
use crate::stack::Ctx;
use crate::stats::{millis, percentile};
use crate::Result;

const S: &str = "scale";
/// Game ports of node i: FIRST_PORT + i × servers-per-node …, below the ephemeral range.
const FIRST_PORT: usize = 20_000;
const PARALLEL: usize = 16;
/// Each agent samples every process on the host for stats; 200 agents on one machine
/// at the default 1 s would spend both cores on it, so the fleet samples every 30 s.
const AGENT_TOML: &str = "stats_interval_ms = 30000\n";

pub async fn run(ctx: &Ctx, report: &mut Report) -> Result<()> {
    let (agents, per_agent) = ctx.pick(ctx.scale, (4, 5));
    if agents * per_agent > 12_000 {
        return Err("at most 12,000 servers (ports 20000-31999)".into());
    }
    let root = ctx.scratch.join(S);
    let options = PanelOptions {
        discovery_interval_secs: 5,
        ..PanelOptions::default()
    };
    let panel = Panel::start(&ctx.bins, &root.join("panel"), &options).await?;
    let started = Instant::now();
    let fleet: Vec<Result<Agent>> = stream::iter(0..agents)
        .map(|i| {
            let dir = root.join(format!("agent-{i}"));
            async move { Agent::start(&ctx.bins, &dir, AGENT_TOML).await }
        })
        .buffered(PARALLEL)
        .collect()
        .await;
    let fleet: Vec<Agent> = fleet.into_iter().collect::<Result<_>>()?;
    report
        .add(S, "agents started", fleet.len() as f64, "agents")
        .note(format!("in {:.2} s", started.elapsed().as_secs_f64()));
    let result = measure(ctx, report, panel, &fleet, per_agent, &options).await;
    stream::iter(fleet)
        .for_each_concurrent(PARALLEL, |agent| agent.daemon.stop())
        .await;
    reap_games(&root);
    result
}

async fn measure(
    ctx: &Ctx,
    report: &mut Report,
    panel: Panel,
    fleet: &[Agent],
    per_agent: usize,
    options: &PanelOptions,
) -> Result<()> {
    let password = panel.admin_password().await?;
    let client = PanelClient::login(&panel.daemon.url, &password).await?;
    let alt = client.test_game_alt().await?;

    // Nodes, then servers, through the API.
    let started = Instant::now();
    let nodes: Vec<Result<String>> = stream::iter(fleet.iter().enumerate())
        .map(|(i, agent)| {
            let first = (FIRST_PORT + i * per_agent) as u16;
            let client = client.clone();
            async move {
                client
                    .add_node(
                        &format!("node-{i}"),
                        agent,
                        (first, first + per_agent as u16 - 1),
                    )
                    .await
            }
        })
        .buffered(PARALLEL)
        .collect()
        .await;
    let nodes: Vec<String> = nodes.into_iter().collect::<Result<_>>()?;
    report.add(
        S,
        "nodes registered per second",
        nodes.len() as f64 / started.elapsed().as_secs_f64(),
        "nodes/s",
    );

    let started = Instant::now();
    // Interleaved, so parallel requests go to different nodes; a 409 "try again" (two
    // allocations on one node at once) is retried as the message asks, and counted.
    let agents = fleet.len();
    let plan: Vec<(usize, usize)> = (0..per_agent)
        .flat_map(|s| (0..agents).map(move |a| (a, s)))
        .collect();
    let retries = AtomicUsize::new(0);
    let created: Vec<Result<(usize, usize, String)>> = stream::iter(plan)
        .map(|(a, s)| {
            let (client, node, alt) = (client.clone(), nodes[a].clone(), alt.clone());
            let retries = &retries;
            async move {
                let name = format!("n{a}-s{s}");
                for _ in 0..100 {
                    match client.create_server(&name, &node, &alt).await {
                        Ok(id) => return Ok((a, s, id)),
                        Err(e) if is_try_again(&e.to_string()) => {
                            retries.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                        Err(e) => return Err(e),
                    }
                }
                Err(format!("POST /api/servers for {name}: still 409 after 100 tries").into())
            }
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let created: Vec<(usize, usize, String)> = created.into_iter().collect::<Result<_>>()?;
    let total = created.len();
    report
        .add(
            S,
            "servers created per second (API)",
            total as f64 / started.elapsed().as_secs_f64(),
            "servers/s",
        )
        .note(format!(
            "{PARALLEL} requests in flight; {} retried 409s",
            retries.load(Ordering::Relaxed)
        ));
    let ids: Vec<String> = created.iter().map(|c| c.2.clone()).collect();
    client
        .wait_all(&ids, "offline", Duration::from_secs(900))
        .await?;
    report
        .add(S, "servers created and installed", total as f64, "servers")
        .note(format!(
            "{} agents × {per_agent}; {:.0} s",
            fleet.len(),
            started.elapsed().as_secs_f64()
        ));

    // The panel dies; half of the servers start while it is down.
    let data_dir = panel.daemon.data_dir.clone();
    panel.daemon.kill().await;
    let to_start: Vec<(usize, String)> = created
        .iter()
        .filter(|c| c.1 % 2 == 0)
        .map(|c| (c.0, c.2.clone()))
        .collect();
    let http = reqwest::Client::new();
    let results: Vec<Result<()>> = stream::iter(to_start.iter())
        .map(|(a, id)| agent_start(&http, &fleet[*a], id))
        .buffer_unordered(PARALLEL * 2)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    // The agents are the truth the panel must converge to.
    let expected = agent_states(&http, fleet, to_start.len()).await?;
    let stuck = expected.values().filter(|s| *s == "starting").count();
    if stuck > 0 {
        report
            .add(
                S,
                "servers stuck in `starting` on their agents",
                stuck as f64,
                "servers",
            )
            .note(
                "done line printed but never marked running (agent race, see docs/performance.md)",
            );
    }

    // Restart: from process start until the list shows every true state.
    let (panel, healthy) = start_until_healthy(&ctx.bins, &data_dir, options).await?;
    report
        .add(
            S,
            "panel restart → /health OK (populated)",
            healthy.as_secs_f64() * 1e3,
            "ms",
        )
        .note(format!("{} nodes, {total} servers", fleet.len()));
    let result = after_restart(ctx, report, &panel, &password, &expected, fleet).await;
    panel.daemon.stop().await;
    result
}

async fn after_restart(
    ctx: &Ctx,
    report: &mut Report,
    panel: &Panel,
    password: &str,
    expected: &HashMap<String, String>,
    fleet: &[Agent],
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(180);
    // Right after the restart the panel may answer slowly or with errors: keep trying
    // until the deadline (that time counts as not converged), and count what failed.
    let mut failures = Vec::new();
    let client = loop {
        match PanelClient::login(&panel.daemon.url, password).await {
            Ok(client) => break client,
            Err(e) if Instant::now() < deadline => failures.push(e.to_string()),
            Err(e) => return Err(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut wrong = expected.len();
    while Instant::now() < deadline {
        let states = match client.all_server_states().await {
            Ok(states) => states,
            Err(e) => {
                failures.push(e.to_string());
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        wrong = expected.len()
            - states
                .iter()
                .filter(|(id, s)| expected.get(id) == Some(s))
                .count();
        if wrong == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let converged = panel.daemon.spawned.elapsed();
    if let Some(first) = failures.first() {
        report
            .add(
                S,
                "failed requests while converging",
                failures.len() as f64,
                "requests",
            )
            .note(format!("first: {first}"));
    }
    if wrong == 0 {
        report
            .add(
                S,
                "convergence after panel restart",
                converged.as_secs_f64(),
                "s",
            )
            .target(Target::AtMost(5.0))
            .note(format!(
                "{} servers ({} running) in the list with true states",
                expected.len(),
                expected.values().filter(|s| *s == "running").count()
            ));
    } else {
        report.not_measured(
            S,
            "convergence after panel restart",
            format!("{wrong} servers still wrong after 180 s"),
        );
    }

    // Discovery: wait for a sweep after the restart.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let discovery = client.get("/api/agents/discovery").await?;
    match discovery["durationMs"].as_f64() {
        Some(ms) => {
            report.add(S, "discovery sweep", ms, "ms").note(format!(
                "probed {}, online {}, offline {}",
                discovery["probed"], discovery["online"], discovery["offline"]
            ));
        }
        None => report.not_measured(
            S,
            "discovery sweep",
            format!("GET /api/agents/discovery: {discovery}"),
        ),
    }

    for path in [
        "/api/servers?perPage=25",
        "/api/servers?perPage=100",
        "/api/agents?perPage=100",
    ] {
        let mut took = Vec::new();
        for _ in 0..ctx.pick(50, 10) {
            let sent = Instant::now();
            client.get(path).await?;
            took.push(sent.elapsed());
        }
        let took = millis(&took);
        report
            .add(S, format!("GET {path} p50"), percentile(&took, 0.5), "ms")
            .note(format!("p99 {:.1} ms", percentile(&took, 0.99)));
    }

    let (cpu, rss) = measure_over(panel.daemon.pid, Duration::from_secs(ctx.pick(10, 3))).await;
    report.add(
        S,
        "panel CPU at rest (all event streams, stats on)",
        cpu,
        "%core",
    );
    report.add(S, "panel RSS at rest", rss, "MiB");
    let agents_rss: f64 = fleet.iter().map(|a| a.daemon.usage().rss_mib()).sum();
    report.add(
        S,
        "agent RSS, mean",
        agents_rss / fleet.len().max(1) as f64,
        "MiB",
    );
    let root = panel
        .daemon
        .data_dir
        .parent()
        .unwrap_or(&panel.daemon.data_dir);
    let games = games_under(root);
    report
        .add(
            S,
            "test-game processes running",
            games.len() as f64,
            "processes",
        )
        .note(format!("{:.0} MiB RSS in total", total_rss_mib(&games)));
    Ok(())
}

/// Starts a server through its agent (`POST /api/command`), as the panel would.
async fn agent_start(http: &reqwest::Client, agent: &Agent, id: &str) -> Result<()> {
    let body = json!({
        "action": "start", "serverId": id, "timestamp": "2026-01-01T00:00:00Z",
        "metadata": {"requestId": "bench", "userId": "bench"},
    });
    let response = http
        .post(format!("{}/api/command", agent.daemon.url))
        .bearer_auth(&agent.token)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        return Err(format!("agent POST /api/command {body} → {status}: {text}").into());
    }
    Ok(())
}

/// Waits (at most 120 s) until the agents report `count` servers running in total, and
/// returns every server's state as its agent reports it.
async fn agent_states(
    http: &reqwest::Client,
    fleet: &[Agent],
    count: usize,
) -> Result<HashMap<String, String>> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let lists: Vec<Result<Vec<(String, String)>>> = stream::iter(fleet)
            .map(|agent| states_on(http, agent))
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        let states: HashMap<String, String> = lists
            .into_iter()
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        let running = states.values().filter(|s| *s == "running").count();
        if running >= count || Instant::now() > deadline {
            return Ok(states);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Server states on one agent, by its own `GET /api/servers`.
async fn states_on(http: &reqwest::Client, agent: &Agent) -> Result<Vec<(String, String)>> {
    let value: Value = http
        .get(format!("{}/api/servers", agent.daemon.url))
        .bearer_auth(&agent.token)
        .send()
        .await?
        .json()
        .await?;
    Ok(value["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let id = s["definition"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            (id, s["status"]["state"].as_str().unwrap_or("?").to_owned())
        })
        .collect())
}

/// The panel's answer when two port allocations on one node collide: retry.
fn is_try_again(error: &str) -> bool {
    error.contains("409 Conflict") && error.contains("try again")
}
