//! Real games for the game-protocol tests: Debian's `openarena-server` and
//! `teeworlds-server` run by the agent on 127.0.0.1, and `quakestat` (Debian's `qstat`)
//! as the reference client. Outside CI a machine without them skips these tests, saying
//! so; with `CAP_REQUIRE_GAMES` set (CI) they fail instead.

use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::Client;

pub const OPENARENA: &str = "/usr/games/openarena-server";
pub const TEEWORLDS: &str = "/usr/games/teeworlds-server";
pub const QUAKESTAT: &str = "/usr/bin/quakestat";

/// Whether the real games and the reference client are installed (see the module).
pub fn installed(what: &str) -> bool {
    let missing: Vec<&str> = [OPENARENA, TEEWORLDS, QUAKESTAT]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "{what}: {} missing (apt-get install openarena-server teeworlds-server qstat)",
        missing.join(", ")
    );
    assert!(
        std::env::var_os("CAP_REQUIRE_GAMES").is_none(),
        "{message}; CAP_REQUIRE_GAMES is set"
    );
    eprintln!("SKIPPING {message}");
    false
}

/// A UDP port free on 127.0.0.1 right now.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port()
}

/// An OpenArena server on `port` with one bot, 12 slots, map `oa_dm1`; `extra` are more
/// `+set`/`+command` arguments.
pub fn openarena(id: Uuid, port: u16, extra: &str) -> Value {
    json!({
        "id": id,
        "name": "openarena",
        "startup": format!(
            "exec {OPENARENA} +set dedicated 1 +set net_ip 127.0.0.1 +set net_port {port} \
             +set sv_maxclients 12 +set bot_enable 1 {extra} +map oa_dm1 +addbot Angelyss 1"
        ),
        "ports": [port],
        "stop": {"type": "signal", "value": "SIGTERM", "graceSeconds": 5},
        "donePatterns": ["entered the game"],
        "gameQuery": {"protocol": "quake3", "port": port},
        "crashPolicy": {"autoRestart": false}
    })
}

/// A Teeworlds server on `port`, 10 client slots, map `dm1`; `extra` are more config
/// lines.
pub fn teeworlds(id: Uuid, port: u16, extra: &str) -> Value {
    let config = format!(
        "sv_port {port}\nbindaddr 127.0.0.1\nsv_name captest\nsv_max_clients 10\nsv_map dm1\nsv_register 0\n{extra}"
    );
    json!({
        "id": id,
        "name": "teeworlds",
        "startup": format!("printf '%s' '{config}' > server.cfg; exec {TEEWORLDS} -f server.cfg"),
        "ports": [port],
        "stop": {"type": "signal", "value": "SIGINT", "graceSeconds": 5},
        "donePatterns": ["server name is"],
        "gameQuery": {"protocol": "teeworlds", "port": port},
        "crashPolicy": {"autoRestart": false}
    })
}

/// Poll the agent's stats until they report players; returns them.
pub async fn wait_players(api: &Client, id: Uuid, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let (_, body) = api.get(&format!("/api/servers/{id}/stats")).await;
        let players = &body["data"]["players"];
        if players.is_object() {
            return players.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the stats never reported players: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What `quakestat` answers for a server: (players, max, map, names).
pub struct Reference {
    pub online: u32,
    pub max: u32,
    pub map: String,
    pub names: Vec<String>,
}

/// Ask `quakestat -<kind> 127.0.0.1:<port> -P -raw ,`.
pub fn quakestat(kind: &str, port: u16) -> Reference {
    let output = std::process::Command::new(QUAKESTAT)
        .args([kind, &format!("127.0.0.1:{port}"), "-P", "-raw", ","])
        .output()
        .expect("run quakestat");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut lines = text.lines();
    // TYPE,address,name,map,max,players,ping,retries
    let head: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    assert!(head.len() >= 6, "quakestat answered {text:?}");
    Reference {
        map: head[3].to_owned(),
        max: head[4].parse().expect("max"),
        online: head[5].parse().expect("players"),
        // name,score,ping
        names: lines
            .filter(|l| !l.is_empty())
            .map(|l| l.rsplitn(3, ',').nth(2).unwrap_or_default().to_owned())
            .collect(),
    }
}
