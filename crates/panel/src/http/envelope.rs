//! The response envelope (design §5): every JSON body carries `success`, `timestamp`
//! and `requestId`; errors add `error`, `code` and optional per-field `details`.

use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{SecondsFormat, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::error::FieldErrors;

tokio::task_local! {
    /// The id of the request being served; set by the request-id middleware.
    pub static REQUEST_ID: String;
}

/// The current request's id, or an empty string outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A successful response: `{success: true, data, message?, timestamp, requestId}`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline)]
pub struct Envelope<T> {
    #[schemars(extend("const" = true))]
    success: bool,
    data: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[schemars(extend("format" = "date-time"))]
    timestamp: String,
    request_id: String,
}

impl<T: Serialize> Envelope<T> {
    pub fn ok(data: T) -> Self {
        Envelope {
            success: true,
            data,
            message: None,
            timestamp: now(),
            request_id: current_request_id(),
        }
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

/// An error response: `{success: false, error, code, details?, timestamp, requestId}`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[schemars(extend("const" = false))]
    success: bool,
    /// What went wrong, for people.
    error: String,
    /// What went wrong, for programs.
    #[schemars(schema_with = "crate::http::openapi::error_codes")]
    code: &'static str,
    /// Messages by field path, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<FieldErrors>")]
    details: Option<serde_json::Value>,
    #[schemars(extend("format" = "date-time"))]
    timestamp: String,
    request_id: String,
}

impl ErrorBody {
    pub fn new(error: String, code: &'static str, details: Option<serde_json::Value>) -> Self {
        ErrorBody {
            success: false,
            error,
            code,
            details,
            timestamp: now(),
            request_id: current_request_id(),
        }
    }
}

impl IntoResponse for ErrorBody {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}
