//! An imported egg on a node with a Docker engine: the node shows the engine, the
//! server defaults to the Docker runtime in the egg's first image, installs and runs in
//! containers, and its runtime and image can be changed within the egg's list. Uses the
//! local images of `scripts/docker-test-images` (no registry).

use serde_json::{json, Value};

#[path = "../../../agent/tests/agent/docker_images.rs"]
mod docker_images;

use docker_images::images_built;

use crate::e2e::{cluster, SLOW};
use crate::processes::workspace_bin;

const GAME_IMAGE: &str = "ghcr.io/cap-test/yolks:busybox";

/// Whether an engine answers (and the local images are built); outside CI a machine
/// without one skips, saying so, and with `CAP_REQUIRE_DOCKER` set the test fails.
fn engine_ready() -> bool {
    images_built(
        "SKIPPING the panel's Docker runtime test",
        &workspace_bin("cap-testgame"),
    )
}

/// An egg as community eggs are written, for the local images.
fn busybox_egg() -> Value {
    json!({
        "meta": {"version": "PTDL_v2"},
        "name": "Busybox test game",
        "author": "tests@example.com",
        "description": "the test game in a busybox yolk",
        "docker_images": {
            "Busybox": GAME_IMAGE,
            "Busybox again": "ghcr.io/cap-test/yolks:busybox-second"
        },
        "startup": "echo \"port {{SERVER_PORT}}, $(cat motd.txt)\"; exec cap-testgame",
        "config": {
            "files": "{}",
            "startup": "{\"done\": \")! For help\"}",
            "logs": "{}",
            "stop": "stop"
        },
        "scripts": {"installation": {
            "script": "#!/bin/ash\r\ncd /mnt/server\r\necho installed-in-a-container > motd.txt\r\n",
            "container": "ghcr.io/cap-test/installers:busybox",
            "entrypoint": "ash"
        }},
        "variables": [{
            "name": "Delay", "description": "start-up delay", "env_variable": "TESTGAME_DELAY_MS",
            "default_value": "0", "user_viewable": true, "user_editable": true,
            "rules": "required|string"
        }]
    })
}

#[tokio::test]
async fn an_imported_egg_runs_on_docker_where_the_node_has_an_engine() {
    if !engine_ready() {
        return;
    }
    let c = cluster(1).await;
    let (_, node) = c.admin.get(&format!("/api/agents/{}", c.nodes[0])).await;
    assert_eq!(
        node["data"]["system"]["runtimes"],
        json!(["native", "docker"]),
        "{node}"
    );
    assert!(
        node["data"]["system"]["dockerVersion"].is_string(),
        "{node}"
    );
    let (_, ctrl) = c.admin.post("/api/ctrls", json!({"name": "Eggs"})).await;
    let (status, imported) = c
        .admin
        .post(
            "/api/alts/import",
            json!({"ctrlId": ctrl["data"]["id"], "egg": busybox_egg()}),
        )
        .await;
    assert_eq!(status, 200, "{imported}");
    let alt = imported["data"]["alt"]["id"].as_str().expect("alt id");
    let body = |extra: Value| {
        let mut body = json!({
            "name": "in-a-container", "nodeId": c.nodes[0], "altId": alt,
            "limits": {"memoryMb": 128, "cpuPercent": 100, "diskMb": 512},
        });
        body.as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        body
    };
    let (status, refused) = c
        .admin
        .post(
            "/api/servers",
            body(json!({"image": "ghcr.io/elsewhere/other:1"})),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused["details"]["image"].is_array(), "{refused}");

    let (status, created) = c.admin.post("/api/servers", body(json!({}))).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["data"]["runtime"], "docker", "{created}");
    assert_eq!(created["data"]["image"], GAME_IMAGE, "{created}");
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    let server_path = format!("/api/servers/{id}");
    let reaches = |state: &'static str| {
        c.admin
            .wait_for(&server_path, SLOW, move |s| s["state"] == state)
    };
    reaches("offline").await;
    let (status, started) = c.power(&c.admin, &id, "start").await;
    assert_eq!(status, 200, "{started}");
    reaches("running").await;
    let on_agent = c.agents[0].server(&id).await;
    assert_eq!(on_agent["definition"]["runtime"], "docker", "{on_agent}");
    assert_eq!(
        on_agent["status"]["user"], "container (uid 69999, gid 69999)",
        "{on_agent}"
    );
    let (status, stopped) = c.power(&c.admin, &id, "stop").await;
    assert_eq!(status, 200, "{stopped}");
    reaches("offline").await;
    let data = &c.agents[0].data_dir;
    let log =
        std::fs::read_to_string(data.join(format!("logs/{id}/console.log"))).expect("console log");
    assert!(log.contains("installed-in-a-container"), "{log}");

    // The Startup tab's choices: another image of the egg, or native.
    let (status, preview) = c.admin.get(&format!("{server_path}/preview")).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(
        preview["data"]["dockerImages"],
        json!([
            {"label": "Busybox", "image": GAME_IMAGE},
            {"label": "Busybox again", "image": "ghcr.io/cap-test/yolks:busybox-second"}
        ]),
        "{preview}"
    );
    let patch = |body: Value| {
        c.admin
            .call(reqwest::Method::PATCH, &server_path, Some(body))
    };
    let (status, changed) = patch(json!({"image": "ghcr.io/cap-test/yolks:busybox-second"})).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        changed["data"]["image"],
        "ghcr.io/cap-test/yolks:busybox-second"
    );
    let on_agent = c.agents[0].server(&id).await;
    assert_eq!(
        on_agent["definition"]["image"],
        "ghcr.io/cap-test/yolks:busybox-second"
    );
    let (status, refused) = patch(json!({"image": "busybox:latest"})).await;
    assert_eq!(status, 422, "{refused}");
    let (status, native) = patch(json!({"runtime": "native"})).await;
    assert_eq!(status, 200, "{native}");
    assert_eq!(native["data"]["runtime"], "native");
    assert!(native["data"]["image"].is_null(), "{native}");
    let on_agent = c.agents[0].server(&id).await;
    assert_eq!(on_agent["definition"]["runtime"], "native", "{on_agent}");
}
