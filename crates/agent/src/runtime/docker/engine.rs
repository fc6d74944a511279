//! The connection to the container engine and its images.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use bollard::query_parameters::CreateImageOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

/// Seconds an engine request (other than a stream) may take.
const REQUEST_TIMEOUT_SECS: u64 = 30;
/// At most one pull progress line per layer and status is shown; this many in all.
const MAX_PULL_LINES: usize = 200;

/// The engine behind one socket, connected to on demand (it may start after the agent).
pub struct Engine {
    socket: PathBuf,
    /// The engine's version when it last answered.
    version: RwLock<Option<String>>,
}

impl Engine {
    /// An engine on the Unix socket `socket`.
    pub fn new(socket: PathBuf) -> Self {
        Self {
            socket,
            version: RwLock::new(None),
        }
    }

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The version the engine answered with last time (`None`: it did not answer).
    pub fn version(&self) -> Option<String> {
        self.version
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A client after checking that the engine answers (and noting its version), or
    /// `runtime unavailable` saying why.
    pub async fn client(&self) -> std::io::Result<Docker> {
        let answered = async {
            let docker = Docker::connect_with_unix(
                &self.socket.display().to_string(),
                REQUEST_TIMEOUT_SECS,
                bollard::API_DEFAULT_VERSION,
            )?;
            let version = docker.version().await?;
            Ok::<_, bollard::errors::Error>((docker, version.version.unwrap_or_default()))
        }
        .await;
        let mut slot = self.version.write().unwrap_or_else(|e| e.into_inner());
        match answered {
            Ok((docker, version)) => {
                *slot = Some(version);
                Ok(docker)
            }
            Err(e) => {
                *slot = None;
                Err(unavailable(&self.socket, &e))
            }
        }
    }
}

/// The error of an engine that does not answer.
pub fn unavailable(socket: &Path, cause: &dyn std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!(
        "runtime unavailable: the Docker engine at {} does not answer ({cause})",
        socket.display()
    ))
}

/// An engine error as an I/O error saying what was being done.
pub fn failed(doing: &str, e: bollard::errors::Error) -> std::io::Error {
    std::io::Error::other(format!("{doing}: {}", engine_message(&e)))
}

/// The engine's own message when it sent one.
fn engine_message(e: &bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// Whether the image exists locally; when it does not, pull it, telling `say` how it
/// goes. Returns whether the image has an entrypoint of its own.
pub async fn ensure_image(
    docker: &Docker,
    image: &str,
    say: &(dyn Fn(&str) + Send + Sync),
) -> std::io::Result<bool> {
    if let Ok(found) = docker.inspect_image(image).await {
        return Ok(has_entrypoint(&found));
    }
    say(&format!("pulling image {image}"));
    let options = CreateImageOptionsBuilder::default()
        .from_image(image)
        .build();
    let mut progress = docker.create_image(Some(options), None, None);
    let mut shown = std::collections::HashSet::new();
    while let Some(item) = progress.next().await {
        match item {
            Ok(info) => {
                let line = [info.id.as_deref(), info.status.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": ");
                if !line.is_empty() && shown.len() < MAX_PULL_LINES && shown.insert(line.clone()) {
                    say(&line);
                }
            }
            Err(e) => {
                return Err(std::io::Error::other(format!(
                    "image {image} is not on this node and cannot be pulled: {}",
                    engine_message(&e)
                )))
            }
        }
    }
    let pulled = docker
        .inspect_image(image)
        .await
        .map_err(|e| failed(&format!("image {image} after its pull"), e))?;
    Ok(has_entrypoint(&pulled))
}

fn has_entrypoint(image: &bollard::models::ImageInspect) -> bool {
    image
        .config
        .as_ref()
        .and_then(|c| c.entrypoint.as_ref())
        .is_some_and(|e| e.iter().any(|part| !part.is_empty()))
}
