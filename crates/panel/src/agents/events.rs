//! One event connection per agent: WebSocket with the node token (TLS pinned), a full
//! snapshot on every (re)connect, states mirrored into the database, console/stats fanned
//! out to watchers, reconnect with capped exponential back-off. The agent's SFTP
//! questions arrive on the same socket and are answered on it (`questions.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cap_protocol::events::{AgentEvent, EventKind};
use cap_protocol::schedule::ScheduleRun;
use cap_protocol::server::{ServerInfo, ServerState};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::client::CONNECT_TIMEOUT;
use super::questions::Questions;
use super::{tls, AgentClient, AgentHub, LiveEvent, NodeStatus};
use crate::repo;

const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
const PING_EVERY: Duration = Duration::from_secs(15);
/// Silence (not even a pong) for this long means the connection is dead.
const SILENCE_LIMIT: Duration = Duration::from_secs(45);
/// A connection that lasted this long resets the back-off.
const STABLE_AFTER: Duration = Duration::from_secs(10);

pub(super) fn spawn(
    hub: AgentHub,
    node_id: String,
    client: AgentClient,
    reconnect: Arc<Notify>,
    stop: CancellationToken,
) {
    tokio::spawn(async move {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let started = Instant::now();
            let outcome = tokio::select! {
                () = stop.cancelled() => return,
                outcome = run_once(&hub, &node_id, &client) => outcome,
            };
            if let Err(why) = outcome {
                tracing::debug!(node = %client.endpoint().node_name, "event stream down: {why}");
            }
            if stop.is_cancelled() {
                return;
            }
            hub.set_status(&node_id, NodeStatus::Offline).await;
            if started.elapsed() > STABLE_AFTER {
                backoff = FIRST_BACKOFF;
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
                () = reconnect.notified() => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    });
}

async fn run_once(hub: &AgentHub, node_id: &str, client: &AgentClient) -> Result<(), String> {
    let endpoint = client.endpoint();
    let mut request = endpoint
        .events_url()
        .into_client_request()
        .map_err(|e| e.to_string())?;
    let bearer =
        HeaderValue::from_str(&format!("Bearer {}", endpoint.token)).map_err(|e| e.to_string())?;
    request.headers_mut().insert("authorization", bearer);
    let connector = match &endpoint.fingerprint {
        Some(fingerprint) if endpoint.base_url.starts_with("https://") => Some(Connector::Rustls(
            Arc::new(tls::pinned_config(fingerprint).map_err(|e| e.to_string())?),
        )),
        _ => None,
    };
    let connect = tokio_tungstenite::connect_async_tls_with_config(request, None, true, connector);
    let (socket, _) = tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    hub.set_status(node_id, NodeStatus::Online).await;
    tracing::info!(node = %endpoint.node_name, "event stream connected");
    super::backups::reconcile(hub, node_id, client).await;
    let (mut sink, mut stream) = socket.split();
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut last_heard = Instant::now();
    let mut questions = Questions::new();
    loop {
        tokio::select! {
            message = stream.next() => {
                last_heard = Instant::now();
                match message {
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<AgentEvent>(&text) {
                        Ok(event) => handle(hub, client, event).await,
                        Err(_) if questions.take(hub, node_id, &text) => {}
                        Err(e) => tracing::warn!(node = %endpoint.node_name, "unreadable agent event: {e}"),
                    },
                    Some(Ok(Message::Close(_))) | None => return Err("closed by the agent".into()),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e.to_string()),
                }
            }
            Some(answer) = questions.answers.recv() => {
                sink.send(Message::Text(answer.into())).await.map_err(|e| e.to_string())?;
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > SILENCE_LIMIT {
                    return Err("no answer to pings".into());
                }
                sink.send(Message::Ping(Vec::new().into())).await.map_err(|e| e.to_string())?;
                hub.set_status(node_id, NodeStatus::Online).await;
            }
        }
    }
}

async fn handle(hub: &AgentHub, client: &AgentClient, event: AgentEvent) {
    match event.kind {
        EventKind::Snapshot { servers } => {
            for server in servers {
                observe(hub, &server).await;
                catch_up_runs(hub, client, server.definition.id).await;
            }
        }
        EventKind::Defined { server } => observe(hub, &server).await,
        EventKind::State {
            server_id,
            state,
            message,
            exit_code,
            ..
        } => record_state(hub, server_id, state, message, exit_code).await,
        EventKind::Console { server_id, lines } => {
            hub.publish(server_id, LiveEvent::Console(lines.into()));
        }
        EventKind::InstallOutput { server_id, lines } => {
            hub.publish(server_id, LiveEvent::Install(lines.into()));
        }
        EventKind::Stats { server_id, stats } => {
            hub.update_live(server_id, |live| live.stats = Some(stats.clone()));
            hub.publish(server_id, LiveEvent::Stats(stats));
        }
        EventKind::Removed { server_id } => hub.forget_live(server_id),
        EventKind::Backup { backup } => super::backups::mirror(hub, &backup).await,
        EventKind::Restore { .. } => {}
        EventKind::ScheduleRun { run } => store_run(hub, &run).await,
    }
}

/// Fetch the schedule run records the agent wrote while this panel was not listening
/// (those after the newest one stored).
async fn catch_up_runs(hub: &AgentHub, client: &AgentClient, server_id: Uuid) {
    let mut after = match repo::schedules::last_seq(hub.db(), &server_id.to_string()).await {
        Ok(seq) => u64::try_from(seq).unwrap_or(0),
        Err(e) => return tracing::warn!(%server_id, "cannot read schedule runs: {e}"),
    };
    loop {
        let runs = match client.schedule_runs(server_id, after).await {
            Ok(runs) => runs,
            Err(e) => return tracing::warn!(%server_id, "cannot fetch schedule runs: {e}"),
        };
        let Some(last) = runs.iter().map(|r| r.seq).max() else {
            return;
        };
        for run in &runs {
            store_run(hub, run).await;
        }
        after = last;
    }
}

async fn store_run(hub: &AgentHub, run: &ScheduleRun) {
    if let Err(e) = repo::schedules::upsert_run(hub.db(), repo::schedules::run_model(run)).await {
        tracing::warn!(run = %run.id, "cannot store schedule run: {e}");
    }
}

async fn observe(hub: &AgentHub, server: &ServerInfo) {
    let id = server.definition.id;
    hub.update_live(id, |live| {
        live.stats.clone_from(&server.stats);
        live.user.clone_from(&server.status.user);
    });
    let status = &server.status;
    record_state(
        hub,
        id,
        status.state,
        status.message.clone(),
        status.exit_code,
    )
    .await;
}

/// Mirrors a state into memory, the database (when it changed) and the watchers.
async fn record_state(
    hub: &AgentHub,
    server_id: Uuid,
    state: ServerState,
    message: Option<String>,
    exit_code: Option<i32>,
) {
    hub.update_live(server_id, |live| {
        live.state = state;
        live.message.clone_from(&message);
        live.exit_code = exit_code;
        if !state.has_process() {
            live.stats = None;
        }
    });
    if hub.mark_persisted(server_id, state) {
        if let Err(e) =
            repo::servers::set_state(hub.db(), &server_id.to_string(), state_name(state)).await
        {
            hub.unmark_persisted(server_id);
            tracing::warn!(%server_id, "cannot record server state: {e}");
        }
    }
    hub.publish(server_id, LiveEvent::State { state, message });
}

/// The wire name of a state (`install_failed`).
pub fn state_name(state: ServerState) -> &'static str {
    match state {
        ServerState::Offline => "offline",
        ServerState::Installing => "installing",
        ServerState::Starting => "starting",
        ServerState::Running => "running",
        ServerState::Stopping => "stopping",
        ServerState::Crashed => "crashed",
        ServerState::InstallFailed => "install_failed",
    }
}
