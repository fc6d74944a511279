//! End to end with real binaries: a panel and two agents as separate processes, game
//! servers from the built-in test template, the console WebSocket, and faults.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::processes::{Agent, Panel, Session};

pub(crate) const SLOW: Duration = Duration::from_secs(20);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A browser's console connection; every message is kept, so waits can look back to a
/// mark (state changes and console batches may arrive in either order).
struct Console {
    socket: Socket,
    seen: Vec<Value>,
    mark: usize,
}

impl Console {
    async fn open(session: &Session, server_id: &str) -> Console {
        let url = format!(
            "{}/api/servers/{server_id}/console",
            session.base.replacen("http://", "ws://", 1)
        );
        let mut request = url.into_client_request().expect("ws request");
        request
            .headers_mut()
            .insert("cookie", session.cookie.parse().expect("cookie header"));
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("console connects");
        Console {
            socket,
            seen: Vec::new(),
            mark: 0,
        }
    }

    /// Later waits only consider messages from now on.
    fn mark(&mut self) {
        self.mark = self.seen.len();
    }

    /// Finds a message since the mark that satisfies `check`, reading more as needed.
    async fn until(&mut self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        if let Some(found) = self.seen[self.mark..].iter().find(|m| check(m)) {
            return found.clone();
        }
        let deadline = tokio::time::Instant::now() + SLOW;
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("console: no {what} within {SLOW:?}"))
                .expect("socket open")
                .expect("socket message");
            if let Message::Text(text) = message {
                let value: Value = serde_json::from_str(&text).expect("console JSON");
                self.seen.push(value.clone());
                if check(&value) {
                    return value;
                }
            }
        }
    }

    async fn state(&mut self, state: &str) {
        self.until(&format!("state {state}"), |m| {
            m["type"] == "state" && m["state"] == state
        })
        .await;
    }

    async fn line(&mut self, needle: &str) {
        self.until(&format!("a line with {needle:?}"), |m| {
            matches!(m["type"].as_str(), Some("console" | "history"))
                && m["lines"].as_array().is_some_and(|lines| {
                    lines
                        .iter()
                        .any(|l| l.as_str().is_some_and(|l| l.contains(needle)))
                })
        })
        .await;
    }

    async fn type_command(&mut self, command: &str) {
        let text = json!({ "type": "command", "command": command }).to_string();
        self.socket
            .send(Message::Text(text.into()))
            .await
            .expect("send command");
    }
}

pub(crate) struct Cluster {
    _dirs: Vec<tempfile::TempDir>,
    panel: Panel,
    pub(crate) agents: Vec<Agent>,
    pub(crate) admin: Session,
    password: String,
    pub(crate) nodes: Vec<String>,
    test_game: String,
}

/// Registers a running agent as a node (4096 MB, 10240 MB disk) and waits until it is online.
pub(crate) async fn register(
    admin: &Session,
    name: &str,
    agent: &Agent,
    range: (u16, u16),
) -> String {
    let (status, body) = admin
        .post(
            "/api/agents",
            json!({
                "name": name, "address": "127.0.0.1", "port": agent.port, "scheme": "http",
                "memoryMb": 4096, "diskMb": 10240,
                "portRangeStart": range.0, "portRangeEnd": range.1,
                "token": agent.token,
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["data"]["node"]["id"]
        .as_str()
        .expect("node id")
        .to_owned();
    admin
        .wait_for(&format!("/api/agents/{id}"), SLOW, |n| {
            n["status"] == "online"
        })
        .await;
    id
}

pub(crate) async fn cluster(agents: usize) -> Cluster {
    let dirs: Vec<tempfile::TempDir> = (0..=agents)
        .map(|_| tempfile::tempdir().expect("temp dir"))
        .collect();
    let (panel, password) = Panel::start(dirs[0].path());
    let password = password.expect("first start prints the admin password");
    let admin = Session::login(&panel.url, "admin", &password).await;
    let mut started = Vec::new();
    let mut nodes = Vec::new();
    for (i, dir) in dirs[1..].iter().enumerate() {
        let agent = Agent::start(dir.path(), 0);
        // Overlapping ranges on purpose: ports are per node, and must not collide within one.
        nodes.push(register(&admin, &format!("node-{i}"), &agent, (41000, 41100)).await);
        started.push(agent);
    }
    let test_game = test_game(&admin).await;
    Cluster {
        _dirs: dirs,
        panel,
        agents: started,
        admin,
        password,
        nodes,
        test_game,
    }
}

/// The built-in Test Game template's id.
pub(crate) async fn test_game(admin: &Session) -> String {
    let (_, alts) = admin.get("/api/alts?name=test%20game").await;
    alts["data"]["items"][0]["id"]
        .as_str()
        .expect("built-in Test Game")
        .to_owned()
}

/// A creation request for a small test-game server.
pub(crate) fn test_server(node: &str, test_game: &str, name: &str) -> Value {
    json!({
        "name": name, "nodeId": node, "altId": test_game,
        "limits": { "memoryMb": 256, "cpuPercent": 100, "diskMb": 512 },
        "variables": { "STARTUP_DELAY_MS": "0" },
    })
}

/// Creates a server and waits for its installation to finish.
pub(crate) async fn installed(session: &Session, body: Value) -> Value {
    let (status, created) = session.post("/api/servers", body).await;
    assert_eq!(status, 200, "{created}");
    let id = created["data"]["id"]
        .as_str()
        .expect("server id")
        .to_owned();
    session
        .wait_for(&format!("/api/servers/{id}"), SLOW, |s| {
            s["state"] == "offline"
        })
        .await
}

/// The names in a server's top directory, through the panel.
pub(crate) async fn file_names(session: &Session, server: &str) -> Vec<String> {
    let (status, listing) = session
        .get(&format!("/api/servers/{server}/files/list?path=/"))
        .await;
    assert_eq!(status, 200, "{listing}");
    listing["data"]
        .as_array()
        .expect("a listing")
        .iter()
        .filter_map(|f| f["name"].as_str().map(str::to_owned))
        .collect()
}

impl Cluster {
    /// Creates a test-game server and waits for its installation to finish.
    async fn server(
        &self,
        session: &Session,
        node: &str,
        name: &str,
        owner: Option<&str>,
    ) -> Value {
        let mut body = test_server(node, &self.test_game, name);
        if let Some(owner) = owner {
            body["ownerId"] = json!(owner);
        }
        installed(session, body).await
    }

    pub(crate) async fn power(&self, session: &Session, id: &str, action: &str) -> (u16, Value) {
        session
            .post(
                &format!("/api/servers/{id}/power"),
                json!({ "action": action }),
            )
            .await
    }
}

#[tokio::test]
async fn two_nodes_create_install_start_console_stop_delete() {
    let c = cluster(2).await;
    let mut ports = Vec::new();
    for (i, node) in c.nodes.iter().enumerate() {
        let server = c.server(&c.admin, node, &format!("game-{i}"), None).await;
        let id = server["id"].as_str().unwrap().to_owned();
        let port = server["allocation"]["port"]
            .as_i64()
            .expect("a port was allocated");
        assert!((41000..=41100).contains(&port));
        ports.push(port);

        let mut console = Console::open(&c.admin, &id).await;
        console.until("history", |m| m["type"] == "history").await;
        console.mark();
        let (status, body) = c.power(&c.admin, &id, "start").await;
        assert_eq!(status, 200, "{body}");
        console.line("Done (").await;
        console.state("running").await;
        console.mark();
        console.type_command("say hello from the panel").await;
        console.line("[Server] hello from the panel").await;

        console.mark();
        let (status, _) = c.power(&c.admin, &id, "stop").await;
        assert_eq!(status, 200);
        console.state("offline").await;

        let (status, body) = c
            .admin
            .call(Method::DELETE, &format!("/api/servers/{id}"), None)
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, _) = c.admin.get(&format!("/api/servers/{id}")).await;
        assert_eq!(status, 404);
        let on_agent = c.agents[i].server(&id).await;
        assert!(on_agent.is_null(), "the agent forgot it too: {on_agent}");
    }
    // Two servers on one node never share a port, and ports stay in the node's range.
    let node = &c.nodes[0];
    let a = c.server(&c.admin, node, "a", None).await;
    let b = c.server(&c.admin, node, "b", None).await;
    assert_ne!(a["allocation"]["port"], b["allocation"]["port"]);
    for server in [&a, &b] {
        let port = server["allocation"]["port"].as_i64().unwrap();
        assert!((41000..=41100).contains(&port), "{port}");
    }
    assert_eq!(ports.len(), 2);
}

#[tokio::test]
async fn games_survive_a_killed_panel_and_the_restarted_panel_sees_the_truth() {
    let mut c = cluster(1).await;
    let server = c.server(&c.admin, &c.nodes[0], "survivor", None).await;
    let id = server["id"].as_str().unwrap().to_owned();
    c.power(&c.admin, &id, "start").await;
    c.admin
        .wait_for(&format!("/api/servers/{id}"), SLOW, |s| {
            s["state"] == "running"
        })
        .await;
    // The (cached) dashboard list follows live state changes too.
    let listed = c
        .admin
        .wait_for("/api/servers", SLOW, |page| {
            page["items"].as_array().is_some_and(|items| {
                items
                    .iter()
                    .any(|s| s["id"] == id.as_str() && s["state"] == "running")
            })
        })
        .await;
    assert_eq!(listed["total"], 1);
    let pid = c.agents[0].server(&id).await["status"]["pid"].clone();
    assert!(pid.is_u64(), "running game has a pid");

    c.panel.kill_hard();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        c.agents[0].server(&id).await["status"]["pid"],
        pid,
        "same process"
    );

    let (panel, again) = Panel::start(&c.panel.data_dir);
    assert!(again.is_none(), "no second admin banner");
    c.panel = panel;
    let admin = Session::login(&c.panel.url, "admin", &c.password).await;
    let started = std::time::Instant::now();
    admin
        .wait_for(&format!("/api/servers/{id}"), SLOW, |s| {
            s["state"] == "running" && s["node"]["status"] == "online"
        })
        .await;
    eprintln!("panel restart → true state in {:?}", started.elapsed());
    assert_eq!(c.agents[0].server(&id).await["status"]["pid"], pid);
}

#[tokio::test]
async fn a_killed_agent_marks_its_node_offline_and_comes_back_on_its_own() {
    let mut c = cluster(1).await;
    let server = c.server(&c.admin, &c.nodes[0], "orphan", None).await;
    let id = server["id"].as_str().unwrap().to_owned();
    let node = c.nodes[0].clone();
    let (port, dir) = (c.agents[0].port, c.agents[0].data_dir.clone());
    let (_, overview) = c.admin.get("/api/monitoring").await;
    let resources = &overview["data"]["nodes"][0]["resources"];
    assert!(
        resources["cpuCount"].as_u64().unwrap_or(0) > 0,
        "per-node resources: {overview}"
    );

    c.agents[0].kill_hard();
    c.admin
        .wait_for(&format!("/api/agents/{node}"), SLOW, |n| {
            n["status"] == "offline"
        })
        .await;
    let (_, health) = c.admin.get("/api/monitoring/health").await;
    assert_eq!(health["data"]["status"], "degraded", "{health}");
    let (status, body) = c.power(&c.admin, &id, "start").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "AGENT_UNAVAILABLE");
    assert!(
        body["error"].as_str().unwrap().contains("offline"),
        "{body}"
    );

    c.agents[0] = Agent::start(&dir, port);
    c.admin
        .wait_for(&format!("/api/agents/{node}"), SLOW, |n| {
            n["status"] == "online"
        })
        .await;
    let (status, body) = c.power(&c.admin, &id, "start").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn subusers_watch_without_typing_and_strangers_see_nothing() {
    let c = cluster(1).await;
    for name in ["owner", "helper", "stranger"] {
        let (status, body) = c
            .admin
            .post(
                "/api/users",
                json!({ "username": name, "email": format!("{name}@example.com"), "password": format!("password-{name}") }),
            )
            .await;
        assert!(status == 200 || status == 201, "{body}");
    }
    let (_, users) = c.admin.get("/api/users?name=owner").await;
    let owner_id = users["data"]["items"][0]["id"].as_str().unwrap().to_owned();
    let server = c
        .server(&c.admin, &c.nodes[0], "shared", Some(&owner_id))
        .await;
    let id = server["id"].as_str().unwrap().to_owned();

    let owner = Session::login(&c.panel.url, "owner", "password-owner").await;
    let (status, body) = owner
        .post(
            &format!("/api/servers/{id}/subusers"),
            json!({ "username": "helper", "permissions": ["console:view"] }),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    c.power(&c.admin, &id, "start").await;
    let helper = Session::login(&c.panel.url, "helper", "password-helper").await;
    let mut console = Console::open(&helper, &id).await;
    console.state("running").await;
    console.type_command("say sneaky").await;
    let error = console.until("an error", |m| m["type"] == "error").await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("console:command"),
        "{error}"
    );
    let (status, _) = helper
        .post(
            &format!("/api/servers/{id}/command"),
            json!({ "command": "say hi" }),
        )
        .await;
    assert_eq!(status, 403);

    let stranger = Session::login(&c.panel.url, "stranger", "password-stranger").await;
    let (status, _) = stranger.get(&format!("/api/servers/{id}")).await;
    assert_eq!(status, 404);
    let url = format!(
        "{}/api/servers/{id}/console",
        stranger.base.replacen("http://", "ws://", 1)
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("cookie", stranger.cookie.parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 404)
        }
        other => panic!("a stranger's console must be refused: {other:?}"),
    }
}

/// Issue 7's real game: the built-in Luanti template on a real agent runs Debian's
/// `minetest-server`, reaches its done line and stops cleanly on SIGINT.
#[tokio::test]
async fn luanti_template_runs_a_real_minetest_server() {
    if !std::path::Path::new("/usr/games/minetestserver").exists() {
        eprintln!("SKIPPED: minetest-server is not installed (apt-get install minetest-server)");
        return;
    }
    let c = cluster(1).await;
    let (_, alts) = c.admin.get("/api/alts?name=luanti").await;
    let luanti = alts["data"]["items"][0]["id"]
        .as_str()
        .expect("built-in Luanti template")
        .to_owned();
    let (status, created) = c
        .admin
        .post(
            "/api/servers",
            json!({
                "name": "luanti", "nodeId": c.nodes[0], "altId": luanti,
                "limits": { "memoryMb": 1024, "cpuPercent": 200, "diskMb": 2048 },
            }),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    c.admin
        .wait_for(&format!("/api/servers/{id}"), SLOW, |s| {
            s["state"] == "offline"
        })
        .await;
    let mut console = Console::open(&c.admin, &id).await;
    console.mark();
    let (status, body) = c.power(&c.admin, &id, "start").await;
    assert_eq!(status, 200, "{body}");
    console.line(" listening on ").await;
    console.state("running").await;
    console.mark();
    c.power(&c.admin, &id, "stop").await;
    console.state("offline").await;
    let on_agent = c.agents[0].server(&id).await;
    assert_eq!(on_agent["status"]["state"], "offline", "{on_agent}");
    assert!(
        on_agent["status"]["pid"].is_null(),
        "no process left: {on_agent}"
    );
}

#[tokio::test]
async fn file_changes_go_through_the_jail_and_into_the_audit_log() {
    let c = cluster(1).await;
    let server = c.server(&c.admin, &c.nodes[0], "files", None).await;
    let id = server["id"].as_str().unwrap().to_owned();
    let response = c
        .admin
        .http
        .put(format!(
            "{}/api/servers/{id}/files/contents?path=/motd.txt",
            c.panel.url
        ))
        .body("welcome, players")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = c
        .admin
        .http
        .get(format!(
            "{}/api/servers/{id}/files/contents?path=/motd.txt",
            c.panel.url
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, "welcome, players");
    let (status, body) = c
        .admin
        .post(
            &format!("/api/servers/{id}/files/mkdir"),
            json!({ "path": "/../escape" }),
        )
        .await;
    assert!(
        status == 400 || status == 422,
        "escape refused: {status} {body}"
    );
    let (status, _) = c
        .admin
        .post(
            &format!("/api/servers/{id}/files/rename"),
            json!({ "from": "/motd.txt", "to": "/welcome.txt" }),
        )
        .await;
    assert_eq!(status, 200);
    let names = file_names(&c.admin, &id).await;
    assert!(
        names.iter().any(|n| n == "welcome.txt") && !names.iter().any(|n| n == "motd.txt"),
        "{names:?}"
    );
    let (_, audit) = c.admin.get("/api/audit?action=file.rename").await;
    assert_eq!(audit["data"]["total"], 1, "{audit}");
    assert_eq!(audit["data"]["items"][0]["details"]["to"], "welcome.txt");
}

#[tokio::test]
async fn concurrent_creations_on_one_node_all_get_their_own_port() {
    let c = cluster(1).await;
    let creations = (0..8).map(|i| {
        c.admin.post(
            "/api/servers",
            json!({
                "name": format!("rush-{i}"), "nodeId": c.nodes[0], "altId": c.test_game,
                "limits": { "memoryMb": 128, "cpuPercent": 100, "diskMb": 256 },
            }),
        )
    });
    let mut ports = std::collections::BTreeSet::new();
    for (status, body) in futures_util::future::join_all(creations).await {
        assert_eq!(status, 200, "{body}");
        ports.insert(body["data"]["allocation"]["port"].as_i64().expect("port"));
    }
    assert_eq!(ports.len(), 8, "no two servers share a port: {ports:?}");
}

#[tokio::test]
async fn an_egg_whose_install_needs_a_container_never_runs_on_a_native_node() {
    let c = cluster(1).await;
    let text = std::fs::read_to_string(
        crate::templates_api::eggs_dir().join("teeworlds_egg-teeworlds.json"),
    )
    .expect("the community egg fixtures");
    let mut egg: Value = serde_json::from_str(&text).expect("JSON");
    // Its container and everything else as published, but a harmless script: should it
    // ever run here, all it does is leave a mark.
    egg["scripts"]["installation"]["script"] =
        json!("#!/bin/bash\r\ntouch \"$SERVER_DIR/ran-on-the-host\"\r\n");
    let (_, ctrl) = c
        .admin
        .post("/api/ctrls", json!({ "name": "Community" }))
        .await;
    let (status, imported) = c
        .admin
        .post(
            "/api/alts/import",
            json!({ "ctrlId": ctrl["data"]["id"], "egg": egg }),
        )
        .await;
    assert_eq!(status, 200, "{imported}");
    let alt = imported["data"]["alt"]["id"].as_str().expect("alt id");
    let (status, created) = c
        .admin
        .post(
            "/api/servers",
            json!({
                "name": "needs-a-container", "nodeId": c.nodes[0], "altId": alt,
                "limits": { "memoryMb": 256, "cpuPercent": 100, "diskMb": 512 },
            }),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["data"]["id"]
        .as_str()
        .expect("server id")
        .to_owned();
    c.admin
        .wait_for(&format!("/api/servers/{id}"), SLOW, |s| {
            s["state"] == "install_failed"
        })
        .await;
    let on_agent = c.agents[0].server(&id).await;
    let image = "ghcr.io/parkervcp/installers:debian";
    assert_eq!(on_agent["definition"]["install"]["container"], image);
    let reason = on_agent["status"]["message"].as_str().unwrap_or_default();
    assert!(reason.contains(image), "{on_agent}");
    assert!(
        !c.agents[0]
            .data_dir
            .join(format!("install/{id}.sh"))
            .exists(),
        "the script was never written, let alone run"
    );
    let mark = c.agents[0]
        .data_dir
        .join(format!("servers/{id}/ran-on-the-host"));
    assert!(!mark.exists(), "the install script ran on the host");
}
