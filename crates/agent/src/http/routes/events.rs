//! `GET /api/events`: the event WebSocket. The panel also answers the agent's SFTP
//! questions on it (see [`crate::sftp::link`]).

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use cap_protocol::events::EventKind;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use crate::bus::EventBus;
use crate::http::AppState;

/// Upgrade and stream: a snapshot first, then every event in order.
pub async fn subscribe(State(state): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    upgrade
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| stream(state, socket))
}

async fn stream(state: AppState, socket: WebSocket) {
    let (link, questions) = state.panel.attach();
    serve(&state, socket, questions).await;
    state.panel.detach(link);
}

async fn serve(state: &AppState, mut socket: WebSocket, mut questions: mpsc::Receiver<String>) {
    let (mut events, mut seen) = state.bus.subscribe();
    if !send_snapshot(state, &mut socket, seen).await {
        return;
    }
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(Message::Text(text))) => {
                    state.panel.deliver(&text);
                }
                Some(Ok(_)) => {}
            },
            Some(question) = questions.recv() => {
                if socket.send(Message::Text(question.into())).await.is_err() {
                    return;
                }
            }
            event = events.recv() => match event {
                Ok(published) if published.seq <= seen => {}
                Ok(published) => {
                    seen = published.seq;
                    if socket.send(Message::Text(published.json)).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "event client lagging; sending a fresh snapshot");
                    seen = state.bus.last_seq();
                    if !send_snapshot(state, &mut socket, seen).await {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            },
        }
    }
}

async fn send_snapshot(state: &AppState, socket: &mut WebSocket, seq: u64) -> bool {
    let snapshot = EventKind::Snapshot {
        servers: state.supervisor.list(),
    };
    match EventBus::snapshot_frame(seq, snapshot) {
        Some(frame) => socket.send(Message::Text(frame)).await.is_ok(),
        None => false,
    }
}
