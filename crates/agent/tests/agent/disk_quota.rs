//! A game that writes past its disk quota is stopped and not started again until its
//! directory is back under the limit.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::support::{game_after, TestAgent};

const LIMIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_over_its_disk_quota_is_stopped_and_not_started() {
    let agent = TestAgent::start_with(|c| c.disk_scan_interval = Duration::from_millis(200)).await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    // The game writes 3 MiB into a directory allowed 1 MiB.
    let mut definition = game_after(id, "head -c 3145728 /dev/zero > filler.bin");
    definition["limits"] = json!({"diskMib": 1});
    api.define(definition).await;
    let (s, b) = api.command("start", id).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let status = api.wait_state(id, "offline", LIMIT).await;
    assert_eq!(
        status["message"], "disk quota exceeded (3 MiB of 1 MiB)",
        "{status}"
    );
    assert_eq!(status["desiredState"], "offline", "{status}");
    let lines = api.wait_console(id, "disk quota exceeded", LIMIT).await;
    assert!(
        lines.iter().any(|l| l.contains("Stopping the server")),
        "stopped through the normal stop command: {lines:?}"
    );

    let (s, b) = api.command("start", id).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(
        b["error"]
            .as_str()
            .is_some_and(|e| e.contains("disk quota exceeded (3 MiB of 1 MiB)")),
        "{b}"
    );
    assert_eq!(api.status(id).await["state"], "offline");

    // Back under the limit, it starts (and writes again, so it is stopped again).
    let (s, b) = api
        .post(
            &format!("/api/servers/{id}/files/delete"),
            json!({"paths": ["filler.bin"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = api.command("start", id).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    agent.shutdown().await;
}
