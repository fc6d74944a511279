//! API throughput: `wrk` against `GET /api/servers?perPage=50` (50 rows) and
//! `GET /api/auth/me` with a real session cookie, at 1, 16 and 128 connections, on SQLite
//! and (when a database is given) PostgreSQL. Panel CPU and RSS are read meanwhile.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::procs::{PanelOptions, Usage};
use crate::report::{Report, Target};
use crate::stack::{Ctx, Stack};
use crate::Result;

const S: &str = "api";
const ROWS: usize = 50;

/// Prints wrk's summary as one JSON line (latencies in µs).
const WRK_SCRIPT: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"durationUs":%d,"errors":%d,"non2xx":%d,"p50Us":%d,"p99Us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
"#;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WrkSummary {
    requests: u64,
    duration_us: u64,
    errors: u64,
    non2xx: u64,
    p50_us: u64,
    p99_us: u64,
}

pub async fn run(ctx: &Ctx, report: &mut Report) -> Result<()> {
    if which("wrk").is_none() {
        report.not_measured(
            S,
            "throughput",
            "wrk is not installed (bench/run installs it with apt-get)",
        );
        return Ok(());
    }
    let script = ctx.scratch.join("wrk-summary.lua");
    std::fs::write(&script, WRK_SCRIPT)?;
    let mut databases = vec![("sqlite", None)];
    match &ctx.postgres_url {
        Some(url) => databases.push(("postgres", Some(url.clone()))),
        None => report.not_measured(
            S,
            "PostgreSQL throughput",
            "no --postgres-url (PostgreSQL not available)",
        ),
    }
    for (label, url) in databases {
        let options = PanelOptions {
            database_url: url,
            ..PanelOptions::default()
        };
        let stack = Stack::start(ctx, &format!("api-{label}"), &options, "").await?;
        let result = measure(ctx, &stack, label, &script, report).await;
        stack.stop().await;
        if let Err(e) = result {
            report.not_measured(S, format!("{label} throughput"), e.to_string());
        }
    }
    Ok(())
}

async fn measure(
    ctx: &Ctx,
    stack: &Stack,
    db: &str,
    script: &Path,
    report: &mut Report,
) -> Result<()> {
    stack.servers("api", ROWS).await?;
    let listed = stack
        .client
        .get(&format!("/api/servers?perPage={ROWS}"))
        .await?;
    let rows = listed["items"].as_array().map_or(0, Vec::len);
    if rows != ROWS {
        return Err(format!(
            "GET /api/servers?perPage={ROWS} returned {rows} rows, expected {ROWS}"
        )
        .into());
    }
    let seconds = ctx.pick(10, 3);
    let paths = [
        (format!("/api/servers?perPage={ROWS}"), "list 50"),
        ("/api/auth/me".to_owned(), "me"),
    ];
    for (path, name) in &paths {
        for connections in [1u32, 16, 128] {
            let url = format!("{}{path}", stack.panel.daemon.url);
            let before = Usage::of(stack.panel.daemon.pid);
            let summary = wrk(&url, &stack.client.cookie, connections, seconds, script).await?;
            let after = Usage::of(stack.panel.daemon.pid);
            let rps = summary.requests as f64 / (summary.duration_us as f64 / 1e6);
            let bad = summary.errors + summary.non2xx;
            let row = report.add(S, format!("{db} {name} c={connections}"), rps, "req/s");
            row.note(format!(
                "p50 {:.2} ms, p99 {:.2} ms, panel CPU {:.0}%, RSS {:.1} MiB{}",
                summary.p50_us as f64 / 1e3,
                summary.p99_us as f64 / 1e3,
                after.cpu_percent_since(&before),
                after.rss_mib(),
                if bad > 0 {
                    format!(", {bad} errors/non-2xx")
                } else {
                    String::new()
                }
            ));
            if db == "sqlite" && *name == "list 50" && connections > 1 {
                row.target(Target::AtLeast(20_000.0));
            }
        }
    }
    Ok(())
}

async fn wrk(
    url: &str,
    cookie: &str,
    connections: u32,
    seconds: u64,
    script: &Path,
) -> Result<WrkSummary> {
    let threads = connections.min(2);
    let output = tokio::time::timeout(
        Duration::from_secs(seconds + 30),
        tokio::process::Command::new("wrk")
            .args(["-t", &threads.to_string(), "-c", &connections.to_string()])
            .args(["-d", &format!("{seconds}s"), "--timeout", "5s", "-s"])
            .arg(script)
            .args(["-H", &format!("Cookie: {cookie}")])
            .arg(url)
            .output(),
    )
    .await??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BENCH_JSON "))
        .ok_or_else(|| {
            format!(
                "wrk printed no summary: {stdout} {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    Ok(serde_json::from_str(line)?)
}

/// The full path of a program on `PATH`.
pub fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}
