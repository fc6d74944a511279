//! The Docker runtime against the real engine, with images built here by
//! `scripts/docker-test-images` (busybox plus the test game; no registry): an egg-style
//! server installs and runs in containers, limits and confinement hold, a killed agent
//! re-attaches, and a missing engine or image fails clearly without touching native
//! servers.

use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::docker_images::images_built;
use crate::support::{game, testgame_bin, AgentProcess, TestAgent};

const LIMIT: Duration = Duration::from_secs(30);
const GAME_IMAGE: &str = "ghcr.io/cap-test/yolks:busybox";
const INSTALL_IMAGE: &str = "ghcr.io/cap-test/installers:busybox";
/// The uid:gid game containers run as (the agent's default).
const CONTAINER_USER: &str = "69999:69999";

/// Whether the engine answers and the test images are built. Outside CI a machine
/// without an engine skips the Docker tests, saying so; with `CAP_REQUIRE_DOCKER` set
/// (CI) it fails instead.
fn engine_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| images_built("SKIPPING the Docker runtime tests", &testgame_bin()))
}

/// An in-process agent, when the engine is ready (see [`engine_ready`]).
async fn docker_agent() -> Option<TestAgent> {
    if engine_ready() {
        Some(TestAgent::start().await)
    } else {
        None
    }
}

/// Poll until the engine has no container `name`.
async fn wait_removed(name: &str) {
    let deadline = std::time::Instant::now() + LIMIT;
    while inspect(name, "{{.Id}}").is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "{name} was never removed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `docker inspect --format FORMAT NAME`, trimmed; `None` when there is no such object.
fn inspect(name: &str, format: &str) -> Option<String> {
    let out = Command::new("docker")
        .args(["inspect", "--format", format, name])
        .output()
        .expect("run docker inspect");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn container(id: Uuid) -> String {
    format!("cap-{id}")
}

/// A free TCP port on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A server defined the way an imported egg is: an install script for an installer image
/// that writes into /mnt/server, a startup with `{{SERVER_PORT}}`, a stop command.
fn egg_server(id: Uuid, port: u16) -> Value {
    json!({
        "id": id,
        "name": "egg",
        "runtime": "docker",
        "image": GAME_IMAGE,
        "startup": "echo \"game on port {{SERVER_PORT}} with $(cat server.properties)\"; exec cap-testgame",
        "environment": {"TESTGAME_DELAY_MS": "20", "SERVER_IP": "127.0.0.1", "SERVER_PORT": port.to_string()},
        "ports": [port],
        "stop": {"type": "command", "value": "stop", "graceSeconds": 10},
        "donePatterns": [")! For help"],
        "limits": {"memoryMib": 128},
        "install": {
            "container": INSTALL_IMAGE,
            "interpreter": "ash",
            "timeoutSeconds": 60,
            "script": "#!/bin/ash\ncd /mnt/server\necho \"installing as $(id -u) into $(pwd)\"\necho \"motd=installed\" > server.properties\n"
        },
        "crashPolicy": {"autoRestart": false}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_egg_installs_and_runs_in_containers_with_console_and_graceful_stop() {
    let Some(agent) = docker_agent().await else {
        return;
    };
    let api = &agent.client;
    let (_, system) = api.get("/api/system").await;
    assert_eq!(system["data"]["runtimes"], json!(["native", "docker"]));
    let engine = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .expect("docker version");
    let version = String::from_utf8_lossy(&engine.stdout).trim().to_owned();
    assert_eq!(system["data"]["dockerVersion"], version.as_str());
    let (_, images) = api.get("/api/images").await;
    let tagged = images["data"].as_array().is_some_and(|list| {
        list.iter()
            .any(|i| i["tags"].to_string().contains(GAME_IMAGE))
    });
    assert!(tagged, "{images}");
    let (id, port) = (Uuid::new_v4(), free_port());
    api.define(egg_server(id, port)).await;

    let (s, b) = api
        .post(&format!("/api/servers/{id}/install"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let status = api.wait_state(id, "offline", LIMIT).await;
    assert_eq!(status["message"], "install finished", "{status}");
    api.wait_console(id, "installing as 0 into /mnt/server", LIMIT)
        .await;
    let written = std::fs::read_to_string(agent.server_dir(id).join("server.properties"));
    assert_eq!(written.expect("installed file").trim(), "motd=installed");
    wait_removed(&format!("cap-{id}-install")).await;

    let (s, b) = api.command("start", id).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let status = api.wait_state(id, "running", LIMIT).await;
    api.wait_console(
        id,
        &format!("game on port {port} with motd=installed"),
        LIMIT,
    )
    .await;
    assert!(status["pid"].as_u64().unwrap_or(0) > 0, "{status}");
    let name = container(id);
    assert_eq!(
        inspect(&name, "{{index .Config.Labels \"cap.server\"}}").as_deref(),
        Some(id.to_string().as_str())
    );
    assert_eq!(
        inspect(&name, "{{.Config.User}}").as_deref(),
        Some(CONTAINER_USER)
    );
    assert_eq!(
        inspect(
            &name,
            "{{.HostConfig.SecurityOpt}} {{.HostConfig.ReadonlyRootfs}}"
        )
        .as_deref(),
        Some("[no-new-privileges] true")
    );
    // The game's port is published on the allocation's address.
    let connected = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
    assert!(
        connected.is_ok(),
        "port {port} is not published: {connected:?}"
    );

    api.console(id, "say hello from the panel").await;
    api.wait_console(id, "[Server] hello from the panel", LIMIT)
        .await;
    let (s, b) = api.get(&format!("/api/servers/{id}/stats")).await;
    assert_eq!(s, StatusCode::OK, "{b}");

    let (s, b) = api.command("stop", id).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let status = api.wait_state(id, "offline", LIMIT).await;
    assert_eq!(status["exitCode"], 0, "a graceful stop: {status}");
    api.wait_console(id, "Stopping the server", LIMIT).await;
    wait_removed(&name).await;
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_is_confined_and_killed_for_memory_past_its_limit() {
    let Some(agent) = docker_agent().await else {
        return;
    };
    let api = &agent.client;
    let id = Uuid::new_v4();
    let probe = "id -u; touch /etc/probe 2>/dev/null || echo etc-read-only; \
                 touch /probe 2>/dev/null || echo root-read-only; \
                 touch /home/container/probe && echo home-writable; exec cap-testgame";
    api.define(json!({
        "id": id, "runtime": "docker", "image": GAME_IMAGE, "startup": probe,
        "environment": {"TESTGAME_DELAY_MS": "20"},
        "donePatterns": [")! For help"],
        "limits": {"memoryMib": 48, "pids": 64},
        "crashPolicy": {"autoRestart": false}
    }))
    .await;
    let (s, b) = api.command("start", id).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    api.wait_state(id, "running", LIMIT).await;
    let lines = api.wait_console(id, "home-writable", LIMIT).await;
    for expected in ["69999", "etc-read-only", "root-read-only"] {
        assert!(
            lines.iter().any(|l| l.trim() == expected),
            "{expected}: {lines:?}"
        );
    }
    assert!(agent.server_dir(id).join("probe").exists());

    api.console(id, "alloc 200").await;
    let status = api.wait_state(id, "crashed", LIMIT).await;
    let message = status["message"].as_str().unwrap_or_default();
    assert!(message.contains("out of memory"), "{status}");
    api.wait_console(id, "out of memory", LIMIT).await;
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_agent_reattaches_to_its_containers_and_removes_deleted_ones() {
    if !engine_ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = AgentProcess::spawn(dir.path(), &[]);
    let (kept, deleted) = (Uuid::new_v4(), Uuid::new_v4());
    for id in [kept, deleted] {
        agent
            .client
            .define(json!({
                "id": id, "runtime": "docker", "image": GAME_IMAGE,
                "startup": "exec cap-testgame", "environment": {"TESTGAME_DELAY_MS": "20"},
                "donePatterns": [")! For help"], "desiredState": "running",
                "stop": {"type": "command", "value": "stop", "graceSeconds": 10}
            }))
            .await;
    }
    let status = agent.client.wait_state(kept, "running", LIMIT).await;
    agent.client.wait_state(deleted, "running", LIMIT).await;
    let container_id = inspect(&container(kept), "{{.Id}}").expect("container");
    // Output the game prints while no agent is there.
    agent.client.console(kept, "flood 6 3").await;
    agent.client.wait_console(kept, "flood 0 ", LIMIT).await;

    agent.kill();
    // Long enough for the whole flood to be printed while no agent reads it.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        inspect(&container(kept), "{{.State.Running}}").as_deref(),
        Some("true"),
        "the container stopped with the agent"
    );
    std::fs::remove_file(dir.path().join(format!("definitions/{deleted}.json")))
        .expect("remove definition");

    let agent = AgentProcess::spawn(dir.path(), &[]);
    let again = agent.client.wait_state(kept, "running", LIMIT).await;
    assert_eq!(again["pid"], status["pid"], "{again}");
    assert_eq!(
        inspect(&container(kept), "{{.Id}}").as_deref(),
        Some(container_id.as_str())
    );
    agent.client.wait_console(kept, "flood done 6", LIMIT).await;
    let history = agent.client.history(kept).await;
    assert!(
        history.iter().any(|l| l.starts_with("flood 3 ")),
        "{history:?}"
    );
    agent.client.console(kept, "say still attached").await;
    agent
        .client
        .wait_console(kept, "[Server] still attached", LIMIT)
        .await;
    assert_eq!(inspect(&container(deleted), "{{.Id}}"), None);
    agent.terminate();
    wait_removed(&container(kept)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_fails_fast_naming_it() {
    let Some(agent) = docker_agent().await else {
        return;
    };
    let api = &agent.client;
    let id = Uuid::new_v4();
    let image = "ghcr.io/cap-test/never-built:none";
    api.define(json!({
        "id": id, "runtime": "docker", "image": image, "startup": "true",
        "crashPolicy": {"autoRestart": false}
    }))
    .await;
    let started = std::time::Instant::now();
    let (s, b) = api.command("start", id).await;
    assert!(s.is_server_error() || s.is_client_error(), "{s} {b}");
    let status = api.status(id).await;
    assert_eq!(status["state"], "crashed", "{status}");
    let message = status["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(image) && message.contains("cannot be pulled"),
        "{message}"
    );
    eprintln!("missing image reported after {:?}", started.elapsed());
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_engine_docker_servers_fail_clearly_and_native_ones_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A socket nobody listens on: the engine is down.
    let socket = dir.path().join("docker.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).expect("bind socket"));
    let agent = TestAgent::start_with(|c| c.docker_socket = socket.clone()).await;
    let api = &agent.client;
    let (native, docker) = (Uuid::new_v4(), Uuid::new_v4());
    let mut definition = game(native);
    definition["desiredState"] = json!("running");
    api.define(definition).await;
    let (s, b) = api
        .put(
            &format!("/api/servers/{docker}"),
            json!({
                "id": docker, "runtime": "docker", "image": GAME_IMAGE,
                "startup": "exec cap-testgame", "desiredState": "running"
            }),
        )
        .await;
    assert!(!s.is_success(), "{b}");
    let status = api.status(docker).await;
    assert_eq!(status["state"], "crashed", "{status}");
    let message = status["message"].as_str().unwrap_or_default();
    assert!(message.contains("runtime unavailable"), "{message}");
    api.wait_console(docker, "runtime unavailable", LIMIT).await;
    api.wait_state(native, "running", LIMIT).await;
    let (_, system) = api.get("/api/system").await;
    assert_eq!(system["data"]["runtimes"], json!(["native"]), "{system}");
    assert!(system["data"].get("dockerVersion").is_none(), "{system}");
    let (s, b) = api.get("/api/images").await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(
        b["error"].to_string().contains("runtime unavailable"),
        "{b}"
    );
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_install_container_leaves_install_failed_with_its_last_lines() {
    let Some(agent) = docker_agent().await else {
        return;
    };
    let api = &agent.client;
    let id = Uuid::new_v4();
    let mut definition = egg_server(id, free_port());
    definition["install"]["script"] = json!("echo fetching\necho 'no such version' >&2\nexit 4\n");
    api.define(definition).await;
    api.post(&format!("/api/servers/{id}/install"), json!({}))
        .await;
    let status = api.wait_state(id, "install_failed", LIMIT).await;
    assert_eq!(status["exitCode"], 4, "{status}");
    assert_eq!(
        status["message"],
        "install script exited with code 4; last output: fetching | no such version"
    );
    wait_removed(&format!("cap-{id}-install")).await;
    agent.shutdown().await;
}
