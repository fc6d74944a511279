//! Request extractors whose failures are envelope errors: JSON bodies with per-field
//! messages, query strings, pagination, the client's address and the signed-in actor.

use std::net::SocketAddr;

use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use bytes::Bytes;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::auth::{Actor, Client, Principal};
use crate::error::{Error, FieldErrors, Result};
use crate::state::AppState;

/// A JSON body, deserialised (unknown or mistyped fields are named in `details`) and then
/// checked with its `garde` rules.
pub struct ValidJson<T>(pub T);

impl<S, T> FromRequest<S> for ValidJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + garde::Validate<Context = ()>,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(Error::BadRequest(
                "expected a JSON body (Content-Type: application/json)".into(),
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_error)?;
        let value: T = parse_json(&bytes)?;
        value.validate().map_err(report_to_error)?;
        Ok(ValidJson(value))
    }
}

/// A JSON body that clients may leave out (Pterodactyl's clients post actions without
/// one): an empty body is `T::default()`, anything else is read as [`ValidJson`] reads it.
pub struct OptionalJson<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default + garde::Validate<Context = ()>,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_error)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        let value: T = parse_json(&bytes)?;
        value.validate().map_err(report_to_error)?;
        Ok(OptionalJson(value))
    }
}

fn body_error(rejection: BytesRejection) -> Error {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::PayloadTooLarge("request body is too large".into())
    } else {
        Error::BadRequest(format!("cannot read request body: {rejection}"))
    }
}

/// Parses JSON, reporting syntax errors as 400 and shape errors (missing, unknown or
/// mistyped fields) as 422 with the field path.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() {
            return Error::BadRequest(format!("malformed JSON: {inner}"));
        }
        let path = e.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        let message = strip_position(&inner.to_string());
        Error::Validation {
            message: format!("{field}: {message}"),
            details: FieldErrors::from([(field, vec![message])]),
        }
    })
}

/// serde_json appends " at line L column C"; the field path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// A garde path (Rust field names) as the JSON field path: `crash_policy.max_restarts`
/// becomes `crashPolicy.maxRestarts`; map keys (not snake_case) stay as they are.
fn json_path(path: &str) -> String {
    path.split('.')
        .map(|segment| {
            let snake = segment
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !snake {
                return segment.to_owned();
            }
            let mut parts = segment.split('_');
            let first = parts.next().unwrap_or_default().to_owned();
            parts.fold(first, |mut out, part| {
                let mut chars = part.chars();
                if let Some(c) = chars.next() {
                    out.push(c.to_ascii_uppercase());
                    out.push_str(chars.as_str());
                }
                out
            })
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn report_to_error(report: garde::Report) -> Error {
    let mut details = FieldErrors::new();
    for (path, error) in report.iter() {
        let field = json_path(&path.to_string());
        let field = if field.is_empty() {
            "body".to_owned()
        } else {
            field
        };
        details
            .entry(field)
            .or_default()
            .push(error.message().to_owned());
    }
    let message = details
        .iter()
        .map(|(field, messages)| format!("{field}: {}", messages.join(", ")))
        .collect::<Vec<_>>()
        .join("; ");
    Error::Validation { message, details }
}

/// A query string; a malformed one is a 400 naming the problem.
pub struct ValidQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ValidQuery<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ValidQuery(value))
            .map_err(|e| Error::BadRequest(format!("invalid query string: {}", e.body_text())))
    }
}

/// `?page=&perPage=&name=` with sane bounds.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageQuery {
    /// Page number, from 1 (default 1).
    #[serde(default)]
    pub page: Option<u64>,
    /// Items per page, 1 to 100 (default 25).
    #[serde(default)]
    pub per_page: Option<u64>,
    /// Case-insensitive substring filter on the name.
    #[serde(default)]
    pub name: Option<String>,
}

pub const MAX_PER_PAGE: u64 = 100;

impl PageQuery {
    pub fn page(&self) -> u64 {
        self.page.unwrap_or(1).max(1)
    }

    pub fn per_page(&self) -> u64 {
        self.per_page.unwrap_or(25).clamp(1, MAX_PER_PAGE)
    }

    pub fn name_filter(&self) -> Option<&str> {
        self.name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
    }
}

/// A page of results with its totals.
#[derive(Debug, serde::Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "{T}Page")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
            .unwrap_or_default();
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .chars()
            .take(255)
            .collect();
        Ok(Client {
            ip,
            user_agent,
            request_id: crate::request_id::current(),
        })
    }
}

/// The signed-in caller and where the request came from.
impl FromRequestParts<AppState> for Actor {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        Ok(Actor {
            principal: Principal::from_request_parts(parts, state).await?,
            client: Client::from_request_parts(parts, state).await?,
        })
    }
}
