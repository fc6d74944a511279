//! Schedules run by the agent: a seconds-resolution cron trigger, event triggers (crash,
//! console line), overlapping runs, and runs interrupted by an agent kill.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{game, AgentProcess, Client, TestAgent};

const LIMIT: Duration = Duration::from_secs(20);

/// `game(id)` with these schedules.
fn with_schedules(id: Uuid, schedules: Value) -> Value {
    let mut definition = game(id);
    definition["schedules"] = schedules;
    definition
}

/// The server's run records, oldest first.
async fn runs(api: &Client, id: Uuid) -> Vec<Value> {
    let (status, body) = api
        .get(&format!("/api/servers/{id}/schedule-runs?after=0"))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    body["data"].as_array().cloned().unwrap_or_default()
}

/// Poll the run records until `done` accepts them.
async fn wait_runs(
    api: &Client,
    id: Uuid,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + LIMIT;
    loop {
        let runs = runs(api, id).await;
        if done(&runs) {
            return runs;
        }
        assert!(Instant::now() < deadline, "never saw {what}: {runs:#?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn with_outcome<'a>(runs: &'a [Value], outcome: &str) -> Vec<&'a Value> {
    runs.iter().filter(|r| r["outcome"] == outcome).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cron_schedule_says_hello_on_the_console() {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    let schedule = Uuid::new_v4();
    api.define(with_schedules(
        id,
        json!([{
            "id": schedule, "name": "greeting", "onlyWhenOnline": true,
            "trigger": {"type": "cron", "expression": "* * * * * *", "timezone": "Europe/Berlin"},
            "tasks": [{"type": "command", "command": "say scheduled hello"}]
        }]),
    ))
    .await;
    // Offline: the schedule comes due and is skipped, with the reason.
    let skipped = wait_runs(api, id, "a skipped run", |r| {
        !with_outcome(r, "skipped").is_empty()
    })
    .await;
    let first = with_outcome(&skipped, "skipped")[0];
    assert_eq!(first["trigger"], "cron");
    assert!(
        first["error"]
            .as_str()
            .unwrap_or("")
            .contains("not running"),
        "{first}"
    );

    api.command("start", id).await;
    api.wait_state(id, "running", LIMIT).await;
    api.wait_console(id, "[Server] scheduled hello", LIMIT)
        .await;
    let runs = wait_runs(api, id, "a completed run", |r| {
        !with_outcome(r, "completed").is_empty()
    })
    .await;
    let done = with_outcome(&runs, "completed")[0];
    assert_eq!(done["scheduleId"], schedule.to_string());
    assert_eq!(
        done["tasks"],
        json!([{"type": "command", "outcome": "completed"}])
    );
    assert!(done["endedAt"].is_string());
    // Each version of a record has a greater seq than everything before it.
    let seqs: Vec<u64> = runs.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_trigger_runs_its_tasks_after_kill_9() {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    let mut definition = with_schedules(
        id,
        json!([{
            "id": Uuid::new_v4(), "name": "revive",
            "trigger": {"type": "crashed"},
            "tasks": [
                {"type": "power", "action": "start"},
                {"type": "wait_for_line", "pattern": ")! For help", "timeoutSeconds": 15},
                {"type": "command", "command": "say revived by a schedule"}
            ]
        }]),
    );
    definition["crashPolicy"] = json!({"autoRestart": false});
    api.define(definition).await;
    api.command("start", id).await;
    let status = api.wait_state(id, "running", LIMIT).await;
    let pid = status["pid"].as_u64().expect("pid") as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9");
    api.wait_console(id, "[Server] revived by a schedule", LIMIT)
        .await;
    let runs = wait_runs(api, id, "a completed crash run", |r| {
        !with_outcome(r, "completed").is_empty()
    })
    .await;
    let run = with_outcome(&runs, "completed")[0];
    assert_eq!(run["trigger"], "crashed");
    let outcomes: Vec<&Value> = run["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["outcome"])
        .collect();
    assert_eq!(outcomes, ["completed", "completed", "completed"]);
    let status = api.status(id).await;
    assert_eq!(status["state"], "running");
    assert_ne!(status["pid"].as_u64(), Some(pid as u64));
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_pattern_fires_once_per_matching_line() {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    api.define(with_schedules(
        id,
        json!([{
            "id": Uuid::new_v4(), "name": "answer",
            "trigger": {"type": "console_line", "pattern": r"regex:^\[Server\] ping \d+$"},
            "tasks": [{"type": "command", "command": "say pong"}]
        }]),
    ))
    .await;
    api.command("start", id).await;
    api.wait_state(id, "running", LIMIT).await;

    api.console(id, "say ping 1").await;
    wait_runs(api, id, "one run", |r| {
        with_outcome(r, "completed").len() == 1
    })
    .await;
    // A line that does not match, then a second match: exactly one more run.
    api.console(id, "say ping one").await;
    api.console(id, "say ping 2").await;
    let runs = wait_runs(api, id, "two runs", |r| {
        with_outcome(r, "completed").len() >= 2
    })
    .await;
    assert_eq!(runs.len(), 2, "{runs:#?}");
    assert!(runs.iter().all(|r| r["trigger"] == "console_line"));
    let pongs = api
        .history(id)
        .await
        .iter()
        .filter(|l| *l == "[Server] pong")
        .count();
    assert_eq!(pongs, 2);
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_runs_are_skipped_and_a_killed_agent_leaves_them_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = AgentProcess::spawn(&data, &[]);
    let api = &first.client;
    let id = Uuid::new_v4();
    let schedule = Uuid::new_v4();
    api.define(with_schedules(
        id,
        json!([{
            "id": schedule, "name": "slow", "active": false,
            "trigger": {"type": "started"},
            "tasks": [{"type": "wait", "seconds": 600}, {"type": "command", "command": "say late"}]
        }]),
    ))
    .await;
    let run_now = format!("/api/servers/{id}/schedules/{schedule}/run");
    let (status, body) = api.post(&run_now, json!({})).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let long = body["data"]["runId"].as_str().expect("run id").to_owned();
    wait_runs(api, id, "the running record", |r| {
        r.iter()
            .any(|r| r["id"] == long && r["outcome"] == "running")
    })
    .await;
    let (_, body) = api.post(&run_now, json!({})).await;
    let overlapping = body["data"]["runId"].as_str().expect("run id").to_owned();
    let runs = wait_runs(api, id, "the skipped run", |r| {
        r.iter().any(|r| r["id"] == overlapping)
    })
    .await;
    let skipped = runs.iter().find(|r| r["id"] == overlapping).unwrap();
    assert_eq!(skipped["outcome"], "skipped");
    assert_eq!(skipped["trigger"], "manual");
    let (status, _) = api
        .post(
            &format!("/api/servers/{id}/schedules/{}/run", Uuid::new_v4()),
            json!({}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);
    let cursor = runs
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .max()
        .unwrap();
    first.kill();

    let again = AgentProcess::spawn(&data, &[]);
    let (_, body) = again
        .client
        .get(&format!("/api/servers/{id}/schedule-runs?after={cursor}"))
        .await;
    let changed = body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(changed.len(), 1, "{changed:#?}");
    let interrupted = &changed[0];
    assert_eq!(interrupted["id"], long);
    assert_eq!(interrupted["outcome"], "interrupted");
    assert_eq!(
        interrupted["tasks"],
        json!([{"type": "wait", "outcome": "interrupted"}])
    );
    // The schedule goes on: a new run starts and is not taken for an overlap.
    let (_, body) = again.client.post(&run_now, json!({})).await;
    let next = body["data"]["runId"].as_str().expect("run id").to_owned();
    wait_runs(&again.client, id, "a new running run", |r| {
        r.iter()
            .any(|r| r["id"] == next && r["outcome"] == "running")
    })
    .await;
    again.terminate();
}
