//! The agent's error type and the status and code each kind maps to (the response itself
//! is built by `http::envelope`).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use cap_protocol::envelope::ErrorCode;
use cap_protocol::server::FieldError;

/// Everything that can go wrong in the agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Malformed or invalid input (400).
    #[error("{0}")]
    Validation(String),
    /// Well-formed JSON of the wrong shape (422).
    #[error("{0}")]
    Unprocessable(String),
    /// Invalid fields of a definition (422).
    #[error("invalid server definition")]
    InvalidFields(Vec<FieldError>),
    /// Request too large (413).
    #[error("{0}")]
    TooLarge(String),
    /// Missing or wrong token (401).
    #[error("missing or invalid node token")]
    Unauthorized,
    /// No such server, file or route (404).
    #[error("{0}")]
    NotFound(String),
    /// Refused because of the resource's state (409).
    #[error("{0}")]
    Conflict(String),
    /// Bad configuration at start-up.
    #[error("configuration: {0}")]
    Config(String),
    /// Another agent holds the data directory's lock.
    #[error("{0}")]
    DataDirLocked(String),
    /// `cap-agent join` failed (the panel refused, or could not be reached).
    #[error("{0}")]
    Join(String),
    /// TLS setup failed.
    #[error("tls: {0}")]
    Tls(String),
    /// An I/O failure on the agent's side (500, details logged only).
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// Any other internal failure (500, details logged only).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result alias used across the crate.
pub type AgentResult<T> = Result<T, AgentError>;

impl AgentError {
    /// The HTTP status and the envelope's `code` for this error.
    pub fn parts(&self) -> (StatusCode, ErrorCode) {
        match self {
            Self::Validation(_) => (StatusCode::BAD_REQUEST, ErrorCode::ValidationError),
            Self::InvalidFields(_) | Self::Unprocessable(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::ValidationError)
            }
            Self::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::ValidationError),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            Self::Conflict(_) => (StatusCode::CONFLICT, ErrorCode::Conflict),
            Self::Config(_)
            | Self::DataDirLocked(_)
            | Self::Join(_)
            | Self::Tls(_)
            | Self::Io(_)
            | Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::InternalError),
        }
    }
}

impl From<JsonRejection> for AgentError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(_) => {
                Self::Unprocessable(format!("invalid request: {}", rejection.body_text()))
            }
            _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::TooLarge("request body too large".into())
            }
            _ => Self::Validation(format!("invalid JSON body: {}", rejection.body_text())),
        }
    }
}

impl From<QueryRejection> for AgentError {
    fn from(rejection: QueryRejection) -> Self {
        Self::Validation(format!("invalid query: {}", rejection.body_text()))
    }
}

impl From<PathRejection> for AgentError {
    fn from(rejection: PathRejection) -> Self {
        Self::Validation(format!("invalid path parameter: {}", rejection.body_text()))
    }
}

impl From<tokio::task::JoinError> for AgentError {
    fn from(err: tokio::task::JoinError) -> Self {
        Self::Internal(format!("background task failed: {err}"))
    }
}
