//! The console over Wings' websocket protocol, relayed by the panel: a client speaking
//! Wings' frames authenticates with the ticket, gets status and console output, sends a
//! command and a power signal, is told `token expiring` before its ticket runs out, and
//! is refused what its permissions do not allow.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::processes::Session;
use crate::pterodactyl::{call, key, short, SMALL};
use crate::servers_on_agent::OnAgent;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send(socket: &mut Socket, event: &str, args: Value) {
    let frame = json!({ "event": event, "args": args }).to_string();
    socket.send(Message::text(frame)).await.unwrap();
}

/// The first frame of `event` whose first argument satisfies `check`, within 30 s.
async fn until(socket: &mut Socket, event: &str, check: impl Fn(&str) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {event:?} frame in time"))
            .expect("socket open")
            .expect("frame");
        let Message::Text(text) = message else {
            continue;
        };
        let frame: Value = serde_json::from_str(&text).unwrap();
        if frame["event"] == event && check(frame["args"][0].as_str().unwrap_or_default()) {
            return frame;
        }
    }
}

async fn ticket(on: &OnAgent, key: &str, server: &str) -> (String, String) {
    let (status, body) = call(
        on,
        key,
        Method::GET,
        &format!("/api/client/servers/{}/websocket", short(server)),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    (
        body["data"]["token"].as_str().unwrap().to_owned(),
        body["data"]["socket"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn wings_frames_over_the_panels_socket() {
    let on = OnAgent::start(|_| {}).await;
    let server = on
        .server("wings", serde_json::from_str(SMALL).unwrap())
        .await;
    let client = key(&on.admin, "pterodactyl_client").await;
    let (token, url) = ticket(&on, &client, &server).await;
    assert!(
        url.starts_with("ws://127.0.0.1:")
            && url.ends_with(&format!("/api/client/servers/{}/ws", short(&server))),
        "{url}"
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();

    // Nothing before auth; a bad ticket is a jwt error.
    send(&mut socket, "send logs", json!([])).await;
    until(&mut socket, "jwt error", |_| true).await;
    send(&mut socket, "auth", json!(["not a token"])).await;
    until(&mut socket, "jwt error", |_| true).await;
    send(&mut socket, "auth", json!([token])).await;
    until(&mut socket, "auth success", |_| true).await;
    until(&mut socket, "status", |s| s == "offline").await;

    // Power, console output, a command, stats.
    send(&mut socket, "set state", json!(["start"])).await;
    until(&mut socket, "status", |s| s == "running").await;
    send(&mut socket, "send command", json!(["say hello wings"])).await;
    until(&mut socket, "console output", |l| l.contains("hello wings")).await;
    send(&mut socket, "send logs", json!([])).await;
    until(&mut socket, "console output", |l| l.contains("hello wings")).await;
    send(&mut socket, "send stats", json!([])).await;
    let stats = until(&mut socket, "stats", |_| true).await;
    let payload: Value = serde_json::from_str(stats["args"][0].as_str().unwrap()).unwrap();
    assert_eq!(payload["state"], "running", "{payload}");
    assert_eq!(
        payload["memory_limit_bytes"],
        128 * 1024 * 1024,
        "{payload}"
    );
    let (_, audit) = on.admin.get("/api/audit?action=server.power").await;
    assert_eq!(audit["data"]["total"], 1, "the start is audited: {audit}");

    // A ticket about to run out: told so, and a fresh one keeps the socket going.
    let (_, account) = call(&on, &client, Method::GET, "/api/client/account", None).await;
    let user = account["attributes"]["id"].as_str().unwrap();
    let (_, keys) = on.admin.get("/api/auth/api-keys").await;
    let key_id = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["family"] == "pterodactyl_client")
        .and_then(|k| k["id"].as_str())
        .expect("the client key")
        .to_owned();
    let short_lived = cap_panel::auth::tokens::issue_console(
        on.app.state.secrets().jwt_key(),
        (user, &key_id),
        &server,
        chrono::Duration::seconds(61),
    )
    .unwrap();
    send(&mut socket, "auth", json!([short_lived])).await;
    until(&mut socket, "auth success", |_| true).await;
    until(&mut socket, "token expiring", |_| true).await;
    let (fresh, _) = ticket(&on, &client, &server).await;
    send(&mut socket, "auth", json!([fresh])).await;
    until(&mut socket, "auth success", |_| true).await;
    send(&mut socket, "set state", json!(["stop"])).await;
    until(&mut socket, "status", |s| s == "offline").await;

    // A subuser who may watch but not type or switch the server.
    on.app.create_user("watcher").await;
    let (status, body) = on
        .admin
        .post(
            &format!("/api/servers/{server}/subusers"),
            json!({ "username": "watcher", "permissions": ["console:view"] }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let watcher = Session::login(&on.app.url(""), "watcher", "password-watcher").await;
    let watcher_key = key(&watcher, "pterodactyl_client").await;
    let (watcher_token, url) = ticket(&on, &watcher_key, &server).await;
    let (mut watching, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    send(&mut watching, "auth", json!([watcher_token])).await;
    until(&mut watching, "auth success", |_| true).await;
    send(&mut watching, "send command", json!(["say sneaky"])).await;
    until(&mut watching, "daemon error", |m| m.contains("commands")).await;
    send(&mut watching, "set state", json!(["start"])).await;
    until(&mut watching, "daemon error", |m| m.contains("power")).await;
    // Someone else's ticket is refused on this socket.
    send(&mut watching, "auth", json!([token])).await;
    until(&mut watching, "jwt error", |_| true).await;
}
