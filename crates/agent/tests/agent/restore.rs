//! The real agent binary is SIGKILLed and started again on the same data directory.

use std::time::Duration;

use uuid::Uuid;

use crate::support::{alive, game, AgentProcess};

const LIMIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_agent_restores_definitions_and_running_servers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = AgentProcess::spawn(dir.path(), &[]);
    let api = agent.client.clone();
    let (running, stopped) = (Uuid::new_v4(), Uuid::new_v4());
    let mut definition = game(running);
    definition["desiredState"] = "running".into();
    api.define(definition).await;
    api.define(game(stopped)).await;
    let before = api.wait_state(running, "running", LIMIT).await;
    let old_pid = before["pid"].as_u64().expect("pid") as u32;

    agent.kill();

    let agent = AgentProcess::spawn(dir.path(), &[]);
    let api = agent.client.clone();
    let after = api.wait_state(running, "running", LIMIT).await;
    let new_pid = after["pid"].as_u64().expect("pid") as u32;
    assert_ne!(new_pid, old_pid);
    assert!(
        !alive(old_pid),
        "the orphaned game process {old_pid} was not cleaned up"
    );
    assert_eq!(api.status(stopped).await["state"], "offline");
    let (_, list) = api.get("/api/servers").await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(2));

    // A graceful agent stop keeps the desired state: the server comes back again.
    agent.terminate();
    assert!(
        !alive(new_pid),
        "graceful agent stop leaves no game process"
    );
    let agent = AgentProcess::spawn(dir.path(), &[]);
    agent.client.wait_state(running, "running", LIMIT).await;
    agent.terminate();
}
