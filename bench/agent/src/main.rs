//! Measures the agent (release build) on this machine:
//! 1. resident memory of the idle agent;
//! 2. resident memory with 20 running test-game servers;
//! 3. console throughput: lines per second from a flooding game process to a WebSocket
//!    client, and the delay from the game writing a line to the client receiving it;
//! 4. start → running: from the request that sets a server's desired state to `running`
//!    until the agent reports `running` (the game printed its done line), against the
//!    same game spawned directly by this program until it prints that line.
//!
//! Usage: `cargo run --release -- [TARGET_DIR]` (default `../../target/release`, which
//! must hold release builds of `cap-agent` and `cap-testgame`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cap_protocol::events::{AgentEvent, EventKind};
use cap_protocol::server::ServerState;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

const SERVERS: usize = 20;
const FLOOD_LINES: u64 = 1_000_000;
const POWER_CYCLES: usize = 100;
const DONE_LINE: &str = ")! For help";

type Error = Box<dyn std::error::Error>;
type Events =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Agent {
    child: tokio::process::Child,
    base: String,
    token: String,
    http: reqwest::Client,
    testgame: PathBuf,
}

impl Agent {
    async fn start(bin_dir: &Path, data: &Path, lines_per_second: u64) -> Result<Self, Error> {
        let config = data.join("agent.toml");
        std::fs::create_dir_all(data)?;
        std::fs::write(
            &config,
            format!("[console]\nlines_per_second = {lines_per_second}\n"),
        )?;
        let mut child = tokio::process::Command::new(bin_dir.join("cap-agent"))
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(data)
            .args(["--listen", "127.0.0.1:0", "--insecure-http"])
            // As root: one unprivileged user for every server, none left behind per server.
            .args(["--shared-user", "cap-bench"])
            .env("RUST_LOG", "warn,cap_agent=info")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        let base = loop {
            let line = lines
                .next_line()
                .await?
                .ok_or("agent exited before listening")?;
            if let Some(at) = line.find("listening on ") {
                break line[at + 13..].trim().to_owned();
            }
        };
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let token = std::fs::read_to_string(data.join("token"))?;
        Ok(Self {
            child,
            base,
            token,
            http: reqwest::Client::new(),
            testgame: bin_dir.join("cap-testgame"),
        })
    }

    fn rss_kib(&self) -> u64 {
        let pid = self.child.id().unwrap_or(0);
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
            .unwrap_or(0)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Error> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let value: Value = request.send().await?.json().await?;
        if value["success"] != true {
            return Err(format!("{path}: {value}").into());
        }
        Ok(value["data"].clone())
    }

    async fn create_running(&self) -> Result<Uuid, Error> {
        let id = Uuid::new_v4();
        self.define(id, "running").await?;
        Ok(id)
    }

    /// Define (or redefine) test-game server `id` with `desired` state.
    async fn define(&self, id: Uuid, desired: &str) -> Result<(), Error> {
        let definition = json!({
            "id": id, "startup": self.testgame.display().to_string(),
            "donePatterns": [DONE_LINE], "desiredState": desired,
            "stop": {"type": "command", "value": "stop", "graceSeconds": 5}
        });
        self.call(
            reqwest::Method::PUT,
            &format!("/api/servers/{id}"),
            Some(definition),
        )
        .await?;
        Ok(())
    }

    async fn wait_running(&self, id: Uuid) -> Result<(), Error> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let info = self
                .call(reqwest::Method::GET, &format!("/api/servers/{id}"), None)
                .await?;
            if info["status"]["state"] == "running" {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(format!("{id} did not reach running").into())
    }

    /// A power command (`start`, `stop`, …).
    async fn power(&self, id: Uuid, action: &str) -> Result<(), Error> {
        let command = json!({
            "action": action, "serverId": id, "timestamp": chrono::Utc::now(),
            "metadata": {"requestId": "bench", "userId": "bench"}
        });
        self.call(reqwest::Method::POST, "/api/command", Some(command))
            .await?;
        Ok(())
    }

    async fn console(&self, id: Uuid, command: &str) -> Result<(), Error> {
        self.call(
            reqwest::Method::POST,
            &format!("/api/servers/{id}/console"),
            Some(json!({"command": command})),
        )
        .await?;
        Ok(())
    }

    async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        let _ = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
    }
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Flood `lines` lines on one server and count what reaches a WebSocket client.
async fn throughput(agent: &Agent, id: Uuid, lines: u64) -> Result<(u64, f64, Vec<u128>), Error> {
    let mut socket = events(agent).await?;
    agent.console(id, &format!("flood {lines}")).await?;
    let done = format!("flood done {lines}");
    let (mut received, mut first, mut last) = (0u64, None, Instant::now());
    let mut delays = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last_console = Instant::now();
    // Stop at the final line, or when console output has been silent for 3 s (with a
    // line-rate limit the final line may be among the dropped ones).
    while Instant::now() < deadline && last_console.elapsed() < Duration::from_secs(3) {
        let Ok(Some(Ok(Message::Text(text)))) =
            tokio::time::timeout(Duration::from_secs(5), socket.next()).await
        else {
            break;
        };
        let event: AgentEvent = serde_json::from_str(&text)?;
        let EventKind::Console {
            server_id,
            lines: batch,
        } = event.kind
        else {
            continue;
        };
        if server_id != id {
            continue;
        }
        last_console = Instant::now();
        let arrived = now_ns();
        let mut finished = false;
        for line in &batch {
            if let Some(rest) = line.strip_prefix("flood ") {
                let mut fields = rest.split(' ');
                let numbered = fields.next().is_some_and(|i| i.parse::<u64>().is_ok());
                if let Some(sent) = fields
                    .next()
                    .and_then(|t| t.parse::<u128>().ok())
                    .filter(|_| numbered)
                {
                    received += 1;
                    first.get_or_insert_with(Instant::now);
                    last = Instant::now();
                    if received % 97 == 0 {
                        delays.push(arrived.saturating_sub(sent));
                    }
                }
            }
            finished |= *line == done;
        }
        if finished {
            break;
        }
    }
    let seconds = first
        .map(|f| last.duration_since(f).as_secs_f64())
        .unwrap_or(0.0)
        .max(1e-9);
    delays.sort_unstable();
    Ok((received, received as f64 / seconds, delays))
}

/// Open the agent's event stream.
async fn events(agent: &Agent) -> Result<Events, Error> {
    let url = format!("{}/api/events", agent.base.replacen("http", "ws", 1));
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {}", agent.token).parse()?);
    Ok(tokio_tungstenite::connect_async(request).await?.0)
}

/// Start and stop one server `cycles` times; nanoseconds from each start request to the
/// `running` event.
async fn start_to_running(agent: &Agent, cycles: usize) -> Result<Vec<u128>, Error> {
    let id = Uuid::new_v4();
    let mut socket = events(agent).await?;
    let mut times = Vec::with_capacity(cycles);
    agent.define(id, "offline").await?;
    for _ in 0..cycles {
        let started = Instant::now();
        agent.power(id, "start").await?;
        wait_state(&mut socket, id, ServerState::Running).await?;
        times.push(started.elapsed().as_nanos());
        agent.power(id, "stop").await?;
        wait_state(&mut socket, id, ServerState::Offline).await?;
    }
    times.sort_unstable();
    Ok(times)
}

async fn wait_state(socket: &mut Events, id: Uuid, wanted: ServerState) -> Result<(), Error> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let Some(Ok(Message::Text(text))) =
            tokio::time::timeout_at(deadline, socket.next()).await?
        else {
            return Err("event stream ended".into());
        };
        let event: AgentEvent = serde_json::from_str(&text)?;
        if let EventKind::State {
            server_id, state, ..
        } = event.kind
        {
            if server_id == id && state == wanted {
                return Ok(());
            }
        }
    }
}

/// Spawn the test game directly `cycles` times; nanoseconds from spawn to its done line.
async fn direct_spawn(testgame: &Path, cycles: usize) -> Result<Vec<u128>, Error> {
    let mut times = Vec::with_capacity(cycles);
    for _ in 0..cycles {
        let started = Instant::now();
        let mut child = tokio::process::Command::new(testgame)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        while let Some(line) = lines.next_line().await? {
            if line.contains(DONE_LINE) {
                break;
            }
        }
        times.push(started.elapsed().as_nanos());
        drop(child.stdin.take());
        child.wait().await?;
    }
    times.sort_unstable();
    Ok(times)
}

fn percentile(sorted: &[u128], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index] as f64 / 1e6
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let bin_dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "../../target/release".into()),
    );
    for bin in ["cap-agent", "cap-testgame"] {
        if !bin_dir.join(bin).exists() {
            return Err(format!(
                "{} missing: cargo build --release -p cap-agent -p cap-testgame",
                bin_dir.join(bin).display()
            )
            .into());
        }
    }
    let scratch = tempfile::tempdir()?;

    // Memory: idle, then with 20 running servers (default console limits).
    let agent = Agent::start(&bin_dir, &scratch.path().join("memory"), 2000).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = agent.rss_kib();
    let mut ids = Vec::new();
    for _ in 0..SERVERS {
        ids.push(agent.create_running().await?);
    }
    for id in &ids {
        agent.wait_running(*id).await?;
    }
    for id in &ids {
        agent.console(*id, "say warm-up").await?;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let busy = agent.rss_kib();
    agent.stop().await;

    // Start → running through the agent (and the server's shim), and the bare spawn.
    let agent = Agent::start(&bin_dir, &scratch.path().join("power"), 2000).await?;
    let through_agent = start_to_running(&agent, POWER_CYCLES).await?;
    agent.stop().await;
    let direct = direct_spawn(&bin_dir.join("cap-testgame"), POWER_CYCLES).await?;

    // Throughput, unthrottled (limit far above what one process prints), then with the
    // default limit of 2000 lines/s.
    let mut rows = Vec::new();
    for (label, limit) in [
        ("unthrottled", 1_000_000_000u64),
        ("default limit 2000/s", 2000),
    ] {
        let agent = Agent::start(
            &bin_dir,
            &scratch.path().join(format!("flood-{limit}")),
            limit,
        )
        .await?;
        let id = agent.create_running().await?;
        agent.wait_running(id).await?;
        let started = Instant::now();
        let (received, rate, delays) = throughput(&agent, id, FLOOD_LINES).await?;
        rows.push((
            label,
            received,
            rate,
            percentile(&delays, 0.5),
            percentile(&delays, 0.99),
            started.elapsed(),
            agent.rss_kib(),
        ));
        agent.stop().await;
    }

    println!("agent RSS idle:                       {:>8} KiB", idle);
    println!(
        "agent RSS with {SERVERS} running servers:    {:>8} KiB",
        busy
    );
    println!();
    println!("start → running, {POWER_CYCLES} cycles:");
    for (label, times) in [
        ("through the agent", &through_agent),
        ("direct spawn", &direct),
    ] {
        println!(
            "{label:<22} p50 {:>7.2} ms   p99 {:>7.2} ms",
            percentile(times, 0.5),
            percentile(times, 0.99)
        );
    }
    println!();
    println!("console flood of {FLOOD_LINES} lines, one server, one WebSocket client:");
    println!(
        "{:<22} {:>10} {:>14} {:>10} {:>10} {:>9} {:>10}",
        "mode", "received", "lines/s", "p50 ms", "p99 ms", "total s", "RSS KiB"
    );
    for (label, received, rate, p50, p99, elapsed, rss) in rows {
        println!(
            "{label:<22} {received:>10} {rate:>14.0} {p50:>10.1} {p99:>10.1} {:>9.2} {rss:>10}",
            elapsed.as_secs_f64()
        );
    }
    Ok(())
}
