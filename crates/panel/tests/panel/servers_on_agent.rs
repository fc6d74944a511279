//! Servers on a real agent process, with the panel served in-process so the same tests
//! run on SQLite and PostgreSQL: uploads, capacity, crash policy, failed states.

use reqwest::Method;
use serde_json::{json, Value};

use cap_panel::config::Config;
use cap_panel::repo;
use cap_panel::services::templates;

use crate::e2e::{file_names, installed, register, test_game, test_server, SLOW};
use crate::processes::{Agent, Session};
use crate::support::test_game as test_game_alt;
use crate::support::TestApp;

/// A panel, one agent registered as a node, and an administrator's session.
pub struct OnAgent {
    pub agent: Agent,
    pub admin: Session,
    pub node: String,
    pub test_game: String,
    pub app: TestApp,
    _agent_dir: tempfile::TempDir,
}

impl OnAgent {
    pub async fn start(adjust: impl FnOnce(&mut Config)) -> OnAgent {
        let app = TestApp::spawn_with(adjust).await;
        let admin = Session::login(&app.url(""), &app.admin.username, &app.admin.password).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let agent = Agent::start(dir.path(), 0);
        let node = register(&admin, "node", &agent, (42000, 42100)).await;
        let test_game = test_game(&admin).await;
        OnAgent {
            agent,
            admin,
            node,
            test_game,
            app,
            _agent_dir: dir,
        }
    }

    /// An installed test-game server with `limits`.
    pub async fn server(&self, name: &str, limits: Value) -> String {
        let mut body = test_server(&self.node, &self.test_game, name);
        body["limits"] = limits;
        installed(&self.admin, body).await["id"]
            .as_str()
            .expect("server id")
            .to_owned()
    }
}

/// A `multipart/form-data` body with one file.
fn multipart(file_name: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "cap-test-boundary-7d3f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
         filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(on: &OnAgent, server: &str, file_name: &str, size: usize) -> (u16, Value) {
    let (content_type, body) = multipart(file_name, &vec![b'x'; size]);
    let response = on
        .admin
        .http
        .post(
            on.app
                .url(&format!("/api/servers/{server}/files/upload?path=/")),
        )
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("upload request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn uploads_have_their_own_limit_and_say_what_went_wrong() {
    let on = OnAgent::start(|c| c.max_upload_bytes = 3 * MIB as u64).await;
    let roomy = on
        .server(
            "roomy",
            json!({ "memoryMb": 256, "cpuPercent": 100, "diskMb": 8 }),
        )
        .await;

    // Over the general 1 MiB body limit, under the upload limit: stored whole.
    let (status, body) = upload(&on, &roomy, "world.dat", 2 * MIB).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["size"], 2 * MIB, "{body}");

    // Over the panel's upload limit: 413, not "agent unavailable".
    let (status, body) = upload(&on, &roomy, "huge.dat", 4 * MIB).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["code"], "VALIDATION_ERROR");
    assert!(
        body["error"].as_str().unwrap().contains("larger than"),
        "{body}"
    );

    // The node's own refusal (the server's 1 MiB disk quota) comes through as it is.
    let tight = on
        .server(
            "tight",
            json!({ "memoryMb": 256, "cpuPercent": 100, "diskMb": 1 }),
        )
        .await;
    let (status, body) = upload(&on, &tight, "big.dat", 2 * MIB).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["code"], "VALIDATION_ERROR");

    let names = file_names(&on.admin, &roomy).await;
    assert!(
        names.iter().any(|n| n == "world.dat") && !names.iter().any(|n| n == "huge.dat"),
        "{names:?}"
    );
}

#[tokio::test]
async fn a_server_whose_install_failed_is_refused_a_start_and_shows_why() {
    let on = OnAgent::start(|_| {}).await;
    let ctrl = repo::ctrls::create(&on.app.db, "broken", "").await.unwrap();
    let mut alt = test_game_alt("Broken install");
    alt.install.script = "echo preparing; exit 7".into();
    let admin = on.app.admin_actor().await;
    let alt = templates::create(&on.app.db, &admin, &ctrl.id, &alt)
        .await
        .unwrap()
        .row;
    let body = test_server(&on.node, &alt.id, "doomed");
    let (status, created) = on.admin.post("/api/servers", body).await;
    assert_eq!(status, 200, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/servers/{id}");
    let server = on
        .admin
        .wait_for(&path, SLOW, |s| s["state"] == "install_failed")
        .await;
    assert_eq!(server["exitCode"], 7, "{server}");
    let reason = server["stateMessage"].as_str().expect("a reason");
    assert!(reason.contains("code 7"), "{reason}");

    for action in ["start", "restart"] {
        let (status, body) = on
            .admin
            .post(&format!("{path}/power"), json!({ "action": action }))
            .await;
        assert_eq!(status, 409, "{action}: {body}");
        assert_eq!(body["code"], "CONFLICT");
        let message = body["error"].as_str().unwrap();
        assert!(
            message.contains("installation failed") && message.contains("code 7"),
            "{message}"
        );
    }
    // Refused by the panel itself: nothing was recorded as done.
    let (_, audit) = on.admin.get("/api/audit?action=server.power").await;
    assert_eq!(audit["data"]["total"], 0, "{audit}");
    let (_, server) = on.admin.get(&path).await;
    assert_eq!(server["data"]["state"], "install_failed");
}

#[tokio::test]
async fn a_connected_node_is_seen_all_along_not_only_when_it_connected() {
    let on = OnAgent::start(|_| {}).await;
    // The event stream is pinged every 15 s; without a fault the node stays online.
    tokio::time::sleep(std::time::Duration::from_secs(17)).await;
    let (status, node) = on.admin.get(&format!("/api/agents/{}", on.node)).await;
    assert_eq!(status, 200, "{node}");
    assert_eq!(node["data"]["status"], "online");
    let seen: chrono::DateTime<chrono::Utc> = node["data"]["lastSeenAt"]
        .as_str()
        .expect("a last-seen time")
        .parse()
        .expect("a timestamp");
    let ago = chrono::Utc::now() - seen;
    assert!(
        ago < chrono::Duration::seconds(10),
        "last seen {ago} ago while connected"
    );
}

#[tokio::test]
async fn a_node_holds_only_what_it_declares_plus_its_overallocation() {
    let on = OnAgent::start(|_| {}).await;
    let gib = json!({ "memoryMb": 1024, "cpuPercent": 100, "diskMb": 512 });
    let mut servers = Vec::new();
    for i in 0..4 {
        servers.push(on.server(&format!("fits-{i}"), gib.clone()).await);
    }
    // The node declares 4096 MB and allows no overallocation by default.
    let mut body = test_server(&on.node, &on.test_game, "one-too-many");
    body["limits"] = gib.clone();
    let (status, refused) = on.admin.post("/api/servers", body.clone()).await;
    assert_eq!(status, 422, "{refused}");
    let memory = refused["details"]["limits.memoryMb"][0].as_str().unwrap();
    assert!(memory.contains("0 MB of memory left"), "{memory}");
    assert!(
        refused["details"]["limits.diskMb"].is_null(),
        "disk fits: {refused}"
    );

    let mut unlimited = body.clone();
    unlimited["limits"]["memoryMb"] = json!(0);
    let (status, refused) = on.admin.post("/api/servers", unlimited).await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused["details"]["limits.memoryMb"][0]
        .as_str()
        .unwrap()
        .contains("limit"));

    // Resizing counts the other servers only.
    let path = format!("/api/servers/{}", servers[0]);
    let bigger = json!({ "limits": { "memoryMb": 2048, "cpuPercent": 100, "diskMb": 512 } });
    let (status, refused) = on
        .admin
        .call(Method::PATCH, &path, Some(bigger.clone()))
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("1024 MB of memory left"),
        "{refused}"
    );

    // 50 % overallocation: 6144 MB in all.
    let node = format!("/api/agents/{}", on.node);
    let (status, changed) = on
        .admin
        .call(
            Method::PATCH,
            &node,
            Some(json!({ "overallocatePercent": 50 })),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["data"]["overallocatePercent"], 50);
    // A changed node is reconnected; until then its servers cannot be resized.
    let deadline = std::time::Instant::now() + SLOW;
    let (status, resized) = loop {
        let (status, resized) = on
            .admin
            .call(Method::PATCH, &path, Some(bigger.clone()))
            .await;
        if status != 503 || std::time::Instant::now() > deadline {
            break (status, resized);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(status, 200, "{resized}");
    assert_eq!(resized["data"]["limits"]["memoryMb"], 2048);
    let (status, created) = on.admin.post("/api/servers", body).await;
    assert_eq!(status, 200, "{created}");
}

#[tokio::test]
async fn a_servers_crash_policy_is_its_own_and_reaches_its_node() {
    let on = OnAgent::start(|_| {}).await;
    let id = on
        .server(
            "crashy",
            json!({ "memoryMb": 256, "cpuPercent": 100, "diskMb": 64 }),
        )
        .await;
    let path = format!("/api/servers/{id}");
    let defaults = json!({
        "autoRestart": true, "maxRestarts": 3, "windowSeconds": 600,
        "backoffMs": 2000, "maxBackoffMs": 60000
    });
    let (status, server) = on.admin.get(&path).await;
    assert_eq!(status, 200, "{server}");
    assert_eq!(server["data"]["crashPolicy"], defaults);
    assert_eq!(
        on.agent.server(&id).await["definition"]["crashPolicy"],
        defaults
    );

    let policy = json!({
        "autoRestart": false, "maxRestarts": 7, "windowSeconds": 120,
        "backoffMs": 500, "maxBackoffMs": 8000
    });
    let (status, changed) = on
        .admin
        .call(Method::PATCH, &path, Some(json!({ "crashPolicy": policy })))
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["data"]["crashPolicy"], policy);
    assert_eq!(
        on.agent.server(&id).await["definition"]["crashPolicy"],
        policy
    );

    // Out of bounds, field by field; nothing changes anywhere.
    for (field, value) in [
        ("maxRestarts", json!(101)),
        ("windowSeconds", json!(9)),
        ("backoffMs", json!(99)),
        ("maxBackoffMs", json!(3_600_001)),
        ("maxBackoffMs", json!(400)),
    ] {
        let mut bad = policy.clone();
        bad[field] = value;
        let (status, refused) = on
            .admin
            .call(Method::PATCH, &path, Some(json!({ "crashPolicy": bad })))
            .await;
        assert_eq!(status, 422, "{field}: {refused}");
        assert_eq!(refused["code"], "VALIDATION_ERROR");
        let details = &refused["details"][format!("crashPolicy.{field}")];
        assert!(details[0].is_string(), "{field}: {refused}");
    }
    let (status, refused) = on
        .admin
        .call(
            Method::PATCH,
            &path,
            Some(json!({ "crashPolicy": { "autoRestart": true } })),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(on.admin.get(&path).await.1["data"]["crashPolicy"], policy);
    assert_eq!(
        on.agent.server(&id).await["definition"]["crashPolicy"],
        policy
    );

    // A subuser who may only look, and a stranger, cannot change it.
    for name in ["watcher", "stranger"] {
        on.app.create_user(name).await;
    }
    let (status, added) = on
        .admin
        .post(
            &format!("/api/servers/{id}/subusers"),
            json!({ "username": "watcher", "permissions": ["console:view"] }),
        )
        .await;
    assert_eq!(status, 200, "{added}");
    let base = on.app.url("");
    for (name, expected) in [("watcher", 403), ("stranger", 404)] {
        let user = Session::login(&base, name, &format!("password-{name}")).await;
        let (status, refused) = user
            .call(
                Method::PATCH,
                &path,
                Some(json!({ "crashPolicy": defaults })),
            )
            .await;
        assert_eq!(status, expected, "{name}: {refused}");
    }
    assert_eq!(
        on.agent.server(&id).await["definition"]["crashPolicy"],
        policy
    );
}

#[tokio::test]
async fn a_node_says_how_it_runs_servers_and_a_server_which_user_runs_it() {
    let on = OnAgent::start(|_| {}).await;
    let (status, node) = on.admin.get(&format!("/api/agents/{}", on.node)).await;
    assert_eq!(status, 200, "{node}");
    let system = &node["data"]["system"];
    // Native always; Docker too when an engine answers on this machine.
    let runtimes = system["runtimes"].as_array().expect("runtimes");
    assert!(runtimes.contains(&json!("native")), "{system}");
    assert_eq!(
        runtimes.contains(&json!("docker")),
        system["dockerVersion"].is_string(),
        "{system}"
    );
    if as_root() {
        // As root the agent writes cgroups (this machine's layout) and runs each server as
        // an unprivileged user (one shared user in the tests).
        assert!(
            matches!(system["cgroupVersion"].as_str(), Some("v1" | "v2")),
            "{system}"
        );
        assert_eq!(system["isolatedUsers"], true, "{system}");
    } else {
        assert!(system["cgroupVersion"].is_null(), "{system}");
    }

    let id = on
        .server(
            "runs-as",
            json!({"memoryMb": 256, "cpuPercent": 100, "diskMb": 512}),
        )
        .await;
    let deadline = std::time::Instant::now() + SLOW;
    let runs_as = loop {
        let (_, server) = on.admin.get(&format!("/api/servers/{id}")).await;
        if let Some(user) = server["data"]["runsAs"].as_str() {
            break user.to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "{server}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    if as_root() {
        assert!(runs_as.starts_with("cap-test (uid "), "{runs_as}");
    } else {
        assert!(runs_as.contains("(uid "), "{runs_as}");
    }
}

/// Whether the tests run as root (then the agent writes cgroups and creates users).
fn as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let uids = s.lines().find(|l| l.starts_with("Uid:"))?.to_owned();
            Some(uids.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}
