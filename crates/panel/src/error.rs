//! The panel's one error type, and the HTTP status and envelope code of each kind (the
//! response itself is built by `http::envelope`).

use std::collections::BTreeMap;

use axum::http::StatusCode;
use sea_orm::{DbErr, SqlErr};

/// Per-field validation messages, keyed by field path (`variables.SERVER_JAR`).
pub type FieldErrors = BTreeMap<String, Vec<String>>;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What caused an internal error, kept whole for the log.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// `err` and every error beneath it, outermost first: "a: b: c".
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Well-formed input that breaks a rule (422), with per-field details.
    #[error("{message}")]
    Validation {
        message: String,
        details: FieldErrors,
    },
    /// Input that cannot be parsed at all (400).
    #[error("{0}")]
    BadRequest(String),
    /// A request body over the size limit (413).
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("too many requests, retry in {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    /// Too many of something held open (console sockets), said in plain words (429).
    #[error("{message}")]
    TooMany {
        message: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    AgentUnavailable(String),
    #[error("the request took too long")]
    Timeout,
    /// Something that is our fault, with its cause; logged, never sent.
    #[error("{0}")]
    Internal(Cause),
    /// Configuration or start-up failure (not an HTTP error).
    #[error("{0}")]
    Startup(String),
}

impl Error {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut details = FieldErrors::new();
        details.insert(field.into(), vec![message.clone()]);
        Error::Validation { message, details }
    }

    /// `Ok` when `details` is empty, else a validation error with every message.
    pub fn unless_invalid(details: FieldErrors) -> Result<()> {
        if details.is_empty() {
            return Ok(());
        }
        let message = details
            .values()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        Err(Error::Validation { message, details })
    }

    pub fn not_found(what: &str) -> Self {
        Error::NotFound(format!("{what} not found"))
    }

    /// An internal error caused by `err` (an error, or a message saying what broke).
    pub fn internal(err: impl Into<Cause>) -> Self {
        Error::Internal(err.into())
    }

    /// The HTTP status and the envelope's `code` for this error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Error::Validation { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR"),
            Error::BadRequest(_) => (StatusCode::BAD_REQUEST, "VALIDATION_ERROR"),
            Error::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "VALIDATION_ERROR"),
            Error::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            Error::Forbidden(_) => (StatusCode::FORBIDDEN, "FORBIDDEN"),
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            Error::Conflict(_) => (StatusCode::CONFLICT, "CONFLICT"),
            Error::RateLimited { .. } | Error::TooMany { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED")
            }
            Error::AgentUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "AGENT_UNAVAILABLE"),
            Error::Timeout => (StatusCode::GATEWAY_TIMEOUT, "INTERNAL_ERROR"),
            Error::Internal(_) | Error::Startup(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR")
            }
        }
    }
}

/// Unique violations become 409 CONFLICT and foreign-key violations 422 VALIDATION_ERROR;
/// anything else is an internal error.
impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        match classify(&err) {
            Some(SqlErr::UniqueConstraintViolation(msg)) => {
                Error::Conflict(format!("already exists ({})", constraint_subject(&msg)))
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => Error::validation(
                "reference",
                "refers to a record that does not exist, or the record is still in use",
            ),
            _ => Error::Internal(Box::new(err)),
        }
    }
}

/// SeaORM recognises SQLite's plain foreign-key code (787) but not the one SQLite uses
/// when an `ON DELETE RESTRICT` action fires (1811, SQLITE_CONSTRAINT_TRIGGER), which
/// carries the same message.
fn classify(err: &DbErr) -> Option<SqlErr> {
    err.sql_err().or_else(|| {
        let text = err.to_string();
        text.contains("FOREIGN KEY constraint failed")
            .then_some(SqlErr::ForeignKeyConstraintViolation(text))
    })
}

/// Extracts what a unique violation was about from the backend's message:
/// SQLite says `UNIQUE constraint failed: users.username`, PostgreSQL names the
/// constraint (`ux_users_username`).
fn constraint_subject(msg: &str) -> String {
    if let Some((_, columns)) = msg.split_once("failed: ") {
        return columns.trim().to_owned();
    }
    msg.split('"')
        .nth(1)
        .map(|name| name.trim_start_matches("ux_").to_owned())
        .unwrap_or_else(|| "unique constraint".to_owned())
}

#[cfg(test)]
mod tests {
    use super::{chain, constraint_subject, Error};

    #[test]
    fn internal_errors_keep_their_cause() {
        let err = Error::from(sea_orm::DbErr::Custom("the disk is full".into()));
        let Error::Internal(cause) = &err else {
            panic!("not internal: {err:?}");
        };
        assert!(
            cause.downcast_ref::<sea_orm::DbErr>().is_some(),
            "{cause:?}"
        );
        assert!(chain(cause.as_ref()).contains("the disk is full"));
    }

    #[test]
    fn names_the_violated_constraint_on_both_backends() {
        assert_eq!(
            constraint_subject("UNIQUE constraint failed: users.username"),
            "users.username"
        );
        assert_eq!(
            constraint_subject("duplicate key value violates unique constraint \"ux_users_email\""),
            "users_email"
        );
    }
}
