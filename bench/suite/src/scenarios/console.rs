//! Console path: lines/s from a flooding test game into the agent and through the panel to
//! N console WebSockets; per-line latency at a steady 1,000 lines/s; memory during a long
//! flood while another server is power-cycled.
//!
//! The agent's per-server console limit is lifted (`lines_per_second` far above what one
//! process prints) so the pipeline itself is measured; with the default limit the agent
//! passes 2,000 lines/s per server and drops the rest with a notice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::panel_api::{flood_stamp, now_ns, Console, PanelClient};
use crate::procs::{PanelOptions, Usage};
use crate::report::{Report, Target};
use crate::scenarios::power::Cycles;
use crate::stack::{Ctx, Stack};
use crate::stats::percentile;
use crate::Result;

const S: &str = "console";
/// A console limit far above what one process can print: out of the way.
const AGENT_TOML: &str = "[console]\nlines_per_second = 1000000000\n";

/// What one reader saw of one flood.
#[derive(Debug)]
struct Seen {
    lines: u64,
    /// When the flood command was sent.
    sent: Instant,
    last: Option<Instant>,
    /// Write → receipt, ms, for every `sample`-th line.
    delays_ms: Vec<f64>,
    done: bool,
}

impl Seen {
    /// Lines per second from sending the flood command to receiving the last line.
    fn rate(&self) -> f64 {
        match self.last {
            Some(last) if last > self.sent => {
                self.lines as f64 / last.duration_since(self.sent).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

/// Reads flood lines until `flood done <count>`, `silence` without any, or `deadline`.
/// `server` filters an agent event stream (panel consoles carry one server only).
async fn read_flood(
    mut console: Console,
    server: Option<String>,
    count: u64,
    sample: u64,
    silence: Duration,
    deadline: Instant,
    sent: Instant,
) -> Result<Seen> {
    let done = format!("flood done {count}");
    let mut seen = Seen {
        lines: 0,
        sent,
        last: None,
        delays_ms: Vec::new(),
        done: false,
    };
    while Instant::now() < deadline {
        let Some(frame) = console.next(silence).await? else {
            break;
        };
        if frame.kind != "console" || (server.is_some() && frame.server_id != server) {
            continue;
        }
        let arrived = now_ns();
        for line in &frame.lines {
            if let Some(stamp) = flood_stamp(line) {
                seen.lines += 1;
                seen.last = Some(Instant::now());

                if seen.lines.is_multiple_of(sample) {
                    seen.delays_ms
                        .push(arrived.saturating_sub(stamp) as f64 / 1e6);
                }
            } else if *line == done {
                seen.done = true;
            }
        }
        if seen.done {
            break;
        }
    }
    Ok(seen)
}

/// The agent's own event stream, as the panel reads it.
async fn agent_events(stack: &Stack) -> Result<Console> {
    let url = format!(
        "{}/api/events",
        stack.agent.daemon.url.replacen("http", "ws", 1)
    );
    let mut request = url.into_client_request()?;
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", stack.agent.token).parse()?,
    );
    let mut console = Console::connect(request).await?;
    // The first frame is the snapshot.
    console.next(Duration::from_secs(10)).await?;
    Ok(console)
}

/// Opens `n` console WebSockets and reads past their history and state frames.
async fn browsers(client: &PanelClient, server: &str, n: usize) -> Result<Vec<Console>> {
    let mut consoles = Vec::with_capacity(n);
    for _ in 0..n {
        let mut console = client.console(server).await?;
        console
            .wait_state("running", Duration::from_secs(10))
            .await?;
        consoles.push(console);
    }
    Ok(consoles)
}

/// Starts `flood <count> [rate]` and reads it on every console in parallel.
async fn flood(
    client: &PanelClient,
    server: &str,
    readers: Vec<(Console, Option<String>)>,
    count: u64,
    rate: Option<u64>,
    sample: u64,
    limit: Duration,
) -> Result<Vec<Seen>> {
    let deadline = Instant::now() + limit;
    let sent = Instant::now();
    let tasks: Vec<_> = readers
        .into_iter()
        .map(|(console, filter)| {
            tokio::spawn(read_flood(
                console,
                filter,
                count,
                sample,
                Duration::from_secs(5),
                deadline,
                sent,
            ))
        })
        .collect();
    let command = match rate {
        Some(rate) => format!("flood {count} {rate}"),
        None => format!("flood {count}"),
    };
    client.command(server, &command).await?;
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await??);
    }
    Ok(seen)
}

pub async fn run(ctx: &Ctx, report: &mut Report) -> Result<()> {
    let stack = Stack::start(ctx, S, &PanelOptions::default(), AGENT_TOML).await?;
    let result = measure(ctx, &stack, report).await;
    stack.stop().await;
    result
}

async fn measure(ctx: &Ctx, stack: &Stack, report: &mut Report) -> Result<()> {
    let ids = stack.servers("console", 2).await?;
    stack.start_all(&ids[..1]).await?;
    let (server, other) = (&ids[0], &ids[1]);
    let client = &stack.client;
    let limit = Duration::from_secs(ctx.pick(120, 30));

    // 1. Into the agent: one reader on the agent's event stream.
    let count = ctx.pick(1_000_000, 100_000);
    let readers = vec![(agent_events(stack).await?, Some(server.clone()))];
    let seen = flood(client, server, readers, count, None, 97, limit).await?;
    report
        .add(
            S,
            "lines/s into the agent (agent event stream)",
            seen[0].rate(),
            "lines/s",
        )
        .target(Target::AtLeast(100_000.0))
        .note(format!("{} of {count} lines", seen[0].lines));

    // 2. Through the panel to N browsers.
    for n in [1usize, 10, 100] {
        let count = ctx.pick(
            match n {
                1 => 1_000_000,
                10 => 300_000,
                _ => 100_000,
            },
            20_000,
        );
        let readers = browsers(client, server, n)
            .await?
            .into_iter()
            .map(|c| (c, None))
            .collect();
        let seen = flood(client, server, readers, count, None, 97, limit).await?;
        let mut rates: Vec<f64> = seen.iter().map(Seen::rate).collect();
        rates.sort_by(f64::total_cmp);
        let delivered: u64 = seen.iter().map(|s| s.lines).sum();
        let span = span(&seen);
        report
            .add(
                S,
                format!("lines/s per browser, N={n} (median client)"),
                percentile(&rates, 0.5),
                "lines/s",
            )
            .note(format!(
                "{:.1}% of {count} lines delivered per client; {} of {n} saw the end",
                delivered as f64 / (count * n as u64) as f64 * 100.0,
                seen.iter().filter(|s| s.done).count()
            ));
        report.add(
            S,
            format!("lines/s summed over N={n} browsers"),
            delivered as f64 / span,
            "lines/s",
        );
    }

    // 3. Latency at a steady 1,000 lines/s: one browser and one agent-stream reader.
    let count = ctx.pick(10_000, 2_000);
    let readers = vec![
        (agent_events(stack).await?, Some(server.clone())),
        (browsers(client, server, 1).await?.remove(0), None),
    ];
    let seen = flood(client, server, readers, count, Some(1000), 1, limit).await?;
    let note = format!("{} / {} lines seen", seen[0].lines, seen[1].lines);
    report.add(
        S,
        "line latency p50 game → agent stream @1000/s",
        percentile(&seen[0].delays_ms, 0.5),
        "ms",
    );
    report.add(
        S,
        "line latency p99 game → agent stream @1000/s",
        percentile(&seen[0].delays_ms, 0.99),
        "ms",
    );
    report.add(
        S,
        "line latency p50 game → browser @1000/s",
        percentile(&seen[1].delays_ms, 0.5),
        "ms",
    );
    report
        .add(
            S,
            "line latency p99 game → browser @1000/s",
            percentile(&seen[1].delays_ms, 0.99),
            "ms",
        )
        .target(Target::AtMost(25.0))
        .note(note);

    // 4. A long flood: memory stays bounded; power actions on another server stay fast.
    long_flood(ctx, stack, server, other, report).await
}

/// Seconds from sending the flood command to the last line any reader saw.
fn span(seen: &[Seen]) -> f64 {
    let sent = seen.iter().map(|s| s.sent).min();
    let last = seen.iter().filter_map(|s| s.last).max();
    match (sent, last) {
        (Some(f), Some(l)) if l > f => l.duration_since(f).as_secs_f64(),
        _ => 1e-9,
    }
}

async fn long_flood(
    ctx: &Ctx,
    stack: &Stack,
    server: &str,
    other: &str,
    report: &mut Report,
) -> Result<()> {
    let client = &stack.client;
    let count = ctx.pick(10_000_000, 500_000);
    let limit = Duration::from_secs(ctx.pick(240, 60));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (stop, pids) = (
            stop.clone(),
            [stack.agent.daemon.pid, stack.panel.daemon.pid],
        );
        tokio::spawn(async move {
            let mut peak = [0u64; 2];
            let start = pids.map(|p| Usage::of(p).rss_kib);
            while !stop.load(Ordering::Relaxed) {
                for (i, pid) in pids.iter().enumerate() {
                    peak[i] = peak[i].max(Usage::of(*pid).rss_kib);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            (start, peak, pids.map(|p| Usage::of(p).rss_kib))
        })
    };
    let readers = vec![(browsers(client, server, 1).await?.remove(0), None)];
    let started = Instant::now();
    let flooding = flood(client, server, readers, count, None, 997, limit);
    let cycling = async {
        // Let the flood get going first.
        tokio::time::sleep(Duration::from_secs(1)).await;
        Cycles::run(client, other, ctx.pick(30, 10)).await
    };
    let (seen, cycles) = tokio::join!(flooding, cycling);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (start, peak, end) = sampler.await?;
    let seen = seen?;
    let seen = &seen[0];
    if !seen.done {
        // Out of time: end the flood so the rest of the run is not disturbed.
        client.power(server, "kill").await?;
    }
    let mib = |k: u64| k as f64 / 1024.0;
    let note = if seen.done {
        format!("all {count} lines in {:.0} s", elapsed.as_secs_f64())
    } else {
        format!(
            "scaled down: {} of {count} lines within {:.0} s",
            seen.lines,
            elapsed.as_secs_f64()
        )
    };
    report
        .add(
            S,
            "long flood: lines/s to one browser",
            seen.rate(),
            "lines/s",
        )
        .note(note);
    report
        .add(S, "long flood: agent RSS start → peak", mib(peak[0]), "MiB")
        .note(format!(
            "start {:.1}, end {:.1}",
            mib(start[0]),
            mib(end[0])
        ));
    report
        .add(S, "long flood: panel RSS start → peak", mib(peak[1]), "MiB")
        .note(format!(
            "start {:.1}, end {:.1}",
            mib(start[1]),
            mib(end[1])
        ));
    match cycles {
        Ok(cycles) => cycles.report(report, S, " (other server, during flood)"),
        Err(e) => report.not_measured(S, "power cycles during flood", e.to_string()),
    }
    Ok(())
}
