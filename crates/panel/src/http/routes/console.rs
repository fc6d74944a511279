//! `GET /api/servers/{id}/console`: the console WebSocket the browser uses. History first,
//! then live output, state and stats from the panel's one event connection to the agent;
//! input only with `console:command`. Each watcher reads its own bounded queue, so a
//! slow browser skips ahead instead of slowing anyone else.

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use crate::agents::{state_name, LiveEvent};
use crate::auth::Client;
use crate::auth::Principal;
use crate::db::entities::server;
use crate::error::{Error, Result};
use crate::http::access::{Access, ApiRoutes, ServerScope};
use crate::http::security;
use crate::services::servers as service;
use crate::state::AppState;

/// Lines of history sent when a console opens.
const HISTORY_LINES: usize = 500;
/// Largest message a browser may send.
const MAX_INPUT_BYTES: usize = 8 * 1024;
/// Socket buffers, each way. Frames are small (input is at most 8 KiB; output is sent
/// and flushed frame by frame); the library's 128 KiB defaults would reserve a quarter
/// of a megabyte per open console.
const BUFFER_BYTES: usize = 16 * 1024;

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    api.add(
        Method::GET,
        "/servers/{id}/console",
        Access::Server("console:view"),
        console,
    )
}

async fn console(
    State(state): State<AppState>,
    principal: Principal,
    client: Client,
    scope: ServerScope,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response> {
    if !security::from_our_site(&state, &headers) {
        return Err(Error::Forbidden(
            "cross-site console connections are refused".into(),
        ));
    }
    // Counted before the upgrade, so a refusal is a plain 429; freed when the socket ends.
    let slot = state.limits().console_slot(principal.id(), &client.ip)?;
    let can_type = scope.permissions.contains("console:command");
    Ok(upgrade
        .max_message_size(MAX_INPUT_BYTES)
        .read_buffer_size(BUFFER_BYTES)
        .write_buffer_size(BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            relay(state, scope.server, can_type, socket).await;
            drop(slot);
            crate::memory::release_soon();
        }))
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum Incoming {
    Command { command: String },
}

fn frame(value: Value) -> Message {
    Message::Text(Utf8Bytes::from(value.to_string()))
}

fn live_frame(event: LiveEvent) -> Message {
    match event {
        LiveEvent::Console(lines) | LiveEvent::Install(lines) => {
            frame(json!({ "type": "console", "lines": &*lines }))
        }
        LiveEvent::State { state, message } => {
            frame(json!({ "type": "state", "state": state_name(state), "message": message }))
        }
        LiveEvent::Stats(stats) => {
            let mut value = serde_json::to_value(stats).unwrap_or_default();
            value["type"] = json!("stats");
            frame(value)
        }
    }
}

async fn relay(state: AppState, server: server::Model, can_type: bool, mut socket: WebSocket) {
    let Ok(id) = Uuid::parse_str(&server.id) else {
        return;
    };
    // Subscribe before fetching history, so nothing falls between the two.
    let mut events = state.hub().subscribe(id);
    let history = match service::client_for(&state, &server) {
        Ok(client) => client
            .console_history(id, HISTORY_LINES)
            .await
            .map(|h| h.lines),
        Err(e) => Err(e),
    };
    let opening = match history {
        Ok(lines) => frame(json!({ "type": "history", "lines": lines })),
        Err(e) => frame(json!({ "type": "error", "message": e.to_string() })),
    };
    let current = state
        .hub()
        .live(id)
        .map(|l| state_name(l.state).to_owned())
        .unwrap_or_else(|| server.state.clone());
    if socket.send(opening).await.is_err()
        || socket
            .send(frame(json!({ "type": "state", "state": current })))
            .await
            .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let reply = handle_input(&state, &server, can_type, &text).await;
                    if let Some(reply) = reply {
                        if socket.send(reply).await.is_err() {
                            return;
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            event = events.recv() => {
                let message = match event {
                    Ok(event) => live_frame(event),
                    Err(RecvError::Lagged(skipped)) => frame(json!({
                        "type": "console",
                        "lines": [format!("[panel] this connection fell behind; {skipped} updates were skipped")],
                    })),
                    Err(RecvError::Closed) => return,
                };
                if socket.send(message).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn handle_input(
    state: &AppState,
    server: &server::Model,
    can_type: bool,
    text: &str,
) -> Option<Message> {
    let error = |message: String| Some(frame(json!({ "type": "error", "message": message })));
    match serde_json::from_str::<Incoming>(text) {
        Ok(Incoming::Command { .. }) if !can_type => {
            error("missing permission console:command on this server".into())
        }
        Ok(Incoming::Command { command })
            if command.contains(['\n', '\r', '\0']) || command.is_empty() =>
        {
            error("a command is one non-empty line".into())
        }
        Ok(Incoming::Command { command }) => {
            match service::console_command(state, server, &command).await {
                Ok(()) => None,
                Err(e) => error(e.to_string()),
            }
        }
        Err(e) => error(format!("unreadable message: {e}")),
    }
}
