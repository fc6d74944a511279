//! The console over Wings' websocket protocol, relayed by the panel (one origin).
//!
//! `GET .../websocket` gives a ticket (ten minutes) and the socket's address, which is on
//! the panel. On the socket every frame is `{"event", "args"}`: the client sends `auth`
//! with the ticket (again with a fresh one when told `token expiring`), then `send logs`,
//! `send stats`, `send command` and `set state`; it gets `auth success`, `status`,
//! `console output`, `install output`, `stats`, `token expiring`, `token expired`,
//! `jwt error` and `daemon error`. What the holder may do is decided at each `auth`.

use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cap_protocol::command::Action;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

use super::servers::{power_state, scope};
use super::ClientResult;
use super::Compat;
use crate::agents::{state_name, LiveEvent};
use crate::auth::{tokens, Actor, Client};
use crate::domain::ShortId;
use crate::http::routes::nodes::panel_url;
use crate::limits::ConsoleSlot;
use crate::services::server_access::ServerScope;
use crate::services::servers::{self as service, listing};
use crate::state::AppState;

/// Lines of history `send logs` replays.
const HISTORY_LINES: usize = 150;
/// Largest frame a client may send.
const MAX_FRAME_BYTES: usize = 8 * 1024;
/// How long before its expiry a ticket is announced as expiring.
const EXPIRING_SECONDS: i64 = 60;

/// `GET .../websocket`: `{data: {token, socket}}`.
pub async fn credentials(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    headers: HeaderMap,
    Path(server): Path<String>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &actor, &server, "console:view").await?;
    let token = service::console_ticket(&state, &actor, &scope.server, tokens::CONSOLE_TTL)?;
    let socket = format!(
        "{}/api/client/servers/{}/ws",
        panel_url(&state, &headers).replacen("http", "ws", 1),
        ShortId::of(&scope.server.id)
    );
    Ok(Json(
        json!({ "data": { "token": token, "socket": socket } }),
    ))
}

/// `GET .../ws`: the socket (the ticket, sent in the first frame, is its credential).
pub async fn socket(
    State(state): State<AppState>,
    client: Client,
    Path(server): Path<String>,
    upgrade: WebSocketUpgrade,
) -> ClientResult<Response> {
    let id = listing::by_identifier(&state, &server).await?;
    Ok(upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| async move {
            relay(state, id, client, socket).await;
            crate::memory::release_soon();
        })
        .into_response())
}

fn frame(event: &str, args: Value) -> Message {
    Message::Text(Utf8Bytes::from(
        json!({ "event": event, "args": args }).to_string(),
    ))
}

/// Wings' `stats` payload (a JSON string in `args`).
fn stats_frame(
    server: &crate::db::entities::server::Model,
    state: &str,
    stats: &cap_protocol::server::ServerStats,
) -> Message {
    let payload = json!({
        "memory_bytes": stats.memory_bytes,
        "memory_limit_bytes": stats.memory_limit_bytes.unwrap_or(u64::try_from(server.memory_mb).unwrap_or(0) * 1024 * 1024),
        "cpu_absolute": stats.cpu_percent,
        "network": {
            "rx_bytes": stats.network_rx_bytes.unwrap_or(0),
            "tx_bytes": stats.network_tx_bytes.unwrap_or(0),
        },
        "state": state,
        "disk_bytes": stats.disk_bytes,
        "uptime": stats.uptime_seconds * 1000,
    });
    frame("stats", json!([payload.to_string()]))
}

/// One authenticated console: who, on what, until when.
struct Session {
    actor: Actor,
    scope: ServerScope,
    expires: i64,
    warned: bool,
    events: broadcast::Receiver<LiveEvent>,
    _slot: ConsoleSlot,
}

#[derive(Deserialize)]
struct Incoming {
    event: String,
    #[serde(default)]
    args: Vec<Value>,
}

async fn relay(state: AppState, server_id: String, client: Client, mut socket: WebSocket) {
    let Ok(uuid) = Uuid::parse_str(&server_id) else {
        return;
    };
    let mut session: Option<Session> = None;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let out = tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    handle(&state, uuid, &server_id, &client, &mut session, &text).await
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => Vec::new(),
            },
            event = next_event(&mut session) => match event {
                Some(Ok(event)) => live_frames(&state, uuid, session.as_ref(), event),
                Some(Err(RecvError::Lagged(skipped))) => vec![frame(
                    "console output",
                    json!([format!("[panel] this connection fell behind; {skipped} updates were skipped")]),
                )],
                Some(Err(RecvError::Closed)) | None => return,
            },
            _ = tick.tick() => expiry(&mut session),
        };
        for message in out {
            if socket.send(message).await.is_err() {
                return;
            }
        }
        if session.as_ref().is_some_and(|s| s.expires <= now()) {
            let _ = socket.send(frame("token expired", json!([]))).await;
            return;
        }
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The next live event once authenticated (never before).
async fn next_event(session: &mut Option<Session>) -> Option<Result<LiveEvent, RecvError>> {
    match session {
        Some(session) => Some(session.events.recv().await),
        None => std::future::pending().await,
    }
}

/// `token expiring` once, a minute before the ticket runs out.
fn expiry(session: &mut Option<Session>) -> Vec<Message> {
    match session {
        Some(s) if !s.warned && s.expires - now() <= EXPIRING_SECONDS => {
            s.warned = true;
            vec![frame("token expiring", json!([]))]
        }
        _ => Vec::new(),
    }
}

fn current_state(state: &AppState, uuid: Uuid, scope: &ServerScope) -> String {
    state
        .hub()
        .live(uuid)
        .map(|l| state_name(l.state).to_owned())
        .unwrap_or_else(|| scope.server.state.clone())
}

fn live_frames(
    state: &AppState,
    uuid: Uuid,
    session: Option<&Session>,
    event: LiveEvent,
) -> Vec<Message> {
    match event {
        LiveEvent::Console(lines) => lines
            .iter()
            .map(|l| frame("console output", json!([l])))
            .collect(),
        LiveEvent::Install(lines) => lines
            .iter()
            .map(|l| frame("install output", json!([l])))
            .collect(),
        LiveEvent::State { state: s, .. } => {
            vec![frame("status", json!([power_state(state_name(s))]))]
        }
        LiveEvent::Stats(stats) => session
            .map(|s| {
                let now = current_state(state, uuid, &s.scope);
                stats_frame(&s.scope.server, power_state(&now), &stats)
            })
            .into_iter()
            .collect(),
    }
}

fn daemon_error(message: impl std::fmt::Display) -> Vec<Message> {
    vec![frame("daemon error", json!([message.to_string()]))]
}

async fn handle(
    state: &AppState,
    uuid: Uuid,
    server_id: &str,
    client: &Client,
    session: &mut Option<Session>,
    text: &str,
) -> Vec<Message> {
    let Ok(incoming) = serde_json::from_str::<Incoming>(text) else {
        return daemon_error("a frame is {\"event\": ..., \"args\": [...]}");
    };
    let arg = incoming
        .args
        .first()
        .and_then(Value::as_str)
        .unwrap_or_default();
    if incoming.event == "auth" {
        return authenticate(state, uuid, server_id, client, session, arg).await;
    }
    let Some(s) = session.as_ref() else {
        return vec![frame(
            "jwt error",
            json!(["authenticate first: send {\"event\": \"auth\", \"args\": [token]}"]),
        )];
    };
    match incoming.event.as_str() {
        "send logs" | "console output" => match service::client_for(state, &s.scope.server) {
            Ok(agent) => match agent.console_history(uuid, HISTORY_LINES).await {
                Ok(history) => history
                    .lines
                    .iter()
                    .map(|l| frame("console output", json!([l])))
                    .collect(),
                Err(e) => daemon_error(e),
            },
            Err(e) => daemon_error(e),
        },
        "send stats" | "stats" => {
            let live = state.hub().live(uuid);
            let now = current_state(state, uuid, &s.scope);
            match live.and_then(|l| l.stats) {
                Some(stats) => vec![stats_frame(&s.scope.server, power_state(&now), &stats)],
                None => Vec::new(),
            }
        }
        "status" => vec![frame(
            "status",
            json!([power_state(&current_state(state, uuid, &s.scope))]),
        )],
        "send command" if !s.scope.permissions.contains("console:command") => {
            daemon_error("you may not send commands to this server")
        }
        "send command" if arg.is_empty() || arg.contains(['\n', '\r', '\0']) => {
            daemon_error("a command is one non-empty line")
        }
        "send command" => match service::console_command(state, &s.scope.server, arg).await {
            Ok(()) => Vec::new(),
            Err(e) => daemon_error(e),
        },
        "set state" if !s.scope.permissions.contains("server:power") => {
            daemon_error("you may not change this server's power state")
        }
        "set state" => {
            let action = match arg {
                "start" => Action::Start,
                "stop" => Action::Stop,
                "restart" => Action::Restart,
                "kill" => Action::Kill,
                _ => return daemon_error("set state takes start, stop, restart or kill"),
            };
            match service::power(state, &s.actor, &s.scope.server, action).await {
                Ok(_) => Vec::new(),
                Err(e) => daemon_error(e),
            }
        }
        other => daemon_error(format!("unknown event {other:?}")),
    }
}

/// `auth`: a first ticket opens the session, a fresh one extends it.
async fn authenticate(
    state: &AppState,
    uuid: Uuid,
    server_id: &str,
    client: &Client,
    session: &mut Option<Session>,
    token: &str,
) -> Vec<Message> {
    let (principal, scope, expires) =
        match service::redeem_console_ticket(state, token, server_id).await {
            Ok(found) => found,
            Err(e) => return vec![frame("jwt error", json!([e.to_string()]))],
        };
    let actor = Actor {
        principal,
        client: client.clone(),
    };
    if let Some(s) = session {
        if s.actor.id() != actor.id() {
            return vec![frame("jwt error", json!(["this token is another user's"]))];
        }
        s.actor = actor;
        s.scope = scope;
        s.expires = expires;
        s.warned = false;
        return vec![frame("auth success", json!([]))];
    }
    let slot = match state.limits().console_slot(actor.id(), &client.ip) {
        Ok(slot) => slot,
        Err(e) => return daemon_error(e),
    };
    let status = power_state(&current_state(state, uuid, &scope)).to_owned();
    *session = Some(Session {
        actor,
        scope,
        expires,
        warned: false,
        events: state.hub().subscribe(uuid),
        _slot: slot,
    });
    vec![
        frame("auth success", json!([])),
        frame("status", json!([status])),
    ]
}
