//! The real agent binary is SIGKILLed and started again on the same data directory:
//! its games keep running under their shims and are taken over.

use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use crate::support::{alive, game, AgentProcess};

const LIMIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_agent_reattaches_to_running_games_and_sees_what_happened_meanwhile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = AgentProcess::spawn(dir.path(), &[]);
    let api = agent.client.clone();
    let games = [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()];
    let (exits, stopped) = (Uuid::new_v4(), Uuid::new_v4());
    for id in games {
        let mut definition = game(id);
        definition["desiredState"] = "running".into();
        api.define(definition).await;
    }
    api.define(game(stopped)).await;
    let mut pids = Vec::new();
    for id in games {
        let status = api.wait_state(id, "running", LIMIT).await;
        pids.push(status["pid"].as_u64().expect("pid") as u32);
    }
    api.define(json!({
        "id": exits, "startup": "sleep 2; exit 3", "desiredState": "running",
        "crashPolicy": {"autoRestart": false}
    }))
    .await;
    api.wait_state(exits, "running", LIMIT).await;
    // Output that the game prints while no agent is there.
    api.console(games[0], "flood 6 3").await;
    api.wait_console(games[0], "flood 0 ", LIMIT).await;

    agent.kill();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for pid in &pids {
        assert!(alive(*pid), "game {pid} died with the agent");
    }

    let agent = AgentProcess::spawn(dir.path(), &[]);
    let api = agent.client.clone();
    for (id, pid) in games.iter().zip(&pids) {
        let status = api.wait_state(*id, "running", LIMIT).await;
        assert_eq!(status["pid"].as_u64(), Some(u64::from(*pid)), "{status}");
    }
    api.wait_console(games[0], "flood done 6", LIMIT).await;
    let history = api.history(games[0]).await;
    assert!(
        history.iter().any(|l| l.starts_with("flood 5 ")),
        "{history:?}"
    );
    api.console(games[1], "say still here").await;
    api.wait_console(games[1], "[Server] still here", LIMIT)
        .await;
    let status = api.wait_state(exits, "crashed", LIMIT).await;
    assert_eq!(status["exitCode"], 3, "{status}");
    assert_eq!(api.status(stopped).await["state"], "offline");

    // A graceful agent stop stops the games and keeps their desired state.
    agent.terminate();
    for pid in &pids {
        assert!(!alive(*pid), "graceful agent stop leaves no game process");
    }
    let agent = AgentProcess::spawn(dir.path(), &[]);
    agent.client.wait_state(games[2], "running", LIMIT).await;
    agent.terminate();
}

/// An agent started with `flags` and one running test game: the agent, its id, its PID.
async fn one_running_game(data: &std::path::Path, flags: &[&str]) -> (AgentProcess, Uuid, u32) {
    let agent = AgentProcess::spawn(data, flags);
    let id = Uuid::new_v4();
    let mut definition = game(id);
    definition["desiredState"] = "running".into();
    agent.client.define(definition).await;
    let status = agent.client.wait_state(id, "running", LIMIT).await;
    let pid = status["pid"].as_u64().expect("pid") as u32;
    (agent, id, pid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_told_to_keep_servers_exits_without_stopping_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (agent, id, pid) = one_running_game(dir.path(), &["--keep-servers-on-exit"]).await;
    agent.terminate();
    assert!(alive(pid), "the game was stopped with the agent");
    let agent = AgentProcess::spawn(dir.path(), &[]);
    let status = agent.client.wait_state(id, "running", LIMIT).await;
    assert_eq!(status["pid"].as_u64(), Some(u64::from(pid)));
    agent.terminate();
    assert!(!alive(pid), "without the flag the agent stops its games");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_game_of_a_server_deleted_while_no_agent_ran_is_ended() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (agent, id, pid) = one_running_game(dir.path(), &[]).await;
    agent.kill();
    std::fs::remove_file(dir.path().join(format!("definitions/{id}.json"))).expect("remove");
    let agent = AgentProcess::spawn(dir.path(), &[]);
    assert!(!alive(pid), "the deleted server's game still runs");
    assert!(!dir.path().join(format!("shims/{id}.sock")).exists());
    agent.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_beyond_the_shim_buffer_is_reported_as_lost_after_reattaching() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (agent, id, pid) = one_running_game(dir.path(), &[]).await;
    // About 2 MiB at 40,000 lines/s, nearly all of it printed after the agent is gone.
    agent.client.console(id, "flood 64000 40000").await;
    agent.client.wait_console(id, "flood ", LIMIT).await;
    agent.kill();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let agent = AgentProcess::spawn(dir.path(), &[]);
    let status = agent.client.wait_state(id, "running", LIMIT).await;
    assert_eq!(status["pid"].as_u64(), Some(u64::from(pid)));
    // The notice precedes the replayed lines, which push it out of the in-memory history
    // (and most of which the console's flood limit drops): look in the console log.
    let log_path = dir.path().join(format!("logs/{id}/console.log"));
    let deadline = std::time::Instant::now() + LIMIT;
    let notice = loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if let Some(line) = log
            .lines()
            .find(|l| l.contains("of output printed while the agent was away"))
        {
            break line.to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no notice of lost output in the console log"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let lost: u64 = notice
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .expect("lost KiB");
    assert!(lost >= 512, "{notice}");
    agent.terminate();
}
