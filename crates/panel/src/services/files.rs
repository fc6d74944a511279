//! A server's files, through its agent's jailed file API. Changes are recorded in the
//! audit log with their paths (never contents) once the agent made them.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

use axum::http::Method;
use cap_protocol::files::{FileContent, FileEntry, WriteFile};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use super::audit;
use super::servers::client_for;
use crate::agents::client::erased::Json;
use crate::auth::{tokens, Actor};
use crate::db::entities::server;
use crate::error::{Error, Result};
use crate::repo;
use crate::state::AppState;

fn id_of(server: &server::Model) -> Result<Uuid> {
    Uuid::parse_str(&server.id).map_err(Error::internal)
}

async fn record(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    action: &str,
    details: serde_json::Value,
) -> Result<()> {
    let action = format!("file.{action}");
    audit::record_by(state.db(), actor, &action, "server", &server.id, details).await
}

/// The entries of a directory (`path` relative to the server directory).
pub async fn list(state: &AppState, server: &server::Model, path: &str) -> Result<Vec<FileEntry>> {
    client_for(state, server)?
        .files(Method::GET, id_of(server)?, "list", &[("path", path)], None)
        .await
}

/// A text file's contents.
pub async fn read(state: &AppState, server: &server::Model, path: &str) -> Result<FileContent> {
    client_for(state, server)?
        .files(Method::GET, id_of(server)?, "read", &[("path", path)], None)
        .await
}

/// Writes a text file.
pub async fn write(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    request: WriteFile,
) -> Result<FileEntry> {
    let entry: FileEntry = client_for(state, server)?
        .files(
            Method::POST,
            id_of(server)?,
            "write",
            &[],
            Some(&Json(&request)),
        )
        .await?;
    let details = serde_json::json!({ "path": entry.path, "size": entry.size });
    record(state, actor, server, "write", details).await?;
    Ok(entry)
}

/// The agent's download of one file, to stream through.
pub async fn download(
    state: &AppState,
    server: &server::Model,
    path: &str,
) -> Result<reqwest::Response> {
    client_for(state, server)?
        .download(id_of(server)?, path)
        .await
}

/// Download links made and not expired yet that were used (by their `jti`, with their
/// expiry): a link works once.
static SPENT_LINKS: LazyLock<Mutex<HashMap<String, i64>>> = LazyLock::new(Mutex::default);

/// A one-time link token to download `path` of `server` without credentials within
/// [`tokens::DOWNLOAD_TTL`] (the caller's `file:read` is checked before it is made).
pub fn download_link(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    path: &str,
) -> Result<String> {
    tokens::issue_download(state.secrets().jwt_key(), actor.id(), &server.id, path)
}

/// The server and path a download link names, spending the link.
pub async fn redeem_link(state: &AppState, token: &str) -> Result<(server::Model, String)> {
    let claims = tokens::verify_download(state.secrets().jwt_key(), token)?;
    {
        let mut spent = SPENT_LINKS.lock().unwrap_or_else(PoisonError::into_inner);
        let now = chrono::Utc::now().timestamp();
        spent.retain(|_, expires| *expires >= now);
        if spent.insert(claims.jti, claims.exp).is_some() {
            return Err(Error::Unauthorized(
                "this download link was used already: ask for a new one".into(),
            ));
        }
    }
    let server = repo::servers::find(state.db(), &claims.server)
        .await?
        .ok_or_else(|| Error::not_found("server"))?;
    Ok((server, claims.path))
}

/// Where uploads of one request go: the server's agent.
pub struct Upload {
    client: crate::agents::AgentClient,
    id: Uuid,
}

/// Starts an upload, failing fast when the node is offline.
pub fn start_upload(state: &AppState, server: &server::Model) -> Result<Upload> {
    Ok(Upload {
        client: client_for(state, server)?,
        id: id_of(server)?,
    })
}

impl Upload {
    /// Streams one file to `target`.
    pub async fn file(&self, target: &str, body: reqwest::Body) -> Result<FileEntry> {
        let entry = self.client.upload(self.id, target, body).await?;
        serde_json::from_value(entry).map_err(Error::internal)
    }
}

/// Records the files one upload stored.
pub async fn uploaded(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    paths: &[&str],
) -> Result<()> {
    let details = serde_json::json!({ "paths": paths });
    record(state, actor, server, "upload", details).await
}

/// A JSON file action on the agent (`mkdir`, `rename`, `copy`, `delete`, `chmod`,
/// `compress`, `decompress`), recorded with its request as details.
pub async fn act<B: Serialize + Sync>(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    action: &str,
    body: &B,
) -> Result<()> {
    act_for::<B, serde_json::Value>(state, actor, server, action, body).await?;
    Ok(())
}

/// A file action as [`act`], returning what the agent answered (the entry `chmod` and
/// `compress` made).
pub async fn act_for<B: Serialize + Sync, T: DeserializeOwned>(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    action: &str,
    body: &B,
) -> Result<T> {
    let answer = client_for(state, server)?
        .files::<T>(Method::POST, id_of(server)?, action, &[], Some(&Json(body)))
        .await?;
    let details = serde_json::to_value(body).map_err(Error::internal)?;
    record(state, actor, server, action, details).await?;
    Ok(answer)
}
