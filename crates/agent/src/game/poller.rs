//! The query poller: every `query_interval`, every running server whose definition
//! declares a game query is asked at once (each within the query timeout); the answers
//! go into its stats. A failed query is logged and changes nothing but the players shown.

use std::sync::Arc;

use cap_protocol::server::ServerState;
use tokio_util::sync::CancellationToken;

use crate::supervisor::Supervisor;

/// Poll until `cancel` fires.
pub async fn run(supervisor: Arc<Supervisor>, cancel: CancellationToken) {
    let mut ticker = tokio::time::interval(supervisor.config().query_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let asks = supervisor
            .servers()
            .into_iter()
            .filter(|server| server.state() == ServerState::Running)
            .filter_map(|server| {
                let defined = server.defined();
                let query = defined.definition.game_query?;
                let addr = super::address(&defined.definition, &query);
                Some(async move {
                    let answer = match super::query(query.protocol, addr).await {
                        Ok(players) => Some(players),
                        Err(e) => {
                            tracing::debug!(server = %server.id, %addr, error = %e, "game query failed");
                            None
                        }
                    };
                    server.record_query(answer);
                })
            });
        futures_util::future::join_all(asks).await;
    }
}
