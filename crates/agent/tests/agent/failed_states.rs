//! Installs that cannot run on this node, and what failed states leave behind.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::support::{game, AgentProcess, TestAgent};

const LIMIT: Duration = Duration::from_secs(15);
const IMAGE: &str = "ghcr.io/pterodactyl/installers:debian";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_install_scripts_never_run_on_the_host() {
    // No engine answers on this socket: the script cannot run in its container.
    let socket = tempfile::tempdir().expect("tempdir");
    let path = socket.path().join("docker.sock");
    let agent = TestAgent::start_with(|c| c.docker_socket = path.clone()).await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    let mut definition = game(id);
    definition["install"] = json!({"script": "touch ran-on-host\n", "container": IMAGE});
    api.define(definition.clone()).await;
    let (s, b) = api
        .post(&format!("/api/servers/{id}/install"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let status = &b["data"]["status"];
    assert_eq!(status["state"], "install_failed", "{b}");
    let message = status["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(IMAGE) && message.contains("runtime unavailable"),
        "{message}"
    );
    api.wait_console(id, "runtime unavailable", LIMIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!agent.server_dir(id).join("ran-on-host").exists());
    assert!(!agent
        .dir
        .path()
        .join("data/install")
        .join(format!("{id}.sh"))
        .exists());

    definition["install"]["container"] = json!("bad\nimage");
    let (s, b) = api.put(&format!("/api/servers/{id}"), definition).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(b.to_string().contains("install.container"), "{b}");
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_states_survive_an_agent_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = AgentProcess::spawn(dir.path(), &[]);
    let api = agent.client.clone();
    let (broken, crashing) = (Uuid::new_v4(), Uuid::new_v4());
    let mut definition = game(broken);
    definition["install"] = json!({"script": "echo failing\nexit 3\n"});
    api.define(definition).await;
    api.post(&format!("/api/servers/{broken}/install"), json!({}))
        .await;
    let failed = api.wait_state(broken, "install_failed", LIMIT).await;
    let mut definition = game(crashing);
    definition["startup"] = json!("echo about to fail; exit 7");
    definition["donePatterns"] = json!([]);
    definition["crashPolicy"] = json!({"autoRestart": false});
    api.define(definition).await;
    api.command("start", crashing).await;
    let crashed = api.wait_state(crashing, "crashed", LIMIT).await;
    assert_eq!(crashed["exitCode"], 7, "{crashed}");
    assert_eq!(crashed["message"], "exited with code 7", "{crashed}");

    agent.terminate();
    let agent = AgentProcess::spawn(dir.path(), &[]);
    let api = agent.client.clone();
    for (id, before) in [(broken, failed), (crashing, crashed)] {
        let after = api.status(id).await;
        for field in ["state", "message", "exitCode"] {
            assert_eq!(after[field], before[field], "{field}: {after} vs {before}");
        }
    }
    let (s, b) = api.command("start", broken).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(
        b["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("install failed: install script exited with code 3")),
        "{b}"
    );
    agent.terminate();
}
