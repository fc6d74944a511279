//! Allocations against a real agent: the admin's limit, `network:view` and
//! `network:manage`, templates that need port+1, the ports and variables reaching the
//! agent's definition, and node allocations managed in bulk.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::processes::Agent;
use crate::support::{test_game, TestApp};

const SLOW: Duration = Duration::from_secs(20);

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A panel, a real agent registered as a node with `range`, and the admin's client.
struct Setup {
    app: TestApp,
    agent: Agent,
    admin: Client,
    node: String,
    _dir: tempfile::TempDir,
}

/// A free block of `len` consecutive ports on this machine (bound and released).
fn free_block(len: u16) -> (u16, u16) {
    loop {
        let start = std::net::TcpListener::bind("0.0.0.0:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let Some(end) = start.checked_add(len - 1) else {
            continue;
        };
        let all_free = (start..=end).all(|p| {
            std::net::TcpListener::bind(("0.0.0.0", p)).is_ok()
                && std::net::UdpSocket::bind(("0.0.0.0", p)).is_ok()
        });
        if all_free && start >= 1024 {
            return (start, end);
        }
    }
}

async fn setup(range: (u16, u16)) -> Setup {
    let app = TestApp::spawn_with(|c| c.discovery_interval_secs = 1).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let agent = Agent::start(dir.path(), 0);
    let admin = app.admin_client().await;
    let (status, body) = send(admin.post(app.url("/api/agents")).json(&json!({
        "name": "node-a", "address": "127.0.0.1", "port": agent.port, "scheme": "http",
        "memoryMb": 4096, "diskMb": 10240,
        "portRangeStart": range.0, "portRangeEnd": range.1, "token": agent.token,
    })))
    .await;
    assert_eq!(status, 200, "{body}");
    let node = body["data"]["node"]["id"]
        .as_str()
        .expect("node id")
        .to_owned();
    let deadline = tokio::time::Instant::now() + SLOW;
    loop {
        let (_, body) = send(admin.get(app.url(&format!("/api/agents/{node}")))).await;
        if body["data"]["status"] == "online" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "node online: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Setup {
        app,
        agent,
        admin,
        node,
        _dir: dir,
    }
}

impl Setup {
    fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    /// The id of a template: the built-in test game, or a copy of it with `offsets`.
    async fn template(&self, offsets: &[u16]) -> String {
        let (_, alts) = send(self.admin.get(self.url("/api/alts?name=test%20game"))).await;
        let builtin = alts["data"]["items"][0]["id"].as_str().expect("Test Game");
        if offsets.is_empty() {
            return builtin.to_owned();
        }
        let (_, found) = send(self.admin.get(self.url(&format!("/api/alts/{builtin}")))).await;
        let mut alt = test_game("Port pair");
        alt.extra_port_offsets = offsets.to_vec();
        let (status, created) = send(self.admin.post(self.url("/api/alts")).json(&json!({
            "ctrlId": found["data"]["ctrlId"], "template": alt,
        })))
        .await;
        assert_eq!(status, 200, "{created}");
        created["data"]["id"].as_str().expect("alt id").to_owned()
    }

    /// Creates a server owned by `owner` and waits for its install to end.
    async fn server(&self, alt: &str, owner: &str) -> (StatusCode, Value) {
        let (status, body) = send(self.admin.post(self.url("/api/servers")).json(&json!({
            "name": "net", "nodeId": self.node, "altId": alt, "ownerId": owner,
            "limits": { "memoryMb": 256, "cpuPercent": 100, "diskMb": 512 },
            "variables": { "STARTUP_DELAY_MS": "0" },
        })))
        .await;
        if status != 200 {
            return (status, body);
        }
        let id = body["data"]["id"].as_str().expect("server id").to_owned();
        let deadline = tokio::time::Instant::now() + SLOW;
        loop {
            let (_, body) = send(self.admin.get(self.url(&format!("/api/servers/{id}")))).await;
            if body["data"]["state"] == "offline" {
                return (status, body);
            }
            assert!(tokio::time::Instant::now() < deadline, "installed: {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn allocations(&self, client: &Client, server: &str) -> (StatusCode, Value) {
        send(client.get(self.url(&format!("/api/servers/{server}/allocations")))).await
    }

    async fn set_limit(&self, server: &str, limit: i32) -> Value {
        let (status, body) = send(
            self.admin
                .put(self.url(&format!("/api/servers/{server}/allocation-limit")))
                .json(&json!({ "limit": limit })),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// What the agent was told to run.
    async fn definition(&self, server: &str) -> Value {
        self.agent.server(server).await["definition"].clone()
    }
}

fn ports(listing: &Value) -> Vec<i64> {
    listing["data"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| a["port"].as_i64().expect("port"))
        .collect()
}

fn id_of(listing: &Value, port: i64) -> String {
    listing["data"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|a| a["port"] == port)
        .and_then(|a| a["id"].as_str())
        .expect("allocation with that port")
        .to_owned()
}

#[tokio::test]
async fn owners_manage_allocations_within_the_limit_and_the_agent_follows() {
    let s = setup(free_block(6)).await;
    let owner = s.app.create_user("netowner").await;
    cap_panel::repo::permissions::set(&s.app.db, &owner.id, "network:manage", true)
        .await
        .unwrap();
    let client = s.app.login_as("netowner", "password-netowner").await;
    let alt = s.template(&[]).await;
    let (status, created) = s.server(&alt, &owner.id).await;
    assert_eq!(status, 200, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let url = s.url(&format!("/api/servers/{id}/allocations"));

    let (status, listing) = s.allocations(&client, &id).await;
    assert_eq!(status, 200, "{listing}");
    let primary = ports(&listing)[0];
    assert_eq!(listing["data"]["items"][0]["primary"], true);
    assert_eq!(listing["data"]["items"][0]["variable"], "SERVER_PORT");
    assert_eq!(listing["data"]["items"][0]["ip"], "127.0.0.1");
    assert_eq!(listing["data"]["allowed"], 1);

    // The default limit is the primary alone.
    let (status, body) = send(client.post(&url).json(&json!({}))).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "CONFLICT");
    assert!(
        body["error"].as_str().unwrap().contains("1 of the 1"),
        "{body}"
    );

    s.set_limit(&id, 3).await;
    let (status, body) = send(client.post(&url).json(&json!({ "notes": "query" }))).await;
    assert_eq!(status, 200, "{body}");
    let all = ports(&body);
    assert_eq!(all.len(), 2);
    let extra = all[1];
    assert_eq!(body["data"]["items"][1]["notes"], "query");
    assert_eq!(body["data"]["items"][1]["variable"], "SERVER_PORT_1");

    let definition = s.definition(&id).await;
    assert_eq!(definition["ports"], json!([primary, extra]));
    let env = &definition["environment"];
    assert_eq!(env["SERVER_PORT"], primary.to_string());
    assert_eq!(env["SERVER_PORT_1"], extra.to_string());
    assert_eq!(env["SERVER_IP_1"], "0.0.0.0");
    assert_eq!(env["SERVER_PORTS"], format!("{primary},{extra}"));
    assert_eq!(env["P_SERVER_ALLOCATION_LIMIT"], "3");

    // Notes are checked and kept.
    let extra_id = id_of(&body, extra);
    let one = s.url(&format!("/api/servers/{id}/allocations/{extra_id}"));
    let (status, body) = send(client.patch(&one).json(&json!({ "notes": "a\nb" }))).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = send(client.patch(&one).json(&json!({ "notes": "rcon" }))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["items"][1]["notes"], "rcon");

    // The primary cannot go; another allocation can become primary.
    let primary_id = id_of(&body, primary);
    let (status, body) =
        send(client.delete(s.url(&format!("/api/servers/{id}/allocations/{primary_id}")))).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = send(client.post(format!("{one}/primary"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ports(&body), [extra, primary]);
    let env = s.definition(&id).await["environment"].clone();
    assert_eq!(env["SERVER_PORT"], extra.to_string());
    assert_eq!(env["SERVER_PORT_1"], primary.to_string());
    let (_, server) = send(client.get(s.url(&format!("/api/servers/{id}")))).await;
    assert_eq!(server["data"]["allocation"]["port"], extra);

    // Removing the old primary frees its port for the next server.
    let (status, body) =
        send(client.delete(s.url(&format!("/api/servers/{id}/allocations/{primary_id}")))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ports(&body), [extra]);
    assert_eq!(s.definition(&id).await["ports"], json!([extra]));
    let (status, other) = s.server(&alt, &owner.id).await;
    assert_eq!(status, 200, "{other}");
    assert_eq!(
        other["data"]["allocation"]["port"], primary,
        "the freed port is reused"
    );

    // Someone else's allocation id is not found on this server.
    let other_id = other["data"]["id"].as_str().unwrap();
    let (_, theirs) = s.allocations(&client, other_id).await;
    let theirs = id_of(&theirs, primary);
    let (status, _) =
        send(client.delete(s.url(&format!("/api/servers/{id}/allocations/{theirs}")))).await;
    assert_eq!(status, 404);

    let (_, audit) = send(s.admin.get(s.url("/api/audit?perPage=100"))).await;
    let actions: Vec<&str> = audit["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "allocation.added",
        "allocation.notes_changed",
        "allocation.primary_changed",
        "allocation.removed",
        "server.allocation_limit_changed",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

#[tokio::test]
async fn network_view_lists_but_only_network_manage_changes() {
    let s = setup(free_block(4)).await;
    let owner = s.app.create_user("viewowner").await;
    let helper = s.app.create_user("viewhelper").await;
    let alt = s.template(&[]).await;
    let (_, created) = s.server(&alt, &owner.id).await;
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    s.set_limit(&id, 4).await;
    cap_panel::repo::subusers::create(
        &s.app.db,
        &id,
        &helper.id,
        &["network:view".to_owned()].into_iter().collect(),
    )
    .await
    .unwrap();
    let url = s.url(&format!("/api/servers/{id}/allocations"));

    for (login, password) in [
        ("viewhelper", "password-viewhelper"),
        // The user role sees allocations but does not hold network:manage.
        ("viewowner", "password-viewowner"),
    ] {
        let client = s.app.login_as(login, password).await;
        let (status, listing) = s.allocations(&client, &id).await;
        assert_eq!(status, 200, "{login}: {listing}");
        assert_eq!(ports(&listing).len(), 1);
        let (status, body) = send(client.post(&url).json(&json!({}))).await;
        assert_eq!(status, 403, "{login}: {body}");
        assert_eq!(body["code"], "FORBIDDEN");
    }
    // A stranger does not learn the server exists; an admin can do everything.
    s.app.create_user("stranger").await;
    let stranger = s.app.login_as("stranger", "password-stranger").await;
    assert_eq!(s.allocations(&stranger, &id).await.0, 404);
    let (status, body) = send(s.admin.post(&url).json(&json!({}))).await;
    assert_eq!(status, 200, "{body}");
    // Only admins set the limit.
    let client = s.app.login_as("viewowner", "password-viewowner").await;
    let (status, _) = send(
        client
            .put(s.url(&format!("/api/servers/{id}/allocation-limit")))
            .json(&json!({ "limit": 10 })),
    )
    .await;
    assert_eq!(status, 403);
    let (status, body) = send(
        s.admin
            .put(s.url(&format!("/api/servers/{id}/allocation-limit")))
            .json(&json!({ "limit": 65 })),
    )
    .await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn templates_needing_port_plus_one_get_consecutive_ports() {
    let (start, end) = free_block(5);
    let s = setup((start, end)).await;
    let owner = s.app.create_user("pairowner").await;
    let single = s.template(&[]).await;
    let pair = s.template(&[1]).await;

    // A single-port server takes the first port, so the pair cannot start there.
    let (_, first) = s.server(&single, &owner.id).await;
    assert_eq!(first["data"]["allocation"]["port"], start);
    let (status, created) = s.server(&pair, &owner.id).await;
    assert_eq!(status, 200, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let (_, listing) = s.allocations(&s.admin, &id).await;
    let (p, q) = (i64::from(start) + 1, i64::from(start) + 2);
    assert_eq!(ports(&listing), [p, q]);
    assert_eq!(listing["data"]["items"][1]["required"], true);
    assert_eq!(
        listing["data"]["allowed"], 2,
        "the template's ports are allowed"
    );

    let definition = s.definition(&id).await;
    assert_eq!(definition["ports"], json!([p, q]));
    assert_eq!(definition["environment"]["SERVER_PORT"], p.to_string());
    assert_eq!(definition["environment"]["SERVER_PORT_1"], q.to_string());

    // The port beside the primary is not removable, and cannot be left behind.
    let q_id = id_of(&listing, q);
    let (status, body) = send(
        s.admin
            .delete(s.url(&format!("/api/servers/{id}/allocations/{q_id}"))),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("needs port"),
        "{body}"
    );
    let (status, body) = send(
        s.admin
            .post(s.url(&format!("/api/servers/{id}/allocations/{q_id}/primary"))),
    )
    .await;
    assert_eq!(status, 409, "{body}");

    // Two ports are left, but only one pair fits: start+3 and start+4.
    let (status, _) = s.server(&pair, &owner.id).await;
    assert_eq!(status, 200);
    let (status, body) = s.server(&pair, &owner.id).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("2 free ports"),
        "{body}"
    );
}

#[tokio::test]
async fn admins_add_and_remove_node_allocations_in_bulk() {
    let (start, end) = free_block(3);
    let s = setup((start, start)).await;
    let url = s.url(&format!("/api/agents/{}/allocations", s.node));
    let spec = format!("{}-{end}", start + 1);

    for (body, field) in [
        (json!({ "ip": "127.0.0.1", "ports": "80" }), "ports"),
        (json!({ "ip": "127.0.0.1", "ports": "2000-40000" }), "ports"),
        (json!({ "ip": "not an ip", "ports": spec }), "ip"),
        (json!({ "ip": "127.0.0.1", "ports": "" }), "ports"),
    ] {
        let (status, answer) = send(s.admin.post(&url).json(&body)).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert!(answer["details"][field].is_array(), "{answer}");
    }
    let (status, body) = send(s.admin.post(&url).json(&json!({
        "ip": "127.0.0.1", "ports": spec, "notes": "public",
    })))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["added"], 2);
    let (_, again) = send(
        s.admin
            .post(&url)
            .json(&json!({ "ip": "127.0.0.1", "ports": spec })),
    )
    .await;
    assert_eq!(
        again["data"]["added"], 0,
        "existing ports are kept: {again}"
    );

    // A new server takes a listed allocation first.
    let owner = s.app.create_user("bulkowner").await;
    let alt = s.template(&[]).await;
    let (_, created) = s.server(&alt, &owner.id).await;
    assert_eq!(
        created["data"]["allocation"]["bindIp"], "127.0.0.1",
        "{created}"
    );
    assert_eq!(created["data"]["allocation"]["port"], start + 1);
    let id = created["data"]["id"].as_str().unwrap();
    let env = s.definition(id).await["environment"].clone();
    assert_eq!(env["SERVER_IP"], "127.0.0.1");

    let (status, listing) = send(s.admin.get(format!("{url}?perPage=10"))).await;
    assert_eq!(status, 200);
    assert_eq!(listing["data"]["total"], 2);
    let items = listing["data"]["items"].as_array().unwrap();
    assert_eq!(items[0]["server"]["id"], id);
    assert!(items[1]["server"].is_null());
    let ids: Vec<&str> = items.iter().map(|a| a["id"].as_str().unwrap()).collect();

    // In use: refused, and nothing is removed.
    let (status, body) = send(
        s.admin
            .post(format!("{url}/remove"))
            .json(&json!({ "ids": ids })),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains(&format!("127.0.0.1:{}", start + 1)));
    let (status, body) = send(
        s.admin
            .post(format!("{url}/remove"))
            .json(&json!({ "ids": [ids[1]] })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["removed"], 1);
    let (_, listing) = send(s.admin.get(&url)).await;
    assert_eq!(listing["data"]["total"], 1);

    // Only admin:nodes manages them.
    let client = s.app.login_as("bulkowner", "password-bulkowner").await;
    assert_eq!(send(client.get(&url)).await.0, 403);
}
