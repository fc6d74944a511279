//! Start, console, stop, kill after the grace period, crash and auto-restart.

use std::time::{Duration, Instant};

use cap_protocol::events::EventKind;
use cap_protocol::server::ServerState;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::support::{alive, game, states, TestAgent};

const LIMIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_console_stop_with_events_in_order() {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    api.define(game(id)).await;

    let mut events = api.events().await;
    let first = events.next(LIMIT).await;
    let EventKind::Snapshot { servers } = first.kind else {
        panic!("first frame is not a snapshot")
    };
    assert!(servers
        .iter()
        .any(|s| s.definition.id == id && s.status.state == ServerState::Offline));

    let (status, body) = api.command("start", id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["serverId"], id.to_string());
    assert!(body["data"]["data"]["processId"].is_string(), "{body}");
    let seen = events.until_state(LIMIT, ServerState::Running).await;
    assert_eq!(states(&seen, id), ["starting", "running"]);

    api.console(id, "say hello from the test").await;
    events
        .until(LIMIT, |e| match e {
            EventKind::Console { server_id, lines } => {
                *server_id == id && lines.iter().any(|l| l == "[Server] hello from the test")
            }
            _ => false,
        })
        .await;

    let (status, body) = api.command("stop", id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["status"], "stopped");
    assert_eq!(body["data"]["state"], "offline");
    let seen = events.until_state(LIMIT, ServerState::Offline).await;
    assert_eq!(states(&seen, id), ["stopping", "offline"]);
    let history = api.history(id).await;
    assert!(
        history.iter().any(|l| l == "Stopping the server"),
        "{history:?}"
    );
    let status = api.status(id).await;
    assert_eq!(status["exitCode"], 0);
    assert_eq!(status["desiredState"], "offline");
    // The console log file outside the jail has the same lines.
    let log = std::fs::read_to_string(agent.dir.path().join(format!("data/logs/{id}/console.log")))
        .expect("console log");
    assert!(log.contains("[Server] hello from the test"));
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignored_stop_is_killed_after_grace_with_children() {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    let mut definition = game(id);
    definition["environment"]["TESTGAME_IGNORE_STOP"] = json!("1");
    definition["stop"] = json!({"type": "command", "value": "stop", "graceSeconds": 1});
    api.define(definition).await;
    api.command("start", id).await;
    let status = api.wait_state(id, "running", LIMIT).await;
    let pid = status["pid"].as_u64().expect("pid") as u32;

    api.console(id, "spawn-child").await;
    let lines = api.wait_console(id, "Spawned child process", LIMIT).await;
    let child: u32 = lines
        .iter()
        .find_map(|l| l.strip_prefix("Spawned child process "))
        .and_then(|p| p.trim().parse().ok())
        .expect("child pid");
    assert!(alive(child));

    let started = Instant::now();
    let (status, body) = api.command("stop", id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "stop returned before the grace period"
    );
    assert_eq!(body["data"]["state"], "offline");
    let lines = api.history(id).await;
    assert!(
        lines.iter().any(|l| l == "Ignoring stop command"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("did not stop within 1s")),
        "{lines:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while (alive(pid) || alive(child)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!alive(pid), "main process {pid} survived");
    assert!(!alive(child), "child process {child} survived");
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_is_detected_and_restarted() {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    api.define(game(id)).await;
    api.command("start", id).await;
    let first = api.wait_state(id, "running", LIMIT).await;
    let mut events = api.events().await;
    events.next(LIMIT).await; // snapshot

    api.console(id, "crash").await;
    let seen = events.until_state(LIMIT, ServerState::Running).await;
    assert_eq!(states(&seen, id), ["crashed", "starting", "running"]);
    let crash = seen
        .iter()
        .find_map(|e| match e {
            EventKind::State {
                state: ServerState::Crashed,
                exit_code,
                message,
                ..
            } => Some((*exit_code, message.clone())),
            _ => None,
        })
        .expect("crash event");
    assert_eq!(crash.0, Some(1));
    assert!(crash.1.unwrap_or_default().contains("restart 1/3"));
    let status = api.status(id).await;
    assert_eq!(status["restartCount"], 1);
    assert_ne!(status["pid"], first["pid"]);
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_loop_stops_after_the_limit() {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    api.define(json!({
        "id": id,
        "startup": "echo booting; exit 7",
        "crashPolicy": {"autoRestart": true, "maxRestarts": 2, "windowSeconds": 60, "backoffMs": 50, "maxBackoffMs": 100}
    }))
    .await;
    let mut events = api.events().await;
    events.next(LIMIT).await; // snapshot
    api.command("start", id).await;
    let seen = events
        .until(LIMIT, |e| match e {
            EventKind::State {
                state: ServerState::Crashed,
                message,
                ..
            } => message
                .as_deref()
                .is_some_and(|m| m.contains("not restarting")),
            _ => false,
        })
        .await;
    let runs = states(&seen, id).iter().filter(|s| *s == "running").count();
    assert_eq!(
        runs,
        3,
        "one start and two restarts: {:?}",
        states(&seen, id)
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = api.status(id).await;
    assert_eq!(status["state"], "crashed");
    assert_eq!(status["exitCode"], 7);
    assert_eq!(status["desiredState"], "offline");
    let history = api.history(id).await;
    assert_eq!(
        history.iter().filter(|l| *l == "booting").count(),
        3,
        "{history:?}"
    );
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_limit_is_enforced() {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    let mut definition = game(id);
    definition["limits"] = json!({"memoryMib": 1});
    definition["crashPolicy"] = json!({"autoRestart": false});
    api.define(definition).await;
    // With cgroups the kernel kills the game once its own memory passes the limit; without,
    // the agent's sampling of the resident set (shared pages included) does at once.
    let (_, system) = api.get("/api/system").await;
    let cgroups = !system["data"]["cgroupVersion"].is_null();
    api.command("start", id).await;
    if cgroups {
        api.wait_state(id, "running", LIMIT).await;
        api.console(id, "alloc 4").await;
    }
    let status = api.wait_state(id, "crashed", LIMIT).await;
    let message = status["message"].as_str().unwrap_or_default();
    let expected = if cgroups {
        "out of memory"
    } else {
        "memory limit exceeded"
    };
    assert!(message.contains(expected), "{status}");
    // The kernel kills only the game, which the shell in front of it reports as 137.
    let code = status["exitCode"].as_i64();
    assert!(
        code == Some(-9) || (cgroups && code == Some(137)),
        "{status}"
    );
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_signal_reaches_the_game_behind_the_shell_and_ends_offline() {
    for signal in ["SIGINT", "SIGTERM"] {
        stop_behind_shell(signal).await;
    }
}

async fn stop_behind_shell(signal: &str) {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    let mut definition = game(id);
    // Not the last command, so the shell stays as the game's parent. The stop signal goes
    // to the whole group: `sh` dies of SIGTERM at once, while the game takes its time to
    // save. Both SIGINT (Luanti's stop) and SIGTERM must end `offline`, the game saved.
    definition["startup"] = json!(format!(
        "{} ; echo the game has ended",
        crate::support::testgame_bin().display()
    ));
    definition["stop"] = json!({"type": "signal", "value": signal, "graceSeconds": 30});
    definition["environment"]["TESTGAME_SAVE_MS"] = json!("300");
    api.define(definition).await;
    api.command("start", id).await;
    api.wait_state(id, "running", LIMIT).await;
    let mut events = api.events().await;
    events.next(LIMIT).await; // snapshot

    let (status, body) = api.command("stop", id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["state"], "offline", "{body}");
    let seen = events.until_state(LIMIT, ServerState::Offline).await;
    assert_eq!(states(&seen, id), ["stopping", "offline"]);
    // The game got the signal and finished saving although the shell died at once.
    let history = api.history(id).await;
    let saved = [
        format!("Received {signal}, saving the world"),
        "World saved, bye".to_owned(),
    ];
    assert!(
        saved.iter().all(|s| history.iter().any(|l| l == s)),
        "{history:?}"
    );
    assert!(
        !history.iter().any(|l| l.contains("did not stop within")),
        "{history:?}"
    );
    let status = api.status(id).await;
    assert_eq!(status["desiredState"], "offline");
    assert!(status["message"].is_null(), "{status}");
    agent.shutdown().await;
}
