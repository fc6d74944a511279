//! Questions an agent asks on its event socket (SFTP logins and rights), answered on the
//! same socket. The answers come from an [`SftpAuthority`] the application installs
//! (`services::sftp`), so this layer stays below the services.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use cap_protocol::sftp::{SftpAnswer, SftpQuestion, SftpRequest, SftpVerdict};
use tokio::sync::mpsc;

use super::AgentHub;

/// Decides the agents' SFTP questions.
pub trait SftpAuthority: Send + Sync + 'static {
    /// The verdict on `question`, asked by the agent of node `node_id`.
    fn answer(
        &self,
        node_id: String,
        question: SftpQuestion,
    ) -> Pin<Box<dyn Future<Output = SftpVerdict> + Send>>;
}

/// Questions answered at once per connection; more wait for a place.
const IN_FLIGHT: usize = 32;

/// Answers frames from one agent connection.
pub(super) struct Questions {
    answers_tx: mpsc::Sender<String>,
    pub answers: mpsc::Receiver<String>,
    places: Arc<tokio::sync::Semaphore>,
}

impl Questions {
    pub fn new() -> Self {
        let (answers_tx, answers) = mpsc::channel(IN_FLIGHT);
        Self {
            answers_tx,
            answers,
            places: Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT)),
        }
    }

    /// Takes `text` if it is a question: answers it in the background. False otherwise.
    pub fn take(&self, hub: &AgentHub, node_id: &str, text: &str) -> bool {
        let Ok(request) = serde_json::from_str::<SftpRequest>(text) else {
            return false;
        };
        let authority = hub.sftp_authority();
        let (answers, places, node_id) = (
            self.answers_tx.clone(),
            self.places.clone(),
            node_id.to_owned(),
        );
        tokio::spawn(async move {
            let Ok(_place) = places.acquire_owned().await else {
                return;
            };
            let verdict = match authority {
                Some(authority) => authority.answer(node_id, request.question).await,
                None => SftpVerdict::Refused {
                    reason: "the panel does not serve SFTP logins".into(),
                },
            };
            let answer = SftpAnswer {
                request_id: request.request_id,
                verdict,
            };
            if let Ok(frame) = serde_json::to_string(&answer) {
                let _ = answers.send(frame).await;
            }
        });
        true
    }
}
