//! The id of the request being served. The HTTP layer sets it once per request (see
//! `http::request_id`); everything below reads it here: the envelope, the audit log and
//! the commands sent to agents.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The current request's id, or an empty string outside a request.
pub fn current() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// Runs `work` as part of the request `id` (also for work spawned off a request).
pub async fn scope<F: Future>(id: String, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}
