//! Game queries: real OpenArena and Teeworlds servers run by the agent, asked by the
//! agent's poller and by `quakestat`; Minecraft's server-list ping and Source's A2S
//! against small servers in the test (no such game can be had here); a game that never
//! answers stays running.

use std::net::SocketAddr;
use std::time::Duration;

use cap_agent::game;
use cap_protocol::game::QueryProtocol;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use uuid::Uuid;

use crate::games::{self, free_udp_port, quakestat, wait_players};
use crate::support::{game as testgame, TestAgent};

const LIMIT: Duration = Duration::from_secs(60);

async fn polling_agent() -> TestAgent {
    TestAgent::start_with(|c| c.query_interval = Duration::from_millis(500)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openarena_players_agree_with_quakestat() {
    if !games::installed("the OpenArena query test") {
        return;
    }
    let agent = polling_agent().await;
    let api = &agent.client;
    let (id, port) = (Uuid::new_v4(), free_udp_port());
    api.define(games::openarena(id, port, "")).await;
    api.command("start", id).await;
    api.wait_state(id, "running", LIMIT).await;
    let players = wait_players(api, id, LIMIT).await;

    let reference = quakestat("-q3s", port);
    assert_eq!(players["online"], reference.online, "{players}");
    assert_eq!(players["max"], reference.max, "{players}");
    assert_eq!(players["map"], reference.map.as_str(), "{players}");
    assert_eq!(players["names"], json!(reference.names), "{players}");
    assert_eq!(
        (reference.online, reference.max, reference.map.as_str()),
        (1, 12, "oa_dm1")
    );
    assert!(players["version"]
        .as_str()
        .is_some_and(|v| v.contains("ioq3")));
    api.command("stop", id).await;
    api.wait_state(id, "offline", LIMIT).await;
    let (_, body) = api.get(&format!("/api/servers/{id}/stats")).await;
    assert!(body["data"]["players"].is_null(), "{body}");
    agent.shutdown().await;
}

/// `quakestat -tees` (qstat 2.17) speaks Teeworlds 0.6, which Debian's 0.7.5 server does
/// not answer, so the reference here is the server's own configuration and log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teeworlds_answers_its_configured_slots_and_map() {
    if !games::installed("the Teeworlds query test") {
        return;
    }
    let agent = polling_agent().await;
    let api = &agent.client;
    let (id, port) = (Uuid::new_v4(), free_udp_port());
    api.define(games::teeworlds(id, port, "")).await;
    api.command("start", id).await;
    api.wait_state(id, "running", LIMIT).await;
    let players = wait_players(api, id, LIMIT).await;
    let log = api.history(id).await;
    assert!(log.iter().any(|l| l.contains("datafile='maps/dm1.map'")));
    let version = log
        .iter()
        .find_map(|l| l.split("[server]: version ").nth(1))
        .expect("the server logs its version");
    assert_eq!(players["online"], 0, "{players}");
    assert_eq!(players["max"], 10, "{players}");
    assert_eq!(players["map"], "dm1", "{players}");
    let answered = players["version"].as_str().expect("version");
    assert!(
        version.starts_with(&answered[..3]),
        "{answered} vs {version}"
    );
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_game_that_never_answers_stays_running_without_players() {
    let agent = polling_agent().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    let mut definition = testgame(id);
    definition["gameQuery"] = json!({"protocol": "quake3", "port": free_udp_port()});
    api.define(definition).await;
    api.command("start", id).await;
    api.wait_state(id, "running", LIMIT).await;
    // Three intervals and more: every query has failed by now.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (_, body) = api.get(&format!("/api/servers/{id}")).await;
    assert_eq!(body["data"]["status"]["state"], "running", "{body}");
    assert_eq!(body["data"]["status"]["restartCount"], 0, "{body}");
    assert!(body["data"]["stats"].is_object(), "{body}");
    assert!(body["data"]["stats"]["players"].is_null(), "{body}");
    agent.shutdown().await;
}

/// A Minecraft server's status answer, as vanilla 1.21 sends it.
const MINECRAFT_STATUS: &str = r#"{"version":{"name":"1.21.4","protocol":769},"players":{"max":20,"online":2,"sample":[{"name":"Steve","id":"8667ba71-b85a-4004-af54-457a9734eed7"},{"name":"Alex","id":"ec561538-f3fd-461d-aff5-086b22154bce"}]},"description":{"text":"A Minecraft Server"}}"#;

fn varint(out: &mut Vec<u8>, value: usize) {
    let mut rest = value;
    while rest >= 0x80 {
        out.push((rest as u8 & 0x7f) | 0x80);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// Serve one status ping: check the handshake asks for the status state, answer the
/// status request.
async fn fake_minecraft() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let length = stream.read_u8().await.unwrap() as usize;
        let mut handshake = vec![0; length];
        stream.read_exact(&mut handshake).await.unwrap();
        assert_eq!(handshake[0], 0, "handshake packet id");
        assert_eq!(*handshake.last().unwrap(), 1, "next state: status");
        let port = u16::from_be_bytes([handshake[length - 3], handshake[length - 2]]);
        assert_eq!(port, addr.port());
        let mut request = [0; 2];
        stream.read_exact(&mut request).await.unwrap();
        assert_eq!(request, [1, 0], "status request");
        let mut body = vec![0];
        varint(&mut body, MINECRAFT_STATUS.len());
        body.extend_from_slice(MINECRAFT_STATUS.as_bytes());
        let mut packet = Vec::new();
        varint(&mut packet, body.len());
        packet.extend_from_slice(&body);
        stream.write_all(&packet).await.unwrap();
    });
    addr
}

#[tokio::test]
async fn minecraft_server_list_ping_reads_counts_version_and_names() {
    let addr = fake_minecraft().await;
    let players = game::query(QueryProtocol::Minecraft, addr).await.unwrap();
    assert_eq!((players.online, players.max), (2, 20));
    assert_eq!(players.version.as_deref(), Some("1.21.4"));
    assert_eq!(players.names, ["Steve", "Alex"]);
    assert_eq!(players.map, None);
}

/// A Source server that challenges both requests, as current Valve games do.
async fn fake_source() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let challenge = *b"\x0a\x0b\x0c\x0d";
        let mut buffer = [0; 1500];
        loop {
            let (read, from) = socket.recv_from(&mut buffer).await.unwrap();
            let request = &buffer[..read];
            let challenged = request.ends_with(&challenge);
            let answer: Vec<u8> = match request.get(4) {
                _ if !challenged => [&b"\xff\xff\xff\xffA"[..], &challenge].concat(),
                Some(b'T') => {
                    let mut info = b"\xff\xff\xff\xffI\x11Fake Source\0cs_office\0cstrike\0Counter-Strike: Source\0\xf0\x00".to_vec();
                    info.extend_from_slice(b"\x03\x18\x01dl\x00\x011.0.0.34\0");
                    info
                }
                Some(b'U') => {
                    let mut list = b"\xff\xff\xff\xffD\x03".to_vec();
                    for name in ["Gordon", "", "Alyx"] {
                        list.push(0);
                        list.extend_from_slice(name.as_bytes());
                        list.extend_from_slice(b"\0\x05\0\0\0\0\0\x80\x3f");
                    }
                    list
                }
                _ => continue,
            };
            socket.send_to(&answer, from).await.unwrap();
        }
    });
    addr
}

#[tokio::test]
async fn source_a2s_answers_after_the_challenge() {
    let addr = fake_source().await;
    let players = game::query(QueryProtocol::Source, addr).await.unwrap();
    assert_eq!((players.online, players.max), (3, 24));
    assert_eq!(players.map.as_deref(), Some("cs_office"));
    assert_eq!(players.version.as_deref(), Some("1.0.0.34"));
    // The player still connecting has no name yet.
    assert_eq!(players.names, ["Gordon", "Alyx"]);
}

#[tokio::test]
async fn a_silent_port_times_out() {
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let started = std::time::Instant::now();
    let failed = game::query(QueryProtocol::Quake3, addr).await;
    assert!(
        matches!(failed, Err(game::QueryError::Timeout)),
        "{failed:?}"
    );
    assert!(started.elapsed() < game::QUERY_TIMEOUT + Duration::from_secs(1));
}
