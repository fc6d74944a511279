//! The event bus: numbers events, serialises each once, fans them out to WebSocket clients;
//! and hands the events the agent itself reacts to (state changes, console lines, backups,
//! definitions) to in-process listeners such as the scheduler, unserialised.

use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use cap_protocol::events::{AgentEvent, EventKind};
use chrono::Utc;
use tokio::sync::broadcast;

/// Events buffered per subscriber before it counts as lagging (and gets a fresh snapshot).
const CAPACITY: usize = 4096;

/// A published event, already serialised.
#[derive(Debug, Clone)]
pub struct Published {
    /// The event's sequence number.
    pub seq: u64,
    /// The JSON text of the [`AgentEvent`].
    pub json: Utf8Bytes,
}

/// Publishes [`AgentEvent`]s with strictly increasing sequence numbers.
pub struct EventBus {
    last_seq: Mutex<u64>,
    sender: broadcast::Sender<Published>,
    local: broadcast::Sender<Arc<EventKind>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            last_seq: Mutex::new(0),
            sender: broadcast::channel(CAPACITY).0,
            local: broadcast::channel(CAPACITY).0,
        }
    }
}

impl EventBus {
    /// Number and send an event. Numbering and sending happen under one lock, so the
    /// channel order is the `seq` order.
    pub fn publish(&self, kind: EventKind) {
        let mut last = self.last_seq.lock().unwrap_or_else(|e| e.into_inner());
        *last += 1;
        let wanted_here = matches!(
            kind,
            EventKind::State { .. }
                | EventKind::Console { .. }
                | EventKind::Backup { .. }
                | EventKind::Defined { .. }
                | EventKind::Removed { .. }
        );
        if wanted_here && self.local.receiver_count() > 0 {
            let _ = self.local.send(Arc::new(kind.clone()));
        }
        if self.sender.receiver_count() == 0 {
            return;
        }
        let event = AgentEvent {
            seq: *last,
            timestamp: Utc::now(),
            kind,
        };
        match serde_json::to_string(&event) {
            Ok(json) => {
                let _ = self.sender.send(Published {
                    seq: *last,
                    json: json.into(),
                });
            }
            Err(e) => tracing::error!(error = %e, "cannot serialise event"),
        }
    }

    /// Subscribe, and learn the last sequence number already published: every event
    /// received later with a greater number happened after this call.
    pub fn subscribe(&self) -> (broadcast::Receiver<Published>, u64) {
        let last = self.last_seq.lock().unwrap_or_else(|e| e.into_inner());
        (self.sender.subscribe(), *last)
    }

    /// Listen in-process to state changes, console batches, backups, definitions and
    /// removals.
    pub fn listen(&self) -> broadcast::Receiver<Arc<EventKind>> {
        self.local.subscribe()
    }

    /// The last sequence number published.
    pub fn last_seq(&self) -> u64 {
        *self.last_seq.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Serialise a snapshot (not published; sent to one client).
    pub fn snapshot_frame(seq: u64, kind: EventKind) -> Option<Utf8Bytes> {
        let event = AgentEvent {
            seq,
            timestamp: Utc::now(),
            kind,
        };
        serde_json::to_string(&event).ok().map(Into::into)
    }
}
