//! The JSON envelope every agent (and panel) response uses.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A successful response: `{success: true, data, timestamp, requestId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Success<T> {
    /// Always `true`.
    pub success: bool,
    /// The payload.
    pub data: T,
    /// When the response was produced.
    pub timestamp: DateTime<Utc>,
    /// The request id (from `X-Request-Id`, or generated), also echoed as a header.
    pub request_id: String,
}

/// A failed response: `{success: false, error, code, details?, timestamp, requestId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// Always `false`.
    pub success: bool,
    /// A human-readable message; never contains internals for `INTERNAL_ERROR`.
    pub error: String,
    /// Machine-readable error class.
    pub code: ErrorCode,
    /// Extra structured information (for example the offending field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// When the response was produced.
    pub timestamp: DateTime<Utc>,
    /// The request id, also echoed as the `X-Request-Id` header.
    pub request_id: String,
}

/// Error classes shared by the panel and the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// 400 (malformed input), 413 (too large) or 422 (well-formed but invalid).
    ValidationError,
    /// 401: token missing or wrong.
    Unauthorized,
    /// 403: authenticated but not allowed (panel only).
    Forbidden,
    /// 404: no such server, file or route.
    NotFound,
    /// 409: the resource is in a state that forbids the request (e.g. running).
    Conflict,
    /// 429 (panel only).
    RateLimited,
    /// 502/503 (panel only): the agent could not be reached.
    AgentUnavailable,
    /// 500: a fault on our side; details are logged, not returned.
    InternalError,
}

impl ErrorCode {
    /// The default HTTP status for this code.
    pub fn http_status(self) -> u16 {
        match self {
            Self::ValidationError => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::RateLimited => 429,
            Self::AgentUnavailable => 503,
            Self::InternalError => 500,
        }
    }
}
