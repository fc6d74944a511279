//! The response envelope (docs/architecture.md): every JSON body carries `success`, `timestamp`
//! and `requestId`; errors add `error`, `code` and optional per-field `details`.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{SecondsFormat, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::error::{Error, FieldErrors};

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
            request_id: crate::request_id::current(),
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
            request_id: crate::request_id::current(),
        }
    }
}

impl IntoResponse for ErrorBody {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

/// JSON already serialised for a `T` (a cached response body), sent as-is and documented
/// as `T`.
pub struct Prerendered<T> {
    json: std::sync::Arc<serde_json::value::RawValue>,
    shape: std::marker::PhantomData<fn() -> T>,
}

impl<T: Serialize> Prerendered<T> {
    /// Serialises `value` once.
    pub fn render(value: &T) -> crate::error::Result<Self> {
        serde_json::value::to_raw_value(value)
            .map(|raw| Prerendered::from_raw(std::sync::Arc::from(raw)))
            .map_err(crate::error::Error::internal)
    }
}

impl<T> Prerendered<T> {
    pub fn from_raw(json: std::sync::Arc<serde_json::value::RawValue>) -> Self {
        Prerendered {
            json,
            shape: std::marker::PhantomData,
        }
    }

    pub fn raw(&self) -> std::sync::Arc<serde_json::value::RawValue> {
        self.json.clone()
    }
}

impl<T> Serialize for Prerendered<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(serializer)
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Prerendered<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// What the caller is told of `error`: its message, or "internal error" for our own
/// faults, whose cause is logged with the request id instead.
pub fn public_message(error: &Error) -> String {
    match error {
        Error::Internal(cause) => {
            tracing::error!(
                request_id = %crate::request_id::current(),
                error = %crate::error::chain(cause.as_ref()),
                "internal error"
            );
            "internal error".to_owned()
        }
        Error::Startup(detail) => {
            tracing::error!(error = %detail, "internal error");
            "internal error".to_owned()
        }
        other => other.to_string(),
    }
}

/// `Retry-After` for the errors that ask the caller to wait.
pub fn retry_after(error: &Error, response: &mut Response) {
    if let Error::RateLimited { retry_after_secs }
    | Error::TooMany {
        retry_after_secs, ..
    } = error
    {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
    }
}

/// Every error becomes an error envelope; internal details are logged, never sent.
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = public_message(&self);
        let details = match &self {
            Error::Validation { details, .. } => serde_json::to_value(details).ok(),
            _ => None,
        };
        let mut response = (status, ErrorBody::new(message, code, details)).into_response();
        retry_after(&self, &mut response);
        response
    }
}
