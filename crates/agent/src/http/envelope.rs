//! Response envelopes and the per-request id.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cap_protocol::envelope::{ErrorCode, Failure, Success};
use serde::Serialize;

use crate::error::AgentError;

static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// Middleware: take `X-Request-Id` (if sane) or generate one, make it available to the
/// envelopes built while handling the request, and echo it in the response.
pub async fn request_id(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::debug_span!("request", id = %id, method = %request.method(), path = %request.uri().path());
    let mut response = {
        let _entered = span.enter();
        REQUEST_ID.scope(id.clone(), next.run(request)).await
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(REQUEST_ID_HEADER.clone(), value);
    }
    response
}

/// A successful JSON answer wrapped in the envelope.
#[derive(Debug)]
pub struct ApiOk<T>(pub T);

/// What handlers return.
pub type ApiResult<T> = Result<ApiOk<T>, AgentError>;

impl<T: Serialize> IntoResponse for ApiOk<T> {
    fn into_response(self) -> Response {
        Json(Success {
            success: true,
            data: self.0,
            timestamp: chrono::Utc::now(),
            request_id: current_request_id(),
        })
        .into_response()
    }
}

/// An error envelope.
pub fn failure(
    status: StatusCode,
    code: ErrorCode,
    error: String,
    details: Option<serde_json::Value>,
) -> Response {
    let body = Failure {
        success: false,
        error,
        code,
        details,
        timestamp: chrono::Utc::now(),
        request_id: current_request_id(),
    };
    (status, Json(body)).into_response()
}

/// Every error becomes an error envelope; internal details are logged, never sent.
impl IntoResponse for AgentError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let (message, details) = match &self {
            AgentError::InvalidFields(fields) => {
                (self.to_string(), serde_json::to_value(fields).ok())
            }
            _ if code == ErrorCode::InternalError => {
                tracing::error!(error = %self, "request failed");
                ("internal error".to_owned(), None)
            }
            _ => (self.to_string(), None),
        };
        let mut response = failure(status, code, message, details);
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The request body may be left unread: the client must not reuse the connection.
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        response
    }
}
