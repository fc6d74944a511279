//! What games and install scripts find in their environment: a `PATH` starting with the
//! agent's own directory (so `cap-testgame` beside the agent is found by name) and
//! `SERVER_DIR`, the absolute server directory, which is also their working directory.

use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use crate::support::{agent_bin, testgame_bin, AgentProcess};

const LIMIT: Duration = Duration::from_secs(15);

/// `NAME=value` pairs of a process's environment.
fn environ(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .expect("environ")
        .split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn games_and_install_scripts_find_tools_beside_the_agent() {
    let testgame = testgame_bin();
    let bin_dir = agent_bin().parent().expect("bin dir").to_path_buf();
    assert_eq!(testgame.parent(), Some(bin_dir.as_path()));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let agent = AgentProcess::spawn(&data, &[]);
    let api = &agent.client;
    let id = Uuid::new_v4();
    api.define(json!({
        "id": id,
        "startup": "cap-testgame",
        "environment": {"TESTGAME_DELAY_MS": "20"},
        "stop": {"type": "command", "value": "stop", "graceSeconds": 5},
        "donePatterns": [")! For help"],
        "install": {
            "interpreter": "sh",
            "script": "command -v cap-testgame > found.txt\necho \"$SERVER_DIR\" >> found.txt\npwd >> found.txt\n"
        }
    }))
    .await;
    let server_dir = std::path::absolute(data.join("servers").join(id.to_string())).unwrap();

    let (status, body) = api
        .post(&format!("/api/servers/{id}/install"), json!({}))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let done = api.wait_state(id, "offline", LIMIT).await;
    assert_eq!(done["exitCode"], 0, "{done}");
    let found = std::fs::read_to_string(server_dir.join("found.txt")).unwrap();
    let lines: Vec<&str> = found.lines().collect();
    assert_eq!(lines[0], testgame.display().to_string());
    assert_eq!(lines[1], server_dir.display().to_string());
    assert_eq!(lines[2], server_dir.display().to_string());

    let (status, body) = api.command("start", id).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let running = api.wait_state(id, "running", LIMIT).await;
    let pid = running["pid"].as_u64().expect("pid") as u32;
    let env = environ(pid);
    let path = format!(
        "PATH={}:/usr/local/bin:/usr/bin:/bin:/usr/games",
        bin_dir.display()
    );
    assert!(env.contains(&path), "{env:?}");
    assert!(
        env.contains(&format!("SERVER_DIR={}", server_dir.display())),
        "{env:?}"
    );
    let (status, body) = api.command("stop", id).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["data"]["state"], "offline");
    agent.terminate();
}
