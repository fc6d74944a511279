//! `cap-panel --local-agent` with the real binaries: the agent outlives the panel and is
//! adopted again, a dead agent is started again, and one panel per data directory.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

use crate::processes::{agent_server, panel_command, workspace_bin, Panel, Session};

const SLOW: Duration = Duration::from_secs(30);

/// The local agent's data directory, and the PID its lock file names.
fn agent_dir(panel_data: &Path) -> PathBuf {
    panel_data.join("local-agent")
}

fn agent_pid(panel_data: &Path) -> Option<i32> {
    std::fs::read_to_string(agent_dir(panel_data).join("agent.lock"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn alive(pid: i32) -> bool {
    kill(Pid::from_raw(pid), None).is_ok()
}

/// Stops the local agent (and so its games) when a test ends, however it ends: the
/// panel deliberately leaves it running.
struct AgentCleanup(PathBuf);

impl Drop for AgentCleanup {
    fn drop(&mut self) {
        // Whoever holds the lock now, until nobody does (a watcher may have started another).
        let deadline = Instant::now() + SLOW;
        while let Some(pid) = agent_pid(&self.0).filter(|pid| alive(*pid)) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            while alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            if Instant::now() >= deadline {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                return;
            }
        }
        remove_server_users(&self.0);
    }
}

/// The local agent (as root) made a system user per server, homed in the server's
/// directory below `data`; the servers outlive the test, so their users are removed here
/// or every run would leave them on the machine.
fn remove_server_users(data: &Path) {
    let Ok(passwd) = std::fs::read_to_string("/etc/passwd") else {
        return;
    };
    for line in passwd.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        if let [name, _, _, _, _, home, ..] = fields[..] {
            if name.starts_with("cap-") && Path::new(home).starts_with(data) {
                let _ = std::process::Command::new("userdel").arg(name).status();
            }
        }
    }
}

/// Fields drop in this order: the panel first (or it would start the agent again), then
/// the agent, then the directory.
struct LocalSetup {
    panel: Panel,
    _cleanup: AgentCleanup,
    dir: tempfile::TempDir,
    admin: Session,
    password: String,
}

async fn local_setup() -> LocalSetup {
    // The panel looks for cap-agent next to itself; the agent finds cap-testgame there.
    workspace_bin("cap-agent");
    workspace_bin("cap-testgame");
    let dir = tempfile::tempdir().expect("temp dir");
    let cleanup = AgentCleanup(dir.path().to_owned());
    let (panel, password) = Panel::start_with(dir.path(), &["--local-agent"]);
    let password = password.expect("first start prints the admin password");
    assert_game_users_can_pass_but_not_read(dir.path());
    let admin = Session::login(&panel.url, "admin", &password).await;
    wait_node_online(&admin).await;
    LocalSetup {
        panel,
        _cleanup: cleanup,
        dir,
        admin,
        password,
    }
}

/// Games run as users of their own and must reach their directories below the panel's
/// data directory: others may pass through it, but the database and keys stay private.
fn assert_game_users_can_pass_but_not_read(data: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = |name: &str| {
        std::fs::metadata(data.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o711, "the data directory");
    assert_eq!(mode("keys"), 0o700, "the keys");
    assert_eq!(mode("panel.db"), 0o600, "the database");
    assert_eq!(mode("local-agent.log"), 0o600, "the local agent's log");
}

async fn local_node(admin: &Session) -> Value {
    let (status, body) = admin.get("/api/agents?name=local").await;
    assert_eq!(status, 200, "{body}");
    body["data"]["items"][0].clone()
}

async fn wait_node_online(admin: &Session) -> Value {
    let deadline = Instant::now() + SLOW;
    loop {
        let node = local_node(admin).await;
        if node["status"] == "online" {
            return node;
        }
        assert!(Instant::now() < deadline, "node local never online: {node}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What the local agent itself says about a server (over its TLS API, bypassing the panel).
async fn on_agent(panel_data: &Path, port: u64, id: &str) -> Value {
    let token = std::fs::read_to_string(agent_dir(panel_data).join("token")).expect("token");
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .expect("client");
    agent_server(
        &client,
        &format!("https://127.0.0.1:{port}"),
        token.trim(),
        id,
    )
    .await
}

/// Sends the request until it succeeds (the node may be reconnecting); the answer.
async fn until_ok(admin: &Session, method: reqwest::Method, path: &str, body: Value) -> Value {
    let deadline = Instant::now() + SLOW;
    loop {
        let (status, answer) = admin.call(method.clone(), path, Some(body.clone())).await;
        if status == 200 {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "{method} {path}: {status} {answer}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A running test-game server on the local node: its id, the agent's port, the game's PID.
async fn running_game(s: &LocalSetup) -> (String, u64, Value) {
    let node = local_node(&s.admin).await;
    // Tests run side by side, each with a node "local" on this machine: give this one's
    // game a port nobody else uses.
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let game_port = free.local_addr().expect("addr").port();
    drop(free);
    let node_path = format!("/api/agents/{}", node["id"].as_str().expect("node id"));
    let range = json!({ "portRangeStart": game_port, "portRangeEnd": game_port });
    until_ok(&s.admin, reqwest::Method::PATCH, &node_path, range).await;
    let (_, alts) = s.admin.get("/api/alts?name=test%20game").await;
    let alt = alts["data"]["items"][0]["id"].as_str().expect("Test Game");
    let body = json!({
        "name": "survivor", "nodeId": node["id"], "altId": alt,
        "limits": { "memoryMb": 256, "cpuPercent": 100, "diskMb": 512 },
        "variables": { "STARTUP_DELAY_MS": "0" },
    });
    // The node reconnects after the change above: 503 until it is back.
    let created = until_ok(&s.admin, reqwest::Method::POST, "/api/servers", body).await;
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    let path = format!("/api/servers/{id}");
    s.admin
        .wait_for(&path, SLOW, |s| s["state"] == "offline")
        .await;
    let (status, body) = s
        .admin
        .post(&format!("{path}/power"), json!({ "action": "start" }))
        .await;
    assert_eq!(status, 200, "{body}");
    s.admin
        .wait_for(&path, SLOW, |s| s["state"] == "running")
        .await;
    let port = node["port"].as_u64().expect("agent port");
    let game = on_agent(s.dir.path(), port, &id).await["status"]["pid"].clone();
    assert!(game.is_u64(), "running game has a pid");
    (id, port, game)
}

#[tokio::test]
async fn stopping_the_panel_leaves_the_local_agent_and_its_game_running_for_the_next_start() {
    let mut s = local_setup().await;
    let (id, port, game) = running_game(&s).await;
    let path = format!("/api/servers/{id}");
    let game_pid = i32::try_from(game.as_u64().unwrap()).unwrap();
    let agent = agent_pid(s.dir.path()).expect("agent pid");

    let status = s.panel.terminate();
    assert!(status.success(), "clean exit on SIGTERM: {status}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(alive(agent), "the agent outlives the panel");
    assert!(alive(game_pid), "the game outlives the panel");
    let seen = on_agent(s.dir.path(), port, &id).await;
    assert_eq!(seen["status"]["state"], "running", "{seen}");

    let (panel, again) = Panel::start_with(s.dir.path(), &["--local-agent"]);
    assert!(again.is_none(), "no second admin banner");
    s.panel = panel;
    let admin = Session::login(&s.panel.url, "admin", &s.password).await;
    admin
        .wait_for(&path, SLOW, |s| {
            s["state"] == "running" && s["node"]["status"] == "online"
        })
        .await;
    assert_eq!(
        agent_pid(s.dir.path()),
        Some(agent),
        "the same agent, adopted"
    );
    let seen = on_agent(s.dir.path(), port, &id).await;
    assert_eq!(seen["status"]["pid"], game, "the same game process");
}

#[tokio::test]
async fn a_killed_local_agent_is_started_again_and_takes_its_game_over() {
    let s = local_setup().await;
    let (id, port, game) = running_game(&s).await;
    let first = agent_pid(s.dir.path()).expect("agent pid");
    kill(Pid::from_raw(first), Signal::SIGKILL).expect("kill -9 the agent");
    let deadline = Instant::now() + SLOW;
    let second = loop {
        match agent_pid(s.dir.path()) {
            Some(pid) if pid != first && alive(pid) => break pid,
            _ => {}
        }
        assert!(Instant::now() < deadline, "the agent was not started again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    wait_node_online(&s.admin).await;
    assert!(alive(second));
    s.admin
        .wait_for(&format!("/api/servers/{id}"), SLOW, |s| {
            s["state"] == "running"
        })
        .await;
    let seen = on_agent(s.dir.path(), port, &id).await;
    assert_eq!(seen["status"]["pid"], game, "the same game process: {seen}");
}

#[tokio::test]
async fn a_second_panel_on_the_same_data_directory_refuses_to_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_first, _) = Panel::start(dir.path());
    let mut second = panel_command(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run a second cap-panel");
    let deadline = Instant::now() + SLOW;
    while second.try_wait().expect("wait").is_none() {
        if Instant::now() >= deadline {
            let _ = second.kill();
            panic!("a second panel on the same data directory kept running");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let second = second.wait_with_output().expect("output");
    assert!(!second.status.success(), "the second panel must not start");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("another cap-panel") && stderr.contains("already using the data directory"),
        "{stderr}"
    );
}
