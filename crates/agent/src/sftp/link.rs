//! Questions to the panel over the event WebSocket it holds open to this agent.
//!
//! Every open event socket registers an outbound queue here; a question goes to the most
//! recent one and waits for the frame with its id. No socket, a closed socket or no answer
//! in time all mean "the panel is unreachable", and the login fails closed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use cap_protocol::sftp::{SftpAnswer, SftpQuestion, SftpRequest, SftpVerdict};
use tokio::sync::{mpsc, oneshot};

/// How long the panel has to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);
/// Questions queued per socket before asking fails.
const QUEUE: usize = 64;

/// The panel did not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable(pub &'static str);

#[derive(Default)]
struct Inner {
    sockets: Vec<(u64, mpsc::Sender<String>)>,
    pending: HashMap<u64, (u64, oneshot::Sender<SftpVerdict>)>,
}

/// Shared between the event sockets and the SFTP sessions.
#[derive(Default)]
pub struct PanelLink {
    next_id: AtomicU64,
    inner: Mutex<Inner>,
}

impl PanelLink {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An event socket opened: questions may now go out through the returned queue.
    pub fn attach(&self) -> (u64, mpsc::Receiver<String>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(QUEUE);
        self.lock().sockets.push((id, tx));
        (id, rx)
    }

    /// The socket `socket` closed: its unanswered questions fail at once.
    pub fn detach(&self, socket: u64) {
        let mut inner = self.lock();
        inner.sockets.retain(|(id, _)| *id != socket);
        inner.pending.retain(|_, (via, _)| *via != socket);
    }

    /// A text frame from the panel; true when it was an answer.
    pub fn deliver(&self, text: &str) -> bool {
        let Ok(answer) = serde_json::from_str::<SftpAnswer>(text) else {
            return false;
        };
        if let Some((_, waiter)) = self.lock().pending.remove(&answer.request_id) {
            let _ = waiter.send(answer.verdict);
        }
        true
    }

    /// Whether a panel is connected.
    pub fn connected(&self) -> bool {
        !self.lock().sockets.is_empty()
    }

    /// Ask the panel and wait for its verdict.
    pub async fn ask(&self, question: SftpQuestion) -> Result<SftpVerdict, Unreachable> {
        let request_id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = serde_json::to_string(&SftpRequest {
            request_id,
            question,
        })
        .map_err(|_| Unreachable("the question could not be encoded"))?;
        let (tx, rx) = oneshot::channel();
        let socket = {
            let mut inner = self.lock();
            let Some((via, socket)) = inner.sockets.last().cloned() else {
                return Err(Unreachable("the panel is not connected to this node"));
            };
            inner.pending.insert(request_id, (via, tx));
            socket
        };
        if socket.try_send(frame).is_err() {
            self.lock().pending.remove(&request_id);
            return Err(Unreachable("the connection to the panel is busy or closed"));
        }
        match tokio::time::timeout(ANSWER_WITHIN, rx).await {
            Ok(Ok(verdict)) => Ok(verdict),
            Ok(Err(_)) => {
                self.lock().pending.remove(&request_id);
                Err(Unreachable("the connection to the panel was lost"))
            }
            Err(_) => {
                self.lock().pending.remove(&request_id);
                Err(Unreachable("the panel did not answer in time"))
            }
        }
    }
}
