//! One agent per data directory: a second one (or a join) exits at once with a clear
//! message; a killed agent's lock does not outlive it.

use std::time::Duration;

use crate::support::{run_agent, AgentProcess};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_agent_on_the_same_data_dir_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.display().to_string();
    let first = AgentProcess::spawn(&data, &[]);
    let pid = first.child.id();

    let serve = [
        "--data-dir",
        &data_arg,
        "--listen",
        "127.0.0.1:0",
        "--insecure-http",
    ];
    let output = tokio::time::timeout(Duration::from_secs(20), run_agent(&serve))
        .await
        .expect("second agent exits instead of waiting");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "another cap-agent (pid {pid}) is already using the data directory"
        )),
        "{stderr}"
    );
    let join = [
        "join",
        "http://127.0.0.1:9",
        "join-token-0123456789",
        "--data-dir",
        &data_arg,
    ];
    let output = run_agent(&join).await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("already using the data directory"));

    // The first agent is unharmed; once it is killed, the directory is free again.
    let (status, _) = first.client.get("/api/servers").await;
    assert_eq!(status, reqwest::StatusCode::OK);
    first.kill();
    let again = AgentProcess::spawn(&data, &[]);
    let (status, _) = again.client.get("/api/servers").await;
    assert_eq!(status, reqwest::StatusCode::OK);
    again.terminate();
}
