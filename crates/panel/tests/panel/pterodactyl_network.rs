//! Allocations and backups through the Pterodactyl-compatible client API, against a real
//! agent: limits as Pterodactyl's conflicts, paging, locks, restore.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::pterodactyl::{call, key, short, SMALL};
use crate::pterodactyl_routes::{bare_post, refused};
use crate::servers_on_agent::OnAgent;

#[tokio::test]
async fn allocations_and_backups_the_pterodactyl_way() {
    let on = OnAgent::start(|_| {}).await;
    let server = on
        .server("kept", serde_json::from_str(SMALL).unwrap())
        .await;
    let client = key(&on.admin, "pterodactyl_client").await;
    let base = format!("/api/client/servers/{}", short(&server));

    // Allocations: the primary alone until an administrator allows more.
    let (status, listed) = call(
        &on,
        &client,
        Method::GET,
        &format!("{base}/network/allocations"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    let primary = &listed["data"][0];
    assert_eq!(primary["object"], "allocation");
    assert_eq!(primary["attributes"]["is_default"], true);
    assert!(primary["attributes"]["notes"].is_null());
    let primary_id = primary["attributes"]["id"].as_str().unwrap().to_owned();
    let full = bare_post(&on, &client, &format!("{base}/network/allocations")).await;
    assert_eq!(refused(full, 409), "ConflictHttpException");
    let (status, body) = on
        .admin
        .call(
            Method::PUT,
            &format!("/api/servers/{server}/allocation-limit"),
            Some(json!({ "limit": 2 })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, added) = bare_post(&on, &client, &format!("{base}/network/allocations")).await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["attributes"]["is_default"], false);
    let added_id = added["attributes"]["id"].as_str().unwrap().to_owned();
    let (status, noted) = call(
        &on,
        &client,
        Method::POST,
        &format!("{base}/network/allocations/{added_id}"),
        Some(json!({ "notes": "query port" })),
    )
    .await;
    assert_eq!(status, 200, "{noted}");
    assert_eq!(noted["attributes"]["notes"], "query port");
    let (status, switched) = bare_post(
        &on,
        &client,
        &format!("{base}/network/allocations/{added_id}/primary"),
    )
    .await;
    assert_eq!(status, 200, "{switched}");
    assert_eq!(switched["attributes"]["is_default"], true);
    let primary_gone = call(
        &on,
        &client,
        Method::DELETE,
        &format!("{base}/network/allocations/{added_id}"),
        None,
    )
    .await;
    assert_eq!(refused(primary_gone, 409), "ConflictHttpException");
    let (status, _) = call(
        &on,
        &client,
        Method::DELETE,
        &format!("{base}/network/allocations/{primary_id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);

    // Backups: created with no body and with one, paged, locked, restored.
    let (status, body) = on
        .admin
        .call(
            Method::PATCH,
            &format!("/api/servers/{server}"),
            Some(json!({ "backups": { "limit": 3 } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut uuids = Vec::new();
    for n in 0..2 {
        let (status, created) = if n == 0 {
            bare_post(&on, &client, &format!("{base}/backups")).await
        } else {
            call(
                &on,
                &client,
                Method::POST,
                &format!("{base}/backups"),
                Some(json!({ "name": "second", "ignored": "*.log\nlogs/", "is_locked": true })),
            )
            .await
        };
        assert_eq!(status, 200, "{created}");
        assert_eq!(created["object"], "backup");
        let uuid = created["attributes"]["uuid"].as_str().unwrap().to_owned();
        let done = completed(&on, &client, &format!("{base}/backups/{uuid}")).await;
        assert!(
            done["checksum"].as_str().unwrap().starts_with("sha256:"),
            "{done}"
        );
        uuids.push(uuid);
    }
    let (status, page) = call(
        &on,
        &client,
        Method::GET,
        &format!("{base}/backups?per_page=1"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["meta"]["backup_count"], 2);
    assert_eq!(page["meta"]["pagination"]["total_pages"], 2);
    let second = &page["data"][0]["attributes"];
    assert_eq!(second["name"], "second", "newest first: {page}");
    assert_eq!(second["is_locked"], true);
    assert_eq!(second["ignored_files"], json!(["*.log", "logs/"]));
    let locked = call(
        &on,
        &client,
        Method::DELETE,
        &format!("{base}/backups/{}", uuids[1]),
        None,
    )
    .await;
    assert_eq!(refused(locked, 409), "ConflictHttpException");
    let (status, unlocked) =
        bare_post(&on, &client, &format!("{base}/backups/{}/lock", uuids[1])).await;
    assert_eq!(status, 200);
    assert_eq!(unlocked["attributes"]["is_locked"], false);
    let (status, _) = call(
        &on,
        &client,
        Method::DELETE,
        &format!("{base}/backups/{}", uuids[1]),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = call(
        &on,
        &client,
        Method::POST,
        &format!("{base}/backups/{}/restore", uuids[0]),
        Some(json!({ "truncate": false })),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (_, audit) = on.admin.get("/api/audit?action=backup.restored").await;
    assert_eq!(audit["data"]["total"], 1, "{audit}");
}

/// The backup's attributes once it completed.
async fn completed(on: &OnAgent, key: &str, path: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = call(on, key, Method::GET, path, None).await;
        assert_eq!(status, 200, "{body}");
        if body["attributes"]["is_successful"] == true {
            return body["attributes"].clone();
        }
        assert!(Instant::now() < deadline, "backup not done: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
