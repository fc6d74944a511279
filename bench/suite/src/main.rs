//! `cap-bench`: the benchmark suite. Starts the real release binaries on 127.0.0.1, drives
//! them like browsers and operators do, prints a table and writes JSON.
//!
//! ```text
//! cap-bench --bin-dir DIR [--out FILE] [--postgres-url URL] [--quick]
//!           [--scale AGENTSxSERVERS] [--commit C] [--date D] [SCENARIO...]
//! ```
//! Scenarios: footprint, power, console, api, coldstart, scale, logins, sockets (default: all, in this
//! order). `bench/run` builds everything and calls this; see bench/README.md.

mod panel_api;
mod procs;
mod report;
mod scenarios;
mod stack;
mod stats;

use std::path::PathBuf;

use serde_json::json;

use crate::procs::Binaries;
use crate::report::Report;
use crate::stack::Ctx;

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const SCENARIOS: [&str; 8] = [
    "footprint",
    "power",
    "console",
    "api",
    "coldstart",
    "scale",
    "logins",
    "sockets",
];

struct Args {
    bin_dir: PathBuf,
    out: Option<PathBuf>,
    postgres_url: Option<String>,
    quick: bool,
    scale: (usize, usize),
    commit: String,
    date: String,
    scenarios: Vec<String>,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        bin_dir: PathBuf::from("target/release"),
        out: None,
        postgres_url: None,
        quick: false,
        scale: (200, 25),
        commit: String::new(),
        date: String::new(),
        scenarios: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--bin-dir" => args.bin_dir = value()?.into(),
            "--out" => args.out = Some(value()?.into()),
            "--postgres-url" => args.postgres_url = Some(value()?).filter(|u| !u.is_empty()),
            "--commit" => args.commit = value()?,
            "--date" => args.date = value()?,
            "--scale" => {
                let v = value()?;
                let (a, s) = v
                    .split_once('x')
                    .and_then(|(a, s)| Some((a.parse().ok()?, s.parse().ok()?)))
                    .ok_or(format!(
                        "--scale wants AGENTSxSERVERS, e.g. 200x25, not {v}"
                    ))?;
                args.scale = (a, s);
            }
            "--quick" => args.quick = true,
            name if SCENARIOS.contains(&name) => args.scenarios.push(name.to_owned()),
            other => {
                return Err(format!(
                    "unknown argument {other}; scenarios: {}",
                    SCENARIOS.join(", ")
                )
                .into())
            }
        }
    }
    if args.scenarios.is_empty() {
        args.scenarios = SCENARIOS.iter().map(|s| s.to_string()).collect();
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = parse_args()?;
    let scratch = tempfile::Builder::new().prefix("cap-bench-").tempdir()?;
    let ctx = Ctx {
        bins: Binaries::check(args.bin_dir.clone())?,
        scratch: scratch.path().to_owned(),
        quick: args.quick,
        postgres_url: args.postgres_url.clone(),
        scale: args.scale,
    };
    let mut report = Report::default();
    for name in &args.scenarios {
        eprintln!("== {name}");
        let before = report.metrics.len();
        if let Err(e) = scenarios::run(name, &ctx, &mut report).await {
            eprintln!("   {name} failed: {e}");
            report.not_measured(name, "(rest of scenario)", e.to_string());
        }
        // Written after every scenario, so an interrupted run keeps what it measured.
        if let Some(out) = &args.out {
            write_json(out, &args, &report)?;
        }
        for m in &report.metrics[before..] {
            eprintln!(
                "   {}: {:?} {} {}",
                m.name,
                m.value,
                m.unit,
                m.note.as_deref().unwrap_or("")
            );
        }
    }
    println!("{}", report.table());
    if let Some(out) = &args.out {
        println!("results written to {}", out.display());
    }
    Ok(())
}

fn write_json(out: &std::path::Path, args: &Args, report: &Report) -> Result<()> {
    let document = json!({
        "date": args.date,
        "commit": args.commit,
        "quick": args.quick,
        "scale": format!("{}x{}", args.scale.0, args.scale.1),
        "machine": machine(),
        "scenarios": args.scenarios,
        "metrics": report.metrics,
    });
    std::fs::write(out, serde_json::to_string_pretty(&document)? + "\n")?;
    Ok(())
}

/// CPU count and memory of this machine, for the record.
fn machine() -> serde_json::Value {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let memory_kib: u64 = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next()?.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))?
                .split(':')
                .nth(1)
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    json!({ "cpus": cpus, "memoryGiB": memory_kib / 1024 / 1024, "cpuModel": model })
}
