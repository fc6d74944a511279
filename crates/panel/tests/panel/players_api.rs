//! Players online end to end: a template's game query reaches the agent's definition, the
//! agent asks the game (here a Quake 3 `getstatus` responder on the server's port), and
//! the players show in the panel's server view and server list.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::net::UdpSocket;

use crate::e2e::{installed, test_server};
use crate::servers_on_agent::OnAgent;
use crate::support::test_game;

/// The agent asks every 10 s; allow two rounds and the start.
const QUERIES: Duration = Duration::from_secs(30);

/// Answer `getstatus` on `port` as an OpenArena server with two players would.
async fn quake3_responder(port: u16) {
    let socket = UdpSocket::bind(("127.0.0.1", port))
        .await
        .expect("the server's port is free for UDP");
    tokio::spawn(async move {
        let mut buffer = [0; 1500];
        loop {
            let Ok((read, from)) = socket.recv_from(&mut buffer).await else {
                return;
            };
            if &buffer[..read] == b"\xff\xff\xff\xffgetstatus" {
                let answer = b"\xff\xff\xff\xffstatusResponse\n\\sv_maxclients\\16\\mapname\\oa_dm4\\version\\ioq3 1.36\n4 20 \"^2Sarge\"\n1 35 \"Tee\"\n";
                let _ = socket.send_to(answer, from).await;
            }
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn players_from_the_game_query_show_in_the_server_view_and_list() {
    let on = OnAgent::start(|_| {}).await;
    let mut alt = test_game("Queried game");
    alt.game_query = Some(cap_templates::GameQuerySpec {
        protocol: cap_templates::QueryProtocol::Quake3,
        port_offset: 0,
    });
    let (_, builtin) = on.admin.get(&format!("/api/alts/{}", on.test_game)).await;
    let (status, created) = on
        .admin
        .post(
            "/api/alts",
            json!({"ctrlId": builtin["data"]["ctrlId"], "template": alt}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let alt_id = created["data"]["id"].as_str().expect("alt id");
    let server = installed(&on.admin, test_server(&on.node, alt_id, "arena")).await;
    let id = server["id"].as_str().expect("server id").to_owned();
    let port = server["allocation"]["port"].as_u64().expect("port") as u16;

    let definition = on.agent.server(&id).await["definition"].clone();
    assert_eq!(
        definition["gameQuery"],
        json!({"protocol": "quake3", "port": port})
    );
    quake3_responder(port).await;
    let (status, body) = on
        .admin
        .post(
            &format!("/api/servers/{id}/power"),
            json!({"action": "start"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let view = on
        .admin
        .wait_for(&format!("/api/servers/{id}"), QUERIES, |s| {
            s["stats"]["players"].is_object()
        })
        .await;
    let expected = json!({
        "online": 2, "max": 16, "map": "oa_dm4", "version": "ioq3 1.36",
        "names": ["Sarge", "Tee"],
    });
    assert_eq!(view["stats"]["players"], expected, "{view}");
    let (_, list) = on.admin.get("/api/servers").await;
    let listed: Vec<&Value> = list["data"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|s| s["id"] == id.as_str())
        .collect();
    assert_eq!(listed[0]["stats"]["players"], expected, "{list}");
}
