//! HTTP client for one agent: authenticated with the node token, TLS pinned to the
//! agent's certificate, with timeouts, and retries with back-off for idempotent calls.
//! A node that cannot be reached is `AGENT_UNAVAILABLE` (503), never a hang or a 500.

use std::time::Duration;

use cap_protocol::command::{AgentCommand, AgentResponse};
use cap_protocol::console::{ConsoleHistory, ConsoleInput};
use cap_protocol::envelope::{ErrorCode, Failure, Success};
use cap_protocol::schedule::{RunStarted, ScheduleRun};
use cap_protocol::server::{ServerDefinition, ServerInfo, ServerStats};
use cap_protocol::system::{Health, PortStatus, SystemInfo};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use super::tls;
use crate::error::{Error, FieldErrors, Result};

/// How to reach one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub node_name: String,
    /// `https://host:port` or, for loopback development, `http://…`.
    pub base_url: String,
    pub token: String,
    pub fingerprint: Option<String>,
}

impl Endpoint {
    /// The event stream's URL (`wss://…/api/events`).
    pub fn events_url(&self) -> String {
        let ws = self
            .base_url
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        format!("{ws}/api/events")
    }
}

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Attempts for idempotent calls (the first try plus retries).
const ATTEMPTS: u32 = 3;

#[derive(Clone)]
pub struct AgentClient {
    http: reqwest::Client,
    endpoint: Endpoint,
}

impl AgentClient {
    pub fn new(endpoint: Endpoint) -> Result<AgentClient> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("cap-panel/", env!("CARGO_PKG_VERSION")));
        if endpoint.base_url.starts_with("https://") {
            let fingerprint = endpoint.fingerprint.as_deref().ok_or_else(|| {
                Error::validation(
                    "certFingerprint",
                    "an https agent needs a pinned certificate fingerprint",
                )
            })?;
            builder = builder.use_preconfigured_tls(tls::pinned_config(fingerprint)?);
        }
        let http = builder
            .build()
            .map_err(|e| Error::internal(format!("cannot build the agent client: {e}")))?;
        Ok(AgentClient { http, endpoint })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.endpoint.base_url))
            .bearer_auth(&self.endpoint.token)
            .timeout(REQUEST_TIMEOUT)
    }

    fn unavailable(&self, why: impl std::fmt::Display) -> Error {
        Error::AgentUnavailable(format!(
            "node {} is unavailable: {why}",
            self.endpoint.node_name
        ))
    }

    /// Sends a request; idempotent ones are retried on transport errors and 5xx.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&dyn erased::Body>,
    ) -> Result<Response> {
        let idempotent = matches!(method, Method::GET | Method::PUT | Method::DELETE);
        let attempts = if idempotent { ATTEMPTS } else { 1 };
        let mut last_error = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100 * 3u64.pow(attempt - 1))).await;
            }
            let mut request = self.request(method.clone(), path);
            if let Some(body) = body {
                request = body.attach(request);
            }
            match request.send().await {
                Ok(response) if response.status().is_server_error() && attempt + 1 < attempts => {
                    last_error = Some(format!("HTTP {}", response.status()));
                }
                Ok(response) => return Ok(response),
                Err(e) => last_error = Some(describe(&e)),
            }
        }
        Err(self.unavailable(last_error.unwrap_or_default()))
    }

    /// Sends and decodes the envelope's `data`, mapping the agent's error codes.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&dyn erased::Body>,
    ) -> Result<T> {
        let response = self.send(method, path, body).await?;
        self.decode(response).await
    }

    async fn decode<T: DeserializeOwned>(&self, response: Response) -> Result<T> {
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.unavailable(describe(&e)))?;
        if status.is_success() {
            return serde_json::from_slice::<Success<T>>(&bytes)
                .map(|s| s.data)
                .map_err(|e| self.unavailable(format!("unexpected answer: {e}")));
        }
        match serde_json::from_slice::<Failure>(&bytes) {
            Ok(failure) => Err(self.map_failure(status, failure)),
            Err(_) => Err(self.unavailable(format!("HTTP {status}"))),
        }
    }

    fn map_failure(&self, status: StatusCode, failure: Failure) -> Error {
        match failure.code {
            ErrorCode::ValidationError if status == StatusCode::PAYLOAD_TOO_LARGE => {
                Error::PayloadTooLarge(failure.error)
            }
            ErrorCode::ValidationError => Error::Validation {
                details: validation_details(failure.details.as_ref(), &failure.error),
                message: failure.error,
            },
            ErrorCode::NotFound => Error::NotFound(failure.error),
            ErrorCode::Conflict => Error::Conflict(failure.error),
            ErrorCode::Unauthorized | ErrorCode::Forbidden => {
                self.unavailable("the agent refused the node token")
            }
            _ => self.unavailable(format!("HTTP {status}: {}", failure.error)),
        }
    }

    /// `GET /health` (no token needed, but sent anyway).
    pub async fn health(&self) -> Result<Health> {
        let response = self.send(Method::GET, "/health", None).await?;
        if !response.status().is_success() {
            return Err(
                self.unavailable(format!("health check answered HTTP {}", response.status()))
            );
        }
        response
            .json()
            .await
            .map_err(|e| self.unavailable(format!("unexpected health answer: {e}")))
    }

    pub async fn system(&self) -> Result<SystemInfo> {
        self.call(Method::GET, "/api/system", None).await
    }

    pub async fn port_status(&self, port: u16) -> Result<PortStatus> {
        self.call(Method::GET, &format!("/api/ports/{port}"), None)
            .await
    }

    pub async fn servers(&self) -> Result<Vec<ServerInfo>> {
        self.call(Method::GET, "/api/servers", None).await
    }

    pub async fn define(&self, definition: &ServerDefinition) -> Result<ServerInfo> {
        let path = format!("/api/servers/{}", definition.id);
        self.call(Method::PUT, &path, Some(&erased::Json(definition)))
            .await
    }

    pub async fn remove(&self, id: Uuid, purge: bool) -> Result<()> {
        let path = format!("/api/servers/{id}?purge={purge}");
        self.call::<Option<()>>(Method::DELETE, &path, None)
            .await
            .map(drop)
    }

    pub async fn command(&self, command: &AgentCommand) -> Result<AgentResponse> {
        self.call(Method::POST, "/api/command", Some(&erased::Json(command)))
            .await
    }

    pub async fn install(&self, id: Uuid) -> Result<ServerInfo> {
        self.call(Method::POST, &format!("/api/servers/{id}/install"), None)
            .await
    }

    pub async fn stats(&self, id: Uuid) -> Result<ServerStats> {
        self.call(Method::GET, &format!("/api/servers/{id}/stats"), None)
            .await
    }

    pub async fn console_history(&self, id: Uuid, lines: usize) -> Result<ConsoleHistory> {
        self.call(
            Method::GET,
            &format!("/api/servers/{id}/console?lines={lines}"),
            None,
        )
        .await
    }

    pub async fn console_input(&self, id: Uuid, command: &str) -> Result<()> {
        let input = ConsoleInput {
            command: command.to_owned(),
        };
        let path = format!("/api/servers/{id}/console");
        self.call::<Option<()>>(Method::POST, &path, Some(&erased::Json(&input)))
            .await
            .map(drop)
    }

    /// Run a schedule now; answers with the run's id.
    pub async fn run_schedule(&self, id: Uuid, schedule: Uuid) -> Result<RunStarted> {
        let path = format!("/api/servers/{id}/schedules/{schedule}/run");
        self.call(Method::POST, &path, None).await
    }

    /// The server's schedule run records with a `seq` greater than `after`.
    pub async fn schedule_runs(&self, id: Uuid, after: u64) -> Result<Vec<ScheduleRun>> {
        let path = format!("/api/servers/{id}/schedule-runs?after={after}");
        self.call(Method::GET, &path, None).await
    }

    /// A JSON file call (`files/list`, `files/mkdir`, …) with the envelope decoded.
    pub async fn files<T: DeserializeOwned>(
        &self,
        method: Method,
        id: Uuid,
        action: &str,
        query: &[(&str, &str)],
        body: Option<&dyn erased::Body>,
    ) -> Result<T> {
        let path = files_path(id, action, query);
        self.call(method, &path, body).await
    }

    /// Streams a request body to `files/upload`.
    pub async fn upload(
        &self,
        id: Uuid,
        path: &str,
        body: reqwest::Body,
    ) -> Result<serde_json::Value> {
        let url = files_path(id, "upload", &[("path", path)]);
        let response = self
            .http
            .put(format!("{}{url}", self.endpoint.base_url))
            .bearer_auth(&self.endpoint.token)
            .body(body)
            .send()
            .await
            .map_err(|e| self.unavailable(describe(&e)))?;
        self.decode(response).await
    }

    /// Starts a streaming download; the caller forwards the body.
    pub async fn download(&self, id: Uuid, path: &str) -> Result<Response> {
        self.stream(&files_path(id, "download", &[("path", path)]))
            .await
    }

    /// A `GET` whose body the caller forwards as it arrives (no timeout: it may be long).
    async fn stream(&self, path: &str) -> Result<Response> {
        let response = self
            .http
            .get(format!("{}{path}", self.endpoint.base_url))
            .bearer_auth(&self.endpoint.token)
            .send()
            .await
            .map_err(|e| self.unavailable(describe(&e)))?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(self
            .decode::<serde_json::Value>(response)
            .await
            .err()
            .unwrap_or_else(|| self.unavailable("download failed")))
    }
}

/// Backups and restores on the node (`cap_protocol::backup`).
impl AgentClient {
    pub async fn create_backup(
        &self,
        server: Uuid,
        request: &cap_protocol::backup::CreateBackup,
    ) -> Result<cap_protocol::backup::BackupRecord> {
        let path = format!("/api/servers/{server}/backups");
        self.call(Method::POST, &path, Some(&erased::Json(request)))
            .await
    }

    /// Every backup record the node keeps.
    pub async fn backups(&self) -> Result<Vec<cap_protocol::backup::BackupRecord>> {
        self.call(Method::GET, "/api/backups", None).await
    }

    /// Forgets a finished backup and removes its local archive.
    pub async fn delete_backup(&self, id: Uuid) -> Result<()> {
        let path = format!("/api/backups/{id}");
        self.call::<Option<()>>(Method::DELETE, &path, None)
            .await
            .map(drop)
    }

    /// Starts streaming a local archive; the caller forwards the body.
    pub async fn backup_download(&self, id: Uuid) -> Result<Response> {
        self.stream(&format!("/api/backups/{id}/download")).await
    }

    /// The server's last restore.
    pub async fn last_restore(&self, server: Uuid) -> Result<cap_protocol::backup::RestoreRecord> {
        self.call(Method::GET, &format!("/api/servers/{server}/restore"), None)
            .await
    }

    pub async fn restore_backup(
        &self,
        server: Uuid,
        backup: Uuid,
        request: &cap_protocol::backup::RestoreRequest,
    ) -> Result<cap_protocol::backup::RestoreRecord> {
        let path = format!("/api/servers/{server}/backups/{backup}/restore");
        self.call(Method::POST, &path, Some(&erased::Json(request)))
            .await
    }
}

fn files_path(id: Uuid, action: &str, query: &[(&str, &str)]) -> String {
    let mut path = format!("/api/servers/{id}/files/{action}");
    if !query.is_empty() {
        let encoded: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        path.push('?');
        path.push_str(&encoded.join("&"));
    }
    path
}

fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Turns the agent's `details` (a list of `{field, message}` or a map) into ours.
fn validation_details(details: Option<&serde_json::Value>, fallback: &str) -> FieldErrors {
    let mut out = FieldErrors::new();
    match details {
        Some(serde_json::Value::Array(items)) => {
            for item in items {
                let field = item["field"].as_str().unwrap_or("body").to_owned();
                let message = item["message"].as_str().unwrap_or(fallback).to_owned();
                out.entry(field).or_default().push(message);
            }
        }
        Some(serde_json::Value::Object(map)) => {
            for (field, messages) in map {
                let list = match messages {
                    serde_json::Value::Array(list) => list
                        .iter()
                        .filter_map(|m| m.as_str().map(str::to_owned))
                        .collect(),
                    other => vec![other.as_str().unwrap_or(fallback).to_owned()],
                };
                out.insert(field.clone(), list);
            }
        }
        _ => {}
    }
    if out.is_empty() {
        out.insert("body".into(), vec![fallback.to_owned()]);
    }
    out
}

fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "connection refused or unreachable".to_owned()
    } else {
        err.to_string()
    }
}

/// Request bodies behind a trait object, so `send` can re-attach them on retries.
pub mod erased {
    use super::*;

    pub trait Body: Sync {
        fn attach(&self, request: RequestBuilder) -> RequestBuilder;
    }

    pub struct Json<'a, T: Serialize + Sync>(pub &'a T);

    impl<T: Serialize + Sync> Body for Json<'_, T> {
        fn attach(&self, request: RequestBuilder) -> RequestBuilder {
            request.json(self.0)
        }
    }
}
