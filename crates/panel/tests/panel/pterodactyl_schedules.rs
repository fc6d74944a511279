//! Schedules through the Pterodactyl-compatible client API: cron fields, tasks with time
//! offsets (our wait tasks), changes, runs and what a subuser without the permission gets.

use reqwest::Method;
use serde_json::{json, Value};

use crate::processes::Session;
use crate::pterodactyl::{call, key, short, SMALL};
use crate::servers_on_agent::OnAgent;

#[tokio::test]
async fn schedules_the_pterodactyl_way() {
    let on = OnAgent::start(|_| {}).await;
    let server = on
        .server("timed", serde_json::from_str(SMALL).unwrap())
        .await;
    let (status, created) = on
        .admin
        .post(
            &format!("/api/servers/{server}/schedules"),
            json!({
                "name": "nightly",
                "trigger": { "type": "cron", "expression": "30 4 * * 1-5" },
                "tasks": [
                    { "type": "command", "command": "say restarting" },
                    { "type": "wait", "seconds": 30 },
                    { "type": "power", "action": "restart" },
                ],
            }),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let (status, _) = on
        .admin
        .post(
            &format!("/api/servers/{server}/schedules"),
            json!({
                "name": "on crash",
                "trigger": { "type": "crashed" },
                "tasks": [{ "type": "command", "command": "say oops" }],
            }),
        )
        .await;
    assert_eq!(status, 200);
    let client = key(&on.admin, "pterodactyl_client").await;
    let base = format!("/api/client/servers/{}/schedules", short(&server));

    let (status, listed) = call(&on, &client, Method::GET, &base, None).await;
    assert_eq!(status, 200, "{listed}");
    let nightly = &listed["data"][0];
    assert_eq!(nightly["object"], "server_schedule");
    let attributes = &nightly["attributes"];
    assert_eq!(
        attributes["cron"],
        json!({ "minute": "30", "hour": "4", "day_of_month": "*", "month": "*", "day_of_week": "1-5" })
    );
    assert!(attributes["next_run_at"].is_string(), "{attributes}");
    assert!(attributes["last_run_at"].is_null());
    let tasks = &attributes["relationships"]["tasks"]["data"];
    let summary: Vec<(Value, Value, Value)> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let a = &t["attributes"];
            (
                a["action"].clone(),
                a["payload"].clone(),
                a["time_offset"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (json!("command"), json!("say restarting"), json!(0)),
            (json!("power"), json!("restart"), json!(30)),
        ]
    );
    assert!(
        listed["data"][1]["attributes"]["cron"].is_null(),
        "an event trigger has no cron fields"
    );

    // Pterodactyl's update: new cron fields, tasks kept.
    let (status, updated) = call(
        &on,
        &client,
        Method::POST,
        &format!("{base}/{id}"),
        Some(json!({
            "name": "weekly", "minute": "0", "hour": "5", "day_of_month": "*",
            "month": "*", "day_of_week": "0", "is_active": true,
        })),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["attributes"]["name"], "weekly");
    assert_eq!(updated["attributes"]["cron"]["day_of_week"], "0");
    let (status, bad) = call(
        &on,
        &client,
        Method::POST,
        &format!("{base}/{id}"),
        Some(json!({
            "name": "weekly", "minute": "61", "hour": "5", "day_of_month": "*",
            "month": "*", "day_of_week": "0",
        })),
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    assert_eq!(bad["errors"][0]["code"], "ValidationException");

    // Tasks: added with an offset, changed, removed.
    let (status, task) = call(
        &on,
        &client,
        Method::POST,
        &format!("{base}/{id}/tasks"),
        Some(json!({ "action": "backup", "payload": "*.log", "time_offset": 10 })),
    )
    .await;
    assert_eq!(status, 200, "{task}");
    assert_eq!(task["object"], "schedule_task");
    assert_eq!(task["attributes"]["sequence_id"], 3);
    assert_eq!(task["attributes"]["time_offset"], 10);
    let (_, ours) = on
        .admin
        .get(&format!("/api/servers/{server}/schedules/{id}"))
        .await;
    let kinds: Vec<&str> = ours["data"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["command", "wait", "power", "wait", "backup"]);
    let (status, changed) = call(
        &on,
        &client,
        Method::POST,
        &format!("{base}/{id}/tasks/1"),
        Some(json!({ "action": "command", "payload": "say soon" })),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["attributes"]["payload"], "say soon");
    let (status, bad) = call(
        &on,
        &client,
        Method::POST,
        &format!("{base}/{id}/tasks"),
        Some(json!({ "action": "power", "payload": "dance" })),
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    let (status, _) = call(
        &on,
        &client,
        Method::DELETE,
        &format!("{base}/{id}/tasks/9"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &on,
        &client,
        Method::DELETE,
        &format!("{base}/{id}/tasks/3"),
        None,
    )
    .await;
    assert_eq!(status, 204);

    // Run now, then delete.
    let (status, body) = call(
        &on,
        &client,
        Method::POST,
        &format!("{base}/{id}/execute"),
        None,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let (_, audit) = on.admin.get("/api/audit?action=schedule.run").await;
    assert_eq!(audit["data"]["total"], 1, "{audit}");

    // A subuser without server:schedule sees none of it.
    on.app.create_user("viewer").await;
    let (status, body) = on
        .admin
        .post(
            &format!("/api/servers/{server}/subusers"),
            json!({ "username": "viewer", "permissions": ["file:read"] }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let viewer = Session::login(&on.app.url(""), "viewer", "password-viewer").await;
    let viewer_key = key(&viewer, "pterodactyl_client").await;
    let (status, body) = call(&on, &viewer_key, Method::GET, &base, None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["errors"][0]["code"], "AccessDeniedHttpException");

    let (status, _) = call(&on, &client, Method::DELETE, &format!("{base}/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&on, &client, Method::GET, &format!("{base}/{id}"), None).await;
    assert_eq!(status, 404);
}
