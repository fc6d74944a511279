//! Schedules through the panel: validation, visibility, the push to the agent, manual
//! runs, and run records that the agent keeps while the panel is down and delivers
//! exactly once.

use std::time::Duration;

use chrono::{Datelike, Timelike, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::e2e::{installed, register, test_game, test_server, SLOW};
use crate::processes::{Agent, Panel, Session};
use crate::servers_on_agent::OnAgent;

fn nightly() -> Value {
    json!({
        "name": "nightly restart",
        "trigger": {"type": "cron", "expression": "0 4 * * *", "timezone": "Europe/Berlin"},
        "tasks": [
            {"type": "command", "command": "say restarting in 60 seconds"},
            {"type": "wait", "seconds": 60},
            {"type": "power", "action": "restart"}
        ]
    })
}

/// The field names of a 422's details.
fn fields(body: &Value) -> Vec<String> {
    body["details"]
        .as_object()
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn bad_schedules_are_refused_with_the_field_and_strangers_get_404() {
    let on = OnAgent::start(|_| {}).await;
    let server = on
        .server(
            "scheduled",
            json!({ "memoryMb": 256, "cpuPercent": 100, "diskMb": 64 }),
        )
        .await;
    let path = format!("/api/servers/{server}/schedules");
    let refusals = [
        (
            json!({"expression": "61 * * * *", "timezone": "UTC"}),
            None,
            "trigger.expression",
        ),
        (
            json!({"expression": "0 4 * * *", "timezone": "Mars/Olympus"}),
            None,
            "trigger.timezone",
        ),
        (
            json!({"expression": "0 4 * * *"}),
            Some(json!(vec![json!({"type": "wait", "seconds": 1}); 21])),
            "tasks",
        ),
        (
            json!({"expression": "0 4 * * *"}),
            Some(json!([{"type": "teleport", "to": "moon"}])),
            "tasks[0]",
        ),
    ];
    for (trigger, tasks, field) in refusals {
        let mut body = nightly();
        body["trigger"] = trigger;
        body["trigger"]["type"] = json!("cron");
        if let Some(tasks) = tasks {
            body["tasks"] = tasks;
        }
        let (status, answer) = on.admin.post(&path, body).await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["code"], "VALIDATION_ERROR");
        assert!(
            fields(&answer).iter().any(|f| f.starts_with(field)),
            "{field}: {answer}"
        );
    }
    let (status, answer) = on
        .admin
        .get("/api/schedules/preview?cron=0%204%20*%20*%20*&timezone=Nowhere%2FTown")
        .await;
    assert_eq!(status, 422);
    assert_eq!(fields(&answer), ["timezone"]);
    let (status, answer) = on
        .admin
        .get("/api/schedules/preview?cron=0%204%20*%20*%20*&timezone=Europe%2FBerlin")
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["data"]["description"],
        "every day at 04:00 Europe/Berlin"
    );
    assert_eq!(answer["data"]["nextRuns"].as_array().map(Vec::len), Some(5));

    // A valid one is stored, audited and on the agent with the definition.
    let (status, created) = on.admin.post(&path, nightly()).await;
    assert_eq!(status, 200, "{created}");
    let schedule = created["data"]["id"].as_str().expect("id").to_owned();
    assert_eq!(created["data"]["tasks"][2]["action"], "restart");
    let on_agent = on.agent.server(&server).await;
    assert_eq!(
        on_agent["definition"]["schedules"][0]["id"],
        schedule.as_str()
    );
    let mut changed = nightly();
    changed["active"] = json!(false);
    let (status, updated) = on
        .admin
        .call(Method::PUT, &format!("{path}/{schedule}"), Some(changed))
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        on.agent.server(&server).await["definition"]["schedules"][0]["active"],
        false
    );
    let (_, audit) = on.admin.get("/api/audit?action=schedule.updated").await;
    assert_eq!(audit["data"]["total"], 1, "{audit}");

    // Someone who cannot see the server learns nothing about it.
    on.app.create_user("stranger").await;
    let stranger = Session::login(&on.app.url(""), "stranger", "password-stranger").await;
    for (method, url) in [
        (Method::GET, path.clone()),
        (Method::GET, format!("{path}/{schedule}")),
        (Method::POST, format!("{path}/{schedule}/run")),
        (Method::GET, format!("{path}/{schedule}/runs")),
    ] {
        let (status, _) = stranger.call(method, &url, None).await;
        assert_eq!(status, 404, "{url}");
    }
    let (status, _) = stranger.call(Method::POST, &path, Some(nightly())).await;
    assert_eq!(status, 404);
    let (status, _) = on
        .admin
        .call(Method::DELETE, &format!("{path}/{schedule}"), None)
        .await;
    assert_eq!(status, 200);
    assert!(on.agent.server(&server).await["definition"]["schedules"].is_null());
}

/// A cron expression (with seconds) that comes due once, `ahead` from now (UTC).
fn once_in(ahead: Duration) -> String {
    let at = Utc::now() + ahead;
    format!(
        "{} {} {} {} {} *",
        at.second(),
        at.minute(),
        at.hour(),
        at.day(),
        at.month()
    )
}

#[tokio::test]
async fn a_schedule_due_while_the_panel_is_down_is_recorded_exactly_once() {
    let panel_dir = tempfile::tempdir().expect("temp dir");
    let agent_dir = tempfile::tempdir().expect("temp dir");
    let (mut panel, password) = Panel::start(panel_dir.path());
    let password = password.expect("first start prints the password");
    let admin = Session::login(&panel.url, "admin", &password).await;
    let agent = Agent::start(agent_dir.path(), 0);
    let node = register(&admin, "node", &agent, (43000, 43100)).await;
    let game = test_game(&admin).await;
    let server = installed(&admin, test_server(&node, &game, "unattended")).await;
    let id = server["id"].as_str().expect("id").to_owned();
    let mut schedule = nightly();
    schedule["trigger"] = json!({"type": "cron", "expression": once_in(Duration::from_secs(4))});
    schedule["tasks"] = json!([{"type": "wait", "seconds": 1}]);
    let (status, created) = admin
        .post(&format!("/api/servers/{id}/schedules"), schedule)
        .await;
    assert_eq!(status, 200, "{created}");
    let sid = created["data"]["id"].as_str().expect("id").to_owned();
    panel.kill_hard();

    // The agent runs it alone.
    let agent_runs = format!(
        "http://127.0.0.1:{}/api/servers/{id}/schedule-runs?after=0",
        agent.port
    );
    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + SLOW;
    let run = loop {
        let body: Value = http
            .get(&agent_runs)
            .bearer_auth(&agent.token)
            .send()
            .await
            .expect("agent")
            .json()
            .await
            .expect("json");
        if let Some(done) = body["data"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["outcome"] == "completed"))
        {
            break done.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the agent never ran it: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // Back up: the record is there once, however often the panel restarts.
    let history = format!("/api/servers/{id}/schedules/{sid}/runs");
    let mut expected = 1;
    for _ in 0..2 {
        let (again, _) = Panel::start(panel_dir.path());
        panel = again;
        let admin = Session::login(&panel.url, "admin", &password).await;
        let page = admin
            .wait_for(&history, SLOW, |p| p["total"] == expected)
            .await;
        let cron_run = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == run["id"])
            .cloned();
        let cron_run = cron_run.expect("the run the agent did alone");
        assert_eq!(cron_run["outcome"], "completed");
        assert_eq!(cron_run["trigger"], "cron");
        assert_eq!(
            cron_run["tasks"],
            json!([{"type": "wait", "outcome": "completed"}])
        );
        // A run started now is delivered after the catch-up on the same event stream: once
        // it is in, the catch-up is done, and it added nothing twice.
        let (status, started) = admin
            .post(&format!("/api/servers/{id}/schedules/{sid}/run"), json!({}))
            .await;
        assert_eq!(status, 200, "{started}");
        let manual = started["data"]["runId"].clone();
        expected += 1;
        let page = admin
            .wait_for(&history, SLOW, |p| {
                p["items"].as_array().is_some_and(|i| {
                    i.iter()
                        .any(|r| r["id"] == manual && r["outcome"] == "completed")
                })
            })
            .await;
        assert_eq!(page["total"], expected, "{page}");
        panel.kill_hard();
    }
}
