//! A server printing a million lines: the agent's memory stays bounded and another server
//! keeps answering.

use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::support::{game, rss_kib, AgentProcess};

const LIMIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_keeps_memory_bounded_and_other_servers_responsive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = AgentProcess::spawn(dir.path(), &[]);
    let api = agent.client.clone();
    let pid = agent.child.id();
    let (noisy, quiet) = (Uuid::new_v4(), Uuid::new_v4());
    api.define(game(noisy)).await;
    api.define(game(quiet)).await;
    api.command("start", noisy).await;
    api.command("start", quiet).await;
    api.wait_state(noisy, "running", LIMIT).await;
    api.wait_state(quiet, "running", LIMIT).await;
    let baseline = rss_kib(pid);

    api.console(noisy, "flood 1000000").await;
    let started = Instant::now();
    let mut peak = baseline;
    let mut pings = 0;
    let mut marker = 0;
    loop {
        peak = peak.max(rss_kib(pid));
        // The quiet server answers promptly while the flood runs.
        pings += 1;
        let word = format!("ping-{pings}");
        let asked = Instant::now();
        api.console(quiet, &format!("say {word}")).await;
        api.wait_console(quiet, &format!("[Server] {word}"), Duration::from_secs(2))
            .await;
        assert!(asked.elapsed() < Duration::from_secs(2));
        marker += 1;
        api.console(noisy, &format!("say marker-{marker}")).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Once the flood is over, a marker gets through and the last throttle notice
        // (written at most once a second) follows.
        let lines = api.history(noisy).await;
        let marker_seen = lines.iter().any(|l| l.starts_with("[Server] marker-"));
        if marker_seen && lines.iter().any(|l| l.contains("console output throttled")) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "flood did not finish"
        );
    }
    let growth = peak.saturating_sub(baseline);
    eprintln!(
        "agent RSS: baseline {baseline} KiB, peak {peak} KiB, growth {growth} KiB, {pings} pings"
    );
    assert!(
        growth < 32 * 1024,
        "agent RSS grew by {growth} KiB during the flood"
    );
    let history = api.history(noisy).await;
    assert!(history.len() <= 1000, "history is bounded");
    agent.terminate();
}
